// The machine's ceiling for the scan: a register-only loop of 16-entry byte table lookups
// (TableLookupBytes, i.e. pshufb) on the SIMD target that runs, with no loads or stores. The
// scan's lookups per second are best read as a fraction of this figure measured in the same run.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "bench/lookup_peak.cc"
#include <hwy/foreach_target.h>  // must come before highway.h

#include <hwy/highway.h>

#include <cstddef>
#include <cstdint>

#include "bench/lookup_peak.h"

HWY_BEFORE_NAMESPACE();
namespace maddness::bench {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Runs `iterations` x 8 independent lookups; returns the byte lookups done (and a checksum that
// keeps the loop alive in *checksum).
inline std::uint64_t LookupLoopImpl(std::uint64_t iterations, std::uint64_t* checksum) {
#if HWY_TARGET == HWY_SCALAR || HWY_TARGET == HWY_EMU128
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0; i < iterations * 8; ++i) sum = (sum * 31 + i) & 15;
  *checksum = sum;
  return iterations * 8;
#else
  const hn::ScalableTag<std::uint8_t> d;
  auto t0 = hn::Iota(d, 1);
  auto t1 = hn::Iota(d, 3);
  auto x0 = hn::And(hn::Iota(d, 0), hn::Set(d, 15));
  auto x1 = hn::And(hn::Iota(d, 1), hn::Set(d, 15));
  auto x2 = hn::And(hn::Iota(d, 2), hn::Set(d, 15));
  auto x3 = hn::And(hn::Iota(d, 3), hn::Set(d, 15));
  auto x4 = hn::And(hn::Iota(d, 4), hn::Set(d, 15));
  auto x5 = hn::And(hn::Iota(d, 5), hn::Set(d, 15));
  auto x6 = hn::And(hn::Iota(d, 6), hn::Set(d, 15));
  auto x7 = hn::And(hn::Iota(d, 7), hn::Set(d, 15));
  t0 = hn::And(t0, hn::Set(d, 15));
  t1 = hn::And(t1, hn::Set(d, 15));
  for (std::uint64_t i = 0; i < iterations; ++i) {
    x0 = hn::TableLookupBytes(t0, x0);
    x1 = hn::TableLookupBytes(t1, x1);
    x2 = hn::TableLookupBytes(t0, x2);
    x3 = hn::TableLookupBytes(t1, x3);
    x4 = hn::TableLookupBytes(t0, x4);
    x5 = hn::TableLookupBytes(t1, x5);
    x6 = hn::TableLookupBytes(t0, x6);
    x7 = hn::TableLookupBytes(t1, x7);
  }
  const auto all =
      hn::Xor(hn::Xor(hn::Xor(x0, x1), hn::Xor(x2, x3)), hn::Xor(hn::Xor(x4, x5), hn::Xor(x6, x7)));
  *checksum = hn::GetLane(hn::SumsOf8(all));
  return iterations * 8 * hn::Lanes(d);
#endif
}

}  // namespace HWY_NAMESPACE
}  // namespace maddness::bench
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace maddness::bench {

HWY_EXPORT(LookupLoopImpl);

std::uint64_t LookupLoop(std::uint64_t iterations, std::uint64_t* checksum) {
  return HWY_DYNAMIC_DISPATCH(LookupLoopImpl)(iterations, checksum);
}

}  // namespace maddness::bench
#endif  // HWY_ONCE
