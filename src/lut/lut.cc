#include "src/lut/lut.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>

#include "src/common/layout.h"

namespace maddness::detail {

std::vector<double> BuildFloatTables(const Encoder& encoder, const MatrixView& b) {
  const auto dim = static_cast<Eigen::Index>(encoder.input_dim);
  const auto rows = static_cast<Eigen::Index>(encoder.num_codebooks) * kNumPrototypes;
  const auto outputs = static_cast<Eigen::Index>(b.cols);
  using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const RowMatrix prototypes =
      Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
          encoder.prototypes.data(), rows, dim)
          .cast<double>();
  RowMatrix b_double(dim, outputs);
  for (Eigen::Index j = 0; j < dim; ++j) {
    for (Eigen::Index m = 0; m < outputs; ++m) {
      b_double(j, m) = b(static_cast<std::size_t>(j), static_cast<std::size_t>(m));
    }
  }
  // tables(m, c * 16 + k): row-major M x 16C, i.e. [m][c][k].
  RowMatrix tables = (prototypes * b_double).transpose();
  return std::vector<double>(tables.data(), tables.data() + tables.size());
}

Tables QuantizeTables(const std::vector<double>& float_tables, int num_codebooks,
                      std::size_t output_dim, Aggregation aggregation) {
  const std::size_t row_entries = static_cast<std::size_t>(num_codebooks) * kNumPrototypes;
  std::vector<double> offsets(static_cast<std::size_t>(num_codebooks),
                              std::numeric_limits<double>::infinity());
  std::vector<double> maxima(static_cast<std::size_t>(num_codebooks),
                             -std::numeric_limits<double>::infinity());
  for (std::size_t m = 0; m < output_dim; ++m) {
    for (std::size_t e = 0; e < row_entries; ++e) {
      const double value = float_tables[m * row_entries + e];
      const std::size_t c = e / kNumPrototypes;
      offsets[c] = std::min(offsets[c], value);
      maxima[c] = std::max(maxima[c], value);
    }
  }
  double gap = 0.0;
  for (int c = 0; c < num_codebooks; ++c) gap = std::max(gap, maxima[c] - offsets[c]);
  const double scale = gap > 0.0 ? 255.0 / gap : 0.0;

  Tables tables;
  tables.output_dim = output_dim;
  tables.aggregation = aggregation;
  const std::size_t bytes_per_output = TableBytesPerOutput(num_codebooks);
  tables.luts.assign(output_dim * bytes_per_output, 0);
  for (std::size_t m = 0; m < output_dim; ++m) {
    for (std::size_t e = 0; e < row_entries; ++e) {
      const double shifted =
          (float_tables[m * row_entries + e] - offsets[e / kNumPrototypes]) * scale;
      const double rounded = std::nearbyint(std::min(255.0, std::max(0.0, shifted)));
      tables.luts[m * bytes_per_output + e] = static_cast<std::uint8_t>(rounded);
    }
  }

  double offset_sum = 0.0;
  for (double offset : offsets) offset_sum += offset;
  const bool averaging = aggregation == Aggregation::kAveraging;
  const double raw_to_sum = averaging ? GroupSize(num_codebooks) : 1.0;
  const double bias = averaging ? AveragingBias(num_codebooks) : 0.0;
  const double out_scale = scale > 0.0 ? raw_to_sum / scale : 0.0;
  const double out_offset = scale > 0.0 ? offset_sum - bias / scale : offset_sum;
  tables.out_scale.assign(output_dim, static_cast<float>(out_scale));
  tables.out_offset.assign(output_dim, static_cast<float>(out_offset));
  return tables;
}

Tables BuildTables(const Encoder& encoder, const MatrixView& b, Aggregation aggregation) {
  return QuantizeTables(BuildFloatTables(encoder, b), encoder.num_codebooks, b.cols, aggregation);
}

}  // namespace maddness::detail
