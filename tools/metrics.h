// Accuracy measures of an approximate product against the exact one, as the paper defines them
// (maddness-spec section 10.2).
#ifndef MADDNESS_TOOLS_METRICS_H_
#define MADDNESS_TOOLS_METRICS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "maddness/maddness.h"

namespace maddness::cli {

// The exact product A*B in float64: A is N x D, B is D x M (any strides); returns N x M,
// row-major. Works in blocks of rows, so its memory is N*M doubles plus a small buffer.
std::vector<double> ExactProduct(const MatrixView& a, const MatrixView& b);

// Normalized mean squared error: mean((Y - Yhat)^2) / var(Y), both over all N*M entries, var
// without Bessel's correction. `exact` and `approx` have the same size. NaN when var(Y) = 0.
struct ErrorStats {
  double mse = 0;
  double variance = 0;
  double nmse = 0;
};
ErrorStats CompareOutputs(const std::vector<double>& exact, const std::vector<float>& approx);

// Fraction of rows n with argmax_m(Y[n, m] + bias[m]) == labels[n] (the first maximum wins, as
// in numpy). Y is N x M row-major with N = labels.size(), bias has M entries.
template <typename T>
double ArgmaxAccuracy(const std::vector<T>& outputs, std::size_t num_outputs,
                      const std::vector<float>& bias, const std::vector<std::int64_t>& labels);

}  // namespace maddness::cli

#endif  // MADDNESS_TOOLS_METRICS_H_
