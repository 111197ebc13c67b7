// The scan's cache-size budgets (src/scan/scan_tuning.h).
#include "src/scan/scan_tuning.h"

#include <gtest/gtest.h>

#include <cstddef>

namespace maddness::detail {
namespace {

constexpr std::size_t kKiB = 1024;

void ExpectSameBudgets(const ScanBudgets& a, const ScanBudgets& b) {
  EXPECT_EQ(a.nibble_bytes, b.nibble_bytes);
  EXPECT_EQ(a.stream_min_bytes, b.stream_min_bytes);
  EXPECT_EQ(a.max_stream_buffer_bytes, b.max_stream_buffer_bytes);
  EXPECT_EQ(a.column_chunk_bytes, b.column_chunk_bytes);
  EXPECT_EQ(a.column_stream_min_bytes, b.column_stream_min_bytes);
}

TEST(ScanTuning, BudgetsFollowTheCacheSizes) {
  // 48 KiB L1, 2 MiB L2 (the Intel Xeon of docs/kernels.md): the constants measured there.
  const ScanBudgets xeon = ScanBudgetsFor({48 * kKiB, 2048 * kKiB});
  EXPECT_EQ(xeon.nibble_bytes, 16 * kKiB);
  EXPECT_EQ(xeon.stream_min_bytes, 1024 * kKiB);
  EXPECT_EQ(xeon.max_stream_buffer_bytes, 256 * kKiB);
  EXPECT_EQ(xeon.column_chunk_bytes, 16 * kKiB);
  EXPECT_EQ(xeon.column_stream_min_bytes, 512 * kKiB);
  // 32 KiB L1, 512 KiB L2 (Zen 3): everything smaller.
  const ScanBudgets zen3 = ScanBudgetsFor({32 * kKiB, 512 * kKiB});
  EXPECT_EQ(zen3.nibble_bytes, 32 * kKiB / 3);
  EXPECT_EQ(zen3.stream_min_bytes, 256 * kKiB);
  EXPECT_EQ(zen3.max_stream_buffer_bytes, 64 * kKiB);
  EXPECT_EQ(zen3.column_chunk_bytes, 32 * kKiB / 3);
  EXPECT_EQ(zen3.column_stream_min_bytes, 128 * kKiB);
}

TEST(ScanTuning, NibbleBudgetStaysWithinTheScratchBuffer) {
  const ScanBudgets large = ScanBudgetsFor({192 * kKiB, 16384 * kKiB});
  EXPECT_EQ(large.nibble_bytes, kMaxNibbleBytes);
  EXPECT_EQ(large.column_chunk_bytes, 64 * kKiB);
}

TEST(ScanTuning, UnknownCacheSizesUseTheFallbacks) {
  ExpectSameBudgets(ScanBudgetsFor({0, 0}), ScanBudgetsFor({kFallbackL1dBytes, kFallbackL2Bytes}));
  ExpectSameBudgets(ScanBudgetsFor({0, 512 * kKiB}),
                    ScanBudgetsFor({kFallbackL1dBytes, 512 * kKiB}));
  ExpectSameBudgets(ScanBudgetsFor({32 * kKiB, 0}), ScanBudgetsFor({32 * kKiB, kFallbackL2Bytes}));
}

TEST(ScanTuning, MachineBudgetsComeFromTheMachineCacheSizes) {
  ExpectSameBudgets(MachineScanBudgets(), ScanBudgetsFor(MachineCacheSizes()));
  EXPECT_GT(MachineScanBudgets().nibble_bytes, 0u);
  EXPECT_LE(MachineScanBudgets().nibble_bytes, kMaxNibbleBytes);
}

}  // namespace
}  // namespace maddness::detail
