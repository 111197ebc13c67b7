// Bolt's SIMD encoder (bolt_encode.h), written once with Highway and compiled for every target by
// bolt_encode.cc. Same bytes as BoltEncodeRef for every input.
//
// Arithmetic. The lanes of a vector are consecutive rows, and each lane runs the reference's
// sequence of float operations for its row: one column's values of L rows are loaded, multiplied
// by -2, and each of the 16 scores (one vector each) gets that times the centroid's value,
// broadcast from memory (a memory operand of the multiply on AVX-512), then added. The argmin is
// the reference's scan over k = 1..15, vertically: a compare and two selects per centroid for L
// rows, and the codes come out in lanes ready to pack. Vectorizing over the 16 centroids instead
// costs as many multiplies and adds, but its argmin is a horizontal reduction and a search per row
// and codebook. 16 score vectors fit the 32 registers of AVX-512 and NEON; 16-register targets
// (AVX2, SSE4) take the centroids in two groups of 8 (kGroup), loading each column twice (from
// L1), rather than spill scores on every column.
//
// Data movement. Every value of A is read once (the subspaces are disjoint). Column-major A
// (row_stride 1) is read in place (EncodeColumnMajorRun), in runs of 1024 rows, one codebook and
// at most 8 of its columns at a time, the scores waiting in L2 between those chunks. Reading a
// codebook pair's columns side by side, one vector of rows at a time (as the tile below is read),
// took 3-4x longer on Fashion-MNIST (10000 x 784, C <= 32: 98 to 784 columns 40 KB apart;
// 21 ms against 5.5 ms on AVX-512), as long as the row-major path with its copy. Other layouts,
// and the last partial block, are first copied 64 rows at a time, one codebook pair at a time,
// into a small transposed tile [pair's columns][64 + 16] (the padding keeps the columns off the
// same L1 sets), which the kernel then reads as column-major. The copy is a load and a store per
// value beside the kernel's 16 multiplies and 16 adds.
#if defined(MADDNESS_BENCH_EXPERIMENT_BASELINES_BOLT_ENCODE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MADDNESS_BENCH_EXPERIMENT_BASELINES_BOLT_ENCODE_INL_H_
#undef MADDNESS_BENCH_EXPERIMENT_BASELINES_BOLT_ENCODE_INL_H_
#else
#define MADDNESS_BENCH_EXPERIMENT_BASELINES_BOLT_ENCODE_INL_H_
#endif

#include <hwy/highway.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "bench/experiment/baselines/bolt_encode.h"
#include "src/common/aligned.h"
#include "src/common/layout.h"

HWY_BEFORE_NAMESPACE();
namespace maddness::baselines {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET == HWY_SCALAR || HWY_TARGET == HWY_EMU128 || HWY_HAVE_SCALABLE

// One-lane, emulated and sizeless targets run the scalar reference, as the library's kernels do
// (sizeless vectors need not divide the 64-row blocks).
inline void BoltEncodeImpl(const BoltCodebooks& codebooks, const MatrixView& a,
                           std::size_t block_begin, std::size_t block_end, std::uint8_t* packed) {
  BoltEncodeRef(codebooks, a, block_begin, block_end, packed);
}

#else

#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL || HWY_ARCH_ARM
inline constexpr int kGroup = 16;  // 32 vector registers
#else
inline constexpr int kGroup = 8;  // 16 vector registers
#endif

// Floats between the columns of the transposed tile: 64 rows plus one cache line.
inline constexpr std::size_t kTileStride = detail::kBlockRows + 16;

// The codes (int32 lanes) of one codebook for L consecutive rows: x points at the first row's
// value on the codebook's first column, column j at x + j * x_stride; `centroids` is the
// codebook's width x 16 block, `norms` its 16 norms. BoltNearestCentroid in every lane.
template <class D>
HWY_INLINE hn::Vec<hn::RebindToSigned<D> > NearestCentroids(D d, const float* HWY_RESTRICT x,
                                                            std::size_t x_stride, std::size_t width,
                                                            const float* HWY_RESTRICT centroids,
                                                            const float* HWY_RESTRICT norms) {
  using V = hn::Vec<D>;
  const hn::RebindToSigned<D> di;
  const V minus_two = hn::Set(d, -2.0f);
  V best = hn::Zero(d);
  auto best_code = hn::Zero(di);
  for (int group = 0; group < kBoltCentroids; group += kGroup) {
    V score[kGroup];
    for (int k = 0; k < kGroup; ++k) score[k] = hn::Set(d, norms[group + k]);
    for (std::size_t j = 0; j < width; ++j) {
      const V value = hn::Mul(minus_two, hn::LoadU(d, x + j * x_stride));
      const float* column = centroids + j * kBoltCentroids + group;
      for (int k = 0; k < kGroup; ++k) {
        score[k] = hn::Add(score[k], hn::Mul(value, hn::Set(d, column[k])));
      }
    }
    int k = 0;
    if (group == 0) {
      best = score[0];
      k = 1;
    }
    for (; k < kGroup; ++k) {
      const auto less = hn::Lt(score[k], best);
      best = hn::IfThenElse(less, score[k], best);
      best_code = hn::IfThenElse(hn::RebindMask(di, less), hn::Set(di, group + k), best_code);
    }
  }
  return best_code;
}

// The packed bytes of codebook pair `pair` for L consecutive rows, stored at `out`: `x` points at
// the first row's value on the pair's first column, begin[2 * pair] (the pair's column j at
// x + j * x_stride).
template <class D>
HWY_INLINE void EncodePair(D d, const BoltCodebooks& codebooks, std::size_t pair, const float* x,
                           std::size_t x_stride, std::uint8_t* out) {
  const auto num_codebooks = static_cast<std::size_t>(codebooks.num_codebooks());
  const float* centroids = codebooks.centroids.data();
  const float* norms = codebooks.norms.data();
  const std::size_t even = 2 * pair;
  const std::size_t first = codebooks.begin[even];
  auto codes = NearestCentroids(d, x, x_stride, codebooks.begin[even + 1] - first,
                                centroids + first * kBoltCentroids, norms + even * kBoltCentroids);
  if (even + 1 < num_codebooks) {
    const std::size_t odd_first = codebooks.begin[even + 1];
    const auto odd = NearestCentroids(
        d, x + (odd_first - first) * x_stride, x_stride, codebooks.begin[even + 2] - odd_first,
        centroids + odd_first * kBoltCentroids, norms + (even + 1) * kBoltCentroids);
    codes = hn::Or(codes, hn::ShiftLeft<4>(odd));
  }
  const hn::Rebind<std::uint8_t, D> d8;
  hn::StoreU(hn::DemoteTo(d8, codes), d8, out);
}

// Column-major A: runs of kRunRows rows (16 blocks, 4 KiB of each column), one codebook at a
// time, its columns kChunkColumns at a time, so that a few columns are streamed side by side, each
// in address order. Between chunks the scores wait in RunScratch; each lane still adds its columns
// in order, so the arithmetic is the reference's.
inline constexpr std::size_t kRunRows = 16 * detail::kBlockRows;
inline constexpr std::size_t kChunkColumns = 8;  // at most; the chunks of a codebook are even

// Scratch space of EncodeColumnMajorRun for one run: 16 scores, the best score and its code per
// row.
struct RunScratch {
  detail::AlignedVector<float> scores = detail::AlignedVector<float>(kRunRows * kBoltCentroids);
  detail::AlignedVector<float> best = detail::AlignedVector<float>(kRunRows);
  detail::AlignedVector<std::int32_t> codes = detail::AlignedVector<std::int32_t>(kRunRows);
};

// Packed codes of rows [row_begin, row_end) (whole blocks, at most kRunRows rows) of column-major
// A (row_stride 1), written at `packed` (the codes of block row_begin / 64).
template <class D>
HWY_NOINLINE void EncodeColumnMajorRun(D d, const BoltCodebooks& codebooks, const MatrixView& a,
                                       std::size_t row_begin, std::size_t row_end,
                                       RunScratch& scratch, std::uint8_t* packed) {
  using V = hn::Vec<D>;
  const hn::RebindToSigned<D> di;
  const hn::Rebind<std::uint8_t, D> d8;
  const std::size_t lanes = hn::Lanes(d);
  const V minus_two = hn::Set(d, -2.0f);
  const auto num_codebooks = static_cast<std::size_t>(codebooks.num_codebooks());
  const std::size_t pairs = (num_codebooks + 1) / 2;
  const auto col_stride = static_cast<std::size_t>(a.col_stride);
  const std::size_t rows = row_end - row_begin;
  float* scores = scratch.scores.data();
  for (std::size_t c = 0; c < num_codebooks; ++c) {
    const std::size_t first = codebooks.begin[c];
    const std::size_t width = codebooks.begin[c + 1] - first;
    const float* norms = codebooks.norms.data() + c * kBoltCentroids;
    for (int group = 0; group < kBoltCentroids; group += kGroup) {
      const std::size_t chunks = (width + kChunkColumns - 1) / kChunkColumns;
      const std::size_t chunk_width = (width + chunks - 1) / chunks;
      for (std::size_t chunk = 0; chunk < width; chunk += chunk_width) {
        const std::size_t chunk_end = std::min(width, chunk + chunk_width);
        for (std::size_t r = 0; r < rows; r += lanes) {
          float* row_scores = scores + r * kBoltCentroids;
          V score[kGroup];
          for (int k = 0; k < kGroup; ++k) {
            score[k] = chunk == 0 ? hn::Set(d, norms[group + k])
                                  : hn::Load(d, row_scores + (group + k) * lanes);
          }
          const float* x = a.data + (first + chunk) * col_stride + row_begin + r;
          for (std::size_t j = chunk; j < chunk_end; ++j, x += col_stride) {
            const V value = hn::Mul(minus_two, hn::LoadU(d, x));
            const float* column = codebooks.centroids.data() + (first + j) * kBoltCentroids + group;
            for (int k = 0; k < kGroup; ++k) {
              score[k] = hn::Add(score[k], hn::Mul(value, hn::Set(d, column[k])));
            }
          }
          if (chunk_end < width) {
            for (int k = 0; k < kGroup; ++k)
              hn::Store(score[k], d, row_scores + (group + k) * lanes);
            continue;
          }
          V best;
          auto best_code = hn::Zero(di);
          int k = 0;
          if (group == 0) {
            best = score[0];
            k = 1;
          } else {
            best = hn::Load(d, scratch.best.data() + r);
            best_code = hn::Load(di, scratch.codes.data() + r);
          }
          for (; k < kGroup; ++k) {
            const auto less = hn::Lt(score[k], best);
            best = hn::IfThenElse(less, score[k], best);
            best_code = hn::IfThenElse(hn::RebindMask(di, less), hn::Set(di, group + k), best_code);
          }
          hn::Store(best, d, scratch.best.data() + r);
          hn::Store(best_code, di, scratch.codes.data() + r);
        }
      }
    }
    // The codes into their nibbles: codebook 2j writes the bytes, 2j + 1 ORs in its nibble.
    for (std::size_t r = 0; r < rows; r += lanes) {
      std::uint8_t* out = packed + detail::PackedByteOffset(r, c / 2, pairs);
      const auto code = hn::Load(di, scratch.codes.data() + r);
      if (c % 2 == 0) {
        hn::StoreU(hn::DemoteTo(d8, code), d8, out);
      } else {
        const auto low = hn::PromoteTo(di, hn::LoadU(d8, out));
        hn::StoreU(hn::DemoteTo(d8, hn::Or(low, hn::ShiftLeft<4>(code))), d8, out);
      }
    }
  }
}

inline void BoltEncodeImpl(const BoltCodebooks& codebooks, const MatrixView& a,
                           std::size_t block_begin, std::size_t block_end, std::uint8_t* packed) {
  const hn::ScalableTag<float> d;
  const std::size_t lanes = hn::Lanes(d);
  const auto num_codebooks = static_cast<std::size_t>(codebooks.num_codebooks());
  const std::size_t pairs = (num_codebooks + 1) / 2;
  const std::size_t first_row = block_begin * detail::kBlockRows;
  // Blocks whose 64 rows are all below a.rows; column-major A reads them in place.
  std::size_t tiled_begin = block_begin;
  if (a.row_stride == 1) {
    tiled_begin = std::max(block_begin, std::min(block_end, a.rows / detail::kBlockRows));
    RunScratch scratch;
    for (std::size_t row = first_row; row < tiled_begin * detail::kBlockRows; row += kRunRows) {
      const std::size_t end = std::min(tiled_begin * detail::kBlockRows, row + kRunRows);
      EncodeColumnMajorRun(d, codebooks, a, row, end, scratch,
                           packed + detail::PackedByteOffset(row - first_row, 0, pairs));
    }
  }
  if (tiled_begin == block_end) return;
  // The rest through the tile: columns [begin[2p], begin[2p + 2]) of 64 rows, transposed.
  std::size_t tile_columns = 0;
  for (std::size_t pair = 0; pair < pairs; ++pair) {
    const std::size_t last = codebooks.begin[std::min(num_codebooks, 2 * pair + 2)];
    tile_columns = std::max(tile_columns, last - codebooks.begin[2 * pair]);
  }
  detail::AlignedVector<float> tile(tile_columns * kTileStride);
  for (std::size_t block = tiled_begin; block < block_end; ++block) {
    const std::size_t block_row = block * detail::kBlockRows;
    const std::size_t valid =
        std::min(detail::kBlockRows, a.rows > block_row ? a.rows - block_row : 0);
    for (std::size_t pair = 0; pair < pairs; ++pair) {
      const std::size_t first = codebooks.begin[2 * pair];
      const std::size_t width = codebooks.begin[std::min(num_codebooks, 2 * pair + 2)] - first;
      if (a.row_stride == 1) {
        for (std::size_t j = 0; j < width; ++j) {
          std::memcpy(tile.data() + j * kTileStride,
                      a.data + block_row + static_cast<std::ptrdiff_t>(first + j) * a.col_stride,
                      valid * sizeof(float));
        }
      } else {
        for (std::size_t r = 0; r < valid; ++r) {
          const float* row = a.data + static_cast<std::ptrdiff_t>(block_row + r) * a.row_stride +
                             static_cast<std::ptrdiff_t>(first) * a.col_stride;
          for (std::size_t j = 0; j < width; ++j) {
            tile[j * kTileStride + r] = row[static_cast<std::ptrdiff_t>(j) * a.col_stride];
          }
        }
      }
      for (std::size_t j = 0; j < width && valid < detail::kBlockRows; ++j) {
        std::fill_n(tile.data() + j * kTileStride + valid, detail::kBlockRows - valid, 0.0f);
      }
      std::uint8_t* out = packed + detail::PackedByteOffset(block_row - first_row, pair, pairs);
      for (std::size_t r = 0; r < detail::kBlockRows; r += lanes) {
        EncodePair(d, codebooks, pair, tile.data() + r, kTileStride, out + r);
      }
      std::memset(out + valid, 0, detail::kBlockRows - valid);
    }
  }
}

#endif  // HWY_TARGET

// The target this code was compiled for (reported by BoltEncodeTarget).
inline std::int64_t BoltEncodeTargetImpl() { return HWY_TARGET; }

}  // namespace HWY_NAMESPACE
}  // namespace maddness::baselines
HWY_AFTER_NAMESPACE();

#endif  // include guard
