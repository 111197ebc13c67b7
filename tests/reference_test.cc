// The scalar references of encoding and scanning against naive code written from the spec, and
// the statistics of the averaging sum (spec 7.3).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "src/common/layout.h"
#include "src/encode/encode.h"
#include "src/scan/scan.h"
#include "tests/test_util.h"
#include "tests/testers/kernel_testers.h"

namespace maddness::detail {
namespace {

// A random encoder over D columns: C codebooks, random split columns and thresholds (including
// the extremes -128 and 127), scales that make the inputs span and exceed the int8 range.
Encoder RandomEncoder(std::size_t dim, int num_codebooks, std::uint64_t seed) {
  std::mt19937_64 generator(seed);
  return testers::BuildEncoder(dim, num_codebooks, [&](std::size_t, SplitLevel& split) {
    split.dim = static_cast<std::uint32_t>(generator() % dim);
    split.scale = std::ldexp(1.0f, static_cast<int>(generator() % 9)) * 10.0f;
    split.offset = static_cast<float>(static_cast<int>(generator() % 41) - 20);
    for (std::int8_t& threshold : split.thresholds) {
      const int pick = static_cast<int>(generator() % 10);
      threshold = pick == 0   ? std::int8_t{-128}
                  : pick == 1 ? std::int8_t{127}
                              : static_cast<std::int8_t>(static_cast<int>(generator() % 256) - 128);
    }
  });
}

// The paper's form of the encoding (1-indexed nodes, i <- 2i - 1 + bit), with the quantization
// computed in double precision: round half to even of x * scale + offset, clamped.
int NaiveCode(const Encoder& encoder, const std::vector<float>& a, std::size_t dim, std::size_t row,
              int codebook) {
  int node = 1;
  for (int level = 0; level < kTreeDepth; ++level) {
    const SplitLevel& split =
        encoder.splits[static_cast<std::size_t>(codebook) * kTreeDepth + level];
    const float product = a[row * dim + split.dim] * split.scale;  // float32, as the spec says
    double value = static_cast<double>(static_cast<float>(product + split.offset));
    value = std::min(127.0, std::max(-128.0, value));
    double rounded = std::floor(value + 0.5);
    if (rounded - value == 0.5 && std::fmod(rounded, 2.0) != 0.0) rounded -= 1.0;  // half to even
    const int bit = rounded > split.thresholds[node - 1] ? 1 : 0;
    node = 2 * node - 1 + bit;
  }
  return node - 1;
}

TEST(EncodeRef, MatchesTheSpecAndPacksNibblesIn64RowBlocks) {
  for (const int num_codebooks : {1, 2, 3, 8, 17}) {
    for (const std::size_t rows : {1u, 63u, 64u, 65u, 200u}) {
      const std::size_t dim = 20;
      const Encoder encoder = RandomEncoder(dim, num_codebooks, 100 + rows);
      std::vector<float> a = testing::RandomMatrix(rows, dim, rows);
      // Values exactly on quantization boundaries and far outside the range.
      a[0] = 0.0f;
      if (rows > 1) a[dim + 1] = 1e30f;
      if (rows > 2) a[2 * dim + 2] = -1e30f;
      const MatrixView view = MatrixView::RowMajor(a.data(), rows, dim);
      std::vector<std::uint8_t> packed(PackedCodesBytes(rows, num_codebooks), 0xEE);
      EncodeRef(encoder, view, 0, NumBlocks(rows), packed.data());
      const std::size_t pairs = static_cast<std::size_t>(CodePairs(num_codebooks));
      for (std::size_t block = 0; block < NumBlocks(rows); ++block) {
        for (std::size_t pair = 0; pair < pairs; ++pair) {
          for (std::size_t r = 0; r < kBlockRows; ++r) {
            const std::uint8_t byte = packed[(block * pairs + pair) * kBlockRows + r];
            const std::size_t row = block * kBlockRows + r;
            const int c0 = static_cast<int>(2 * pair);
            const int c1 = c0 + 1;
            const int low = row < rows ? NaiveCode(encoder, a, dim, row, c0) : 0;
            const int high =
                row < rows && c1 < num_codebooks ? NaiveCode(encoder, a, dim, row, c1) : 0;
            ASSERT_EQ(byte, low | (high << 4))
                << "C " << num_codebooks << " row " << row << " pair " << pair;
          }
        }
      }
    }
  }
}

TEST(EncodeRef, StridedAndColumnMajorViewsGiveTheSameCodes) {
  const std::size_t rows = 130;
  const std::size_t dim = 11;
  const Encoder encoder = RandomEncoder(dim, 5, 9);
  const std::vector<float> a = testing::RandomMatrix(rows, dim, 10);
  std::vector<float> strided(rows * (dim + 3));
  std::vector<float> column_major(rows * dim);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t j = 0; j < dim; ++j) {
      strided[r * (dim + 3) + j] = a[r * dim + j];
      column_major[j * rows + r] = a[r * dim + j];
    }
  }
  const std::size_t bytes = PackedCodesBytes(rows, 5);
  std::vector<std::uint8_t> expected(bytes);
  std::vector<std::uint8_t> from_strided(bytes);
  std::vector<std::uint8_t> from_columns(bytes);
  EncodeRef(encoder, MatrixView::RowMajor(a.data(), rows, dim), 0, NumBlocks(rows),
            expected.data());
  EncodeRef(encoder, MatrixView::RowMajor(strided.data(), rows, dim, dim + 3), 0, NumBlocks(rows),
            from_strided.data());
  EncodeRef(encoder, MatrixView::ColMajor(column_major.data(), rows, dim), 0, NumBlocks(rows),
            from_columns.data());
  EXPECT_EQ(from_strided, expected);
  EXPECT_EQ(from_columns, expected);
  // A block range writes only its blocks, starting at the given pointer.
  std::vector<std::uint8_t> second_block(bytes);
  EncodeRef(encoder, MatrixView::RowMajor(a.data(), rows, dim), 1, 2, second_block.data());
  const std::size_t block_bytes = 3 * kBlockRows;
  EXPECT_TRUE(std::equal(second_block.begin(), second_block.begin() + block_bytes,
                         expected.begin() + block_bytes));
}

// Random packed codes and tables for a scan.
struct ScanInputs {
  std::size_t rows;
  int num_codebooks;
  std::size_t outputs;
  std::vector<std::uint8_t> codes;  // unpacked, rows x C
  std::vector<std::uint8_t> packed;
  std::vector<std::uint8_t> luts;

  ScanInputs(std::size_t n, int c, std::size_t m, std::uint64_t seed)
      : rows(n), num_codebooks(c), outputs(m) {
    std::mt19937_64 generator(seed);
    codes.resize(n * static_cast<std::size_t>(c));
    for (std::uint8_t& code : codes) code = static_cast<std::uint8_t>(generator() % 16);
    const std::size_t pairs = static_cast<std::size_t>(CodePairs(c));
    packed.assign(PackedCodesBytes(n, c), 0);
    for (std::size_t r = 0; r < n; ++r) {
      for (int k = 0; k < c; ++k) {
        packed[((r / kBlockRows) * pairs + static_cast<std::size_t>(k / 2)) * kBlockRows +
               r % kBlockRows] |= static_cast<std::uint8_t>(codes[r * c + k] << (4 * (k % 2)));
      }
    }
    luts.assign(m * TableBytesPerOutput(c), 0);
    for (std::size_t o = 0; o < m; ++o) {
      for (int k = 0; k < c * 16; ++k) {
        luts[o * TableBytesPerOutput(c) + k] = static_cast<std::uint8_t>(generator() % 256);
      }
    }
  }
  ScanArgs Args(Aggregation aggregation) const {
    return testers::MakeScanArgs(packed.data(), rows, num_codebooks, luts.data(), outputs,
                                 aggregation);
  }
  int Entry(std::size_t row, std::size_t output, int codebook) const {
    return luts[output * TableBytesPerOutput(num_codebooks) + codebook * 16 +
                codes[row * num_codebooks + codebook]];
  }
};

// The spec's emulation (8.6): pad to a power of two (C <= 16) or a multiple of 16 with zeros,
// average adjacent pairs until one value per group is left, sum the group roots.
int NaiveAveragedSum(const ScanInputs& inputs, std::size_t row, std::size_t output) {
  const int c = inputs.num_codebooks;
  int padded = 1;
  while (padded < c) padded *= 2;
  padded = std::max(padded, 2);
  int group = padded;
  if (c > 16) {
    group = 16;
    padded = (c + 15) / 16 * 16;
  }
  int total = 0;
  for (int begin = 0; begin < padded; begin += group) {
    std::vector<int> values;
    for (int k = begin; k < begin + group; ++k) {
      values.push_back(k < c ? inputs.Entry(row, output, k) : 0);
    }
    while (values.size() > 1) {
      std::vector<int> next;
      for (std::size_t i = 0; i < values.size(); i += 2) {
        next.push_back((values[i] + values[i + 1] + 1) / 2);
      }
      values = next;
    }
    total += values[0];
  }
  return total;
}

TEST(ScanRef, MatchesTheNaiveAveragingTreeAndTheExactSum) {
  for (const int c : {1, 2, 3, 4, 5, 7, 8, 16, 17, 31, 32, 33, 64, 100, 256}) {
    for (const std::size_t m : {1u, 3u}) {
      const std::size_t rows = 70;
      const ScanInputs inputs(rows, c, m, static_cast<std::uint64_t>(c) * 31 + m);
      std::vector<std::uint16_t> averaged(rows * m);
      std::vector<std::uint16_t> exact(rows * m);
      ScanRef(inputs.Args(Aggregation::kAveraging), 0, NumBlocks(rows), averaged.data(), m);
      ScanRef(inputs.Args(Aggregation::kExactSum), 0, NumBlocks(rows), exact.data(), m);
      for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t o = 0; o < m; ++o) {
          ASSERT_EQ(averaged[r * m + o], NaiveAveragedSum(inputs, r, o))
              << "C " << c << " row " << r << " output " << o;
          int sum = 0;
          for (int k = 0; k < c; ++k) sum += inputs.Entry(r, o, k);
          ASSERT_EQ(exact[r * m + o], sum) << "C " << c << " row " << r << " output " << o;
        }
      }
    }
  }
}

TEST(ScanRef, DequantizesAndLeavesRowsPastNAlone) {
  const std::size_t rows = 65;
  const std::size_t m = 2;
  const ScanInputs inputs(rows, 6, m, 77);
  std::vector<std::uint16_t> raw(rows * m);
  ScanRef(inputs.Args(Aggregation::kAveraging), 0, NumBlocks(rows), raw.data(), m);
  const float scale[2] = {0.5f, -2.0f};
  const float offset[2] = {3.0f, 0.25f};
  const std::size_t stride = 5;
  std::vector<float> out(rows * stride + 7, -1.0f);
  ScanDequantizeRef(inputs.Args(Aggregation::kAveraging), scale, offset, 0, NumBlocks(rows),
                    out.data(), stride);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t o = 0; o < m; ++o) {
      EXPECT_EQ(out[r * stride + o], static_cast<float>(raw[r * m + o]) * scale[o] + offset[o]);
    }
    for (std::size_t o = m; o < stride; ++o) EXPECT_EQ(out[r * stride + o], -1.0f);
  }
  for (std::size_t i = rows * stride; i < out.size(); ++i) EXPECT_EQ(out[i], -1.0f);
}

// The error of the averaged estimate, GroupSize(C) * raw - the exact sum, over 100 rows and 400
// outputs of random tables for C codebooks: 40,000 samples over 400 independent tables (the error
// of one table is correlated across rows, so many tables are needed for the mean to converge).
struct AveragingError {
  double mean;
  double std;
  double samples;
};
AveragingError MeasureAveragingError(int c, std::uint64_t seed) {
  const std::size_t rows = 100;
  const std::size_t m = 400;
  const ScanInputs inputs(rows, c, m, seed);
  std::vector<std::uint16_t> raw(rows * m);
  ScanRef(inputs.Args(Aggregation::kAveraging), 0, NumBlocks(rows), raw.data(), m);
  double sum = 0.0;
  double sum_squares = 0.0;
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t o = 0; o < m; ++o) {
      int exact = 0;
      for (int k = 0; k < c; ++k) exact += inputs.Entry(r, o, k);
      const double error = GroupSize(c) * static_cast<double>(raw[r * m + o]) - exact;
      sum += error;
      sum_squares += error * error;
    }
  }
  const double n = static_cast<double>(rows * m);
  const double mean = sum / n;
  return {mean, std::sqrt(sum_squares / n - mean * mean), n};
}

// Spec 7.3: with uniform random tables the averaged estimate GroupSize * raw overshoots the
// exact sum by C log2(U) / 4 on average, with standard deviation sqrt(C (U - 1) / 8).
TEST(Averaging, BiasAndNoiseMatchTheSpecTable) {
  struct Row {
    int c;
    double bias;
    double std;
  };
  const Row table[] = {{2, 0.5, 0.50}, {4, 2, 1.22},   {8, 6, 2.65},
                       {16, 16, 5.48}, {32, 32, 7.75}, {64, 64, 10.95}};
  for (const Row& row : table) {
    const AveragingError error =
        MeasureAveragingError(row.c, 1000 + static_cast<std::uint64_t>(row.c));
    EXPECT_NEAR(AveragingBias(row.c), row.bias, 1e-12) << "C " << row.c;
    EXPECT_NEAR(error.mean, row.bias, 4.0 * row.std / std::sqrt(error.samples) + 0.02)
        << "C " << row.c;
    EXPECT_NEAR(error.std, row.std, 0.03 * row.std + 0.01) << "C " << row.c;
  }
}

TEST(Averaging, BiasFormulaHoldsForCodebookCountsThatAreNotPowersOfTwo) {
  for (const int c : {3, 5, 6, 12, 17, 40}) {
    const AveragingError error = MeasureAveragingError(c, 2000 + static_cast<std::uint64_t>(c));
    EXPECT_NEAR(error.mean, AveragingBias(c), 4.0 * error.std / std::sqrt(error.samples) + 0.02)
        << "C " << c;
  }
}

}  // namespace
}  // namespace maddness::detail
