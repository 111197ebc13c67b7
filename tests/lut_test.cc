// Lookup tables: the float product with B, quantization to bytes and de-quantization constants.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
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

// With C <= 2, row b of the pair tables is the output of a row whose code byte is b (codebook 0
// in the low nibble): computed here from the layout's rules, not by the scan.
TEST(Lut, PairTablesHoldTheOutputsOfEveryCodeByte) {
  std::mt19937_64 generator(11);
  std::uniform_real_distribution<double> uniform(-2.0, 5.0);
  const std::size_t outputs = 5;
  for (const int codebooks : {1, 2}) {
    for (const Aggregation aggregation : {Aggregation::kAveraging, Aggregation::kExactSum}) {
      std::vector<double> float_tables(outputs * static_cast<std::size_t>(codebooks) * 16);
      for (double& value : float_tables) value = uniform(generator);
      const Tables tables = QuantizeTables(float_tables, codebooks, outputs, aggregation);
      ASSERT_EQ(tables.pair_raw.size(), 256 * outputs + kPairTablePadding);
      ASSERT_EQ(tables.pair_outputs.size(), 256 * outputs + kPairTablePadding);
      const std::uint16_t* pair_raw = PairRaw(tables);
      const float* pair_outputs = PairOutputs(tables);
      for (std::size_t byte = 0; byte < 256; ++byte) {
        for (std::size_t m = 0; m < outputs; ++m) {
          const std::uint8_t* lut = tables.luts.data() + m * TableBytesPerOutput(codebooks);
          const int low = lut[byte & 15];
          const int high = lut[16 + (byte >> 4)];  // all zero for C = 1
          const int raw =
              aggregation == Aggregation::kAveraging ? (low + high + 1) >> 1 : low + high;
          EXPECT_EQ(pair_raw[byte * outputs + m], raw) << "byte " << byte << " m " << m;
          float expected = static_cast<float>(raw) * tables.out_scale[m];
          expected = expected + tables.out_offset[m];
          EXPECT_EQ(pair_outputs[byte * outputs + m], expected) << "byte " << byte << " m " << m;
        }
      }
    }
  }
}

TEST(Lut, PairTablesOnlyForTwoCodebooksAndAtMost256Outputs) {
  const auto pair_values = [](int codebooks, std::size_t outputs) {
    const std::vector<double> float_tables(outputs * static_cast<std::size_t>(codebooks) * 16, 1.0);
    return QuantizeTables(float_tables, codebooks, outputs, Aggregation::kAveraging)
        .pair_outputs.size();
  };
  EXPECT_EQ(pair_values(3, 4), 0u);
  EXPECT_EQ(pair_values(2, kMaxPairTableOutputs + 1), 0u);
  EXPECT_EQ(pair_values(2, kMaxPairTableOutputs), 256 * kMaxPairTableOutputs + kPairTablePadding);
  // Rebuilding after a change of C clears them.
  Tables tables =
      QuantizeTables(std::vector<double>(4 * 2 * 16, 1.0), 2, 4, Aggregation::kAveraging);
  ASSERT_FALSE(tables.pair_raw.empty());
  BuildPairTables(4, &tables);
  EXPECT_TRUE(tables.pair_raw.empty());
  EXPECT_TRUE(tables.pair_outputs.empty());
}

}  // namespace
}  // namespace maddness::detail
