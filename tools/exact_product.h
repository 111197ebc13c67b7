// The exact float32 products that maddness is measured against: OpenBLAS cblas_sgemm and oneDNN's
// matmul, each prepared once (oneDNN packs B into its preferred layout outside the timed call).
#ifndef MADDNESS_TOOLS_EXACT_PRODUCT_H_
#define MADDNESS_TOOLS_EXACT_PRODUCT_H_

#include <cstddef>
#include <memory>
#include <string>

namespace maddness::cli {

// C = A B with A (N x D, row-major or column-major), B (D x M, row-major), C (N x M, row-major).
// The pointers must outlive the object.
class ExactMatmul {
 public:
  virtual ~ExactMatmul() = default;
  virtual std::string name() const = 0;
  // Computes C on `threads` threads of the library's own pool.
  virtual void Run(float* c, int threads) = 0;
};

std::unique_ptr<ExactMatmul> MakeOpenBlasProduct(const float* a, bool a_col_major, std::size_t n,
                                                 std::size_t d, const float* b, std::size_t m);
std::unique_ptr<ExactMatmul> MakeOneDnnProduct(const float* a, bool a_col_major, std::size_t n,
                                               std::size_t d, const float* b, std::size_t m);

// The same product from column-major A, computed transposed: C^T = B^T A^T (M x N, row-major),
// reading A's memory as A^T (D x N, row-major). Often much faster than the products above with
// column-major A (no transposed operand for the library to handle).
std::unique_ptr<ExactMatmul> MakeOpenBlasTransposedProduct(const float* a, std::size_t n,
                                                           std::size_t d, const float* b,
                                                           std::size_t m);
std::unique_ptr<ExactMatmul> MakeOneDnnTransposedProduct(const float* a, std::size_t n,
                                                         std::size_t d, const float* b,
                                                         std::size_t m);

}  // namespace maddness::cli

#endif  // MADDNESS_TOOLS_EXACT_PRODUCT_H_
