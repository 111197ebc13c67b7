#include "bench/experiment/baselines/methods.h"

#include <cblas.h>
#include <omp.h>

#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <oneapi/dnnl/dnnl.hpp>
#include <random>
#include <unordered_map>
#include <utility>

#include "bench/experiment/baselines/bolt_encode.h"
#include "bench/experiment/baselines/exact_product.h"
#include "bench/experiment/baselines/int8_kernels.h"
#include "bench/experiment/baselines/libraries.h"
#include "maddness/maddness.h"
#include "src/common/aligned.h"
#include "src/common/layout.h"
#include "src/common/model_data.h"
#include "src/common/parallel.h"
#include "src/lut/lut.h"
#include "src/scan/scan.h"

namespace maddness::baselines {
namespace {

// Rows of A per parallel task in the methods' own loops (quantization, encoding, sketching):
// a multiple of the scan's 64-row blocks.
constexpr std::size_t kRowsPerTask = 4096;

// Runs fn(first_row, last_row) over [0, rows) in kRowsPerTask pieces on `threads` threads.
template <typename Fn>
void ForEachRowRange(std::size_t rows, int threads, const Fn& fn) {
  const std::size_t tasks = (rows + kRowsPerTask - 1) / kRowsPerTask;
  detail::ParallelFor(tasks, threads, [&](std::size_t task) {
    const std::size_t first = task * kRowsPerTask;
    fn(first, std::min(rows, first + kRowsPerTask));
  });
}

// C = A B with OpenBLAS on `threads` threads: A (n x k), B (k x m), C (n x m), row-major.
void Sgemm(const float* a, const float* b, float* c, std::size_t n, std::size_t k, std::size_t m,
           int threads) {
  openblas_set_num_threads(threads);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(n), static_cast<int>(m),
              static_cast<int>(k), 1.0f, a, static_cast<int>(k), b, static_cast<int>(m), 0.0f, c,
              static_cast<int>(m));
}

// C = A B as Sgemm, with A column-major (element (r, j) at a[j * n + r]).
void SgemmColumnMajorA(const float* a, const float* b, float* c, std::size_t n, std::size_t k,
                       std::size_t m, int threads) {
  openblas_set_num_threads(threads);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, static_cast<int>(n), static_cast<int>(m),
              static_cast<int>(k), 1.0f, a, static_cast<int>(n), b, static_cast<int>(m), 0.0f, c,
              static_cast<int>(m));
}

class ExactMethod : public Method {
 public:
  explicit ExactMethod(std::string library) : library_(std::move(library)) {
    if (library_ != "onednn" && library_ != "openblas") {
      throw Error("exact product library '" + library_ + "': must be onednn or openblas");
    }
  }
  std::string name() const override { return "Exact"; }
  std::string params() const override { return library_ == "onednn" ? "oneDNN" : "OpenBLAS"; }
  std::string library() const override {
    return library_ == "onednn" ? OneDnnName() + ": f32 matmul, B packed"
                                : OpenBlasName() + ": cblas_sgemm";
  }
  void Fit(const float*, std::size_t, const float* b, std::size_t d, std::size_t m, int) override {
    b_.assign(b, b + d * m);
    d_ = d;
    m_ = m;
    products_[0] = Prepared();
    products_[1] = Prepared();
  }
  void Apply(const float* a, std::size_t n, float* out, int threads) override {
    Run(&products_[0], a, false, n, out, threads);
  }
  bool has_column_major() const override { return true; }
  void ApplyColumnMajor(const float* a, std::size_t n, float* out, int threads) override {
    Run(&products_[1], a, true, n, out, threads);
  }

 private:
  // A product prepared for one A (oneDNN's primitive depends on the pointer and the shape).
  struct Prepared {
    std::unique_ptr<ExactMatmul> product;
    const float* a = nullptr;
    std::size_t n = 0;
  };
  void Run(Prepared* prepared, const float* a, bool col_major, std::size_t n, float* out,
           int threads) {
    if (!prepared->product || a != prepared->a || n != prepared->n) {
      const ProductLayout layout = LayoutOfA(col_major);
      prepared->product = library_ == "onednn"
                              ? MakeOneDnnProduct(layout, a, n, d_, b_.data(), m_)
                              : MakeOpenBlasProduct(layout, a, n, d_, b_.data(), m_);
      prepared->a = a;
      prepared->n = n;
    }
    prepared->product->Run(out, detail::ResolveThreads(threads));
  }

  std::string library_;
  std::vector<float> b_;
  std::size_t d_ = 0, m_ = 0;
  Prepared products_[2];  // row-major A, column-major A
};

class ScalarQuantizeMethod : public Method {
 public:
  ScalarQuantizeMethod(Int8Codes codes, Int8Scales scales)
      : engine_(dnnl::engine::kind::cpu, 0),
        stream_(engine_),
        static_(scales == Int8Scales::kStatic) {
    const Int8Path path = OneDnnInt8Path();
    isa_name_ = path.isa;
    full_codes_ = codes == Int8Codes::kFull || (codes == Int8Codes::kCpu && path.vnni);
    if (full_codes_ && !path.vnni) {
      throw Error("int8 codes 0..255: oneDNN's int8 kernels on this CPU (ISA " + path.isa +
                  ") are not VNNI and would saturate; use codes 0..127");
    }
    levels_ = full_codes_ ? 255.0f : 127.0f;
    vnni_ = path.vnni;
  }
  std::string name() const override { return "ScalarQuantize"; }
  std::string params() const override {
    return std::string("int8 ") + (static_ ? "static per-tensor, " : "per-row, ") +
           (vnni_ ? "VNNI" : "no VNNI") + " codes 0.." + (full_codes_ ? "255" : "127") +
           " (oneDNN ISA " + isa_name_ + ")";
  }
  std::string library() const override {
    return OneDnnName() +
           ": u8 x s8 matmul; A quantized and outputs de-quantized by the "
           "suite's SIMD loops (" +
           SimdTarget() + ")";
  }

  void Fit(const float* a_train, std::size_t n_train, const float* b, std::size_t d, std::size_t m,
           int) override {
    d_ = d;
    m_ = m;
    if (static_) {
      // A's range on A_train, widened to include 0 (so that 0 has an exact code).
      float low = 0.0f, high = 0.0f;
      for (std::size_t i = 0; i < n_train * d; ++i) {
        low = std::min(low, a_train[i]);
        high = std::max(high, a_train[i]);
      }
      static_step_ = high > low ? (high - low) / levels_ : 1.0f;
      static_scale_ = 1.0f / static_step_;
      static_zero_ = std::min(levels_, std::max(0.0f, std::nearbyint(-low * static_scale_)));
    }
    b_scale_.assign(m, 0.0f);
    b_quantized_.assign(d * m, 0);
    b_code_sums_.assign(m, 0.0f);
    for (std::size_t col = 0; col < m; ++col) {
      float largest = 0.0f;
      for (std::size_t j = 0; j < d; ++j) largest = std::max(largest, std::fabs(b[j * m + col]));
      const float step = largest > 0 ? largest / 127.0f : 1.0f;
      b_scale_[col] = step;
      std::int64_t sum = 0;
      for (std::size_t j = 0; j < d; ++j) {
        const float q = std::nearbyint(b[j * m + col] / step);
        const auto code = static_cast<std::int8_t>(std::min(127.0f, std::max(-127.0f, q)));
        b_quantized_[j * m + col] = code;
        sum += code;
      }
      b_code_sums_[col] = static_cast<float>(sum);
    }
    prepared_n_ = 0;
  }

  // Runs block by block (kBlockBytes): quantize the block's rows of A, multiply, de-quantize, so
  // that the codes and the int32 sums stay in cache.
  void Apply(const float* a, std::size_t n, float* out, int threads) override {
    if (n == 0) return;
    const int resolved = detail::ResolveThreads(threads);
    if (n != prepared_n_) Prepare(n);
    omp_set_num_threads(resolved);
    for (std::size_t first = 0; first < n; first += block_rows_) {
      const std::size_t rows = std::min(block_rows_, n - first);
      // Per row: offset = min, step = (max - min) / levels, codes rounded to the nearest level;
      // or static: one scale and zero point (int8_kernels.h, SIMD).
      ForEachRowRange(rows, resolved, [&](std::size_t begin, std::size_t end) {
        if (static_) {
          QuantizeStaticU8(a + (first + begin) * d_, (end - begin) * d_, static_scale_,
                           static_zero_, levels_, a_quantized_.data() + begin * d_);
          return;
        }
        QuantizeRowsU8(a + (first + begin) * d_, end - begin, d_, levels_,
                       a_quantized_.data() + begin * d_, a_offset_.data() + first + begin,
                       a_scale_.data() + first + begin);
      });
      Block& block = rows == block_rows_ ? blocks_[0] : blocks_[1];
      block.matmul.execute(stream_, block.args);
      stream_.wait();
      // sum_j a_j b_j ~ b_scale * (a_scale * sum_j qa_j qb_j + a_offset * sum_j qb_j).
      ForEachRowRange(rows, resolved, [&](std::size_t begin, std::size_t end) {
        DequantizeRows(accumulators_.data() + begin * m_, end - begin, m_,
                       a_offset_.data() + first + begin, a_scale_.data() + first + begin,
                       b_scale_.data(), b_code_sums_.data(), out + (first + begin) * m_);
      });
    }
  }

 private:
  // Bytes of codes and int32 sums per block of rows (half of a 1 MB L2 cache).
  static constexpr std::size_t kBlockBytes = std::size_t{1} << 19;

  // A matmul primitive for one block's row count, with its arguments.
  struct Block {
    dnnl::matmul matmul;
    std::unordered_map<int, dnnl::memory> args;
  };

  // Creates the matmul primitives for n rows (once per n: one for the full blocks, one for the
  // last, shorter block) and packs B for them.
  void Prepare(std::size_t n) {
    using dnnl::memory;
    block_rows_ = std::max<std::size_t>(256, kBlockBytes / (d_ + 4 * m_)) / 64 * 64;
    block_rows_ = std::min(block_rows_, n);
    a_quantized_.assign(block_rows_ * d_, 0);
    accumulators_.assign(block_rows_ * m_, 0);
    // Static: a ~ step * code - step * z, the same for every row.
    a_offset_.assign(n, static_ ? -static_step_ * static_zero_ : 0.0f);
    a_scale_.assign(n, static_ ? static_step_ : 0.0f);
    const auto depth = static_cast<memory::dim>(d_);
    const auto cols = static_cast<memory::dim>(m_);
    const memory::desc b_user_desc({depth, cols}, memory::data_type::s8, memory::format_tag::ab);
    const memory::desc b_any_desc({depth, cols}, memory::data_type::s8, memory::format_tag::any);
    const std::size_t row_counts[2] = {block_rows_, n % block_rows_};
    for (int i = 0; i < 2; ++i) {
      blocks_[i] = Block();
      if (row_counts[i] == 0) continue;
      const auto rows = static_cast<memory::dim>(row_counts[i]);
      const memory::desc a_desc({rows, depth}, memory::data_type::u8, memory::format_tag::ab);
      const memory::desc acc_desc({rows, cols}, memory::data_type::s32, memory::format_tag::ab);
      const dnnl::matmul::primitive_desc primitive_desc(
          dnnl::matmul::desc(a_desc, b_any_desc, acc_desc), engine_);
      if (i == 0) {
        // Both primitives take B in the same packed layout (it depends on K and N only).
        memory b_user(b_user_desc, engine_, b_quantized_.data());
        b_memory_ = memory(primitive_desc.weights_desc(), engine_);
        dnnl::reorder(b_user, b_memory_).execute(stream_, b_user, b_memory_);
        stream_.wait();
      } else if (primitive_desc.weights_desc() != b_memory_.get_desc()) {
        throw Error("int8 baseline: oneDNN packs B differently for " + std::to_string(n) +
                    " rows and " + std::to_string(row_counts[i]) + " rows");
      }
      blocks_[i].matmul = dnnl::matmul(primitive_desc);
      blocks_[i].args = {{DNNL_ARG_SRC, memory(a_desc, engine_, a_quantized_.data())},
                         {DNNL_ARG_WEIGHTS, b_memory_},
                         {DNNL_ARG_DST, memory(acc_desc, engine_, accumulators_.data())}};
    }
    prepared_n_ = n;
  }

  dnnl::engine engine_;
  dnnl::stream stream_;
  bool static_ = false;  // Int8Scales::kStatic
  bool vnni_ = false, full_codes_ = false;
  float levels_ = 127.0f;  // largest code of A
  std::string isa_name_;
  // kStatic: the step, its inverse and the zero point (an integer) from A_train.
  float static_step_ = 1.0f, static_scale_ = 1.0f, static_zero_ = 0.0f;
  std::size_t d_ = 0, m_ = 0;
  std::vector<float> b_scale_;
  std::vector<std::int8_t> b_quantized_;
  std::vector<float> b_code_sums_;
  std::size_t prepared_n_ = 0, block_rows_ = 0;
  std::vector<std::uint8_t> a_quantized_;   // codes of one block
  std::vector<std::int32_t> accumulators_;  // int32 sums of one block
  std::vector<float> a_offset_, a_scale_;   // per row of A
  dnnl::memory b_memory_;
  Block blocks_[2];  // full blocks, the last block
};

class BoltMethod : public Method {
 public:
  explicit BoltMethod(int num_codebooks) : num_codebooks_(num_codebooks) {}
  std::string name() const override { return "Bolt"; }
  std::string params() const override { return "C=" + std::to_string(num_codebooks_); }
  std::string library() const override {
    return "the suite's SIMD Bolt encoder and maddness's scan (" + SimdTarget() + ")";
  }

  void Fit(const float* a_train, std::size_t n_train, const float* b, std::size_t d, std::size_t m,
           int threads) override {
    const auto codebooks = static_cast<std::size_t>(num_codebooks_);
    if (codebooks < 1 || codebooks > d) {
      throw Error("Bolt codebooks " + std::to_string(num_codebooks_) +
                  ": must be in [1, D = " + std::to_string(d) + "]");
    }
    d_ = d;
    m_ = m;
    begin_.resize(codebooks + 1);
    for (std::size_t c = 0; c <= codebooks; ++c) begin_[c] = c * d / codebooks;
    // Evenly spaced training rows, at most kBoltTrainRows.
    const std::size_t used = std::min(n_train, kBoltTrainRows);
    std::vector<std::size_t> rows(used);
    for (std::size_t i = 0; i < used; ++i) rows[i] = i * n_train / used;
    centroids_.assign(codebooks, {});
    norms_.assign(codebooks, {});
    detail::ParallelFor(codebooks, threads,
                        [&](std::size_t c) { LearnCodebook(a_train, rows, c); });
    // Float tables T[m][c][k] = centroid(c, k) . B[subspace c][m], then the library's 8-bit
    // quantization (one offset per codebook, one scale) for exact 16-bit sums.
    std::vector<double> float_tables(m * codebooks * kNumPrototypes);
    for (std::size_t col = 0; col < m; ++col) {
      for (std::size_t c = 0; c < codebooks; ++c) {
        const std::size_t width = begin_[c + 1] - begin_[c];
        for (int k = 0; k < kNumPrototypes; ++k) {
          double sum = 0;
          for (std::size_t j = 0; j < width; ++j) {
            sum += static_cast<double>(Centroid(c, j, k)) * b[(begin_[c] + j) * m + col];
          }
          float_tables[(col * codebooks + c) * kNumPrototypes + static_cast<std::size_t>(k)] = sum;
        }
      }
    }
    tables_ = detail::QuantizeTables(float_tables, num_codebooks_, m, Aggregation::kExactSum,
                                     TableScale::kGlobal);
    // The encoder's copy of the codebooks: the transposed centroids one after the other (D x 16).
    encoder_.begin = begin_;
    encoder_.centroids.clear();
    encoder_.norms.clear();
    for (std::size_t c = 0; c < codebooks; ++c) {
      encoder_.centroids.insert(encoder_.centroids.end(), centroids_[c].begin(),
                                centroids_[c].end());
      encoder_.norms.insert(encoder_.norms.end(), norms_[c].begin(), norms_[c].end());
    }
  }

  void Apply(const float* a, std::size_t n, float* out, int threads) override {
    ApplyView(MatrixView::RowMajor(a, n, d_), out, threads);
  }
  bool has_column_major() const override { return true; }
  void ApplyColumnMajor(const float* a, std::size_t n, float* out, int threads) override {
    ApplyView(MatrixView::ColMajor(a, n, d_), out, threads);
  }
  bool has_encode() const override { return true; }
  void Encode(const float* a, std::size_t n, bool col_major, int threads) override {
    const MatrixView view =
        col_major ? MatrixView::ColMajor(a, n, d_) : MatrixView::RowMajor(a, n, d_);
    codes_.resize(detail::PackedCodesBytes(n, num_codebooks_));
    const std::size_t block_bytes = detail::PackedBlockBytes(num_codebooks_);
    ForEachRowRange(n, detail::ResolveThreads(threads), [&](std::size_t first, std::size_t last) {
      const std::size_t first_block = first / detail::kBlockRows;
      BoltEncode(encoder_, view, first_block, detail::NumBlocks(last),
                 codes_.data() + first_block * block_bytes);
    });
  }

 private:
  // Encodes A (SIMD, bolt_encode.h) and scans the codes, in tasks of kRowsPerTask rows.
  void ApplyView(const MatrixView& a, float* out, int threads) {
    const std::size_t n = a.rows;
    const std::size_t pairs = static_cast<std::size_t>(detail::CodePairs(num_codebooks_));
    detail::ScanArgs args;
    args.num_rows = n;
    args.num_codebooks = num_codebooks_;
    args.luts = tables_.luts.data();
    args.output_dim = m_;
    args.aggregation = tables_.aggregation;
    args.pair_outputs = detail::PairOutputs(tables_);
    ForEachRowRange(n, detail::ResolveThreads(threads), [&](std::size_t first, std::size_t last) {
      thread_local detail::AlignedVector<std::uint8_t> packed;
      const std::size_t first_block = first / detail::kBlockRows;
      const std::size_t last_block = detail::NumBlocks(last);
      packed.resize((last_block - first_block) * pairs * detail::kBlockRows);
      BoltEncode(encoder_, a, first_block, last_block, packed.data());
      detail::ScanArgs task_args = args;
      task_args.packed_codes = packed.data();
      detail::ScanDequantizeBlocks(task_args, tables_.out_scale.data(), tables_.out_offset.data(),
                                   first_block, last_block, out, m_);
    });
  }

  // Centroids of codebook c are stored transposed, [j][k], so that the 16 distances of a row
  // are computed together (16 lanes of k).
  float Centroid(std::size_t c, std::size_t j, int k) const {
    return centroids_[c][j * kNumPrototypes + static_cast<std::size_t>(k)];
  }

  // argmin_k ||x - centroid_k||^2 = argmin_k (||centroid_k||^2 - 2 x . centroid_k), by the
  // encoder's scalar reference (bolt_encode.h).
  int NearestCentroid(const float* row, std::size_t c) const {
    const std::size_t first = begin_[c];
    return BoltNearestCentroid(row + first, 1, begin_[c + 1] - first, centroids_[c].data(),
                               norms_[c].data());
  }

  // Lloyd's k-means in codebook c's subspace, initialized by k-means++ (fixed seed: each next
  // centroid is a row drawn with probability proportional to its squared distance from the
  // nearest centroid so far); an empty cluster keeps its centroid.
  void LearnCodebook(const float* a_train, const std::vector<std::size_t>& rows, std::size_t c) {
    constexpr int kIterations = 16;
    const std::size_t first = begin_[c];
    const std::size_t width = begin_[c + 1] - first;
    std::vector<float>& transposed = centroids_[c];
    transposed.assign(width * kNumPrototypes, 0.0f);
    std::mt19937_64 random(1000 + c);
    std::vector<double> nearest(rows.size(), std::numeric_limits<double>::infinity());
    std::size_t pick = rows[random() % rows.size()];
    for (int k = 0; k < kNumPrototypes; ++k) {
      const auto slot = static_cast<std::size_t>(k);
      for (std::size_t j = 0; j < width; ++j) {
        transposed[j * kNumPrototypes + slot] = a_train[pick * d_ + first + j];
      }
      double total = 0;
      for (std::size_t i = 0; i < rows.size(); ++i) {
        double distance = 0;
        for (std::size_t j = 0; j < width; ++j) {
          const double diff =
              static_cast<double>(a_train[rows[i] * d_ + first + j]) - Centroid(c, j, k);
          distance += diff * diff;
        }
        nearest[i] = std::min(nearest[i], distance);
        total += nearest[i];
      }
      if (!(total > 0)) {
        pick = rows[random() % rows.size()];  // every row is a centroid already
        continue;
      }
      double target = std::uniform_real_distribution<double>(0.0, total)(random);
      std::size_t chosen = rows.size() - 1;
      for (std::size_t i = 0; i < rows.size(); ++i) {
        target -= nearest[i];
        if (target < 0) {
          chosen = i;
          break;
        }
      }
      pick = rows[chosen];
    }
    std::vector<double> sums(width * kNumPrototypes);
    std::vector<std::size_t> counts(kNumPrototypes);
    for (int iteration = 0; iteration <= kIterations; ++iteration) {
      UpdateNorms(c);
      if (iteration == kIterations) break;
      std::fill(sums.begin(), sums.end(), 0.0);
      std::fill(counts.begin(), counts.end(), 0);
      for (const std::size_t r : rows) {
        const float* row = a_train + r * d_;
        const auto k = static_cast<std::size_t>(NearestCentroid(row, c));
        ++counts[k];
        for (std::size_t j = 0; j < width; ++j) sums[j * kNumPrototypes + k] += row[first + j];
      }
      for (std::size_t k = 0; k < kNumPrototypes; ++k) {
        if (counts[k] == 0) continue;
        for (std::size_t j = 0; j < width; ++j) {
          transposed[j * kNumPrototypes + k] =
              static_cast<float>(sums[j * kNumPrototypes + k] / static_cast<double>(counts[k]));
        }
      }
    }
  }

  void UpdateNorms(std::size_t c) {
    const std::size_t width = begin_[c + 1] - begin_[c];
    norms_[c].assign(kNumPrototypes, 0.0f);
    for (std::size_t j = 0; j < width; ++j) {
      for (int k = 0; k < kNumPrototypes; ++k) {
        const float value = Centroid(c, j, k);
        norms_[c][static_cast<std::size_t>(k)] += value * value;
      }
    }
  }

  int num_codebooks_;
  std::size_t d_ = 0, m_ = 0;
  std::vector<std::size_t> begin_;
  std::vector<std::vector<float>> centroids_;
  std::vector<std::vector<float>> norms_;
  BoltCodebooks encoder_;
  detail::Tables tables_;
  detail::AlignedVector<std::uint8_t> codes_;  // Encode's codes
};

class MaddnessMethod : public Method {
 public:
  // `classifier`: null, or what the classifier-aware tables are fitted to (not with `pq`).
  MaddnessMethod(int num_codebooks, bool pq,
                 std::shared_ptr<const ClassifierTraining> classifier = nullptr)
      : num_codebooks_(num_codebooks), pq_(pq), classifier_(std::move(classifier)) {}
  std::string name() const override {
    return pq_ ? "MADDNESS-PQ" : classifier_ ? "MADDNESS-classifier" : "MADDNESS";
  }
  std::string params() const override { return "C=" + std::to_string(num_codebooks_); }
  std::string library() const override { return "maddness " + SimdTarget() + " kernels"; }
  void Fit(const float* a_train, std::size_t n_train, const float* b, std::size_t d, std::size_t m,
           int threads) override {
    // The library's defaults, except what defines the method; MADDNESS also chooses its ridge
    // parameter by cross-validation (an opt-in that costs learning time only, docs/design.md).
    LearnOptions options;
    options.num_codebooks = num_codebooks_;
    if (pq_) options.variant = Variant::kPq;
    options.choose_ridge_lambda = !pq_;
    options.threads = threads;
    if (classifier_) {
      options.classifier.enabled = true;
      options.classifier.labels = classifier_->train_labels;
      options.classifier.bias = classifier_->bias;
    }
    const MatrixView b_view = MatrixView::RowMajor(b, d, m);
    model_ = Model::Learn(MatrixView::RowMajor(a_train, n_train, d), &b_view, options);
  }
  void Apply(const float* a, std::size_t n, float* out, int threads) override {
    ApplyOptions options;
    options.threads = threads;
    model_.Apply(MatrixView::RowMajor(a, n, model_.input_dim()), out, 0, options);
  }
  bool has_column_major() const override { return true; }
  void ApplyColumnMajor(const float* a, std::size_t n, float* out, int threads) override {
    ApplyOptions options;
    options.threads = threads;
    model_.Apply(MatrixView::ColMajor(a, n, model_.input_dim()), out, 0, options);
  }
  bool has_raw_output() const override { return true; }
  void ApplyRaw(const float* a, std::size_t n, bool col_major, int threads) override {
    ApplyOptions options;
    options.threads = threads;
    const std::size_t d = model_.input_dim();
    const MatrixView view =
        col_major ? MatrixView::ColMajor(a, n, d) : MatrixView::RowMajor(a, n, d);
    const std::vector<std::uint8_t> codes = model_.EncodePacked(view, options);
    raw_.resize(n * model_.output_dim());
    model_.ScanPackedRaw(codes.data(), codes.size(), n, raw_.data(), 0, options);
  }
  std::vector<std::uint8_t> ModelBytes() const override { return model_.Serialize(); }

 private:
  int num_codebooks_;
  bool pq_;
  std::shared_ptr<const ClassifierTraining> classifier_;
  Model model_;
  std::vector<std::uint16_t> raw_;  // ApplyRaw's outputs
};

// (A S)(S^T B) for a dense D x d sketch S; subclasses choose S in Fit.
class DenseSketchMethod : public Method {
 public:
  DenseSketchMethod(std::string name, int sketch_dim)
      : name_(std::move(name)), sketch_dim_(static_cast<std::size_t>(sketch_dim)) {}
  std::string name() const override { return name_; }
  std::string params() const override { return "d=" + std::to_string(sketch_dim_); }
  std::string library() const override { return OpenBlasName() + ": two cblas_sgemm"; }
  void Apply(const float* a, std::size_t n, float* out, int threads) override {
    const int resolved = detail::ResolveThreads(threads);
    if (sketched_a_.size() != n * sketch_dim_) sketched_a_.assign(n * sketch_dim_, 0.0f);
    Sgemm(a, sketch_.data(), sketched_a_.data(), n, d_, sketch_dim_, resolved);
    Sgemm(sketched_a_.data(), sketched_b_.data(), out, n, sketch_dim_, m_, resolved);
  }
  bool has_column_major() const override { return true; }
  void ApplyColumnMajor(const float* a, std::size_t n, float* out, int threads) override {
    const int resolved = detail::ResolveThreads(threads);
    if (sketched_a_.size() != n * sketch_dim_) sketched_a_.assign(n * sketch_dim_, 0.0f);
    SgemmColumnMajorA(a, sketch_.data(), sketched_a_.data(), n, d_, sketch_dim_, resolved);
    Sgemm(sketched_a_.data(), sketched_b_.data(), out, n, sketch_dim_, m_, resolved);
  }

 protected:
  // Sets the sketch (d_ x sketch_dim_, row-major) and S^T B.
  void SetSketch(std::vector<float> sketch, const float* b, std::size_t d, std::size_t m) {
    d_ = d;
    m_ = m;
    sketch_ = std::move(sketch);
    sketched_b_.assign(sketch_dim_ * m, 0.0f);
    for (std::size_t j = 0; j < d; ++j) {
      for (std::size_t s = 0; s < sketch_dim_; ++s) {
        const float weight = sketch_[j * sketch_dim_ + s];
        for (std::size_t col = 0; col < m; ++col) {
          sketched_b_[s * m + col] += weight * b[j * m + col];
        }
      }
    }
  }
  void CheckSketchDim(std::size_t d) const {
    if (sketch_dim_ < 1 || sketch_dim_ > d) {
      throw Error(name_ + " sketch size " + std::to_string(sketch_dim_) +
                  ": must be in [1, D = " + std::to_string(d) + "]");
    }
  }

  std::string name_;
  std::size_t sketch_dim_;
  std::size_t d_ = 0, m_ = 0;
  std::vector<float> sketch_;
  std::vector<float> sketched_b_;
  std::vector<float> sketched_a_;
};

class PcaMethod : public DenseSketchMethod {
 public:
  explicit PcaMethod(int sketch_dim) : DenseSketchMethod("PCA", sketch_dim) {}
  void Fit(const float* a_train, std::size_t n_train, const float* b, std::size_t d, std::size_t m,
           int threads) override {
    CheckSketchDim(d);
    // Gram matrix A^T A: float32 OpenBLAS syrk (the top eigenvectors are what matter, and they
    // are well inside float32 precision), then a float64 eigendecomposition.
    std::vector<float> gram32(d * d, 0.0f);
    openblas_set_num_threads(detail::ResolveThreads(threads));
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, static_cast<int>(d),
                static_cast<int>(n_train), 1.0f, a_train, static_cast<int>(d), 0.0f, gram32.data(),
                static_cast<int>(d));
    const auto dim = static_cast<Eigen::Index>(d);
    Eigen::MatrixXd gram(dim, dim);
    for (std::size_t i = 0; i < d; ++i) {
      for (std::size_t j = i; j < d; ++j) {
        const double value = gram32[i * d + j];
        gram(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = value;
        gram(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(i)) = value;
      }
    }
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(gram);
    // Eigenvalues ascending: the top d are the last columns.
    std::vector<float> sketch(d * sketch_dim_);
    for (std::size_t s = 0; s < sketch_dim_; ++s) {
      const Eigen::Index column = dim - 1 - static_cast<Eigen::Index>(s);
      for (std::size_t j = 0; j < d; ++j) {
        sketch[j * sketch_dim_ + s] =
            static_cast<float>(solver.eigenvectors()(static_cast<Eigen::Index>(j), column));
      }
    }
    SetSketch(std::move(sketch), b, d, m);
  }
};

class GaussianSketchMethod : public DenseSketchMethod {
 public:
  GaussianSketchMethod(int sketch_dim, std::uint64_t seed)
      : DenseSketchMethod("RandGauss", sketch_dim), seed_(seed) {}
  void Fit(const float*, std::size_t, const float* b, std::size_t d, std::size_t m, int) override {
    CheckSketchDim(d);
    std::mt19937_64 random(seed_);
    std::normal_distribution<double> normal(0.0, 1.0 / std::sqrt(static_cast<double>(sketch_dim_)));
    std::vector<float> sketch(d * sketch_dim_);
    for (float& value : sketch) value = static_cast<float>(normal(random));
    SetSketch(std::move(sketch), b, d, m);
  }

 private:
  std::uint64_t seed_;
};

class HashJlMethod : public Method {
 public:
  HashJlMethod(int sketch_dim, std::uint64_t seed)
      : sketch_dim_(static_cast<std::size_t>(sketch_dim)), seed_(seed) {}
  std::string name() const override { return "HashJL"; }
  std::string params() const override { return "d=" + std::to_string(sketch_dim_); }
  std::string library() const override {
    return "C++ count sketch, then " + OpenBlasName() + ": cblas_sgemm";
  }
  void Fit(const float*, std::size_t, const float* b, std::size_t d, std::size_t m, int) override {
    if (sketch_dim_ < 1 || sketch_dim_ > d) {
      throw Error("HashJL sketch size " + std::to_string(sketch_dim_) +
                  ": must be in [1, D = " + std::to_string(d) + "]");
    }
    d_ = d;
    m_ = m;
    std::mt19937_64 random(seed_);
    bucket_.resize(d);
    sign_.resize(d);
    for (std::size_t j = 0; j < d; ++j) {
      bucket_[j] = static_cast<std::uint32_t>(random() % sketch_dim_);
      sign_[j] = (random() & 1) ? 1.0f : -1.0f;
    }
    // S^T B: row s of the sketched B sums the signed rows of B hashed to s.
    sketched_b_.assign(sketch_dim_ * m, 0.0f);
    for (std::size_t j = 0; j < d; ++j) {
      for (std::size_t col = 0; col < m; ++col) {
        sketched_b_[bucket_[j] * m + col] += sign_[j] * b[j * m + col];
      }
    }
  }
  void Apply(const float* a, std::size_t n, float* out, int threads) override {
    const int resolved = detail::ResolveThreads(threads);
    if (sketched_a_.size() != n * sketch_dim_) sketched_a_.assign(n * sketch_dim_, 0.0f);
    ForEachRowRange(n, resolved, [&](std::size_t first, std::size_t last) {
      for (std::size_t r = first; r < last; ++r) {
        float* sketched = sketched_a_.data() + r * sketch_dim_;
        std::fill(sketched, sketched + sketch_dim_, 0.0f);
        const float* row = a + r * d_;
        for (std::size_t j = 0; j < d_; ++j) sketched[bucket_[j]] += sign_[j] * row[j];
      }
    });
    Sgemm(sketched_a_.data(), sketched_b_.data(), out, n, sketch_dim_, m_, resolved);
  }
  bool has_column_major() const override { return true; }
  void ApplyColumnMajor(const float* a, std::size_t n, float* out, int threads) override {
    // Column j of A is added, with its sign, to column bucket(j) of the sketch (n x d,
    // column-major here, so both are contiguous), then one GEMM with a transposed operand.
    const int resolved = detail::ResolveThreads(threads);
    if (sketched_a_.size() != n * sketch_dim_) sketched_a_.assign(n * sketch_dim_, 0.0f);
    std::fill(sketched_a_.begin(), sketched_a_.end(), 0.0f);
    ForEachRowRange(n, resolved, [&](std::size_t first, std::size_t last) {
      for (std::size_t j = 0; j < d_; ++j) {
        const float* column = a + j * n;
        float* target = sketched_a_.data() + bucket_[j] * n;
        const float sign = sign_[j];
        for (std::size_t r = first; r < last; ++r) target[r] += sign * column[r];
      }
    });
    SgemmColumnMajorA(sketched_a_.data(), sketched_b_.data(), out, n, sketch_dim_, m_, resolved);
  }

 private:
  std::size_t sketch_dim_;
  std::uint64_t seed_;
  std::size_t d_ = 0, m_ = 0;
  std::vector<std::uint32_t> bucket_;
  std::vector<float> sign_;
  std::vector<float> sketched_b_;
  std::vector<float> sketched_a_;
};

}  // namespace

void Method::ApplyColumnMajor(const float*, std::size_t, float*, int) {
  throw Error(name() + " has no path for column-major A");
}

void Method::ApplyRaw(const float*, std::size_t, bool, int) {
  throw Error(name() + " has no raw output");
}

void Method::Encode(const float*, std::size_t, bool, int) {
  throw Error(name() + " has no separate encoding step");
}

std::unique_ptr<Method> MakeExact(const std::string& library) {
  return std::make_unique<ExactMethod>(library);
}
Int8Path OneDnnInt8Path() {
  const OneDnnIsa isa = OneDnnCpuIsa();
  return {isa.id, isa.vnni};
}

std::unique_ptr<Method> MakeScalarQuantize(Int8Codes codes, Int8Scales scales) {
  return std::make_unique<ScalarQuantizeMethod>(codes, scales);
}
std::unique_ptr<Method> MakeBolt(int num_codebooks) {
  return std::make_unique<BoltMethod>(num_codebooks);
}
std::unique_ptr<Method> MakeMaddness(int num_codebooks, bool pq) {
  return std::make_unique<MaddnessMethod>(num_codebooks, pq);
}
std::unique_ptr<Method> MakeMaddnessClassifier(int num_codebooks,
                                               std::shared_ptr<const ClassifierTraining> training) {
  if (!training) throw Error("MADDNESS-classifier: no classifier training given");
  return std::make_unique<MaddnessMethod>(num_codebooks, false, std::move(training));
}
std::unique_ptr<Method> MakePca(int sketch_dim) { return std::make_unique<PcaMethod>(sketch_dim); }
std::unique_ptr<Method> MakeGaussianSketch(int sketch_dim, std::uint64_t seed) {
  return std::make_unique<GaussianSketchMethod>(sketch_dim, seed);
}
std::unique_ptr<Method> MakeHashJl(int sketch_dim, std::uint64_t seed) {
  return std::make_unique<HashJlMethod>(sketch_dim, seed);
}

}  // namespace maddness::baselines
