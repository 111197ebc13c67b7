#include <algorithm>

#include "src/common/layout.h"
#include "src/scan/scan.h"

namespace maddness::detail {
namespace {

// The table entries of one row for one output, padded with zeros to PaddedCodebooks(C).
void GatherEntries(const ScanArgs& args, std::size_t block_begin, std::size_t row,
                   std::size_t output, std::uint16_t* entries) {
  const std::size_t pairs = static_cast<std::size_t>(CodePairs(args.num_codebooks));
  const std::uint8_t* table = args.luts + output * TableBytesPerOutput(args.num_codebooks);
  const int padded = PaddedCodebooks(args.num_codebooks);
  for (int c = 0; c < padded; ++c) {
    if (c >= args.num_codebooks) {
      entries[c] = 0;
      continue;
    }
    const std::uint8_t byte = args.packed_codes[PackedByteOffset(
        row - block_begin * kBlockRows, static_cast<std::size_t>(c / 2), pairs)];
    const int code = CodeInByte(byte, c);
    entries[c] = table[c * 16 + code];
  }
}

std::uint16_t RawSum(const ScanArgs& args, std::size_t block_begin, std::size_t row,
                     std::size_t output) {
  std::uint16_t entries[kMaxCodebooks];
  GatherEntries(args, block_begin, row, output, entries);
  const int padded = PaddedCodebooks(args.num_codebooks);
  unsigned total = 0;
  if (args.aggregation == Aggregation::kExactSum) {
    for (int c = 0; c < args.num_codebooks; ++c) total += entries[c];
    return static_cast<std::uint16_t>(total);
  }
  const int group = GroupSize(args.num_codebooks);
  for (int begin = 0; begin < padded; begin += group) {
    // Balanced tree in codebook order, in place: after the pass with width w, entries[begin + i*w]
    // holds the average of the w entries starting there.
    for (int width = 2; width <= group; width *= 2) {
      for (int i = begin; i < begin + group; i += width) {
        entries[i] = static_cast<std::uint16_t>((entries[i] + entries[i + width / 2] + 1) >> 1);
      }
    }
    total += entries[begin];
  }
  return static_cast<std::uint16_t>(total);
}

// Calls write(index, m, raw sum) for every row n < num_rows of blocks [block_begin, block_end) and
// every output m, with index = n * row_step + m * output_step.
template <typename Write>
void ForEachRawSum(const ScanArgs& args, std::size_t block_begin, std::size_t block_end,
                   std::size_t row_step, std::size_t output_step, const Write& write) {
  const std::size_t row_end = std::min(args.num_rows, block_end * kBlockRows);
  for (std::size_t row = block_begin * kBlockRows; row < row_end; ++row) {
    for (std::size_t m = 0; m < args.output_dim; ++m) {
      write(row * row_step + m * output_step, m, RawSum(args, block_begin, row, m));
    }
  }
}

}  // namespace

void ScanRef(const ScanArgs& args, std::size_t block_begin, std::size_t block_end,
             std::uint16_t* raw, std::size_t raw_row_stride) {
  ForEachRawSum(args, block_begin, block_end, raw_row_stride, 1,
                [&](std::size_t i, std::size_t, std::uint16_t sum) { raw[i] = sum; });
}

void ScanDequantizeRef(const ScanArgs& args, const float* out_scale, const float* out_offset,
                       std::size_t block_begin, std::size_t block_end, float* out,
                       std::size_t out_row_stride) {
  ForEachRawSum(args, block_begin, block_end, out_row_stride, 1,
                [&](std::size_t i, std::size_t m, std::uint16_t sum) {
                  out[i] = Dequantize(sum, out_scale[m], out_offset[m]);
                });
}

void ScanColumnsRef(const ScanArgs& args, std::size_t block_begin, std::size_t block_end,
                    std::uint16_t* raw, std::size_t col_stride) {
  ForEachRawSum(args, block_begin, block_end, 1, col_stride,
                [&](std::size_t i, std::size_t, std::uint16_t sum) { raw[i] = sum; });
}

void ScanColumns8Ref(const ScanArgs& args, std::size_t block_begin, std::size_t block_end,
                     std::uint8_t* raw, std::size_t col_stride) {
  ForEachRawSum(args, block_begin, block_end, 1, col_stride,
                [&](std::size_t i, std::size_t, std::uint16_t sum) {
                  raw[i] = static_cast<std::uint8_t>(sum);
                });
}

void ScanDequantizeColumnsRef(const ScanArgs& args, const float* out_scale, const float* out_offset,
                              std::size_t block_begin, std::size_t block_end, float* out,
                              std::size_t col_stride) {
  ForEachRawSum(args, block_begin, block_end, 1, col_stride,
                [&](std::size_t i, std::size_t m, std::uint16_t sum) {
                  out[i] = Dequantize(sum, out_scale[m], out_offset[m]);
                });
}

}  // namespace maddness::detail
