// SIMD scan to column-major output (out[m * col_stride + n]), for every target by scan.cc.
//
// Contract: the same values as ScanColumnsRef / ScanColumns8Ref / ScanDequantizeColumnsRef
// (scan.h), bit for bit: output m of row n at out[m * col_stride + n]; rows >= num_rows are not
// written.
//
// Two paths. The direct kernel (DirectTile, below) covers averaging with whole groups (C a power
// of two up to 16, or a multiple of 16): no stage, no unpacked codes, no transposes; four outputs
// share each load and split of the packed codes, and each output's roots go straight to its
// column. Every other case (exact sums, groups with missing pairs) computes each output's sums as
// the row-major scan does (scan_lookup-inl.h: the chunk's codes unpacked once, then a stage of the
// output's sums for the chunk's rows) and converts the stage to the column in row order with
// whole vectors (the 8-bit roots zero-extended, the 16-bit sums put back in row order from their
// [even rows | odd rows] order, float32 with a separate multiply and add).
#if defined(MADDNESS_SRC_SCAN_SCAN_COLUMN_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MADDNESS_SRC_SCAN_SCAN_COLUMN_INL_H_
#undef MADDNESS_SRC_SCAN_SCAN_COLUMN_INL_H_
#else
#define MADDNESS_SRC_SCAN_SCAN_COLUMN_INL_H_
#endif

#include <hwy/cache_control.h>
#include <hwy/highway.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "src/common/layout.h"
#include "src/scan/scan-inl.h"
#include "src/scan/scan.h"
#include "src/scan/scan_tuning-inl.h"
#include "src/scan/scan_tuning.h"

HWY_BEFORE_NAMESPACE();
namespace maddness::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET == HWY_SCALAR || HWY_TARGET == HWY_EMU128 || HWY_HAVE_SCALABLE

inline void ScanColumnsImpl(const ScanArgs& args, std::size_t block_begin, std::size_t block_end,
                            std::uint16_t* raw, std::size_t col_stride) {
  ScanColumnsRef(args, block_begin, block_end, raw, col_stride);
}
inline void ScanColumns8Impl(const ScanArgs& args, std::size_t block_begin, std::size_t block_end,
                             std::uint8_t* raw, std::size_t col_stride) {
  ScanColumns8Ref(args, block_begin, block_end, raw, col_stride);
}
inline void ScanDequantizeColumnsImpl(const ScanArgs& args, const float* out_scale,
                                      const float* out_offset, std::size_t block_begin,
                                      std::size_t block_end, float* out, std::size_t col_stride) {
  ScanDequantizeColumnsRef(args, out_scale, out_offset, block_begin, block_end, out, col_stride);
}

#else

// Writers of one output's rows [0, rows) of a chunk to dst (the column at the chunk's first
// row), from 8-bit roots (Column8) or from 16-bit sums in the stage order (Column16: each N-row
// vector as [even rows | odd rows], N = the byte lanes).
struct RawColumnWriter {
  HWY_INLINE void Column8(const std::uint8_t* HWY_RESTRICT sums, std::size_t rows,
                          std::uint16_t* HWY_RESTRICT dst) const {
    const hn::ScalableTag<std::uint16_t> d16;
    const hn::Rebind<std::uint8_t, decltype(d16)> d8;
    const std::size_t lanes = hn::Lanes(d16);
    std::size_t r = 0;
    for (; r + lanes <= rows; r += lanes) {
      hn::StoreU(hn::PromoteTo(d16, hn::LoadU(d8, sums + r)), d16, dst + r);
    }
    for (; r < rows; ++r) dst[r] = sums[r];
  }
  // 16 rows (one 128-bit block of the stage's even and odd halves) in row order.
  HWY_INLINE void Store16(hn::Vec<hn::Full128<std::uint16_t> > first8,
                          hn::Vec<hn::Full128<std::uint16_t> > next8,
                          std::uint16_t* HWY_RESTRICT dst) const {
    const hn::Full128<std::uint16_t> d;
    hn::StoreU(first8, d, dst);
    hn::StoreU(next8, d, dst + 8);
  }
  HWY_INLINE void Scalar(std::uint16_t sum, std::uint16_t* dst) const { *dst = sum; }
};

struct FloatColumnWriter {
  float scale;
  float offset;

  HWY_INLINE void Column8(const std::uint8_t* HWY_RESTRICT sums, std::size_t rows,
                          float* HWY_RESTRICT dst) const {
    const hn::ScalableTag<float> df;
    const hn::RebindToSigned<decltype(df)> di;
    const hn::Rebind<std::uint8_t, decltype(df)> d8;
    const std::size_t lanes = hn::Lanes(df);
    const auto vscale = hn::Set(df, scale);
    const auto voffset = hn::Set(df, offset);
    std::size_t r = 0;
    for (; r + lanes <= rows; r += lanes) {
      const auto value = hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(d8, sums + r)));
      hn::StoreU(hn::Add(hn::Mul(value, vscale), voffset), df, dst + r);
    }
    for (; r < rows; ++r) dst[r] = Dequantize(sums[r], scale, offset);
  }
  HWY_INLINE void Store16(hn::Vec<hn::Full128<std::uint16_t> > first8,
                          hn::Vec<hn::Full128<std::uint16_t> > next8,
                          float* HWY_RESTRICT dst) const {
#if HWY_TARGET <= HWY_AVX2
    const hn::Full256<float> df;  // 8 floats per 8 sums
    const hn::RebindToSigned<decltype(df)> di;
    const auto vscale = hn::Set(df, scale);
    const auto voffset = hn::Set(df, offset);
    const auto low = hn::ConvertTo(df, hn::PromoteTo(di, first8));
    const auto high = hn::ConvertTo(df, hn::PromoteTo(di, next8));
    hn::StoreU(hn::Add(hn::Mul(low, vscale), voffset), df, dst);
    hn::StoreU(hn::Add(hn::Mul(high, vscale), voffset), df, dst + 8);
#else
    const hn::Full128<float> df;  // 4 floats per half of 8 sums
    const hn::RebindToSigned<decltype(df)> di;
    const hn::Full64<std::uint16_t> dh;
    const auto vscale = hn::Set(df, scale);
    const auto voffset = hn::Set(df, offset);
    const hn::Vec<hn::Full64<std::uint16_t> > quarters[4] = {
        hn::LowerHalf(first8), hn::UpperHalf(dh, first8), hn::LowerHalf(next8),
        hn::UpperHalf(dh, next8)};
    for (int k = 0; k < 4; ++k) {
      const auto value = hn::ConvertTo(df, hn::PromoteTo(di, quarters[k]));
      hn::StoreU(hn::Add(hn::Mul(value, vscale), voffset), df, dst + 4 * k);
    }
#endif
  }
  HWY_INLINE void Scalar(std::uint16_t sum, float* dst) const {
    *dst = Dequantize(sum, scale, offset);
  }
};

struct Raw8ColumnWriter {
  HWY_INLINE void Column8(const std::uint8_t* HWY_RESTRICT sums, std::size_t rows,
                          std::uint8_t* HWY_RESTRICT dst) const {
    std::copy(sums, sums + rows, dst);
  }
};

// Rows [0, rows) of the 16-bit stage (its N-row vectors in [even | odd] order) into dst.
template <class Writer, typename Out>
HWY_INLINE void WriteColumn16(const std::uint16_t* HWY_RESTRICT stage, std::size_t rows,
                              const Writer& writer, Out* HWY_RESTRICT dst) {
  const hn::Full128<std::uint16_t> d;
  const std::size_t lanes = hn::Lanes(hn::ScalableTag<std::uint8_t>());  // rows per N-row vector
  const std::size_t half = lanes / 2;
  std::size_t v = 0;
  for (; v + lanes <= rows; v += lanes) {
    for (std::size_t q = 0; q < lanes / 16; ++q) {
      const auto even = hn::LoadU(d, stage + v + 8 * q);
      const auto odd = hn::LoadU(d, stage + v + half + 8 * q);
      writer.Store16(hn::InterleaveLower(d, even, odd), hn::InterleaveUpper(d, even, odd),
                     dst + v + 16 * q);
    }
  }
  for (std::size_t r = v; r < rows; ++r) {
    const std::size_t i = r - v;
    writer.Scalar(stage[v + (i % 2) * half + i / 2], dst + r);
  }
}

// ---- The direct kernel: averaging with every group whole (no missing pairs) -------------------
//
// For a tile of kTile outputs and one N-row vector of a block, each codebook pair's codes are
// loaded once and split into the indices of its two codes, shared by the tile's outputs; each
// output then looks both codes up (16-entry byte tables broadcast to every 128-bit block, read
// from the model's tables at each use: a load, not a shuffle) and folds their average into its
// group's balanced tree (Subtree). The roots go straight to the output columns: no stage, no
// unpacked codes. With more than one group, the roots are summed as 16-bit values kept as
// [even rows | odd rows] (a mask and a shift per group), put back in row order once at the end.
//
// On AVX3_DL the lookups are VPERMB over the table broadcast to all four 128-bit blocks: it reads
// the low 6 bits of an index, and bits 4-5 only select among the four identical copies, so the
// low code is the packed byte itself and the high code is the byte shifted right by 4 in 16-bit
// lanes, without masks. Other targets mask both indices to 4 bits for PSHUFB.

using D8 = hn::ScalableTag<std::uint8_t>;
using V8 = hn::Vec<D8>;

HWY_INLINE V8 LowIndex(V8 codes) {
#if HWY_TARGET == HWY_AVX3_DL
  return codes;
#else
  return hn::And(codes, hn::Set(D8(), 0x0F));
#endif
}

HWY_INLINE V8 HighIndex(V8 codes) {
  const hn::RepartitionToWide<D8> d16;
  const V8 shifted = hn::BitCast(D8(), hn::ShiftRight<4>(hn::BitCast(d16, codes)));
#if HWY_TARGET == HWY_AVX3_DL
  return shifted;
#else
  return hn::And(shifted, hn::Set(D8(), 0x0F));
#endif
}

HWY_INLINE V8 Lookup(V8 table, V8 index) {
#if HWY_TARGET == HWY_AVX3_DL
  return V8{_mm512_permutexvar_epi8(index.raw, table.raw)};
#else
  return hn::TableLookupBytes(table, index);
#endif
}

// The rounded average of one pair's two lookups (the tables at kOffset and kOffset + 16 from
// `tables`, each broadcast to every 128-bit block). On AVX2 the step is written out as
// instructions: GCC 12 schedules the table loads of a whole vector of rows ahead of their lookups
// and, with 16 vector registers, stores them on the stack and loads them again (and compiles
// LoadDup128 to a load, a store and a broadcast from the stack, since VBROADCASTI128 reads only
// memory); given the tables as memory operands it computes every table's address once, outside
// the row loop, and keeps those on the stack. Written out with the base pointer and a constant
// offset, each table is one broadcast load next to its lookup. The tables are not written while
// the scan runs, so the instructions need not be ordered against stores.
template <std::size_t kOffset>
HWY_INLINE V8 PairAverage(const std::uint8_t* HWY_RESTRICT tables, V8 low, V8 high) {
#if HWY_TARGET == HWY_AVX2 && HWY_COMPILER_GCC
  __m256i average;
  __m256i other;
  asm volatile(
      "vbroadcasti128 %c[low_table](%[tables]), %[average]\n\t"
      "vbroadcasti128 %c[high_table](%[tables]), %[other]\n\t"
      "vpshufb %[low], %[average], %[average]\n\t"
      "vpshufb %[high], %[other], %[other]\n\t"
      "vpavgb %[other], %[average], %[average]"
      : [average] "=&x"(average), [other] "=&x"(other)
      : [tables] "r"(tables), [low_table] "i"(kOffset), [high_table] "i"(kOffset + 16),
        [low] "x"(low.raw), [high] "x"(high.raw));
  return V8{average};
#else
  const D8 d8;
  return hn::AverageRound(Lookup(LoadTable(d8, tables + kOffset), low),
                          Lookup(LoadTable(d8, tables + kOffset + 16), high));
#endif
}

// v, computed at this point of the program. On AVX2, GCC 12 otherwise moves the averages of a
// tree below all of its lookups (PairAverage, whose steps are volatile and keep their order) and
// keeps the lookups' results on the stack meanwhile.
HWY_INLINE V8 InPlace(V8 v) {
#if HWY_TARGET == HWY_AVX2 && HWY_COMPILER_GCC
  asm volatile("" : "+x"(v.raw));
#endif
  return v;
}

// The root of pairs [kFirst, kFirst + kCount) of a group for one output whose tables are at
// `tables` (pairs 32 bytes apart), from indices already split: low[p - kBase], high[p - kBase].
template <std::size_t kFirst, std::size_t kCount, std::size_t kBase, std::size_t kSplit>
HWY_INLINE V8 OutputSubtree(const std::uint8_t* HWY_RESTRICT tables, const V8 (&low)[kSplit],
                            const V8 (&high)[kSplit]) {
  if constexpr (kCount == 1) {
    return PairAverage<kFirst * 32>(tables, low[kFirst - kBase], high[kFirst - kBase]);
  } else {
    const V8 left = OutputSubtree<kFirst, kCount / 2, kBase>(tables, low, high);
    const V8 right = OutputSubtree<kFirst + kCount / 2, kCount / 2, kBase>(tables, low, high);
    return InPlace(hn::AverageRound(left, right));
  }
}

// The roots of pairs [kFirst, kFirst + kCount) of a group (a balanced subtree in codebook order)
// for the tile's outputs. codes: the vector's codes of the group's first pair (pairs kBlockRows
// bytes apart); tables[t]: output t's 32 table bytes of that pair (pairs 32 bytes apart).
// Subtrees of kColumnSplitPairs pairs split their codes first and then finish one output at a
// time (few live values); larger ones go depth first over the tile's outputs together.
template <std::size_t kFirst, std::size_t kCount, std::size_t kTile>
HWY_INLINE void Subtree(const std::uint8_t* HWY_RESTRICT codes,
                        const std::uint8_t* HWY_RESTRICT const* tables, V8 (&roots)[kTile]) {
  const D8 d8;
  if constexpr (kCount <= kColumnSplitPairs) {
    V8 low[kCount];
    V8 high[kCount];
    for (std::size_t p = 0; p < kCount; ++p) {
      const V8 packed = hn::LoadU(d8, codes + (kFirst + p) * kBlockRows);
      low[p] = LowIndex(packed);
      high[p] = HighIndex(packed);
    }
    for (std::size_t t = 0; t < kTile; ++t) {
      roots[t] = OutputSubtree<kFirst, kCount, kFirst>(tables[t], low, high);
    }
  } else {
    V8 right[kTile];
    Subtree<kFirst, kCount / 2, kTile>(codes, tables, roots);
    Subtree<kFirst + kCount / 2, kCount / 2, kTile>(codes, tables, right);
    for (std::size_t t = 0; t < kTile; ++t) roots[t] = hn::AverageRound(roots[t], right[t]);
  }
}

// 16-bit sums of one N-row vector, [even rows | odd rows] as u16 lanes, into row order.
template <class D16>
HWY_INLINE void RowOrder(D16 d16, hn::Vec<D16> even, hn::Vec<D16> odd, hn::Vec<D16>& first,
                         hn::Vec<D16>& second) {
  // Per 128-bit block q: rows 16q..16q+7 and 16q+8..16q+15.
  const auto lower = hn::InterleaveLower(d16, even, odd);
  const auto upper = hn::InterleaveUpper(d16, even, odd);
  if constexpr (hn::MaxLanes(D16()) == 32) {
#if HWY_TARGET <= HWY_AVX3
    // Blocks (lower0, upper0, lower1, upper1) and (lower2, upper2, lower3, upper3).
    const __m512i first_index = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11);
    const __m512i second_index = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
    first = hn::Vec<D16>{_mm512_permutex2var_epi64(lower.raw, first_index, upper.raw)};
    second = hn::Vec<D16>{_mm512_permutex2var_epi64(lower.raw, second_index, upper.raw)};
#endif
  } else if constexpr (hn::MaxLanes(D16()) == 16) {
    first = hn::ConcatLowerLower(d16, upper, lower);
    second = hn::ConcatUpperUpper(d16, upper, lower);
  } else {
    static_assert(hn::MaxLanes(D16()) == 8, "128, 256 or 512-bit vectors");
    first = lower;
    second = upper;
  }
}

// Stores a vector: with `stream`, a streaming store when dst is aligned to the vector size
// (the output then bypasses the caches and is not read first), else an ordinary store.
template <class D, typename T>
HWY_INLINE void StoreColumn(D d, hn::Vec<D> v, bool stream, T* HWY_RESTRICT dst) {
  if (stream && reinterpret_cast<std::uintptr_t>(dst) % (hn::Lanes(d) * sizeof(T)) == 0) {
    hn::Stream(v, d, dst);
  } else {
    hn::StoreU(v, d, dst);
  }
}

// Stores one N-row vector of output sums (row order) of one output: 8-bit roots, or 16-bit sums in
// two halves. `valid` rows of the vector are below num_rows; only those are written.
struct RawColumnStore {
  bool stream;

  template <class D16>
  HWY_INLINE void Sums16(D16 d16, hn::Vec<D16> first, hn::Vec<D16> second, std::size_t valid,
                         std::uint16_t* HWY_RESTRICT dst) const {
    const std::size_t half = hn::Lanes(d16);
    if (valid == 2 * half) {
      StoreColumn(d16, first, stream, dst);
      StoreColumn(d16, second, stream, dst + half);
      return;
    }
    alignas(64) std::uint16_t buffer[2 * hn::MaxLanes(D16())];
    hn::Store(first, d16, buffer);
    hn::Store(second, d16, buffer + half);
    std::copy(buffer, buffer + valid, dst);
  }
  HWY_INLINE void Roots8(V8 roots, std::size_t valid, std::uint16_t* HWY_RESTRICT dst) const {
    const hn::RepartitionToWide<D8> d16;
    const hn::Half<D8> dh8;
    Sums16(d16, hn::PromoteTo(d16, hn::LowerHalf(dh8, roots)),
           hn::PromoteTo(d16, hn::UpperHalf(dh8, roots)), valid, dst);
  }
};

// 8-bit raw sums (a model with one averaging group): the roots as they are.
struct Raw8ColumnStore {
  bool stream;

  HWY_INLINE void Roots8(V8 roots, std::size_t valid, std::uint8_t* HWY_RESTRICT dst) const {
    const D8 d8;
    if (valid == hn::Lanes(d8)) {
      StoreColumn(d8, roots, stream, dst);
      return;
    }
    alignas(64) std::uint8_t buffer[hn::MaxLanes(D8())];
    hn::Store(roots, d8, buffer);
    std::copy(buffer, buffer + valid, dst);
  }
};

struct FloatColumnStore {
  bool stream;
  float scale;
  float offset;

  template <class DF>
  HWY_INLINE hn::Vec<DF> Dequantize(DF df, hn::Vec<DF> sums) const {
    return hn::Add(hn::Mul(sums, hn::Set(df, scale)), hn::Set(df, offset));
  }
  template <class D16>
  HWY_INLINE void Sums16(D16 /* d16 */, hn::Vec<D16> first, hn::Vec<D16> second, std::size_t valid,
                         float* HWY_RESTRICT dst) const {
    const hn::Repartition<float, D16> df;
    const hn::RebindToSigned<decltype(df)> di;
    const hn::Half<D16> dh16;
    const std::size_t lanes = hn::Lanes(df);
    alignas(64) float buffer[4 * hn::MaxLanes(decltype(df)())];
    const bool direct = valid == 4 * lanes;
    float* to = direct ? dst : buffer;
    const hn::Vec<decltype(dh16)> quarters[4] = {
        hn::LowerHalf(dh16, first), hn::UpperHalf(dh16, first), hn::LowerHalf(dh16, second),
        hn::UpperHalf(dh16, second)};
    for (std::size_t k = 0; k < 4; ++k) {
      const auto sums = hn::ConvertTo(df, hn::PromoteTo(di, quarters[k]));
      StoreColumn(df, Dequantize(df, sums), stream && direct, to + k * lanes);
    }
    if (!direct) std::copy(buffer, buffer + valid, dst);
  }
  HWY_INLINE void Roots8(V8 roots, std::size_t valid, float* HWY_RESTRICT dst) const {
    const hn::Repartition<float, D8> df;
    const hn::RebindToSigned<decltype(df)> di;
    const hn::Rebind<std::uint8_t, decltype(df)> dq;  // a quarter of the roots
    const std::size_t lanes = hn::Lanes(df);
    alignas(64) std::uint8_t bytes[hn::MaxLanes(D8())];
    hn::Store(roots, D8(), bytes);
    alignas(64) float buffer[hn::MaxLanes(D8())];
    const bool direct = valid == 4 * lanes;
    float* to = direct ? dst : buffer;
    for (std::size_t k = 0; k < 4; ++k) {
      const auto sums = hn::ConvertTo(df, hn::PromoteTo(di, hn::Load(dq, bytes + k * lanes)));
      StoreColumn(df, Dequantize(df, sums), stream && direct, to + k * lanes);
    }
    if (!direct) std::copy(buffer, buffer + valid, dst);
  }
};

inline RawColumnStore ColumnStore(const std::uint16_t*, const float*, const float*, std::size_t,
                                  bool stream) {
  return {stream};
}
inline Raw8ColumnStore ColumnStore(const std::uint8_t*, const float*, const float*, std::size_t,
                                   bool stream) {
  return {stream};
}
inline FloatColumnStore ColumnStore(const float*, const float* scale, const float* offset,
                                    std::size_t m, bool stream) {
  return {stream, scale[m], offset[m]};
}

// Rows [first_row, end_row) of outputs [m0, m0 + kTile), blocks of codes from `codes` (the block
// of first_row), every group whole (kPairs pairs each, num_groups groups).
template <std::size_t kPairs, std::size_t kTile, typename Out>
HWY_INLINE void DirectTile(const ScanArgs& args, const std::uint8_t* HWY_RESTRICT codes,
                           std::size_t num_groups, std::size_t first_row, std::size_t end_row,
                           std::size_t m0, Out* out, std::size_t col_stride, const float* out_scale,
                           const float* out_offset, bool stream) {
  const D8 d8;
  const hn::RepartitionToWide<D8> d16;
  const std::size_t lanes = hn::Lanes(d8);
  const std::size_t pairs = kPairs * num_groups;
  const std::size_t table_bytes = TableBytesPerOutput(args.num_codebooks);
  const std::uint8_t* tables[kTile];
  Out* columns[kTile];
  decltype(ColumnStore(out, out_scale, out_offset, 0, false)) stores[kTile];
  for (std::size_t t = 0; t < kTile; ++t) {
    tables[t] = args.luts + (m0 + t) * table_bytes;
    columns[t] = out + (m0 + t) * col_stride;
    stores[t] = ColumnStore(out, out_scale, out_offset, m0 + t, stream);
  }
  const auto low_bytes = hn::Set(d16, 0x00FF);
  // One N-row vector starting at `row`, of which `valid` rows are below end_row.
  const auto vector = [&](std::size_t row, std::size_t valid) HWY_ATTR
      __attribute__((always_inline)) {
    const std::size_t offset = row - first_row;
    const std::uint8_t* vector_codes = codes + PackedByteOffset(offset, 0, pairs);
    V8 roots[kTile];
    Subtree<0, kPairs, kTile>(vector_codes, tables, roots);
    if (num_groups == 1) {
      for (std::size_t t = 0; t < kTile; ++t) stores[t].Roots8(roots[t], valid, columns[t] + row);
      return;
    }
    if constexpr (!std::is_same_v<Out, std::uint8_t>) {  // 8-bit output: one group only
      hn::Vec<decltype(d16)> even[kTile];
      hn::Vec<decltype(d16)> odd[kTile];
      for (std::size_t t = 0; t < kTile; ++t) {
        even[t] = hn::And(hn::BitCast(d16, roots[t]), low_bytes);
        odd[t] = hn::ShiftRight<8>(hn::BitCast(d16, roots[t]));
      }
      for (std::size_t g = 1; g < num_groups; ++g) {
        const std::uint8_t* group_tables[kTile];
        for (std::size_t t = 0; t < kTile; ++t) group_tables[t] = tables[t] + g * kPairs * 32;
        Subtree<0, kPairs, kTile>(vector_codes + g * kPairs * kBlockRows, group_tables, roots);
        for (std::size_t t = 0; t < kTile; ++t) {
          even[t] = hn::Add(even[t], hn::And(hn::BitCast(d16, roots[t]), low_bytes));
          odd[t] = hn::Add(odd[t], hn::ShiftRight<8>(hn::BitCast(d16, roots[t])));
        }
      }
      for (std::size_t t = 0; t < kTile; ++t) {
        hn::Vec<decltype(d16)> first;
        hn::Vec<decltype(d16)> second;
        RowOrder(d16, even[t], odd[t], first, second);
        stores[t].Sums16(d16, first, second, valid, columns[t] + row);
      }
    }
  };
  // Whole vectors (a constant `valid` once inlined), then the last partial one.
  std::size_t row = first_row;
  for (; row + lanes <= end_row; row += lanes) vector(row, lanes);
  if (row < end_row) vector(row, end_row - row);
}

// Rows of blocks [block_begin, block_end) (below num_rows), all outputs, every group whole.
template <std::size_t kPairs, typename Out>
HWY_INLINE void DirectColumns(const ScanArgs& args, std::size_t num_groups, std::size_t block_begin,
                              std::size_t block_end, Out* out, std::size_t col_stride,
                              const float* out_scale, const float* out_offset) {
  const std::size_t pairs = kPairs * num_groups;
  const std::size_t block_bytes = pairs * kBlockRows;
  // Rows per chunk: their codes stay in L1 while every tile of outputs reads them.
  const std::size_t chunk_blocks =
      std::max<std::size_t>(1, MachineScanBudgets().column_chunk_bytes / block_bytes);
  const std::size_t end_row = std::min(args.num_rows, block_end * kBlockRows);
  // Large outputs are written with streaming stores where aligned (column_stream_min_bytes).
  const bool stream =
      args.num_rows * args.output_dim * sizeof(Out) >= MachineScanBudgets().column_stream_min_bytes;
  for (std::size_t chunk = block_begin; chunk * kBlockRows < end_row; chunk += chunk_blocks) {
    const std::size_t first_row = chunk * kBlockRows;
    const std::size_t chunk_end = std::min(end_row, (chunk + chunk_blocks) * kBlockRows);
    const std::uint8_t* codes = args.packed_codes + (chunk - block_begin) * block_bytes;
    constexpr std::size_t kTile = kColumnTile<Out>;
    std::size_t m = 0;
    for (; m + kTile <= args.output_dim; m += kTile) {
      DirectTile<kPairs, kTile>(args, codes, num_groups, first_row, chunk_end, m, out, col_stride,
                                out_scale, out_offset, stream);
    }
    if constexpr (kTile > 4) {
      if (m + 4 <= args.output_dim) {
        DirectTile<kPairs, 4>(args, codes, num_groups, first_row, chunk_end, m, out, col_stride,
                              out_scale, out_offset, stream);
        m += 4;
      }
    }
    if (kTile > 2 && m + 2 <= args.output_dim) {
      DirectTile<kPairs, 2>(args, codes, num_groups, first_row, chunk_end, m, out, col_stride,
                            out_scale, out_offset, stream);
      m += 2;
    }
    for (; m < args.output_dim; ++m) {
      DirectTile<kPairs, 1>(args, codes, num_groups, first_row, chunk_end, m, out, col_stride,
                            out_scale, out_offset, stream);
    }
  }
  if (stream) hwy::FlushStream();
}

// Whether the direct kernel applies: averaging, and every group's pairs exist.
inline bool UseDirectColumns(const ScanArgs& args, const ScanPlan& plan) {
  const std::size_t pairs = static_cast<std::size_t>(CodePairs(args.num_codebooks));
  return !plan.exact && pairs % plan.pairs_per_group == 0;
}

template <typename Out>
HWY_INLINE void DirectColumnsDispatch(const ScanArgs& args, const ScanPlan& plan,
                                      std::size_t block_begin, std::size_t block_end, Out* out,
                                      std::size_t col_stride, const float* out_scale,
                                      const float* out_offset) {
  switch (plan.pairs_per_group) {
    case 1:
      return DirectColumns<1>(args, plan.num_groups, block_begin, block_end, out, col_stride,
                              out_scale, out_offset);
    case 2:
      return DirectColumns<2>(args, plan.num_groups, block_begin, block_end, out, col_stride,
                              out_scale, out_offset);
    case 4:
      return DirectColumns<4>(args, plan.num_groups, block_begin, block_end, out, col_stride,
                              out_scale, out_offset);
    default:
      return DirectColumns<8>(args, plan.num_groups, block_begin, block_end, out, col_stride,
                              out_scale, out_offset);
  }
}

template <class Writer, typename Out>
HWY_INLINE void ScanColumnsWith(const ScanArgs& args, std::size_t block_begin,
                                std::size_t block_end, Out* out, std::size_t col_stride,
                                const float* out_scale, const float* out_offset) {
  const ScanPlan plan = MakeScanPlan(args);
  if (UseDirectColumns(args, plan)) {
    DirectColumnsDispatch(args, plan, block_begin, block_end, out, col_stride, out_scale,
                          out_offset);
    return;
  }
  const std::size_t pairs = static_cast<std::size_t>(CodePairs(args.num_codebooks));
  const std::size_t table_bytes = TableBytesPerOutput(args.num_codebooks);
  const std::size_t last_block = std::min(block_end, NumBlocks(args.num_rows));
  ScanScratch scratch;
  for (std::size_t chunk = block_begin; chunk < last_block; chunk += plan.chunk_limit) {
    const std::size_t num_blocks = std::min(plan.chunk_limit, last_block - chunk);
    const std::size_t first_row = chunk * kBlockRows;
    const std::size_t rows = std::min(num_blocks * kBlockRows, args.num_rows - first_row);
    UnpackCodes(args.packed_codes + (chunk - block_begin) * pairs * kBlockRows, pairs, num_blocks,
                scratch.nibbles);
    for (std::size_t m = 0; m < args.output_dim; ++m) {
      ScanOutputStage(args, plan, args.luts + m * table_bytes, scratch.nibbles, num_blocks,
                      scratch.stage);
      Writer writer;
      if constexpr (std::is_same_v<Writer, FloatColumnWriter>) {
        writer.scale = out_scale[m];
        writer.offset = out_offset[m];
      }
      Out* dst = out + m * col_stride + first_row;
      if constexpr (std::is_same_v<Writer, Raw8ColumnWriter>) {
        writer.Column8(reinterpret_cast<const std::uint8_t*>(scratch.stage), rows, dst);
      } else if (plan.wide) {
        WriteColumn16(scratch.stage, rows, writer, dst);
      } else {
        writer.Column8(reinterpret_cast<const std::uint8_t*>(scratch.stage), rows, dst);
      }
    }
  }
}

inline void ScanColumnsImpl(const ScanArgs& args, std::size_t block_begin, std::size_t block_end,
                            std::uint16_t* raw, std::size_t col_stride) {
  ScanColumnsWith<RawColumnWriter>(args, block_begin, block_end, raw, col_stride, nullptr, nullptr);
}

inline void ScanColumns8Impl(const ScanArgs& args, std::size_t block_begin, std::size_t block_end,
                             std::uint8_t* raw, std::size_t col_stride) {
  ScanColumnsWith<Raw8ColumnWriter>(args, block_begin, block_end, raw, col_stride, nullptr,
                                    nullptr);
}

inline void ScanDequantizeColumnsImpl(const ScanArgs& args, const float* out_scale,
                                      const float* out_offset, std::size_t block_begin,
                                      std::size_t block_end, float* out, std::size_t col_stride) {
  ScanColumnsWith<FloatColumnWriter>(args, block_begin, block_end, out, col_stride, out_scale,
                                     out_offset);
}

#endif  // HWY_TARGET

}  // namespace HWY_NAMESPACE
}  // namespace maddness::detail
HWY_AFTER_NAMESPACE();

#endif  // include guard
