// Scoring a task's outputs (maddness-spec 10.2) and summarizing the UCR datasets.
#ifndef MADDNESS_BENCH_EXPERIMENT_SCORING_H_
#define MADDNESS_BENCH_EXPERIMENT_SCORING_H_

#include <cstddef>
#include <optional>
#include <vector>

#include "bench/experiment/experiment.h"

namespace maddness::experiment {

// The accuracy of outputs Y (A_test x B, N x M row-major; float for the methods, double for the
// exact product) under the task's metric: kArgmax, argmax(Y + bias) against the labels; kRbf, the
// RBF kernel classifier (d2 = |x|^2 + |w_i|^2 - 2 y_i, class scores
// sum_{i in class} exp(-gamma (d2_i - min d2)), the argmax wins); kNmse, none.
std::optional<double> TaskAccuracy(const Task& task, const std::vector<float>& outputs);
std::optional<double> TaskAccuracy(const Task& task, const std::vector<double>& outputs);

// Summary over the UCR datasets for each (method, params) present on all `num_sets` of them: mean
// relative accuracy, the fraction of datasets above 0.5, 0.75 and 0.95 of the exact accuracy (the
// paper's figure) and the geometric-mean speedup.
std::vector<Point> SummarizeUcr(const std::vector<Point>& points, std::size_t num_sets);

}  // namespace maddness::experiment

#endif  // MADDNESS_BENCH_EXPERIMENT_SCORING_H_
