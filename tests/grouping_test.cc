// Column grouping (ColumnGrouping::kSearch) and the objective choice (Objective::kAuto).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include "maddness/maddness.h"
#include "src/api/model_access.h"
#include "src/common/model_data.h"
#include "src/encode/encode.h"
#include "src/train/grouping.h"
#include "src/train/train.h"
#include "tests/test_util.h"

namespace maddness {
namespace {

bool IsPermutation(const std::vector<std::uint32_t>& order, std::size_t size) {
  std::vector<std::uint32_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::uint32_t> identity(size);
  std::iota(identity.begin(), identity.end(), 0u);
  return sorted == identity;
}

TEST(Grouping, CandidateOrdersAreDistinctPermutationsStartingWithTheIdentity) {
  const auto orders = detail::CandidateColumnOrders(27, 6, 0);
  ASSERT_EQ(orders.size(), 6u);
  std::set<std::vector<std::uint32_t>> distinct;
  for (const auto& order : orders) {
    EXPECT_TRUE(IsPermutation(order, 27));
    distinct.insert(order);
  }
  EXPECT_EQ(distinct.size(), orders.size());
  std::vector<std::uint32_t> identity(27);
  std::iota(identity.begin(), identity.end(), 0u);
  EXPECT_EQ(orders[0], identity);
  // A 3x3 RGB patch stored pixel by pixel (27 = 9 x 3), read channel by channel.
  const std::vector<std::uint32_t> channels = {0, 3, 6, 9,  12, 15, 18, 21, 24,
                                               1, 4, 7, 10, 13, 16, 19, 22, 25,
                                               2, 5, 8, 11, 14, 17, 20, 23, 26};
  EXPECT_EQ(orders[1], channels);
  // Deterministic for a seed; the random candidates change with it.
  EXPECT_EQ(detail::CandidateColumnOrders(27, 6, 0), orders);
  EXPECT_NE(detail::CandidateColumnOrders(27, 6, 1).back(), orders.back());
  // A prime D has no transposes; one candidate is just the identity.
  EXPECT_EQ(detail::CandidateColumnOrders(7, 3, 0).size(), 3u);
  const std::vector<std::uint32_t> seven = {0, 1, 2, 3, 4, 5, 6};
  const auto only = detail::CandidateColumnOrders(7, 1, 0);
  ASSERT_EQ(only.size(), 1u);
  EXPECT_EQ(only[0], seven);
}

TEST(Grouping, UnpermutedEncoderEncodesTheOriginalColumnsLikeThePermutedOnes) {
  const std::size_t rows = 500;
  const std::size_t dim = 6;
  const std::vector<float> a = testing::ClusteredMatrix(rows, dim, 3);
  const std::vector<std::uint32_t> order = {4, 1, 5, 0, 3, 2};
  std::vector<float> permuted(a.size());
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t j = 0; j < dim; ++j) permuted[r * dim + j] = a[r * dim + order[j]];
  }
  LearnOptions options;
  options.num_codebooks = 3;
  options.column_grouping = ColumnGrouping::kContiguous;
  options.objective = Objective::kInput;
  const Model model =
      Model::Learn(MatrixView::RowMajor(permuted.data(), rows, dim), nullptr, options);
  detail::Encoder renamed = detail::ModelDataOf(model).encoder;
  detail::UnpermuteEncoder(order, &renamed);
  EXPECT_EQ(renamed.columns, order);
  const std::vector<int> owner = detail::ColumnOwners(renamed);
  for (int c = 0; c < 3; ++c) {
    for (int level = 0; level < kTreeDepth; ++level) {
      EXPECT_EQ(owner[renamed.splits[static_cast<std::size_t>(c * kTreeDepth + level)].dim], c);
    }
  }
  const MatrixView original = MatrixView::RowMajor(a.data(), rows, dim);
  const MatrixView moved = MatrixView::RowMajor(permuted.data(), rows, dim);
  for (std::size_t r = 0; r < rows; ++r) {
    for (int c = 0; c < 3; ++c) {
      ASSERT_EQ(detail::EncodeRowRef(renamed, original, r, c),
                detail::EncodeRowRef(detail::ModelDataOf(model).encoder, moved, r, c));
    }
  }
  for (std::size_t p = 0; p < 3 * 16; ++p) {
    for (std::size_t i = 0; i < dim; ++i) {
      EXPECT_EQ(renamed.prototypes[p * dim + order[i]],
                detail::ModelDataOf(model).encoder.prototypes[p * dim + i]);
    }
  }
}

// x0..x3 and, after them, exact copies x0'..x3' (D = 8, C = 4). Contiguous codebooks own
// (x0, x1), (x2, x3), (x0', x1'), (x2', x3'): each variable gets about two bits of splits. The
// transpose 0, 4, 1, 5, 2, 6, 3, 7 gives each codebook one variable and its copy: four bits each.
struct CopiedColumns {
  std::size_t rows = 4000;
  std::size_t dim = 8;
  std::size_t outputs = 3;
  std::vector<float> a;
  std::vector<float> b;

  explicit CopiedColumns(std::uint64_t seed) : a(rows * dim), b(dim * outputs, 0.0f) {
    std::mt19937_64 generator(seed);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t j = 0; j < 4; ++j) {
        a[r * dim + j] = a[r * dim + j + 4] = uniform(generator);
      }
    }
    for (std::size_t j = 0; j < 4; ++j) {
      for (std::size_t m = 0; m < outputs; ++m) b[j * outputs + m] = uniform(generator);
    }
  }
  MatrixView A() const { return MatrixView::RowMajor(a.data(), rows, dim); }
  MatrixView B() const { return MatrixView::RowMajor(b.data(), dim, outputs); }
  double Nmse(const Model& model) const {
    return testing::Nmse(testing::ExactProduct(a, b, rows, dim, outputs), model.Apply(A()));
  }
};

TEST(Grouping, SearchFindsTheOrderThatKeepsCopiesTogether) {
  const CopiedColumns data(5);
  const MatrixView b = data.B();
  LearnOptions options;
  options.num_codebooks = 4;
  const Model searched = Model::Learn(data.A(), &b, options);
  EXPECT_EQ(detail::ModelDataOf(searched).encoder.columns,
            (std::vector<std::uint32_t>{0, 4, 1, 5, 2, 6, 3, 7}));
  options.column_grouping = ColumnGrouping::kContiguous;
  const Model contiguous = Model::Learn(data.A(), &b, options);
  EXPECT_TRUE(detail::ModelDataOf(contiguous).encoder.columns.empty());
  EXPECT_LT(data.Nmse(searched), 0.5 * data.Nmse(contiguous));

  // The order survives the model file, and the outputs with it.
  const std::vector<std::uint8_t> bytes = searched.Serialize();
  const Model loaded = Model::Deserialize(bytes.data(), bytes.size());
  EXPECT_EQ(detail::ModelDataOf(loaded).encoder.columns,
            detail::ModelDataOf(searched).encoder.columns);
  EXPECT_EQ(loaded.Apply(data.A()), searched.Apply(data.A()));
}

TEST(Grouping, SearchAndAutoObjectiveAreDeterministicForAnyThreadCount) {
  const CopiedColumns data(9);
  const MatrixView b = data.B();
  LearnOptions options;
  options.num_codebooks = 4;
  options.threads = 1;
  const std::vector<std::uint8_t> one = Model::Learn(data.A(), &b, options).Serialize();
  options.threads = 3;
  EXPECT_EQ(Model::Learn(data.A(), &b, options).Serialize(), one);
  EXPECT_EQ(Model::Learn(data.A(), &b, options).Serialize(), one);
}

TEST(Grouping, AutoObjectiveResolvesToInputOrProduct) {
  const std::size_t rows = 3000;
  const std::size_t dim = 10;
  const std::vector<float> a = testing::ClusteredMatrix(rows, dim, 21);
  const std::vector<float> b = testing::RandomMatrix(dim, 4, 22);
  const MatrixView b_view = MatrixView::RowMajor(b.data(), dim, 4);
  std::vector<std::size_t> all(rows);
  std::iota(all.begin(), all.end(), std::size_t{0});
  LearnOptions options;
  options.num_codebooks = 5;
  options.column_grouping = ColumnGrouping::kContiguous;
  const detail::LearningChoice choice = detail::ChooseOrderAndObjective(
      MatrixView::RowMajor(a.data(), rows, dim), all, &b_view, options);
  EXPECT_NE(choice.objective, Objective::kAuto);
  std::vector<std::uint32_t> identity(dim);
  std::iota(identity.begin(), identity.end(), 0u);
  EXPECT_EQ(choice.order, identity);
  // Without B there is nothing to choose: the input objective.
  EXPECT_EQ(detail::ChooseOrderAndObjective(MatrixView::RowMajor(a.data(), rows, dim), all, nullptr,
                                            options)
                .objective,
            Objective::kInput);
}

}  // namespace
}  // namespace maddness
