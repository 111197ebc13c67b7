// EncodeBlocks against the scalar reference EncodeRef, bit for bit, on every SIMD target compiled
// into the library that this CPU can run (the testers are in tests/testers/kernel_testers.h).
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "maddness/maddness.h"
#include "src/common/layout.h"
#include "src/common/model_data.h"
#include "src/encode/encode.h"
#include "tests/testers/kernel_testers.h"

namespace maddness::detail {
namespace {

using testers::BuildEncoder;
using testers::EncodeTester;
using testers::ForEachTarget;
using testers::kCodebookCounts;
using testers::kRowCounts;
using testers::Layout;
using testers::UniformThresholds;
using testers::Values;

// `values` (rows x dim, row-major) copied into `data`, row- or column-major, and its view.
MatrixView LayOut(const std::vector<float>& values, std::size_t rows, std::size_t dim,
                  bool col_major, std::vector<float>* data) {
  data->resize(rows * dim);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < dim; ++c) {
      (*data)[col_major ? c * rows + r : r * dim + c] = values[r * dim + c];
    }
  }
  return col_major ? MatrixView::ColMajor(data->data(), rows, dim)
                   : MatrixView::RowMajor(data->data(), rows, dim);
}

TEST(EncodeKernels, MatchReferenceOnEveryTarget) {
  std::uint64_t seed = 100;
  for (const std::size_t rows : kRowCounts) {
    for (const int codebooks : kCodebookCounts) {
      if (rows > 100 && codebooks > 64) continue;  // the large sizes are covered below
      const std::size_t dim = static_cast<std::size_t>(codebooks) + 7;
      for (const Layout layout : {Layout::kRowMajor, Layout::kColMajor, Layout::kStrided}) {
        for (const Values values : {Values::kRandom, Values::kBoundaries, Values::kSaturating,
                                    Values::kNearTies, Values::kSignedScales}) {
          EncodeTester()
              .rows(rows)
              .dim(dim)
              .codebooks(codebooks)
              .layout(layout)
              // Odd strides: D + 3 or D + 2, and N + 3 or N + 2 between columns.
              .stride_padding(layout == Layout::kStrided    ? 0
                              : layout == Layout::kRowMajor ? (dim % 2 == 0 ? 3 : 2)
                                                            : (rows % 2 == 0 ? 3 : 2))
              .values(values)
              .seed(++seed)
              .Test();
          if (HasFailure()) return;
        }
      }
    }
  }
}

TEST(EncodeKernels, LargeShapes) {
  EncodeTester().rows(1000 + 5).dim(512).codebooks(256).layout(Layout::kColMajor).seed(7).Test();
  EncodeTester().rows(1000 + 5).dim(512).codebooks(100).layout(Layout::kRowMajor).seed(8).Test();
  EncodeTester().rows(4096).dim(512).codebooks(16).layout(Layout::kRowMajor).seed(9).Test();
  EncodeTester()
      .rows(4096 + 64 * 3 + 17)
      .dim(512)
      .codebooks(16)
      .layout(Layout::kColMajor)
      .stride_padding(0)
      .seed(10)
      .Test();
}

// Restores the machine's column-run policy when a test that chose one ends.
class ColumnRunsGuard {
 public:
  ColumnRunsGuard() : saved_(MachineColumnRuns()) {}
  ~ColumnRunsGuard() { SetColumnRuns(saved_); }
  ColumnRunsGuard(const ColumnRunsGuard&) = delete;
  ColumnRunsGuard& operator=(const ColumnRunsGuard&) = delete;

 private:
  ColumnRuns saved_;
};

const char* RunsName(ColumnRuns runs) {
  return runs == ColumnRuns::kLong ? "long runs" : "L2-bounded runs";
}

// Column-major A is encoded in runs: of up to 16 blocks, fewer when the encoder reads many
// columns (ColumnRuns::kL2Bounded), or of up to 256 (kLong). Under both policies, every block
// range, whether it starts, ends or splits inside a run, must give the reference's bytes.
TEST(EncodeKernels, ColumnMajorRuns) {
  const ColumnRunsGuard guard;
  std::mt19937_64 generator(55);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  // (D, C): few columns (bounded runs of 16 blocks), and 512 columns (bounded runs of 2 blocks).
  const std::pair<std::size_t, int> kShapes[] = {{9, 1}, {27, 3}, {27, 16}, {600, 256}};
  // Around the bounded runs' 16 blocks, and the long runs' 256.
  const std::size_t kRows[] = {15 * 64, 16 * 64 + 5, 17 * 64, 33 * 64 + 1, 257 * 64 + 3};
  for (const ColumnRuns runs : {ColumnRuns::kL2Bounded, ColumnRuns::kLong}) {
    SetColumnRuns(runs);
    ForEachTarget([&](const std::string& target) {
      for (const auto& [dim, codebooks] : kShapes) {
        const Encoder encoder =
            BuildEncoder(dim, codebooks, [&, dim = dim](std::size_t s, SplitLevel& split) {
              split.dim = static_cast<std::uint32_t>(dim > 512 ? s % 512 : generator() % dim);
              split.scale = 8.0f;
              UniformThresholds(generator, 20, split);
            });
        for (const std::size_t rows : kRows) {
          // Past one long run only with few columns (512 columns of it took minutes under qemu;
          // their long runs are the 33 blocks of the rows before).
          if (rows > 256 * 64 && dim > 64) continue;
          std::vector<float> data(rows * dim);
          for (float& value : data) value = normal(generator);
          const MatrixView view = MatrixView::ColMajor(data.data(), rows, dim);
          const std::size_t num_blocks = NumBlocks(rows);
          const std::size_t block_bytes =
              static_cast<std::size_t>(CodePairs(codebooks)) * kBlockRows;
          const std::pair<std::size_t, std::size_t> kRanges[] = {
              {0, num_blocks},  {1, num_blocks}, {3, 14},   {15, 17},
              {14, num_blocks}, {2, 3},          {255, 258}};
          for (const auto& [first, last] : kRanges) {
            if (last > num_blocks || first >= last) continue;
            std::vector<std::uint8_t> expected((last - first) * block_bytes);
            std::vector<std::uint8_t> actual((last - first) * block_bytes, 0xAB);
            EncodeRef(encoder, view, first, last, expected.data());
            EXPECT_TRUE(EncodeBlocks(encoder, view, first, last, actual.data()));
            EXPECT_EQ(expected, actual)
                << "target " << target << ", " << RunsName(runs) << ", D=" << dim
                << " C=" << codebooks << " N=" << rows << ", blocks " << first << " to " << last;
          }
        }
      }
    });
  }
}

// Column-major A whose split columns take 64 MiB or more is read from memory, and the encoder
// prefetches its columns ahead (kPrefetchMinBytes in encode-inl.h): the codes must not change,
// at the start, in the middle and at the end of A (where the prefetches stop short of its end),
// under both column-run policies.
TEST(EncodeKernels, ColumnMajorFromMemory) {
  const ColumnRunsGuard guard;
  std::mt19937_64 generator(56);
  constexpr std::size_t kDim = 64;
  constexpr int kCodebooks = 16;  // 64 splits, one per column: runs of 16 blocks
  const std::size_t rows = (std::size_t{64} << 20) / (kDim * sizeof(float)) + 37;
  const Encoder encoder = BuildEncoder(kDim, kCodebooks, [&](std::size_t s, SplitLevel& split) {
    split.dim = static_cast<std::uint32_t>(s);
    split.scale = 8.0f;
    UniformThresholds(generator, 20, split);
  });
  std::vector<float> data(rows * kDim);
  std::uniform_real_distribution<float> uniform(-3.0f, 3.0f);
  for (float& value : data) value = uniform(generator);
  const MatrixView view = MatrixView::ColMajor(data.data(), rows, kDim);
  const std::size_t num_blocks = NumBlocks(rows);
  const std::size_t block_bytes = static_cast<std::size_t>(CodePairs(kCodebooks)) * kBlockRows;
  const std::pair<std::size_t, std::size_t> kRanges[] = {
      {0, 64}, {1000, 1064 + 5}, {num_blocks - 70, num_blocks}, {2000, 2300}};
  for (const ColumnRuns runs : {ColumnRuns::kL2Bounded, ColumnRuns::kLong}) {
    SetColumnRuns(runs);
    ForEachTarget([&](const std::string& target) {
      for (const auto& [first, last] : kRanges) {
        std::vector<std::uint8_t> expected((last - first) * block_bytes);
        std::vector<std::uint8_t> actual((last - first) * block_bytes, 0xAB);
        EncodeRef(encoder, view, first, last, expected.data());
        EXPECT_TRUE(EncodeBlocks(encoder, view, first, last, actual.data()));
        EXPECT_EQ(expected, actual) << "target " << target << ", " << RunsName(runs) << ", blocks "
                                    << first << " to " << last;
      }
    });
  }
}

// The encoder keeps per-thread constants for the last encoder and column stride it saw: the same
// encoder on two layouts, and an encoder changed in place, must still match the reference.
TEST(EncodeKernels, ReusedAndChangedEncoder) {
  std::mt19937_64 generator(77);
  const std::size_t rows = 300;
  const std::size_t dim = 40;
  Encoder encoder = BuildEncoder(dim, 5, [&](std::size_t, SplitLevel& split) {
    split.dim = static_cast<std::uint32_t>(generator() % dim);
    split.scale = 8.0f;
    UniformThresholds(generator, 20, split);
  });
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> values(rows * dim);
  for (float& value : values) value = normal(generator);
  std::vector<float> row_major;
  std::vector<float> col_major;
  const MatrixView views[] = {LayOut(values, rows, dim, false, &row_major),
                              LayOut(values, rows, dim, true, &col_major)};
  const std::size_t bytes = PackedCodesBytes(rows, encoder.num_codebooks);
  ForEachTarget([&](const std::string& target) {
    for (int round = 0; round < 3; ++round) {
      for (const MatrixView& view : views) {
        std::vector<std::uint8_t> expected(bytes);
        std::vector<std::uint8_t> actual(bytes);
        EncodeRef(encoder, view, 0, NumBlocks(rows), expected.data());
        EncodeBlocks(encoder, view, 0, NumBlocks(rows), actual.data());
        EXPECT_EQ(expected, actual) << "target " << target << ", round " << round << ", "
                                    << (view.row_stride == 1 ? "col-major" : "row-major");
      }
      encoder.splits[3].thresholds[round] = static_cast<std::int8_t>(-3 * round);
      encoder.splits[7].offset += 0.25f;
      encoder.splits[9].scale = round == 1 ? -4.0f : 6.0f;  // value domain in round 2
    }
  });
}

// EncodeBlocks reports a NaN or an infinity in any value it reads (and only there), on every
// target, layout, block position and row of a partial last block.
TEST(EncodeKernels, ReportNonFiniteInputs) {
  std::mt19937_64 generator(91);
  const std::size_t dim = 40;
  const Encoder encoder = BuildEncoder(dim, 5, [&](std::size_t s, SplitLevel& split) {
    split.dim = static_cast<std::uint32_t>(s + s / 3);  // columns 0..25, some unread
    split.scale = s == 6 ? -3.0f : 5.0f;                // one value-domain split
    UniformThresholds(generator, 20, split);
  });
  // Both infinities, and NaNs of either sign (the bits of a negative one are a negative int32:
  // a check of the signed bits alone would miss it), one of them signalling.
  const float kBad[] = {
      std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
      -std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::quiet_NaN(),
      std::numeric_limits<float>::signaling_NaN()};
  std::normal_distribution<float> normal(0.0f, 2.0f);
  ForEachTarget([&](const std::string& target) {
    for (const std::size_t rows :
         {std::size_t{1}, std::size_t{64}, std::size_t{65}, std::size_t{300}, std::size_t{2100}}) {
      std::vector<float> values(rows * dim);
      for (float& value : values) value = normal(generator);
      for (const bool col_major : {false, true}) {
        std::vector<float> data;
        const MatrixView view = LayOut(values, rows, dim, col_major, &data);
        const std::size_t num_blocks = NumBlocks(rows);
        std::vector<std::uint8_t> codes(PackedCodesBytes(rows, encoder.num_codebooks));
        const std::string where = "target " + target + ", N=" + std::to_string(rows) +
                                  (col_major ? " col-major" : " row-major");
        EXPECT_TRUE(EncodeBlocks(encoder, view, 0, num_blocks, codes.data())) << where;
        for (int trial = 0; trial < 10; ++trial) {
          // The last row, and (N = 2100) the last row of a column-major run and the next one.
          const std::size_t row = trial == 0                  ? rows - 1
                                  : trial <= 2 && rows > 1024 ? 1022 + trial
                                                              : generator() % rows;
          const SplitLevel& split = encoder.splits[generator() % encoder.splits.size()];
          const float bad = kBad[trial % 5];
          float& slot = data[col_major ? split.dim * rows + row : row * dim + split.dim];
          const float saved = slot;
          slot = bad;
          const std::string what = where + ", A[" + std::to_string(row) + ", " +
                                   std::to_string(split.dim) + "] = " + std::to_string(bad);
          EXPECT_FALSE(SplitColumnsFinite(encoder, view, 0, num_blocks)) << what;
          EXPECT_FALSE(EncodeBlocks(encoder, view, 0, num_blocks, codes.data())) << what;
          const std::size_t block = row / kBlockRows;
          EXPECT_FALSE(EncodeBlocks(encoder, view, block, block + 1, codes.data())) << what;
          if (block + 1 < num_blocks) {  // blocks after the bad row do not see it
            EXPECT_TRUE(EncodeBlocks(encoder, view, block + 1, num_blocks, codes.data())) << what;
          }
          slot = saved;
        }
        // A column no split reads may hold anything.
        data[col_major ? 39 * rows : 39] = kBad[0];
        EXPECT_TRUE(EncodeBlocks(encoder, view, 0, num_blocks, codes.data())) << where;
      }
    }
  });
}

// Huge finite values (whose squares, or sums of them, overflow float) are still finite: the
// kernels' running check only flags them as "maybe", and EncodeBlocks must then say true, with the
// reference's codes, on every target and layout.
TEST(EncodeKernels, HugeFiniteInputsAreFinite) {
  std::mt19937_64 generator(92);
  const std::size_t dim = 12;
  const std::size_t rows = 1100;  // a full column-major run, then more blocks and a partial one
  const Encoder encoder = BuildEncoder(dim, 3, [&](std::size_t s, SplitLevel& split) {
    split.dim = static_cast<std::uint32_t>(s);
    split.scale = s == 5 ? -1e-37f : 1e-37f;  // values near +-1e38 quantize to about -+10
    UniformThresholds(generator, 15, split);
  });
  std::uniform_real_distribution<float> uniform(-3.0f,
                                                3.0f);  // times 1e38 (a wider range overflows)
  std::vector<float> values(rows * dim);
  for (float& value : values) value = uniform(generator) * 1e38f;
  values[5 * dim + 2] = std::numeric_limits<float>::max();
  values[7 * dim + 3] = -std::numeric_limits<float>::max();
  ForEachTarget([&](const std::string& target) {
    for (const bool col_major : {false, true}) {
      std::vector<float> data;
      const MatrixView view = LayOut(values, rows, dim, col_major, &data);
      const std::size_t num_blocks = NumBlocks(rows);
      std::vector<std::uint8_t> expected(PackedCodesBytes(rows, encoder.num_codebooks));
      std::vector<std::uint8_t> actual(expected.size());
      EncodeRef(encoder, view, 0, num_blocks, expected.data());
      const std::string where = "target " + target + (col_major ? " col-major" : " row-major");
      EXPECT_TRUE(EncodeBlocks(encoder, view, 0, num_blocks, actual.data())) << where;
      EXPECT_EQ(expected, actual) << where;
      // And a NaN among them is still reported.
      data[col_major ? 2 * rows + 1050 : 1050 * dim + 2] = std::numeric_limits<float>::quiet_NaN();
      EXPECT_FALSE(EncodeBlocks(encoder, view, 0, num_blocks, actual.data())) << where;
    }
  });
}

}  // namespace
}  // namespace maddness::detail
