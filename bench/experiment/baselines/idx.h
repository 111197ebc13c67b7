// Reading the IDX files of MNIST-style datasets (gzip-compressed, as Debian's
// dataset-fashion-mnist ships them).
//
// IDX format: four magic bytes 00 00 <type> <rank> (type 0x08 = unsigned byte), one big-endian
// u32 per dimension, then the values in row-major order.
#ifndef MADDNESS_BENCH_EXPERIMENT_BASELINES_IDX_H_
#define MADDNESS_BENCH_EXPERIMENT_BASELINES_IDX_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace maddness::baselines {

// An unsigned-byte IDX array.
struct IdxArray {
  std::vector<std::size_t> shape;
  std::vector<std::uint8_t> values;  // product(shape) bytes, row-major
};

// Reads a gzip-compressed (or plain) IDX file of unsigned bytes with `num_dims` dimensions.
// Throws maddness::Error, naming `path`, when the file is missing, not IDX, of another type or
// rank, truncated, longer than its header says, or larger than `max_values` values.
IdxArray ReadIdxGz(const std::string& path, std::size_t num_dims, std::size_t max_values);

}  // namespace maddness::baselines

#endif  // MADDNESS_BENCH_EXPERIMENT_BASELINES_IDX_H_
