// maddness._maddness: the Python binding of the public C++ API (include/maddness/maddness.h).
//
// A thin layer with three jobs:
// - numpy arrays become MatrixViews (python/arrays.cc). float32 arrays are read in place whatever
//   their strides (when the strides are whole elements and the data is aligned); every other real
//   dtype is converted to float32 with one copy. A 1-D array is one row.
// - maddness::Error becomes maddness.Error, a subclass of ValueError, with the same message;
//   mistakes the binding itself detects raise ValueError (values, shapes) or TypeError (types).
// - The GIL is released while C++ runs. Calls work on a copy of the Model (one shared_ptr copy),
//   so a concurrent set_b from another Python thread cannot change a model under a running call.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "arrays.h"
#include "maddness/maddness.h"

namespace py = pybind11;

namespace maddness::python {
namespace {

void CheckInputWidth(const Model& model, const InputMatrix& a) {
  if (a.view.cols != model.input_dim()) {
    throw py::value_error("A has shape " + ShapeString(a.array) + " but the model was learned on " +
                          std::to_string(model.input_dim()) + " columns; A must be N x " +
                          std::to_string(model.input_dim()));
  }
}

void CheckHasTables(const Model& model) {
  if (!model.has_tables()) {
    throw py::value_error(
        "the model has no tables (it was made by fit_encoder); call m.set_b(B) first");
  }
}

// B for the tables of a learned model: D x M, D the model's input width.
InputMatrix ReadModelB(const Model& model, const py::handle& b_object) {
  InputMatrix b = ReadMatrix(b_object, "B", "D x M", false);
  if (b.view.rows != model.input_dim()) {
    throw py::value_error("B has shape " + ShapeString(b.array) +
                          " but the model was learned on D = " + std::to_string(model.input_dim()) +
                          " columns; B must be D x M");
  }
  return b;
}

// The options common to fit and fit_encoder.
struct FitOptions {
  int codebooks;
  std::string variant;
  double ridge_lambda;
  int candidate_dims;
  py::int_ max_train_rows;
  py::int_ seed;
  int threads;
  py::object progress;
  std::string grouping = "search";
};

// The options that need B (fit only).
struct TableOptions {
  std::string objective = "auto";
  std::string aggregation = "average";
  std::string table_scale = "auto";
  // Classifier-aware tables (LearnOptions::classifier).
  bool classifier = false;
  py::object bias = py::none();
  py::object train_labels = py::none();
  double mse_weight = 0.3;
  int classifier_iterations = 20;
  bool choose_lambda = false;
  bool classifier_fixed = false;  // ClassifierOptions::choose = false
};

Model Learn(const py::handle& a_train_object, const py::handle& b_object, const FitOptions& fit,
            const TableOptions& tables) {
  LearnOptions options;
  options.variant = Parse<Variant>(fit.variant, "variant");
  options.objective = Parse<Objective>(tables.objective, "objective");
  options.aggregation = Parse<Aggregation>(tables.aggregation, "aggregation");
  options.table_scale = Parse<TableScale>(tables.table_scale, "table_scale");
  options.ridge_lambda = fit.ridge_lambda;
  options.candidate_dims = fit.candidate_dims;
  options.column_grouping = Parse<ColumnGrouping>(fit.grouping, "grouping");
  options.max_train_rows = ReadUnsigned(fit.max_train_rows, "max_train_rows");
  options.seed = ReadUnsigned(fit.seed, "seed");
  CheckThreads(fit.threads, "threads");
  options.threads = fit.threads;
  if (!fit.progress.is_none() && !PyCallable_Check(fit.progress.ptr())) {
    throw py::type_error("progress must be None or a callable progress(stage, done, total), not " +
                         TypeName(fit.progress));
  }

  const InputMatrix a_train = ReadMatrix(a_train_object, "A_train", "N_train x D", false);
  const std::size_t input_dim = a_train.view.cols;
  CheckNumCodebooks(fit.codebooks, input_dim, "codebooks");
  options.num_codebooks = fit.codebooks;
  InputMatrix b;
  if (!b_object.is_none()) {
    b = ReadMatrix(b_object, "B", "D x M", false);
    if (b.view.rows != input_dim) {
      throw py::value_error("B has shape " + ShapeString(b.array) + " but A_train has D = " +
                            std::to_string(input_dim) + " columns; B must be D x M");
    }
  }

  // Called between steps of learning, from any of its threads, one call at a time. Ctrl-C and
  // exceptions raised by `progress` stop learning: the exception reaches the caller.
  const py::object& progress = fit.progress;
  options.progress = [&progress](const Progress& step) {
    py::gil_scoped_acquire acquire;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    if (!progress.is_none()) progress(step.stage, step.done, step.total);
  };
  options.choose_ridge_lambda = tables.choose_lambda;
  if (tables.classifier) {
    const std::size_t outputs = b.view.cols;
    options.classifier.enabled = true;
    options.classifier.mse_weight = tables.mse_weight;
    options.classifier.max_iterations = tables.classifier_iterations;
    options.classifier.choose = !tables.classifier_fixed;
    if (!tables.bias.is_none()) {
      options.classifier.bias =
          ReadVectorArgument<float>(tables.bias, "bias", outputs, "one value per column of B");
    }
    if (!tables.train_labels.is_none()) {
      const std::vector<std::int64_t> labels = ReadVectorArgument<std::int64_t>(
          tables.train_labels, "train_labels", a_train.view.rows, "one class per row of A_train");
      CheckLabels(labels.data(), labels.size(), a_train.view.rows, "A_train", outputs,
                  "train_labels");
      options.classifier.labels.assign(labels.begin(), labels.end());
    }
  } else if (!tables.bias.is_none() || !tables.train_labels.is_none()) {
    throw py::value_error("bias and train_labels are used only with classifier=True");
  }
  py::gil_scoped_release release;
  return Model::Learn(a_train.view, b_object.is_none() ? nullptr : &b.view, options);
}

py::array Apply(const Model& shared_model, const py::handle& a_object, int threads,
                const py::handle& out_object, const std::string& order) {
  CheckHasTables(shared_model);
  CheckThreads(threads, "threads");
  if (order != "C" && order != "F") {
    throw py::value_error("order is '" + order + "'; it must be 'C' or 'F'");
  }
  const Model model = shared_model;
  const InputMatrix a = ReadMatrix(a_object, "A", "N x D", true);
  CheckInputWidth(model, a);
  const std::size_t rows = a.view.rows;
  const std::size_t output_dim = model.output_dim();
  std::size_t stride = 0;
  bool col_major = false;
  py::array out;
  if (out_object.is_none()) {
    col_major = order == "F" && !a.one_row;
    if (a.one_row) {
      out = py::array_t<float>(static_cast<py::ssize_t>(output_dim));
    } else if (col_major) {
      out = py::array_t<float, py::array::f_style>(
          {static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(output_dim)});
    } else {
      out = py::array_t<float>(
          {static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(output_dim)});
    }
  } else {
    out = CheckOut(out_object, a, output_dim, &stride, &col_major);
  }
  if (rows == 0) return out;
  float* out_data = static_cast<float*>(out.mutable_data());
  ApplyOptions options;
  options.threads = threads;
  options.output_layout = col_major ? OutputLayout::kColMajor : OutputLayout::kRowMajor;
  {
    py::gil_scoped_release release;
    model.Apply(a.view, out_data, stride, options);
  }
  return out;
}

py::array Encode(const Model& shared_model, const py::handle& a_object, int threads) {
  CheckThreads(threads, "threads");
  const Model model = shared_model;
  const InputMatrix a = ReadMatrix(a_object, "A", "N x D", true);
  CheckInputWidth(model, a);
  const auto codebooks = static_cast<py::ssize_t>(model.num_codebooks());
  const auto rows = static_cast<py::ssize_t>(a.view.rows);
  if (rows == 0) return py::array_t<std::uint8_t>({rows, codebooks});
  ApplyOptions options;
  options.threads = threads;
  auto codes = std::make_unique<std::vector<std::uint8_t>>();
  {
    py::gil_scoped_release release;
    *codes = model.Encode(a.view, options);
  }
  // The array takes over the vector's memory: no copy.
  std::uint8_t* data = codes->data();
  py::capsule owner(codes.get(),
                    [](void* vector) { delete static_cast<std::vector<std::uint8_t>*>(vector); });
  codes.release();
  if (a.one_row) return py::array_t<std::uint8_t>({codebooks}, data, owner);
  return py::array_t<std::uint8_t>({rows, codebooks}, data, owner);
}

py::bytes ToBytes(const Model& shared_model) {
  const Model model = shared_model;
  std::vector<std::uint8_t> bytes;
  {
    py::gil_scoped_release release;
    bytes = model.Serialize();
  }
  return py::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// Any contiguous buffer of bytes: bytes, bytearray, memoryview, a uint8 numpy array.
Model FromBytes(const py::handle& object) {
  if (!PyObject_CheckBuffer(object.ptr())) {
    throw py::type_error("data must be bytes or another buffer of bytes, not " + TypeName(object));
  }
  Py_buffer buffer;
  if (PyObject_GetBuffer(object.ptr(), &buffer, PyBUF_C_CONTIGUOUS) != 0) {
    throw py::error_already_set();
  }
  // The buffer stays locked (and the GIL held) while the bytes are read.
  std::unique_ptr<Py_buffer, void (*)(Py_buffer*)> release(&buffer, PyBuffer_Release);
  return Model::Deserialize(static_cast<const std::uint8_t*>(buffer.buf),
                            static_cast<std::size_t>(buffer.len));
}

Model Load(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) {
    const py::object error =
        py::module_::import("builtins")
            .attr("FileNotFoundError")(ENOENT, "no such model file", path.string());
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(error.ptr())), error.ptr());
    throw py::error_already_set();
  }
  py::gil_scoped_release release;
  return Model::Load(path.string());
}

std::string Repr(const Model& model) {
  std::string text = "maddness.Model(input_dim=" + std::to_string(model.input_dim()) +
                     ", num_codebooks=" + std::to_string(model.num_codebooks()) + ", variant='" +
                     Name(model.variant()) + "'";
  if (model.has_tables()) {
    text += ", output_dim=" + std::to_string(model.output_dim()) + ", aggregation='" +
            Name(model.aggregation()) + "')";
  } else {
    text += ", encoder_only=True)";
  }
  return text;
}

// Docstrings. The first line of each is its signature (pybind11's own are turned off: they
// would show `object` for every array argument).
constexpr const char kModuleDoc[] = R"doc(Learned approximate matrix multiplication (MADDNESS).

MADDNESS (Blalock & Guttag, "Multiplying Matrices Without Multiplying", ICML 2021) approximates
A @ B when B is known ahead of time and the rows of A come from a known distribution: it learns
from sample rows of A small hash trees that turn each row into 4-bit codes with comparisons only,
and precomputes 8-bit lookup tables from B; the product is then table lookups and byte additions.

    import maddness
    m = maddness.fit(A_train, B, codebooks=16)   # A_train: N_train x D, B: D x M
    Y = m(A)                                     # float32 N x M, approximately A @ B
    m.save("model.maddness"); m = maddness.load("model.maddness")

Symbols: N rows of A, D columns of A (= rows of B), M columns of B (outputs), C codebooks.
Arrays: float32 arrays are read in place (any strides); other real dtypes are converted to
float32 with one copy. Errors in the inputs raise maddness.Error (a ValueError) or TypeError,
with a message naming the argument, its value and the rule. The GIL is released while the
library runs; results do not depend on the number of threads.)doc";

constexpr const char kFitDoc[] =
    R"doc(fit(A_train, B, *, codebooks=16, variant='maddness', ridge_lambda=1.0, candidate_dims=4, max_train_rows=0, seed=0, threads=0, aggregation='average', objective='auto', table_scale='auto', grouping='search', progress=None, classifier=False, bias=None, train_labels=None, mse_weight=0.3, classifier_iterations=20, choose_lambda=False, classifier_fixed=False) -> Model

Learns a model that approximates A @ B for rows A like those of A_train.

Args:
    A_train: N_train x D training rows (array-like of real numbers, no NaN or inf; at least 16
        rows). float32 is read in place; other dtypes are converted.
    B: D x M matrix (array-like, no NaN or inf).
    codebooks: number of codebooks C, 1 <= C <= min(D, 256). More is more accurate and slower;
        each row of A becomes C 4-bit codes. Learning's time and memory grow as (16C)^2 x D
        whatever the number of rows (C = 256, D = 5000: about a minute and 1 GB).
    variant: 'maddness' (prototypes refined by ridge regression over all D columns, the paper's
        MADDNESS) or 'pq' (bucket means in each codebook's own columns, MADDNESS-PQ).
    ridge_lambda: ridge parameter (>= 0) of the prototype regression.
    candidate_dims: candidate split columns tried at each tree level (the paper: 4).
    max_train_rows: learn from at most this many rows drawn at random with `seed` (0 = all).
    seed: seed of that sample, an integer in [0, 2**64).
    threads: worker threads for learning (0 = all cores). The model does not depend on it.
    aggregation: how the C table entries of an output are summed: 'average' (the paper's fast
        byte averages; slightly noisy) or 'exact' (exact 16-bit sums; a little slower).
    objective: what the hash trees preserve: 'input' (the rows of A, the paper), 'product'
        (the rows of A @ B: splits that matter for this B) or 'auto' (whichever of the two
        approximates A @ B better on held-out training rows).
    table_scale: how the tables are scaled to bytes: 'global' (one scale for all outputs, the
        paper), 'per_output' (or 'per-output', as on the command line; one per output column:
        each output uses the whole byte) or 'auto'
        ('per_output', or 'global' when A_train is too small for the held-out choices, so that
        the model is exactly the paper's MADDNESS).
    grouping: which columns each codebook's tree splits on: 'contiguous' (C ranges of adjacent
        columns, the paper) or 'search' (the best of a few column orders on held-out training
        rows; a few small extra learning runs, no cost at inference).
    progress: None, or a callable progress(stage: str, done: int, total: int) called between
        steps, possibly from a worker thread. An exception it raises (and Ctrl-C) stops learning.
    classifier: B holds a linear classifier's weights (class = argmax of A @ B + bias): fit the
        tables to its decisions on the training rows (softmax cross-entropy plus mse_weight
        times the squared error to A @ B) instead of prototypes @ B. Outputs still approximate
        A @ B; add the bias yourself.
    bias: the classifier's M biases (classifier=True only; default zeros).
    train_labels: the class of each row of A_train, integers in [0, M) (classifier=True only;
        default: the classifier's own softmax(A_train @ B + bias) is the target).
    mse_weight: weight (>= 0) of the squared error in the classifier fit; unless
        classifier_fixed, the smallest of the weights tried (x1, 3, 10, 30).
    classifier_iterations: L-BFGS iterations of the classifier fit (>= 1; at most, unless
        classifier_fixed).
    classifier_fixed: one classifier fit on every training row with mse_weight and
        classifier_iterations as given; by default (False) they are chosen on held-out training
        rows (every fifth), and the plain tables are kept when the fit does not beat them there.
    choose_lambda: choose the prototypes with the smallest cross-validation error of
        A_train @ B: ridge with ridge_lambda times 1, 3, 10, 30, 100, 300 or 1000, or the bucket
        means (the model is then MADDNESS-PQ's, variant 'pq'). More accurate on small training
        sets; costs a few small factorizations.

Returns:
    A Model; m(A) approximates A @ B.

Raises:
    maddness.Error (a ValueError): invalid values (NaN, too few rows, C > D, ...).
    ValueError: wrong shapes or option values. TypeError: wrong types or dtypes.

Example:
    >>> m = maddness.fit(A_train, B, codebooks=16)
    >>> Y = m(A_test)            # float32, shape (len(A_test), B.shape[1])
)doc";

constexpr const char kFitEncoderDoc[] =
    R"doc(fit_encoder(A_train, *, codebooks=16, variant='maddness', ridge_lambda=1.0, candidate_dims=4, max_train_rows=0, seed=0, threads=0, grouping='search', progress=None) -> Model

Learns only the encoder (hash trees and prototypes) from A_train, for when B is not known yet.
The returned model is encoder_only: it can encode(A); call m.set_b(B) before m(A). Arguments
as for fit() (objective is 'input': the trees cannot depend on a B not known yet; grouping
'search' judges the column orders by how well they reconstruct A).

Example:
    >>> m = maddness.fit_encoder(A_train, codebooks=16)
    >>> m.set_b(B)
    >>> Y = m(A)
)doc";

constexpr const char kLoadDoc[] = R"doc(load(path) -> Model

Reads a model file written by Model.save (or by the `maddness` command-line program).

Args:
    path: str or os.PathLike.

Raises:
    FileNotFoundError: no such file.
    maddness.Error (a ValueError): the file is not a valid model file (wrong magic, truncated,
        corrupted, a newer format version).
)doc";

constexpr const char kFromBytesDoc[] = R"doc(from_bytes(data) -> Model

The model whose serialized form (Model.to_bytes, the model file's bytes) is `data`: bytes,
bytearray, memoryview, a contiguous uint8 numpy array, or any other contiguous buffer.

Raises:
    maddness.Error (a ValueError): the bytes are not a valid model.
)doc";

constexpr const char kSimdTargetDoc[] = R"doc(simd_target() -> str

The SIMD target the kernels run on, chosen at run time for this CPU: 'AVX3_DL', 'AVX3', 'AVX2',
'SSE4', 'SSSE3' or 'SCALAR' (the scalar reference code). The environment variable
MADDNESS_TARGET=<name> (or 'reference'), set before the first call, forces one.

Raises:
    maddness.Error (a ValueError): MADDNESS_TARGET names an unknown target or one this CPU
        cannot run.
)doc";

constexpr const char kModelDoc[] = R"doc(A learned MADDNESS model.

Made by maddness.fit, maddness.fit_encoder, maddness.load or maddness.from_bytes. It holds the
encoder (hash trees and prototypes, learned from A_train) and, unless it is encoder_only, the
lookup tables for one matrix B. Models pickle (for multiprocessing and Dask) as their model-file
bytes; copies share nothing mutable.

    Y = m(A)               # float32 N x M, approximately A @ B
    codes = m.encode(A)    # uint8 N x C, each in [0, 16)
)doc";

constexpr const char kApplyDoc[] =
    R"doc(apply(A, *, threads=0, out=None, order='C') -> numpy.ndarray

Approximates A @ B. m(A, ...) is the same call.

Args:
    A: N x D array-like of real numbers; a 1-D array of D values is a single row. float32 is
        read in place (C order, Fortran order or any strides); other dtypes are converted to
        float32 with one copy. The columns the encoder reads must be finite.
    threads: worker threads (0 = all cores). Results do not depend on it.
    out: None, or a float32 array of shape (N, M) ((M,) for a 1-D A) to write into: writable,
        with contiguous rows (C order) or contiguous columns (Fortran order), not overlapping A.
    order: 'C' or 'F', the memory order of the array returned when out is None. 'F' (each
        output's N values together, the paper's layout) is faster to write, and is the layout
        the next layer's encoder reads fastest.

Returns:
    float32 array of shape (N, M) ((M,) for a 1-D A): `out` when given.

Raises:
    ValueError: the model is encoder_only, A does not have D columns, A has NaN or inf in a
        column the encoder reads, `out` has the wrong shape or layout.
    TypeError: A is not numeric; `out` is not a float32 ndarray.
)doc";

constexpr const char kEncodeDoc[] = R"doc(encode(A, *, threads=0) -> numpy.ndarray

The 4-bit codes of the rows of A.

Args:
    A: N x D array-like (as for apply); a 1-D array is a single row.
    threads: worker threads (0 = all cores).

Returns:
    uint8 array of shape (N, C) ((C,) for a 1-D A), each code in [0, 16).
)doc";

constexpr const char kSetBDoc[] =
    R"doc(set_b(B, *, aggregation='average', table_scale='per_output') -> None

Builds (or replaces) the lookup tables for B, a D x M array-like. Works on encoder_only models
and on models that already have tables.

Args:
    B: D x M array-like of real numbers, no NaN or inf.
    aggregation: 'average' (the paper's fast byte averages) or 'exact' (exact 16-bit sums).
    table_scale: 'global' (one byte scale for all outputs) or 'per_output' (one per output).
)doc";

constexpr const char kSaveDoc[] = R"doc(save(path) -> None

Writes the model file (docs/format.md) atomically: a temporary file renamed over `path`. A
symbolic link is followed (the file it leads to is replaced; a link to nothing raises
maddness.Error); a character device or FIFO is written in place, never replaced (a FIFO waits
for a reader); a directory, block device or socket raises maddness.Error.

Args:
    path: str or os.PathLike.
)doc";

}  // namespace

void DefineModule(py::module_& module) {
  py::options options;
  options.disable_function_signatures();
  module.doc() = kModuleDoc;
  module.attr("__version__") = MADDNESS_VERSION;

  static py::exception<Error> error(module, "Error", PyExc_ValueError);
  error.attr("__module__") = "maddness";
  error.doc() =
      "An invalid input reported by the library (a subclass of ValueError); the message names "
      "the argument, its value and the rule.";
  py::register_exception_translator([](std::exception_ptr exception) {
    try {
      if (exception) std::rethrow_exception(exception);
    } catch (const Error& caught) {
      error(caught.what());
    }
  });

  py::class_<Model> model_class(module, "Model", kModelDoc);
  model_class.attr("__module__") = "maddness";
  model_class
      .def("apply", &Apply, kApplyDoc, py::arg("A"), py::kw_only(), py::arg("threads") = 0,
           py::arg("out") = py::none(), py::arg("order") = "C")
      .def("__call__", &Apply,
           "__call__(A, *, threads=0, out=None, order='C') -> numpy.ndarray\n\nm(A) is "
           "m.apply(A).",
           py::arg("A"), py::kw_only(), py::arg("threads") = 0, py::arg("out") = py::none(),
           py::arg("order") = "C")
      .def("encode", &Encode, kEncodeDoc, py::arg("A"), py::kw_only(), py::arg("threads") = 0)
      .def(
          "set_b",
          [](Model& self, const py::handle& b_object, const std::string& aggregation,
             const std::string& table_scale) {
            const Aggregation parsed_aggregation = Parse<Aggregation>(aggregation, "aggregation");
            const TableScale parsed_scale = Parse<TableScale>(table_scale, "table_scale");
            if (self.empty()) throw py::value_error("set_b needs a learned model");
            const InputMatrix b = ReadModelB(self, b_object);
            Model updated = self;
            {
              py::gil_scoped_release release;
              updated.SetB(b.view, parsed_aggregation, parsed_scale);
            }
            self = std::move(updated);
          },
          kSetBDoc, py::arg("B"), py::kw_only(), py::arg("aggregation") = "average",
          py::arg("table_scale") = "per_output")
      .def(
          "float_tables",
          [](const Model& self, const py::handle& b_object) {
            if (self.empty()) throw py::value_error("float_tables needs a learned model");
            const InputMatrix b = ReadModelB(self, b_object);
            std::vector<float> tables;
            {
              py::gil_scoped_release release;
              tables = self.FloatTables(b.view);
            }
            const auto m = static_cast<py::ssize_t>(b.view.cols);
            const auto c = static_cast<py::ssize_t>(self.num_codebooks());
            py::array_t<float> result({m, c, py::ssize_t{16}});
            std::copy(tables.begin(), tables.end(), result.mutable_data());
            return result;
          },
          "float_tables(B) -> numpy.ndarray\n\nThe float tables that set_b(B) quantizes, "
          "prototypes x B: float32 (M, C, 16), [m, c, k] the contribution of codebook c's "
          "prototype k to output m.",
          py::arg("B"))
      .def(
          "set_float_tables",
          [](Model& self, const py::handle& tables_object, const std::string& aggregation,
             const std::string& table_scale) {
            const Aggregation parsed_aggregation = Parse<Aggregation>(aggregation, "aggregation");
            const TableScale parsed_scale = Parse<TableScale>(table_scale, "table_scale");
            if (self.empty()) throw py::value_error("set_float_tables needs a learned model");
            const auto tables =
                py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(
                    tables_object);
            if (!tables) {
              throw py::type_error("tables must be an array-like of numbers, not " +
                                   TypeName(tables_object));
            }
            if (tables.ndim() != 3 || tables.shape(0) < 1 ||
                tables.shape(1) != static_cast<py::ssize_t>(self.num_codebooks()) ||
                tables.shape(2) != 16) {
              throw py::value_error("tables has shape " + ShapeString(tables) +
                                    "; it must be (M, C, 16) with M >= 1 and C = " +
                                    std::to_string(self.num_codebooks()));
            }
            Model updated = self;
            {
              py::gil_scoped_release release;
              updated.SetFloatTables(tables.data(), static_cast<std::size_t>(tables.shape(0)),
                                     parsed_aggregation, parsed_scale);
            }
            self = std::move(updated);
          },
          "set_float_tables(tables, *, aggregation='average', table_scale='per_output') -> "
          "None\n\nQuantizes float tables (M, C, 16), the layout of float_tables, into the "
          "model's lookup tables, replacing any (tables trained elsewhere, maddness.torch).",
          py::arg("tables"), py::kw_only(), py::arg("aggregation") = "average",
          py::arg("table_scale") = "per_output")
      .def(
          "save",
          [](const Model& self, const std::filesystem::path& path) {
            const Model model = self;
            py::gil_scoped_release release;
            model.Save(path.string());
          },
          kSaveDoc, py::arg("path"))
      .def("to_bytes", &ToBytes,
           "to_bytes() -> bytes\n\nThe model file's bytes (what save writes); "
           "maddness.from_bytes reads them back.")
      .def_property_readonly("input_dim", &Model::input_dim, "D, the number of columns of A.")
      .def_property_readonly("num_codebooks", &Model::num_codebooks,
                             "C, the number of codebooks (4-bit codes per row).")
      .def_property_readonly(
          "output_dim",
          [](const Model& self) -> py::object {
            if (!self.has_tables()) return py::none();
            return py::int_(self.output_dim());
          },
          "M, the number of columns of B; None for an encoder_only model.")
      .def_property_readonly(
          "encoder_only", [](const Model& self) { return !self.has_tables(); },
          "True when the model has no tables for B yet (made by fit_encoder): set_b(B) first.")
      .def_property_readonly(
          "variant", [](const Model& self) { return Name(self.variant()); },
          "'maddness' (ridge prototypes) or 'pq' (bucket means).")
      .def_property_readonly(
          "aggregation",
          [](const Model& self) -> py::object {
            if (!self.has_tables()) return py::none();
            return py::str(Name(self.aggregation()));
          },
          "'average' or 'exact', how table entries are summed; None for an encoder_only model.")
      .def_property_readonly("num_train_rows", &Model::num_train_rows,
                             "The number of rows the model was learned from.")
      .def("__repr__", &Repr)
      .def("__copy__", [](const Model& self) { return Model(self); })
      .def(
          "__deepcopy__", [](const Model& self, const py::handle&) { return Model(self); },
          py::arg("memo"))
      .def(py::pickle([](const Model& self) { return ToBytes(self); },
                      [](const py::bytes& state) { return FromBytes(state); }))
      // Protocols 0 and 1 rebuild objects through copyreg._reconstructor, which calls
      // object.__new__ and so makes an instance pybind11 cannot initialize (it aborts the
      // interpreter). Protocol 2's reduction (copyreg.__newobj__, the class, the model-file
      // bytes) is made of objects that every protocol can store, so every protocol uses it.
      .def(
          "__reduce_ex__",
          [](const py::object& self, int protocol) {
            return py::module_::import("builtins")
                .attr("object")
                .attr("__reduce_ex__")(self, std::max(protocol, 2));
          },
          py::arg("protocol"));

  const auto fit = [](const py::handle& a_train, const py::handle& b, int codebooks,
                      const std::string& variant, double ridge_lambda, int candidate_dims,
                      const py::int_& max_train_rows, const py::int_& seed, int threads,
                      const std::string& aggregation, const std::string& objective,
                      const std::string& table_scale, const std::string& grouping,
                      const py::object& progress, bool classifier, const py::object& bias,
                      const py::object& train_labels, double mse_weight, int classifier_iterations,
                      bool choose_lambda, bool classifier_fixed) {
    if (b.is_none()) {
      throw py::type_error(
          "B is None; fit needs B (D x M), or use fit_encoder(A_train) and "
          "set_b(B) later");
    }
    return Learn(a_train, b,
                 FitOptions{codebooks, variant, ridge_lambda, candidate_dims, max_train_rows, seed,
                            threads, progress, grouping},
                 TableOptions{objective, aggregation, table_scale, classifier, bias, train_labels,
                              mse_weight, classifier_iterations, choose_lambda, classifier_fixed});
  };
  module.def("fit", fit, kFitDoc, py::arg("A_train"), py::arg("B"), py::kw_only(),
             py::arg("codebooks") = 16, py::arg("variant") = "maddness",
             py::arg("ridge_lambda") = 1.0, py::arg("candidate_dims") = 4,
             py::arg("max_train_rows") = 0, py::arg("seed") = 0, py::arg("threads") = 0,
             py::arg("aggregation") = "average", py::arg("objective") = "auto",
             py::arg("table_scale") = "auto", py::arg("grouping") = "search",
             py::arg("progress") = py::none(), py::arg("classifier") = false,
             py::arg("bias") = py::none(), py::arg("train_labels") = py::none(),
             py::arg("mse_weight") = 0.3, py::arg("classifier_iterations") = 20,
             py::arg("choose_lambda") = false, py::arg("classifier_fixed") = false);

  const auto fit_encoder = [](const py::handle& a_train, int codebooks, const std::string& variant,
                              double ridge_lambda, int candidate_dims,
                              const py::int_& max_train_rows, const py::int_& seed, int threads,
                              const std::string& grouping, const py::object& progress) {
    return Learn(a_train, py::none(),
                 FitOptions{codebooks, variant, ridge_lambda, candidate_dims, max_train_rows, seed,
                            threads, progress, grouping},
                 TableOptions{});
  };
  module.def("fit_encoder", fit_encoder, kFitEncoderDoc, py::arg("A_train"), py::kw_only(),
             py::arg("codebooks") = 16, py::arg("variant") = "maddness",
             py::arg("ridge_lambda") = 1.0, py::arg("candidate_dims") = 4,
             py::arg("max_train_rows") = 0, py::arg("seed") = 0, py::arg("threads") = 0,
             py::arg("grouping") = "search", py::arg("progress") = py::none());

  module.def("load", &Load, kLoadDoc, py::arg("path"));
  module.def("from_bytes", &FromBytes, kFromBytesDoc, py::arg("data"));
  module.def("simd_target", &SimdTarget, kSimdTargetDoc);
  module.def("compiled_targets", &CompiledTargets,
             "compiled_targets() -> list[str]\n\nThe SIMD targets compiled into the library, "
             "best first (not all may run on this CPU).");
}

}  // namespace maddness::python

PYBIND11_MODULE(_maddness, module) { maddness::python::DefineModule(module); }
