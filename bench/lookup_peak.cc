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

// Independent lookup chains: enough to cover a lookup's latency (1 cycle for PSHUFB, 3 for
// VPERMB-class shuffles) at two lookups a cycle, few enough that with the two tables they stay in
// registers on targets with 16 vector registers (eight chains did not: GCC 12 kept one on the
// stack, and every iteration waited on a store-to-load round trip).
inline constexpr int kChains = 6;

// Runs `iterations` x kChains independent lookups; returns the byte lookups done (and a checksum
// that keeps the loop alive in *checksum). The loop body is kChains TableLookupBytes (PSHUFB) on
// registers and the loop counter: no loads or stores (docs/kernels.md shows the assembly).
inline std::uint64_t LookupLoopImpl(std::uint64_t iterations, std::uint64_t* checksum) {
#if HWY_TARGET == HWY_SCALAR || HWY_TARGET == HWY_EMU128
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0; i < iterations * kChains; ++i) sum = (sum * 31 + i) & 15;
  *checksum = sum;
  return iterations * kChains;
#else
  const hn::ScalableTag<std::uint8_t> d;
  const auto fifteen = hn::Set(d, 15);
  const auto t0 = hn::And(hn::Iota(d, 1), fifteen);
  const auto t1 = hn::And(hn::Iota(d, 3), fifteen);
  auto x0 = hn::And(hn::Iota(d, 0), fifteen);
  auto x1 = hn::And(hn::Iota(d, 1), fifteen);
  auto x2 = hn::And(hn::Iota(d, 2), fifteen);
  auto x3 = hn::And(hn::Iota(d, 3), fifteen);
  auto x4 = hn::And(hn::Iota(d, 4), fifteen);
  auto x5 = hn::And(hn::Iota(d, 5), fifteen);
  for (std::uint64_t i = 0; i < iterations; ++i) {
    x0 = hn::TableLookupBytes(t0, x0);
    x1 = hn::TableLookupBytes(t1, x1);
    x2 = hn::TableLookupBytes(t0, x2);
    x3 = hn::TableLookupBytes(t1, x3);
    x4 = hn::TableLookupBytes(t0, x4);
    x5 = hn::TableLookupBytes(t1, x5);
  }
  const auto all = hn::Xor(hn::Xor(x0, x1), hn::Xor(hn::Xor(x2, x3), hn::Xor(x4, x5)));
  *checksum = hn::GetLane(hn::SumsOf8(all));
  return iterations * kChains * hn::Lanes(d);
#endif
}

// Bytes of one vector of the target (16 for the one-lane fallback, which does single lookups).
inline std::uint64_t VectorBytesImpl() {
#if HWY_TARGET == HWY_SCALAR || HWY_TARGET == HWY_EMU128
  return 1;
#else
  return hn::Lanes(hn::ScalableTag<std::uint8_t>());
#endif
}

}  // namespace HWY_NAMESPACE
}  // namespace maddness::bench
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace maddness::bench {

HWY_EXPORT(LookupLoopImpl);
HWY_EXPORT(VectorBytesImpl);

std::uint64_t LookupLoop(std::uint64_t iterations, std::uint64_t* checksum) {
  return HWY_DYNAMIC_DISPATCH(LookupLoopImpl)(iterations, checksum);
}

std::uint64_t LookupVectorBytes() { return HWY_DYNAMIC_DISPATCH(VectorBytesImpl)(); }

std::uint64_t AddChain(std::uint64_t iterations) {
  std::uint64_t x = iterations;
#if HWY_ARCH_X86_64
  // Four dependent one-cycle register additions an iteration; the asm keeps the compiler from
  // folding them. (Additions of an immediate are not used: recent Intel cores fold chains of
  // them at register renaming, without executing them one after the other.)
  std::uint64_t one = 1;
  for (std::uint64_t i = 0; i < iterations; ++i) {
    asm volatile("add %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0" : "+r"(x) : "r"(one));
  }
  return 4 * iterations + (x - 5 * iterations);
#else
  (void)x;
  return 0;
#endif
}

}  // namespace maddness::bench
#endif  // HWY_ONCE
