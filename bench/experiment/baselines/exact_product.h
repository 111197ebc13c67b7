// The exact float32 products that maddness is measured against: OpenBLAS cblas_sgemm and oneDNN's
// matmul, each prepared once (oneDNN packs B into its preferred layout outside the timed call).
// Used by `maddness bench`, `maddness demo`, the experiment suite and the kernel benchmarks.
#ifndef MADDNESS_BENCH_EXPERIMENT_BASELINES_EXACT_PRODUCT_H_
#define MADDNESS_BENCH_EXPERIMENT_BASELINES_EXACT_PRODUCT_H_

#include <cstddef>
#include <memory>
#include <string>

namespace maddness::baselines {

// How a product reads A (N x D) and writes its result; B (D x M) is always row-major.
enum class ProductLayout {
  // A row-major; C = A B, N x M row-major.
  kRowMajor,
  // A column-major; C = A B, N x M row-major (the library handles the transposed operand).
  kColMajor,
  // A column-major, computed transposed: C^T = B^T A^T, M x N row-major, reading A's memory as
  // A^T (D x N, row-major). Often much faster than kColMajor (no transposed operand).
  kTransposed,
};

// kColMajor when `col_major`, else kRowMajor.
inline ProductLayout LayoutOfA(bool col_major) {
  return col_major ? ProductLayout::kColMajor : ProductLayout::kRowMajor;
}

// A prepared product. The pointers given to Make*Product must outlive the object.
class ExactMatmul {
 public:
  virtual ~ExactMatmul() = default;
  virtual std::string name() const = 0;
  // Computes C on `threads` threads of the library's own pool.
  virtual void Run(float* c, int threads) = 0;
};

std::unique_ptr<ExactMatmul> MakeOpenBlasProduct(ProductLayout layout, const float* a,
                                                 std::size_t n, std::size_t d, const float* b,
                                                 std::size_t m);
std::unique_ptr<ExactMatmul> MakeOneDnnProduct(ProductLayout layout, const float* a, std::size_t n,
                                               std::size_t d, const float* b, std::size_t m);

}  // namespace maddness::baselines

#endif  // MADDNESS_BENCH_EXPERIMENT_BASELINES_EXACT_PRODUCT_H_
