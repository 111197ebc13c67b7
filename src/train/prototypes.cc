// Prototype optimization by ridge regression (spec 5.2), without materializing G.
#include <Eigen/Dense>
#include <algorithm>

#include "src/common/check.h"
#include "src/common/eigen_matrix.h"
#include "src/common/parallel.h"
#include "src/train/train.h"

namespace maddness::detail {

void FitRidgePrototypes(const TrainingSet& train, const std::vector<std::uint8_t>& codes,
                        double ridge_lambda, int threads, Encoder* encoder,
                        const Reducer& reducer) {
  const std::size_t num_rows = train.rows;
  const std::size_t dim = train.cols;
  const std::size_t num_codebooks = static_cast<std::size_t>(encoder->num_codebooks);
  const std::size_t unknowns = num_codebooks * kNumPrototypes;

  // G^T G: co-occurrence counts of (codebook, code) pairs. Exact in integers.
  std::vector<std::int64_t> counts(unknowns * unknowns, 0);
  for (std::size_t r = 0; r < num_rows; ++r) {
    const std::uint8_t* row_codes = codes.data() + r * num_codebooks;
    for (std::size_t c1 = 0; c1 < num_codebooks; ++c1) {
      const std::size_t i = c1 * kNumPrototypes + row_codes[c1];
      for (std::size_t c2 = 0; c2 < num_codebooks; ++c2) {
        ++counts[i * unknowns + c2 * kNumPrototypes + row_codes[c2]];
      }
    }
  }
  reducer.AllReduceSum(counts.data(), counts.size());

  // G^T X, one column slice per task: each entry is summed in row order, whatever the number of
  // threads, so the model does not depend on it.
  Eigen::MatrixXd gram_x =
      Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(unknowns), static_cast<Eigen::Index>(dim));
  constexpr std::size_t kSliceColumns = 64;
  const std::size_t num_slices = (dim + kSliceColumns - 1) / kSliceColumns;
  ParallelFor(num_slices, threads, [&](std::size_t slice) {
    const std::size_t begin = slice * kSliceColumns;
    const std::size_t end = std::min(dim, begin + kSliceColumns);
    std::vector<double> partial(unknowns * (end - begin), 0.0);
    for (std::size_t r = 0; r < num_rows; ++r) {
      const float* x = train.row(r);
      const std::uint8_t* row_codes = codes.data() + r * num_codebooks;
      for (std::size_t c = 0; c < num_codebooks; ++c) {
        double* target = partial.data() + (c * kNumPrototypes + row_codes[c]) * (end - begin);
        for (std::size_t j = begin; j < end; ++j) target[j - begin] += x[j];
      }
    }
    for (std::size_t i = 0; i < unknowns; ++i) {
      for (std::size_t j = begin; j < end; ++j) {
        gram_x(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) =
            partial[i * (end - begin) + (j - begin)];
      }
    }
  });
  reducer.AllReduceSum(gram_x.data(), static_cast<std::size_t>(gram_x.size()));

  const auto n = static_cast<Eigen::Index>(unknowns);
  Eigen::MatrixXd system(n, n);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < n; ++j) {
      system(i, j) = static_cast<double>(counts[static_cast<std::size_t>(i * n + j)]);
    }
  }
  const Eigen::MatrixXd initial = PrototypesAsDouble(*encoder);
  // G^T R = G^T X - G^T G P0, with R the residual of the bucket-mean reconstruction.
  const Eigen::MatrixXd gram_residual = gram_x - system * initial;
  system.diagonal().array() += ridge_lambda;
  const Eigen::LLT<Eigen::MatrixXd> cholesky(system);
  if (cholesky.info() != Eigen::Success) {
    Fail("ridge_lambda is ", ridge_lambda,
         "; the prototype regression is singular (some buckets are empty), use a lambda > 0");
  }
  const Eigen::MatrixXd correction = cholesky.solve(gram_residual);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < static_cast<Eigen::Index>(dim); ++j) {
      encoder->prototypes[static_cast<std::size_t>(i) * dim + static_cast<std::size_t>(j)] =
          static_cast<float>(initial(i, j) + correction(i, j));
    }
  }
}

}  // namespace maddness::detail

namespace maddness::detail {

double ChooseRidgeLambda(const TrainingSet& train, const std::vector<std::uint8_t>& codes,
                         const MatrixView& b, const Encoder& encoder, double base_lambda) {
  const std::size_t num_rows = train.rows;
  const std::size_t dim = train.cols;
  const std::size_t num_codebooks = static_cast<std::size_t>(encoder.num_codebooks);
  const std::size_t unknowns = num_codebooks * kNumPrototypes;
  const std::size_t outputs = b.cols;
  if (unknowns > kMaxLambdaSearchUnknowns || num_rows == 0) return base_lambda;
  const auto n = static_cast<Eigen::Index>(unknowns);
  const auto m = static_cast<Eigen::Index>(outputs);

  // Everything in the product space: Y = X B, T0 = P0 B, R = Y - G T0 (its rows are residuals).
  using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const RowMatrix b_double = ToDoubleMatrix(b);
  const RowMatrix product =
      Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
          train.values.data(), static_cast<Eigen::Index>(num_rows), static_cast<Eigen::Index>(dim))
          .cast<double>() *
      b_double;
  const RowMatrix initial_tables = PrototypesAsDouble(encoder) * b_double;
  // G^T G, G^T Y and ||Y||^2 in one pass over the rows (plain arrays: this loop is most of the
  // cost), then G^T R = G^T Y - G^T G T0 and ||R||^2 = ||Y||^2 - 2 <G^T Y, T0> + <T0, G^T G T0>
  // for R = Y - G T0. After these, each candidate costs only 16C x 16C and 16C x M operations.
  std::vector<double> counts(unknowns * unknowns, 0.0);
  std::vector<double> gram_product(unknowns * outputs, 0.0);
  for (std::size_t r = 0; r < num_rows; ++r) {
    const std::uint8_t* row_codes = codes.data() + r * num_codebooks;
    const double* y = product.data() + r * outputs;
    for (std::size_t c = 0; c < num_codebooks; ++c) {
      const std::size_t i = c * kNumPrototypes + row_codes[c];
      double* target = gram_product.data() + i * outputs;
      for (std::size_t o = 0; o < outputs; ++o) target[o] += y[o];
      double* count_row = counts.data() + i * unknowns;
      for (std::size_t c2 = 0; c2 < num_codebooks; ++c2) {
        count_row[c2 * kNumPrototypes + row_codes[c2]] += 1.0;
      }
    }
  }
  const Eigen::MatrixXd gram = Eigen::Map<const RowMatrix>(counts.data(), n, n);
  const Eigen::MatrixXd gram_y = Eigen::Map<const RowMatrix>(gram_product.data(), n, m);
  const Eigen::MatrixXd gram_initial = gram * initial_tables;
  const Eigen::MatrixXd gram_residual = gram_y - gram_initial;
  const double residual_norm = product.squaredNorm() -
                               2.0 * (gram_y.array() * initial_tables.array()).sum() +
                               (initial_tables.array() * gram_initial.array()).sum();
  const Eigen::VectorXd eigenvalues =
      Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(gram, Eigen::EigenvaluesOnly).eigenvalues();

  // Generalized cross-validation of the ridge step for each candidate: RSS / (1 - df / N)^2,
  // with RSS = ||R - G W||^2 = ||R||^2 - 2 <G^T R, W> + <W, G^T G W> for W the ridge solution and
  // df = trace(G (G^T G + lambda I)^-1 G^T) = sum_j e_j / (e_j + lambda), e the eigenvalues of
  // G^T G: the leave-one-out error with every row's leverage replaced by the mean.
  const double rows = static_cast<double>(num_rows);
  double best_lambda = base_lambda;
  double best_error = HUGE_VAL;
  for (const double factor : kLambdaFactors) {
    const double lambda = base_lambda * factor;
    if (!(lambda > 0.0)) continue;
    Eigen::MatrixXd system = gram;
    system.diagonal().array() += lambda;
    const Eigen::LLT<Eigen::MatrixXd> cholesky(system);
    if (cholesky.info() != Eigen::Success) continue;
    const Eigen::MatrixXd correction = cholesky.solve(gram_residual);
    const double rss = residual_norm - 2.0 * (gram_residual.array() * correction.array()).sum() +
                       (correction.array() * (gram * correction).array()).sum();
    double freedom = 0.0;
    for (Eigen::Index j = 0; j < eigenvalues.size(); ++j) {
      const double value = std::max(eigenvalues(j), 0.0);
      freedom += value / (value + lambda);
    }
    if (!(freedom < rows)) continue;
    const double keep = 1.0 - freedom / rows;
    const double error = std::max(rss, 0.0) / (keep * keep);
    if (error < best_error) {
      best_error = error;
      best_lambda = lambda;
    }
  }
  return best_lambda;
}

}  // namespace maddness::detail
