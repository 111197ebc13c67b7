#include "bench/experiment/baselines/exact_product.h"

#include <cblas.h>
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

namespace maddness::baselines {
namespace {

class OpenBlasProduct : public ExactMatmul {
 public:
  OpenBlasProduct(ProductLayout layout, const float* a, std::size_t n, std::size_t d,
                  const float* b, std::size_t m)
      : layout_(layout), a_(a), n_(n), d_(d), b_(b), m_(m) {}
  std::string name() const override {
    return layout_ == ProductLayout::kTransposed ? "OpenBLAS sgemm (B^T A^T)" : "OpenBLAS sgemm";
  }
  void Run(float* c, int threads) override {
    openblas_set_num_threads(threads);
    const int n = static_cast<int>(n_);
    const int d = static_cast<int>(d_);
    const int m = static_cast<int>(m_);
    switch (layout_) {
      case ProductLayout::kRowMajor:
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, m, d, 1.0f, a_, d, b_, m, 0.0f, c,
                    m);
        break;
      case ProductLayout::kColMajor:
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, m, d, 1.0f, a_, n, b_, m, 0.0f, c,
                    m);
        break;
      case ProductLayout::kTransposed:
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, n, d, 1.0f, b_, m, a_, n, 0.0f, c,
                    n);
        break;
    }
  }

 private:
  ProductLayout layout_;
  const float* a_;
  std::size_t n_, d_;
  const float* b_;
  std::size_t m_;
};

// kRowMajor, kColMajor: source A, weights B reordered once into oneDNN's preferred layout.
// kTransposed: source B^T (M x D, B's memory read as "ba"), weights A^T (D x N, column-major A's
// memory as it is), destination M x N row-major; the weights are the input here, so they are not
// reordered ahead of time.
class OneDnnProduct : public ExactMatmul {
 public:
  OneDnnProduct(ProductLayout layout, const float* a, std::size_t n, std::size_t d, const float* b,
                std::size_t m)
      : layout_(layout), engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {
    using dnnl::memory;
    const auto rows = static_cast<memory::dim>(n);
    const auto depth = static_cast<memory::dim>(d);
    const auto cols = static_cast<memory::dim>(m);
    if (layout == ProductLayout::kTransposed) {
      const memory::desc src_desc({cols, depth}, memory::data_type::f32, memory::format_tag::ba);
      const memory::desc weights_desc({depth, rows}, memory::data_type::f32,
                                      memory::format_tag::ab);
      c_desc_ = memory::desc({cols, rows}, memory::data_type::f32, memory::format_tag::ab);
      const dnnl::matmul::primitive_desc primitive_desc(
          dnnl::matmul::desc(src_desc, weights_desc, c_desc_), engine_);
      src_memory_ = memory(src_desc, engine_, const_cast<float*>(b));
      weights_memory_ = memory(weights_desc, engine_, const_cast<float*>(a));
      matmul_ = dnnl::matmul(primitive_desc);
      return;
    }
    const memory::desc a_desc(
        {rows, depth}, memory::data_type::f32,
        layout == ProductLayout::kColMajor ? memory::format_tag::ba : memory::format_tag::ab);
    const memory::desc b_user_desc({depth, cols}, memory::data_type::f32, memory::format_tag::ab);
    const memory::desc b_any_desc({depth, cols}, memory::data_type::f32, memory::format_tag::any);
    c_desc_ = memory::desc({rows, cols}, memory::data_type::f32, memory::format_tag::ab);
    const dnnl::matmul::primitive_desc primitive_desc(
        dnnl::matmul::desc(a_desc, b_any_desc, c_desc_), engine_);
    src_memory_ = memory(a_desc, engine_, const_cast<float*>(a));
    memory b_user(b_user_desc, engine_, const_cast<float*>(b));
    weights_memory_ = memory(primitive_desc.weights_desc(), engine_);
    dnnl::reorder(b_user, weights_memory_).execute(stream_, b_user, weights_memory_);
    stream_.wait();
    matmul_ = dnnl::matmul(primitive_desc);
  }
  std::string name() const override {
    return layout_ == ProductLayout::kTransposed ? "oneDNN matmul (B^T A^T)" : "oneDNN matmul";
  }
  void Run(float* c, int threads) override {
    omp_set_num_threads(threads);
    dnnl::memory c_memory(c_desc_, engine_, c);
    matmul_.execute(stream_, {{DNNL_ARG_SRC, src_memory_},
                              {DNNL_ARG_WEIGHTS, weights_memory_},
                              {DNNL_ARG_DST, c_memory}});
    stream_.wait();
  }

 private:
  ProductLayout layout_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  dnnl::memory::desc c_desc_;
  dnnl::memory src_memory_;
  dnnl::memory weights_memory_;
  dnnl::matmul matmul_;
};

}  // namespace

std::unique_ptr<ExactMatmul> MakeOpenBlasProduct(ProductLayout layout, const float* a,
                                                 std::size_t n, std::size_t d, const float* b,
                                                 std::size_t m) {
  return std::make_unique<OpenBlasProduct>(layout, a, n, d, b, m);
}

std::unique_ptr<ExactMatmul> MakeOneDnnProduct(ProductLayout layout, const float* a, std::size_t n,
                                               std::size_t d, const float* b, std::size_t m) {
  return std::make_unique<OneDnnProduct>(layout, a, n, d, b, m);
}

}  // namespace maddness::baselines
