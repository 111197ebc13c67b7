// Bolt's encoder (the Bolt baseline of methods.h): each row of A is cut into C contiguous
// subspaces, and in each subspace it gets the index of its nearest centroid of 16 (a 4-bit code),
// written as packed codes (src/common/layout.h) for the library's scan.
//
// Arithmetic, the same on every SIMD target (bolt_encode-inl.h) as in the scalar reference, so
// that the codes are equal bit for bit: for row x and codebook c with columns [first, last),
//   score[k] = norms[c][k];  for j = first .. last - 1 in order:
//     score[k] = score[k] + (-2 * x[j]) * centroid[j][k]      (float32; multiply, then add)
//   code: best = 0, then for k = 1 .. 15 in order, best = k when score[k] < score[best]
//         (ties keep the lower index; a NaN score never replaces the best, nor is replaced)
// score[k] + ||x||^2 is the squared distance ||x - centroid_k||^2 in exact arithmetic, so the code
// is the nearest centroid. (Expanding the square costs a multiply and an add per centroid and
// column, one subtract fewer than (x - c)^2.) Row x's values are read once, whatever the layout.
//
//   BoltCodebooks codebooks = ...;  // from Bolt's k-means (methods.cc)
//   AlignedVector<std::uint8_t> packed(PackedCodesBytes(n, C));
//   BoltEncode(codebooks, MatrixView::ColMajor(a, n, d), 0, NumBlocks(n), packed.data());
#ifndef MADDNESS_BENCH_EXPERIMENT_BASELINES_BOLT_ENCODE_H_
#define MADDNESS_BENCH_EXPERIMENT_BASELINES_BOLT_ENCODE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "maddness/maddness.h"
#include "src/common/aligned.h"

namespace maddness::baselines {

inline constexpr int kBoltCentroids = 16;

// The codebooks of a Bolt model over D columns.
//   begin:     C + 1 column indices, begin[0] = 0 < begin[1] < ... < begin[C] = D; codebook c
//              covers columns [begin[c], begin[c + 1]).
//   centroids: D x 16, row-major: centroids[j * 16 + k] is centroid k's value on column j, for
//              the codebook that covers column j.
//   norms:     C x 16: norms[c * 16 + k] = ||centroid k of codebook c||^2 (any float: the
//              encoder takes it as given).
struct BoltCodebooks {
  std::vector<std::size_t> begin;
  detail::AlignedVector<float> centroids;
  detail::AlignedVector<float> norms;

  int num_codebooks() const { return static_cast<int>(begin.size()) - 1; }
  std::size_t dim() const { return begin.back(); }
};

// The code (0..15) of one subspace of one row, by the arithmetic of the header comment: x[j *
// x_stride] for j < width are the row's values on the codebook's columns, `centroids` its
// width x 16 block of BoltCodebooks::centroids and `norms` its 16 norms. The specification of
// the SIMD encoder; k-means (methods.cc) assigns training rows with it.
int BoltNearestCentroid(const float* x, std::ptrdiff_t x_stride, std::size_t width,
                        const float* centroids, const float* norms);

// Scalar reference encoder. Writes the packed codes of blocks [block_begin, block_end) of `a`
// (a.cols == codebooks.dim(), any strides; 64-row blocks, layout.h) to `packed`, which points at
// the codes of block `block_begin`: CodePairs(C) * 64 bytes per block. Rows past a.rows and the
// codebook after an odd C get code 0.
void BoltEncodeRef(const BoltCodebooks& codebooks, const MatrixView& a, std::size_t block_begin,
                   std::size_t block_end, std::uint8_t* packed);

// The SIMD encoder for this CPU (MADDNESS_TARGET forces the target, as for the library's
// kernels): the same contract and the same bytes as BoltEncodeRef for every input, NaN and
// infinities included. Fastest on column-major A (a.row_stride == 1), which it reads in place;
// other layouts go through a small transposed copy. Throws Error when MADDNESS_TARGET is invalid.
void BoltEncode(const BoltCodebooks& codebooks, const MatrixView& a, std::size_t block_begin,
                std::size_t block_end, std::uint8_t* packed);

// The Highway target that BoltEncode runs now (for the tests and reports).
std::int64_t BoltEncodeTarget();

}  // namespace maddness::baselines

#endif  // MADDNESS_BENCH_EXPERIMENT_BASELINES_BOLT_ENCODE_H_
