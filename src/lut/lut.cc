#include "src/lut/lut.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "src/common/check.h"
#include "src/common/eigen_matrix.h"
#include "src/common/layout.h"
#include "src/scan/scan.h"

namespace maddness::detail {

std::vector<double> BuildFloatTables(const Encoder& encoder, const MatrixView& b) {
  // tables(m, c * 16 + k): row-major M x 16C, i.e. [m][c][k].
  const RowMatrixD tables = (PrototypesAsDouble(encoder) * ToDoubleMatrix(b)).transpose();
  return std::vector<double>(tables.data(), tables.data() + tables.size());
}

Tables QuantizeTables(const std::vector<double>& float_tables, int num_codebooks,
                      std::size_t output_dim, Aggregation aggregation, TableScale table_scale) {
  const std::size_t codebooks = static_cast<std::size_t>(num_codebooks);
  const std::size_t row_entries = codebooks * kNumPrototypes;
  const std::size_t bytes_per_output = TableBytesPerOutput(num_codebooks);
  const bool averaging = aggregation == Aggregation::kAveraging;
  const double raw_to_sum = averaging ? GroupSize(num_codebooks) : 1.0;
  const double bias = averaging ? AveragingBias(num_codebooks) : 0.0;

  Tables tables;
  tables.output_dim = output_dim;
  tables.aggregation = aggregation;
  tables.luts.assign(output_dim * bytes_per_output, 0);
  tables.out_scale.assign(output_dim, 0.0f);
  tables.out_offset.assign(output_dim, 0.0f);

  // Outputs [first, last) share offsets and a scale.
  const std::size_t group_outputs = table_scale == TableScale::kGlobal ? output_dim : 1;
  std::vector<double> offsets(codebooks);
  std::vector<double> maxima(codebooks);
  for (std::size_t first = 0; first < output_dim; first += group_outputs) {
    const std::size_t last = std::min(output_dim, first + group_outputs);
    std::fill(offsets.begin(), offsets.end(), std::numeric_limits<double>::infinity());
    std::fill(maxima.begin(), maxima.end(), -std::numeric_limits<double>::infinity());
    for (std::size_t m = first; m < last; ++m) {
      for (std::size_t e = 0; e < row_entries; ++e) {
        const double value = float_tables[m * row_entries + e];
        const std::size_t c = e / kNumPrototypes;
        offsets[c] = std::min(offsets[c], value);
        maxima[c] = std::max(maxima[c], value);
      }
    }
    double gap = 0.0;
    for (std::size_t c = 0; c < codebooks; ++c) gap = std::max(gap, maxima[c] - offsets[c]);
    const double scale = gap > 0.0 ? 255.0 / gap : 0.0;
    double offset_sum = 0.0;
    for (const double offset : offsets) offset_sum += offset;
    // The outputs' float32 scale and offset: a B so large that they overflow gives no usable
    // model (the file format, and every output, needs them finite).
    constexpr double kFloatMax = std::numeric_limits<float>::max();
    const double out_scale = scale > 0.0 ? raw_to_sum / scale : 0.0;
    const double out_offset = scale > 0.0 ? offset_sum - bias / scale : offset_sum;
    if (!std::isfinite(gap) || !(std::fabs(out_scale) <= kFloatMax) ||
        !(std::fabs(out_offset) <= kFloatMax)) {
      double largest = 0.0;
      for (std::size_t c = 0; c < codebooks; ++c) {
        largest = std::max({largest, std::fabs(offsets[c]), std::fabs(maxima[c])});
      }
      Fail("B is too large: the lookup tables of output ", first,
           " (prototypes x B, summed over the codebooks) reach ", largest,
           ", beyond what float32 outputs hold (", kFloatMax,
           "); scale B down (and the outputs up by the same factor)");
    }
    for (std::size_t m = first; m < last; ++m) {
      for (std::size_t e = 0; e < row_entries; ++e) {
        const double shifted =
            (float_tables[m * row_entries + e] - offsets[e / kNumPrototypes]) * scale;
        const double rounded = std::nearbyint(std::min(255.0, std::max(0.0, shifted)));
        tables.luts[m * bytes_per_output + e] = static_cast<std::uint8_t>(rounded);
      }
      tables.out_scale[m] = static_cast<float>(out_scale);
      tables.out_offset[m] = static_cast<float>(out_offset);
    }
  }
  BuildPairTables(num_codebooks, &tables);
  return tables;
}

void BuildPairTables(int num_codebooks, Tables* tables) {
  tables->pair_raw.clear();
  tables->pair_outputs.clear();
  const std::size_t outputs = tables->output_dim;
  if (num_codebooks > 2 || outputs == 0 || outputs > kMaxPairTableOutputs) return;
  // Row b of the tables is the output of a row whose code byte is b: scan 256 such rows.
  constexpr std::size_t kBytes = 256;
  AlignedVector<std::uint8_t> codes(kBytes);
  for (std::size_t b = 0; b < kBytes; ++b) codes[b] = static_cast<std::uint8_t>(b);
  ScanArgs args;
  args.packed_codes = codes.data();
  args.num_rows = kBytes;
  args.num_codebooks = num_codebooks;
  args.luts = tables->luts.data();
  args.output_dim = outputs;
  args.aggregation = tables->aggregation;
  const std::size_t blocks = NumBlocks(kBytes);
  tables->pair_raw.assign(kBytes * outputs + kPairTablePadding, 0);
  tables->pair_outputs.assign(kBytes * outputs + kPairTablePadding, 0.0f);
  ScanRef(args, 0, blocks, tables->pair_raw.data(), outputs);
  ScanDequantizeRef(args, tables->out_scale.data(), tables->out_offset.data(), 0, blocks,
                    tables->pair_outputs.data(), outputs);
}

Tables BuildTables(const Encoder& encoder, const MatrixView& b, Aggregation aggregation,
                   TableScale table_scale) {
  return QuantizeTables(BuildFloatTables(encoder, b), encoder.num_codebooks, b.cols, aggregation,
                        table_scale);
}

}  // namespace maddness::detail
