// Prototype optimization by ridge regression (spec 5.2), without materializing G.
#include <Eigen/Dense>
#include <algorithm>
#include <string>

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
    // Say why: empty buckets give zero rows and columns; without them, C >= 2 codebooks still
    // make G^T G singular, since each codebook's 16 bucket indicators sum to the same all-ones
    // column. A tiny lambda next to row counts in the thousands does not help in floating point.
    std::size_t empty_buckets = 0;
    for (Eigen::Index i = 0; i < n; ++i) empty_buckets += system(i, i) == ridge_lambda ? 1 : 0;
    const std::string reason =
        empty_buckets > 0
            ? StrCat(empty_buckets, " of the ", unknowns, " buckets are empty")
            : StrCat("no bucket is empty, but with ", num_codebooks,
                     " codebooks the bucket indicators are linearly dependent: every codebook's "
                     "16 add up to the same all-ones column");
    Fail("ridge_lambda is ", ridge_lambda, "; the prototype regression is singular (", reason,
         "), so lambda must be large enough to make it solvable: use a lambda that is not "
         "negligible next to the training row count (the default, 1, works)");
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
namespace {

// Sums over the training rows in the product space (Y = X B) for the prototype choice. Bucket
// i = c * 16 + k is code k of codebook c; n = 16C buckets, M outputs.
struct ProductSums {
  Eigen::MatrixXd gram;    // G^T G (n x n): co-occurrence counts; its diagonal counts rows
  Eigen::MatrixXd gram_y;  // G^T Y (n x M)
  double y_norm = 0.0;     // ||Y||^2

  // sum over the rows of ||y - g T||^2 for tables T (n x M).
  double SquaredError(const Eigen::MatrixXd& tables) const {
    return y_norm - 2.0 * (gram_y.array() * tables.array()).sum() +
           (tables.array() * (gram * tables).array()).sum();
  }
};

// G G^T (N x N): entry (r, s) counts the codebooks where rows r and s have the same code.
Eigen::MatrixXd RowGram(const std::vector<std::uint8_t>& codes, std::size_t num_rows,
                        std::size_t num_codebooks) {
  const auto size = static_cast<Eigen::Index>(num_rows);
  Eigen::MatrixXd gram(size, size);
  for (Eigen::Index r = 0; r < size; ++r) {
    const std::uint8_t* first = codes.data() + static_cast<std::size_t>(r) * num_codebooks;
    for (Eigen::Index s = 0; s <= r; ++s) {
      const std::uint8_t* second = codes.data() + static_cast<std::size_t>(s) * num_codebooks;
      double shared = 0.0;
      for (std::size_t c = 0; c < num_codebooks; ++c) shared += first[c] == second[c] ? 1.0 : 0.0;
      gram(r, s) = shared;
      gram(s, r) = shared;
    }
  }
  return gram;
}

}  // namespace

PrototypeChoice ChoosePrototypes(const TrainingSet& train, const std::vector<std::uint8_t>& codes,
                                 const MatrixView& b, const Encoder& encoder, double base_lambda) {
  PrototypeChoice choice;
  choice.lambda = base_lambda;
  const std::size_t num_rows = train.rows;
  const std::size_t dim = train.cols;
  const std::size_t num_codebooks = static_cast<std::size_t>(encoder.num_codebooks);
  const std::size_t unknowns = num_codebooks * kNumPrototypes;
  if (unknowns > kMaxLambdaSearchUnknowns || num_rows == 0) return choice;
  const auto n = static_cast<Eigen::Index>(unknowns);
  const auto m = static_cast<Eigen::Index>(b.cols);

  // One pass over the rows for the sums (plain loops: this is most of the cost). After it, each
  // candidate costs only 16C x 16C and 16C x M operations (or N x N with fewer rows than buckets).
  const RowMatrixD b_double = ToDoubleMatrix(b);
  const RowMatrixD product =
      Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
          train.values.data(), static_cast<Eigen::Index>(num_rows), static_cast<Eigen::Index>(dim))
          .cast<double>() *
      b_double;
  std::vector<double> counts(unknowns * unknowns, 0.0);
  std::vector<double> gram_product(unknowns * b.cols, 0.0);
  double y_norm = 0.0;
  for (std::size_t r = 0; r < num_rows; ++r) {
    const std::uint8_t* row_codes = codes.data() + r * num_codebooks;
    const double* y = product.data() + r * b.cols;
    for (std::size_t o = 0; o < b.cols; ++o) y_norm += y[o] * y[o];
    for (std::size_t c = 0; c < num_codebooks; ++c) {
      const std::size_t i = c * kNumPrototypes + row_codes[c];
      double* target = gram_product.data() + i * b.cols;
      for (std::size_t o = 0; o < b.cols; ++o) target[o] += y[o];
      double* count_row = counts.data() + i * unknowns;
      for (std::size_t c2 = 0; c2 < num_codebooks; ++c2) {
        count_row[c2 * kNumPrototypes + row_codes[c2]] += 1.0;
      }
    }
  }
  ProductSums sums;
  sums.gram = Eigen::Map<const RowMatrixD>(counts.data(), n, n);
  sums.gram_y = Eigen::Map<const RowMatrixD>(gram_product.data(), n, m);
  sums.y_norm = y_norm;

  // With the bucket means T0 and R = Y - G T0, the ridge step of each candidate is
  // W = (G^T G + lambda I)^-1 G^T R, or with fewer rows than buckets the same matrix as
  // G^T (G G^T + lambda I)^-1 R, a smaller system. Its GCV error is RSS / (1 - a df / N)^2 with
  // a = kGcvFreedomWeight,
  // RSS = ||R - G W||^2 and df = sum_j e_j / (e_j + lambda) over the eigenvalues e of G^T G
  // (the nonzero ones are those of G G^T).
  // T0: the encoder's prototypes are the bucket means (LearnTrees), so T0 = P0 B.
  const Eigen::MatrixXd means = PrototypesAsDouble(encoder) * b_double;
  const bool by_rows = num_rows < unknowns;
  Eigen::MatrixXd row_gram;
  Eigen::MatrixXd residual;
  Eigen::MatrixXd gram_residual;
  if (by_rows) {
    row_gram = RowGram(codes, num_rows, num_codebooks);
    residual = product;
    for (std::size_t r = 0; r < num_rows; ++r) {
      for (std::size_t c = 0; c < num_codebooks; ++c) {
        residual.row(static_cast<Eigen::Index>(r)) -=
            means.row(static_cast<Eigen::Index>(c * kNumPrototypes + codes[r * num_codebooks + c]));
      }
    }
  } else {
    gram_residual = sums.gram_y - sums.gram * means;
  }
  const Eigen::VectorXd eigenvalues = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(
                                          by_rows ? row_gram : sums.gram, Eigen::EigenvaluesOnly)
                                          .eigenvalues();
  const double rows = static_cast<double>(num_rows);
  // The bucket means are the limit lambda -> infinity: W = 0 and df = 0.
  double best_error = std::max(sums.SquaredError(means), 0.0);
  choice.bucket_means = true;
  for (const double factor : kLambdaFactors) {
    const double lambda = base_lambda * factor;
    if (!(lambda > 0.0)) continue;
    Eigen::MatrixXd step;
    if (by_rows) {
      Eigen::MatrixXd system = row_gram;
      system.diagonal().array() += lambda;
      const Eigen::LLT<Eigen::MatrixXd> cholesky(system);
      if (cholesky.info() != Eigen::Success) continue;
      const Eigen::MatrixXd dual = cholesky.solve(residual);
      step = Eigen::MatrixXd::Zero(n, m);
      for (std::size_t r = 0; r < num_rows; ++r) {
        for (std::size_t c = 0; c < num_codebooks; ++c) {
          step.row(static_cast<Eigen::Index>(c * kNumPrototypes + codes[r * num_codebooks + c])) +=
              dual.row(static_cast<Eigen::Index>(r));
        }
      }
    } else {
      Eigen::MatrixXd system = sums.gram;
      system.diagonal().array() += lambda;
      const Eigen::LLT<Eigen::MatrixXd> cholesky(system);
      if (cholesky.info() != Eigen::Success) continue;
      step = cholesky.solve(gram_residual);
    }
    const double rss = std::max(sums.SquaredError(means + step), 0.0);
    double freedom = 0.0;
    for (Eigen::Index j = 0; j < eigenvalues.size(); ++j) {
      const double value = std::max(eigenvalues(j), 0.0);
      freedom += value / (value + lambda);
    }
    if (!(kGcvFreedomWeight * freedom < rows)) continue;
    const double keep = 1.0 - kGcvFreedomWeight * freedom / rows;
    const double error = rss / (keep * keep);
    if (error < best_error) {
      best_error = error;
      choice.lambda = lambda;
      choice.bucket_means = false;
    }
  }
  return choice;
}

}  // namespace maddness::detail
