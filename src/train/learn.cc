#include <algorithm>
#include <numeric>
#include <random>

#include "src/common/check.h"
#include "src/common/parallel.h"
#include "src/train/train.h"

namespace maddness::detail {
namespace {

// The rows to learn from: all of them, or `max_rows` drawn without replacement with `seed`
// (a partial Fisher-Yates shuffle with a fixed generator), kept in their original order.
std::vector<std::size_t> SampleRows(std::size_t num_rows, std::size_t max_rows,
                                    std::uint64_t seed) {
  std::vector<std::size_t> rows(num_rows);
  std::iota(rows.begin(), rows.end(), std::size_t{0});
  if (max_rows == 0 || max_rows >= num_rows) return rows;
  std::mt19937_64 generator(seed);
  for (std::size_t i = 0; i < max_rows; ++i) {
    // Modulo keeps the draw independent of the standard library's distribution algorithms.
    const std::size_t j = i + static_cast<std::size_t>(generator() % (num_rows - i));
    std::swap(rows[i], rows[j]);
  }
  rows.resize(max_rows);
  std::sort(rows.begin(), rows.end());
  return rows;
}

}  // namespace

Encoder LearnEncoder(const MatrixView& a_train, const MatrixView* b, const LearnOptions& options,
                     std::uint64_t* num_train_rows) {
  const std::vector<std::size_t> rows =
      SampleRows(a_train.rows, options.max_train_rows, options.seed);
  TrainingSet train;
  train.rows = rows.size();
  train.cols = a_train.cols;
  train.values.resize(train.rows * train.cols);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    for (std::size_t j = 0; j < train.cols; ++j) {
      train.values[i * train.cols + j] = a_train(rows[i], j);
    }
  }
  *num_train_rows = train.rows;

  Encoder encoder;
  const std::vector<std::uint8_t> codes =
      LearnTrees(train, options, options.objective == Objective::kProduct ? b : nullptr, &encoder);
  if (options.variant == Variant::kMaddness) {
    if (options.progress) options.progress(Progress{"fitting prototypes", 0, 1});
    FitRidgePrototypes(train, codes, options.ridge_lambda, ResolveThreads(options.threads),
                       &encoder);
    if (options.progress) options.progress(Progress{"fitting prototypes", 1, 1});
  }
  return encoder;
}

}  // namespace maddness::detail
