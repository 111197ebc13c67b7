// SIMD encoder, written once with Highway and compiled for every target by encode.cc.
//
// Contract: the same bytes as EncodeRef (encode.h) for finite inputs, and the exact answer to
// "were all values read finite?" (see Finiteness).
//
// Arithmetic. The reference quantizes v = x * scale + offset (separate multiply and add) to
// q = round-half-even(clamp(v, -128, 127)) and tests q > T for an int8 threshold T. Because the
// clamp and the rounding are monotone, that test is exactly a float comparison of v:
//   T = 127:           never true                      -> v > +inf
//   T odd (< 127):     q > T  <=>  v >= T + 0.5         -> v > the float just below T + 0.5
//   T even:            q > T  <=>  v > T + 0.5 (T + 0.5 rounds to the even T)
// and, since v is itself a non-decreasing function of x when scale > 0, exactly a comparison of
// the input, x > X, with X the largest float whose v is below the bound (found once per encoder
// by stepping from the real solution, InputBound). So the kernel never converts floats to
// integers (no clamping, no ISA-dependent overflow), and a level costs a lane lookup of the
// node's bound and one compare (plus a multiply and an add in the value domain, used when some
// scale is <= 0). The node of a row lives in an int32 lane; level t has 2^t <= 8 nodes, so the
// lookup is one TableLookupLanes (vpermps) on targets with >= 8 float lanes, two and a select on
// 4-lane targets. On AVX-512 the comparison lands in a mask register and one masked OR sets the
// level's bit (EncodeTree512); on AVX2 the all-ones/zero comparison vectors update a label
// (EncodeTree256), and elsewhere the node as 2 * node - mask. (A byte-domain kernel that packs
// quantized values to int8 and looks thresholds up with TableLookupBytes, as the paper's code does,
// needs a multiply, an add, a clamp, a conversion and three packs per 4 vectors, plus a final
// permutation: more operations per row on every target, by count.) A tree's four levels are a chain
// of dependent lookups and compares, so each tree is evaluated for kInterleave = 8 vectors of rows
// side by side, level by level: one vector at a time, the chains did not overlap and encoding
// was 1.4x slower.
//
// Data movement. Each (codebook, level) reads one column of A. Column-major A (row_stride 1) is
// read in place, in runs of full blocks: each codebook goes over all rows of a run before the
// next one, so its four split columns are read in address order, streams the hardware
// prefetchers follow. How long the runs are is the CPU's ColumnRuns policy (encode.h): up to 16
// blocks bounded by L2 (kRunBlocks, kRunBytes; on Intel, where a column that several codebooks
// read is then read again from L2), or up to 256 (kLongRunBlocks; elsewhere: Zen 3's prefetchers
// restart with every run). Block by block, C * 4 streams of 256 bytes were more than the
// prefetchers followed, and software prefetches of the blocks ahead did not make up for it: at
// N = 100000, D = 27, C = 16 runs encode 1.6-1.9x faster, without any software prefetch
// (docs/kernels.md). Any other layout, and the last partial
// block, is first gathered into a tile [columns][64 + 16] of floats, one tile row per distinct
// split column however many splits read it (one pass over each row in address order, prefetching
// the lines of the rows ahead; the padding keeps the tile's columns off the same L1 sets), then
// encoded from the tile. Codes are stored already packed (low nibble codebook 2j, high nibble
// 2j+1): codebook 2j writes the bytes, codebook 2j+1 ORs in its nibble while they are in L1. No
// separate packing pass.
//
// Finiteness. Every value the encoder reads also goes into a running sum of products of pairs of
// values (one multiply-add per two vectors, in registers), which stays finite while the values
// are finite and not huge, and turns into an infinity or NaN for good as soon as one is an
// infinity or a NaN. Only when a
// sum is not finite, which huge finite values (about 1e16 and beyond) can also cause, does
// EncodeBlocksImpl check the values exactly with a second, scalar pass (SplitColumnsFinite; as
// the only check it took longer than encoding itself). The exponent fields' running maximum
// used before (AND and MAX per vector) was exact but two operations per vector.
#if defined(MADDNESS_SRC_ENCODE_ENCODE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MADDNESS_SRC_ENCODE_ENCODE_INL_H_
#undef MADDNESS_SRC_ENCODE_ENCODE_INL_H_
#else
#define MADDNESS_SRC_ENCODE_ENCODE_INL_H_
#endif

#include <hwy/cache_control.h>
#include <hwy/highway.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "src/common/aligned.h"
#include "src/common/layout.h"
#include "src/encode/encode.h"

HWY_BEFORE_NAMESPACE();
namespace maddness::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET == HWY_SCALAR || HWY_TARGET == HWY_EMU128 || HWY_HAVE_SCALABLE

// One-lane (or sizeless) targets: the scalar reference is the implementation, after the check
// (the reference's float-to-integer conversion is undefined for NaN).
inline bool EncodeBlocksImpl(const Encoder& encoder, const MatrixView& a, std::size_t block_begin,
                             std::size_t block_end, std::uint8_t* packed, bool /*long_runs*/) {
  if (!SplitColumnsFinite(encoder, a, block_begin, block_end)) return false;
  EncodeRef(encoder, a, block_begin, block_end, packed);
  return true;
}

#else

// One split level in the two float forms of the header comment, for node i:
//   bit = x*scale + offset > bound[i]    (value domain, any scale)
//   bit = x > input_bound[i]             (input domain, when scale > 0 and finite)
// The AVX-512 kernel reads the same bounds from spread_*: node i of level t at i << (4 - t).
// The AVX2 kernel reads them from wrapped_*, at the low 3 bits of its label (EncodeTree256).
struct alignas(64) EncodeLevel {
  float bound[16];
  float input_bound[16];
  float spread_bound[16];
  float spread_input_bound[16];
  float wrapped_bound[8];
  float wrapped_input_bound[8];
  float scale;
  float offset;
  std::ptrdiff_t column_offset;  // dim * col_stride, in elements
};

// Rows ahead of the gather that the encoder prefetches (row-major and strided A).
inline constexpr std::size_t kPrefetchRows = 4;
// Under ColumnRuns::kL2Bounded, column-major A is encoded in runs of up to kRunBlocks blocks (1024
// rows: each pass of a codebook pair reads 4 KiB of each of its columns in address order), fewer
// when the run's split columns would take more than kRunBytes (half of a 512 KiB L2), so that
// columns read by several pairs are still in L2 the second time.
inline constexpr std::size_t kRunBlocks = 16;
inline constexpr std::size_t kRunBytes = 256 * 1024;
// Blocks per run of column-major A under ColumnRuns::kLong, whatever the number of columns
// (16384 rows: 64 KiB of each column, and a codebook pair's codes, 16 KiB, stay in L1 between
// its two codebooks). On Zen 3 as fast as runs of the whole matrix (docs/kernels.md).
inline constexpr std::size_t kLongRunBlocks = 256;
// Column-major A whose split columns take at least kPrefetchMinBytes over all its rows is read
// from memory rather than from the last-level cache; the encoder then prefetches each column
// kPrefetchFloats rows ahead of the rows it encodes (one prefetch per cache line), when its runs
// are L2-bounded (ColumnRuns::kL2Bounded) and kRunBlocks long (at most 64 split columns): with
// shorter runs those rows belong to the next run, read only after every other codebook's columns.
// Long runs (ColumnRuns::kLong, Zen 3) were as fast or faster without it. With the
// columns in the last-level cache the hardware prefetchers keep up and the extra instructions only
// cost (docs/kernels.md, "Prefetching A from memory").
inline constexpr std::size_t kPrefetchMinBytes = std::size_t{64} << 20;
inline constexpr std::size_t kPrefetchFloats = 256;
// Floats in a 64-byte cache line: the unit of the prefetches.
inline constexpr std::size_t kLineFloats = 64 / sizeof(float);
// Floats between the columns in the gather tile: 64 rows plus one cache line, so that the
// columns do not all map to the same few L1 sets.
inline constexpr std::size_t kTileStride = kBlockRows + 16;

// Exclusive lower bound on v = x*scale + offset for QuantizeInput(x) > threshold.
inline float FloatBound(std::int8_t threshold) {
  if (threshold == 127) return std::numeric_limits<float>::infinity();
  const float half_above = static_cast<float>(threshold) + 0.5f;
  if ((threshold & 1) != 0) {
    return std::nextafter(half_above, -std::numeric_limits<float>::infinity());
  }
  return half_above;
}

// The float whose bits are those of x XOR those of y (the AVX2 kernel's level-1 table).
inline float FlipBits(float x, float y) {
  std::uint32_t x_bits;
  std::uint32_t y_bits;
  std::memcpy(&x_bits, &x, sizeof(x_bits));
  std::memcpy(&y_bits, &y, sizeof(y_bits));
  const std::uint32_t bits = x_bits ^ y_bits;
  float flipped;
  std::memcpy(&flipped, &bits, sizeof(flipped));
  return flipped;
}

// Floats in a total order as integers (-0 and +0 both map to 0), and back.
inline std::int64_t OrderedKey(float x) {
  std::uint32_t bits;
  std::memcpy(&bits, &x, sizeof(bits));
  const std::int64_t magnitude = bits & 0x7FFFFFFFu;
  return (bits >> 31) != 0 ? -magnitude : magnitude;
}
inline float FromOrderedKey(std::int64_t key) {
  const std::uint32_t bits =
      key < 0 ? (0x80000000u | static_cast<std::uint32_t>(-key)) : static_cast<std::uint32_t>(key);
  float x;
  std::memcpy(&x, &bits, sizeof(x));
  return x;
}

// For scale > 0 and finite scale and offset: the bound X on the input such that, for every
// finite x, x > X exactly when x*scale + offset > bound (multiply and add rounded separately).
// The rounded value is non-decreasing in x, so X is the largest finite x whose value is
// <= bound (+inf when there is none above, -inf when every finite x is above).
inline float InputBound(float bound, float scale, float offset) {
  const float inf = std::numeric_limits<float>::infinity();
  const float max = std::numeric_limits<float>::max();
  const auto value = [scale, offset](float x) {
    const float product = x * scale;
    return product + offset;
  };
  if (!(value(max) > bound)) return inf;
  if (value(-max) > bound) return -inf;
  // Start from the exact real solution and step to the boundary; a flat stretch of rounding far
  // from the guess falls back to bisection.
  const double guess = (static_cast<double>(bound) - offset) / scale;
  float x = static_cast<float>(std::min<double>(max, std::max<double>(-max, guess)));
  for (int step = 0; step < 16; ++step) {
    if (value(x) > bound) {
      x = std::nextafter(x, -inf);
    } else if (!(value(std::nextafter(x, inf)) > bound)) {
      x = std::nextafter(x, inf);
    } else {
      return x;
    }
  }
  std::int64_t low = OrderedKey(-max);  // value(low) <= bound
  std::int64_t high = OrderedKey(max);  // value(high) > bound
  while (high - low > 1) {
    const std::int64_t middle = low + (high - low) / 2;
    if (value(FromOrderedKey(middle)) > bound) {
      high = middle;
    } else {
      low = middle;
    }
  }
  return FromOrderedKey(low);
}

// Vectors of rows a tree handles side by side (interleaved level by level). One vector's four
// levels form a chain of dependent lookups and compares (about 28 cycles on Zen 3) that, a vector
// at a time, the out-of-order window could not overlap with the next vectors'. 8 vectors (two
// blocks on AVX-512, one on AVX2) were 5% faster than 4 on Emerald Rapids; AVX-512 encodes the
// odd last block of a run with 4 (kTail).
inline constexpr std::size_t kInterleave = 8;
inline constexpr std::size_t kTail = 4;
// Running sums of the finiteness check (below): the pair of vectors 2i, 2i + 1 of a step goes
// into sum i % kSums, one sum per pair (with a sum per vector, chains of multiply-adds shared
// by several vectors held up the scheduler on AVX-512, 10% slower).
inline constexpr std::size_t kSums = kInterleave / 2;

// Finiteness (see the header comment): the kernels fold the values of vectors 2i and 2i + 1 of a
// level into one of kSums running sums, sum = MulAdd(x_2i, x_2i+1, sum). A sum stays finite
// while the values are finite (and not huge, below), and becomes (and stays) an infinity or NaN
// as soon as one is not: an infinity times a finite nonzero value is an infinity, times zero or
// a NaN is a NaN, a NaN propagates, and an infinity plus anything finite or of its sign is that
// infinity, plus the other one NaN. One multiply-add per two vectors: one per vector (a sum of
// squares) was 1.1x slower to encode on AVX2 at C = 64 with the data in L2, and multiplying the
// values of two levels kept one more vector per row in registers and was slower on Emerald
// Rapids. A sum of finite values can overflow too (values beyond about 1e16, fewer for many
// rows), so a non-finite sum only means "maybe": the caller then checks exactly
// (SplitColumnsFinite).

#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL

// AVX-512: the comparisons land in mask registers, so a level costs a lookup (vpermps), a
// compare and one masked OR that sets the level's bit in the node. The node is kept in code
// order, bit 3 - t for level t, so that the finished node is the code; its low four bits at
// level t are node << (4 - t), and the tables are laid out that way (EncodeLevel::spread_*).
template <bool kInputDomain, std::size_t kVectors>
HWY_INLINE void EncodeTree512(const EncodeLevel* levels, const float* HWY_RESTRICT const* columns,
                              std::size_t row, __m512i (&node)[kVectors], __m512 (&sum)[kSums]) {
  // Unrolled (GCC 12 kept the level loop, with a branch and two register copies per masked OR).
  HWY_UNROLL(4)
  for (int t = 0; t < kTreeDepth; ++t) {
    const EncodeLevel& level = levels[t];
    const float* table = kInputDomain ? level.spread_input_bound : level.spread_bound;
    const __m512i bit = _mm512_set1_epi32(8 >> t);
    __m512 previous = _mm512_setzero_ps();
    HWY_UNROLL(8)
    for (std::size_t k = 0; k < kVectors; ++k) {
      __m512 x = _mm512_loadu_ps(columns[t] + row + k * 16);
#if defined(__GNUC__)
      __asm__("" : "+v"(x));  // one load per vector, as in EncodeStep256
#endif
      if (k % 2 == 1) {
        sum[(k / 2) % kSums] = _mm512_fmadd_ps(previous, x, sum[(k / 2) % kSums]);
      } else {
        previous = x;
      }
      if constexpr (!kInputDomain) {
        x = _mm512_add_ps(_mm512_mul_ps(x, _mm512_set1_ps(level.scale)),
                          _mm512_set1_ps(level.offset));
      }
      const __m512 bound =
          t == 0 ? _mm512_set1_ps(table[0]) : _mm512_permutexvar_ps(node[k], _mm512_load_ps(table));
      const __mmask16 right = _mm512_cmp_ps_mask(x, bound, _CMP_GT_OQ);
      node[k] = t == 0 ? _mm512_maskz_mov_epi32(right, bit)
                       : _mm512_mask_or_epi32(node[k], right, node[k], bit);
    }
  }
}

#elif HWY_TARGET == HWY_AVX2

// AVX2: the node of a row lives in an int32 lane as a label from which the next level's bound
// is looked up (EncodeLevel::wrapped_* holds the bounds at the label's slots). With m_t the
// comparison mask of level t (-1 when the row goes right, b_t = 1; else 0), the labels are
//   after level 0: m0                    (node 1's bound: node 0's, bits flipped where m0 is set)
//   after level 1: (m0 & 2) - m1         = 2 b0 + b1, the node n in 0..3 (VPERMILPS, slot n)
//   after level 2: label ^ m2            = n, or ~n when b2 = 1 (VPERMPS reads the low 3 bits:
//                                          slot 7 - n for node 2n + 1)
// and level 3's mask is not folded into the label at all: StoreCodes256 packs the labels and the
// masks of 32 rows to bytes, combines them there as (2 label - m3) & 15, a fixed permutation of
// the codes, and maps that to the codes with one PSHUFB. Per vector of 8 rows and codebook that
// is 3 operations on the node where 2 * node - mask costs 6, and the packs of the masks cost less
// than the two operations per vector they replace. (One operation cannot combine a label and a
// mask into 16 distinct values: sub, add and xor all map the label sets above onto themselves.)
// Level by level over kInterleave vectors, and the last level 4 vectors at a time so that the
// masks are packed and stored while the other half is compared: GCC 12 kept all 8 masks on the
// stack otherwise (docs/kernels.md has the measurements).

// The code of each i = (2 label - m3) & 15 (see above): 4 (i / 2) + (i & 1) for i < 8 (b2 = 0),
// 4 (7 - i / 2) + 2 + (i & 1) for i >= 8 (b2 = 1).
alignas(32) inline constexpr std::uint8_t kLabelCode[32] = {
    0, 1, 4, 5, 8, 9, 12, 13, 14, 15, 10, 11, 6, 7, 2, 3,
    0, 1, 4, 5, 8, 9, 12, 13, 14, 15, 10, 11, 6, 7, 2, 3};

// Stores the codes of 4 vectors of rows (their labels after level 2 and their level-3 masks) as
// bytes in row order: as they are (kHigh false; the high nibble is 0 until the next codebook's
// pass), or shifted into the high nibble of the bytes already there. Two saturating packs to 16
// bits and one to 8 bits for the labels and again for the masks (nothing saturates), two byte
// operations and a mask, the PSHUFB, and one permutation that undoes the packs' per-128-bit-lane
// order.
template <bool kHigh>
HWY_INLINE void StoreCodes256(const __m256i* label, const __m256i* last,
                              std::uint8_t* HWY_RESTRICT dst) {
  const __m256i labels = _mm256_packs_epi16(_mm256_packs_epi32(label[0], label[1]),
                                            _mm256_packs_epi32(label[2], label[3]));
  const __m256i masks = _mm256_packs_epi16(_mm256_packs_epi32(last[0], last[1]),
                                           _mm256_packs_epi32(last[2], last[3]));
  const __m256i index = _mm256_and_si256(_mm256_sub_epi8(_mm256_add_epi8(labels, labels), masks),
                                         _mm256_set1_epi8(0x0F));
  __m256i table = _mm256_load_si256(reinterpret_cast<const __m256i*>(kLabelCode));
  if constexpr (kHigh) table = _mm256_slli_epi16(table, 4);  // codes < 16: no carry across bytes
  const __m256i codes = _mm256_shuffle_epi8(table, index);
  __m256i rows = _mm256_permutevar8x32_epi32(codes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  __m256i* out = reinterpret_cast<__m256i*>(dst);
  if constexpr (kHigh) rows = _mm256_or_si256(rows, _mm256_loadu_si256(out));
  _mm256_storeu_si256(out, rows);
}

// Level kLevel of EncodeTree256 for vector k of rows: loads the values (folding them into the
// finiteness sums), looks up the bound at each row's label and returns the comparison mask.
template <bool kInputDomain, int kLevel>
HWY_INLINE __m256i EncodeStep256(const EncodeLevel& level, const float* HWY_RESTRICT column,
                                 std::size_t row, std::size_t k, __m256i label, __m256& previous,
                                 __m256 (&sum)[kSums]) {
  __m256 x = _mm256_loadu_ps(column + row + k * 8);
#if defined(__GNUC__)
  // Keeps x in a register: GCC 12 otherwise folds this load into the multiply-add below and
  // loads the same values again for the comparison, 1.5 loads per vector instead of one.
  __asm__("" : "+x"(x));
#endif
  if (k % 2 == 1) {
    sum[(k / 2) % kSums] = _mm256_fmadd_ps(previous, x, sum[(k / 2) % kSums]);
  } else {
    previous = x;
  }
  if constexpr (!kInputDomain) {
    x = _mm256_add_ps(_mm256_mul_ps(x, _mm256_set1_ps(level.scale)), _mm256_set1_ps(level.offset));
  }
  const float* bounds = kInputDomain ? level.wrapped_input_bound : level.wrapped_bound;
  __m256 bound;
  if constexpr (kLevel == 0) {
    bound = _mm256_set1_ps(bounds[0]);
  } else if constexpr (kLevel == 1) {
    // Two nodes: the label is level 0's mask, so node 1's bound is node 0's with the bits of
    // slot 1 (node 0's XOR node 1's) flipped where the mask is set. Two logic operations
    // instead of a cross-lane permutation, which Zen 3 runs on one pipe only.
    bound = _mm256_xor_ps(_mm256_set1_ps(bounds[0]),
                          _mm256_and_ps(_mm256_castsi256_ps(label), _mm256_set1_ps(bounds[1])));
  } else if constexpr (kLevel == 2) {
    // Four nodes, at slots 0..3 and again at 4..7: an in-lane permutation (two pipes on Zen 3).
    bound = _mm256_permutevar_ps(_mm256_load_ps(bounds), label);
  } else {
    bound = _mm256_permutevar8x32_ps(_mm256_load_ps(bounds), label);
  }
  return _mm256_castps_si256(_mm256_cmp_ps(x, bound, _CMP_GT_OQ));
}

// Encodes kVectors vectors of rows from `row` for one codebook and stores their codes at
// destination(k) for each group of 4 vectors k, k + 1, k + 2, k + 3.
template <bool kInputDomain, bool kHigh, std::size_t kVectors, class Destination>
HWY_INLINE void EncodeTree256(const EncodeLevel* levels, const float* HWY_RESTRICT const* columns,
                              std::size_t row, __m256 (&sum)[kSums],
                              const Destination& destination) {
  __m256i label[kVectors];
  __m256 previous = _mm256_setzero_ps();
  HWY_UNROLL(8)
  for (std::size_t k = 0; k < kVectors; ++k) {
    label[k] = EncodeStep256<kInputDomain, 0>(levels[0], columns[0], row, k, _mm256_setzero_si256(),
                                              previous, sum);
  }
  HWY_UNROLL(8)
  for (std::size_t k = 0; k < kVectors; ++k) {
    const __m256i mask =
        EncodeStep256<kInputDomain, 1>(levels[1], columns[1], row, k, label[k], previous, sum);
    label[k] = _mm256_sub_epi32(_mm256_and_si256(label[k], _mm256_set1_epi32(2)), mask);
  }
  HWY_UNROLL(8)
  for (std::size_t k = 0; k < kVectors; ++k) {
    label[k] = _mm256_xor_si256(
        label[k],
        EncodeStep256<kInputDomain, 2>(levels[2], columns[2], row, k, label[k], previous, sum));
  }
  HWY_UNROLL(2)
  for (std::size_t k0 = 0; k0 < kVectors; k0 += 4) {
    __m256i last[4];
    HWY_UNROLL(4)
    for (std::size_t j = 0; j < 4; ++j) {
      last[j] = EncodeStep256<kInputDomain, 3>(levels[3], columns[3], row, k0 + j, label[k0 + j],
                                               previous, sum);
    }
    StoreCodes256<kHigh>(label + k0, last, destination(k0));
  }
}

#else

// The nodes of kInterleave vectors of rows [row, row + kInterleave * L) of one codebook, whose
// four levels read columns[0..3]. Level t has 2^t <= 8 nodes: the bound of a row's node is
// two TableLookupLanes and a select on 4-lane targets, and the row goes right (node bit 1) when
// its value is greater. The node is updated as 2 * node - mask, the mask of a comparison being
// -1 or 0.
template <bool kInputDomain, std::size_t kVectors, class DF>
HWY_INLINE void EncodeTree(DF df, const EncodeLevel* levels,
                           const float* HWY_RESTRICT const* columns, std::size_t row,
                           hn::Vec<hn::RebindToSigned<DF> > (&node)[kVectors],
                           hn::Vec<DF> (&sum)[kSums]) {
  const hn::RebindToSigned<DF> di;
  const std::size_t lanes = hn::Lanes(df);
  HWY_UNROLL(4)
  for (int t = 0; t < kTreeDepth; ++t) {
    const EncodeLevel& level = levels[t];
    const float* bounds = kInputDomain ? level.input_bound : level.bound;
    hn::Vec<DF> previous = hn::Zero(df);
    HWY_UNROLL(8)
    for (std::size_t k = 0; k < kVectors; ++k) {
      hn::Vec<DF> x = hn::LoadU(df, columns[t] + row + k * lanes);
      if (k % 2 == 1) {
        sum[(k / 2) % kSums] = hn::MulAdd(previous, x, sum[(k / 2) % kSums]);
      } else {
        previous = x;
      }
      if constexpr (!kInputDomain) {
        x = hn::Add(hn::Mul(x, hn::Set(df, level.scale)), hn::Set(df, level.offset));
      }
      if (t == 0) {
        node[k] = hn::VecFromMask(di, hn::RebindMask(di, hn::Gt(x, hn::Set(df, bounds[0]))));
        node[k] = hn::And(node[k], hn::Set(di, 1));
        continue;
      }
      // 4 float lanes: nodes 0..3 and 4..7 of level 3 come from two tables.
      static_assert(hn::MaxLanes(DF()) == 4, "AVX2 and AVX-512 have kernels of their own");
      const auto low = hn::IndicesFromVec(df, hn::And(node[k], hn::Set(di, 3)));
      const auto lower = hn::TableLookupLanes(hn::Load(df, bounds), low);
      const auto upper = hn::TableLookupLanes(hn::Load(df, bounds + 4), low);
      const hn::Vec<DF> bound =
          hn::IfThenElse(hn::RebindMask(df, hn::Gt(node[k], hn::Set(di, 3))), upper, lower);
      const auto bit = hn::VecFromMask(di, hn::RebindMask(di, hn::Gt(x, bound)));
      node[k] = hn::Sub(hn::Add(node[k], node[k]), bit);  // 2 * node + (bit ? 1 : 0)
    }
  }
}

#endif

// Stores 4 vectors of codes (one per int32 lane, each 0..15) as bytes in row order:
// as they are for a low nibble (kHigh false; the high nibble is 0 until the next codebook's pass),
// else shifted into the high nibble of the bytes already there. On x86 two saturating packs to
// 16 bits and one to 8 bits per four vectors (nothing saturates), plus, on 256 and 512 bits, one
// permutation that undoes the packs' per-128-bit-lane order.
template <bool kHigh, class DI>
HWY_INLINE void StoreCodeBytes(DI di, const hn::Vec<DI>* code, std::uint8_t* HWY_RESTRICT dst) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  (void)di;
  const __m512i words01 = _mm512_packs_epi32(code[0].raw, code[1].raw);
  const __m512i words23 = _mm512_packs_epi32(code[2].raw, code[3].raw);
  const __m512i bytes = _mm512_packus_epi16(words01, words23);
  // 128-bit lane l holds rows 4l..4l+3 of code[0], code[1], code[2], code[3].
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  __m512i rows = _mm512_permutexvar_epi32(order, bytes);
  if constexpr (kHigh) rows = _mm512_or_si512(_mm512_slli_epi16(rows, 4), _mm512_loadu_si512(dst));
  _mm512_storeu_si512(dst, rows);
#elif HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_SSSE3
  (void)di;
  const __m128i words01 = _mm_packs_epi32(code[0].raw, code[1].raw);
  const __m128i words23 = _mm_packs_epi32(code[2].raw, code[3].raw);
  __m128i rows = _mm_packus_epi16(words01, words23);
  __m128i* out = reinterpret_cast<__m128i*>(dst);
  if constexpr (kHigh) rows = _mm_or_si128(_mm_slli_epi16(rows, 4), _mm_loadu_si128(out));
  _mm_storeu_si128(out, rows);
#else
  const hn::RebindToUnsigned<DI> du32;
  const hn::Rebind<std::uint8_t, DI> du8;
  for (std::size_t k = 0; k < 4; ++k) {
    auto bytes = hn::U8FromU32(hn::BitCast(du32, code[k]));
    std::uint8_t* out = dst + k * hn::Lanes(di);
    if constexpr (kHigh) bytes = hn::Or(hn::ShiftLeft<4>(bytes), hn::LoadU(du8, out));
    hn::StoreU(bytes, du8, out);
  }
#endif
}

// Writes the packed codes of `num_blocks` consecutive 64-row blocks, one codebook at a time over
// all their rows: codebook 2j writes the bytes of pair j, codebook 2j + 1 then adds its high
// nibbles (the bytes are still in L1). column(split) points at row 0 of the run in the column of
// split `split` (= codebook * 4 + level); the rows of a column are contiguous. A codebook reads
// four columns in address order (as the paper's kernel does); two codebooks side by side, eight
// streams at once, were slower on Emerald Rapids. Rows [0, prefetch_rows) of each column from the
// run's first row may be prefetched, kPrefetchFloats rows ahead (0: no prefetch). Folds every
// value read into `nonfinite` (not finite if one of them was not; see above).
template <bool kInputDomain, class DF, class ColumnFn>
HWY_INLINE void EncodeBlockRun(DF df, const EncodeLevel* levels, int num_codebooks,
                               std::size_t num_blocks, ColumnFn column, std::uint8_t* block_codes,
                               std::size_t prefetch_rows, hn::Vec<DF>& nonfinite) {
  const hn::RebindToSigned<DF> di;
  using VI = hn::Vec<hn::RebindToSigned<DF> >;
  const std::size_t lanes = hn::Lanes(df);
  const std::size_t rows = num_blocks * kBlockRows;
  static_assert(kBlockRows % (4 * hn::MaxLanes(DF())) == 0, "groups of 4 vectors split blocks");
  const std::size_t block_bytes = static_cast<std::size_t>(CodePairs(num_codebooks)) * kBlockRows;
  // A compile-time flag for the nibble keeps the row loop free of branches, and the sums are
  // locals that the compiler keeps in registers (GCC 12 spilled shared ones). The column
  // pointers are locals too: read through `levels` in the loop, GCC reloaded them for every
  // vector, since the code stores might alias them.
  const auto encode_codebook = [&](int codebook, auto high) {
    constexpr bool kHigh = decltype(high)::value;
    const std::size_t split0 = static_cast<std::size_t>(codebook) * kTreeDepth;
    const float* HWY_RESTRICT columns[kTreeDepth];
    for (int t = 0; t < kTreeDepth; ++t) columns[t] = column(split0 + static_cast<std::size_t>(t));
    std::uint8_t* HWY_RESTRICT out =
        block_codes + static_cast<std::size_t>(codebook / 2) * kBlockRows;
    hn::Vec<DF> sum[kSums];
    for (std::size_t k = 0; k < kSums; ++k) sum[k] = hn::Zero(df);
    // kVectors vectors of rows from `row`, stored 4 vectors (whole parts of a block) at a time.
    const auto encode_rows = [&](std::size_t row, auto vectors) {
      constexpr std::size_t kVectors = decltype(vectors)::value;
      if (row + kPrefetchFloats + kVectors * lanes <= prefetch_rows) {
        for (int t = 0; t < kTreeDepth; ++t) {
          for (std::size_t f = 0; f < kVectors * lanes; f += kLineFloats) {
            hwy::Prefetch(columns[t] + row + kPrefetchFloats + f);
          }
        }
      }
      const auto destination = [&](std::size_t k) {
        const std::size_t r = row + k * lanes;
        return out + r / kBlockRows * block_bytes + r % kBlockRows;
      };
#if HWY_TARGET == HWY_AVX2
      __m256 sums[kSums];
      for (std::size_t k = 0; k < kSums; ++k) sums[k] = sum[k].raw;
      EncodeTree256<kInputDomain, kHigh, kVectors>(levels + split0, columns, row, sums,
                                                   destination);
      for (std::size_t k = 0; k < kSums; ++k) sum[k].raw = sums[k];
#else
      VI code[kVectors];
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
      __m512i node[kVectors];
      __m512 sums[kSums];
      for (std::size_t k = 0; k < kSums; ++k) sums[k] = sum[k].raw;
      EncodeTree512<kInputDomain, kVectors>(levels + split0, columns, row, node, sums);
      for (std::size_t k = 0; k < kVectors; ++k) code[k].raw = node[k];
      for (std::size_t k = 0; k < kSums; ++k) sum[k].raw = sums[k];
#else
      EncodeTree<kInputDomain, kVectors>(df, levels + split0, columns, row, code, sum);
#endif
      for (std::size_t k = 0; k < kVectors; k += 4) {
        StoreCodeBytes<kHigh>(di, code + k, destination(k));
      }
#endif
    };
    const std::size_t step = kInterleave * lanes;
    std::size_t row = 0;
    for (; row + step <= rows; row += step) {
      encode_rows(row, std::integral_constant<std::size_t, kInterleave>());
    }
    if constexpr (kBlockRows % (kInterleave * hn::MaxLanes(DF())) != 0) {
      for (; row < rows; row += kTail * lanes) {
        encode_rows(row, std::integral_constant<std::size_t, kTail>());
      }
    }
    for (std::size_t k = 0; k < kSums; ++k) nonfinite = hn::Add(nonfinite, sum[k]);
  };
  for (int codebook = 0; codebook < num_codebooks; ++codebook) {
    if (codebook % 2 == 0) {
      encode_codebook(codebook, std::false_type());
    } else {
      encode_codebook(codebook, std::true_type());
    }
  }
}

// The per-split constants of an encoder for one column stride of A. Built once per thread and
// reused while the encoder (compared byte for byte) and the stride stay the same: Model::Apply
// encodes a few thousand rows per call.
struct PreparedEncoder {
  std::vector<SplitLevel> splits;  // the key
  std::ptrdiff_t col_stride = 0;
  AlignedVector<EncodeLevel> levels;
  bool input_domain = false;  // every level has scale > 0 and finite constants
  // Gathering reads each row's split columns in address order and prefetches the cache lines
  // they fall in, kPrefetchRows rows ahead (A is usually larger than the caches, and the hardware
  // prefetchers do not follow these sparse reads well).
  // Distinct column offsets, in address order; the i-th is row i of the tile.
  std::vector<std::ptrdiff_t> gather_from;
  std::vector<std::uint32_t> split_tile;  // each split's row of the tile, times kTileStride
  std::vector<std::ptrdiff_t> prefetch_offsets;
  std::size_t run_blocks = 1;  // blocks per run of column-major A, ColumnRuns::kL2Bounded
};

inline const PreparedEncoder& Prepare(const Encoder& encoder, std::ptrdiff_t col_stride) {
  thread_local PreparedEncoder prepared;
  const std::vector<SplitLevel>& splits = encoder.splits;
  if (prepared.col_stride == col_stride && prepared.splits.size() == splits.size() &&
      (splits.empty() || std::memcmp(prepared.splits.data(), splits.data(),
                                     splits.size() * sizeof(SplitLevel)) == 0)) {
    return prepared;
  }
  const std::size_t num_splits = splits.size();
  prepared.splits = splits;
  prepared.col_stride = col_stride;
  prepared.levels.resize(num_splits);
  prepared.input_domain = true;
  for (std::size_t s = 0; s < num_splits; ++s) {
    const SplitLevel& split = splits[s];
    EncodeLevel& level = prepared.levels[s];
    level.scale = split.scale;
    level.offset = split.offset;
    level.column_offset = static_cast<std::ptrdiff_t>(split.dim) * col_stride;
    const bool usable =
        split.scale > 0.0f && std::isfinite(split.scale) && std::isfinite(split.offset);
    prepared.input_domain = prepared.input_domain && usable;
    for (int node = 0; node < 16; ++node) {
      level.bound[node] = FloatBound(split.thresholds[node]);
      // Slots past the level's 2^t nodes are never read.
      const bool used = node < (1 << (s % kTreeDepth));
      level.input_bound[node] =
          usable && used ? InputBound(level.bound[node], split.scale, split.offset) : 0.0f;
    }
    const int level_index = static_cast<int>(s % kTreeDepth);
    for (int slot = 0; slot < 16; ++slot) {
      const int node = slot >> (4 - level_index);  // slots with low bits set are never read
      level.spread_bound[slot] = level.bound[node];
      level.spread_input_bound[slot] = level.input_bound[node];
    }
    // The AVX2 kernel's labels (EncodeTree256): level 1 reads node 0 at slot 0 and the bits
    // of node 0's bound XOR node 1's at slot 1; level 2 node n at slots n and 4 + n (an in-lane
    // permutation reads each 128-bit lane's four); level 3 node 2n at slot n and node 2n + 1 at
    // slot 7 - n (n in 0..3). Unread slots hold node 0's bound.
    for (int slot = 0; slot < 8; ++slot) {
      int node = 0;
      if (level_index == 2) {
        node = slot % 4;
      } else if (level_index == 3) {
        node = slot < 4 ? 2 * slot : 2 * (7 - slot) + 1;
      }
      level.wrapped_bound[slot] = level.bound[node];
      level.wrapped_input_bound[slot] = level.input_bound[node];
    }
    if (level_index == 1) {
      level.wrapped_bound[1] = FlipBits(level.bound[0], level.bound[1]);
      level.wrapped_input_bound[1] = FlipBits(level.input_bound[0], level.input_bound[1]);
    }
  }
  std::vector<std::uint32_t> order(num_splits);
  for (std::size_t s = 0; s < num_splits; ++s) order[s] = static_cast<std::uint32_t>(s);
  std::sort(order.begin(), order.end(), [&](std::uint32_t x, std::uint32_t y) {
    return prepared.levels[x].column_offset < prepared.levels[y].column_offset;
  });
  prepared.gather_from.clear();
  prepared.split_tile.assign(num_splits, 0);
  for (const std::uint32_t s : order) {
    const std::ptrdiff_t offset = prepared.levels[s].column_offset;
    if (prepared.gather_from.empty() || prepared.gather_from.back() != offset) {
      prepared.gather_from.push_back(offset);
    }
    prepared.split_tile[s] =
        static_cast<std::uint32_t>((prepared.gather_from.size() - 1) * kTileStride);
  }
  const std::size_t num_columns = prepared.gather_from.size();
  const std::size_t column_run_bytes = std::max<std::size_t>(1, num_columns) * kBlockRows * 4;
  prepared.run_blocks = std::clamp<std::size_t>(kRunBytes / column_run_bytes, 1, kRunBlocks);
  prepared.prefetch_offsets.clear();
  for (const std::uint32_t s : order) {
    constexpr auto kLine = static_cast<std::ptrdiff_t>(kLineFloats);
    const std::ptrdiff_t line = prepared.levels[s].column_offset / kLine * kLine;
    if (prepared.prefetch_offsets.empty() || prepared.prefetch_offsets.back() != line) {
      prepared.prefetch_offsets.push_back(line);
    }
  }
  return prepared;
}

// Returns false when a value read may not have been finite (true: all were).
// long_runs: ColumnRuns::kLong (encode.h).
template <bool kInputDomain>
HWY_INLINE bool EncodeBlocksWith(const PreparedEncoder& prepared, int num_codebooks,
                                 const MatrixView& a, std::size_t block_begin,
                                 std::size_t block_end, std::uint8_t* packed, bool long_runs) {
  const EncodeLevel* levels = prepared.levels.data();
  const std::size_t block_bytes = static_cast<std::size_t>(CodePairs(num_codebooks)) * kBlockRows;
  AlignedVector<float> tile;  // [column][kTileStride], only for gathered blocks
  const std::size_t num_columns = prepared.gather_from.size();
  using DF = hn::ScalableTag<float>;
  const DF df;
  auto nonfinite = hn::Zero(df);
  const std::size_t run_blocks = long_runs ? kLongRunBlocks : prepared.run_blocks;
  // Column-major A read from memory, in L2-bounded runs of kRunBlocks: prefetch its columns
  // ahead (kPrefetchMinBytes).
  const bool prefetch =
      a.row_stride == 1 && !long_runs && run_blocks == kRunBlocks &&
      a.rows >= kPrefetchMinBytes / sizeof(float) / std::max<std::size_t>(1, num_columns);
  for (std::size_t block = block_begin; block < block_end; ++block) {
    std::uint8_t* block_codes = packed + (block - block_begin) * block_bytes;
    const std::size_t row0 = block * kBlockRows;
    const std::size_t valid = a.rows > row0 ? std::min(kBlockRows, a.rows - row0) : 0;
    if (a.row_stride == 1 && valid == kBlockRows) {
      // A run of up to run_blocks full blocks, read in place.
      const std::size_t full_end = std::min(block_end, a.rows / kBlockRows);
      const std::size_t run = std::min(run_blocks, full_end - block);
      const float* base = a.data + row0;
      EncodeBlockRun<kInputDomain>(
          df, levels, num_codebooks, run,
          [&](std::size_t split) { return base + levels[split].column_offset; }, block_codes,
          prefetch ? a.rows - row0 : 0, nonfinite);
      block += run - 1;
      continue;
    }
    if (tile.empty()) tile.resize(num_columns * kTileStride);
    for (std::size_t r = 0; r < valid; ++r) {
      const float* row = a.data + static_cast<std::ptrdiff_t>(row0 + r) * a.row_stride;
      if (row0 + r + kPrefetchRows < a.rows) {
        const float* ahead = row + static_cast<std::ptrdiff_t>(kPrefetchRows) * a.row_stride;
        for (const std::ptrdiff_t offset : prepared.prefetch_offsets) {
          hwy::Prefetch(ahead + offset);
        }
      }
      float* HWY_RESTRICT dst = tile.data() + r;
      const std::ptrdiff_t* HWY_RESTRICT from = prepared.gather_from.data();
      for (std::size_t i = 0; i < num_columns; ++i) dst[i * kTileStride] = row[from[i]];
    }
    if (valid < kBlockRows) {
      for (std::size_t i = 0; i < num_columns; ++i) {
        std::fill(tile.data() + i * kTileStride + valid, tile.data() + i * kTileStride + kBlockRows,
                  0.0f);
      }
    }
    EncodeBlockRun<kInputDomain>(
        df, levels, num_codebooks, 1,
        [&](std::size_t split) { return tile.data() + prepared.split_tile[split]; }, block_codes, 0,
        nonfinite);
    if (valid < kBlockRows) {
      for (int pair = 0; pair < CodePairs(num_codebooks); ++pair) {
        std::memset(block_codes + static_cast<std::size_t>(pair) * kBlockRows + valid, 0,
                    kBlockRows - valid);
      }
    }
  }
  return hn::AllTrue(df, hn::Eq(hn::Mul(nonfinite, hn::Zero(df)), hn::Zero(df)));
}

inline bool EncodeBlocksImpl(const Encoder& encoder, const MatrixView& a, std::size_t block_begin,
                             std::size_t block_end, std::uint8_t* packed, bool long_runs) {
  const PreparedEncoder& prepared = Prepare(encoder, a.col_stride);
  const bool finite = prepared.input_domain
                          ? EncodeBlocksWith<true>(prepared, encoder.num_codebooks, a, block_begin,
                                                   block_end, packed, long_runs)
                          : EncodeBlocksWith<false>(prepared, encoder.num_codebooks, a, block_begin,
                                                    block_end, packed, long_runs);
  // The running sums overflow for huge finite values too: only then is the exact check needed.
  return finite || SplitColumnsFinite(encoder, a, block_begin, block_end);
}

#endif  // HWY_TARGET

// The target this code was compiled for (reported by EncodeKernelTarget).
inline std::int64_t EncodeTargetImpl() { return HWY_TARGET; }

}  // namespace HWY_NAMESPACE
}  // namespace maddness::detail
HWY_AFTER_NAMESPACE();

#endif  // include guard
