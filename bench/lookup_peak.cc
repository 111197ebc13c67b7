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
// VPERMB-class shuffles) at two lookups a cycle, few enough that with the two index vectors they
// stay in registers on targets with 16 vector registers (eight chains did not: GCC 12 kept one on
// the stack, and every iteration waited on a store-to-load round trip).
inline constexpr int kChains = 6;

#if HWY_ARCH_X86 && defined(__GNUC__) &&                                            \
    (HWY_TARGET == HWY_SSSE3 || HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_AVX2 || \
     HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL)
// The loop on x86, written out: `passes` passes of two rounds of the chains, chain k being
// x_k = lookup(table x_k, index i_k), each shuffle writing the register it reads its table from;
// the loop starts on a 64-byte boundary. So the loop is 2 x kChains shuffles, a decrement and a
// branch, whatever the compiler. (The chains are early-clobber operands: some start equal to an
// index vector, and without it GCC gives both one register.) Written as intrinsics, GCC 12 wrote
// each result to a new register and copied it back (six register moves a round), and where the loop
// fell relative to 64-byte boundaries moved the rate too: on Zen 3 both gave 1.2-1.6 lookups a
// cycle instead of 2 (docs/kernel-measurements.md, "LookupPeak on Zen 3").
#define MADDNESS_SHUFFLE_ROUND(op)                                                    \
  op("%[i0]", "%[x0]") op("%[i1]", "%[x1]") op("%[i0]", "%[x2]") op("%[i1]", "%[x3]") \
      op("%[i0]", "%[x4]") op("%[i1]", "%[x5]")
// PSHUFB overwrites its table operand (x = x[i]); VPSHUFB names it twice.
#define MADDNESS_PSHUFB(index, x) "pshufb " index ", " x "\n\t"
#define MADDNESS_VPSHUFB(index, x) "vpshufb " index ", " x ", " x "\n\t"
template <class V>
HWY_INLINE void LookupPasses(std::uint64_t passes, V& x0, V& x1, V& x2, V& x3, V& x4, V& x5, V i0,
                             V i1) {
  if (passes == 0) return;
#if HWY_TARGET == HWY_SSSE3 || HWY_TARGET == HWY_SSE4
  __asm__ volatile(
      ".p2align 6\n"
      "1:\n\t" MADDNESS_SHUFFLE_ROUND(MADDNESS_PSHUFB) MADDNESS_SHUFFLE_ROUND(MADDNESS_PSHUFB)
      "dec %[n]\n\t"
      "jnz 1b"
      : [x0] "+&x"(x0.raw), [x1] "+&x"(x1.raw), [x2] "+&x"(x2.raw), [x3] "+&x"(x3.raw),
        [x4] "+&x"(x4.raw), [x5] "+&x"(x5.raw), [n] "+r"(passes)
      : [i0] "x"(i0.raw), [i1] "x"(i1.raw)
      : "cc");
#else
  __asm__ volatile(
      ".p2align 6\n"
      "1:\n\t" MADDNESS_SHUFFLE_ROUND(MADDNESS_VPSHUFB) MADDNESS_SHUFFLE_ROUND(MADDNESS_VPSHUFB)
      "dec %[n]\n\t"
      "jnz 1b"
      : [x0] "+&v"(x0.raw), [x1] "+&v"(x1.raw), [x2] "+&v"(x2.raw), [x3] "+&v"(x3.raw),
        [x4] "+&v"(x4.raw), [x5] "+&v"(x5.raw), [n] "+r"(passes)
      : [i0] "v"(i0.raw), [i1] "v"(i1.raw)
      : "cc");
#endif
}
#undef MADDNESS_SHUFFLE_ROUND
#undef MADDNESS_PSHUFB
#undef MADDNESS_VPSHUFB
#else
template <class V>
HWY_INLINE void LookupPasses(std::uint64_t passes, V& x0, V& x1, V& x2, V& x3, V& x4, V& x5, V i0,
                             V i1) {
  for (std::uint64_t i = 0; i < 2 * passes; ++i) {
    x0 = hn::TableLookupBytes(x0, i0);
    x1 = hn::TableLookupBytes(x1, i1);
    x2 = hn::TableLookupBytes(x2, i0);
    x3 = hn::TableLookupBytes(x3, i1);
    x4 = hn::TableLookupBytes(x4, i0);
    x5 = hn::TableLookupBytes(x5, i1);
  }
}
#endif

// Runs `iterations` (rounded up to even) x kChains independent lookups; returns the byte lookups
// done (and a checksum that keeps the loop alive in *checksum). The loop body is shuffles on
// registers and the loop counter: no loads, stores or register copies (docs/kernels.md shows the
// assembly).
inline std::uint64_t LookupLoopImpl(std::uint64_t iterations, std::uint64_t* checksum) {
#if HWY_TARGET == HWY_SCALAR || HWY_TARGET == HWY_EMU128
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0; i < iterations * kChains; ++i) sum = (sum * 31 + i) & 15;
  *checksum = sum;
  return iterations * kChains;
#else
  const hn::ScalableTag<std::uint8_t> d;
  const auto fifteen = hn::Set(d, 15);
  // Index vectors within each 16-byte block, so every chain keeps its values in [0, 16).
  const auto i0 = hn::And(hn::Iota(d, 1), fifteen);
  const auto i1 = hn::And(hn::Iota(d, 3), fifteen);
  auto x0 = hn::And(hn::Iota(d, 0), fifteen);
  auto x1 = hn::And(hn::Iota(d, 1), fifteen);
  auto x2 = hn::And(hn::Iota(d, 2), fifteen);
  auto x3 = hn::And(hn::Iota(d, 3), fifteen);
  auto x4 = hn::And(hn::Iota(d, 4), fifteen);
  auto x5 = hn::And(hn::Iota(d, 5), fifteen);
  LookupPasses((iterations + 1) / 2, x0, x1, x2, x3, x4, x5, i0, i1);
  const auto all = hn::Xor(hn::Xor(x0, x1), hn::Xor(hn::Xor(x2, x3), hn::Xor(x4, x5)));
  *checksum = hn::GetLane(hn::SumsOf8(all));
  return (iterations + 1) / 2 * 2 * kChains * hn::Lanes(d);
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
