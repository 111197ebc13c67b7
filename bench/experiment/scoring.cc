#include "bench/experiment/scoring.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "tools/metrics.h"

namespace maddness::experiment {
namespace {

using cli::ArgmaxAccuracy;

// Accuracy of the RBF kernel classifier: d2 = |x|^2 + |w_i|^2 - 2 y_i, class scores
// sum_{i in class} exp(-gamma (d2_i - min d2)), the argmax wins (spec 10.2).
template <typename T>
double RbfAccuracy(const Task& task, const std::vector<T>& outputs) {
  const Matrix& test = *task.a_test;
  const std::size_t m = task.b.cols;
  std::vector<double> train_norms(m, 0.0);
  for (std::size_t j = 0; j < task.b.rows; ++j) {
    for (std::size_t i = 0; i < m; ++i) {
      const double value = task.b.values[j * m + i];
      train_norms[i] += value * value;
    }
  }
  std::int64_t num_classes = 0;
  for (const std::int64_t label : task.train_labels) num_classes = std::max(num_classes, label + 1);
  std::vector<double> distances(m), scores(static_cast<std::size_t>(num_classes));
  std::size_t correct = 0;
  for (std::size_t n = 0; n < test.rows; ++n) {
    double norm = 0;
    for (std::size_t j = 0; j < test.cols; ++j) {
      const double value = test.values[n * test.cols + j];
      norm += value * value;
    }
    double smallest = INFINITY;
    for (std::size_t i = 0; i < m; ++i) {
      distances[i] = norm + train_norms[i] - 2.0 * static_cast<double>(outputs[n * m + i]);
      smallest = std::min(smallest, distances[i]);
    }
    std::fill(scores.begin(), scores.end(), 0.0);
    for (std::size_t i = 0; i < m; ++i) {
      scores[static_cast<std::size_t>(task.train_labels[i])] +=
          std::exp(-task.gamma * (distances[i] - smallest));
    }
    const auto best =
        static_cast<std::int64_t>(std::max_element(scores.begin(), scores.end()) - scores.begin());
    if (best == task.labels[n]) ++correct;
  }
  return static_cast<double>(correct) / static_cast<double>(test.rows);
}

template <typename T>
std::optional<double> AccuracyOf(const Task& task, const std::vector<T>& outputs) {
  if (task.metric == Metric::kArgmax) {
    return ArgmaxAccuracy(outputs, task.b.cols, task.bias, task.labels);
  }
  if (task.metric == Metric::kRbf) return RbfAccuracy(task, outputs);
  return std::nullopt;
}

}  // namespace

std::optional<double> TaskAccuracy(const Task& task, const std::vector<float>& outputs) {
  return AccuracyOf(task, outputs);
}

std::optional<double> TaskAccuracy(const Task& task, const std::vector<double>& outputs) {
  return AccuracyOf(task, outputs);
}

std::vector<Point> SummarizeUcr(const std::vector<Point>& points, std::size_t num_sets) {
  std::map<std::pair<std::string, std::string>, std::vector<const Point*>> by_method;
  std::vector<std::pair<std::string, std::string>> order;
  for (const Point& point : points) {
    if (point.group != "ucr" || !point.relative_accuracy) continue;
    const auto key = std::make_pair(point.method, point.params);
    if (by_method[key].empty()) order.push_back(key);
    by_method[key].push_back(&point);
  }
  std::vector<Point> summary;
  for (const auto& key : order) {
    const std::vector<const Point*>& members = by_method[key];
    if (members.size() != num_sets) continue;
    Point point;
    point.task = "ucr";
    point.group = "ucr-summary";
    point.method = key.first;
    point.params = key.second;
    point.codebooks = members[0]->codebooks;
    point.sketch_dim = members[0]->sketch_dim;
    point.library = members[0]->library;
    double relative = 0, log_speedup = 0, log_speedup_row = 0, log_speedup_raw = 0;
    double log_ceiling = 0;
    bool has_raw = true;
    double above050 = 0, above075 = 0, above095 = 0;
    for (const Point* member : members) {
      relative += *member->relative_accuracy;
      log_speedup += std::log(*member->speedup);
      log_speedup_row += std::log(*member->speedup_row);
      has_raw = has_raw && member->speedup_raw.has_value();
      if (member->speedup_raw) log_speedup_raw += std::log(*member->speedup_raw);
      log_ceiling += std::log(*member->speedup_ceiling);
      above050 += *member->relative_accuracy > 0.5;
      above075 += *member->relative_accuracy > 0.75;
      above095 += *member->relative_accuracy > 0.95;
    }
    const double count = static_cast<double>(members.size());
    point.relative_accuracy = relative / count;
    point.speedup = std::exp(log_speedup / count);
    point.speedup_row = std::exp(log_speedup_row / count);
    if (has_raw) point.speedup_raw = std::exp(log_speedup_raw / count);
    point.speedup_ceiling = std::exp(log_ceiling / count);
    point.frac_above_050 = above050 / count;
    point.frac_above_075 = above075 / count;
    point.frac_above_095 = above095 / count;
    point.timing_note = "geometric mean of the per-dataset speedups";
    summary.push_back(std::move(point));
  }
  return summary;
}

}  // namespace maddness::experiment
