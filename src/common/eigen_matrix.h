// Conversions between the library's views and Eigen matrices, for the float64 linear algebra of
// learning and table building.
#ifndef MADDNESS_SRC_COMMON_EIGEN_MATRIX_H_
#define MADDNESS_SRC_COMMON_EIGEN_MATRIX_H_

#include <Eigen/Dense>
#include <cstddef>

#include "maddness/maddness.h"

namespace maddness::detail {

using RowMatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// A copy of `view` (any strides) in float64, row-major.
inline RowMatrixD ToDoubleMatrix(const MatrixView& view) {
  RowMatrixD matrix(static_cast<Eigen::Index>(view.rows), static_cast<Eigen::Index>(view.cols));
  for (std::size_t r = 0; r < view.rows; ++r) {
    for (std::size_t c = 0; c < view.cols; ++c) {
      matrix(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(c)) = view(r, c);
    }
  }
  return matrix;
}

}  // namespace maddness::detail

#endif  // MADDNESS_SRC_COMMON_EIGEN_MATRIX_H_
