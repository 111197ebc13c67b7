// The scan's budgets that follow from the machine's cache sizes, read once at run time (the
// per-target knobs are in scan_tuning-inl.h; the measurements behind them in docs/kernels.md).
#ifndef MADDNESS_SRC_SCAN_SCAN_TUNING_H_
#define MADDNESS_SRC_SCAN_SCAN_TUNING_H_

#include <cstddef>

namespace maddness::detail {

// Per-core data cache sizes in bytes; 0 when unknown.
struct CacheSizes {
  std::size_t l1d = 0;
  std::size_t l2 = 0;
};

// Used for a size the system does not report: the Intel Xeon (model 207) that the issue-18
// measurements were taken on, where the budgets below equal the constants measured before they
// were derived from the caches.
inline constexpr std::size_t kFallbackL1dBytes = std::size_t{48} << 10;
inline constexpr std::size_t kFallbackL2Bytes = std::size_t{2} << 20;

// Byte budgets of the scan, all derived from CacheSizes by ScanBudgetsFor.
struct ScanBudgets {
  // Unpacked codes of a row-major chunk (one byte per code): read by every output of the chunk,
  // so they should stay in L1 next to the output's tables and stage: a third of L1 (at most the
  // scratch buffer's kMaxNibbleBytes).
  std::size_t nibble_bytes = 0;
  // Row-major outputs of at least this many bytes (rows exactly M values apart) are written with
  // streaming stores: half of L2, beyond which the output does not stay in the core's cache
  // next to the scan's own data, so its lines would be read from memory before being written.
  std::size_t stream_min_bytes = 0;
  // The streamed row-major output goes through two chunk buffers of at most this many bytes
  // each, which must stay in L2 while they are written and copied out: an eighth of L2.
  std::size_t max_stream_buffer_bytes = 0;
  // Packed codes of a chunk of the column-major direct kernel, read by every tile of outputs
  // from L1: a third of L1.
  std::size_t column_chunk_bytes = 0;
  // Column-major outputs of at least this many bytes are written with streaming stores where a
  // vector is aligned: a quarter of L2.
  std::size_t column_stream_min_bytes = 0;
};

// Size of the scratch buffer of the unpacked codes (ScanScratch), the cap of nibble_bytes.
inline constexpr std::size_t kMaxNibbleBytes = std::size_t{16} << 10;

// The budgets for the given cache sizes (0: kFallbackL1dBytes / kFallbackL2Bytes).
ScanBudgets ScanBudgetsFor(CacheSizes caches);

// This machine's cache sizes (sysconf on glibc; 0 where unknown), read once.
const CacheSizes& MachineCacheSizes();

// ScanBudgetsFor(MachineCacheSizes()), computed once.
const ScanBudgets& MachineScanBudgets();

}  // namespace maddness::detail

#endif  // MADDNESS_SRC_SCAN_SCAN_TUNING_H_
