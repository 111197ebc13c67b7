// SIMD scan, written once with Highway and compiled for every target by scan.cc.
//
// Contract: the same outputs as ScanRef / ScanDequantizeRef (scan.h), bit for bit.
//
// Structure, for the blocks given to one call (64 rows each):
//   for each chunk of up to 8 blocks (its codes, split into nibbles, fit in L1):
//     1. unpack the packed codes of the chunk to one byte per code, [block][pair][low | high],
//        once per chunk for all outputs, so that the per-output loop does no masking;
//     2. for each tile of 16 outputs, for each output, for each group of codebooks:
//          the group's tables stay in registers (16-byte tables broadcast to every 128-bit block)
//          while the chunk's rows stream through: one TableLookupBytes per (codebook, N rows) and
//          the averaging tree with AverageRound, or the exact 16-bit sum. Results go to a stage
//          buffer [output][row]: uint8 when the output is one group root, otherwise uint16.
//     3. transpose the stage, 16 outputs x 16 rows per 128-bit block (byte interleaves; 8 x 8 for
//        uint16; 8 outputs x 16 rows for uint8 when the tile has at most 8 outputs), then convert
//        each row's outputs (raw uint16, or float with a separate multiply and add) and store
//        them in the row-major output. Rows >= num_rows are not written.
//        Large outputs go through two per-chunk buffers and streaming stores instead
//        (UseStreamingStores): a chunk's rows are streamed out in slices while the next chunk is
//        computed (PendingStream). Small M with rows exactly M values apart (UseCompactOutput):
//        the transposed sums go to a per-chunk buffer of rows M sums apart instead, which is then
//        converted as one flat array with whole vectors only (the scales and offsets of
//        lcm(M, vector width) values in registers when that is 1, 3, 5 or 7 vectors).
//
// Padding codebooks of the averaging tree (index >= C) are zero vectors, without lookups.
// The 16-bit stage keeps the rows of each N-row vector as [even rows | odd rows], which is what
// widening the bytes in place (mask and shift of 16-bit lanes) gives; step 3 knows that order.
#if defined(MADDNESS_SRC_SCAN_SCAN_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MADDNESS_SRC_SCAN_SCAN_INL_H_
#undef MADDNESS_SRC_SCAN_SCAN_INL_H_
#else
#define MADDNESS_SRC_SCAN_SCAN_INL_H_
#endif

#include <hwy/cache_control.h>
#include <hwy/highway.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "src/common/aligned.h"
#include "src/common/layout.h"
#include "src/scan/scan.h"

HWY_BEFORE_NAMESPACE();
namespace maddness::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Where the scan writes: raw sums (uint16) or de-quantized floats, row-major with a row stride.
struct RawSink {
  std::uint16_t* raw;
  std::size_t row_stride;
  bool stream =
      false;  // assemble each chunk's rows in a buffer, then copy them with streaming stores
  std::uint16_t* Data() const { return raw; }
  RawSink Local(std::uint16_t* buffer, std::size_t stride) const { return {buffer, stride}; }
};
struct FloatSink {
  float* out;
  std::size_t row_stride;
  const float* scale;
  const float* offset;
  bool stream = false;  // as RawSink::stream
  float* Data() const { return out; }
  FloatSink Local(float* buffer, std::size_t stride) const {
    return {buffer, stride, scale, offset};
  }
};

#if HWY_TARGET == HWY_SCALAR || HWY_TARGET == HWY_EMU128 || HWY_HAVE_SCALABLE

// One-lane (or sizeless) targets: the scalar references are the implementation.
inline void ScanBlocksImpl(const ScanArgs& args, std::size_t block_begin, std::size_t block_end,
                           std::uint16_t* raw, std::size_t raw_row_stride) {
  ScanRef(args, block_begin, block_end, raw, raw_row_stride);
}
inline void ScanDequantizeBlocksImpl(const ScanArgs& args, const float* out_scale,
                                     const float* out_offset, std::size_t block_begin,
                                     std::size_t block_end, float* out,
                                     std::size_t out_row_stride) {
  ScanDequantizeRef(args, out_scale, out_offset, block_begin, block_end, out, out_row_stride);
}

#else

inline constexpr std::size_t kOutputTile = 16;      // outputs transposed together
inline constexpr std::size_t kMaxChunkBlocks = 8;   // blocks scanned per table load
inline constexpr std::size_t kNibbleBytes = 16384;  // budget of the unpacked codes of a chunk
inline constexpr std::size_t kPairBytes = 2 * kBlockRows;  // one pair of one block, unpacked

enum class StageMode {
  kRoot8,    // averaging, one group: the root is the output (uint8)
  kRoots16,  // averaging, several groups: sum of roots (uint16)
  kExact16,  // exact sum (uint16)
};

// Scratch memory of one call. Lives on the stack (about 34 KiB).
struct ScanScratch {
  alignas(64) std::uint8_t nibbles[kNibbleBytes];
  alignas(64) std::uint16_t stage[kOutputTile * kMaxChunkBlocks * kBlockRows];
  alignas(64) std::uint16_t transposed[kOutputTile * kBlockRows];
};

// Broadcast of a 16-byte table to every 128-bit block.
template <class D>
HWY_INLINE hn::Vec<D> LoadTable(D d, const std::uint8_t* table) {
  if constexpr (hn::MaxLanes(D()) <= 16) {
    return hn::LoadU(d, table);
  } else {
    return hn::LoadDup128(d, table);
  }
}

// Adds the 16-bit values (even rows, odd rows) of one N-row vector to the stage, or stores them
// for the first group.
template <class D16>
HWY_INLINE void AccumulateWide(D16 d16, hn::Vec<D16> even, hn::Vec<D16> odd, bool first,
                               std::uint16_t* stage) {
  const std::size_t half = hn::Lanes(d16);
  if (!first) {
    even = hn::Add(even, hn::Load(d16, stage));
    odd = hn::Add(odd, hn::Load(d16, stage + half));
  }
  hn::Store(even, d16, stage);
  hn::Store(odd, d16, stage + half);
}

// Targets with 16 vector registers cannot hold the 16 tables of a group of 8 pairs plus the
// working values: the averaging tree is then computed in two halves of 4 pairs (the first half's
// subtree roots wait in a small buffer), and the exact sum uses groups of 4 pairs.
#if HWY_ARCH_X86 && HWY_TARGET >= HWY_AVX2
inline constexpr bool kFewRegisters = true;
#else
inline constexpr bool kFewRegisters = false;
#endif

// Which part of a group's averaging tree ScanGroup computes.
enum class TreePart {
  kWhole,       // the whole group
  kFirstHalf,   // the subtree of the first half of the pairs: roots go to `half_roots`
  kSecondHalf,  // the subtree of the second half, averaged with `half_roots`: the group root
};

// One output, one group of kPairs codebook pairs (or half a group, see TreePart), every row of
// the chunk. tables: the output's tables of the first pair; nibbles: the chunk's unpacked codes
// at the first pair; real_pairs: pairs of the group that exist (the rest are padding);
// last_high: whether the last real pair has a high codebook (false for the last pair of an odd C).
template <std::size_t kPairs, bool kFull, StageMode kMode, TreePart kPart = TreePart::kWhole>
HWY_INLINE void ScanGroup(const std::uint8_t* HWY_RESTRICT tables, std::size_t real_pairs,
                          bool last_high, const std::uint8_t* HWY_RESTRICT nibbles,
                          std::size_t block_stride, std::size_t num_blocks, bool first_group,
                          std::uint16_t* HWY_RESTRICT stage,
                          std::uint8_t* HWY_RESTRICT half_roots = nullptr) {
  const hn::ScalableTag<std::uint8_t> d8;
  const hn::RepartitionToWide<decltype(d8)> d16;
  using V = hn::Vec<decltype(d8)>;
  const std::size_t lanes = hn::Lanes(d8);
  const V zero = hn::Zero(d8);
  V low_tables[kPairs];
  V high_tables[kPairs];
  bool has_low[kPairs];
  bool has_high[kPairs];
  for (std::size_t j = 0; j < kPairs; ++j) {
    has_low[j] = kFull || j < real_pairs;
    has_high[j] = kFull || j + 1 < real_pairs || (j + 1 == real_pairs && last_high);
    low_tables[j] = has_low[j] ? LoadTable(d8, tables + 32 * j) : zero;
    high_tables[j] = has_high[j] ? LoadTable(d8, tables + 32 * j + 16) : zero;
  }
  std::uint8_t* stage8 = reinterpret_cast<std::uint8_t*>(stage);
  for (std::size_t block = 0; block < num_blocks; ++block) {
    const std::uint8_t* block_nibbles = nibbles + block * block_stride;
    for (std::size_t v = 0; v < kBlockRows; v += lanes) {
      const std::uint8_t* nib = block_nibbles + v;
      if constexpr (kMode == StageMode::kExact16) {
        auto sum_all = hn::Zero(d16);  // low byte + 256 * high byte, modulo 2^16
        auto sum_odd = hn::Zero(d16);  // the high bytes (odd rows)
        for (std::size_t j = 0; j < kPairs; ++j) {
          if (has_low[j]) {
            const auto value = hn::BitCast(
                d16, hn::TableLookupBytes(low_tables[j], hn::Load(d8, nib + j * kPairBytes)));
            sum_all = hn::Add(sum_all, value);
            sum_odd = hn::Add(sum_odd, hn::ShiftRight<8>(value));
          }
          if (has_high[j]) {
            const auto value = hn::BitCast(
                d16, hn::TableLookupBytes(high_tables[j],
                                          hn::Load(d8, nib + j * kPairBytes + kBlockRows)));
            sum_all = hn::Add(sum_all, value);
            sum_odd = hn::Add(sum_odd, hn::ShiftRight<8>(value));
          }
        }
        const auto sum_even = hn::Sub(sum_all, hn::ShiftLeft<8>(sum_odd));
        AccumulateWide(d16, sum_even, sum_odd, first_group, stage + block * kBlockRows + v);
      } else {
        V values[kPairs];
        for (std::size_t j = 0; j < kPairs; ++j) {
          if (!has_low[j]) {
            values[j] = zero;  // a padding pair: both codebooks are 0
            continue;
          }
          const V low = hn::TableLookupBytes(low_tables[j], hn::Load(d8, nib + j * kPairBytes));
          const V high = has_high[j]
                             ? hn::TableLookupBytes(high_tables[j],
                                                    hn::Load(d8, nib + j * kPairBytes + kBlockRows))
                             : zero;
          values[j] = hn::AverageRound(low, high);
        }
        // Balanced tree in codebook order: pairs (0,1), (2,3), ... then their pairs, ...
        for (std::size_t width = kPairs; width > 1; width /= 2) {
          for (std::size_t i = 0; i < width / 2; ++i) {
            values[i] = hn::AverageRound(values[2 * i], values[2 * i + 1]);
          }
        }
        if constexpr (kPart == TreePart::kFirstHalf) {
          hn::Store(values[0], d8, half_roots + block * kBlockRows + v);
          continue;
        } else if constexpr (kPart == TreePart::kSecondHalf) {
          values[0] =
              hn::AverageRound(hn::Load(d8, half_roots + block * kBlockRows + v), values[0]);
        }
        if constexpr (kMode == StageMode::kRoot8) {
          hn::Store(values[0], d8, stage8 + block * kBlockRows + v);
        } else {
          const auto root = hn::BitCast(d16, values[0]);
          AccumulateWide(d16, hn::And(root, hn::Set(d16, 0xFF)), hn::ShiftRight<8>(root),
                         first_group, stage + block * kBlockRows + v);
        }
      }
    }
  }
}

template <std::size_t kPairs, StageMode kMode>
HWY_INLINE void ScanGroupAnyPadding(const std::uint8_t* tables, std::size_t real_pairs,
                                    bool last_high, const std::uint8_t* nibbles,
                                    std::size_t block_stride, std::size_t num_blocks,
                                    bool first_group, std::uint16_t* stage) {
  if (real_pairs == kPairs && last_high) {
    if constexpr (kFewRegisters && kPairs == 8 && kMode != StageMode::kExact16) {
      alignas(64) std::uint8_t half_roots[kMaxChunkBlocks * kBlockRows];
      ScanGroup<4, true, kMode, TreePart::kFirstHalf>(tables, 4, true, nibbles, block_stride,
                                                      num_blocks, first_group, stage, half_roots);
      ScanGroup<4, true, kMode, TreePart::kSecondHalf>(tables + 4 * 32, 4, true,
                                                       nibbles + 4 * kPairBytes, block_stride,
                                                       num_blocks, first_group, stage, half_roots);
      return;
    }
    ScanGroup<kPairs, true, kMode>(tables, real_pairs, last_high, nibbles, block_stride, num_blocks,
                                   first_group, stage);
  } else {
    ScanGroup<kPairs, false, kMode>(tables, real_pairs, last_high, nibbles, block_stride,
                                    num_blocks, first_group, stage);
  }
}

template <StageMode kMode>
HWY_INLINE void ScanGroupDispatch(std::size_t pairs_per_group, const std::uint8_t* tables,
                                  std::size_t real_pairs, bool last_high,
                                  const std::uint8_t* nibbles, std::size_t block_stride,
                                  std::size_t num_blocks, bool first_group, std::uint16_t* stage) {
  switch (pairs_per_group) {
    case 1:
      return ScanGroupAnyPadding<1, kMode>(tables, real_pairs, last_high, nibbles, block_stride,
                                           num_blocks, first_group, stage);
    case 2:
      return ScanGroupAnyPadding<2, kMode>(tables, real_pairs, last_high, nibbles, block_stride,
                                           num_blocks, first_group, stage);
    case 4:
      return ScanGroupAnyPadding<4, kMode>(tables, real_pairs, last_high, nibbles, block_stride,
                                           num_blocks, first_group, stage);
    default:
      return ScanGroupAnyPadding<8, kMode>(tables, real_pairs, last_high, nibbles, block_stride,
                                           num_blocks, first_group, stage);
  }
}

// Splits the packed codes of num_blocks blocks into one byte per code (see the header comment).
inline void UnpackCodes(const std::uint8_t* HWY_RESTRICT packed, std::size_t pairs,
                        std::size_t num_blocks, std::uint8_t* HWY_RESTRICT nibbles) {
  const hn::ScalableTag<std::uint8_t> d8;
  const hn::RepartitionToWide<decltype(d8)> d16;
  const auto mask = hn::Set(d8, 0x0F);
  const std::size_t lanes = hn::Lanes(d8);
  for (std::size_t i = 0; i < num_blocks * pairs; ++i) {
    const std::uint8_t* in = packed + i * kBlockRows;
    std::uint8_t* out = nibbles + i * kPairBytes;
    for (std::size_t v = 0; v < kBlockRows; v += lanes) {
      const auto codes = hn::LoadU(d8, in + v);
      hn::Store(hn::And(codes, mask), d8, out + v);
      const auto high = hn::BitCast(d8, hn::ShiftRight<4>(hn::BitCast(d16, codes)));
      hn::Store(hn::And(high, mask), d8, out + kBlockRows + v);
    }
  }
}

// 16 x 16 byte transpose within every 128-bit block: afterwards byte l of block q of rows[k] is
// byte k of block q of the input rows[l]. Each of the four rounds rotates the (vector, byte)
// index bits left by one.
template <class D>
HWY_INLINE void Transpose16x16(D d, hn::Vec<D>* rows) {
  hn::Vec<D> tmp[16];
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 8; ++i) {
      tmp[2 * i] = hn::InterleaveLower(d, rows[i], rows[i + 8]);
      tmp[2 * i + 1] = hn::InterleaveUpper(d, rows[i], rows[i + 8]);
    }
    for (int i = 0; i < 16; ++i) rows[i] = tmp[i];
  }
}

// 8 x 8 transpose of 16-bit lanes within every 128-bit block (three rounds, same scheme).
template <class D>
HWY_INLINE void Transpose8x8(D d, hn::Vec<D>* rows) {
  hn::Vec<D> tmp[8];
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 4; ++i) {
      tmp[2 * i] = hn::InterleaveLower(d, rows[i], rows[i + 4]);
      tmp[2 * i + 1] = hn::InterleaveUpper(d, rows[i], rows[i + 4]);
    }
    for (int i = 0; i < 8; ++i) rows[i] = tmp[i];
  }
}

// Writers of one tile of outputs [m0, m0 + count), count <= 16, one row at a time, given the
// row's first output `dst`. Row8 takes the row's `count` sums as bytes (kFull: count is 16);
// Row16 takes outputs [first, first + n), n <= 8, as uint16. Outputs past a multiple of the
// vector width are written one by one (a masked store is slow on AVX2 and emulated for 16-bit
// lanes; a full-width store would write past the row), except with `whole`: then the last
// vector is stored whole, past the row's last output. ScanImpl passes `whole` only for rows that
// are exactly M values apart (M >= 16, so fewer than M values are written past the row) and
// that are followed, in the same call, by a row whose first tile is written later: tiles go
// from the last to the first, so the values written past the row are overwritten.
class RawTileWriter {
 public:
  using Out = std::uint16_t;

  RawTileWriter(const RawSink& sink, std::size_t m0, std::size_t count, std::size_t whole_end)
      : base_(sink.raw + m0), stride_(sink.row_stride), count_(count), whole_end_(whole_end) {}

  Out* Row(std::size_t row) const { return base_ + row * stride_; }
  std::size_t stride() const { return stride_; }
  bool Whole(std::size_t row) const { return row < whole_end_; }

  template <bool kFull>
  HWY_INLINE void Row8(const std::uint8_t* HWY_RESTRICT sums, Out* HWY_RESTRICT dst,
                       bool whole) const {
    const hn::CappedTag<std::uint16_t, kOutputTile> d16;
    const hn::Rebind<std::uint8_t, decltype(d16)> d8;
    const std::size_t lanes = hn::Lanes(d16);
    const std::size_t count = kFull ? kOutputTile : count_;
    const std::size_t vector_end = whole ? count + lanes - 1 : count;
    std::size_t c = 0;
    for (; c + lanes <= vector_end; c += lanes) {
      hn::StoreU(hn::PromoteTo(d16, hn::LoadU(d8, sums + c)), d16, dst + c);
    }
    if (!kFull) {
      for (; c < count; ++c) dst[c] = sums[c];
    }
  }

  HWY_INLINE void Row16(const std::uint16_t* HWY_RESTRICT sums, Out* HWY_RESTRICT dst,
                        std::size_t first, std::size_t n, bool whole) const {
    const hn::CappedTag<std::uint16_t, 8> d16;
    if ((n == 8 || whole) && hn::Lanes(d16) == 8) {
      hn::StoreU(hn::LoadU(d16, sums), d16, dst + first);
      return;
    }
    for (std::size_t c = 0; c < n; ++c) dst[first + c] = sums[c];
  }

 private:
  Out* base_;
  std::size_t stride_;
  std::size_t count_;
  std::size_t whole_end_;  // rows below it may be written with whole vectors
};

class FloatTileWriter {
 public:
  using Out = float;

  FloatTileWriter(const FloatSink& sink, std::size_t m0, std::size_t count, std::size_t whole_end)
      : base_(sink.out + m0), stride_(sink.row_stride), count_(count), whole_end_(whole_end) {
    for (std::size_t i = 0; i < kOutputTile; ++i) {
      scale_[i] = i < count ? sink.scale[m0 + i] : 0.0f;
      offset_[i] = i < count ? sink.offset[m0 + i] : 0.0f;
    }
  }

  Out* Row(std::size_t row) const { return base_ + row * stride_; }
  std::size_t stride() const { return stride_; }
  bool Whole(std::size_t row) const { return row < whole_end_; }

  template <bool kFull>
  HWY_INLINE void Row8(const std::uint8_t* HWY_RESTRICT sums, Out* HWY_RESTRICT dst,
                       bool whole) const {
    const hn::CappedTag<float, kOutputTile> df;
    const hn::RebindToSigned<decltype(df)> di;
    const hn::Rebind<std::uint8_t, decltype(df)> d8;
    const std::size_t lanes = hn::Lanes(df);
    const std::size_t count = kFull ? kOutputTile : count_;
    const std::size_t vector_end = whole ? count + lanes - 1 : count;
    std::size_t c = 0;
    for (; c + lanes <= vector_end; c += lanes) {
      auto value = hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(d8, sums + c)));
      value = hn::Mul(value, hn::Load(df, scale_ + c));
      hn::StoreU(hn::Add(value, hn::Load(df, offset_ + c)), df, dst + c);
    }
    if (!kFull) {
      for (; c < count; ++c) dst[c] = Dequantize(sums[c], scale_[c], offset_[c]);
    }
  }

  HWY_INLINE void Row16(const std::uint16_t* HWY_RESTRICT sums, Out* HWY_RESTRICT row_dst,
                        std::size_t first, std::size_t n, bool whole) const {
    const hn::CappedTag<float, 8> df;
    const hn::RebindToSigned<decltype(df)> di;
    const hn::Rebind<std::uint16_t, decltype(df)> d16;
    const std::size_t lanes = hn::Lanes(df);
    float* HWY_RESTRICT dst = row_dst + first;
    const float* scale = scale_ + first;
    const float* offset = offset_ + first;
    const std::size_t vector_end = whole ? n + lanes - 1 : n;
    std::size_t c = 0;
    for (; c + lanes <= vector_end; c += lanes) {
      auto value = hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(d16, sums + c)));
      value = hn::Mul(value, hn::Load(df, scale + c));
      hn::StoreU(hn::Add(value, hn::Load(df, offset + c)), df, dst + c);
    }
    for (; c < n; ++c) dst[c] = Dequantize(sums[c], scale[c], offset[c]);
  }

 private:
  alignas(64) float scale_[kOutputTile];
  alignas(64) float offset_[kOutputTile];
  Out* base_;
  std::size_t stride_;
  std::size_t count_;
  std::size_t whole_end_;  // rows below it may be written with whole vectors
};

inline RawTileWriter TileWriter(const RawSink& sink, std::size_t m0, std::size_t count,
                                std::size_t whole_end) {
  return RawTileWriter(sink, m0, count, whole_end);
}
inline FloatTileWriter TileWriter(const FloatSink& sink, std::size_t m0, std::size_t count,
                                  std::size_t whole_end) {
  return FloatTileWriter(sink, m0, count, whole_end);
}

// Writes rows [0, rows) of a block from the transposed 8-bit sums: row v + 16 q + k (v a
// multiple of the vector's lanes) is at out8 + 16 v + k * lanes + 16 q.
template <bool kFull, class Writer>
HWY_INLINE void WriteRows8(const std::uint8_t* HWY_RESTRICT out8, std::size_t lanes,
                           std::size_t rows, std::size_t first_row, const Writer& writer) {
  const std::size_t stride = writer.stride();
  for (std::size_t r0 = 0; r0 < rows; r0 += 16) {
    const std::size_t v = r0 - r0 % lanes;
    const std::uint8_t* src = out8 + 16 * v + (r0 % lanes);
    typename Writer::Out* dst = writer.Row(first_row + r0);
    const std::size_t n = std::min<std::size_t>(16, rows - r0);
    for (std::size_t k = 0; k < n; ++k) {
      writer.template Row8<kFull>(src + k * lanes, dst, writer.Whole(first_row + r0 + k));
      dst += stride;
    }
  }
}

// Step 3 for one block of the chunk and one tile of outputs: transposes the stage rows of the
// tile into `transposed` and writes the block's rows < num_rows.
template <class Writer>
HWY_INLINE void WriteBlock(bool wide, const std::uint16_t* stage, std::size_t chunk_rows,
                           std::size_t block_in_chunk, std::size_t count, std::size_t first_row,
                           std::size_t num_rows, std::uint16_t* transposed, const Writer& writer) {
  const std::size_t rows = std::min(kBlockRows, num_rows - first_row);
  if (!wide) {
    const hn::ScalableTag<std::uint8_t> d8;
    const std::size_t lanes = hn::Lanes(d8);
    const std::uint8_t* stage8 =
        reinterpret_cast<const std::uint8_t*>(stage) + block_in_chunk * kBlockRows;
    std::uint8_t* out8 = reinterpret_cast<std::uint8_t*>(transposed);
    if (count <= 8) {
      // Only the first 8 stage rows (as CompactBlock): row v + 16 q + 2 k + j (j = 0, 1) is at
      // out8 + 8 v + k * lanes + 16 q + 8 j.
      for (std::size_t v = 0; v < rows; v += lanes) {
        hn::Vec<decltype(d8)> tile[8];
        for (std::size_t i = 0; i < 8; ++i) tile[i] = hn::Load(d8, stage8 + i * chunk_rows + v);
        Transpose8x8(d8, tile);
        for (std::size_t k = 0; k < 8; ++k) hn::Store(tile[k], d8, out8 + 8 * v + k * lanes);
      }
      typename Writer::Out* dst = writer.Row(first_row);
      for (std::size_t r = 0; r < rows; ++r) {
        const std::size_t in_vector = r % lanes;
        const std::size_t at = 8 * (r - in_vector) + (in_vector % 16 / 2) * lanes +
                               16 * (in_vector / 16) + 8 * (in_vector % 2);
        writer.template Row8<false>(out8 + at, dst, writer.Whole(first_row + r));
        dst += writer.stride();
      }
      return;
    }
    for (std::size_t v = 0; v < rows; v += lanes) {
      hn::Vec<decltype(d8)> tile[16];
      for (std::size_t i = 0; i < 16; ++i) tile[i] = hn::Load(d8, stage8 + i * chunk_rows + v);
      Transpose16x16(d8, tile);
      for (std::size_t k = 0; k < 16; ++k) hn::Store(tile[k], d8, out8 + 16 * v + k * lanes);
    }
    if (count == kOutputTile) {
      WriteRows8<true>(out8, lanes, rows, first_row, writer);
    } else {
      WriteRows8<false>(out8, lanes, rows, first_row, writer);
    }
    return;
  }
  const hn::ScalableTag<std::uint16_t> d16;
  const std::size_t half = hn::Lanes(d16);  // 16-bit lanes = half the rows of an N-row vector
  const std::size_t lanes = 2 * half;
  const std::size_t halves = count > 8 ? 2 : 1;
  const std::uint16_t* block_stage = stage + block_in_chunk * kBlockRows;
  const std::size_t stride = writer.stride();
  for (std::size_t v = 0; v < rows; v += lanes) {
    for (std::size_t h = 0; h < halves; ++h) {
      for (std::size_t parity = 0; parity < 2; ++parity) {
        hn::Vec<decltype(d16)> tile[8];
        for (std::size_t i = 0; i < 8; ++i) {
          tile[i] = hn::Load(d16, block_stage + (h * 8 + i) * chunk_rows + v + parity * half);
        }
        Transpose8x8(d16, tile);
        for (std::size_t k = 0; k < 8; ++k) {
          hn::Store(tile[k], d16, transposed + ((h * 2 + parity) * 8 + k) * half);
        }
      }
    }
    // Row v + 16 q + 2 k + parity, outputs [8 h, 8 h + 8), is at
    // transposed + ((2 h + parity) * 8 + k) * half + 8 q.
    const std::size_t end = std::min(lanes, rows - v);
    typename Writer::Out* dst = writer.Row(first_row + v);
    for (std::size_t i = 0; i < end; ++i) {
      const std::size_t at = ((i % 2) * 8 + (i % 16) / 2) * half + (i / 16) * 8;
      const bool whole = writer.Whole(first_row + v + i);
      writer.Row16(transposed + at, dst, 0, std::min<std::size_t>(count, 8), whole);
      if (count > 8) writer.Row16(transposed + 16 * half + at, dst, 8, count - 8, whole);
      dst += stride;
    }
  }
}

// Outputs of at least this many bytes in all (and rows of exactly M values) are written with
// streaming stores: twice the L2 cache of the development machine, so the lines written are
// usually not in the core's caches, and a streaming store does not first read the line it
// writes (an ordinary store does: for a cold output that doubles the memory traffic). Each
// chunk's rows are assembled in a buffer (at most kMaxStreamBufferBytes; two of them, used in
// turns) and copied out in address order, in slices while the next chunk is computed
// (PendingStream), so that every cache line of the output is written whole, at once, and the
// memory writes overlap the lookups.
inline constexpr std::size_t kStreamMinBytes = std::size_t{1} << 20;
inline constexpr std::size_t kMaxStreamBufferBytes = std::size_t{256} << 10;

inline bool UseStreamingStores(const ScanArgs& args, std::size_t out_row_stride,
                               std::size_t element_bytes) {
  const std::size_t buffer_bytes = kMaxChunkBlocks * kBlockRows * args.output_dim * element_bytes;
  return out_row_stride == args.output_dim && buffer_bytes <= kMaxStreamBufferBytes &&
         args.num_rows * args.output_dim * element_bytes >= kStreamMinBytes;
}

// Copies `count` values to `dst` with streaming stores, and the parts outside whole vectors at
// aligned addresses with ordinary stores.
template <typename T>
inline void StreamCopy(const T* HWY_RESTRICT src, T* HWY_RESTRICT dst, std::size_t count) {
  const hn::ScalableTag<T> d;
  const std::size_t lanes = hn::Lanes(d);
  const std::size_t align = lanes * sizeof(T);
  std::size_t i = 0;
  while (i < count && reinterpret_cast<std::uintptr_t>(dst + i) % align != 0) {
    dst[i] = src[i];
    ++i;
  }
  for (; i + lanes <= count; i += lanes) hn::Stream(hn::LoadU(d, src + i), d, dst + i);
  for (; i < count; ++i) dst[i] = src[i];
}

// A chunk's rows assembled in a stream buffer, copied out with streaming stores a slice at a
// time while the next chunk is being computed (ScanImpl calls Step between outputs and between
// blocks), so that the memory writes overlap the lookups instead of following them.
template <typename T>
class PendingStream {
 public:
  // Starts the copy of `count` values from src to dst, in about `steps` slices.
  void Start(const T* src, T* dst, std::size_t count, std::size_t steps) {
    src_ = src;
    dst_ = dst;
    count_ = count;
    done_ = 0;
    slice_ = (count + steps - 1) / std::max<std::size_t>(steps, 1);
  }
  // Copies the next slice. Slices end at 64-byte boundaries of dst (but the last), so that each
  // cache line of the output is written whole by one StreamCopy.
  void Step() {
    if (done_ == count_) return;
    std::size_t end = std::min(count_, done_ + slice_);
    if (end < count_) {
      const std::size_t line = 64 / sizeof(T);
      const std::size_t misalign = (reinterpret_cast<std::uintptr_t>(dst_ + end) % 64) / sizeof(T);
      end = std::min(count_, end + (line - misalign) % line);
    }
    StreamCopy(src_ + done_, dst_ + done_, end - done_);
    done_ = end;
  }
  void Finish() {
    if (done_ < count_) StreamCopy(src_ + done_, dst_ + done_, count_ - done_);
    done_ = count_;
  }

 private:
  const T* src_ = nullptr;
  T* dst_ = nullptr;
  std::size_t count_ = 0;
  std::size_t done_ = 0;
  std::size_t slice_ = 0;
};

// Compact output (small M, rows exactly M values apart; UseCompactOutput): instead of converting
// each row's outputs from the transposed tile (for M not a multiple of the vector width, a
// partial vector and scalar conversions per row, which took most of the scan's time at M = 5 or
// 10), the transposed sums of a chunk are first written to a buffer of rows exactly M sums
// apart (one 16-byte store per row and tile; tiles go from the last to the first, so that the
// bytes a partial last tile writes past its row are overwritten by the next row's first tile),
// and the chunk's rows * M sums are then converted as one flat array, whole vectors only: the
// scale and offset of element e are those of output e mod M, read from copies of them repeated
// past M.
inline constexpr std::size_t kCompactSlack = 64;  // elements written past a chunk's last row

// Measured on AVX2 (Zen 3, N = 10000, C = 2 and 16; scan alone): float32 output 1.5-3.7x faster
// for M in {3, 5, 10, 20, 31}, 1.2x for M = 1; but slower when the per-row writes had no scalar
// part (M = 16: 0.77x) or only a small one (M = 67: 0.89x). Raw output: 1.2-1.5x for M < 16,
// 0.88x at M = 20. Hence: float32 when M < 32 is not a multiple of 8, raw when M < 16.
inline constexpr std::size_t kCompactMaxOutputs = 31;

inline bool UseCompactOutput(const ScanArgs& args, std::size_t out_row_stride,
                             std::size_t element_bytes) {
  if (out_row_stride != args.output_dim) return false;
  if (element_bytes == sizeof(float)) {
    return args.output_dim <= kCompactMaxOutputs && args.output_dim % 8 != 0;
  }
  return args.output_dim < 16;
}

// Stores 128-bit block q of `v` at dst.
template <class D>
HWY_INLINE void StoreBlock(D d, hn::Vec<D> v, std::size_t q, hn::TFromD<D>* HWY_RESTRICT dst) {
  using T = hn::TFromD<D>;
  const hn::Full128<T> d128;
  constexpr std::size_t kBlocks = hn::MaxLanes(D()) * sizeof(T) / 16;
  if constexpr (kBlocks == 1) {
    hn::StoreU(v, d128, dst);
  } else if constexpr (kBlocks == 2) {
    const hn::Half<D> dh;
    hn::StoreU(q == 0 ? hn::LowerHalf(dh, v) : hn::UpperHalf(dh, v), d128, dst);
  } else {
    alignas(64) T lanes[hn::MaxLanes(D())];
    hn::Store(v, d, lanes);
    hn::StoreU(hn::Load(d128, lanes + q * 16 / sizeof(T)), d128, dst);
  }
}

// Stores the two 8-byte halves of 128-bit block q of `v` at dst_low and dst_high.
template <class D>
HWY_INLINE void StoreBlockHalves(D d, hn::Vec<D> v, std::size_t q,
                                 std::uint8_t* HWY_RESTRICT dst_low,
                                 std::uint8_t* HWY_RESTRICT dst_high) {
  const hn::Full128<std::uint8_t> d128;
  const hn::Half<decltype(d128)> d64;
  constexpr std::size_t kBlocks = hn::MaxLanes(D()) / 16;
  hn::Vec<decltype(d128)> block;
  if constexpr (kBlocks == 1) {
    block = v;
  } else if constexpr (kBlocks == 2) {
    const hn::Half<D> dh;
    block = q == 0 ? hn::LowerHalf(dh, v) : hn::UpperHalf(dh, v);
  } else {
    alignas(64) std::uint8_t lanes[hn::MaxLanes(D())];
    hn::Store(v, d, lanes);
    block = hn::Load(d128, lanes + q * 16);
  }
  hn::StoreU(hn::LowerHalf(d64, block), d64, dst_low);
  hn::StoreU(hn::UpperHalf(d64, block), d64, dst_high);
}

// Step 3 for one block of the chunk and one tile of outputs, compact output: transposes like
// WriteBlock and stores row i's sums of the tile at compact + (first_row + i) * M + m0 (16 of
// them, whatever count is; 8 for 8-bit sums when count <= 8), straight from the registers. Rows
// >= rows are not stored.
template <typename T>
HWY_INLINE void CompactBlock(const std::uint16_t* stage, std::size_t chunk_rows,
                             std::size_t block_in_chunk, std::size_t count, std::size_t first_row,
                             std::size_t rows, std::size_t outputs, std::size_t m0,
                             T* HWY_RESTRICT compact) {
  T* block_out = compact + first_row * outputs + m0;
  if constexpr (sizeof(T) == 1) {
    const hn::ScalableTag<std::uint8_t> d8;
    const std::size_t lanes = hn::Lanes(d8);
    const std::uint8_t* stage8 =
        reinterpret_cast<const std::uint8_t*>(stage) + block_in_chunk * kBlockRows;
    if (count <= 8) {
      // Only the first 8 stage rows: 8 outputs x 16 rows per 128-bit block, 3 rounds of byte
      // interleaves on 8 vectors (the 16 x 16 transpose takes 4 rounds on 16 vectors, which on
      // targets with 16 registers spill), then one 8-byte store per row, rows in increasing
      // order (the bytes stored past M are overwritten by the next row).
      for (std::size_t v = 0; v < rows; v += lanes) {
        hn::Vec<decltype(d8)> tile[8];
        for (std::size_t i = 0; i < 8; ++i) tile[i] = hn::Load(d8, stage8 + i * chunk_rows + v);
        Transpose8x8(d8, tile);
        // Block q of tile[k]: the tile's sums of row v + 16 q + 2 k (low 8 bytes) and of the
        // row after it (high 8 bytes). With an odd number of rows, the last pair's second row
        // (row == rows) is stored too: the block is then the chunk's last, and that row goes to
        // the slack past it.
        std::uint8_t* dst = block_out + v * outputs;
        if (v + lanes <= rows) {
          for (std::size_t q = 0; q < lanes / 16; ++q) {
            for (std::size_t k = 0; k < 8; ++k) {
              StoreBlockHalves(d8, tile[k], q, dst, dst + outputs);
              dst += 2 * outputs;
            }
          }
        } else {
          for (std::size_t q = 0; q < lanes / 16; ++q) {
            for (std::size_t k = 0; k < 8 && v + 16 * q + 2 * k < rows; ++k) {
              StoreBlockHalves(d8, tile[k], q, dst, dst + outputs);
              dst += 2 * outputs;
            }
          }
        }
      }
      return;
    }
    for (std::size_t v = 0; v < rows; v += lanes) {
      hn::Vec<decltype(d8)> tile[16];
      for (std::size_t i = 0; i < 16; ++i) tile[i] = hn::Load(d8, stage8 + i * chunk_rows + v);
      Transpose16x16(d8, tile);
      // Block q of tile[k]: the tile's sums of row v + 16 q + k. Rows in increasing order.
      for (std::size_t q = 0; q < lanes / 16; ++q) {
        for (std::size_t k = 0; k < 16 && v + 16 * q + k < rows; ++k) {
          StoreBlock(d8, tile[k], q, block_out + (v + 16 * q + k) * outputs);
        }
      }
    }
  } else {
    const hn::ScalableTag<std::uint16_t> d16;
    const std::size_t half = hn::Lanes(d16);
    const std::size_t lanes = 2 * half;
    const std::size_t halves = count > 8 ? 2 : 1;
    const std::uint16_t* block_stage = stage + block_in_chunk * kBlockRows;
    // Halves from the second to the first, rows in increasing order: the outputs that a partial
    // half stores past M (fewer than 8 when there are two halves) are overwritten by the first
    // half of the next row, or, with one half, by the next row.
    for (std::size_t v = 0; v < rows; v += lanes) {
      for (std::size_t h = halves; h-- > 0;) {
        hn::Vec<decltype(d16)> tile[2][8];
        for (std::size_t parity = 0; parity < 2; ++parity) {
          for (std::size_t i = 0; i < 8; ++i) {
            tile[parity][i] =
                hn::Load(d16, block_stage + (h * 8 + i) * chunk_rows + v + parity * half);
          }
          Transpose8x8(d16, tile[parity]);
        }
        // Block q of tile[parity][k]: outputs [8 h, 8 h + 8) of row v + 16 q + 2 k + parity
        // (the stage keeps even and odd rows apart, see the header comment).
        for (std::size_t q = 0; q < lanes / 16; ++q) {
          for (std::size_t i = 0; i < 16 && v + 16 * q + i < rows; ++i) {
            StoreBlock(d16, tile[i % 2][i / 2], q, block_out + (v + 16 * q + i) * outputs + 8 * h);
          }
        }
      }
    }
  }
}

// One compact vector: the sums at `sums` de-quantized with the given scale and offset vectors.
template <class DF, typename T>
HWY_INLINE void ConvertVector(DF df, const T* HWY_RESTRICT sums, hn::Vec<DF> scale,
                              hn::Vec<DF> offset, bool stream, float* HWY_RESTRICT dst) {
  const hn::RebindToSigned<DF> di;
  const hn::Rebind<T, DF> dt;
  auto value = hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(dt, sums)));
  value = hn::Add(hn::Mul(value, scale), offset);
  if (stream) {
    hn::Stream(value, df, dst);
  } else {
    hn::StoreU(value, df, dst);
  }
}

// ConvertCompact's vectors [i, end) when the scales and offsets repeat every kVectors vectors:
// those vectors stay in registers (loaded at the phase of i) instead of being memory operands.
// Returns where it stopped (a multiple of kVectors vectors past i).
template <std::size_t kVectors, typename T>
HWY_INLINE std::size_t ConvertCycles(const T* HWY_RESTRICT sums, std::size_t i, std::size_t end,
                                     std::size_t phase, const float* HWY_RESTRICT scale,
                                     const float* HWY_RESTRICT offset, bool stream,
                                     float* HWY_RESTRICT dst) {
  const hn::ScalableTag<float> df;
  const std::size_t lanes = hn::Lanes(df);
  hn::Vec<decltype(df)> scales[kVectors];
  hn::Vec<decltype(df)> offsets[kVectors];
  for (std::size_t k = 0; k < kVectors; ++k) {
    scales[k] = hn::LoadU(df, scale + phase + k * lanes);
    offsets[k] = hn::LoadU(df, offset + phase + k * lanes);
  }
  for (; i + kVectors * lanes <= end; i += kVectors * lanes) {
    for (std::size_t k = 0; k < kVectors; ++k) {
      ConvertVector(df, sums + i + k * lanes, scales[k], offsets[k], stream, dst + i + k * lanes);
    }
  }
  return i;
}

// Converts `total` compact sums (a whole number of rows, the first at output 0) to the output at
// dst; with `stream`, whole vectors at aligned addresses are written with streaming stores. The
// scales and offsets repeat with the period `period` (a multiple of `cycle` = lcm(M, vector
// width)): element e uses scale[e mod period], so that the vectors of a period need no index
// arithmetic carried from one to the next. When a cycle is 1, 3, 5 or 7 vectors (M = 1, 2, 3, 4,
// 5, 6, 7, 10, 12, 14, 20, 28 on AVX2), its scales and offsets are kept in registers.
template <typename T>
HWY_INLINE void ConvertCompact(const T* HWY_RESTRICT sums, std::size_t total, std::size_t period,
                               std::size_t cycle, const float* HWY_RESTRICT scale,
                               const float* HWY_RESTRICT offset, bool stream,
                               float* HWY_RESTRICT dst) {
  const hn::ScalableTag<float> df;
  const std::size_t lanes = hn::Lanes(df);
  std::size_t head = 0;  // elements before the first aligned vector, streaming only
  if (stream) {
    while (head < total && head < lanes &&
           reinterpret_cast<std::uintptr_t>(dst + head) % (lanes * sizeof(float)) != 0) {
      ++head;
    }
  }
  for (std::size_t i = 0; i < head; ++i) dst[i] = Dequantize(sums[i], scale[i], offset[i]);
  // Vectors start at head + multiples of lanes; scale and offset arrays hold period + lanes
  // values, so that a vector starting at phase < period reads inside them.
  std::size_t phase = head;
  std::size_t i = head;
  const std::size_t end = total - (total - head) % lanes;  // end of the whole vectors
  switch (cycle / lanes) {
    case 1:
      i = ConvertCycles<1>(sums, i, end, phase, scale, offset, stream, dst);
      break;
    case 3:
      i = ConvertCycles<3>(sums, i, end, phase, scale, offset, stream, dst);
      break;
    case 5:
      i = ConvertCycles<5>(sums, i, end, phase, scale, offset, stream, dst);
      break;
    case 7:
      i = ConvertCycles<7>(sums, i, end, phase, scale, offset, stream, dst);
      break;
    default:
      break;
  }
  phase = (phase + (i - head)) % period;
  while (i + lanes <= total) {
    const std::size_t vectors = std::min((period - phase + lanes - 1) / lanes, (total - i) / lanes);
    for (std::size_t v = 0; v < vectors; ++v) {
      const std::size_t at = phase + v * lanes;
      ConvertVector(df, sums + i + v * lanes, hn::LoadU(df, scale + at), hn::LoadU(df, offset + at),
                    stream, dst + i + v * lanes);
    }
    i += vectors * lanes;
    phase += vectors * lanes;
    if (phase >= period) phase -= period;
  }
  for (; i < total; ++i) {
    dst[i] = Dequantize(sums[i], scale[phase], offset[phase]);
    ++phase;
  }
}

template <typename T>
HWY_INLINE void ConvertCompact(const T* HWY_RESTRICT sums, std::size_t total, std::size_t,
                               std::size_t, const float*, const float*, bool stream,
                               std::uint16_t* HWY_RESTRICT dst) {
  const hn::ScalableTag<std::uint16_t> d16;
  const hn::Rebind<T, decltype(d16)> dt;
  const std::size_t lanes = hn::Lanes(d16);
  std::size_t i = 0;
  if (stream) {
    for (; i < total && reinterpret_cast<std::uintptr_t>(dst + i) % (lanes * 2) != 0; ++i) {
      dst[i] = sums[i];
    }
  }
  for (; i + lanes <= total; i += lanes) {
    hn::Vec<decltype(d16)> value;
    if constexpr (sizeof(T) == 1) {
      value = hn::PromoteTo(d16, hn::LoadU(dt, sums + i));
    } else {
      value = hn::LoadU(d16, sums + i);
    }
    if (stream) {
      hn::Stream(value, d16, dst + i);
    } else {
      hn::StoreU(value, d16, dst + i);
    }
  }
  for (; i < total; ++i) dst[i] = sums[i];
}

// Scales and offsets of the outputs, repeated with a period that is a multiple of lcm(M, float
// lanes) and a vector past it, for ConvertCompact (RawSink: none).
inline constexpr std::size_t kCompactPeriodMax = 16 * kCompactMaxOutputs + 32 * 16;
struct CompactParams {
  std::size_t period = 0;
  std::size_t cycle = 0;  // lcm(M, float lanes)
  alignas(64) float scale[kCompactPeriodMax + 16];
  alignas(64) float offset[kCompactPeriodMax + 16];
};
inline void FillCompactParams(const RawSink&, std::size_t, CompactParams*) {}
inline void FillCompactParams(const FloatSink& sink, std::size_t outputs, CompactParams* params) {
  const std::size_t lanes = hn::Lanes(hn::ScalableTag<float>());
  std::size_t period = outputs;  // lcm(M, lanes), then at least 32 vectors: few loop restarts
  while (period % lanes != 0) period += outputs;
  params->cycle = period;
  period *= (32 * lanes + period - 1) / period;
  params->period = period;
  for (std::size_t i = 0, m = 0; i < period + lanes; ++i) {
    params->scale[i] = sink.scale[m];
    params->offset[i] = sink.offset[m];
    if (++m == outputs) m = 0;
  }
}

// How a scan groups its codebook pairs and how many blocks a chunk holds; the same for every
// output of a call.
struct ScanPlan {
  std::size_t pairs_per_group = 0;
  std::size_t num_groups = 0;
  bool odd = false;             // C is odd: the last pair has no high codebook
  bool exact = false;           // Aggregation::kExactSum
  bool wide = false;            // 16-bit sums (exact, or more than one averaging group)
  std::size_t chunk_limit = 1;  // blocks per chunk (their unpacked codes fit kNibbleBytes)
};

inline ScanPlan MakeScanPlan(const ScanArgs& args) {
  const int num_codebooks = args.num_codebooks;
  const std::size_t pairs = static_cast<std::size_t>(CodePairs(num_codebooks));
  ScanPlan plan;
  plan.odd = num_codebooks % 2 != 0;
  plan.exact = args.aggregation == Aggregation::kExactSum;
  plan.wide = plan.exact || num_codebooks > kMaxGroupSize;
  if (plan.exact) {
    plan.pairs_per_group = 1;
    const std::size_t max_pairs = kFewRegisters ? 4 : kMaxGroupSize / 2;
    while (plan.pairs_per_group < std::min(pairs, max_pairs)) plan.pairs_per_group *= 2;
    plan.num_groups = (pairs + plan.pairs_per_group - 1) / plan.pairs_per_group;
  } else {
    plan.pairs_per_group = static_cast<std::size_t>(GroupSize(num_codebooks)) / 2;
    plan.num_groups = static_cast<std::size_t>(PaddedCodebooks(num_codebooks)) /
                      static_cast<std::size_t>(GroupSize(num_codebooks));
  }
  const std::size_t block_stride = pairs * kPairBytes;
  plan.chunk_limit =
      std::max<std::size_t>(1, std::min(kMaxChunkBlocks, kNibbleBytes / block_stride));
  return plan;
}

// Step 2 for one output: the sums of the chunk's rows (num_blocks blocks of unpacked codes at
// `nibbles`) into `stage`: uint8 roots, or 16-bit sums in [even rows | odd rows] order per
// N-row vector when plan.wide. `luts` are the output's tables.
inline void ScanOutputStage(const ScanArgs& args, const ScanPlan& plan, const std::uint8_t* luts,
                            const std::uint8_t* nibbles, std::size_t num_blocks,
                            std::uint16_t* stage) {
  const std::size_t pairs = static_cast<std::size_t>(CodePairs(args.num_codebooks));
  const std::size_t block_stride = pairs * kPairBytes;
  for (std::size_t g = 0; g < plan.num_groups; ++g) {
    const std::size_t first_pair = g * plan.pairs_per_group;
    const std::size_t real_pairs =
        first_pair < pairs ? std::min(plan.pairs_per_group, pairs - first_pair) : 0;
    const bool last_high = !(plan.odd && first_pair + real_pairs == pairs);
    const std::uint8_t* tables = luts + first_pair * 32;
    const std::uint8_t* group_nibbles = nibbles + first_pair * kPairBytes;
    if (plan.exact) {
      ScanGroupDispatch<StageMode::kExact16>(plan.pairs_per_group, tables, real_pairs, last_high,
                                             group_nibbles, block_stride, num_blocks, g == 0,
                                             stage);
    } else if (plan.wide) {
      ScanGroupDispatch<StageMode::kRoots16>(plan.pairs_per_group, tables, real_pairs, last_high,
                                             group_nibbles, block_stride, num_blocks, g == 0,
                                             stage);
    } else {
      ScanGroupDispatch<StageMode::kRoot8>(plan.pairs_per_group, tables, real_pairs, last_high,
                                           group_nibbles, block_stride, num_blocks, g == 0, stage);
    }
  }
}

template <class Sink>
HWY_INLINE void ScanImpl(const ScanArgs& args, std::size_t block_begin, std::size_t block_end,
                         const Sink& sink) {
  const ScanPlan plan = MakeScanPlan(args);
  const int num_codebooks = args.num_codebooks;
  const std::size_t pairs = static_cast<std::size_t>(CodePairs(num_codebooks));
  const bool wide = plan.wide;
  const std::size_t table_bytes = TableBytesPerOutput(num_codebooks);
  const std::size_t chunk_limit = plan.chunk_limit;
  const std::size_t last_block = std::min(block_end, NumBlocks(args.num_rows));
  // Rows that may be written with whole vectors (see the tile writers): all but the last row
  // this call writes, when rows are exactly M >= 16 values apart.
  const bool whole_rows = sink.row_stride == args.output_dim && args.output_dim >= kOutputTile;
  const std::size_t whole_end = whole_rows && last_block > block_begin
                                    ? std::min(args.num_rows, last_block * kBlockRows) - 1
                                    : 0;

  ScanScratch scratch;
  using Out = std::remove_pointer_t<decltype(sink.Data())>;
  const bool stream = sink.stream;
  const bool compact = UseCompactOutput(args, sink.row_stride, sizeof(Out));
  std::uint16_t* compact_sums = nullptr;
  CompactParams params;
  if (compact) {
    thread_local AlignedVector<std::uint16_t> buffer;  // reused: no allocation per call
    buffer.resize(chunk_limit * kBlockRows * args.output_dim + kCompactSlack);
    compact_sums = buffer.data();
    FillCompactParams(sink, args.output_dim, &params);
  }
  // Streamed output (not compact): two chunk buffers, one being written while the other is
  // streamed out (PendingStream), a step after each output's lookups and each block's writes.
  Out* stream_buffers[2] = {nullptr, nullptr};
  PendingStream<Out> pending;
  const std::size_t num_tiles = (args.output_dim + kOutputTile - 1) / kOutputTile;
  if (stream && !compact) {
    thread_local AlignedVector<Out> buffer;  // reused: a fresh one would cost page faults
    const std::size_t buffer_values = chunk_limit * kBlockRows * args.output_dim;
    buffer.resize(2 * buffer_values);
    stream_buffers[0] = buffer.data();
    stream_buffers[1] = buffer.data() + buffer_values;
  }
  std::size_t chunk_index = 0;
  for (std::size_t chunk = block_begin; chunk < last_block; chunk += chunk_limit, ++chunk_index) {
    const std::size_t num_blocks = std::min(chunk_limit, last_block - chunk);
    Out* stream_buffer = stream_buffers[chunk_index % 2];
    const std::size_t chunk_rows = num_blocks * kBlockRows;
    UnpackCodes(args.packed_codes + (chunk - block_begin) * pairs * kBlockRows, pairs, num_blocks,
                scratch.nibbles);

    const std::size_t local_rows = std::min(chunk_rows, args.num_rows - chunk * kBlockRows);
    // Tiles from the last to the first (see the compact output).
    for (std::size_t tile = (args.output_dim + kOutputTile - 1) / kOutputTile; tile-- > 0;) {
      const std::size_t m0 = tile * kOutputTile;
      const std::size_t count = std::min(kOutputTile, args.output_dim - m0);
      for (std::size_t i = 0; i < count; ++i) {
        const std::uint8_t* luts = args.luts + (m0 + i) * table_bytes;
        std::uint16_t* stage =
            wide ? scratch.stage + i * chunk_rows
                 : reinterpret_cast<std::uint16_t*>(reinterpret_cast<std::uint8_t*>(scratch.stage) +
                                                    i * chunk_rows);
        ScanOutputStage(args, plan, luts, scratch.nibbles, num_blocks, stage);
        pending.Step();
      }
      // Outputs past M in a partial tile: defined (zero) stage rows, never written out. Step 3
      // reads only 8 stage rows of 8-bit sums when count <= 8.
      const std::size_t element = wide ? 2 : 1;
      const std::size_t read_rows = !wide && count <= 8 ? 8 : kOutputTile;
      if (count < read_rows) {
        std::memset(reinterpret_cast<std::uint8_t*>(scratch.stage) + count * chunk_rows * element,
                    0, (read_rows - count) * chunk_rows * element);
      }
      if (compact) {
        for (std::size_t b = 0; b < num_blocks; ++b) {
          const std::size_t rows = std::min(kBlockRows, local_rows - b * kBlockRows);
          if (wide) {
            CompactBlock(scratch.stage, chunk_rows, b, count, b * kBlockRows, rows, args.output_dim,
                         m0, compact_sums);
          } else {
            CompactBlock(scratch.stage, chunk_rows, b, count, b * kBlockRows, rows, args.output_dim,
                         m0, reinterpret_cast<std::uint8_t*>(compact_sums));
          }
        }
        continue;
      }
      if (stream) {
        // Rows of the chunk, relative to its first row, into the buffer.
        const auto writer = TileWriter(sink.Local(stream_buffer, args.output_dim), m0, count,
                                       whole_rows ? local_rows - 1 : 0);
        for (std::size_t b = 0; b < num_blocks; ++b) {
          WriteBlock(wide, scratch.stage, chunk_rows, b, count, b * kBlockRows, local_rows,
                     scratch.transposed, writer);
          pending.Step();
        }
        continue;
      }
      const auto writer = TileWriter(sink, m0, count, whole_end);
      for (std::size_t b = 0; b < num_blocks; ++b) {
        WriteBlock(wide, scratch.stage, chunk_rows, b, count, (chunk + b) * kBlockRows,
                   args.num_rows, scratch.transposed, writer);
      }
    }
    Out* chunk_out = sink.Data() + chunk * kBlockRows * args.output_dim;
    if (compact) {
      const std::size_t total = local_rows * args.output_dim;
      if (wide) {
        ConvertCompact(compact_sums, total, params.period, params.cycle, params.scale,
                       params.offset, stream, chunk_out);
      } else {
        ConvertCompact(reinterpret_cast<const std::uint8_t*>(compact_sums), total, params.period,
                       params.cycle, params.scale, params.offset, stream, chunk_out);
      }
    } else if (stream) {
      // The previous chunk's rest, then this chunk's rows, during the next chunk (steps: one
      // per output and one per tile and block).
      pending.Finish();
      pending.Start(stream_buffer, chunk_out, local_rows * args.output_dim,
                    args.output_dim + num_tiles * chunk_limit);
    }
  }
  pending.Finish();
  if (stream) hwy::FlushStream();
}

// Pair tables (C <= 2, ScanArgs::pair_raw / pair_outputs): the outputs of a row are row `byte`
// of the table, where `byte` is the row's code byte (layout.h), copied whole: no lookups, no
// transposes, no conversion. Only for outputs that the scan would not stream
// (UseStreamingStores): for those the streamed scan was as fast or faster (docs/kernels.md).
// (Writing the output with aligned vectors, blending the rows that share one, was 2.5-3.5x
// slower on Zen 3, with or without a branch at each row end.)

// Copies `count` >= Lanes(dv) values with whole vectors of dv; the last vector ends at the last
// value (it overlaps the one before when count is not a multiple of the lanes).
template <class DV, typename T>
HWY_INLINE void CopyOverlapped(DV dv, const T* HWY_RESTRICT src, T* HWY_RESTRICT dst,
                               std::size_t count) {
  const std::size_t lanes = hn::Lanes(dv);
  std::size_t i = 0;
  for (; i + lanes < count; i += lanes) hn::StoreU(hn::LoadU(dv, src + i), dv, dst + i);
  hn::StoreU(hn::LoadU(dv, src + count - lanes), dv, dst + count - lanes);
}

// Rows exactly M values apart, M < Lanes(dv): one vector per row, whose values past the row are
// overwritten by the next rows; returns how many rows were copied: all but the last ones of the
// call, whose vector would end past the call's output.
template <class DV, typename T>
HWY_INLINE std::size_t CopySpilling(DV dv, const std::uint8_t* HWY_RESTRICT codes, std::size_t rows,
                                    const T* HWY_RESTRICT table, std::size_t outputs,
                                    T* HWY_RESTRICT out) {
  const std::size_t lanes = hn::Lanes(dv);
  const std::size_t total = rows * outputs;
  const std::size_t spill_rows = total >= lanes ? (total - lanes) / outputs + 1 : 0;
  for (std::size_t r = 0; r < spill_rows; ++r) {
    hn::StoreU(hn::LoadU(dv, table + codes[r] * outputs), dv, out + r * outputs);
  }
  return spill_rows;
}

// Rows [0, rows) of one call: codes[r] is row r's code byte, out its first output.
template <typename T>
HWY_INLINE void CopyPairRows(const std::uint8_t* HWY_RESTRICT codes, std::size_t rows,
                             const T* HWY_RESTRICT table, std::size_t outputs, T* HWY_RESTRICT out,
                             std::size_t stride) {
  const hn::ScalableTag<T> d;
  const hn::Full128<T> d128;
  if (outputs >= hn::Lanes(d)) {
    for (std::size_t r = 0; r < rows; ++r) {
      CopyOverlapped(d, table + codes[r] * outputs, out + r * stride, outputs);
    }
    return;
  }
  // Fewer values than a vector holds. Rows exactly M values apart: one store per row (two for
  // the overlapped copy), with a 128-bit vector when the row fits in one.
  std::size_t r = 0;
  if (stride == outputs) {
    r = outputs <= hn::Lanes(d128) ? CopySpilling(d128, codes, rows, table, outputs, out)
                                   : CopySpilling(d, codes, rows, table, outputs, out);
  } else if (outputs >= hn::Lanes(d128)) {
    for (; r < rows; ++r) {
      CopyOverlapped(d128, table + codes[r] * outputs, out + r * stride, outputs);
    }
  }
  for (; r < rows; ++r) {
    std::memcpy(out + r * stride, table + codes[r] * outputs, outputs * sizeof(T));
  }
}

// The pair-table scan of blocks [block_begin, block_end) (rows < num_rows only).
template <typename T>
HWY_INLINE void ScanPairTable(const ScanArgs& args, const T* table, std::size_t block_begin,
                              std::size_t block_end, T* out, std::size_t row_stride) {
  const std::size_t first_row = block_begin * kBlockRows;
  const std::size_t end_row = std::min(args.num_rows, block_end * kBlockRows);
  if (end_row <= first_row) return;
  CopyPairRows(args.packed_codes, end_row - first_row, table, args.output_dim,
               out + first_row * row_stride, row_stride);
}

inline void ScanBlocksImpl(const ScanArgs& args, std::size_t block_begin, std::size_t block_end,
                           std::uint16_t* raw, std::size_t raw_row_stride) {
  const bool stream = UseStreamingStores(args, raw_row_stride, sizeof(std::uint16_t));
  if (args.pair_raw != nullptr && args.num_codebooks <= 2 && !stream) {
    ScanPairTable(args, args.pair_raw, block_begin, block_end, raw, raw_row_stride);
    return;
  }
  ScanImpl(args, block_begin, block_end, RawSink{raw, raw_row_stride, stream});
}

inline void ScanDequantizeBlocksImpl(const ScanArgs& args, const float* out_scale,
                                     const float* out_offset, std::size_t block_begin,
                                     std::size_t block_end, float* out,
                                     std::size_t out_row_stride) {
  const bool stream = UseStreamingStores(args, out_row_stride, sizeof(float));
  if (args.pair_outputs != nullptr && args.num_codebooks <= 2 && !stream) {
    ScanPairTable(args, args.pair_outputs, block_begin, block_end, out, out_row_stride);
    return;
  }
  ScanImpl(args, block_begin, block_end,
           FloatSink{out, out_row_stride, out_scale, out_offset, stream});
}

#endif  // HWY_TARGET

// The target this code was compiled for (reported by ScanKernelTarget).
inline std::int64_t ScanTargetImpl() { return HWY_TARGET; }

}  // namespace HWY_NAMESPACE
}  // namespace maddness::detail
HWY_AFTER_NAMESPACE();

#endif  // include guard
