// The softmax-regression fit of the demo and the experiments
// (bench/experiment/baselines/linear_classifier.h): it reaches
// the minimizer of its objective, does not depend on blocking, sampling or a shift of the data,
// is deterministic, and rejects bad inputs.
#include "bench/experiment/baselines/linear_classifier.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "maddness/maddness.h"

namespace maddness::baselines {
namespace {

constexpr std::size_t kRows = 900;
constexpr std::size_t kCols = 7;
constexpr std::size_t kClasses = 3;

// Three overlapping clusters in kCols dimensions, columns of different scales, and one constant
// column (index 4), which must get zero weight.
struct Problem {
  std::vector<float> x;
  std::vector<std::int64_t> labels;
};

Problem MakeProblem(std::uint64_t seed, float shift = 0.0f) {
  std::mt19937_64 generator(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  Problem problem;
  problem.x.resize(kRows * kCols);
  problem.labels.resize(kRows);
  for (std::size_t n = 0; n < kRows; ++n) {
    const std::size_t label = n % kClasses;
    problem.labels[n] = static_cast<std::int64_t>(label);
    for (std::size_t j = 0; j < kCols; ++j) {
      const double centre = (j % kClasses == label) ? 2.0 : 0.0;
      const double scale = 0.5 + 0.5 * static_cast<double>(j);
      const double value = j == 4 ? 2.0 : scale * (centre + normal(generator));
      problem.x[n * kCols + j] = static_cast<float>(value) + shift;
    }
  }
  return problem;
}

// The objective f of linear_classifier.h, in float64.
double ObjectiveValue(const LinearClassifier& classifier, const Problem& problem, double l2) {
  double penalty = 0;
  for (const float w : classifier.weights) penalty += static_cast<double>(w) * w;
  return MeanCrossEntropy(classifier, problem.x.data(), kRows, problem.labels) + 0.5 * l2 * penalty;
}

SoftmaxRegressionOptions Converged(double l2) {
  SoftmaxRegressionOptions options;
  options.l2 = l2;
  options.max_iterations = 500;
  options.gradient_tolerance = 1e-9;
  options.float64 = true;
  return options;
}

SoftmaxRegressionResult Fit(const Problem& problem, const SoftmaxRegressionOptions& options) {
  return FitSoftmaxRegression(problem.x.data(), kRows, kCols, problem.labels, kClasses, options);
}

TEST(LinearClassifierTest, ReachesTheMinimizer) {
  const Problem problem = MakeProblem(1);
  const double l2 = 0.01;
  const SoftmaxRegressionResult result = Fit(problem, Converged(l2));
  EXPECT_LT(result.iterations, 500);
  EXPECT_LE(result.gradient_norm, 1e-6);
  const LinearClassifier& classifier = result.classifier;
  ASSERT_EQ(classifier.weights.size(), kCols * kClasses);
  ASSERT_EQ(classifier.bias.size(), kClasses);
  const double value = ObjectiveValue(classifier, problem, l2);
  EXPECT_NEAR(value, result.objective, 1e-5);
  // Central differences of the float64 objective in every weight and bias: zero at the minimizer.
  const double h = 1e-3;
  for (std::size_t i = 0; i < kCols * kClasses + kClasses; ++i) {
    LinearClassifier plus = classifier, minus = classifier;
    float& p = i < kCols * kClasses ? plus.weights[i] : plus.bias[i - kCols * kClasses];
    float& m = i < kCols * kClasses ? minus.weights[i] : minus.bias[i - kCols * kClasses];
    p += static_cast<float>(h);
    m -= static_cast<float>(h);
    const double derivative =
        (ObjectiveValue(plus, problem, l2) - ObjectiveValue(minus, problem, l2)) / (2 * h);
    EXPECT_NEAR(derivative, 0.0, 2e-4) << "parameter " << i;
    // And no move along one coordinate decreases it.
    EXPECT_GE(ObjectiveValue(plus, problem, l2), value - 1e-9) << "parameter " << i;
    EXPECT_GE(ObjectiveValue(minus, problem, l2), value - 1e-9) << "parameter " << i;
  }
  // The constant column carries no information: its weights stay zero.
  for (std::size_t k = 0; k < kClasses; ++k) {
    EXPECT_NEAR(classifier.weights[4 * kClasses + k], 0.0f, 1e-6f);
  }
}

TEST(LinearClassifierTest, Float32ProductsReachTheMinimizerClosely) {
  const double l2 = 0.01;
  const Problem problem = MakeProblem(1);
  const SoftmaxRegressionResult reference = Fit(problem, Converged(l2));
  SoftmaxRegressionOptions options = Converged(l2);
  options.float64 = false;
  const SoftmaxRegressionResult result = Fit(problem, options);
  EXPECT_LE(result.gradient_norm, 1e-3);
  EXPECT_NEAR(result.objective, reference.objective, 1e-6);
  for (std::size_t i = 0; i < kCols * kClasses; ++i) {
    EXPECT_NEAR(result.classifier.weights[i], reference.classifier.weights[i], 1e-3) << i;
  }
}

TEST(LinearClassifierTest, ClassifiesItsTrainingData) {
  const Problem problem = MakeProblem(2);
  const LinearClassifier classifier = Fit(problem, SoftmaxRegressionOptions{}).classifier;
  std::size_t correct = 0;
  for (std::size_t n = 0; n < kRows; ++n) {
    std::size_t best = 0;
    double best_score = -std::numeric_limits<double>::infinity();
    for (std::size_t k = 0; k < kClasses; ++k) {
      double score = classifier.bias[k];
      for (std::size_t j = 0; j < kCols; ++j) {
        score +=
            static_cast<double>(problem.x[n * kCols + j]) * classifier.weights[j * kClasses + k];
      }
      if (score > best_score) {
        best_score = score;
        best = k;
      }
    }
    correct += static_cast<std::int64_t>(best) == problem.labels[n];
  }
  // Chance is 1/3; these clusters are two standard deviations apart in two or three columns.
  EXPECT_GT(static_cast<double>(correct) / kRows, 0.85) << correct;
}

TEST(LinearClassifierTest, SameMinimizerWhateverTheBlocksSampleAndShift) {
  const double l2 = 0.05;
  const Problem problem = MakeProblem(3);
  const LinearClassifier reference = Fit(problem, Converged(l2)).classifier;
  SoftmaxRegressionOptions options = Converged(l2);
  options.block_rows = 7;            // blocks that do not divide the rows
  options.preconditioner_rows = 40;  // a rough preconditioner
  const LinearClassifier blocked = Fit(problem, options).classifier;
  // Shifting every feature changes only the bias: b' = b - shift * sum_j W_j.
  const float shift = 3.0f;
  const LinearClassifier shifted = Fit(MakeProblem(3, shift), Converged(l2)).classifier;
  for (std::size_t i = 0; i < kCols * kClasses; ++i) {
    EXPECT_NEAR(blocked.weights[i], reference.weights[i], 1e-4) << i;
    EXPECT_NEAR(shifted.weights[i], reference.weights[i], 1e-4) << i;
  }
  for (std::size_t k = 0; k < kClasses; ++k) {
    double moved = 0;
    for (std::size_t j = 0; j < kCols; ++j) moved += shift * reference.weights[j * kClasses + k];
    EXPECT_NEAR(blocked.bias[k], reference.bias[k], 1e-4) << k;
    EXPECT_NEAR(shifted.bias[k], reference.bias[k] - moved, 1e-3) << k;
  }
}

TEST(LinearClassifierTest, IsDeterministicAndStopsAtTheIterationLimit) {
  const Problem problem = MakeProblem(4);
  SoftmaxRegressionOptions options;
  options.max_iterations = 5;
  options.gradient_tolerance = 0;
  const SoftmaxRegressionResult first = Fit(problem, options);
  const SoftmaxRegressionResult second = Fit(problem, options);
  EXPECT_EQ(first.iterations, 5);
  EXPECT_GE(first.evaluations, 6);
  EXPECT_EQ(first.classifier.weights, second.classifier.weights);
  EXPECT_EQ(first.classifier.bias, second.classifier.bias);
  EXPECT_EQ(first.objective, second.objective);
  // Five iterations already beat the starting point (all zero: log 3).
  EXPECT_LT(first.objective, std::log(3.0));
}

TEST(LinearClassifierTest, RejectsBadInputs) {
  Problem problem = MakeProblem(5);
  const auto fit = [&](std::size_t classes, const SoftmaxRegressionOptions& options) {
    return FitSoftmaxRegression(problem.x.data(), kRows, kCols, problem.labels, classes, options);
  };
  const SoftmaxRegressionOptions defaults;
  EXPECT_THROW(fit(1, defaults), Error);  // fewer than two classes
  EXPECT_THROW(fit(2, defaults), Error);  // label 2 out of [0, 2)
  SoftmaxRegressionOptions bad = defaults;
  bad.l2 = -1;
  EXPECT_THROW(fit(kClasses, bad), Error);
  bad = defaults;
  bad.history = 0;
  EXPECT_THROW(fit(kClasses, bad), Error);
  EXPECT_THROW(FitSoftmaxRegression(problem.x.data(), 0, kCols, {}, kClasses, defaults), Error);
  std::vector<std::int64_t> short_labels(problem.labels.begin(), problem.labels.end() - 1);
  EXPECT_THROW(
      FitSoftmaxRegression(problem.x.data(), kRows, kCols, short_labels, kClasses, defaults),
      Error);
  problem.labels[7] = -1;
  EXPECT_THROW(fit(kClasses, defaults), Error);
  problem = MakeProblem(5);
  problem.x[11] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(fit(kClasses, defaults), Error);
}

}  // namespace
}  // namespace maddness::baselines
