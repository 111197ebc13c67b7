// Determinism: the same inputs, options and seed give bit-identical serialized models, outputs
// and codes on repeated runs, for any thread count (1, 2, 3) and on every SIMD target compiled
// into the library that this CPU runs (forced as in tests/testers/kernel_testers.cc).
#include <gtest/gtest.h>
#include <hwy/targets.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "maddness/maddness.h"
#include "src/common/targets.h"
#include "tests/test_util.h"

namespace maddness {
namespace {

struct Outcome {
  std::vector<std::uint8_t> model;
  std::vector<float> output;
  std::vector<std::uint8_t> codes;
};

struct Case {
  const char* name;
  Variant variant;
  Objective objective;
  Aggregation aggregation;
  TableScale table_scale;
  std::size_t max_train_rows;
};

class Determinism : public ::testing::TestWithParam<Case> {
 protected:
  static constexpr std::size_t kTrainRows = 1000, kRows = 333, kDim = 24, kOutputs = 5;

  Outcome LearnAndApply(int threads) const {
    const Case& c = GetParam();
    LearnOptions options;
    options.num_codebooks = 8;
    options.variant = c.variant;
    options.objective = c.objective;
    options.aggregation = c.aggregation;
    options.table_scale = c.table_scale;
    options.max_train_rows = c.max_train_rows;
    options.seed = 1234;
    options.threads = threads;
    const MatrixView b = MatrixView::RowMajor(b_.data(), kDim, kOutputs);
    const Model model =
        Model::Learn(MatrixView::RowMajor(a_train_.data(), kTrainRows, kDim), &b, options);
    ApplyOptions apply_options;
    apply_options.threads = threads;
    const MatrixView a = MatrixView::RowMajor(a_.data(), kRows, kDim);
    return Outcome{model.Serialize(), model.Apply(a, apply_options),
                   model.Encode(a, apply_options)};
  }

  static void ExpectSame(const Outcome& expected, const Outcome& actual, const std::string& what) {
    EXPECT_EQ(expected.model, actual.model) << what << ": the serialized models differ";
    ASSERT_EQ(expected.output.size(), actual.output.size()) << what;
    EXPECT_EQ(std::memcmp(expected.output.data(), actual.output.data(),
                          expected.output.size() * sizeof(float)),
              0)
        << what << ": the outputs differ";
    EXPECT_EQ(expected.codes, actual.codes) << what << ": the codes differ";
  }

  const std::vector<float> a_train_ = testing::ClusteredMatrix(kTrainRows, kDim, 21);
  const std::vector<float> a_ = testing::ClusteredMatrix(kRows, kDim, 22);
  const std::vector<float> b_ = testing::RandomMatrix(kDim, kOutputs, 23);
};

TEST_P(Determinism, SameBitsForEveryThreadCountAndTarget) {
  // The targets to force; with MADDNESS_TARGET set, only that one (it already restricts dispatch).
  const char* forced = std::getenv("MADDNESS_TARGET");
  const bool force_each = forced == nullptr || *forced == '\0';
  const std::vector<std::int64_t> targets =
      force_each ? detail::RunnableSimdTargets() : std::vector<std::int64_t>{0};
  ASSERT_FALSE(targets.empty());

  const Outcome reference = LearnAndApply(1);
  ExpectSame(reference, LearnAndApply(1), "a second run, 1 thread");
  for (const std::int64_t target : targets) {
    if (force_each) hwy::SetSupportedTargetsForTest(target);
    const std::string name = force_each ? detail::SimdTargetName(target) : std::string(forced);
    for (const int threads : {1, 2, 3}) {
      ExpectSame(reference, LearnAndApply(threads),
                 "target " + name + ", " + std::to_string(threads) + " threads");
    }
    if (force_each) hwy::SetSupportedTargetsForTest(0);
  }
}

// With C = 2 the scan copies rows from the pair tables (lut.h); with several threads each task
// (4096 rows) writes only its own rows, also when a row's vector runs into the next row (M = 5,
// 6: shorter than a vector) and the next row is another task's. Every thread count gives the
// outputs of one thread, which are ScanPacked's on the codes.
TEST(DeterminismPairTables, SameOutputsForEveryThreadCount) {
  constexpr std::size_t kTrainRows = 1000, kRows = 3 * 4096 + 77, kDim = 24;
  const std::vector<float> a_train = testing::ClusteredMatrix(kTrainRows, kDim, 31);
  const std::vector<float> a_values = testing::ClusteredMatrix(kRows, kDim, 32);
  const MatrixView a = MatrixView::RowMajor(a_values.data(), kRows, kDim);
  for (const std::size_t outputs : {5, 6, 10}) {
    const std::vector<float> b_values = testing::RandomMatrix(kDim, outputs, 33);
    const MatrixView b = MatrixView::RowMajor(b_values.data(), kDim, outputs);
    LearnOptions options;
    options.num_codebooks = 2;
    options.threads = 1;
    const Model model =
        Model::Learn(MatrixView::RowMajor(a_train.data(), kTrainRows, kDim), &b, options);
    ApplyOptions one;
    one.threads = 1;
    const std::vector<float> reference = model.Apply(a, one);
    const std::vector<std::uint8_t> packed = model.EncodePacked(a, one);
    std::vector<float> scanned(kRows * outputs);
    model.ScanPacked(packed.data(), packed.size(), kRows, scanned.data(), outputs, one);
    EXPECT_EQ(std::memcmp(reference.data(), scanned.data(), reference.size() * sizeof(float)), 0)
        << "M = " << outputs;
    for (const int threads : {2, 3}) {
      ApplyOptions apply_options;
      apply_options.threads = threads;
      const std::vector<float> output = model.Apply(a, apply_options);
      ASSERT_EQ(output.size(), reference.size());
      EXPECT_EQ(std::memcmp(reference.data(), output.data(), reference.size() * sizeof(float)), 0)
          << "M = " << outputs << ", " << threads << " threads";
    }
  }
}

// A different seed with row sampling must change the model: the comparison above can fail.
TEST(DeterminismSeed, TheSeedMatters) {
  const std::vector<float> a_train = testing::ClusteredMatrix(1500, 24, 21);
  LearnOptions options;
  options.num_codebooks = 8;
  options.max_train_rows = 400;
  options.threads = 1;
  const MatrixView a = MatrixView::RowMajor(a_train.data(), 1500, 24);
  options.seed = 1;
  const std::vector<std::uint8_t> first = Model::Learn(a, nullptr, options).Serialize();
  options.seed = 2;
  EXPECT_NE(first, Model::Learn(a, nullptr, options).Serialize());
}

INSTANTIATE_TEST_SUITE_P(
    Options, Determinism,
    ::testing::Values(Case{"maddness_averaging", Variant::kMaddness, Objective::kInput,
                           Aggregation::kAveraging, TableScale::kGlobal, 0},
                      Case{"pq_exact_per_output_sampled", Variant::kPq, Objective::kInput,
                           Aggregation::kExactSum, TableScale::kPerOutput, 700},
                      Case{"product_objective", Variant::kMaddness, Objective::kProduct,
                           Aggregation::kAveraging, TableScale::kPerOutput, 0}),
    [](const ::testing::TestParamInfo<Case>& param_info) {
      return std::string(param_info.param.name);
    });

}  // namespace
}  // namespace maddness
