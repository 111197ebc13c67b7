// Learning: subspaces, the optimal split, column quantization, trees and ridge prototypes.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <vector>

#include "src/common/layout.h"
#include "src/encode/encode.h"
#include "src/train/train.h"
#include "tests/test_util.h"

namespace maddness::detail {
namespace {

// Two-pass SSE of the rows of `features` (n x width) selected by `take`, in long double.
long double DirectSse(const std::vector<float>& features, std::size_t width,
                      const std::vector<bool>& take) {
  long double total = 0.0L;
  for (std::size_t j = 0; j < width; ++j) {
    long double sum = 0.0L;
    std::size_t count = 0;
    for (std::size_t r = 0; r < take.size(); ++r) {
      if (take[r]) {
        sum += features[r * width + j];
        ++count;
      }
    }
    if (count == 0) continue;
    const long double mean = sum / count;
    for (std::size_t r = 0; r < take.size(); ++r) {
      if (take[r]) {
        const long double d = features[r * width + j] - mean;
        total += d * d;
      }
    }
  }
  return total;
}

TEST(OptimalSplit, MatchesBruteForceOverEveryThreshold) {
  std::mt19937_64 generator(7);
  for (int trial = 0; trial < 300; ++trial) {
    const std::size_t n = 2 + generator() % 150;
    const std::size_t width = 1 + generator() % 6;
    // Few distinct levels, so that many rows tie on the split column.
    const int levels = 1 + static_cast<int>(generator() % 12);
    std::vector<std::int8_t> quantized(n);
    std::vector<float> features(n * width);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (std::size_t r = 0; r < n; ++r) {
      quantized[r] = static_cast<std::int8_t>(static_cast<int>(generator() % levels) * 20 - 128);
      for (std::size_t j = 0; j < width; ++j) {
        features[r * width + j] = normal(generator) + 0.3f * quantized[r];
      }
    }
    const SplitChoice choice = OptimalSplit(quantized.data(), features.data(), n, width);

    const std::set<int> values(quantized.begin(), quantized.end());
    long double best = std::numeric_limits<long double>::infinity();
    int best_threshold = kNoSplitThreshold;
    for (const int value : values) {
      if (value == *values.rbegin()) break;  // every row left: not a split
      std::vector<bool> left(n);
      std::vector<bool> right(n);
      for (std::size_t r = 0; r < n; ++r) {
        left[r] = quantized[r] <= value;
        right[r] = !left[r];
      }
      const long double loss = DirectSse(features, width, left) + DirectSse(features, width, right);
      if (loss < best) {
        best = loss;
        best_threshold = value;
      }
    }
    if (values.size() < 2) best = DirectSse(features, width, std::vector<bool>(n, true));
    ASSERT_EQ(static_cast<int>(choice.threshold), best_threshold) << "trial " << trial;
    ASSERT_NEAR(choice.loss, static_cast<double>(best), 1e-9 * std::max(1.0L, best))
        << "trial " << trial;
  }
}

TEST(OptimalSplit, ConstantColumnAndSingleRowDoNotSplit) {
  const std::vector<std::int8_t> same = {5, 5, 5};
  const std::vector<float> features = {1.0f, 2.0f, 4.0f};
  const SplitChoice constant = OptimalSplit(same.data(), features.data(), 3, 1);
  EXPECT_EQ(constant.threshold, kNoSplitThreshold);
  EXPECT_NEAR(constant.loss, 14.0 / 3.0, 1e-12);  // SSE of {1, 2, 4}

  const SplitChoice single = OptimalSplit(same.data(), features.data(), 1, 1);
  EXPECT_EQ(single.threshold, kNoSplitThreshold);
  EXPECT_EQ(single.loss, 0.0);
}

TEST(OptimalSplit, TiesGoToTheLowestThreshold) {
  // Values 0, 1, 2 with features 0, 5, 10: splitting after 0 or after 1 costs the same (12.5).
  const std::vector<std::int8_t> quantized = {0, 1, 2};
  const std::vector<float> features = {0.0f, 5.0f, 10.0f};
  const SplitChoice choice = OptimalSplit(quantized.data(), features.data(), 3, 1);
  EXPECT_EQ(choice.threshold, 0);
  EXPECT_NEAR(choice.loss, 12.5, 1e-12);
}

TEST(Subspaces, FirstCodebooksAreWider) {
  EXPECT_EQ(CodebookBoundaries(27, 8),
            (std::vector<std::uint32_t>{0, 4, 8, 12, 15, 18, 21, 24, 27}));
  EXPECT_EQ(CodebookBoundaries(5, 5), (std::vector<std::uint32_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(CodebookBoundaries(10, 1), (std::vector<std::uint32_t>{0, 10}));
}

TEST(ColumnQuantizer, MapsTheTrainingRangeOntoAllBytes) {
  const ColumnQuantizer q = LearnColumnQuantizer(-3.0f, 13.0f);
  EXPECT_EQ(QuantizeInput(-3.0f, q.scale, q.offset), -128);
  EXPECT_EQ(QuantizeInput(13.0f, q.scale, q.offset), 127);
  EXPECT_EQ(QuantizeInput(-1000.0f, q.scale, q.offset), -128);  // saturates below the range
  EXPECT_EQ(QuantizeInput(1000.0f, q.scale, q.offset), 127);    // and above it
  int previous = -129;
  std::set<int> used;
  for (int i = 0; i <= 4000; ++i) {
    const int value =
        QuantizeInput(-3.0f + 16.0f * static_cast<float>(i) / 4000.0f, q.scale, q.offset);
    EXPECT_GE(value, previous);  // monotone
    previous = value;
    used.insert(value);
  }
  EXPECT_EQ(used.size(), 256u);

  const ColumnQuantizer constant = LearnColumnQuantizer(2.0f, 2.0f);
  EXPECT_EQ(constant.scale, 1.0f);
  EXPECT_EQ(constant.offset, 0.0f);
  const ColumnQuantizer tiny = LearnColumnQuantizer(0.0f, 1e-38f);
  EXPECT_TRUE(std::isfinite(tiny.scale));
  EXPECT_TRUE(std::isfinite(tiny.offset));
}

TrainingSet MakeTrainingSet(const std::vector<float>& values, std::size_t rows, std::size_t cols) {
  TrainingSet train;
  train.rows = rows;
  train.cols = cols;
  train.values = values;
  return train;
}

// Learns the trees of `num_codebooks` codebooks on `train` with the default options; returns the
// codes of the training rows.
std::vector<std::uint8_t> TrainTrees(const TrainingSet& train, int num_codebooks,
                                     Encoder* encoder) {
  LearnOptions options;
  options.num_codebooks = num_codebooks;
  return LearnTrees(train, options, nullptr, encoder);
}

TEST(Trees, TrainingCodesEqualInferenceCodes) {
  const std::size_t rows = 3000;
  const std::size_t cols = 13;
  const std::vector<float> values = testing::ClusteredMatrix(rows, cols, 3);
  const TrainingSet train = MakeTrainingSet(values, rows, cols);
  for (const int num_codebooks : {1, 3, 4, 13}) {
    Encoder encoder;
    const std::vector<std::uint8_t> codes = TrainTrees(train, num_codebooks, &encoder);
    const MatrixView view = MatrixView::RowMajor(values.data(), rows, cols);
    for (std::size_t r = 0; r < rows; ++r) {
      for (int c = 0; c < num_codebooks; ++c) {
        ASSERT_EQ(codes[r * num_codebooks + c], EncodeRowRef(encoder, view, r, c))
            << "row " << r << " codebook " << c << " of " << num_codebooks;
      }
    }
  }
}

TEST(Trees, SplitsStayInsideTheirSubspaceAndThresholdsInsideTheirBuckets) {
  const std::size_t rows = 2000;
  const std::size_t cols = 10;
  const std::vector<float> values = testing::ClusteredMatrix(rows, cols, 4);
  const TrainingSet train = MakeTrainingSet(values, rows, cols);
  Encoder encoder;
  const std::vector<std::uint8_t> codes = TrainTrees(train, 3, &encoder);  // widths 4, 3, 3
  const MatrixView view = MatrixView::RowMajor(values.data(), rows, cols);
  for (int c = 0; c < 3; ++c) {
    // Replay the tree level by level and check each node's threshold against its rows.
    std::vector<int> node(rows, 0);
    for (int level = 0; level < kTreeDepth; ++level) {
      const SplitLevel& split = encoder.splits[c * kTreeDepth + level];
      ASSERT_GE(split.dim, encoder.codebook_begin[c]);
      ASSERT_LT(split.dim, encoder.codebook_begin[c + 1]);
      for (int slot = 1 << level; slot < 16; ++slot) {
        EXPECT_EQ(split.thresholds[slot], kNoSplitThreshold);
      }
      for (int i = 0; i < (1 << level); ++i) {
        int lowest = 128;
        int highest = -129;
        for (std::size_t r = 0; r < rows; ++r) {
          if (node[r] != i) continue;
          const int q = QuantizeInput(view(r, split.dim), split.scale, split.offset);
          lowest = std::min(lowest, q);
          highest = std::max(highest, q);
        }
        if (lowest < highest) {  // a splittable bucket gets a real split, never a dummy
          EXPECT_GE(split.thresholds[i], lowest);
          EXPECT_LT(split.thresholds[i], highest);
        } else {
          EXPECT_EQ(split.thresholds[i], kNoSplitThreshold);
        }
      }
      for (std::size_t r = 0; r < rows; ++r) {
        const int q = QuantizeInput(view(r, split.dim), split.scale, split.offset);
        node[r] = 2 * node[r] + (q > split.thresholds[node[r]] ? 1 : 0);
      }
    }
    for (std::size_t r = 0; r < rows; ++r) ASSERT_EQ(node[r], codes[r * 3 + c]);
  }
}

TEST(Learning, IsDeterministicForAnyThreadCount) {
  const std::size_t rows = 4000;
  const std::size_t cols = 24;
  const std::vector<float> values = testing::ClusteredMatrix(rows, cols, 5);
  const MatrixView view = MatrixView::RowMajor(values.data(), rows, cols);
  LearnOptions options;
  options.num_codebooks = 8;
  std::uint64_t used_rows = 0;
  options.threads = 1;
  const Encoder first = LearnEncoder(view, nullptr, options, &used_rows);
  for (const int threads : {1, 2, 3}) {
    options.threads = threads;
    const Encoder again = LearnEncoder(view, nullptr, options, &used_rows);
    ASSERT_EQ(again.codebook_begin, first.codebook_begin);
    ASSERT_EQ(again.splits.size(), first.splits.size());
    for (std::size_t i = 0; i < first.splits.size(); ++i) {
      EXPECT_EQ(again.splits[i].dim, first.splits[i].dim);
      EXPECT_EQ(again.splits[i].scale, first.splits[i].scale);
      EXPECT_EQ(again.splits[i].offset, first.splits[i].offset);
      EXPECT_TRUE(std::equal(std::begin(again.splits[i].thresholds),
                             std::end(again.splits[i].thresholds),
                             std::begin(first.splits[i].thresholds)));
    }
    EXPECT_EQ(again.prototypes, first.prototypes) << "threads " << threads;
  }
}

TEST(Learning, SubsamplingUsesTheSeed) {
  const std::size_t rows = 3000;
  const std::size_t cols = 8;
  const std::vector<float> values = testing::ClusteredMatrix(rows, cols, 6);
  const MatrixView view = MatrixView::RowMajor(values.data(), rows, cols);
  LearnOptions options;
  options.num_codebooks = 4;
  options.max_train_rows = 500;
  std::uint64_t used_rows = 0;
  options.seed = 1;
  const Encoder a = LearnEncoder(view, nullptr, options, &used_rows);
  EXPECT_EQ(used_rows, 500u);
  const Encoder b = LearnEncoder(view, nullptr, options, &used_rows);
  options.seed = 2;
  const Encoder c = LearnEncoder(view, nullptr, options, &used_rows);
  EXPECT_EQ(a.prototypes, b.prototypes);
  EXPECT_NE(a.prototypes, c.prototypes);
}

// Reconstruction error sum_r ||x_r - sum_c P[c, code(r, c)]||^2 on the training rows.
double ReconstructionError(const TrainingSet& train, const std::vector<std::uint8_t>& codes,
                           const Encoder& encoder) {
  const std::size_t num_codebooks = static_cast<std::size_t>(encoder.num_codebooks);
  double error = 0.0;
  for (std::size_t r = 0; r < train.rows; ++r) {
    for (std::size_t j = 0; j < train.cols; ++j) {
      double estimate = 0.0;
      for (std::size_t c = 0; c < num_codebooks; ++c) {
        const std::size_t k = codes[r * num_codebooks + c];
        estimate += encoder.prototypes[(c * kNumPrototypes + k) * train.cols + j];
      }
      const double difference = train.row(r)[j] - estimate;
      error += difference * difference;
    }
  }
  return error;
}

TEST(Ridge, MatchesADenseSolveAndReducesTheError) {
  const std::size_t rows = 1500;
  const std::size_t cols = 9;
  const std::vector<float> values = testing::ClusteredMatrix(rows, cols, 8);
  const TrainingSet train = MakeTrainingSet(values, rows, cols);
  Encoder encoder;
  const std::vector<std::uint8_t> codes = TrainTrees(train, 3, &encoder);
  const Encoder pq = encoder;
  const double lambda = 2.5;
  FitRidgePrototypes(train, codes, lambda, 2, &encoder);

  // Dense reference: P = P0 + (G^T G + lambda I)^-1 G^T (X - G P0).
  const Eigen::Index unknowns = 3 * kNumPrototypes;
  Eigen::MatrixXd g = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(rows), unknowns);
  Eigen::MatrixXd x(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < 3; ++c) {
      g(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(c * 16 + codes[r * 3 + c])) = 1.0;
    }
    for (std::size_t j = 0; j < cols; ++j) {
      x(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(j)) = values[r * cols + j];
    }
  }
  Eigen::MatrixXd p0(unknowns, static_cast<Eigen::Index>(cols));
  for (Eigen::Index i = 0; i < unknowns; ++i) {
    for (Eigen::Index j = 0; j < static_cast<Eigen::Index>(cols); ++j) {
      p0(i, j) = pq.prototypes[static_cast<std::size_t>(i) * cols + static_cast<std::size_t>(j)];
    }
  }
  const Eigen::MatrixXd system =
      g.transpose() * g + lambda * Eigen::MatrixXd::Identity(unknowns, unknowns);
  const Eigen::MatrixXd expected = p0 + system.ldlt().solve(g.transpose() * (x - g * p0));
  for (Eigen::Index i = 0; i < unknowns; ++i) {
    for (Eigen::Index j = 0; j < static_cast<Eigen::Index>(cols); ++j) {
      ASSERT_NEAR(
          encoder.prototypes[static_cast<std::size_t>(i) * cols + static_cast<std::size_t>(j)],
          expected(i, j), 1e-4 * (1.0 + std::fabs(expected(i, j))));
    }
  }
  EXPECT_LT(ReconstructionError(train, codes, encoder), ReconstructionError(train, codes, pq));
}

TEST(Ridge, ZeroLambdaWithEmptyBucketsIsAnError) {
  // 16 rows, two distinct values: most buckets stay empty, so G^T G is singular.
  std::vector<float> values(16 * 2);
  for (std::size_t r = 0; r < 16; ++r) {
    values[r * 2] = static_cast<float>(r % 2);
    values[r * 2 + 1] = 1.0f;
  }
  const TrainingSet train = MakeTrainingSet(values, 16, 2);
  Encoder encoder;
  const std::vector<std::uint8_t> codes = TrainTrees(train, 1, &encoder);
  try {
    FitRidgePrototypes(train, codes, 0.0, 1, &encoder);
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("ridge_lambda is 0"), std::string::npos)
        << error.what();
  }
}

// ChoosePrototypes against a dense computation: for each candidate, the ridge step
// W = (G^T G + lambda I)^-1 G^T (Y - G T0) in the product space, RSS = ||Y - G (T0 + W)||^2,
// df = trace(G (G^T G + lambda I)^-1 G^T) and GCV = RSS / (1 - a df / N)^2 (a =
// kGcvFreedomWeight); the bucket means
// (W = 0, df = 0) are a candidate too. Shapes with more rows than buckets and with fewer (where
// the choice solves the N x N system instead).
TEST(PrototypeChoice, PicksTheSmallestDenseGcv) {
  struct Shape {
    std::size_t rows, cols, outputs;
    int codebooks;
    std::uint64_t seed;
  };
  bool chose_ridge = false;
  bool chose_bucket_means = false;
  for (const Shape& shape :
       {Shape{600, 12, 5, 2, 1}, Shape{400, 16, 7, 4, 2}, Shape{40, 24, 6, 4, 3},
        Shape{25, 30, 25, 8, 4}, Shape{60, 10, 3, 8, 5}, Shape{30, 16, 4, 2, 6}}) {
    SCOPED_TRACE(::testing::Message() << "rows " << shape.rows << ", C " << shape.codebooks);
    const std::vector<float> values = testing::ClusteredMatrix(shape.rows, shape.cols, shape.seed);
    const std::vector<float> b_values =
        testing::RandomMatrix(shape.cols, shape.outputs, shape.seed + 100);
    const TrainingSet train = MakeTrainingSet(values, shape.rows, shape.cols);
    const MatrixView b = MatrixView::RowMajor(b_values.data(), shape.cols, shape.outputs);
    Encoder encoder;
    const std::vector<std::uint8_t> codes = TrainTrees(train, shape.codebooks, &encoder);
    const double base_lambda = 0.5;
    const PrototypeChoice choice = ChoosePrototypes(train, codes, b, encoder, base_lambda);

    const auto num_codebooks = static_cast<std::size_t>(shape.codebooks);
    const auto unknowns = static_cast<Eigen::Index>(num_codebooks * kNumPrototypes);
    const auto rows = static_cast<Eigen::Index>(shape.rows);
    Eigen::MatrixXd g = Eigen::MatrixXd::Zero(rows, unknowns);
    for (std::size_t r = 0; r < shape.rows; ++r) {
      for (std::size_t c = 0; c < num_codebooks; ++c) {
        g(static_cast<Eigen::Index>(r),
          static_cast<Eigen::Index>(c * kNumPrototypes + codes[r * num_codebooks + c])) = 1.0;
      }
    }
    Eigen::MatrixXd x(rows, static_cast<Eigen::Index>(shape.cols));
    Eigen::MatrixXd p0(unknowns, static_cast<Eigen::Index>(shape.cols));
    Eigen::MatrixXd b_dense(static_cast<Eigen::Index>(shape.cols),
                            static_cast<Eigen::Index>(shape.outputs));
    for (Eigen::Index j = 0; j < x.cols(); ++j) {
      for (Eigen::Index r = 0; r < rows; ++r) {
        x(r, j) = values[static_cast<std::size_t>(r) * shape.cols + static_cast<std::size_t>(j)];
      }
      for (Eigen::Index i = 0; i < unknowns; ++i) {
        p0(i, j) =
            encoder
                .prototypes[static_cast<std::size_t>(i) * shape.cols + static_cast<std::size_t>(j)];
      }
      for (Eigen::Index o = 0; o < b_dense.cols(); ++o)
        b_dense(j, o) = b(static_cast<std::size_t>(j), static_cast<std::size_t>(o));
    }
    const Eigen::MatrixXd y = x * b_dense;
    const Eigen::MatrixXd t0 = p0 * b_dense;
    const double bucket_gcv = (y - g * t0).squaredNorm();
    double best = bucket_gcv;
    double best_lambda = -1.0;  // the bucket means
    std::vector<double> errors;
    for (const double factor : kLambdaFactors) {
      const double lambda = base_lambda * factor;
      const Eigen::MatrixXd system =
          g.transpose() * g + lambda * Eigen::MatrixXd::Identity(unknowns, unknowns);
      const Eigen::MatrixXd w = system.ldlt().solve(g.transpose() * (y - g * t0));
      const double rss = (y - g * (t0 + w)).squaredNorm();
      const double df = (g * system.ldlt().solve(g.transpose())).trace();
      const double keep = 1.0 - kGcvFreedomWeight * df / static_cast<double>(shape.rows);
      const double gcv = rss / (keep * keep);
      errors.push_back(gcv);
      if (gcv < best) {
        best = gcv;
        best_lambda = lambda;
      }
    }
    // The chosen candidate's dense GCV is the smallest, up to rounding (the choice computes the
    // same quantities in another order).
    const double chosen_gcv =
        choice.bucket_means ? bucket_gcv
                            : errors[static_cast<std::size_t>(
                                  std::find_if(std::begin(kLambdaFactors), std::end(kLambdaFactors),
                                               [&](double factor) {
                                                 return base_lambda * factor == choice.lambda;
                                               }) -
                                  std::begin(kLambdaFactors))];
    EXPECT_LE(chosen_gcv, best * (1.0 + 1e-9)) << "dense choice: lambda " << best_lambda;
    chose_ridge = chose_ridge || !choice.bucket_means;
    chose_bucket_means = chose_bucket_means || choice.bucket_means;
  }
  // These shapes cover both outcomes.
  EXPECT_TRUE(chose_ridge);
  EXPECT_TRUE(chose_bucket_means);
}

}  // namespace
}  // namespace maddness::detail
