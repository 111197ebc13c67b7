// Lookup tables: prototypes x B -> quantized 8-bit tables and de-quantization constants.
#ifndef MADDNESS_SRC_LUT_LUT_H_
#define MADDNESS_SRC_LUT_LUT_H_

#include <vector>

#include "maddness/maddness.h"
#include "src/common/model_data.h"

namespace maddness::detail {

// Float tables T[m][c][k] = sum_j prototypes[c][k][j] * B[j][m], in float64 (spec 6.2).
// Returns M * C * 16 values, [m][c][k]. B is D x M with D = encoder.input_dim.
std::vector<double> BuildFloatTables(const Encoder& encoder, const MatrixView& b);

// Quantizes float tables (spec 6.3) and sets the de-quantization constants (spec 6.4, 7.4).
// Within a group of outputs (all of them for TableScale::kGlobal, each alone for kPerOutput):
// one offset per codebook, off_c = min over the group's (m, k) of T[m][c][k]; one scale,
// s = 255 / max_c (max_{m,k} T[m][c][k] - off_c), so the widest codebook uses the whole byte
// (the paper rounds s down to a power of two, wasting up to one bit; nothing here needs that);
// Tq = round-half-even((T - off_c) * s) in [0, 255]. Constant tables (gap 0) give s = 0, all-zero
// tables and outputs equal to sum_c off_c. The averaging bias (layout.h) is folded into
// out_offset.
Tables QuantizeTables(const std::vector<double>& float_tables, int num_codebooks,
                      std::size_t output_dim, Aggregation aggregation,
                      TableScale table_scale = TableScale::kGlobal);

// Pair tables: with C <= 2 a row's codes fit in one byte (layout.h), so its outputs are one of
// 256 rows of M values, and the scan can copy them instead of looking them up and averaging
// (ScanArgs::pair_raw). Built for M <= kMaxPairTableOutputs (256 x M x 6 bytes: at most
// 384 KiB, which the scan reads from the L2 cache); larger M keep empty pair tables.
inline constexpr std::size_t kMaxPairTableOutputs = 256;
inline constexpr std::size_t kPairTablePadding = 64;

// Fills tables->pair_raw and pair_outputs from its quantized tables and de-quantization
// constants with the scalar references (same values as the scan, bit for bit), or clears them
// when C > 2 or M > kMaxPairTableOutputs. QuantizeTables calls it; so must anything else that
// sets a Tables' luts, out_scale or out_offset.
void BuildPairTables(int num_codebooks, Tables* tables);

// The pair tables for ScanArgs, or null when there are none.
inline const std::uint16_t* PairRaw(const Tables& tables) {
  return tables.pair_raw.empty() ? nullptr : tables.pair_raw.data();
}
inline const float* PairOutputs(const Tables& tables) {
  return tables.pair_outputs.empty() ? nullptr : tables.pair_outputs.data();
}

// BuildFloatTables then QuantizeTables.
Tables BuildTables(const Encoder& encoder, const MatrixView& b, Aggregation aggregation,
                   TableScale table_scale = TableScale::kGlobal);

}  // namespace maddness::detail

#endif  // MADDNESS_SRC_LUT_LUT_H_
