// Pair tables (C <= 2, ScanArgs::pair_raw / pair_outputs): the outputs of a row are row `byte`
// of the table, where `byte` is the row's code byte (layout.h), copied whole: no lookups, no
// transposes, no conversion. Only for outputs that the scan would not stream
// (UseStreamingStores): for those the streamed scan was as fast or faster; the measurements, and
// those of the variants tried, are in docs/kernels.md ("Pair tables").
#if defined(MADDNESS_SRC_SCAN_SCAN_PAIR_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MADDNESS_SRC_SCAN_SCAN_PAIR_INL_H_
#undef MADDNESS_SRC_SCAN_SCAN_PAIR_INL_H_
#else
#define MADDNESS_SRC_SCAN_SCAN_PAIR_INL_H_
#endif

#include <hwy/highway.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "src/common/layout.h"
#include "src/scan/scan.h"

HWY_BEFORE_NAMESPACE();
namespace maddness::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_EMU128 && !HWY_HAVE_SCALABLE

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

#endif  // HWY_TARGET

}  // namespace HWY_NAMESPACE
}  // namespace maddness::detail
HWY_AFTER_NAMESPACE();

#endif  // include guard
