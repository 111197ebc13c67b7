// Layouts shared by the encoder, the tables and the scan, and the arithmetic that every stage
// (scalar reference, SIMD kernels, learning) must do identically.
//
// Packed codes (output of encoding, input of the scan):
//   rows are grouped in blocks of kBlockRows = 64; codebooks in pairs (2j, 2j+1), j < CodePairs(C).
//   Block b, pair j occupies the 64 bytes at offset (b * CodePairs(C) + j) * 64; byte r holds
//   code(64b + r, 2j) | code(64b + r, 2j + 1) << 4. Rows past N and the codebook after an odd C
//   have code 0. Total size PackedCodesBytes(N, C). One zmm register holds one (block, pair);
//   AVX2 and SSE4 kernels read it in two or four pieces.
//
// Quantized tables (output of LUT construction, input of the scan):
//   uint8, [m][c][k] for m < M, c < 2 * CodePairs(C), k < 16: 16 * 2 * CodePairs(C) bytes per
//   output. The 32 bytes of pair j are table(2j) then table(2j+1). The table of the codebook after
//   an odd C is all zeros.
//
// Aggregation by averaging (spec section 7.2, generalized to any C): codebooks are conceptually
// padded with zero-valued codebooks up to PaddedCodebooks(C) and cut into groups of
// GroupSize(C) (a power of two, at most 16). Within a group a balanced binary tree in codebook
// order averages with (a + b + 1) >> 1. The raw output is the sum of the group roots (uint16).
// The estimate of the exact sum is GroupSize(C) * raw - AveragingBias(C).
#ifndef MADDNESS_SRC_COMMON_LAYOUT_H_
#define MADDNESS_SRC_COMMON_LAYOUT_H_

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace maddness::detail {

inline constexpr std::size_t kBlockRows = 64;
inline constexpr int kMaxGroupSize = 16;
// Threshold that sends every value left (x_q > 127 never holds): "no split" for a node.
inline constexpr std::int8_t kNoSplitThreshold = 127;

inline constexpr int CodePairs(int num_codebooks) { return (num_codebooks + 1) / 2; }

inline constexpr std::size_t NumBlocks(std::size_t rows) {
  return (rows + kBlockRows - 1) / kBlockRows;
}

inline constexpr std::size_t PackedCodesBytes(std::size_t rows, int num_codebooks) {
  return NumBlocks(rows) * static_cast<std::size_t>(CodePairs(num_codebooks)) * kBlockRows;
}

// Bytes of one block of packed codes: kBlockRows bytes per pair.
inline constexpr std::size_t PackedBlockBytes(int num_codebooks) {
  return static_cast<std::size_t>(CodePairs(num_codebooks)) * kBlockRows;
}

// Offset of the byte that holds the codes of pair `pair` of row `row` in packed codes with `pairs`
// pairs per block, rows counted from the first block of the buffer.
inline constexpr std::size_t PackedByteOffset(std::size_t row, std::size_t pair,
                                              std::size_t pairs) {
  return (row / kBlockRows * pairs + pair) * kBlockRows + row % kBlockRows;
}

// The code of `codebook` in its pair's byte, and a code's bits in that byte.
inline constexpr int CodeInByte(std::uint8_t byte, int codebook) {
  return (byte >> (4 * (codebook % 2))) & 0xF;
}
inline constexpr std::uint8_t CodeBits(int code, int codebook) {
  return static_cast<std::uint8_t>(code << (4 * (codebook % 2)));
}

static_assert(PackedBlockBytes(16) == 8 * kBlockRows && PackedBlockBytes(3) == 2 * kBlockRows);
static_assert(PackedByteOffset(0, 0, 8) == 0 && PackedByteOffset(65, 1, 8) == (8 + 1) * 64 + 1,
              "block b, pair j at (b * pairs + j) * 64, then the row within the block");
static_assert(CodeInByte(0xA5, 0) == 0x5 && CodeInByte(0xA5, 1) == 0xA &&
                  CodeBits(0xA, 1) == 0xA0 && CodeBits(0x5, 0) == 0x05,
              "codebook 2j in the low nibble, 2j + 1 in the high one");

// Bytes of quantized tables per output.
inline constexpr std::size_t TableBytesPerOutput(int num_codebooks) {
  return static_cast<std::size_t>(CodePairs(num_codebooks)) * 32;
}

inline constexpr int PaddedCodebooks(int num_codebooks) {
  if (num_codebooks > kMaxGroupSize) {
    return (num_codebooks + kMaxGroupSize - 1) / kMaxGroupSize * kMaxGroupSize;
  }
  int padded = 2;
  while (padded < num_codebooks) padded *= 2;
  return padded;
}

inline constexpr int GroupSize(int num_codebooks) {
  return std::min(kMaxGroupSize, PaddedCodebooks(num_codebooks));
}

// Expected rounding-up of the averaging tree, in table quanta of the estimated sum (spec 7.3):
// each averaging op at tree level l (l = 1 at the leaves' parents) adds 1/2 with probability 1/2,
// which is 2^l / 4 once scaled to a sum. Ops whose inputs are all padding codebooks add nothing.
inline double AveragingBias(int num_codebooks) {
  const int padded = PaddedCodebooks(num_codebooks);
  const int group = GroupSize(num_codebooks);
  double bias = 0.0;
  for (int begin = 0; begin < padded; begin += group) {
    for (int span = 2; span <= group; span *= 2) {
      for (int first = begin; first < begin + group; first += span) {
        if (first < num_codebooks) bias += span / 4.0;
      }
    }
  }
  return bias;
}

// Quantizes one input value for a split (spec 6.1, float path): x*scale + offset, clamped to
// [-128, 127], rounded to nearest even. The multiply and the add are separate IEEE operations
// (the project builds with -ffp-contract=off), so every SIMD target gets the same byte.
inline std::int8_t QuantizeInput(float x, float scale, float offset) {
  float v = x * scale;
  v = v + offset;
  v = std::min(std::max(v, -128.0f), 127.0f);
  return static_cast<std::int8_t>(std::nearbyint(v));
}

// De-quantizes a raw scan output for one output column: raw * scale + offset, in float32 with a
// separate multiply and add.
inline float Dequantize(std::uint16_t raw, float scale, float offset) {
  float v = static_cast<float>(raw) * scale;
  return v + offset;
}

}  // namespace maddness::detail

#endif  // MADDNESS_SRC_COMMON_LAYOUT_H_
