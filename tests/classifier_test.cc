// Classifier-aware tables (LearnOptions::classifier): the fit lowers its objective, agrees with
// the classifier more often than prototypes x B, does not depend on the thread count, and every
// invalid option is refused with a message naming it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "maddness/maddness.h"
#include "src/api/model_access.h"
#include "src/lut/lut.h"
#include "src/train/classifier.h"
#include "src/train/train.h"
#include "tests/test_util.h"

namespace maddness {
namespace {

constexpr std::size_t kRows = 3000;
constexpr std::size_t kDim = 24;
constexpr std::size_t kClasses = 5;

// Rows in clusters, a random linear classifier and its own decisions as labels.
struct Problem {
  std::vector<float> a = testing::ClusteredMatrix(kRows, kDim, 11);
  std::vector<float> b = testing::RandomMatrix(kDim, kClasses, 12);
  std::vector<float> bias;
  std::vector<std::int32_t> labels;

  Problem() {
    std::mt19937_64 generator(13);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (std::size_t m = 0; m < kClasses; ++m) bias.push_back(normal(generator));
    const std::vector<double> scores = testing::ExactProduct(a, b, kRows, kDim, kClasses);
    for (std::size_t r = 0; r < kRows; ++r) labels.push_back(Argmax(scores.data() + r * kClasses));
  }
  MatrixView A() const { return MatrixView::RowMajor(a.data(), kRows, kDim); }
  MatrixView B() const { return MatrixView::RowMajor(b.data(), kDim, kClasses); }

  template <typename T>
  std::int32_t Argmax(const T* scores) const {
    std::size_t best = 0;
    for (std::size_t m = 1; m < kClasses; ++m) {
      if (scores[m] + bias[m] > scores[best] + bias[best]) best = m;
    }
    return static_cast<std::int32_t>(best);
  }
  // Mean cross-entropy of softmax(output + bias) against the labels, on the training rows: what
  // the classifier fit lowers (the fraction of rows whose class changes is too coarse to test on
  // a problem this small).
  double CrossEntropy(const Model& model) const {
    const std::vector<float> out = model.Apply(A());
    double total = 0.0;
    for (std::size_t r = 0; r < kRows; ++r) {
      double largest = -1e300;
      for (std::size_t m = 0; m < kClasses; ++m) {
        largest = std::max(largest, static_cast<double>(out[r * kClasses + m]) + bias[m]);
      }
      double sum = 0.0;
      for (std::size_t m = 0; m < kClasses; ++m) {
        sum += std::exp(static_cast<double>(out[r * kClasses + m]) + bias[m] - largest);
      }
      const auto label = static_cast<std::size_t>(labels[r]);
      total += largest + std::log(sum) - (out[r * kClasses + label] + bias[label]);
    }
    return total / kRows;
  }
  LearnOptions Options(bool classifier, int threads = 1) const {
    LearnOptions options;
    options.num_codebooks = 4;
    options.threads = threads;
    options.classifier.enabled = classifier;
    options.classifier.bias = bias;
    options.classifier.labels = labels;
    return options;
  }
};

TEST(ClassifierTables, FitLowersItsObjective) {
  const Problem problem;
  const MatrixView b = problem.B();
  const Model model = Model::Learn(problem.A(), &b, problem.Options(false));
  const detail::Encoder& encoder = detail::ModelDataOf(model).encoder;
  std::vector<std::size_t> rows(kRows);
  for (std::size_t r = 0; r < kRows; ++r) rows[r] = r;
  ClassifierOptions options = problem.Options(true).classifier;
  const std::vector<double> initial = detail::BuildFloatTables(encoder, b);
  for (const bool with_labels : {true, false}) {
    if (!with_labels) options.labels.clear();
    detail::ClassifierFitReport report;
    const std::vector<double> fitted = detail::FitClassifierTables(
        encoder, problem.A(), rows, b, options, 1.0, initial, 1, &report);
    ASSERT_EQ(fitted.size(), initial.size());
    EXPECT_GE(report.iterations, 1) << "labels " << with_labels;
    EXPECT_LT(report.final_loss, 0.9 * report.initial_loss) << "labels " << with_labels;
  }
}

TEST(ClassifierTables, FitTheClassifierBetterThanPrototypeTables) {
  const Problem problem;
  const MatrixView b = problem.B();
  const double plain = problem.CrossEntropy(Model::Learn(problem.A(), &b, problem.Options(false)));
  // One fit on every row (no held-out choice): it lowers the training cross-entropy.
  LearnOptions options = problem.Options(true);
  options.classifier.choose = false;
  const double fitted = problem.CrossEntropy(Model::Learn(problem.A(), &b, options));
  options.classifier.labels.clear();
  const double distilled = problem.CrossEntropy(Model::Learn(problem.A(), &b, options));
  RecordProperty("plain", std::to_string(plain));
  RecordProperty("labels", std::to_string(fitted));
  RecordProperty("distilled", std::to_string(distilled));
  EXPECT_LT(fitted, 0.9 * plain);
  EXPECT_LT(distilled, plain);
}

TEST(ClassifierTables, DoNotDependOnTheThreadCount) {
  const Problem problem;
  const MatrixView b = problem.B();
  const std::vector<std::uint8_t> one =
      Model::Learn(problem.A(), &b, problem.Options(true, 1)).Serialize();
  for (const int threads : {2, 3}) {
    EXPECT_EQ(Model::Learn(problem.A(), &b, problem.Options(true, threads)).Serialize(), one)
        << threads << " threads";
  }
}

// Accuracy of `model` (argmax of output + bias) against `targets` on the rows `rows` of `a`.
double Accuracy(const Model& model, const std::vector<float>& a, std::size_t dim,
                const std::vector<std::size_t>& rows, const std::vector<float>& bias,
                const std::vector<std::int32_t>& targets) {
  std::vector<float> selected;
  for (const std::size_t r : rows) {
    selected.insert(selected.end(), a.begin() + static_cast<std::ptrdiff_t>(r * dim),
                    a.begin() + static_cast<std::ptrdiff_t>((r + 1) * dim));
  }
  const std::vector<float> out =
      model.Apply(MatrixView::RowMajor(selected.data(), rows.size(), dim));
  const std::size_t m = bias.size();
  std::size_t correct = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    std::size_t best = 0;
    for (std::size_t k = 1; k < m; ++k) {
      if (out[i * m + k] + bias[k] > out[i * m + best] + bias[best]) best = k;
    }
    correct += static_cast<std::int32_t>(best) == targets[rows[i]];
  }
  return static_cast<double>(correct) / static_cast<double>(rows.size());
}

// The held-out choice keeps the fit only when it beats the plain tables on the held-out rows
// (every fifth training row): the model is then either byte for byte the plain one, or at least
// as accurate there. Labels from another classifier make the fit worth keeping; the
// classifier's own decisions as labels, on a problem where the plain tables are already right
// for most rows, may not be.
TEST(ClassifierTables, HeldOutChoiceNeverLosesToThePlainTablesThere) {
  const Problem problem;
  const MatrixView b = problem.B();
  const Model plain = Model::Learn(problem.A(), &b, problem.Options(false));
  std::vector<std::size_t> rows(kRows);
  for (std::size_t r = 0; r < kRows; ++r) rows[r] = r;
  const detail::ClassifierSplit split = detail::SplitClassifierRows(rows);
  ASSERT_EQ(split.holdout.size(), kRows / detail::kHoldoutPeriod);
  // Labels of another linear classifier: the plain tables (for B) get many wrong.
  const std::vector<float> other = testing::RandomMatrix(kDim, kClasses, 99);
  const std::vector<double> other_scores =
      testing::ExactProduct(problem.a, other, kRows, kDim, kClasses);
  std::vector<std::int32_t> other_labels;
  for (std::size_t r = 0; r < kRows; ++r) {
    other_labels.push_back(problem.Argmax(other_scores.data() + r * kClasses));
  }
  for (const bool own_labels : {true, false}) {
    LearnOptions options = problem.Options(true);
    if (!own_labels) options.classifier.labels = other_labels;
    const std::vector<std::int32_t>& labels = options.classifier.labels;
    const Model chosen = Model::Learn(problem.A(), &b, options);
    const double plain_accuracy =
        Accuracy(plain, problem.a, kDim, split.holdout, problem.bias, labels);
    const double chosen_accuracy =
        Accuracy(chosen, problem.a, kDim, split.holdout, problem.bias, labels);
    RecordProperty(own_labels ? "own_plain" : "other_plain", std::to_string(plain_accuracy));
    RecordProperty(own_labels ? "own_chosen" : "other_chosen", std::to_string(chosen_accuracy));
    const bool is_plain = chosen.Serialize() == plain.Serialize();
    EXPECT_TRUE(is_plain || chosen_accuracy >= plain_accuracy)
        << "labels " << (own_labels ? "own" : "other") << ": " << chosen_accuracy << " < "
        << plain_accuracy;
    if (!own_labels) {
      // Fitting to these labels pays off by far, also on rows it was not fitted on.
      EXPECT_FALSE(is_plain);
      EXPECT_GT(chosen_accuracy, plain_accuracy + 0.1);
    }
  }
}

// Too few rows to hold any out: one fit on every row, exactly as with choose = false.
TEST(ClassifierTables, SmallTrainingSetsFitOnce) {
  const Problem problem;
  const MatrixView b = problem.B();
  const std::size_t rows = detail::kHoldoutPeriod * detail::kMinHoldoutRows - 1;
  const MatrixView a = MatrixView::RowMajor(problem.a.data(), rows, kDim);
  LearnOptions options = problem.Options(true);
  options.classifier.labels.resize(rows);
  const std::vector<std::uint8_t> chosen = Model::Learn(a, &b, options).Serialize();
  options.classifier.choose = false;
  EXPECT_EQ(Model::Learn(a, &b, options).Serialize(), chosen);
}

void ExpectRejected(const LearnOptions& options, const MatrixView* b, const std::string& needle) {
  const Problem problem;
  try {
    Model::Learn(problem.A(), b, options);
    ADD_FAILURE() << "accepted; expected an error naming " << needle;
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(needle), std::string::npos) << error.what();
  }
}

TEST(ClassifierTables, RefuseInvalidOptions) {
  const Problem problem;
  const MatrixView b = problem.B();
  LearnOptions options = problem.Options(true);
  options.classifier.bias.pop_back();
  ExpectRejected(options, &b, "classifier.bias has 4 values");
  options = problem.Options(true);
  options.classifier.bias[2] = std::numeric_limits<float>::quiet_NaN();
  ExpectRejected(options, &b, "classifier.bias[2]");
  options = problem.Options(true);
  options.classifier.labels.pop_back();
  ExpectRejected(options, &b, "classifier.labels has 2999 labels");
  options = problem.Options(true);
  options.classifier.labels[7] = 5;
  ExpectRejected(options, &b, "classifier.labels: entry [7] is 5");
  options.classifier.labels[7] = -1;
  ExpectRejected(options, &b, "classifier.labels: entry [7] is -1");
  options = problem.Options(true);
  options.classifier.mse_weight = -0.5;
  ExpectRejected(options, &b, "classifier.mse_weight is -0.5");
  options.classifier.mse_weight = std::numeric_limits<double>::infinity();
  ExpectRejected(options, &b, "classifier.mse_weight is inf");
  options = problem.Options(true);
  options.classifier.max_iterations = 0;
  ExpectRejected(options, &b, "classifier.max_iterations is 0");
  ExpectRejected(problem.Options(true), nullptr, "no B was given");
  const MatrixView one_column = MatrixView::RowMajor(problem.b.data(), kDim, 1, kClasses);
  options = problem.Options(true);
  options.classifier.bias.clear();
  options.classifier.labels.clear();
  ExpectRejected(options, &one_column, "at least 2 outputs");
}

}  // namespace
}  // namespace maddness
