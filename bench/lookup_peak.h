// A register-only loop of 16-entry byte lookups: the ceiling of the scan on this machine.
#ifndef MADDNESS_BENCH_LOOKUP_PEAK_H_
#define MADDNESS_BENCH_LOOKUP_PEAK_H_

#include <cstdint>

namespace maddness::bench {

// Runs `iterations` rounds of 8 independent vector lookups on the best SIMD target (the same
// choice as the kernels, including MADDNESS_TARGET if the kernels ran first). Returns the number
// of byte lookups done; *checksum depends on every result.
std::uint64_t LookupLoop(std::uint64_t iterations, std::uint64_t* checksum);

}  // namespace maddness::bench

#endif  // MADDNESS_BENCH_LOOKUP_PEAK_H_
