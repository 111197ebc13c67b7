// Runtime dispatch of the SIMD encoder (encode-inl.h), compiled once per Highway target.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/encode/encode.cc"
#include <hwy/foreach_target.h>  // must come before highway.h

#include <hwy/highway.h>

#include "src/encode/encode-inl.h"

#if HWY_ONCE
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#if HWY_ARCH_X86
#include <cpuid.h>
#endif

#include "src/common/check.h"
#include "src/common/targets.h"
#include "src/encode/encode.h"

namespace maddness::detail {
namespace {

// -1 until the policy is chosen, then a ColumnRuns value.
std::atomic<int> column_runs{-1};

bool IsIntelCpu() {
#if HWY_ARCH_X86
  unsigned int max_leaf = 0;
  unsigned int vendor[3] = {0, 0, 0};  // EBX, EDX, ECX: "GenuineIntel"
  if (__get_cpuid(0, &max_leaf, &vendor[0], &vendor[2], &vendor[1]) == 0) return false;
  return std::memcmp(vendor, "GenuineIntel", sizeof(vendor)) == 0;
#else
  return false;
#endif
}

ColumnRuns ChooseColumnRuns() {
  const char* value = std::getenv("MADDNESS_COLUMN_RUNS");
  if (value == nullptr || value[0] == '\0') {
    return IsIntelCpu() ? ColumnRuns::kL2Bounded : ColumnRuns::kLong;
  }
  const std::string name = value;
  if (name == "l2-bounded") return ColumnRuns::kL2Bounded;
  if (name == "long") return ColumnRuns::kLong;
  Fail("MADDNESS_COLUMN_RUNS is '", name, "'; it must be 'l2-bounded' or 'long' (or unset)");
}

}  // namespace

HWY_EXPORT(EncodeBlocksImpl);
HWY_EXPORT(EncodeTargetImpl);

ColumnRuns MachineColumnRuns() {
  int runs = column_runs.load(std::memory_order_relaxed);
  if (runs < 0) {
    // Threads that race here choose the same policy.
    runs = static_cast<int>(ChooseColumnRuns());
    int expected = -1;
    column_runs.compare_exchange_strong(expected, runs, std::memory_order_relaxed);
    runs = column_runs.load(std::memory_order_relaxed);
  }
  return static_cast<ColumnRuns>(runs);
}

void SetColumnRuns(ColumnRuns runs) {
  column_runs.store(static_cast<int>(runs), std::memory_order_relaxed);
}

bool EncodeBlocks(const Encoder& encoder, const MatrixView& a, std::size_t block_begin,
                  std::size_t block_end, std::uint8_t* packed) {
  SelectSimdTarget();
  const bool long_runs = MachineColumnRuns() == ColumnRuns::kLong;
  return HWY_DYNAMIC_DISPATCH(EncodeBlocksImpl)(encoder, a, block_begin, block_end, packed,
                                                long_runs);
}

std::int64_t EncodeKernelTarget() {
  SelectSimdTarget();
  return HWY_DYNAMIC_DISPATCH(EncodeTargetImpl)();
}

}  // namespace maddness::detail
#endif  // HWY_ONCE
