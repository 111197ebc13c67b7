// Compact output of the row-major scan (scan-inl.h; small M, rows exactly M values apart;
// UseCompactOutput): instead of converting each row's outputs from the transposed tile (for M not a
// multiple of the vector width, a partial vector and scalar conversions per row, which took most of
// the scan's time at M = 5 or 10), the transposed sums of a chunk are first written to a buffer of
// rows exactly M sums apart (one 16-byte store per row and tile; tiles go from the last to the
// first, so that the bytes a partial last tile writes past its row are overwritten by the next
// row's first tile), and the chunk's rows * M sums are then converted as one flat array, whole
// vectors only: the scale and offset of element e are those of output e mod M, read from copies of
// them repeated past M.
#if defined(MADDNESS_SRC_SCAN_SCAN_COMPACT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MADDNESS_SRC_SCAN_SCAN_COMPACT_INL_H_
#undef MADDNESS_SRC_SCAN_SCAN_COMPACT_INL_H_
#else
#define MADDNESS_SRC_SCAN_SCAN_COMPACT_INL_H_
#endif

#include <hwy/cache_control.h>
#include <hwy/highway.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "src/common/layout.h"
#include "src/scan/scan.h"
#include "src/scan/scan_rows-inl.h"
#include "src/scan/scan_transpose-inl.h"
#include "src/scan/scan_tuning-inl.h"

HWY_BEFORE_NAMESPACE();
namespace maddness::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_EMU128 && !HWY_HAVE_SCALABLE

inline constexpr std::size_t kCompactSlack = 64;  // elements written past a chunk's last row

// Whether a call's output goes through the compact output: rows exactly M values apart, and
// float32 with M <= kCompactMaxOutputs not a multiple of the row writer's float lanes (those rows
// would end with scalar conversions), or raw sums with M below one tile of outputs.
inline bool UseCompactOutput(const ScanArgs& args, std::size_t out_row_stride,
                             std::size_t element_bytes) {
  if (out_row_stride != args.output_dim) return false;
  if (element_bytes == sizeof(float)) {
    return args.output_dim <= kCompactMaxOutputs && args.output_dim % kRowFloatLanes != 0;
  }
  return args.output_dim < kOutputTile;
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

#endif  // HWY_TARGET

}  // namespace HWY_NAMESPACE
}  // namespace maddness::detail
HWY_AFTER_NAMESPACE();

#endif  // include guard
