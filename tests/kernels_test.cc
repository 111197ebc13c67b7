// The SIMD kernels (EncodeBlocks, ScanBlocks, ScanDequantizeBlocks) against the scalar references,
// bit for bit, on every SIMD target compiled into the library that this CPU can run.
//
// Testers in the XNNPACK style: a builder sets one case (shapes, layout, value pattern, seed);
// Test() runs the reference once and the kernel on each target, and a failure names the target,
// the case, the first differing index, the expected and the actual value.
#include <gtest/gtest.h>
#include <hwy/targets.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "maddness/maddness.h"
#include "src/common/aligned.h"
#include "src/common/layout.h"
#include "src/common/model_data.h"
#include "src/common/targets.h"
#include "src/encode/encode.h"
#include "src/lut/lut.h"
#include "src/scan/scan.h"

namespace maddness::detail {
namespace {

// Runs fn(target name) once per runnable target, with Highway's dispatch forced to that target,
// and checks that both kernel families really dispatch to it. When MADDNESS_TARGET is set, runs
// only that target (the variable already restricts the dispatch).
void ForEachTarget(const std::function<void(const std::string&)>& fn) {
  const char* forced = std::getenv("MADDNESS_TARGET");
  if (forced != nullptr && *forced != '\0') {
    const std::string name = SimdTargetName(ParseSimdTargetName(forced));
    ASSERT_EQ(SimdTargetName(EncodeKernelTarget()), name) << "encode dispatch";
    ASSERT_EQ(SimdTargetName(ScanKernelTarget()), name) << "scan dispatch";
    fn(name);
    return;
  }
  const std::vector<std::int64_t> targets = RunnableSimdTargets();
  ASSERT_FALSE(targets.empty());
  for (const std::int64_t target : targets) {
    hwy::SetSupportedTargetsForTest(target);
    const std::string name = SimdTargetName(target);
    ASSERT_EQ(SimdTargetName(EncodeKernelTarget()), name) << "encode dispatch";
    ASSERT_EQ(SimdTargetName(ScanKernelTarget()), name) << "scan dispatch";
    fn(name);
    hwy::SetSupportedTargetsForTest(0);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

// ------------------------------------------------------------------------------------------------
// Encode

enum class Layout { kRowMajor, kColMajor, kStrided };
enum class Values {
  kRandom,      // Gaussian inputs, random scales and offsets
  kBoundaries,  // inputs that quantize exactly onto thresholds and onto the .5 ties around them
  kSaturating,  // huge inputs (including ones whose x * scale overflows to infinity)
  kNearTies,    // random scales; inputs within a few ulps of the real x where x*scale+offset = T+.5
  kSignedScales,  // random inputs, and scales that are negative or zero for some splits
};

const char* Name(Layout layout) {
  switch (layout) {
    case Layout::kRowMajor:
      return "row-major";
    case Layout::kColMajor:
      return "col-major";
    default:
      return "strided";
  }
}

const char* Name(Values values) {
  switch (values) {
    case Values::kRandom:
      return "random";
    case Values::kBoundaries:
      return "boundaries";
    case Values::kSaturating:
      return "saturating";
    case Values::kNearTies:
      return "near-ties";
    default:
      return "signed-scales";
  }
}

class EncodeTester {
 public:
  EncodeTester& rows(std::size_t rows) {
    rows_ = rows;
    return *this;
  }
  EncodeTester& dim(std::size_t dim) {
    dim_ = dim;
    return *this;
  }
  EncodeTester& codebooks(int codebooks) {
    codebooks_ = codebooks;
    return *this;
  }
  EncodeTester& layout(Layout layout) {
    layout_ = layout;
    return *this;
  }
  // Extra elements between rows (row-major) or columns (column-major): odd strides.
  EncodeTester& stride_padding(std::size_t padding) {
    padding_ = padding;
    return *this;
  }
  EncodeTester& values(Values values) {
    values_ = values;
    return *this;
  }
  EncodeTester& seed(std::uint64_t seed) {
    seed_ = seed;
    return *this;
  }

  void Test() const {
    std::mt19937_64 generator(seed_);
    const Encoder encoder = MakeEncoder(generator);
    std::vector<float> storage;
    const MatrixView a = MakeInput(encoder, generator, &storage);
    const std::size_t num_blocks = NumBlocks(rows_);
    const std::size_t block_bytes = static_cast<std::size_t>(CodePairs(codebooks_)) * kBlockRows;
    AlignedVector<std::uint8_t> expected(num_blocks * block_bytes, 0xAB);
    EncodeRef(encoder, a, 0, num_blocks, expected.data());
    ForEachTarget([&](const std::string& target) {
      // All blocks at once, then a sub-range written at an offset (block_begin > 0).
      // The input is finite where the encoder reads (NaN elsewhere): the check must pass.
      AlignedVector<std::uint8_t> actual(num_blocks * block_bytes, 0xCD);
      EXPECT_TRUE(EncodeBlocks(encoder, a, 0, num_blocks, actual.data())) << "target " << target;
      Compare(target, "all blocks", expected.data(), actual.data(), expected.size());
      if (num_blocks >= 2) {
        std::vector<std::uint8_t> part((num_blocks - 1) * block_bytes, 0xCD);
        EXPECT_TRUE(EncodeBlocks(encoder, a, 1, num_blocks, part.data())) << "target " << target;
        Compare(target, "blocks [1, end)", expected.data() + block_bytes, part.data(), part.size());
      }
    });
  }

 private:
  Encoder MakeEncoder(std::mt19937_64& generator) const {
    Encoder encoder;
    encoder.input_dim = dim_;
    encoder.num_codebooks = codebooks_;
    encoder.splits.resize(static_cast<std::size_t>(codebooks_) * kTreeDepth);
    for (SplitLevel& split : encoder.splits) {
      split.dim = static_cast<std::uint32_t>(generator() % dim_);
      if (values_ == Values::kBoundaries) {
        // Power-of-two scale and half-integer offsets: inputs hit ties exactly.
        split.scale = std::ldexp(1.0f, static_cast<int>(generator() % 7) - 2);
        split.offset = static_cast<float>(static_cast<int>(generator() % 61) - 30) * 0.5f;
      } else {
        std::uniform_real_distribution<float> scale(0.05f, 300.0f);
        std::uniform_real_distribution<float> offset(-200.0f, 200.0f);
        split.scale = scale(generator);
        split.offset = offset(generator);
        if (values_ == Values::kSignedScales && generator() % 3 == 0) {
          split.scale = generator() % 2 == 0 ? -split.scale : 0.0f;
        }
      }
      for (std::int8_t& threshold : split.thresholds) {
        const int pick = static_cast<int>(generator() % 8);
        threshold = pick == 0   ? std::int8_t{-128}
                    : pick == 1 ? std::int8_t{127}
                    : pick == 2 ? std::int8_t{126}
                    : pick == 3
                        ? std::int8_t{-127}
                        : static_cast<std::int8_t>(static_cast<int>(generator() % 256) - 128);
      }
    }
    return encoder;
  }

  // One input value for a column that `split` reads.
  float Value(const SplitLevel& split, std::mt19937_64& generator) const {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    switch (values_) {
      case Values::kRandom:
        return normal(generator) * 2.0f;
      case Values::kBoundaries: {
        // x * scale + offset equal to a threshold T, T + 0.5 (a tie), T - 0.5, or T +- 1.
        const int node = static_cast<int>(generator() % 16);
        const float threshold = static_cast<float>(split.thresholds[node]);
        static const float kShifts[] = {0.0f, 0.5f, -0.5f, 1.0f, -1.0f, 1.5f, -1.5f};
        const float target = threshold + kShifts[generator() % 7];
        return (target - split.offset) / split.scale;  // exact: power-of-two scale
      }
      case Values::kNearTies: {
        // x*scale+offset rounds near T + 0.5 or T - 0.5 for a node's threshold T.
        const int node = static_cast<int>(generator() % 16);
        const double target = split.thresholds[node] + (generator() % 2 == 0 ? 0.5 : -0.5);
        float x = static_cast<float>((target - split.offset) / split.scale);
        const int steps = static_cast<int>(generator() % 7) - 3;
        for (int i = 0; i < std::abs(steps); ++i) {
          x = std::nextafter(x, steps > 0 ? std::numeric_limits<float>::infinity()
                                          : -std::numeric_limits<float>::infinity());
        }
        return x;
      }
      case Values::kSaturating: {
        // With the largest finite magnitude and the smallest subnormal: finite values whose
        // exponent fields are the largest and the smallest (the finiteness check must pass).
        static const float kHuge[] = {1e30f,
                                      -1e30f,
                                      3e38f,
                                      -3e38f,
                                      1e5f,
                                      -1e5f,
                                      0.0f,
                                      -0.0f,
                                      std::numeric_limits<float>::max(),
                                      -std::numeric_limits<float>::max(),
                                      std::numeric_limits<float>::denorm_min(),
                                      -std::numeric_limits<float>::denorm_min()};
        return kHuge[generator() % (sizeof(kHuge) / sizeof(kHuge[0]))];
      }
      default:
        return normal(generator) * 2.0f;
    }
  }

  MatrixView MakeInput(const Encoder& encoder, std::mt19937_64& generator,
                       std::vector<float>* storage) const {
    // Which split reads each column (for boundary values), the last one wins.
    std::vector<const SplitLevel*> reader(dim_, nullptr);
    for (const SplitLevel& split : encoder.splits) reader[split.dim] = &split;
    std::ptrdiff_t row_stride = 0;
    std::ptrdiff_t col_stride = 0;
    std::size_t size = 0;
    switch (layout_) {
      case Layout::kRowMajor:
        row_stride = static_cast<std::ptrdiff_t>(dim_ + padding_);
        col_stride = 1;
        size = rows_ * (dim_ + padding_);
        break;
      case Layout::kColMajor:
        row_stride = 1;
        col_stride = static_cast<std::ptrdiff_t>(rows_ + padding_);
        size = dim_ * (rows_ + padding_);
        break;
      case Layout::kStrided:
        row_stride = 2;
        col_stride = static_cast<std::ptrdiff_t>(2 * rows_ + 1);
        size = dim_ * (2 * rows_ + 1);
        break;
    }
    // Padding holds NaN: the kernels must not read it.
    storage->assign(size + 1, std::numeric_limits<float>::quiet_NaN());
    // Start one float past a 64-byte boundary: misaligned rows and columns.
    float* data = storage->data() + 1;
    for (std::size_t r = 0; r < rows_; ++r) {
      for (std::size_t c = 0; c < dim_; ++c) {
        const SplitLevel* split = reader[c];
        // Columns no split reads hold NaN too: the kernels must not read (or check) them.
        const float value =
            split != nullptr ? Value(*split, generator) : std::numeric_limits<float>::quiet_NaN();
        data[static_cast<std::ptrdiff_t>(r) * row_stride +
             static_cast<std::ptrdiff_t>(c) * col_stride] = value;
      }
    }
    return MatrixView{data, rows_, dim_, row_stride, col_stride};
  }

  void Compare(const std::string& target, const char* what, const std::uint8_t* expected,
               const std::uint8_t* actual, std::size_t size) const {
    for (std::size_t i = 0; i < size; ++i) {
      if (expected[i] != actual[i]) {
        const std::size_t block_bytes =
            static_cast<std::size_t>(CodePairs(codebooks_)) * kBlockRows;
        ADD_FAILURE() << "target " << target << ", encode " << what << ": N=" << rows_
                      << " D=" << dim_ << " C=" << codebooks_ << " " << Name(layout_)
                      << " (padding " << padding_ << ") values " << Name(values_) << " seed "
                      << seed_ << ": byte " << i << " (block " << i / block_bytes << ", pair "
                      << (i % block_bytes) / kBlockRows << ", row " << i % kBlockRows
                      << ") expected " << int{expected[i]} << " actual " << int{actual[i]};
        return;
      }
    }
  }

  std::size_t rows_ = 64;
  std::size_t dim_ = 32;
  int codebooks_ = 4;
  Layout layout_ = Layout::kRowMajor;
  std::size_t padding_ = 0;
  Values values_ = Values::kRandom;
  std::uint64_t seed_ = 1;
};

const std::size_t kRowCounts[] = {1, 31, 63, 64, 65, 1000 + 37};
const int kCodebookCounts[] = {1, 2, 3, 4, 5, 8, 15, 16, 17, 31, 32, 33, 64, 100, 256};

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

// Column-major A is encoded in runs of up to 16 blocks (fewer when the encoder reads many
// columns): every block range, whether it starts, ends or splits inside a run, must give the
// reference's bytes.
TEST(EncodeKernels, ColumnMajorRuns) {
  std::mt19937_64 generator(55);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  // (D, C): few columns (runs of 16 blocks), and 512 columns (runs of 2 blocks).
  const std::pair<std::size_t, int> kShapes[] = {{9, 1}, {27, 3}, {27, 16}, {600, 256}};
  const std::size_t kRows[] = {15 * 64, 16 * 64 + 5, 17 * 64, 33 * 64 + 1};
  ForEachTarget([&](const std::string& target) {
    for (const auto& [dim, codebooks] : kShapes) {
      Encoder encoder;
      encoder.input_dim = dim;
      encoder.num_codebooks = codebooks;
      encoder.splits.resize(static_cast<std::size_t>(codebooks) * kTreeDepth);
      for (std::size_t s = 0; s < encoder.splits.size(); ++s) {
        SplitLevel& split = encoder.splits[s];
        split.dim = static_cast<std::uint32_t>(dim > 512 ? s % 512 : generator() % dim);
        split.scale = 8.0f;
        for (std::int8_t& threshold : split.thresholds) {
          threshold = static_cast<std::int8_t>(static_cast<int>(generator() % 40) - 20);
        }
      }
      for (const std::size_t rows : kRows) {
        std::vector<float> data(rows * dim);
        for (float& value : data) value = normal(generator);
        const MatrixView view = MatrixView::ColMajor(data.data(), rows, dim);
        const std::size_t num_blocks = NumBlocks(rows);
        const std::size_t block_bytes = static_cast<std::size_t>(CodePairs(codebooks)) * kBlockRows;
        const std::pair<std::size_t, std::size_t> kRanges[] = {
            {0, num_blocks}, {1, num_blocks}, {3, 14}, {15, 17}, {14, num_blocks}, {2, 3}};
        for (const auto& [first, last] : kRanges) {
          if (last > num_blocks || first >= last) continue;
          std::vector<std::uint8_t> expected((last - first) * block_bytes);
          std::vector<std::uint8_t> actual((last - first) * block_bytes, 0xAB);
          EncodeRef(encoder, view, first, last, expected.data());
          EXPECT_TRUE(EncodeBlocks(encoder, view, first, last, actual.data()));
          EXPECT_EQ(expected, actual) << "target " << target << ", D=" << dim << " C=" << codebooks
                                      << " N=" << rows << ", blocks " << first << " to " << last;
        }
      }
    }
  });
}

// The encoder keeps per-thread constants for the last encoder and column stride it saw: the same
// encoder on two layouts, and an encoder changed in place, must still match the reference.
TEST(EncodeKernels, ReusedAndChangedEncoder) {
  std::mt19937_64 generator(77);
  const std::size_t rows = 300;
  const std::size_t dim = 40;
  Encoder encoder;
  encoder.input_dim = dim;
  encoder.num_codebooks = 5;
  encoder.splits.resize(5 * kTreeDepth);
  for (SplitLevel& split : encoder.splits) {
    split.dim = static_cast<std::uint32_t>(generator() % dim);
    split.scale = 8.0f;
    for (std::int8_t& threshold : split.thresholds) {
      threshold = static_cast<std::int8_t>(static_cast<int>(generator() % 40) - 20);
    }
  }
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> row_major(rows * dim);
  for (float& value : row_major) value = normal(generator);
  std::vector<float> col_major(rows * dim);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < dim; ++c) col_major[c * rows + r] = row_major[r * dim + c];
  }
  const MatrixView views[] = {MatrixView::RowMajor(row_major.data(), rows, dim),
                              MatrixView::ColMajor(col_major.data(), rows, dim)};
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
  Encoder encoder;
  encoder.input_dim = dim;
  encoder.num_codebooks = 5;
  encoder.splits.resize(5 * kTreeDepth);
  for (std::size_t s = 0; s < encoder.splits.size(); ++s) {
    SplitLevel& split = encoder.splits[s];
    split.dim = static_cast<std::uint32_t>(s + s / 3);  // columns 0..25, some unread
    split.scale = s == 6 ? -3.0f : 5.0f;                // one value-domain split
    for (std::int8_t& threshold : split.thresholds) {
      threshold = static_cast<std::int8_t>(static_cast<int>(generator() % 40) - 20);
    }
  }
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
        std::vector<float> data(rows * dim);
        for (std::size_t r = 0; r < rows; ++r) {
          for (std::size_t c = 0; c < dim; ++c) {
            data[col_major ? c * rows + r : r * dim + c] = values[r * dim + c];
          }
        }
        const MatrixView view = col_major ? MatrixView::ColMajor(data.data(), rows, dim)
                                          : MatrixView::RowMajor(data.data(), rows, dim);
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
  Encoder encoder;
  encoder.input_dim = dim;
  encoder.num_codebooks = 3;
  encoder.splits.resize(3 * kTreeDepth);
  for (std::size_t s = 0; s < encoder.splits.size(); ++s) {
    SplitLevel& split = encoder.splits[s];
    split.dim = static_cast<std::uint32_t>(s);
    split.scale = s == 5 ? -1e-37f : 1e-37f;  // values near +-1e38 quantize to about -+10
    for (std::int8_t& threshold : split.thresholds) {
      threshold = static_cast<std::int8_t>(static_cast<int>(generator() % 30) - 15);
    }
  }
  std::uniform_real_distribution<float> uniform(-3.0f,
                                                3.0f);  // times 1e38 (a wider range overflows)
  std::vector<float> values(rows * dim);
  for (float& value : values) value = uniform(generator) * 1e38f;
  values[5 * dim + 2] = std::numeric_limits<float>::max();
  values[7 * dim + 3] = -std::numeric_limits<float>::max();
  ForEachTarget([&](const std::string& target) {
    for (const bool col_major : {false, true}) {
      std::vector<float> data(rows * dim);
      for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t c = 0; c < dim; ++c) {
          data[col_major ? c * rows + r : r * dim + c] = values[r * dim + c];
        }
      }
      const MatrixView view = col_major ? MatrixView::ColMajor(data.data(), rows, dim)
                                        : MatrixView::RowMajor(data.data(), rows, dim);
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

// ------------------------------------------------------------------------------------------------
// Scan

enum class Tables { kRandom, kZero, kFull };

const char* Name(Tables tables) {
  switch (tables) {
    case Tables::kRandom:
      return "random";
    case Tables::kZero:
      return "all-0";
    default:
      return "all-255";
  }
}

class ScanTester {
 public:
  ScanTester& rows(std::size_t rows) {
    rows_ = rows;
    return *this;
  }
  ScanTester& codebooks(int codebooks) {
    codebooks_ = codebooks;
    return *this;
  }
  ScanTester& outputs(std::size_t outputs) {
    outputs_ = outputs;
    return *this;
  }
  ScanTester& aggregation(Aggregation aggregation) {
    aggregation_ = aggregation;
    return *this;
  }
  ScanTester& tables(Tables tables) {
    tables_ = tables;
    return *this;
  }
  // Extra elements at the end of each output row.
  ScanTester& stride_padding(std::size_t padding) {
    padding_ = padding;
    return *this;
  }
  ScanTester& seed(std::uint64_t seed) {
    seed_ = seed;
    return *this;
  }
  // Gives the kernels the pair tables (BuildPairTables) of the case's tables and scales.
  ScanTester& pair_tables(bool pair_tables) {
    pair_tables_ = pair_tables;
    return *this;
  }

  void Test() const {
    std::mt19937_64 generator(seed_);
    const std::size_t pairs = static_cast<std::size_t>(CodePairs(codebooks_));
    const std::size_t num_blocks = NumBlocks(rows_);
    // Codes: every value 0..15; the code after an odd C and rows past N are 0 (layout.h).
    // Codes and tables start one byte past a 64-byte boundary: misaligned loads.
    AlignedVector<std::uint8_t> codes_storage(PackedCodesBytes(rows_, codebooks_) + 1);
    std::uint8_t* codes = codes_storage.data() + 1;
    for (std::size_t b = 0; b < num_blocks; ++b) {
      for (std::size_t j = 0; j < pairs; ++j) {
        for (std::size_t r = 0; r < kBlockRows; ++r) {
          std::uint8_t byte = static_cast<std::uint8_t>(generator());
          if (2 * j + 1 == static_cast<std::size_t>(codebooks_)) byte &= 0x0F;
          if (b * kBlockRows + r >= rows_) byte = 0;
          codes[(b * pairs + j) * kBlockRows + r] = byte;
        }
      }
    }
    const std::size_t table_bytes = TableBytesPerOutput(codebooks_);
    AlignedVector<std::uint8_t> luts_storage(outputs_ * table_bytes + 1);
    std::uint8_t* luts = luts_storage.data() + 1;
    for (std::size_t m = 0; m < outputs_; ++m) {
      for (std::size_t i = 0; i < table_bytes; ++i) {
        std::uint8_t value = tables_ == Tables::kZero   ? 0
                             : tables_ == Tables::kFull ? 255
                                                        : static_cast<std::uint8_t>(generator());
        if (i >= static_cast<std::size_t>(codebooks_) * 16) value = 0;  // odd C: zero table
        luts[m * table_bytes + i] = value;
      }
    }
    std::vector<float> scale(outputs_);
    std::vector<float> offset(outputs_);
    std::uniform_real_distribution<float> uniform(-3.0f, 3.0f);
    for (std::size_t m = 0; m < outputs_; ++m) {
      scale[m] = uniform(generator);
      offset[m] = uniform(generator) * 100.0f;
    }
    ScanArgs args;
    args.packed_codes = codes;
    args.num_rows = rows_;
    args.num_codebooks = codebooks_;
    args.luts = luts;
    args.output_dim = outputs_;
    args.aggregation = aggregation_;
    maddness::detail::Tables pair;
    if (pair_tables_) {
      pair.output_dim = outputs_;
      pair.aggregation = aggregation_;
      pair.luts.assign(luts, luts + outputs_ * table_bytes);
      pair.out_scale = scale;
      pair.out_offset = offset;
      BuildPairTables(codebooks_, &pair);
      if (pair.pair_raw.empty()) {
        ADD_FAILURE() << Case("-", "pair tables") << ": BuildPairTables built none";
        return;
      }
      args.pair_raw = PairRaw(pair);
      args.pair_outputs = PairOutputs(pair);
    }

    const std::size_t stride = outputs_ + padding_;
    const std::size_t size = rows_ * stride + padding_ + 7;  // a tail the scan must not touch
    std::vector<std::uint16_t> raw_expected(size, 0xBEEF);
    ScanRef(args, 0, num_blocks, raw_expected.data(), stride);
    std::vector<float> float_expected(size, -12345.0f);
    ScanDequantizeRef(args, scale.data(), offset.data(), 0, num_blocks, float_expected.data(),
                      stride);
    ForEachTarget([&](const std::string& target) {
      std::vector<std::uint16_t> raw(size, 0xBEEF);
      ScanBlocks(args, 0, num_blocks, raw.data(), stride);
      CompareRaw(target, "raw, all blocks", raw_expected, raw, stride);
      std::vector<float> out(size, -12345.0f);
      ScanDequantizeBlocks(args, scale.data(), offset.data(), 0, num_blocks, out.data(), stride);
      CompareFloat(target, "f32, all blocks", float_expected, out, stride);
      if (num_blocks >= 3) {
        // Two calls, on [1, end) and then on [0, 1) (so that a write of the second call past
        // its rows would show), codes given from the first block of each range.
        std::vector<std::uint16_t> split_raw(size, 0xBEEF);
        ScanArgs rest = args;
        rest.packed_codes = codes + pairs * kBlockRows;
        ScanBlocks(rest, 1, num_blocks, split_raw.data(), stride);
        ScanBlocks(args, 0, 1, split_raw.data(), stride);
        CompareRaw(target, "raw, blocks [1, end) + [0, 1)", raw_expected, split_raw, stride);
        std::vector<float> split_out(size, -12345.0f);
        ScanDequantizeBlocks(rest, scale.data(), offset.data(), 1, num_blocks, split_out.data(),
                             stride);
        ScanDequantizeBlocks(args, scale.data(), offset.data(), 0, 1, split_out.data(), stride);
        CompareFloat(target, "f32, blocks [1, end) + [0, 1)", float_expected, split_out, stride);
      }
    });
    TestColumnMajor(args, scale, offset);
  }

  // The column-major scans (output m of row n at m * col_stride + n) against their references:
  // all blocks at once, and blocks [1, end) then [0, 1).
  void TestColumnMajor(const ScanArgs& args, const std::vector<float>& scale,
                       const std::vector<float>& offset) const {
    const std::size_t num_blocks = NumBlocks(rows_);
    const std::size_t pairs = static_cast<std::size_t>(CodePairs(codebooks_));
    const std::size_t col_stride = rows_ + padding_;
    const std::size_t size = outputs_ * col_stride + padding_ + 7;
    std::vector<std::uint16_t> raw_expected(size, 0xBEEF);
    ScanColumnsRef(args, 0, num_blocks, raw_expected.data(), col_stride);
    std::vector<float> float_expected(size, -12345.0f);
    ScanDequantizeColumnsRef(args, scale.data(), offset.data(), 0, num_blocks,
                             float_expected.data(), col_stride);
    ForEachTarget([&](const std::string& target) {
      std::vector<std::uint16_t> raw(size, 0xBEEF);
      ScanColumns(args, 0, num_blocks, raw.data(), col_stride);
      CompareRaw(target, "raw column-major, all blocks", raw_expected, raw, col_stride, true);
      std::vector<float> out(size, -12345.0f);
      ScanDequantizeColumns(args, scale.data(), offset.data(), 0, num_blocks, out.data(),
                            col_stride);
      CompareFloat(target, "f32 column-major, all blocks", float_expected, out, col_stride, true);
      if (args.aggregation == Aggregation::kAveraging && codebooks_ <= kMaxGroupSize) {
        // 8-bit raw sums: the low bytes of the 16-bit ones (which are below 256 here).
        std::vector<std::uint8_t> raw8(size, 0xA5);
        ScanColumns8(args, 0, num_blocks, raw8.data(), col_stride);
        std::vector<std::uint8_t> raw8_expected(size, 0xA5);
        ScanColumns8Ref(args, 0, num_blocks, raw8_expected.data(), col_stride);
        for (std::size_t i = 0; i < size; ++i) {
          const bool written = i < outputs_ * col_stride && i % col_stride < rows_;
          if (raw8_expected[i] != (written ? raw_expected[i] : 0xA5) ||
              raw8[i] != raw8_expected[i]) {
            ADD_FAILURE() << Case(target, "raw 8-bit column-major") << ": index " << i << " (row "
                          << i % col_stride << ", output " << i / col_stride << ") expected "
                          << int{raw8_expected[i]} << " (16-bit " << raw_expected[i] << ") actual "
                          << int{raw8[i]};
            break;
          }
        }
      }
      if (num_blocks >= 3) {
        ScanArgs rest = args;
        rest.packed_codes = args.packed_codes + pairs * kBlockRows;
        std::vector<std::uint16_t> split_raw(size, 0xBEEF);
        ScanColumns(rest, 1, num_blocks, split_raw.data(), col_stride);
        ScanColumns(args, 0, 1, split_raw.data(), col_stride);
        CompareRaw(target, "raw column-major, blocks [1, end) + [0, 1)", raw_expected, split_raw,
                   col_stride, true);
        std::vector<float> split_out(size, -12345.0f);
        ScanDequantizeColumns(rest, scale.data(), offset.data(), 1, num_blocks, split_out.data(),
                              col_stride);
        ScanDequantizeColumns(args, scale.data(), offset.data(), 0, 1, split_out.data(),
                              col_stride);
        CompareFloat(target, "f32 column-major, blocks [1, end) + [0, 1)", float_expected,
                     split_out, col_stride, true);
      }
    });
  }

 private:
  std::string Case(const std::string& target, const char* what) const {
    std::ostringstream text;
    text << "target " << target << ", scan " << what << ": N=" << rows_ << " C=" << codebooks_
         << " M=" << outputs_ << " "
         << (aggregation_ == Aggregation::kExactSum ? "exact-sum" : "averaging") << " tables "
         << Name(tables_) << " stride padding " << padding_ << " seed " << seed_
         << (pair_tables_ ? " with pair tables" : "");
    return text.str();
  }

  void CompareRaw(const std::string& target, const char* what,
                  const std::vector<std::uint16_t>& expected,
                  const std::vector<std::uint16_t>& actual, std::size_t stride,
                  bool col_major = false) const {
    for (std::size_t i = 0; i < expected.size(); ++i) {
      if (expected[i] != actual[i]) {
        ADD_FAILURE() << Case(target, what) << ": index " << i << " (row "
                      << (col_major ? i % stride : i / stride) << ", output "
                      << (col_major ? i / stride : i % stride) << ") expected " << expected[i]
                      << " actual " << actual[i];
        return;
      }
    }
  }

  void CompareFloat(const std::string& target, const char* what, const std::vector<float>& expected,
                    const std::vector<float>& actual, std::size_t stride,
                    bool col_major = false) const {
    for (std::size_t i = 0; i < expected.size(); ++i) {
      if (std::memcmp(&expected[i], &actual[i], sizeof(float)) != 0) {
        ADD_FAILURE() << Case(target, what) << ": index " << i << " (row "
                      << (col_major ? i % stride : i / stride) << ", output "
                      << (col_major ? i / stride : i % stride) << ") expected " << expected[i]
                      << " actual " << actual[i];
        return;
      }
    }
  }

  std::size_t rows_ = 64;
  int codebooks_ = 16;
  std::size_t outputs_ = 1;
  Aggregation aggregation_ = Aggregation::kAveraging;
  Tables tables_ = Tables::kRandom;
  bool pair_tables_ = false;
  std::size_t padding_ = 0;
  std::uint64_t seed_ = 1;
};

const std::size_t kOutputCounts[] = {1, 2, 3, 7, 16, 33};

TEST(ScanKernels, MatchReferenceOnEveryTarget) {
  std::uint64_t seed = 1000;
  for (const std::size_t rows : kRowCounts) {
    for (const int codebooks : kCodebookCounts) {
      for (const std::size_t outputs : kOutputCounts) {
        if (rows > 100 && codebooks * outputs > 64 * 16) continue;  // keeps the test quick
        for (const Aggregation aggregation : {Aggregation::kAveraging, Aggregation::kExactSum}) {
          ScanTester()
              .rows(rows)
              .codebooks(codebooks)
              .outputs(outputs)
              .aggregation(aggregation)
              .stride_padding(outputs % 2)
              .seed(++seed)
              .Test();
          if (HasFailure()) return;
        }
      }
    }
  }
}

TEST(ScanKernels, ExtremeTables) {
  for (const int codebooks : kCodebookCounts) {
    for (const Tables tables : {Tables::kZero, Tables::kFull}) {
      for (const Aggregation aggregation : {Aggregation::kAveraging, Aggregation::kExactSum}) {
        ScanTester()
            .rows(200)
            .codebooks(codebooks)
            .outputs(17)
            .aggregation(aggregation)
            .tables(tables)
            .stride_padding(5)
            .Test();
        if (HasFailure()) return;
      }
    }
  }
}

TEST(ScanKernels, LargeShapes) {
  ScanTester().rows(1000 + 11).codebooks(256).outputs(33).seed(3).Test();
  ScanTester()
      .rows(1000 + 11)
      .codebooks(256)
      .outputs(7)
      .aggregation(Aggregation::kExactSum)
      .seed(4)
      .Test();
  ScanTester().rows(4096 + 100).codebooks(16).outputs(100).seed(5).Test();
  ScanTester().rows(4096 + 100).codebooks(100).outputs(16).stride_padding(3).seed(6).Test();
}

// Outputs of at least ScanBudgets::stream_min_bytes with rows of exactly M values (M * 512 values
// within max_stream_buffer_bytes; 1 MiB and 256 KiB with a 2 MiB L2, scan_tuning.h) are assembled
// per chunk and written with streaming stores (scan_stream-inl.h, UseStreamingStores): raw and
// float, a partial last chunk, odd M (rows that start off vector alignment), the 8-bit and 16-bit
// stages, a partial output tile, and float streamed while raw is not.
TEST(ScanKernels, StreamedOutput) {
  ScanTester().rows(8192 + 37).codebooks(2).outputs(128).seed(21).Test();
  ScanTester()
      .rows(16384 + 3)
      .codebooks(1)
      .outputs(65)
      .aggregation(Aggregation::kExactSum)
      .seed(22)
      .Test();
  ScanTester().rows(2048 + 5).codebooks(16).outputs(128).seed(23).Test();
  // Ordinary stores at the same sizes: a row stride other than M, and (float only) M > 128.
  ScanTester().rows(8192 + 37).codebooks(1).outputs(128).stride_padding(1).seed(24).Test();
  ScanTester().rows(5000 + 3).codebooks(1).outputs(210).seed(25).Test();
}

// Rows of exactly M values with small M go through the compact output (scan_compact-inl.h,
// UseCompactOutput: float32 for M < 32 not a multiple of kRowFloatLanes, 8 on AVX2 and
// AVX-512; raw for M < 16): the sums of a chunk are gathered into rows M apart and converted as
// one flat array. Sweeps M on both sides of those limits, every stage (8-bit root, 16-bit roots,
// exact sum), partial blocks and chunks, and (last) outputs large enough for streaming stores.
TEST(ScanKernels, CompactOutput) {
  std::uint64_t seed = 3000;
  for (const std::size_t rows : {1, 31, 63, 65, 511, 513, 1000 + 37}) {
    for (const int codebooks : {1, 2, 3, 8, 16, 17, 33}) {
      for (const std::size_t outputs : {1, 3, 5, 7, 8, 10, 14, 15, 17, 20, 24, 28, 31, 33, 67}) {
        if (rows > 100 && codebooks > 16 && outputs > 10) continue;  // keeps the test quick
        for (const Aggregation aggregation : {Aggregation::kAveraging, Aggregation::kExactSum}) {
          ScanTester()
              .rows(rows)
              .codebooks(codebooks)
              .outputs(outputs)
              .aggregation(aggregation)
              .seed(++seed)
              .Test();
          if (HasFailure()) return;
        }
      }
    }
  }
  ScanTester().rows(50000 + 7).codebooks(2).outputs(5).seed(++seed).Test();
  // Streamed, with the scales and offsets of a cycle in registers (cycles of 5 and 7 vectors).
  ScanTester().rows(30000 + 13).codebooks(2).outputs(10).seed(++seed).Test();
  ScanTester().rows(40000 + 3).codebooks(16).outputs(7).seed(++seed).Test();
  ScanTester()
      .rows(40000 + 9)
      .codebooks(17)
      .outputs(15)
      .aggregation(Aggregation::kExactSum)
      .seed(++seed)
      .Test();
}

// With C <= 2 the model gives the scan pair tables (lut.h, BuildPairTables), and the SIMD scans
// copy each row's outputs from them: M on both sides of the vector widths (rows shorter than a
// vector: one vector per row past which the next rows write, value by value in the last rows of
// a call, and with a row stride above M 128-bit vectors or values), every aggregation, extreme
// tables, and
// sub-ranges of blocks (the split [1, end) + [0, 1) puts a call's last rows mid-output).
TEST(ScanKernels, PairTables) {
  std::uint64_t seed = 5000;
  for (const std::size_t rows : {1, 2, 63, 65, 200, 1000 + 3}) {
    for (const int codebooks : {1, 2}) {
      for (const std::size_t outputs :
           {1, 2, 3, 4, 5, 7, 8, 9, 10, 15, 16, 17, 24, 31, 32, 33, 67, 256}) {
        for (const std::size_t padding : {0, 3}) {
          for (const Aggregation aggregation : {Aggregation::kAveraging, Aggregation::kExactSum}) {
            ScanTester()
                .rows(rows)
                .codebooks(codebooks)
                .outputs(outputs)
                .aggregation(aggregation)
                .stride_padding(padding)
                .pair_tables(true)
                .seed(++seed)
                .Test();
            if (HasFailure()) return;
          }
        }
      }
    }
  }
  for (const Tables tables : {Tables::kZero, Tables::kFull}) {
    ScanTester().rows(300).codebooks(2).outputs(10).tables(tables).pair_tables(true).Test();
  }
  // An output large enough to be streamed: the scan does so without the pair tables.
  ScanTester().rows(30000 + 13).codebooks(2).outputs(10).pair_tables(true).seed(++seed).Test();
}

// ------------------------------------------------------------------------------------------------
// Targets

TEST(SimdTargets, NamesAndDispatch) {
  const std::vector<std::string> compiled = CompiledTargets();
  ASSERT_FALSE(compiled.empty());
  EXPECT_TRUE(compiled.back() == "SCALAR" || compiled.back() == "EMU128") << compiled.back();
  const std::string running = SimdTarget();
  bool found = false;
  for (const std::string& name : compiled) found = found || name == running;
  EXPECT_TRUE(found) << running;
  // Without MADDNESS_TARGET, the best target this CPU runs.
  const char* forced = std::getenv("MADDNESS_TARGET");
  if (forced == nullptr || *forced == '\0') {
    EXPECT_EQ(running, SimdTargetName(RunnableSimdTargets().front()));
  }
  EXPECT_EQ(ParseSimdTargetName("reference"), ParseSimdTargetName("SCALAR"));
  EXPECT_EQ(ParseSimdTargetName("avx2"), ParseSimdTargetName("AVX2"));
  try {
    ParseSimdTargetName("AVX9000");
    ADD_FAILURE() << "no error for an unknown target";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("AVX9000"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("AVX2"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace maddness::detail
