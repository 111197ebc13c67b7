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
  const int pairs = CodePairs(num_codebooks);
  for (std::size_t block = block_begin; block < block_end; ++block) {
    std::uint8_t* block_codes =
        packed + (block - block_begin) * static_cast<std::size_t>(pairs) * kBlockRows;
    std::memset(block_codes, 0, static_cast<std::size_t>(pairs) * kBlockRows);
    for (std::size_t r = 0; r < kBlockRows; ++r) {
      const std::size_t row = block * kBlockRows + r;
      if (row >= a.rows) break;
      for (int c = 0; c < num_codebooks; ++c) {
        const int code = EncodeRowRef(encoder, a, row, c);
        block_codes[static_cast<std::size_t>(c / 2) * kBlockRows + r] |=
            static_cast<std::uint8_t>(code << (4 * (c % 2)));
      }
    }
  }
}

}  // namespace maddness::detail
