// Classifier-aware tables (LearnOptions::classifier, docs/design.md): float tables fitted to a
// linear classifier's decisions on the training rows' codes instead of prototypes x B.
#ifndef MADDNESS_SRC_TRAIN_CLASSIFIER_H_
#define MADDNESS_SRC_TRAIN_CLASSIFIER_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "maddness/maddness.h"
#include "src/common/model_data.h"

namespace maddness::detail {

// Checks `options` against M = num_outputs and the number of training rows; throws Error naming
// the field, its value and the rule.
void CheckClassifierOptions(const ClassifierOptions& options, std::size_t num_outputs,
                            std::size_t num_train_rows);

// What the fit did, for progress reports and tests.
struct ClassifierFitReport {
  int iterations = 0;
  double initial_loss = 0.0;  // the objective at `initial_tables`
  double final_loss = 0.0;
  // With held-out rows: their accuracy (against the labels, or the classifier's own decisions
  // without labels) and mean cross-entropy at `initial_tables` and at the returned tables.
  double initial_holdout_accuracy = 0.0;
  double initial_holdout_loss = 0.0;
  double holdout_accuracy = 0.0;
  double holdout_loss = 0.0;
};

// Returns float tables (layout of BuildFloatTables: [m][c][k]) minimising, over the rows `rows`
// of `a_train` encoded with `encoder`,
//   (1/N) sum_n [ CE(target_n, softmax(z_n + bias)) + w ||z_n - y_n||^2 ] + (w lambda / N) ||T||^2
// where z_n = sum_c T[., c, code_c(n)], y_n = a_n B (float64), w = mse_weight / (M var(y)), the
// targets the labels or softmax(y_n + bias), and lambda = `ridge_lambda`. Starts from
// `initial_tables`. The result does not depend on `threads`.
// With `holdout_rows` (rows of `a_train` not in `rows`), returns instead the tables, among those
// the solver evaluated (`initial_tables` included), with the highest accuracy on the held-out
// rows, ties broken by the lower held-out cross-entropy: early stopping.
std::vector<double> FitClassifierTables(const Encoder& encoder, const MatrixView& a_train,
                                        const std::vector<std::size_t>& rows, const MatrixView& b,
                                        const ClassifierOptions& options, double ridge_lambda,
                                        const std::vector<double>& initial_tables, int threads,
                                        ClassifierFitReport* report = nullptr,
                                        const std::vector<std::size_t>* holdout_rows = nullptr);

// ClassifierOptions::choose: the squared-error weights tried (options.mse_weight times these).
inline constexpr double kMseWeightFactors[] = {1.0, 3.0, 10.0, 30.0};
// Every kHoldoutPeriod-th sampled training row is held out; with fewer than kMinHoldoutRows
// held-out rows nothing is chosen (one fit on every row, as with choose = false).
inline constexpr std::size_t kHoldoutPeriod = 5;
inline constexpr std::size_t kMinHoldoutRows = 100;

// The held-out split of ClassifierOptions::choose: `fit` and `holdout` partition `rows`.
struct ClassifierSplit {
  std::vector<std::size_t> fit;
  std::vector<std::size_t> holdout;
};
ClassifierSplit SplitClassifierRows(const std::vector<std::size_t>& rows);

// The outcome of ClassifierOptions::choose.
struct ClassifierChoice {
  std::vector<double> tables;  // the best fit's float tables ([m][c][k])
  double mse_weight = 0.0;     // its squared-error weight
  ClassifierFitReport report;  // its fit (held-out figures in float)
};

// Fits on split.fit with every weight of kMseWeightFactors (each stopped early on
// split.holdout) and returns the fit with the highest held-out accuracy (ties: the lower
// held-out cross-entropy, then the larger weight). Whether it beats the plain tables once
// quantized is for the caller to judge (Model::Learn).
ClassifierChoice ChooseClassifierTables(const Encoder& encoder, const MatrixView& a_train,
                                        const ClassifierSplit& split, const MatrixView& b,
                                        const ClassifierOptions& options, double ridge_lambda,
                                        const std::vector<double>& initial_tables, int threads);

// The class each row of `rows` should get: its label, or without labels the classifier's own
// decision argmax(a_n B + bias).
std::vector<std::int32_t> ClassifierTargets(const MatrixView& a_train,
                                            const std::vector<std::size_t>& rows,
                                            const MatrixView& b, const ClassifierOptions& options);

}  // namespace maddness::detail

#endif  // MADDNESS_SRC_TRAIN_CLASSIFIER_H_
