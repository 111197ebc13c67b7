// Scalar reference of Bolt's encoder (bolt_encode.h): the specification of the SIMD encoder.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "bench/experiment/baselines/bolt_encode.h"
#include "src/common/layout.h"

namespace maddness::baselines {

int BoltNearestCentroid(const float* x, std::ptrdiff_t x_stride, std::size_t width,
                        const float* centroids, const float* norms) {
  float score[kBoltCentroids];
  std::memcpy(score, norms, sizeof(score));
  for (std::size_t j = 0; j < width; ++j) {
    const float value = -2.0f * x[static_cast<std::ptrdiff_t>(j) * x_stride];
    const float* column = centroids + j * kBoltCentroids;
    for (int k = 0; k < kBoltCentroids; ++k) {
      const float product = value * column[k];
      score[k] = score[k] + product;
    }
  }
  int best = 0;
  for (int k = 1; k < kBoltCentroids; ++k) {
    if (score[k] < score[best]) best = k;
  }
  return best;
}

void BoltEncodeRef(const BoltCodebooks& codebooks, const MatrixView& a, std::size_t block_begin,
                   std::size_t block_end, std::uint8_t* packed) {
  const int num_codebooks = codebooks.num_codebooks();
  const auto pairs = static_cast<std::size_t>(detail::CodePairs(num_codebooks));
  std::memset(packed, 0, (block_end - block_begin) * pairs * detail::kBlockRows);
  const std::size_t first_row = block_begin * detail::kBlockRows;
  const std::size_t last_row = std::min(a.rows, block_end * detail::kBlockRows);
  for (std::size_t r = first_row; r < last_row; ++r) {
    for (int c = 0; c < num_codebooks; ++c) {
      const std::size_t first = codebooks.begin[static_cast<std::size_t>(c)];
      const std::size_t width = codebooks.begin[static_cast<std::size_t>(c) + 1] - first;
      const float* x = a.data + static_cast<std::ptrdiff_t>(r) * a.row_stride +
                       static_cast<std::ptrdiff_t>(first) * a.col_stride;
      const int code = BoltNearestCentroid(
          x, a.col_stride, width, codebooks.centroids.data() + first * kBoltCentroids,
          codebooks.norms.data() + static_cast<std::size_t>(c) * kBoltCentroids);
      packed[detail::PackedByteOffset(r - first_row, static_cast<std::size_t>(c) / 2, pairs)] |=
          detail::CodeBits(code, c);
    }
  }
}

}  // namespace maddness::baselines
