// Internal to the Python module: Python objects read as the C++ API's arguments (matrices,
// vectors, unsigned integers, a caller's `out` array) and the names used in their error messages.
// Mistakes raise ValueError (values, shapes) or TypeError (types); their messages name the
// argument, its value and the rule.
#ifndef MADDNESS_PYTHON_ARRAYS_H_
#define MADDNESS_PYTHON_ARRAYS_H_

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "maddness/maddness.h"

namespace maddness::python {

namespace py = pybind11;

// "(3, 4)", as numpy prints shapes.
std::string ShapeString(const py::array& array);

// "float64": the name of an array's dtype.
std::string DtypeString(const py::array& array);

// "list", "NoneType": the name of an object's type.
std::string TypeName(const py::handle& object);

// A float32 matrix read from a Python object, and the array that owns its memory (the caller's
// array, or the one float32 copy made for it), which must outlive every use of `view`.
struct InputMatrix {
  py::array array;
  MatrixView view;
  bool one_row = false;  // the caller passed a 1-D array: a single row
};

// Reads `object` (an ndarray or anything numpy.asarray accepts: lists, CPU torch tensors, ...) as
// a 2-D matrix, or a 1-D row when `allow_one_row`. `name` names the argument in messages, `shape`
// says what it should be ("N x D"). float32 arrays are read in place when their strides are whole
// elements and their data is aligned; anything else is converted to C-contiguous float32 once.
InputMatrix ReadMatrix(const py::handle& object, const char* name, const char* shape,
                       bool allow_one_row);

// A Python int in [0, 2**64) (seed, max_train_rows).
std::uint64_t ReadUnsigned(const py::int_& value, const char* name);

// A 1-D array-like of `length` numbers, converted to T; names `name` in errors, with `rule`
// saying what the length counts.
template <typename T>
std::vector<T> ReadVectorArgument(const py::handle& object, const char* name, std::size_t length,
                                  const std::string& rule) {
  const auto array = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(object);
  if (!array) {
    throw py::type_error(std::string(name) + " must be an array-like of numbers, not " +
                         TypeName(object));
  }
  if (array.ndim() != 1 || static_cast<std::size_t>(array.shape(0)) != length) {
    throw py::value_error(std::string(name) + " has shape " + ShapeString(array) +
                          "; it must be (" + std::to_string(length) + ",): " + rule);
  }
  return std::vector<T>(array.data(), array.data() + length);
}

// Checks a caller's `out` array for Apply: float32, writable, aligned, the expected shape,
// contiguous within rows (rows at least M floats apart) or within columns (columns at least N
// floats apart: *col_major), not overlapping A. Returns it and its row (or column) stride in
// floats.
py::array_t<float> CheckOut(const py::handle& object, const InputMatrix& a, std::size_t output_dim,
                            std::size_t* row_stride, bool* col_major);

}  // namespace maddness::python

#endif  // MADDNESS_PYTHON_ARRAYS_H_
