// Classifier-aware tables (LearnOptions::classifier, docs/design.md): float tables fitted to a
// linear classifier's decisions on the training rows' codes instead of prototypes x B.
#ifndef MADDNESS_SRC_TRAIN_CLASSIFIER_H_
#define MADDNESS_SRC_TRAIN_CLASSIFIER_H_

#include <cstddef>
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
};

// Returns float tables (layout of BuildFloatTables: [m][c][k]) minimising, over the rows `rows`
// of `a_train` encoded with `encoder`,
//   (1/N) sum_n [ CE(target_n, softmax(z_n + bias)) + w ||z_n - y_n||^2 ] + (w lambda / N) ||T||^2
// where z_n = sum_c T[., c, code_c(n)], y_n = a_n B (float64), w = mse_weight / (M var(y)), the
// targets the labels or softmax(y_n + bias), and lambda = `ridge_lambda`. Starts from
// `initial_tables`. The result does not depend on `threads`.
std::vector<double> FitClassifierTables(const Encoder& encoder, const MatrixView& a_train,
                                        const std::vector<std::size_t>& rows, const MatrixView& b,
                                        const ClassifierOptions& options, double ridge_lambda,
                                        const std::vector<double>& initial_tables, int threads,
                                        ClassifierFitReport* report = nullptr);

}  // namespace maddness::detail

#endif  // MADDNESS_SRC_TRAIN_CLASSIFIER_H_
