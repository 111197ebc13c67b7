// A register-only loop of 16-entry byte lookups: the ceiling of the scan on this machine.
#ifndef MADDNESS_BENCH_LOOKUP_PEAK_H_
#define MADDNESS_BENCH_LOOKUP_PEAK_H_

#include <cstdint>

namespace maddness::bench {

// Runs `iterations` (rounded up to even) rounds of 6 independent vector lookups on the best SIMD
// target (the same choice as the kernels, including MADDNESS_TARGET if the kernels ran first).
// Returns the number of byte lookups done; *checksum depends on every result.
std::uint64_t LookupLoop(std::uint64_t iterations, std::uint64_t* checksum);

// The vector width in bytes of that target (1 for the scalar fallback).
std::uint64_t LookupVectorBytes();

// A chain of 4 * iterations dependent one-cycle integer additions (x86-64; elsewhere it does
// nothing and returns 0). Timed next to LookupLoop, it gives the core's clock, so that lookups can
// be counted per cycle. Returns the number of additions.
std::uint64_t AddChain(std::uint64_t iterations);

}  // namespace maddness::bench

#endif  // MADDNESS_BENCH_LOOKUP_PEAK_H_
