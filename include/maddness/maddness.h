// maddness: learned approximate matrix multiplication (MADDNESS, Blalock & Guttag, ICML 2021).
//
// A Model learns, from a training sample of the rows of A, one depth-4 hash tree per codebook
// that turns a row into C 4-bit codes with comparisons only, and a set of prototypes. Given the
// matrix B, it precomputes 8-bit lookup tables; A*B is then approximated with table lookups and
// byte averages, without multiply-adds.
//
//   maddness::LearnOptions options;
//   options.num_codebooks = 16;
//   maddness::Model model = maddness::Model::Learn(
//       maddness::MatrixView::RowMajor(a_train.data(), n_train, d), &b_view, options);
//   std::vector<float> y = model.Apply(maddness::MatrixView::RowMajor(a.data(), n, d));
//
// Symbols used throughout (docs/design.md): N rows of A, D columns of A (= rows of B), M columns
// of B (outputs), C codebooks, K = 16 prototypes per codebook.
//
// Errors: every mistake a caller can make (bad shapes, NaN, C > D, a corrupt model file) throws
// maddness::Error, whose message names the argument, its value and the rule.
#ifndef MADDNESS_MADDNESS_H_
#define MADDNESS_MADDNESS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace maddness {

// Prototypes per codebook (4-bit codes) and depth of each hash tree. Fixed by the method.
inline constexpr int kNumPrototypes = 16;
inline constexpr int kTreeDepth = 4;
// Largest supported number of codebooks C (tables take 16*C bytes per output; with C <= 2 and
// M <= 256 a model also keeps the outputs of all 256 code bytes, 1.5 KiB per output, for speed).
inline constexpr int kMaxCodebooks = 256;
// Largest supported D and M (keeps every size product far from overflow).
inline constexpr std::size_t kMaxDim = std::size_t{1} << 20;

// Thrown for every error a caller can cause. The message is meant for the end user.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A read-only view of a float32 matrix with arbitrary strides, in elements.
// Row-major contiguous: row_stride = cols, col_stride = 1.
// Column-major contiguous: row_stride = 1, col_stride = rows.
struct MatrixView {
  const float* data = nullptr;
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::ptrdiff_t row_stride = 0;
  std::ptrdiff_t col_stride = 1;

  // Row-major; `row_stride` defaults to `cols` (contiguous rows).
  static MatrixView RowMajor(const float* data, std::size_t rows, std::size_t cols,
                             std::ptrdiff_t row_stride = 0);
  // Column-major; `col_stride` defaults to `rows` (contiguous columns).
  static MatrixView ColMajor(const float* data, std::size_t rows, std::size_t cols,
                             std::ptrdiff_t col_stride = 0);

  float operator()(std::size_t r, std::size_t c) const {
    return data[static_cast<std::ptrdiff_t>(r) * row_stride +
                static_cast<std::ptrdiff_t>(c) * col_stride];
  }
};

// Which prototypes a model uses.
enum class Variant {
  kMaddness,  // bucket means refined by ridge regression over all D columns (the paper's MADDNESS)
  kPq,        // bucket means in each codebook's own columns only (the paper's MADDNESS-PQ)
};

// How the C table entries of a (row, output) pair are summed.
enum class Aggregation {
  // The paper's fast sum: byte averages in a balanced tree over groups of up to 16 codebooks,
  // with the averaging bias removed in de-quantization. Slightly noisy (spec section 7.3).
  kAveraging,
  // Exact 16-bit sums of the 8-bit table entries: no averaging noise, a little slower.
  kExactSum,
};

// What the hash trees are learned to preserve.
enum class Objective {
  kInput,    // the rows of A (the paper); the only choice when B is not known at learning time
  kProduct,  // the rows of A*B: splits that matter for the known B (needs B when learning)
  // kInput or kProduct, whichever approximates A*B better on held-out training rows (a few
  // small learning runs); kInput when B is not given.
  kAuto,
};

// How the float tables are scaled to bytes.
enum class TableScale {
  kGlobal,  // one scale for all outputs (the paper): simplest, coarse when outputs differ in range
  kPerOutput,  // one scale and offsets per output column: each output uses the whole byte
  // kPerOutput, except when the training set is too small for the held-out choices of
  // Objective::kAuto and ColumnGrouping::kSearch: then kGlobal, so that such a model is exactly
  // the paper's MADDNESS. Only Learn resolves it; SetB treats it as kPerOutput.
  kAuto,
};

// Which columns of A each codebook's hash tree may split on.
enum class ColumnGrouping {
  kContiguous,  // C contiguous ranges of columns (the paper)
  // The best of a few column orders (contiguous, transposed, random), judged by the error of
  // models learned on part of the training rows and tested on the rest. Costs a few small
  // learning runs; inference cost does not change.
  kSearch,
};

// Progress of long work: `stage` names the step, `done` of `total` units are finished.
struct Progress {
  std::string stage;
  std::size_t done = 0;
  std::size_t total = 0;
};
using ProgressCallback = std::function<void(const Progress&)>;

// Classifier-aware tables, for B the weights of a linear classifier whose class scores are the
// outputs A*B + bias (class = the largest score). Instead of P*B, the float tables are fitted on
// the training rows' codes to minimise, per row, the cross-entropy of softmax(scores) against
// the target classes plus `mse_weight` times the squared error to the exact A*B (relative to its
// variance, averaged over the M outputs); the tables then go through the usual byte scaling.
// The model's outputs still approximate A*B: add the bias yourself, as with the exact product.
// Costs up to `max_iterations` passes over the training codes (L-BFGS); inference unchanged.
struct ClassifierOptions {
  bool enabled = false;
  // M values added to the scores (empty: zeros).
  std::vector<float> bias;
  // The class of each row of A_train, in [0, M). Empty: the targets are the classifier's own
  // class probabilities, softmax(A_train*B + bias) (distillation: no labels needed).
  std::vector<std::int32_t> labels;
  // Weight (>= 0) of the squared error to A*B, which keeps the outputs close to the product.
  double mse_weight = 0.3;
  // Iterations of L-BFGS (>= 1).
  int max_iterations = 20;
  // Choose the regularisation on held-out training rows (on by default): every fifth sampled
  // training row is held out, the tables are fitted on the others with mse_weight times 1, 3, 10
  // and 30, each stopped at the iteration (up to max_iterations) with the best held-out accuracy,
  // and the best of these fits is kept only if, quantized, it classifies the held-out rows more
  // accurately than the plain tables (prototypes x B); otherwise the model gets the plain tables.
  // Costs about four fits; needs at least 500 sampled training rows (with fewer, one fit on
  // every row, as when false: mse_weight and max_iterations as given, no held-out rows).
  bool choose = true;
};

struct LearnOptions {
  // Number of codebooks C, 1 <= C <= min(D, kMaxCodebooks). More is more accurate and slower.
  int num_codebooks = 16;
  Variant variant = Variant::kMaddness;
  // Ridge parameter lambda (>= 0) of the prototype regression; 0 only when the problem is
  // well posed (no empty buckets).
  double ridge_lambda = 1.0;
  // With B given (and kMaddness): choose the prototypes by generalized cross-validation of A*B
  // on the training rows (closed form, the trees fixed; up to 64 codebooks): the ridge ones with
  // lambda among ridge_lambda x {1, 3, 10, 30, 100, 300, 1000}, or the bucket means (the limit of
  // an infinite lambda), which makes the model exactly MADDNESS-PQ's (variant() is then kPq).
  // Model files record the lambda and the variant.
  // Off by default: it costs up to 7 small Cholesky factorizations, which on small training sets
  // is more than the rest of learning (docs/design.md).
  bool choose_ridge_lambda = false;
  // What the trees preserve; kProduct applies only when Learn is given B.
  Objective objective = Objective::kAuto;
  // How many candidate split columns each tree level tries (the paper: 4). Larger is slower to
  // learn and can be more accurate; inference cost does not change.
  int candidate_dims = 4;
  ColumnGrouping column_grouping = ColumnGrouping::kSearch;
  // Learn from at most this many rows, drawn at random with `seed` (0 = use every row).
  std::size_t max_train_rows = 0;
  std::uint64_t seed = 0;
  // Worker threads for learning (0 = all cores). The model does not depend on it.
  int threads = 0;
  // How the tables built for B sum their entries, and how they are scaled to bytes.
  Aggregation aggregation = Aggregation::kAveraging;
  TableScale table_scale = TableScale::kAuto;
  // Classifier-aware tables (off by default); needs B at learning time.
  ClassifierOptions classifier;
  // Called during long steps, one call at a time, possibly from a worker thread; may be empty.
  ProgressCallback progress;
};

// Where Apply and the scans put output m of row n.
enum class OutputLayout {
  // out[n * out_stride + m], out_stride >= M (0 = M): each row's M outputs together.
  kRowMajor,
  // out[m * out_stride + n], out_stride >= N (0 = N): each output's values for all N rows
  // together (M x N row-major, the paper's layout). Faster to write (no transposes), and the
  // layout the next layer's encoder reads fastest (MatrixView::ColMajor), so chained layers can
  // stay in it.
  kColMajor,
};

struct ApplyOptions {
  // Worker threads (0 = all cores). Results do not depend on it.
  int threads = 0;
  // Layout of the output of Apply, ScanPacked and ScanPackedRaw.
  OutputLayout output_layout = OutputLayout::kRowMajor;
};

namespace detail {
struct ModelData;
struct ModelAccess;
}  // namespace detail

// The names of the enums' values, as the command line and Python spell them, and back:
//   Variant         "maddness", "pq"           Aggregation   "average", "exact"
//   Objective       "input", "product", "auto" TableScale    "global", "per-output", "auto"
//   ColumnGrouping  "contiguous", "search"     OutputLayout  "row", "col"
// Parse accepts '_' for '-' ("per_output") and throws Error naming `option` (the argument as the
// caller's user knows it: "--table-scale", "table_scale"), the text and the accepted names.
//   maddness::TableScale scale = maddness::Parse<maddness::TableScale>("per-output",
//   "--table-scale");
const char* Name(Variant value);
const char* Name(Aggregation value);
const char* Name(Objective value);
const char* Name(TableScale value);
const char* Name(ColumnGrouping value);
const char* Name(OutputLayout value);
template <typename Enum>
Enum Parse(const std::string& text, const std::string& option);
template <>
Variant Parse<Variant>(const std::string& text, const std::string& option);
template <>
Aggregation Parse<Aggregation>(const std::string& text, const std::string& option);
template <>
Objective Parse<Objective>(const std::string& text, const std::string& option);
template <>
TableScale Parse<TableScale>(const std::string& text, const std::string& option);
template <>
ColumnGrouping Parse<ColumnGrouping>(const std::string& text, const std::string& option);
template <>
OutputLayout Parse<OutputLayout>(const std::string& text, const std::string& option);

// The library's checks of single options, for front ends that check before reading the data;
// Learn and Apply make the same checks with the same messages. `option` names the argument as
// the caller's user knows it ("num_codebooks", "--codebooks", "codebooks"). Throw Error.
// The number of codebooks C: 1 <= C <= min(D, kMaxCodebooks); input_dim = 0 (D not known yet)
// checks only 1 <= C <= kMaxCodebooks.
void CheckNumCodebooks(long long value, std::size_t input_dim, const std::string& option);
// A thread count: >= 0 (0 = all cores).
void CheckThreads(long long value, const std::string& option);
// Class labels: one per row of `rows_owner` ("A_train"), which has `num_rows` rows, each in
// [0, num_outputs) (M, the columns of B).
void CheckLabels(const std::int64_t* labels, std::size_t count, std::size_t num_rows,
                 const std::string& rows_owner, std::size_t num_outputs, const std::string& option);

// A learned MADDNESS model: the encoder (hash trees and prototypes, learned from A_train) and,
// once B is known, the quantized lookup tables. Cheap to move; copying shares nothing mutable.
class Model {
 public:
  Model();
  ~Model();
  Model(const Model& other);
  Model& operator=(const Model& other);
  Model(Model&& other) noexcept;
  Model& operator=(Model&& other) noexcept;

  // Learns the encoder from `a_train` (N_train x D, no NaN or Inf) and, when `b` is not null,
  // builds the tables for `b` (D x M). Throws Error on invalid input.
  static Model Learn(const MatrixView& a_train, const MatrixView* b, const LearnOptions& options);

  // Builds (or replaces) the lookup tables for B (D x M, D = input_dim()).
  void SetB(const MatrixView& b, Aggregation aggregation = Aggregation::kAveraging,
            TableScale table_scale = TableScale::kPerOutput);

  // The float tables that SetB quantizes, prototypes x B: M x C x 16 values, entry
  // [m * C * 16 + c * 16 + k] the contribution of codebook c's prototype k to output m.
  std::vector<float> FloatTables(const MatrixView& b) const;
  // Quantizes float tables in that layout (M x C x 16 values, finite) into the lookup tables,
  // replacing any, as SetB does with prototypes x B: for tables fitted elsewhere (trained in a
  // network, maddness.torch).
  void SetFloatTables(const float* tables, std::size_t num_outputs,
                      Aggregation aggregation = Aggregation::kAveraging,
                      TableScale table_scale = TableScale::kPerOutput);

  // Approximates A*B for A (N x D). Writes N x M float32 to `out`: row-major with `out_stride`
  // floats between rows (0 = M), or with options.output_layout = OutputLayout::kColMajor,
  // column-major with `out_stride` floats between columns (0 = N). Requires tables
  // (has_tables()).
  //   maddness::ApplyOptions options;
  //   options.output_layout = maddness::OutputLayout::kColMajor;
  //   model.Apply(maddness::MatrixView::ColMajor(a, n, d), y, 0, options);  // y: M x N
  void Apply(const MatrixView& a, float* out, std::size_t out_stride = 0,
             const ApplyOptions& options = {}) const;
  std::vector<float> Apply(const MatrixView& a, const ApplyOptions& options = {}) const;

  // Two steps of Apply, for callers who encode once and scan several times, or who want the raw
  // integer sums. EncodePacked writes the codes of A in the packed layout of docs/design.md
  // (64-row blocks of nibble pairs): PackedCodesBytes(N) bytes, into `packed` or a new vector.
  // ScanPacked computes A*B from them exactly as Apply does; ScanPackedRaw writes the raw 16-bit
  // sums instead, with output m = raw * output_scale()[m] + output_offset()[m] (float32
  // multiply, then add). Both take the output layout and stride as Apply does.
  std::size_t PackedCodesBytes(std::size_t rows) const;
  std::vector<std::uint8_t> EncodePacked(const MatrixView& a,
                                         const ApplyOptions& options = {}) const;
  void EncodePacked(const MatrixView& a, std::uint8_t* packed, std::size_t packed_bytes,
                    const ApplyOptions& options = {}) const;
  void ScanPacked(const std::uint8_t* packed, std::size_t packed_bytes, std::size_t rows,
                  float* out, std::size_t out_stride = 0, const ApplyOptions& options = {}) const;
  void ScanPackedRaw(const std::uint8_t* packed, std::size_t packed_bytes, std::size_t rows,
                     std::uint16_t* out, std::size_t out_stride = 0,
                     const ApplyOptions& options = {}) const;
  // The raw sums as bytes, column-major only (options.output_layout must be kColMajor): half the
  // bytes of ScanPackedRaw, the paper's output. Only for models whose raw sums fit in a byte:
  // averaging aggregation and at most 16 codebooks (one averaging group).
  void ScanPackedRaw8(const std::uint8_t* packed, std::size_t packed_bytes, std::size_t rows,
                      std::uint8_t* out, std::size_t out_stride, const ApplyOptions& options) const;
  const std::vector<float>& output_scale() const;   // M entries; requires tables
  const std::vector<float>& output_offset() const;  // M entries; requires tables

  // The 4-bit codes of each row of A: N x C bytes, row-major, each in [0, 16).
  std::vector<std::uint8_t> Encode(const MatrixView& a, const ApplyOptions& options = {}) const;

  // Model file (docs/format.md). Save writes atomically; Load checks everything it reads.
  void Save(const std::string& path) const;
  static Model Load(const std::string& path);
  // The same bytes as Save, in memory.
  std::vector<std::uint8_t> Serialize() const;
  static Model Deserialize(const std::uint8_t* bytes, std::size_t size);

  bool empty() const;             // default-constructed, nothing learned
  std::size_t input_dim() const;  // D
  int num_codebooks() const;      // C
  bool has_tables() const;
  std::size_t output_dim() const;  // M, 0 without tables
  Variant variant() const;
  Aggregation aggregation() const;
  std::size_t num_train_rows() const;
  // The ridge parameter lambda the prototypes were fitted with (LearnOptions::ridge_lambda, or
  // the one choose_ridge_lambda chose; recorded also for MADDNESS-PQ models); 0 when empty.
  double ridge_lambda() const;

 private:
  friend struct detail::ModelAccess;  // the library's internal access (src/api/model_access.h)
  explicit Model(std::shared_ptr<const detail::ModelData> data);
  std::shared_ptr<const detail::ModelData> data_;
};

// The SIMD target the kernels run on: "AVX3_DL", "AVX3", "AVX2", "SSE4", "SSSE3" or "SCALAR"
// (the scalar reference code). Chosen at run time for this CPU; the environment variable
// MADDNESS_TARGET=<name> (or "reference") forces one. Throws Error when MADDNESS_TARGET names an
// unknown target or one this CPU cannot run.
//   std::printf("kernels: %s\n", maddness::SimdTarget().c_str());
std::string SimdTarget();

// The SIMD targets compiled into this library, best first (not all may run on this CPU).
std::vector<std::string> CompiledTargets();

}  // namespace maddness

#endif  // MADDNESS_MADDNESS_H_
