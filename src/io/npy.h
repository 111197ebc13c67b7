// .npy files (NumPy format versions 1.0, 2.0 and 3.0).
#ifndef MADDNESS_SRC_IO_NPY_H_
#define MADDNESS_SRC_IO_NPY_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace maddness::io {

// A 1-D or 2-D array read from a .npy file and converted to float32, C order (row-major).
struct NpyFloatArray {
  std::vector<std::size_t> shape;  // 1 or 2 entries
  std::vector<float> values;       // product(shape) entries, row-major
  std::size_t rows() const { return shape.empty() ? 0 : shape[0]; }
  std::size_t cols() const { return shape.size() < 2 ? 1 : shape[1]; }
};

// Reads `path`. Accepts little-endian float32, float64, int32 and int64 (converted to float32;
// int32 and int64 values must be exactly representable (|value| <= 2^24), float64 values that
// overflow float32 are rejected) and Fortran order (transposed into C order). Rejects everything
// else (other dtypes, big-endian, 0-d or more than 2 dimensions, truncated data, sizes that
// overflow) with maddness::Error; `name` is the argument the user passed ("--a") and is in every
// message.
NpyFloatArray ReadNpy(const std::string& path, const std::string& name);

// Reads a 1-D integer array (labels): int32 or int64, or float with integral values.
std::vector<std::int64_t> ReadNpyLabels(const std::string& path, const std::string& name);

// The header of a .npy file, for reading parts of its data at file offsets.
struct NpyHeader {
  std::vector<std::size_t> shape;  // 1 or 2 entries
  std::string descr;               // "<f4", "<f8", "<i4" or "<i8"
  bool fortran_order = false;
  std::size_t data_offset = 0;  // bytes from the start of the file to the first element
};

// Reads only the preamble and header of `path` (at most about 1 MiB) and checks them, and the
// file's size, exactly as ReadNpy does; the data itself is not read.
NpyHeader ReadNpyHeader(const std::string& path, const std::string& name);

// The preamble and header that WriteNpy writes before the data of an array with this `descr`
// ("<f4", "<u2", "|u1"), shape (1 or 2 entries) and order; its length is a multiple of 64.
std::vector<std::uint8_t> NpyHeaderBytes(const std::string& descr,
                                         const std::vector<std::size_t>& shape,
                                         bool fortran_order = false);

// Writes an array atomically (a temporary file in the same directory, then a rename): on any
// failure nothing is left at `path`. Shape has 1 or 2 entries. `values` are in C order (rows
// contiguous), or with fortran_order in Fortran order (columns contiguous: a 2-D shape {N, M}
// holds column j at values + j * N).
void WriteNpy(const std::string& path, const float* values, const std::vector<std::size_t>& shape,
              bool fortran_order = false);
void WriteNpy(const std::string& path, const std::uint8_t* values,
              const std::vector<std::size_t>& shape, bool fortran_order = false);
void WriteNpy(const std::string& path, const std::uint16_t* values,
              const std::vector<std::size_t>& shape, bool fortran_order = false);

}  // namespace maddness::io

#endif  // MADDNESS_SRC_IO_NPY_H_
