// The scan: packed codes x quantized tables -> raw sums, and their de-quantization to float32.
#ifndef MADDNESS_SRC_SCAN_SCAN_H_
#define MADDNESS_SRC_SCAN_SCAN_H_

#include <cstddef>
#include <cstdint>

#include "maddness/maddness.h"

namespace maddness::detail {

// Arguments shared by the scan functions. Shapes and layouts are those of layout.h.
struct ScanArgs {
  // Codes of the blocks being scanned: block b (of block_begin..block_end) is at
  // packed_codes + (b - block_begin) * CodePairs(C) * 64.
  const std::uint8_t* packed_codes = nullptr;
  std::size_t num_rows = 0;            // N
  int num_codebooks = 0;               // C
  const std::uint8_t* luts = nullptr;  // output_dim * TableBytesPerOutput(C) bytes
  std::size_t output_dim = 0;          // M
  Aggregation aggregation = Aggregation::kAveraging;
  // Optional, only with C <= 2 (one code byte per row holds all of its codes): the outputs of
  // every code byte, [byte][m], 256 * M values and kPairTablePadding readable values after them
  // (BuildPairTables, PairRaw and PairOutputs in lut.h). When set, the SIMD scans copy a row's
  // outputs from row `byte` instead of looking them up (except for outputs large enough to be
  // written with streaming stores, which are faster without); pair_outputs must then hold the
  // de-quantized outputs for the out_scale and out_offset given to ScanDequantizeBlocks.
  // Same results as without them, bit for bit; the references ignore them.
  const std::uint16_t* pair_raw = nullptr;
  const float* pair_outputs = nullptr;
};

// Scalar reference scan. For rows n in blocks [block_begin, block_end) (rows < num_rows only) and
// every output m, writes raw[n * raw_row_stride + m] (`raw` and `out` address the whole output):
// with kAveraging the sum over groups of the averaging-tree roots (layout.h), with kExactSum the
// exact sum of the C table entries.
void ScanRef(const ScanArgs& args, std::size_t block_begin, std::size_t block_end,
             std::uint16_t* raw, std::size_t raw_row_stride);

// Scalar reference of the fused scan and de-quantization: out[n * out_row_stride + m] =
// Dequantize(raw(n, m), out_scale[m], out_offset[m]).
void ScanDequantizeRef(const ScanArgs& args, const float* out_scale, const float* out_offset,
                       std::size_t block_begin, std::size_t block_end, float* out,
                       std::size_t out_row_stride);

// The same two references with column-major output: output m of row n at
// raw[m * col_stride + n] (out[m * col_stride + n]); rows >= num_rows are not written.
void ScanColumnsRef(const ScanArgs& args, std::size_t block_begin, std::size_t block_end,
                    std::uint16_t* raw, std::size_t col_stride);
// 8-bit raw sums, column-major: only for one averaging group (kAveraging and C <= 16), whose
// sums are its roots (< 256).
void ScanColumns8Ref(const ScanArgs& args, std::size_t block_begin, std::size_t block_end,
                     std::uint8_t* raw, std::size_t col_stride);
void ScanDequantizeColumnsRef(const ScanArgs& args, const float* out_scale, const float* out_offset,
                              std::size_t block_begin, std::size_t block_end, float* out,
                              std::size_t col_stride);

// The fastest implementations for this CPU; same contracts and results as the references.
void ScanBlocks(const ScanArgs& args, std::size_t block_begin, std::size_t block_end,
                std::uint16_t* raw, std::size_t raw_row_stride);
void ScanDequantizeBlocks(const ScanArgs& args, const float* out_scale, const float* out_offset,
                          std::size_t block_begin, std::size_t block_end, float* out,
                          std::size_t out_row_stride);
void ScanColumns(const ScanArgs& args, std::size_t block_begin, std::size_t block_end,
                 std::uint16_t* raw, std::size_t col_stride);
void ScanColumns8(const ScanArgs& args, std::size_t block_begin, std::size_t block_end,
                  std::uint8_t* raw, std::size_t col_stride);
void ScanDequantizeColumns(const ScanArgs& args, const float* out_scale, const float* out_offset,
                           std::size_t block_begin, std::size_t block_end, float* out,
                           std::size_t col_stride);

}  // namespace maddness::detail

#endif  // MADDNESS_SRC_SCAN_SCAN_H_
