#include <algorithm>
#include <cmath>
#include <cstring>

#include "src/common/layout.h"
#include "src/encode/encode.h"

namespace maddness::detail {

int EncodeRowRef(const Encoder& encoder, const MatrixView& a, std::size_t row, int codebook) {
  int node = 0;
  for (int level = 0; level < kTreeDepth; ++level) {
    const SplitLevel& split =
        encoder.splits[static_cast<std::size_t>(codebook) * kTreeDepth + level];
    const std::int8_t value = QuantizeInput(a(row, split.dim), split.scale, split.offset);
    node = 2 * node + (value > split.thresholds[node] ? 1 : 0);
  }
  return node;
}

bool SplitColumnsFinite(const Encoder& encoder, const MatrixView& a, std::size_t block_begin,
                        std::size_t block_end) {
  const std::size_t row_end = std::min(a.rows, block_end * kBlockRows);
  for (std::size_t row = block_begin * kBlockRows; row < row_end; ++row) {
    for (const SplitLevel& split : encoder.splits) {
      if (!std::isfinite(a(row, split.dim))) return false;
    }
  }
  return true;
}

void EncodeRef(const Encoder& encoder, const MatrixView& a, std::size_t block_begin,
               std::size_t block_end, std::uint8_t* packed) {
  const int num_codebooks = encoder.num_codebooks;
  const std::size_t pairs = static_cast<std::size_t>(CodePairs(num_codebooks));
  std::memset(packed, 0, (block_end - block_begin) * PackedBlockBytes(num_codebooks));
  for (std::size_t row = block_begin * kBlockRows; row < std::min(a.rows, block_end * kBlockRows);
       ++row) {
    for (int c = 0; c < num_codebooks; ++c) {
      packed[PackedByteOffset(row - block_begin * kBlockRows, static_cast<std::size_t>(c / 2),
                              pairs)] |= CodeBits(EncodeRowRef(encoder, a, row, c), c);
    }
  }
}

}  // namespace maddness::detail
