// Conversions between the library's views and Eigen matrices, for the float64 linear algebra of
// learning and table building.
#ifndef MADDNESS_SRC_COMMON_EIGEN_MATRIX_H_
#define MADDNESS_SRC_COMMON_EIGEN_MATRIX_H_

#include <Eigen/Dense>
#include <cstddef>

#include "maddness/maddness.h"
#include "src/common/layout.h"
#include "src/common/model_data.h"

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

// The encoder's prototypes in float64: 16C x D, row c * 16 + k for bucket k of codebook c.
inline RowMatrixD PrototypesAsDouble(const Encoder& encoder) {
  return Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
             encoder.prototypes.data(),
             static_cast<Eigen::Index>(encoder.num_codebooks) * kNumPrototypes,
             static_cast<Eigen::Index>(encoder.input_dim))
      .cast<double>();
}

}  // namespace maddness::detail

#endif  // MADDNESS_SRC_COMMON_EIGEN_MATRIX_H_
