#include "bench/experiment/baselines/linear_classifier.h"

#include <cblas.h>

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <sstream>
#include <string>
#include <type_traits>

#include "maddness/maddness.h"

namespace maddness::baselines {
namespace {

// The typical curvature of the softmax loss per unit of data covariance (p (1 - p) averaged over
// classes and rows, a little below its maximum 1/4): scales Sigma in the preconditioner.
constexpr double kCurvature = 0.1;
// Armijo's sufficient-decrease constant and the most halvings of one line search.
constexpr double kArmijo = 1e-4;
constexpr int kMaxHalvings = 40;
// Largest sizes accepted (keeps int GEMM arguments and products far from overflow).
constexpr std::size_t kMaxSize = std::size_t{1} << 30;

template <typename... Parts>
[[noreturn]] void Fail(const Parts&... parts) {
  std::ostringstream message;
  message << "softmax regression: ";
  (message << ... << parts);
  throw Error(message.str());
}

using Matrix = Eigen::MatrixXd;
using Vector = Eigen::VectorXd;

// C = op(A) B for row-major matrices, in float32 or float64.
void Gemm(bool transpose_a, int m, int n, int k, const float* a, int lda, const float* b, int ldb,
          float* c, int ldc) {
  cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, CblasNoTrans, m, n, k, 1.0f,
              a, lda, b, ldb, 0.0f, c, ldc);
}
void Gemm(bool transpose_a, int m, int n, int k, const double* a, int lda, const double* b, int ldb,
          double* c, int ldc) {
  cblas_dgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, CblasNoTrans, m, n, k, 1.0, a,
              lda, b, ldb, 0.0, c, ldc);
}

// The objective and its gradient with respect to the optimization variables
// v = [vec(V) (D*K, column-major); b' (K)], with W = L^-T V and scores z = (x - mu) W + b'.
// T is the type of the GEMMs (float: the rows are used in place; double: converted by block).
template <typename T>
class SoftmaxObjective {
 public:
  SoftmaxObjective(const float* x, std::size_t rows, std::size_t cols,
                   const std::vector<std::int64_t>& labels, std::size_t num_classes,
                   const SoftmaxRegressionOptions& options)
      : x_(x),
        rows_(rows),
        cols_(cols),
        classes_(num_classes),
        labels_(labels),
        l2_(options.l2),
        block_rows_(std::min(options.block_rows, rows)),
        mean_(Vector::Zero(static_cast<Eigen::Index>(cols))) {
    BuildPreconditioner(options.preconditioner_rows);
    scores_.resize(block_rows_ * classes_);
    if constexpr (!std::is_same_v<T, float>) block_.resize(block_rows_ * cols_);
    weights_.resize(cols_ * classes_);
    block_gradient_.resize(cols_ * classes_);
  }

  Eigen::Index size() const { return static_cast<Eigen::Index>((cols_ + 1) * classes_); }

  // W = L^-T V.
  Matrix Weights(const Vector& v) const {
    const Eigen::Map<const Matrix> v_matrix(v.data(), static_cast<Eigen::Index>(cols_),
                                            static_cast<Eigen::Index>(classes_));
    return factor_.matrixU().solve(v_matrix);
  }

  // The classifier on the raw rows: weights W and bias b' - mu^T W.
  LinearClassifier Classifier(const Vector& v) const {
    const Matrix w = Weights(v);
    LinearClassifier classifier;
    classifier.num_features = cols_;
    classifier.num_classes = classes_;
    classifier.weights.resize(cols_ * classes_);
    classifier.bias.resize(classes_);
    const Vector shift = w.transpose() * mean_;
    for (std::size_t k = 0; k < classes_; ++k) {
      const auto kk = static_cast<Eigen::Index>(k);
      for (std::size_t j = 0; j < cols_; ++j) {
        classifier.weights[j * classes_ + k] =
            static_cast<float>(w(static_cast<Eigen::Index>(j), kk));
      }
      classifier.bias[k] =
          static_cast<float>(v(static_cast<Eigen::Index>(cols_ * classes_ + k)) - shift(kk));
    }
    return classifier;
  }

  // Returns f(v) and writes its gradient; `cross_entropy` gets the data term.
  double Evaluate(const Vector& v, Vector* gradient, double* cross_entropy) {
    const auto d = static_cast<Eigen::Index>(cols_);
    const auto k_count = static_cast<Eigen::Index>(classes_);
    const Matrix w = Weights(v);
    const Vector bias = v.tail(k_count) - w.transpose() * mean_;
    for (std::size_t j = 0; j < cols_; ++j) {
      for (std::size_t k = 0; k < classes_; ++k) {
        weights_[j * classes_ + k] =
            static_cast<T>(w(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(k)));
      }
    }
    Matrix data_gradient = Matrix::Zero(d, k_count);  // sum_n x_n^T (p_n - e_yn)
    Vector residual_sum = Vector::Zero(k_count);      // sum_n (p_n - e_yn)
    std::vector<double> exps(classes_);
    double loss = 0;
    const int k_int = static_cast<int>(classes_);
    const int d_int = static_cast<int>(cols_);
    for (std::size_t begin = 0; begin < rows_; begin += block_rows_) {
      const std::size_t count = std::min(block_rows_, rows_ - begin);
      const T* block = Block(begin, count);
      Gemm(false, static_cast<int>(count), k_int, d_int, block, d_int, weights_.data(), k_int,
           scores_.data(), k_int);
      for (std::size_t r = 0; r < count; ++r) {
        T* z = scores_.data() + r * classes_;
        double largest = -std::numeric_limits<double>::infinity();
        for (std::size_t k = 0; k < classes_; ++k) {
          exps[k] = static_cast<double>(z[k]) + bias(static_cast<Eigen::Index>(k));
          largest = std::max(largest, exps[k]);
        }
        const auto label = static_cast<std::size_t>(labels_[begin + r]);
        const double label_score = exps[label];
        double sum = 0;
        for (std::size_t k = 0; k < classes_; ++k) {
          exps[k] = std::exp(exps[k] - largest);
          sum += exps[k];
        }
        loss += largest + std::log(sum) - label_score;
        for (std::size_t k = 0; k < classes_; ++k) {
          const double residual = exps[k] / sum - (k == label ? 1.0 : 0.0);
          residual_sum(static_cast<Eigen::Index>(k)) += residual;
          z[k] = static_cast<T>(residual);
        }
      }
      Gemm(true, d_int, k_int, static_cast<int>(count), block, d_int, scores_.data(), k_int,
           block_gradient_.data(), k_int);
      for (std::size_t j = 0; j < cols_; ++j) {
        for (std::size_t k = 0; k < classes_; ++k) {
          data_gradient(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(k)) +=
              block_gradient_[j * classes_ + k];
        }
      }
    }
    const double n = static_cast<double>(rows_);
    // Centring: sum_n (x_n - mu)^T r_n = sum_n x_n^T r_n - mu (sum_n r_n)^T.
    const Matrix w_gradient = (data_gradient - mean_ * residual_sum.transpose()) / n + l2_ * w;
    gradient->resize(size());
    Eigen::Map<Matrix>(gradient->data(), d, k_count) = factor_.matrixL().solve(w_gradient);
    gradient->tail(k_count) = residual_sum / n;
    *cross_entropy = loss / n;
    return loss / n + 0.5 * l2_ * w.squaredNorm();
  }

 private:
  // Rows [begin, begin + count) as a row-major T matrix.
  const T* Block(std::size_t begin, std::size_t count) {
    const float* rows = x_ + begin * cols_;
    if constexpr (std::is_same_v<T, float>) {
      return rows;
    } else {
      std::copy(rows, rows + count * cols_, block_.begin());
      return block_.data();
    }
  }

  // Mean of the rows, and the Cholesky factor of c Sigma + shift I.
  void BuildPreconditioner(std::size_t sample_rows) {
    const auto d = static_cast<Eigen::Index>(cols_);
    Vector sum = Vector::Zero(d);
    Vector sum_squares = Vector::Zero(d);
    for (std::size_t r = 0; r < rows_; ++r) {
      const float* row = x_ + r * cols_;
      for (std::size_t j = 0; j < cols_; ++j) {
        const double value = row[j];
        sum(static_cast<Eigen::Index>(j)) += value;
        sum_squares(static_cast<Eigen::Index>(j)) += value * value;
      }
    }
    const double n = static_cast<double>(rows_);
    mean_ = sum / n;
    const Vector variance =
        (sum_squares / n - mean_.cwiseProduct(mean_)).cwiseMax(0.0);  // of every row

    // Covariance of evenly spaced rows, centred by the full mean (float32 SYRK).
    const std::size_t stride =
        sample_rows == 0 || sample_rows >= rows_ ? 1 : (rows_ + sample_rows - 1) / sample_rows;
    const std::size_t samples = (rows_ + stride - 1) / stride;
    std::vector<float> centred(samples * cols_);
    for (std::size_t s = 0; s < samples; ++s) {
      const float* row = x_ + s * stride * cols_;
      for (std::size_t j = 0; j < cols_; ++j) {
        centred[s * cols_ + j] =
            static_cast<float>(static_cast<double>(row[j]) - mean_(static_cast<Eigen::Index>(j)));
      }
    }
    std::vector<float> gram(cols_ * cols_, 0.0f);  // upper triangle, row-major
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, static_cast<int>(cols_),
                static_cast<int>(samples), 1.0f, centred.data(), static_cast<int>(cols_), 0.0f,
                gram.data(), static_cast<int>(cols_));
    Matrix covariance(d, d);
    for (std::size_t i = 0; i < cols_; ++i) {
      for (std::size_t j = i; j < cols_; ++j) {
        const auto row = static_cast<Eigen::Index>(i);
        const auto col = static_cast<Eigen::Index>(j);
        covariance(row, col) = covariance(col, row) =
            static_cast<double>(gram[i * cols_ + j]) / static_cast<double>(samples);
      }
    }
    // The full data's variance where the sample saw less: every direction with data keeps
    // curvature, and the matrix stays positive semi-definite (a non-negative diagonal is added).
    covariance.diagonal() = covariance.diagonal().cwiseMax(variance);
    covariance *= kCurvature;
    // A tiny shift keeps the factorization defined for constant columns when l2 = 0.
    const double shift = l2_ + 1e-6 * (covariance.trace() / static_cast<double>(cols_)) + 1e-12;
    covariance.diagonal().array() += shift;
    factor_.compute(covariance);
    if (factor_.info() != Eigen::Success) {
      Fail("the preconditioner could not be factored (the training rows are degenerate)");
    }
  }

  const float* x_;
  std::size_t rows_;
  std::size_t cols_;
  std::size_t classes_;
  const std::vector<std::int64_t>& labels_;
  double l2_;
  std::size_t block_rows_;
  Vector mean_;
  Eigen::LLT<Matrix> factor_;
  std::vector<T> scores_;          // block_rows x K: scores, then residuals
  std::vector<T> weights_;         // D x K, row-major W
  std::vector<T> block_gradient_;  // D x K, row-major
  std::vector<T> block_;           // block_rows x D, the rows converted to T (double only)
};

void CheckInputs(const float* x, std::size_t rows, std::size_t cols,
                 const std::vector<std::int64_t>& labels, std::size_t num_classes,
                 const SoftmaxRegressionOptions& options) {
  if (x == nullptr || rows == 0 || cols == 0) {
    Fail("the training data is empty (", rows, " x ", cols, "); it needs rows and columns");
  }
  if (rows > kMaxSize || cols > kMaxSize / 64 || rows * cols > kMaxSize * 8) {
    Fail("the training data (", rows, " x ", cols, ") is too large");
  }
  if (num_classes < 2 || num_classes > 65536) {
    Fail("num_classes is ", num_classes, "; it must be in [2, 65536]");
  }
  if (labels.size() != rows) {
    Fail("there are ", labels.size(), " labels for ", rows, " rows; there must be one per row");
  }
  for (std::size_t n = 0; n < rows; ++n) {
    if (labels[n] < 0 || static_cast<std::size_t>(labels[n]) >= num_classes) {
      Fail("label [", n, "] is ", labels[n], "; labels must be in [0, ", num_classes, ")");
    }
  }
  for (std::size_t i = 0; i < rows * cols; ++i) {
    if (!std::isfinite(x[i])) {
      Fail("entry [", i / cols, ", ", i % cols, "] is ", x[i], "; every value must be finite");
    }
  }
  if (!std::isfinite(options.l2) || options.l2 < 0) {
    Fail("l2 is ", options.l2, "; it must be finite and >= 0");
  }
  if (options.max_iterations < 0) {
    Fail("max_iterations is ", options.max_iterations, "; it must be >= 0");
  }
  if (options.history < 1) Fail("history is ", options.history, "; it must be >= 1");
  if (!(options.gradient_tolerance >= 0)) {
    Fail("gradient_tolerance is ", options.gradient_tolerance, "; it must be >= 0");
  }
  if (options.block_rows < 1 || options.block_rows > kMaxSize / 64) {
    Fail("block_rows is ", options.block_rows, "; it must be in [1, ", kMaxSize / 64, "]");
  }
}

double MaxAbs(const Vector& v) { return v.size() == 0 ? 0.0 : v.cwiseAbs().maxCoeff(); }

// L-BFGS (Nocedal & Wright, algorithm 7.4) with backtracking to Armijo's condition.
template <typename T>
SoftmaxRegressionResult Minimize(SoftmaxObjective<T>& objective,
                                 const SoftmaxRegressionOptions& options) {
  SoftmaxRegressionResult result;

  Vector v = Vector::Zero(objective.size());
  Vector gradient;
  double cross_entropy = 0;
  double value = objective.Evaluate(v, &gradient, &cross_entropy);
  result.evaluations = 1;
  std::deque<Vector> steps, changes;      // s_i = v_{i+1} - v_i, y_i = g_{i+1} - g_i
  std::deque<double> inverse_curvatures;  // 1 / (y_i . s_i)
  Vector next_v, next_gradient;
  while (result.iterations < options.max_iterations &&
         MaxAbs(gradient) > options.gradient_tolerance) {
    // direction = -H gradient, H the L-BFGS inverse-Hessian estimate.
    Vector direction = -gradient;
    std::vector<double> alphas(steps.size());
    for (std::size_t i = steps.size(); i-- > 0;) {
      alphas[i] = inverse_curvatures[i] * steps[i].dot(direction);
      direction -= alphas[i] * changes[i];
    }
    const double scale = steps.empty()
                             ? 1.0 / std::max(gradient.norm(), 1e-300)
                             : steps.back().dot(changes.back()) / changes.back().squaredNorm();
    direction *= scale;
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const double beta = inverse_curvatures[i] * changes[i].dot(direction);
      direction += (alphas[i] - beta) * steps[i];
    }
    double slope = gradient.dot(direction);
    if (!(slope < 0)) {  // not a descent direction (rounding): restart from steepest descent
      steps.clear();
      changes.clear();
      inverse_curvatures.clear();
      direction = -gradient / std::max(gradient.norm(), 1e-300);
      slope = gradient.dot(direction);
    }
    double step = 1.0;
    double next_value = 0;
    double next_cross_entropy = 0;
    bool accepted = false;
    for (int halving = 0; halving <= kMaxHalvings; ++halving, step *= 0.5) {
      next_v = v + step * direction;
      next_value = objective.Evaluate(next_v, &next_gradient, &next_cross_entropy);
      ++result.evaluations;
      if (std::isfinite(next_value) && next_value <= value + kArmijo * step * slope) {
        accepted = true;
        break;
      }
    }
    if (!accepted) break;  // no decrease left at float precision: v is as good as it gets
    Vector s = next_v - v;
    Vector y = next_gradient - gradient;
    const double curvature = y.dot(s);
    if (curvature > 1e-12 * y.squaredNorm()) {  // keeps H positive definite
      steps.push_back(std::move(s));
      changes.push_back(std::move(y));
      inverse_curvatures.push_back(1.0 / curvature);
      if (steps.size() > static_cast<std::size_t>(options.history)) {
        steps.pop_front();
        changes.pop_front();
        inverse_curvatures.pop_front();
      }
    }
    v.swap(next_v);
    gradient.swap(next_gradient);
    value = next_value;
    cross_entropy = next_cross_entropy;
    ++result.iterations;
  }
  result.classifier = objective.Classifier(v);
  result.objective = value;
  result.gradient_norm = MaxAbs(gradient);
  result.mean_cross_entropy = cross_entropy;
  return result;
}

}  // namespace

SoftmaxRegressionResult FitSoftmaxRegression(const float* x, std::size_t rows, std::size_t cols,
                                             const std::vector<std::int64_t>& labels,
                                             std::size_t num_classes,
                                             const SoftmaxRegressionOptions& options) {
  CheckInputs(x, rows, cols, labels, num_classes, options);
  if (options.float64) {
    SoftmaxObjective<double> objective(x, rows, cols, labels, num_classes, options);
    return Minimize(objective, options);
  }
  SoftmaxObjective<float> objective(x, rows, cols, labels, num_classes, options);
  return Minimize(objective, options);
}

double MeanCrossEntropy(const LinearClassifier& classifier, const float* x, std::size_t rows,
                        const std::vector<std::int64_t>& labels) {
  const std::size_t d = classifier.num_features;
  const std::size_t k_count = classifier.num_classes;
  std::vector<double> scores(k_count);
  double loss = 0;
  for (std::size_t n = 0; n < rows; ++n) {
    for (std::size_t k = 0; k < k_count; ++k) scores[k] = classifier.bias[k];
    for (std::size_t j = 0; j < d; ++j) {
      const double value = x[n * d + j];
      for (std::size_t k = 0; k < k_count; ++k) {
        scores[k] += value * static_cast<double>(classifier.weights[j * k_count + k]);
      }
    }
    const double largest = *std::max_element(scores.begin(), scores.end());
    double sum = 0;
    for (double score : scores) sum += std::exp(score - largest);
    loss += largest + std::log(sum) - scores[static_cast<std::size_t>(labels[n])];
  }
  return rows == 0 ? 0.0 : loss / static_cast<double>(rows);
}

}  // namespace maddness::baselines
