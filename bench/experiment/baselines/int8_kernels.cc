// The int8 baseline's loops (int8_kernels.h), compiled once per Highway target.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "bench/experiment/baselines/int8_kernels.cc"
#include <hwy/foreach_target.h>  // must come before highway.h

#include <hwy/cache_control.h>
#include <hwy/highway.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

HWY_BEFORE_NAMESPACE();
namespace maddness::baselines {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// The first `count` (< Lanes(d)) values at p, the other lanes `fill`. AVX-512 loads them with a
// mask (masked-off lanes are never read); other targets copy them to a buffer, since their
// masked loads read the whole vector.
template <class D, typename T = hn::TFromD<D>>
hn::Vec<D> LoadTail(D d, const T* p, std::size_t count, T fill) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  const auto mask = hn::FirstN(d, count);
  return hn::IfThenElse(mask, hn::MaskedLoad(mask, d, p), hn::Set(d, fill));
#else
  HWY_ALIGN T buffer[HWY_MAX_BYTES / sizeof(T)];
  for (T& value : buffer) value = fill;
  std::memcpy(buffer, p, count * sizeof(T));
  return hn::Load(d, buffer);
#endif
}

// Stores the first `count` (< Lanes(d)) lanes of v at p; nothing after them is written.
template <class D, typename T = hn::TFromD<D>>
void StoreTail(D d, hn::Vec<D> v, T* p, std::size_t count) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  hn::BlendedStore(v, hn::FirstN(d, count), d, p);
#else
  HWY_ALIGN T buffer[HWY_MAX_BYTES / sizeof(T)];
  hn::Store(v, d, buffer);
  std::memcpy(p, buffer, count * sizeof(T));
#endif
}

// Rows per group in QuantizeRowsU8Impl: their ranges first, then their codes (the rows are then
// still in L1 or L2: 64 rows of 784 floats are 200 KB).
constexpr std::size_t kQuantizeGroupRows = 64;

void QuantizeRowsU8Impl(const float* a, std::size_t rows, std::size_t d, float levels,
                        std::uint8_t* codes, float* offset, float* step) {
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Rebind<std::uint8_t, decltype(df)> du8;
  const std::size_t lanes = hn::Lanes(df);
  const std::size_t full = d - d % lanes;  // columns in whole vectors
  // Per group: the rows' minima and maxima (independent of each other, so that the CPU overlaps
  // the rows' reductions), then step and 1 / step of `lanes` rows at a time, then the codes.
  HWY_ALIGN float low[kQuantizeGroupRows + HWY_MAX_BYTES / sizeof(float)];
  HWY_ALIGN float high[kQuantizeGroupRows + HWY_MAX_BYTES / sizeof(float)];
  HWY_ALIGN float inverse[kQuantizeGroupRows + HWY_MAX_BYTES / sizeof(float)];
  for (std::size_t group = 0; group < rows; group += kQuantizeGroupRows) {
    const std::size_t count = std::min(kQuantizeGroupRows, rows - group);
    for (std::size_t i = 0; i < count; ++i) {
      const float* row = a + (group + i) * d;
      // The same row of the next group, ahead of the hardware prefetcher for short rows.
      if (group + kQuantizeGroupRows + i < rows) {
        hwy::Prefetch(row + kQuantizeGroupRows * d);
        hwy::Prefetch(row + kQuantizeGroupRows * d + d - 1);
      }
      // The row's range; the tail's missing lanes count as row[0].
      const auto first = hn::Set(df, row[0]);
      auto row_low = first, row_high = first;
      for (std::size_t j = 0; j < full; j += lanes) {
        const auto v = hn::LoadU(df, row + j);
        row_low = hn::Min(row_low, v);
        row_high = hn::Max(row_high, v);
      }
      if (full < d) {
        const auto v = LoadTail(df, row + full, d - full, row[0]);
        row_low = hn::Min(row_low, v);
        row_high = hn::Max(row_high, v);
      }
      offset[group + i] = hn::GetLane(hn::MinOfLanes(df, row_low));
      high[i] = hn::GetLane(hn::MaxOfLanes(df, row_high));
    }
    // step = (max - min) / levels, or 1 when max == min (the entries past `count`: 0 and 0).
    std::memcpy(low, offset + group, count * sizeof(float));
    std::fill(low + count, std::end(low), 0.0f);
    std::fill(high + count, std::end(high), 0.0f);
    const auto v_levels = hn::Set(df, levels);
    const auto one = hn::Set(df, 1.0f);
    for (std::size_t i = 0; i < count; i += lanes) {
      const auto v_low = hn::Load(df, low + i), v_high = hn::Load(df, high + i);
      const auto row_step =
          hn::IfThenElse(hn::Gt(v_high, v_low), hn::Div(hn::Sub(v_high, v_low), v_levels), one);
      hn::Store(hn::Div(one, row_step), df, inverse + i);
      hn::Store(row_step, df, high + i);  // high[] now holds the steps
    }
    std::memcpy(step + group, high, count * sizeof(float));
    const auto v_half = hn::Set(df, 0.5f);
    for (std::size_t i = 0; i < count; ++i) {
      const float* row = a + (group + i) * d;
      std::uint8_t* row_codes = codes + (group + i) * d;
      const auto v_low = hn::Set(df, low[i]);
      const auto v_inverse = hn::Set(df, inverse[i]);
      const auto quantize = [&](decltype(v_low) v) {
        const auto q = hn::Min(v_levels, hn::Add(hn::Mul(hn::Sub(v, v_low), v_inverse), v_half));
        return hn::DemoteTo(du8, hn::ConvertTo(di, q));
      };
      for (std::size_t j = 0; j < full; j += lanes) {
        hn::StoreU(quantize(hn::LoadU(df, row + j)), du8, row_codes + j);
      }
      if (full < d) {
        StoreTail(du8, quantize(LoadTail(df, row + full, d - full, row[0])), row_codes + full,
                  d - full);
      }
    }
  }
}

void QuantizeStaticU8Impl(const float* a, std::size_t count, float scale, float zero_point,
                          float levels, std::uint8_t* codes) {
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Rebind<std::uint8_t, decltype(df)> du8;
  const std::size_t lanes = hn::Lanes(df);
  const std::size_t full = count - count % lanes;
  const auto v_scale = hn::Set(df, scale), v_zero = hn::Set(df, zero_point);
  const auto v_levels = hn::Set(df, levels), v_floor = hn::Zero(df);
  // round(x * scale) + zero_point (round half to even), clamped to [0, levels] in float.
  const auto quantize = [&](decltype(v_scale) v) {
    const auto q = hn::Add(hn::Round(hn::Mul(v, v_scale)), v_zero);
    return hn::DemoteTo(du8, hn::ConvertTo(di, hn::Min(v_levels, hn::Max(v_floor, q))));
  };
  for (std::size_t i = 0; i < full; i += lanes) {
    hn::StoreU(quantize(hn::LoadU(df, a + i)), du8, codes + i);
  }
  if (full < count) {
    StoreTail(du8, quantize(LoadTail(df, a + full, count - full, 0.0f)), codes + full,
              count - full);
  }
}

void DequantizeRowsImpl(const std::int32_t* acc, std::size_t rows, std::size_t m,
                        const float* a_offset, const float* a_step, const float* b_step,
                        const float* b_code_sums, float* out) {
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const std::size_t lanes = hn::Lanes(df);
  const std::size_t full = m - m % lanes;
  const std::size_t rest = m - full;
  for (std::size_t r = 0; r < rows; ++r) {
    const auto v_step = hn::Set(df, a_step[r]);
    const auto v_offset = hn::Set(df, a_offset[r]);
    const std::int32_t* sums = acc + r * m;
    float* y = out + r * m;
    for (std::size_t col = 0; col < full; col += lanes) {
      const auto s = hn::ConvertTo(df, hn::LoadU(di, sums + col));
      const auto inner =
          hn::Add(hn::Mul(v_step, s), hn::Mul(v_offset, hn::LoadU(df, b_code_sums + col)));
      hn::StoreU(hn::Mul(hn::LoadU(df, b_step + col), inner), df, y + col);
    }
    if (full < m) {
      const auto s = hn::ConvertTo(df, LoadTail(di, sums + full, rest, 0));
      const auto inner = hn::Add(hn::Mul(v_step, s),
                                 hn::Mul(v_offset, LoadTail(df, b_code_sums + full, rest, 0.0f)));
      StoreTail(df, hn::Mul(LoadTail(df, b_step + full, rest, 0.0f), inner), y + full, rest);
    }
  }
}

std::int64_t Int8KernelTargetImpl() { return HWY_TARGET; }

}  // namespace HWY_NAMESPACE
}  // namespace maddness::baselines
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "bench/experiment/baselines/int8_kernels.h"
#include "src/common/targets.h"

namespace maddness::baselines {

HWY_EXPORT(QuantizeRowsU8Impl);
HWY_EXPORT(QuantizeStaticU8Impl);
HWY_EXPORT(DequantizeRowsImpl);
HWY_EXPORT(Int8KernelTargetImpl);

void QuantizeRowsU8(const float* a, std::size_t rows, std::size_t d, float levels,
                    std::uint8_t* codes, float* offset, float* step) {
  detail::SelectSimdTarget();
  HWY_DYNAMIC_DISPATCH(QuantizeRowsU8Impl)(a, rows, d, levels, codes, offset, step);
}

void QuantizeStaticU8(const float* a, std::size_t count, float scale, float zero_point,
                      float levels, std::uint8_t* codes) {
  detail::SelectSimdTarget();
  HWY_DYNAMIC_DISPATCH(QuantizeStaticU8Impl)(a, count, scale, zero_point, levels, codes);
}

void DequantizeRows(const std::int32_t* acc, std::size_t rows, std::size_t m, const float* a_offset,
                    const float* a_step, const float* b_step, const float* b_code_sums,
                    float* out) {
  detail::SelectSimdTarget();
  HWY_DYNAMIC_DISPATCH(DequantizeRowsImpl)
  (acc, rows, m, a_offset, a_step, b_step, b_code_sums, out);
}

std::int64_t Int8KernelTarget() {
  detail::SelectSimdTarget();
  return HWY_DYNAMIC_DISPATCH(Int8KernelTargetImpl)();
}

}  // namespace maddness::baselines
#endif  // HWY_ONCE
