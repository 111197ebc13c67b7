// Bolt's SIMD encoder (bench/experiment/baselines/bolt_encode.h) against its scalar reference, bit
// for bit, on every SIMD target compiled in that this CPU runs (or the one MADDNESS_TARGET
// forces: bench/experiment/CMakeLists.txt runs these tests once per target name that way).
#include "bench/experiment/baselines/bolt_encode.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "src/common/aligned.h"
#include "src/common/layout.h"
#include "src/common/targets.h"
#include "tests/testers/kernel_testers.h"

namespace maddness::baselines {
namespace {

using detail::AlignedVector;
using detail::kBlockRows;

// Whether MADDNESS_TARGET names a target this CPU cannot run (then the tests are skipped; the
// library's forced_target tests check the refusal itself).
bool ForcedTargetUnavailable() {
  const char* forced = std::getenv("MADDNESS_TARGET");
  if (forced == nullptr || *forced == '\0') return false;
  const std::int64_t target = detail::ParseSimdTargetName(forced);
  for (const std::int64_t runnable : detail::RunnableSimdTargets()) {
    if (runnable == target) return false;
  }
  return true;
}

// How the values of A and of the codebooks are drawn.
enum class Values {
  kRandom,   // Gaussian A, Gaussian centroids
  kTies,     // small integers in A and in the centroids, duplicated centroids: many equal scores
  kLarge,    // values near 1e19 and beyond: products and sums overflow to infinity
  kSmall,    // values near 1e-20: products underflow to subnormals and zero
  kSpecial,  // Gaussian, with some NaN, +-infinity and -0 in A and NaN or infinite norms
};

const char* Name(Values values) {
  switch (values) {
    case Values::kRandom:
      return "random";
    case Values::kTies:
      return "ties";
    case Values::kLarge:
      return "large";
    case Values::kSmall:
      return "small";
    case Values::kSpecial:
      return "special";
  }
  return "?";
}

enum class Layout { kRowMajor, kColMajor, kRowStrided, kColStrided };

const char* Name(Layout layout) {
  switch (layout) {
    case Layout::kRowMajor:
      return "row-major";
    case Layout::kColMajor:
      return "column-major";
    case Layout::kRowStrided:
      return "row-major, padded rows";
    case Layout::kColStrided:
      return "column-major, padded columns";
  }
  return "?";
}

float Draw(Values values, std::mt19937_64& generator) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  switch (values) {
    case Values::kRandom:
      return normal(generator);
    case Values::kTies:
      return static_cast<float>(static_cast<int>(generator() % 5) - 2);
    case Values::kLarge:
      return 3e19f * normal(generator);
    case Values::kSmall:
      return 1e-20f * normal(generator);
    case Values::kSpecial: {
      const std::uint64_t pick = generator() % 40;
      if (pick == 0) return std::numeric_limits<float>::quiet_NaN();
      if (pick == 1) return std::numeric_limits<float>::infinity();
      if (pick == 2) return -std::numeric_limits<float>::infinity();
      if (pick == 3) return -0.0f;
      return normal(generator);
    }
  }
  return 0.0f;
}

// Codebooks over `dim` columns cut as the Bolt method cuts them (begin[c] = c * D / C).
BoltCodebooks MakeCodebooks(std::size_t dim, int num_codebooks, Values values,
                            std::mt19937_64& generator) {
  const auto codebooks = static_cast<std::size_t>(num_codebooks);
  BoltCodebooks out;
  out.begin.resize(codebooks + 1);
  for (std::size_t c = 0; c <= codebooks; ++c) out.begin[c] = c * dim / codebooks;
  out.centroids.resize(dim * kBoltCentroids);
  for (float& value : out.centroids) value = Draw(values, generator);
  out.norms.assign(codebooks * kBoltCentroids, 0.0f);
  for (std::size_t c = 0; c < codebooks; ++c) {
    if (values == Values::kTies) {
      // Centroid 9 repeats centroid 3, and 15 repeats 0: equal scores for every row.
      for (std::size_t j = out.begin[c]; j < out.begin[c + 1]; ++j) {
        out.centroids[j * kBoltCentroids + 9] = out.centroids[j * kBoltCentroids + 3];
        out.centroids[j * kBoltCentroids + 15] = out.centroids[j * kBoltCentroids];
      }
    }
    for (std::size_t j = out.begin[c]; j < out.begin[c + 1]; ++j) {
      for (int k = 0; k < kBoltCentroids; ++k) {
        const float value = out.centroids[j * kBoltCentroids + static_cast<std::size_t>(k)];
        out.norms[c * kBoltCentroids + static_cast<std::size_t>(k)] += value * value;
      }
    }
  }
  if (values == Values::kSpecial) {
    out.norms[0] = std::numeric_limits<float>::quiet_NaN();
    out.norms[out.norms.size() - 11] = std::numeric_limits<float>::infinity();
  }
  return out;
}

// Rows x dim values laid out as asked, in `storage`, and their view.
MatrixView MakeInput(std::size_t rows, std::size_t dim, Layout layout, Values values,
                     std::mt19937_64& generator, std::vector<float>* storage) {
  const std::size_t padding = 3;
  const bool col_major = layout == Layout::kColMajor || layout == Layout::kColStrided;
  const bool padded = layout == Layout::kRowStrided || layout == Layout::kColStrided;
  const std::size_t stride = (col_major ? rows : dim) + (padded ? padding : 0);
  // One element in front: the data does not start on a 64-byte boundary.
  storage->assign(1 + stride * (col_major ? dim : rows) + 1, 0.0f);
  float* data = storage->data() + 1;
  for (float& value : *storage) value = Draw(values, generator);
  const auto s = static_cast<std::ptrdiff_t>(stride);
  return col_major ? MatrixView::ColMajor(data, rows, dim, s)
                   : MatrixView::RowMajor(data, rows, dim, s);
}

// Encodes blocks [first, last) with both encoders on every target and compares the bytes.
void Compare(const BoltCodebooks& codebooks, const MatrixView& a, std::size_t first,
             std::size_t last, const std::string& what) {
  const std::size_t bytes = (last - first) * detail::PackedBlockBytes(codebooks.num_codebooks());
  std::vector<std::uint8_t> expected(bytes);
  BoltEncodeRef(codebooks, a, first, last, expected.data());
  detail::testers::ForEachTarget([&](const std::string& target) {
    ASSERT_EQ(detail::SimdTargetName(BoltEncodeTarget()), target);
    // Output one byte past a 64-byte boundary, prefilled with garbage.
    AlignedVector<std::uint8_t> storage(bytes + 1, 0xA5);
    BoltEncode(codebooks, a, first, last, storage.data() + 1);
    for (std::size_t i = 0; i < bytes; ++i) {
      if (storage[i + 1] != expected[i]) {
        ADD_FAILURE() << "target " << target << ", " << what << ": byte " << i << " (block "
                      << first + i / detail::PackedBlockBytes(codebooks.num_codebooks())
                      << ") is 0x" << std::hex << int{storage[i + 1]} << ", expected 0x"
                      << int{expected[i]};
        return;
      }
    }
  });
}

TEST(BoltEncodeTest, NearestCentroidIsTheNearestWithLowestIndexOnTies) {
  std::mt19937_64 generator(1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  constexpr std::size_t kWidth = 5;
  std::vector<float> centroids(kWidth * kBoltCentroids);
  for (float& value : centroids) value = 4.0f * normal(generator);
  std::vector<float> norms(kBoltCentroids, 0.0f);
  for (std::size_t j = 0; j < kWidth; ++j) {
    for (std::size_t k = 0; k < kBoltCentroids; ++k) {
      norms[k] += centroids[j * kBoltCentroids + k] * centroids[j * kBoltCentroids + k];
    }
  }
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<float> x(kWidth);
    for (float& value : x) value = 4.0f * normal(generator);
    std::vector<double> distance(kBoltCentroids, 0.0);
    for (std::size_t k = 0; k < kBoltCentroids; ++k) {
      for (std::size_t j = 0; j < kWidth; ++j) {
        const double diff = static_cast<double>(x[j]) - centroids[j * kBoltCentroids + k];
        distance[k] += diff * diff;
      }
    }
    const int code = BoltNearestCentroid(x.data(), 1, kWidth, centroids.data(), norms.data());
    double others = INFINITY;
    for (std::size_t k = 0; k < kBoltCentroids; ++k) {
      if (k != static_cast<std::size_t>(code)) others = std::min(others, distance[k]);
    }
    // Nearest, unless the runner-up is within float rounding.
    EXPECT_LE(distance[static_cast<std::size_t>(code)], others + 1e-3) << "trial " << trial;
  }
  // Centroids 4 and 11 equal to x: both at distance 0, the lower index wins.
  std::vector<float> x = {1.0f, -2.0f, 0.5f, 3.0f, 0.0f};
  for (std::size_t j = 0; j < kWidth; ++j) {
    centroids[j * kBoltCentroids + 4] = x[j];
    centroids[j * kBoltCentroids + 11] = x[j];
  }
  norms.assign(kBoltCentroids, 0.0f);
  for (std::size_t j = 0; j < kWidth; ++j) {
    for (std::size_t k = 0; k < kBoltCentroids; ++k) {
      norms[k] += centroids[j * kBoltCentroids + k] * centroids[j * kBoltCentroids + k];
    }
  }
  EXPECT_EQ(BoltNearestCentroid(x.data(), 1, kWidth, centroids.data(), norms.data()), 4);
  // A strided x (every other value) reads the same row.
  std::vector<float> strided(2 * kWidth, NAN);
  for (std::size_t j = 0; j < kWidth; ++j) strided[2 * j] = x[j];
  EXPECT_EQ(BoltNearestCentroid(strided.data(), 2, kWidth, centroids.data(), norms.data()), 4);
}

TEST(BoltEncodeTest, ForcedTargetIsTheOneThatRuns) {
  if (ForcedTargetUnavailable()) GTEST_SKIP() << "this CPU cannot run MADDNESS_TARGET's target";
  const char* forced = std::getenv("MADDNESS_TARGET");
  if (forced != nullptr && *forced != '\0') {
    EXPECT_EQ(BoltEncodeTarget(), detail::ParseSimdTargetName(forced));
  }
  // The same dispatch as the library's kernels, forced or not.
  EXPECT_EQ(BoltEncodeTarget(), detail::EncodeKernelTarget());
}

TEST(BoltEncodeTest, MatchesReferenceOnEveryTarget) {
  if (ForcedTargetUnavailable()) GTEST_SKIP() << "this CPU cannot run MADDNESS_TARGET's target";
  // (D, C): one column; C = D; D not a multiple of C or of any vector width; the suite's shapes.
  const std::pair<std::size_t, int> kShapes[] = {{1, 1},  {5, 2},  {7, 3},   {17, 16},
                                                 {27, 9}, {33, 5}, {64, 64}, {100, 7}};
  const std::size_t kRows[] = {1, 15, 17, 63, 64, 65, 200};
  std::uint64_t seed = 10;
  for (const auto& [dim, codebooks] : kShapes) {
    for (const Values values :
         {Values::kRandom, Values::kTies, Values::kLarge, Values::kSmall, Values::kSpecial}) {
      std::mt19937_64 generator(++seed);
      const BoltCodebooks encoder = MakeCodebooks(dim, codebooks, values, generator);
      for (const std::size_t rows : kRows) {
        for (const Layout layout :
             {Layout::kRowMajor, Layout::kColMajor, Layout::kRowStrided, Layout::kColStrided}) {
          std::vector<float> storage;
          const MatrixView a = MakeInput(rows, dim, layout, values, generator, &storage);
          Compare(encoder, a, 0, detail::NumBlocks(rows),
                  "D=" + std::to_string(dim) + " C=" + std::to_string(codebooks) +
                      " N=" + std::to_string(rows) + ", " + Name(values) + ", " + Name(layout));
        }
      }
    }
  }
}

TEST(BoltEncodeTest, MatchesReferenceOnBlockRanges) {
  if (ForcedTargetUnavailable()) GTEST_SKIP() << "this CPU cannot run MADDNESS_TARGET's target";
  // A call encodes a range of blocks (the suite's tasks of 64 blocks), the last one partial or
  // not; column-major A is read in place up to its last full block.
  std::mt19937_64 generator(3);
  const BoltCodebooks encoder = MakeCodebooks(50, 12, Values::kRandom, generator);
  // 2500 rows: column-major A in runs of 16 blocks, the last one short.
  for (const std::size_t rows :
       {std::size_t{10 * kBlockRows}, 10 * kBlockRows + 37, std::size_t{2500}}) {
    const std::size_t blocks = detail::NumBlocks(rows);
    for (const Layout layout : {Layout::kRowMajor, Layout::kColMajor, Layout::kColStrided}) {
      std::vector<float> storage;
      const MatrixView a = MakeInput(rows, 50, layout, Values::kRandom, generator, &storage);
      const std::pair<std::size_t, std::size_t> kRanges[] = {
          {0, blocks}, {1, blocks}, {3, 7}, {9, blocks}, {blocks - 1, blocks}, {2, 3}, {5, 38}};
      for (const auto& [first, last] : kRanges) {
        if (last > blocks) continue;
        Compare(encoder, a, first, last,
                "N=" + std::to_string(rows) + ", " + Name(layout) + ", blocks " +
                    std::to_string(first) + " to " + std::to_string(last));
      }
    }
  }
}

TEST(BoltEncodeTest, RejectsAnInputOfTheWrongWidth) {
  std::mt19937_64 generator(4);
  const BoltCodebooks encoder = MakeCodebooks(12, 3, Values::kRandom, generator);
  std::vector<float> a(13 * 64, 0.0f);
  std::vector<std::uint8_t> packed(2 * kBlockRows);
  try {
    BoltEncode(encoder, MatrixView::RowMajor(a.data(), 64, 13), 0, 1, packed.data());
    FAIL() << "no error for 13 columns";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("13 columns"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace maddness::baselines
