// Prototype optimization by ridge regression (spec 5.2), without materializing G.
#include <Eigen/Dense>
#include <algorithm>

#include "src/common/check.h"
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
  const Eigen::MatrixXd initial =
      Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
          encoder->prototypes.data(), n, static_cast<Eigen::Index>(dim))
          .cast<double>();
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
