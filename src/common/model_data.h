// The internal representation of a model. Every stage reads it; only learning, LUT construction
// and the model reader write it.
#ifndef MADDNESS_SRC_COMMON_MODEL_DATA_H_
#define MADDNESS_SRC_COMMON_MODEL_DATA_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "maddness/maddness.h"
#include "src/common/aligned.h"

namespace maddness::detail {

// One level t of the hash tree of codebook c. A row's value in column `dim` is quantized with
// QuantizeInput(x, scale, offset) (layout.h); node i of the level sends the row right (bit 1) when
// the quantized value is strictly greater than thresholds[i]. Slots i >= 2^t are unused and hold
// kNoSplitThreshold.
struct SplitLevel {
  std::uint32_t dim = 0;
  float scale = 1.0f;
  float offset = 0.0f;
  std::int8_t thresholds[16] = {};
};

struct Encoder {
  std::size_t input_dim = 0;  // D
  int num_codebooks = 0;      // C
  // Codebook c owns the columns columns[i] for i in [codebook_begin[c], codebook_begin[c + 1])
  // and its tree splits only on them. `columns` is a permutation of [0, D); empty means the
  // identity (each codebook owns a contiguous range of columns).
  std::vector<std::uint32_t> codebook_begin;  // C + 1 entries
  std::vector<std::uint32_t> columns;         // D entries, or none
  std::vector<SplitLevel> splits;             // C * kTreeDepth, index c * kTreeDepth + t
  // Prototypes, [c][k][j]: C * 16 * D float32. Zero outside codebook c's columns for kPq.
  std::vector<float> prototypes;
};

// The column at position i of the codebooks' column order.
inline std::uint32_t ColumnAt(const Encoder& encoder, std::size_t i) {
  return encoder.columns.empty() ? static_cast<std::uint32_t>(i) : encoder.columns[i];
}

// owner[j] = the codebook that owns column j (D entries). Requires a valid column order.
inline std::vector<int> ColumnOwners(const Encoder& encoder) {
  std::vector<int> owner(encoder.input_dim, -1);
  for (int c = 0; c < encoder.num_codebooks; ++c) {
    for (std::size_t i = encoder.codebook_begin[static_cast<std::size_t>(c)];
         i < encoder.codebook_begin[static_cast<std::size_t>(c) + 1]; ++i) {
      owner[ColumnAt(encoder, i)] = c;
    }
  }
  return owner;
}

struct Tables {
  std::size_t output_dim = 0;  // M
  Aggregation aggregation = Aggregation::kAveraging;
  // Quantized tables, layout.h: M * TableBytesPerOutput(C) bytes.
  AlignedVector<std::uint8_t> luts;
  // Output m = Dequantize(raw, out_scale[m], out_offset[m]) (averaging bias already folded in).
  std::vector<float> out_scale;
  std::vector<float> out_offset;
  // Derived from the above, never stored in a file (BuildPairTables, lut.h): with C <= 2 and
  // M <= kMaxPairTableOutputs, the raw and de-quantized outputs of each of the 256 code bytes,
  // [byte][m], then kPairTablePadding zeros (a vector load from the last row stays inside);
  // empty otherwise.
  AlignedVector<std::uint16_t> pair_raw;
  AlignedVector<float> pair_outputs;
};

struct ModelData {
  Variant variant = Variant::kMaddness;
  double ridge_lambda = 1.0;
  std::uint64_t num_train_rows = 0;
  Encoder encoder;
  bool has_tables = false;
  Tables tables;
};

}  // namespace maddness::detail

#endif  // MADDNESS_SRC_COMMON_MODEL_DATA_H_
