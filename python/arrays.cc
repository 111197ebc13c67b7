// Internal to the Python module: Python objects read as arguments of the C++ API (arrays.h).
#include "arrays.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "maddness/maddness.h"

namespace maddness::python {

std::string ShapeString(const py::array& array) {
  std::string text = "(";
  for (py::ssize_t axis = 0; axis < array.ndim(); ++axis) {
    if (axis > 0) text += ", ";
    text += std::to_string(array.shape(axis));
  }
  return text + (array.ndim() == 1 ? ",)" : ")");
}

std::string DtypeString(const py::array& array) { return py::str(array.dtype()); }

std::string TypeName(const py::handle& object) { return Py_TYPE(object.ptr())->tp_name; }

namespace {

bool IsNativeFloat32(const py::array& array) { return py::isinstance<py::array_t<float>>(array); }

// Element stride from a byte stride, when the byte stride is a whole number of floats.
bool ElementStride(py::ssize_t byte_stride, std::ptrdiff_t* element_stride) {
  if (byte_stride % static_cast<py::ssize_t>(sizeof(float)) != 0) return false;
  *element_stride =
      static_cast<std::ptrdiff_t>(byte_stride / static_cast<py::ssize_t>(sizeof(float)));
  return true;
}

// A torch.Tensor as something numpy.asarray takes: detached from autograd, on the CPU, and
// float32 when numpy has no such dtype (bfloat16). Other objects are returned as they are. Torch
// is not imported: a tensor is recognized by its type's module.
py::object WithoutTorchTensor(const py::handle& object) {
  const py::object module_name = py::type::of(object).attr("__module__");
  if (!py::isinstance<py::str>(module_name) ||
      module_name.cast<std::string>().rfind("torch", 0) != 0 || !py::hasattr(object, "detach")) {
    return py::reinterpret_borrow<py::object>(object);
  }
  py::object tensor = object.attr("detach")();
  if (tensor.attr("device").attr("type").cast<std::string>() != "cpu") {
    tensor = tensor.attr("cpu")();
  }
  if (py::str(tensor.attr("dtype")).cast<std::string>() == "torch.bfloat16") {
    tensor = tensor.attr("float")();
  }
  return tensor.attr("numpy")();
}

// One rule with the command line's .npy reader: converting to float32 may round, but must not
// turn a finite float beyond the float32 range into an infinity, nor an integer beyond 2^24
// (where float32 stops holding every integer) into another integer. Throws ValueError naming the
// first such entry of `original`. Called before the conversion (which would warn of overflows).
void CheckConversion(const py::array& original, const char* name) {
  const py::module_ numpy = py::module_::import("numpy");
  const char kind = original.dtype().kind();
  py::object bad;
  std::string rule;
  if (kind == 'f') {
    if (original.dtype().itemsize() <= 4) return;
    bad = numpy.attr("logical_and")(
        numpy.attr("isfinite")(original),
        numpy.attr("greater")(numpy.attr("abs")(original),
                              static_cast<double>(std::numeric_limits<float>::max())));
    rule = "is outside the range of float32 (about 3.4e38)";
  } else {
    if (original.dtype().itemsize() < 4) return;  // 8- and 16-bit integers are exact
    constexpr long long kExact = 1LL << 24;
    bad =
        numpy.attr("logical_or")(original.attr("__gt__")(kExact), original.attr("__lt__")(-kExact));
    rule =
        "is an integer larger in magnitude than 2^24 = 16777216, beyond which float32 does "
        "not hold every integer exactly";
  }
  if (!numpy.attr("any")(bad).cast<bool>()) return;
  const py::tuple index(numpy.attr("argwhere")(bad).attr("__getitem__")(0).attr("tolist")());
  std::string where;
  for (const py::handle position : index) {
    where += (where.empty() ? "" : ", ") + py::str(position).cast<std::string>();
  }
  const std::string value =
      py::repr(original.attr("__getitem__")(index).attr("item")()).cast<std::string>();
  throw py::value_error(std::string(name) + "[" + where + "] is " + value + "; it " + rule + " (" +
                        DtypeString(original) + " values are converted to float32)");
}

}  // namespace

InputMatrix ReadMatrix(const py::handle& object, const char* name, const char* shape,
                       bool allow_one_row) {
  InputMatrix input;
  if (py::isinstance<py::array>(object)) {
    input.array = py::reinterpret_borrow<py::array>(object);
  } else {
    input.array = py::module_::import("numpy").attr("asarray")(WithoutTorchTensor(object));
  }
  py::array& array = input.array;
  const char kind = array.dtype().kind();
  if (kind != 'f' && kind != 'i' && kind != 'u') {
    throw py::type_error(std::string(name) + " has dtype " + DtypeString(array) +
                         "; it must hold real numbers (float32 is read in place, other float "
                         "and integer dtypes are converted to float32)");
  }
  const py::ssize_t ndim = array.ndim();
  if (ndim != 2 && !(ndim == 1 && allow_one_row)) {
    throw py::value_error(std::string(name) + " has shape " + ShapeString(array) + " (" +
                          std::to_string(ndim) + " dimensions); it must be 2-D, " + shape +
                          (allow_one_row ? ", or 1-D for a single row" : ""));
  }
  input.one_row = ndim == 1;
  const std::size_t rows = input.one_row ? 1 : static_cast<std::size_t>(array.shape(0));
  const std::size_t cols = static_cast<std::size_t>(array.shape(ndim - 1));

  std::ptrdiff_t row_stride = 0;
  std::ptrdiff_t col_stride = 0;
  const bool in_place = IsNativeFloat32(array) &&
                        reinterpret_cast<std::uintptr_t>(array.data()) % alignof(float) == 0 &&
                        ElementStride(array.strides(ndim - 1), &col_stride) &&
                        (input.one_row || ElementStride(array.strides(0), &row_stride));
  if (!in_place) {
    // One copy, to C-contiguous float32; values it cannot hold are refused by CheckConversion.
    if (!IsNativeFloat32(array)) CheckConversion(array, name);
    array = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(array);
    if (!array) throw py::error_already_set();
    col_stride = 1;
    row_stride = static_cast<std::ptrdiff_t>(cols);
  }
  input.view =
      MatrixView{static_cast<const float*>(array.data()), rows, cols, row_stride, col_stride};
  return input;
}

std::uint64_t ReadUnsigned(const py::int_& value, const char* name) {
  const unsigned long long result = PyLong_AsUnsignedLongLong(value.ptr());
  if (result == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
    PyErr_Clear();
    throw py::value_error(std::string(name) + " is " + std::string(py::repr(value)) +
                          "; it must be an integer in [0, 2**64)");
  }
  return result;
}

py::array_t<float> CheckOut(const py::handle& object, const InputMatrix& a, std::size_t output_dim,
                            std::size_t* row_stride, bool* col_major) {
  if (!py::isinstance<py::array>(object)) {
    throw py::type_error("out must be a numpy.ndarray, not " + TypeName(object));
  }
  const auto out = py::reinterpret_borrow<py::array>(object);
  if (!IsNativeFloat32(out)) {
    throw py::type_error("out has dtype " + DtypeString(out) + "; it must be float32");
  }
  const std::size_t rows = a.view.rows;
  const bool shape_ok =
      a.one_row ? out.ndim() == 1 && static_cast<std::size_t>(out.shape(0)) == output_dim
                : out.ndim() == 2 && static_cast<std::size_t>(out.shape(0)) == rows &&
                      static_cast<std::size_t>(out.shape(1)) == output_dim;
  if (!shape_ok) {
    const std::string expected =
        a.one_row ? "(" + std::to_string(output_dim) + ",)"
                  : "(" + std::to_string(rows) + ", " + std::to_string(output_dim) + ")";
    throw py::value_error("out has shape " + ShapeString(out) + "; it must be " + expected +
                          " (rows of A x outputs of the model)");
  }
  if (!out.writeable()) throw py::value_error("out is read-only");
  const py::ssize_t ndim = out.ndim();
  std::ptrdiff_t col_stride = 1;
  std::ptrdiff_t stride = static_cast<std::ptrdiff_t>(output_dim);
  const bool aligned = reinterpret_cast<std::uintptr_t>(out.data()) % alignof(float) == 0;
  // Column-major (Fortran-order) out: each output's rows contiguous, columns at least N apart.
  std::ptrdiff_t row_step = 0;
  std::ptrdiff_t column_step = 0;
  if (aligned && !a.one_row && rows > 1 && output_dim > 1 &&
      ElementStride(out.strides(0), &row_step) && row_step == 1 &&
      ElementStride(out.strides(1), &column_step) &&
      column_step >= static_cast<std::ptrdiff_t>(rows)) {
    *col_major = true;
    *row_stride = static_cast<std::size_t>(column_step);
  } else {
    // An empty out (0 rows) holds nothing to lay out; numpy gives such arrays zero strides.
    const bool layout_ok =
        (!a.one_row && rows == 0) ||
        (aligned &&
         (output_dim == 1 ||
          (ElementStride(out.strides(ndim - 1), &col_stride) && col_stride == 1)) &&
         (a.one_row || rows == 1 ||
          (ElementStride(out.strides(0), &stride) &&
           stride >= static_cast<std::ptrdiff_t>(output_dim))));
    if (!layout_ok) {
      throw py::value_error("out has strides " + std::string(py::repr(out.attr("strides"))) +
                            "; it must be aligned, with contiguous rows (C order: columns 4 "
                            "bytes apart) or contiguous columns (Fortran order: rows 4 bytes "
                            "apart) that do not overlap, in increasing order");
    }
    *col_major = false;
    *row_stride = static_cast<std::size_t>(stride);
  }
  // Apply writes the outputs of early rows before it reads later rows of A. may_share_memory
  // compares bounds (cheap); shares_memory decides interleaved arrays, and a problem too hard
  // for it within max_work counts as an overlap.
  const py::module_ numpy = py::module_::import("numpy");
  if (numpy.attr("may_share_memory")(out, a.array).cast<bool>()) {
    bool overlaps = true;
    try {
      overlaps =
          numpy.attr("shares_memory")(out, a.array, py::arg("max_work") = 1 << 16).cast<bool>();
    } catch (const py::error_already_set&) {
    }
    if (overlaps) throw py::value_error("out overlaps A; it must be a separate array");
  }
  return py::reinterpret_borrow<py::array_t<float>>(out);
}

}  // namespace maddness::python
