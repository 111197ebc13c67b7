// The methods of the experiment suite (maddness-spec sections 9 and 10.3): each approximates
// A*B for a fixed B after learning from A_train, with the same fit-on-train, apply-on-test
// protocol. Exact and the sketches are the paper's baselines; MADDNESS, MADDNESS-PQ and the
// classifier-aware MADDNESS call the library.
//
// Shapes: A_train is N_train x D, A (the test or timing matrix) N x D, B D x M, all float32
// row-major and contiguous; outputs are N x M float32 row-major.
//
//   auto method = MakeMaddness(16);
//   method->Fit(a_train, n_train, b, d, m, /*threads=*/0);
//   std::vector<float> y(n * m);
//   method->Apply(a, n, y.data(), /*threads=*/1);
#ifndef MADDNESS_BENCH_EXPERIMENT_BASELINES_METHODS_H_
#define MADDNESS_BENCH_EXPERIMENT_BASELINES_METHODS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace maddness::baselines {

class Method {
 public:
  virtual ~Method() = default;
  // The method's family, e.g. "MADDNESS", "PCA" (the series of a plot).
  virtual std::string name() const = 0;
  // Its parameters, e.g. "C=16" or "d=8" ("" when there are none).
  virtual std::string params() const = 0;
  // What computes its product, for the results: the library with its version and the kernels it
  // runs on this CPU, e.g. "oneDNN 3.0.0, AVX2 kernels: f32 matmul, B packed" (the layout of A
  // is reported apart). Call after Fit.
  virtual std::string library() const = 0;
  // Learns from A_train (n_train x d) and B (d x m). The pointers need not outlive the call.
  // `threads` (0 = all cores) is for learning only.
  virtual void Fit(const float* a_train, std::size_t n_train, const float* b, std::size_t d,
                   std::size_t m, int threads) = 0;
  // Approximates A*B for A (n x d) into `out` (n x m) on `threads` threads (0 = all cores).
  // Repeated calls with the same `a` and `n` may reuse work that does not depend on the values of
  // A (a prepared primitive), never results.
  virtual void Apply(const float* a, std::size_t n, float* out, int threads) = 0;
  // The same product for A stored column-major (element (r, j) at a[j * n + r]), for the methods
  // that have such a path (has_column_major()); the suite times each method on both layouts and
  // keeps the faster, as the paper timed MADDNESS on column-major A. Results equal Apply's up to
  // float rounding. Throws Error when there is no such path.
  virtual bool has_column_major() const { return false; }
  virtual void ApplyColumnMajor(const float* a, std::size_t n, float* out, int threads);
  // The paper's timed region for its own methods (maddness-spec 1.3): the product up to the raw
  // integer sums, before de-quantization to float (which the paper did not time). For the methods
  // that have it (has_raw_output()), ApplyRaw computes them for A (n x d, column-major when
  // `col_major`) into a buffer the method keeps. Throws Error when there is no such path.
  virtual bool has_raw_output() const { return false; }
  virtual void ApplyRaw(const float* a, std::size_t n, bool col_major, int threads);
  // The encoding step of Apply alone, for the methods that encode A into codes before scanning
  // them (has_encode(): Bolt), timed apart by the suite: encodes A (n x d, column-major when
  // `col_major`) into a buffer the method keeps. Throws Error when there is no such step.
  virtual bool has_encode() const { return false; }
  virtual void Encode(const float* a, std::size_t n, bool col_major, int threads);
  // The fitted model as bytes, for the methods that have a model file (MADDNESS, MADDNESS-PQ),
  // empty otherwise. Equal non-empty bytes compute equal outputs at equal cost: the suite then
  // times the model once for both points.
  virtual std::vector<std::uint8_t> ModelBytes() const { return {}; }
};

// Exact float32 product: `library` is "onednn" (oneDNN matmul, B pre-packed) or "openblas"
// (cblas_sgemm). The suite times both and takes the faster as the exact time.
std::unique_ptr<Method> MakeExact(const std::string& library);

// The int8 path oneDNN takes on this CPU: `isa` is oneDNN's effective ISA
// (dnnl::get_effective_cpu_isa(), e.g. "avx512_core_bf16"; ONEDNN_MAX_CPU_ISA lowers it), `vnni`
// whether it includes VNNI (avx512_core_vnni or avx2_vnni): oneDNN 2.6's int8 matmul then sums
// u8 x s8 products exactly in 32 bits. Without VNNI (avx2, avx512_core) its kernels add pairs of
// u8 x s8 products in saturating 16 bits (vpmaddubsw): 255 * 127 * 2 saturates.
struct Int8Path {
  std::string isa;
  bool vnni = false;
};
Int8Path OneDnnInt8Path();

// The codes of A in the int8 baseline: kCpu picks 0..255 where the path is VNNI and 0..127
// elsewhere (2 * 127 * 127 cannot saturate 16 bits; 2 * 255 * 127 can); kFull and kHalf force
// 0..255 and 0..127 (tests; kFull is an error without VNNI).
enum class Int8Codes { kCpu, kFull, kHalf };

// How A is quantized in the int8 baseline. kPerRow: dynamically, per row (each row's range found
// at run time). kStatic: one scale and zero point for all of A, calibrated on A_train in Fit (the
// usual deployed form; values outside A_train's range clamp).
enum class Int8Scales { kPerRow, kStatic };

// 8-bit scalar quantization: A is quantized to uint8 codes 0..L, L = 255 or 127 (see Int8Codes),
// B per column to int8 (symmetric, step max|b|/127); oneDNN's u8 x s8 -> s32 matmul (primitive
// created once per row count), then de-quantization to float32 with the scales of A and B and the
// offset term. A's quantization (Int8Scales):
//   - kPerRow: per row, offset min, step (max - min)/L, code = round((a - min)/step);
//   - kStatic: lo = min(0, min A_train), hi = max(0, max A_train), step = (hi - lo)/L (1 when
//     hi == lo), scale = 1/step, zero point z = round(-lo * scale) clamped to [0, L];
//     code = clamp(round(a * scale) + z, 0, L) (QuantizeStaticU8), a ~ step * (code - z).
// Quantizing A and de-quantizing are SIMD loops with the library's runtime dispatch
// (int8_kernels.h). Apply (the timed call) includes quantizing A and de-quantizing the outputs.
// params() names the quantization and the path, e.g. "int8 static per-tensor, VNNI codes 0..255
// (oneDNN ISA avx512_core_bf16)" or "int8 per-row, VNNI codes 0..255 (...)".
std::unique_ptr<Method> MakeScalarQuantize(Int8Codes codes = Int8Codes::kCpu,
                                           Int8Scales scales = Int8Scales::kPerRow);

// Bolt-style product quantization: the D columns are cut into C contiguous subspaces; k-means
// (k-means++ start, 16 Lloyd iterations) with 16 centroids per subspace (learned on at most
// `kBoltTrainRows` rows of A_train); a row is encoded by its nearest centroid in each subspace
// (4-bit codes, by the SIMD encoder of bolt_encode.h, on the library's SIMD target); the float
// tables centroid . B are quantized to bytes (one offset per codebook, one scale) and scanned with
// the library's scan (exact 16-bit sums, as Bolt's "safe" accumulation). Requires C <= D.
inline constexpr std::size_t kBoltTrainRows = 50000;
std::unique_ptr<Method> MakeBolt(int num_codebooks);

// The library's MADDNESS with its default LearnOptions and C codebooks; `pq` selects the
// MADDNESS-PQ variant (Variant::kPq), everything else default.
std::unique_ptr<Method> MakeMaddness(int num_codebooks, bool pq = false);

// What the classifier-aware tables are fitted to: B holds the weights of a linear classifier
// whose class scores are A*B + bias.
struct ClassifierTraining {
  std::vector<std::int32_t> train_labels;  // the class of each row of A_train, in [0, M)
  std::vector<float> bias;                 // M values (empty: zeros)
};

// "MADDNESS-classifier": MakeMaddness(num_codebooks) (with its cross-validated prototypes) plus
// the library's classifier-aware tables (LearnOptions::classifier, enabled, its defaults
// otherwise: held-out choice of the MSE weight, falling back to the plain tables) fitted to
// `training`: what `maddness eval --classifier --train-labels` learns. Fit throws Error when the
// labels are not one per row of A_train in [0, M), or M < 2.
std::unique_ptr<Method> MakeMaddnessClassifier(int num_codebooks,
                                               std::shared_ptr<const ClassifierTraining> training);

// Sketches: A*B ~ (A S)(S^T B) with a D x d matrix S. Apply includes both products.
// PCA: S = the top-d right singular vectors of A_train (uncentered truncated SVD, from the
// eigenvectors of A_train^T A_train, Eigen). Requires d <= D.
std::unique_ptr<Method> MakePca(int sketch_dim);
// Gaussian random projection: S has i.i.d. N(0, 1/d) entries, so E[S S^T] = I.
std::unique_ptr<Method> MakeGaussianSketch(int sketch_dim, std::uint64_t seed);
// HashJL (count sketch): column j of A goes to output h(j) in [0, d) with a random sign s(j);
// the same (h, s) for B's rows. Unbiased: E[(A S)(S^T B)] = A B.
std::unique_ptr<Method> MakeHashJl(int sketch_dim, std::uint64_t seed);

}  // namespace maddness::baselines

#endif  // MADDNESS_BENCH_EXPERIMENT_BASELINES_METHODS_H_
