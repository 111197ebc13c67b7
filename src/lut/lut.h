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

// BuildFloatTables then QuantizeTables.
Tables BuildTables(const Encoder& encoder, const MatrixView& b, Aggregation aggregation,
                   TableScale table_scale = TableScale::kGlobal);

}  // namespace maddness::detail

#endif  // MADDNESS_SRC_LUT_LUT_H_
