// Lookup tables: the float product with B, quantization to bytes and de-quantization constants.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "src/common/layout.h"
#include "src/lut/lut.h"
#include "tests/test_util.h"

namespace maddness::detail {
namespace {

Encoder RandomPrototypes(std::size_t dim, int num_codebooks, std::uint64_t seed) {
  Encoder encoder;
  encoder.input_dim = dim;
  encoder.num_codebooks = num_codebooks;
  encoder.prototypes =
      testing::RandomMatrix(static_cast<std::size_t>(num_codebooks) * 16, dim, seed);
  return encoder;
}

TEST(Lut, FloatTablesAreThePrototypesTimesB) {
  const std::size_t dim = 7;
  const std::size_t outputs = 3;
  const Encoder encoder = RandomPrototypes(dim, 3, 1);
  const std::vector<float> b = testing::RandomMatrix(dim, outputs, 2);
  const std::vector<double> tables =
      BuildFloatTables(encoder, MatrixView::RowMajor(b.data(), dim, outputs));
  ASSERT_EQ(tables.size(), outputs * 3 * 16);
  for (std::size_t m = 0; m < outputs; ++m) {
    for (std::size_t e = 0; e < 48; ++e) {
      double expected = 0.0;
      for (std::size_t j = 0; j < dim; ++j) {
        expected += static_cast<double>(encoder.prototypes[e * dim + j]) * b[j * outputs + m];
      }
      EXPECT_NEAR(tables[m * 48 + e], expected, 1e-12 * (1.0 + std::fabs(expected)));
    }
  }
}

TEST(Lut, QuantizationUsesTheWholeByteAndErrsByAtMostHalfAStep) {
  for (const int c : {1, 2, 5, 16}) {
    const std::size_t outputs = 4;
    std::mt19937_64 generator(static_cast<std::uint64_t>(c));
    std::normal_distribution<double> normal(0.0, 1.0);
    std::vector<double> tables(outputs * static_cast<std::size_t>(c) * 16);
    for (std::size_t i = 0; i < tables.size(); ++i) {
      // Codebooks of very different ranges; some entirely negative (spec 11.1, P4).
      const std::size_t codebook = (i / 16) % static_cast<std::size_t>(c);
      tables[i] = normal(generator) * (1.0 + static_cast<double>(codebook)) - 50.0;
    }
    for (const Aggregation aggregation : {Aggregation::kAveraging, Aggregation::kExactSum}) {
      const Tables quantized = QuantizeTables(tables, c, outputs, aggregation);
      ASSERT_EQ(quantized.luts.size(), outputs * TableBytesPerOutput(c));
      const std::size_t per_output = TableBytesPerOutput(c);
      // Recover the scale and offsets: per codebook the minimum maps to 0.
      double gap = 0.0;
      std::vector<double> offsets(static_cast<std::size_t>(c), 1e300);
      std::vector<double> maxima(static_cast<std::size_t>(c), -1e300);
      for (std::size_t m = 0; m < outputs; ++m) {
        for (int k = 0; k < c * 16; ++k) {
          const double value = tables[m * c * 16 + static_cast<std::size_t>(k)];
          offsets[static_cast<std::size_t>(k / 16)] =
              std::min(offsets[static_cast<std::size_t>(k / 16)], value);
          maxima[static_cast<std::size_t>(k / 16)] =
              std::max(maxima[static_cast<std::size_t>(k / 16)], value);
        }
      }
      for (int k = 0; k < c; ++k) gap = std::max(gap, maxima[k] - offsets[k]);
      const double scale = 255.0 / gap;
      int widest_max = 0;
      for (int k = 0; k < c; ++k) {
        int lowest = 255;
        int highest = 0;
        for (std::size_t m = 0; m < outputs; ++m) {
          for (int e = 0; e < 16; ++e) {
            const int q = quantized.luts[m * per_output + static_cast<std::size_t>(k * 16 + e)];
            const double value = tables[m * c * 16 + static_cast<std::size_t>(k * 16 + e)];
            EXPECT_LE(std::fabs(q / scale + offsets[k] - value), 0.5 / scale + 1e-9);
            lowest = std::min(lowest, q);
            highest = std::max(highest, q);
          }
        }
        EXPECT_EQ(lowest, 0) << "codebook " << k;
        widest_max = std::max(widest_max, highest);
      }
      EXPECT_EQ(widest_max, 255);
      // The padding codebook of an odd C has an all-zero table.
      if (c % 2 == 1) {
        for (std::size_t m = 0; m < outputs; ++m) {
          for (int e = 0; e < 16; ++e) {
            EXPECT_EQ(quantized.luts[m * per_output + static_cast<std::size_t>(c * 16 + e)], 0);
          }
        }
      }
      double offset_sum = 0.0;
      for (const double offset : offsets) offset_sum += offset;
      const bool averaging = aggregation == Aggregation::kAveraging;
      const double expected_scale = (averaging ? GroupSize(c) : 1) / scale;
      const double expected_offset = offset_sum - (averaging ? AveragingBias(c) : 0.0) / scale;
      for (std::size_t m = 0; m < outputs; ++m) {
        EXPECT_FLOAT_EQ(quantized.out_scale[m], static_cast<float>(expected_scale));
        EXPECT_FLOAT_EQ(quantized.out_offset[m], static_cast<float>(expected_offset));
      }
    }
  }
}

TEST(Lut, ConstantTablesGiveTheOffsetSum) {
  const std::vector<double> tables(2 * 3 * 16, -1.5);
  const Tables quantized = QuantizeTables(tables, 3, 2, Aggregation::kAveraging);
  for (const std::uint8_t value : quantized.luts) EXPECT_EQ(value, 0);
  for (std::size_t m = 0; m < 2; ++m) {
    EXPECT_EQ(quantized.out_scale[m], 0.0f);
    EXPECT_EQ(quantized.out_offset[m], -4.5f);
  }
}

}  // namespace
}  // namespace maddness::detail
