// A linear classifier for the demo and the experiments: multinomial logistic (softmax) regression
// with an L2 penalty on the weights and an unpenalized bias, fitted by a deterministic batch
// optimizer.
//
// The fit minimizes, over W (D x K) and b (K),
//   f(W, b) = (1/N) sum_n [log sum_k exp(z_nk) - z_n,y_n] + (l2 / 2) ||W||_F^2,   z_n = x_n W + b,
// with L-BFGS (Armijo backtracking). Two things make a few iterations enough on image data:
//   - the rows are centred (implicitly: z_n = (x_n - mu) W + b', which changes the bias only, not
//     the objective), and
//   - the weights are optimized in whitened coordinates V = L^T W, where L L^T = c Sigma + l2 I,
//     Sigma the covariance of the rows (estimated on a subsample, with the full data's diagonal)
//     and c = 0.1 a typical softmax curvature. This is an exact change of variables: the minimizer
//     is the same, only the conditioning improves.
// The products with the data are float32 (or, with `float64`, float64) OpenBLAS GEMMs over blocks
// of rows (the block stays in cache between the forward and the gradient product); sums over
// blocks, the softmax, the optimizer and the preconditioner are float64. Nothing is random: the
// same inputs on the same machine give the same classifier. OpenBLAS runs with its current thread
// setting (openblas_set_num_threads); the demo fits on one thread.
#ifndef MADDNESS_BENCH_EXPERIMENT_BASELINES_LINEAR_CLASSIFIER_H_
#define MADDNESS_BENCH_EXPERIMENT_BASELINES_LINEAR_CLASSIFIER_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace maddness::baselines {

// scores = x W + bias, for rows x of D features; the predicted class is the argmax.
struct LinearClassifier {
  std::size_t num_features = 0;  // D
  std::size_t num_classes = 0;   // K
  std::vector<float> weights;    // D x K, row-major (the matrix B of A*B)
  std::vector<float> bias;       // K
};

struct SoftmaxRegressionOptions {
  // The L2 penalty l2 >= 0 on the weights (not the bias), per training row as in f above.
  double l2 = 1e-4;
  // Largest number of L-BFGS iterations (each costs about one pass over the data, two GEMMs).
  int max_iterations = 30;
  // Stops earlier once the largest gradient entry (in the whitened coordinates) is below this.
  double gradient_tolerance = 1e-6;
  // L-BFGS memory: the number of correction pairs kept.
  int history = 10;
  // Rows used to estimate the covariance of the preconditioner (evenly spaced; 0 = all).
  std::size_t preconditioner_rows = 10000;
  // Rows per block of the GEMMs.
  std::size_t block_rows = 512;
  // GEMMs in float64 instead of float32: about twice as slow; reaches the minimizer to float64
  // precision, where float32 products stop improving at a gradient of about 1e-5.
  bool float64 = false;
};

struct SoftmaxRegressionResult {
  LinearClassifier classifier;
  int iterations = 0;             // L-BFGS iterations done
  int evaluations = 0;            // objective and gradient evaluations (passes over the data)
  double objective = 0;           // f at the result
  double gradient_norm = 0;       // largest gradient entry at the result, whitened coordinates
  double mean_cross_entropy = 0;  // the data term of f at the result (training loss)
};

// Fits the classifier to `rows` training rows of `cols` features (`x`, row-major, contiguous,
// finite) with labels in [0, num_classes). Throws maddness::Error, naming the rule, on empty or
// mismatched inputs, labels out of range, num_classes < 2, non-finite values or bad options.
SoftmaxRegressionResult FitSoftmaxRegression(const float* x, std::size_t rows, std::size_t cols,
                                             const std::vector<std::int64_t>& labels,
                                             std::size_t num_classes,
                                             const SoftmaxRegressionOptions& options = {});

// The mean cross-entropy of `classifier` on the rows (the data term of f), in float64 (for tests
// and reports; one row at a time, no BLAS).
double MeanCrossEntropy(const LinearClassifier& classifier, const float* x, std::size_t rows,
                        const std::vector<std::int64_t>& labels);

}  // namespace maddness::baselines

#endif  // MADDNESS_BENCH_EXPERIMENT_BASELINES_LINEAR_CLASSIFIER_H_
