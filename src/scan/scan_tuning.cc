// Cache sizes of the machine and the scan budgets that follow from them (scan_tuning.h).
#include "src/scan/scan_tuning.h"

#include <unistd.h>

#include <algorithm>

namespace maddness::detail {
namespace {

// sysconf's value for `name`, 0 when the system does not know it.
[[maybe_unused]] std::size_t CacheSize(int name) {
  const long value = sysconf(name);
  return value > 0 ? static_cast<std::size_t>(value) : 0;
}

}  // namespace

ScanBudgets ScanBudgetsFor(CacheSizes caches) {
  const std::size_t l1d = caches.l1d != 0 ? caches.l1d : kFallbackL1dBytes;
  const std::size_t l2 = caches.l2 != 0 ? caches.l2 : kFallbackL2Bytes;
  ScanBudgets budgets;
  budgets.nibble_bytes = std::min(kMaxNibbleBytes, l1d / 3);
  budgets.stream_min_bytes = l2 / 2;
  budgets.max_stream_buffer_bytes = l2 / 8;
  budgets.column_chunk_bytes = l1d / 3;
  budgets.column_stream_min_bytes = l2 / 4;
  return budgets;
}

const CacheSizes& MachineCacheSizes() {
  static const CacheSizes sizes = [] {
    CacheSizes read;
#if defined(_SC_LEVEL1_DCACHE_SIZE) && defined(_SC_LEVEL2_CACHE_SIZE)
    read.l1d = CacheSize(_SC_LEVEL1_DCACHE_SIZE);
    read.l2 = CacheSize(_SC_LEVEL2_CACHE_SIZE);
#endif
    return read;
  }();
  return sizes;
}

const ScanBudgets& MachineScanBudgets() {
  static const ScanBudgets budgets = ScanBudgetsFor(MachineCacheSizes());
  return budgets;
}

}  // namespace maddness::detail
