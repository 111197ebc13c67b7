#include "tools/metrics.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>

namespace maddness::cli {
namespace {

using MatrixXdRowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Copies rows [begin, end) of `view` into a float64 matrix.
MatrixXdRowMajor ToDouble(const MatrixView& view, std::size_t begin, std::size_t end) {
  MatrixXdRowMajor result(static_cast<Eigen::Index>(end - begin),
                          static_cast<Eigen::Index>(view.cols));
  for (std::size_t r = begin; r < end; ++r) {
    for (std::size_t c = 0; c < view.cols; ++c) {
      result(static_cast<Eigen::Index>(r - begin), static_cast<Eigen::Index>(c)) = view(r, c);
    }
  }
  return result;
}

}  // namespace

std::vector<double> ExactProduct(const MatrixView& a, const MatrixView& b) {
  // Rows per block: bounds the float64 copy of A to about 32 MiB.
  const std::size_t block_rows =
      std::max<std::size_t>(1, (std::size_t{4} << 20) / std::max<std::size_t>(1, a.cols));
  const MatrixXdRowMajor b_double = ToDouble(b, 0, b.rows);
  std::vector<double> result(a.rows * b.cols);
  for (std::size_t begin = 0; begin < a.rows; begin += block_rows) {
    const std::size_t end = std::min(a.rows, begin + block_rows);
    Eigen::Map<MatrixXdRowMajor> out(result.data() + begin * b.cols,
                                     static_cast<Eigen::Index>(end - begin),
                                     static_cast<Eigen::Index>(b.cols));
    out.noalias() = ToDouble(a, begin, end) * b_double;
  }
  return result;
}

ErrorStats CompareOutputs(const std::vector<double>& exact, const std::vector<float>& approx) {
  ErrorStats stats;
  const std::size_t count = exact.size();
  if (count == 0 || approx.size() != count) {
    stats.mse = stats.variance = stats.nmse = std::numeric_limits<double>::quiet_NaN();
    return stats;
  }
  double sum = 0;
  for (double value : exact) sum += value;
  const double mean = sum / static_cast<double>(count);
  double squared_deviation = 0;
  double squared_error = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const double deviation = exact[i] - mean;
    const double error = exact[i] - static_cast<double>(approx[i]);
    squared_deviation += deviation * deviation;
    squared_error += error * error;
  }
  stats.mse = squared_error / static_cast<double>(count);
  stats.variance = squared_deviation / static_cast<double>(count);
  stats.nmse =
      stats.variance > 0 ? stats.mse / stats.variance : std::numeric_limits<double>::quiet_NaN();
  return stats;
}

template <typename T>
double ArgmaxAccuracy(const std::vector<T>& outputs, std::size_t num_outputs,
                      const std::vector<float>& bias, const std::vector<std::int64_t>& labels) {
  if (labels.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::size_t correct = 0;
  for (std::size_t n = 0; n < labels.size(); ++n) {
    const T* row = outputs.data() + n * num_outputs;
    std::size_t best = 0;
    double best_score = static_cast<double>(row[0]) + bias[0];
    for (std::size_t m = 1; m < num_outputs; ++m) {
      const double score = static_cast<double>(row[m]) + bias[m];
      if (score > best_score) {
        best = m;
        best_score = score;
      }
    }
    correct += static_cast<std::int64_t>(best) == labels[n];
  }
  return static_cast<double>(correct) / static_cast<double>(labels.size());
}

template double ArgmaxAccuracy<float>(const std::vector<float>&, std::size_t,
                                      const std::vector<float>&, const std::vector<std::int64_t>&);
template double ArgmaxAccuracy<double>(const std::vector<double>&, std::size_t,
                                       const std::vector<float>&, const std::vector<std::int64_t>&);

}  // namespace maddness::cli
