// Step 3 of the row-major scan (scan-inl.h): where the scan writes (RawSink, FloatSink), the
// writers of one tile of outputs a row at a time, and the transpose of a block's stage rows into
// the row-major output.
#if defined(MADDNESS_SRC_SCAN_SCAN_ROWS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MADDNESS_SRC_SCAN_SCAN_ROWS_INL_H_
#undef MADDNESS_SRC_SCAN_SCAN_ROWS_INL_H_
#else
#define MADDNESS_SRC_SCAN_SCAN_ROWS_INL_H_
#endif

#include <hwy/highway.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "src/common/layout.h"
#include "src/scan/scan.h"
#include "src/scan/scan_transpose-inl.h"
#include "src/scan/scan_tuning-inl.h"

HWY_BEFORE_NAMESPACE();
namespace maddness::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_EMU128 && !HWY_HAVE_SCALABLE

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

#endif  // HWY_TARGET

}  // namespace HWY_NAMESPACE
}  // namespace maddness::detail
HWY_AFTER_NAMESPACE();

#endif  // include guard
