// Streaming stores of the row-major scan (scan-inl.h). Outputs of at least
// ScanBudgets::stream_min_bytes (rows of exactly M values) are written with streaming stores, so
// that a streaming store, unlike an ordinary one, does not first read the line it writes (for a
// cold output an ordinary store doubles the memory traffic). Each chunk's rows are assembled in a
// buffer (at most ScanBudgets::max_stream_buffer_bytes; two of them, used in turns) and copied
// out in address order, in slices while the next chunk is computed (PendingStream), so that every
// cache line of the output is written whole, at once, and the memory writes overlap the lookups.
#if defined(MADDNESS_SRC_SCAN_SCAN_STREAM_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MADDNESS_SRC_SCAN_SCAN_STREAM_INL_H_
#undef MADDNESS_SRC_SCAN_SCAN_STREAM_INL_H_
#else
#define MADDNESS_SRC_SCAN_SCAN_STREAM_INL_H_
#endif

#include <hwy/cache_control.h>
#include <hwy/highway.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "src/common/layout.h"
#include "src/scan/scan.h"
#include "src/scan/scan_tuning-inl.h"
#include "src/scan/scan_tuning.h"

HWY_BEFORE_NAMESPACE();
namespace maddness::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_EMU128 && !HWY_HAVE_SCALABLE

inline bool UseStreamingStores(const ScanArgs& args, std::size_t out_row_stride,
                               std::size_t element_bytes) {
  const ScanBudgets& budgets = MachineScanBudgets();
  const std::size_t buffer_bytes = kMaxChunkBlocks * kBlockRows * args.output_dim * element_bytes;
  return out_row_stride == args.output_dim && buffer_bytes <= budgets.max_stream_buffer_bytes &&
         args.num_rows * args.output_dim * element_bytes >= budgets.stream_min_bytes;
}

// Copies `count` values to `dst` with streaming stores, and the parts outside whole vectors at
// aligned addresses with ordinary stores.
template <typename T>
inline void StreamCopy(const T* HWY_RESTRICT src, T* HWY_RESTRICT dst, std::size_t count) {
  const hn::ScalableTag<T> d;
  const std::size_t lanes = hn::Lanes(d);
  const std::size_t align = lanes * sizeof(T);
  std::size_t i = 0;
  while (i < count && reinterpret_cast<std::uintptr_t>(dst + i) % align != 0) {
    dst[i] = src[i];
    ++i;
  }
  for (; i + lanes <= count; i += lanes) hn::Stream(hn::LoadU(d, src + i), d, dst + i);
  for (; i < count; ++i) dst[i] = src[i];
}

// A chunk's rows assembled in a stream buffer, copied out with streaming stores a slice at a
// time while the next chunk is being computed (ScanImpl calls Step between outputs and between
// blocks), so that the memory writes overlap the lookups instead of following them.
template <typename T>
class PendingStream {
 public:
  // Starts the copy of `count` values from src to dst, in about `steps` slices.
  void Start(const T* src, T* dst, std::size_t count, std::size_t steps) {
    src_ = src;
    dst_ = dst;
    count_ = count;
    done_ = 0;
    slice_ = (count + steps - 1) / std::max<std::size_t>(steps, 1);
  }
  // Copies the next slice. Slices end at 64-byte boundaries of dst (but the last), so that each
  // cache line of the output is written whole by one StreamCopy.
  void Step() {
    if (done_ == count_) return;
    std::size_t end = std::min(count_, done_ + slice_);
    if (end < count_) {
      const std::size_t line = 64 / sizeof(T);
      const std::size_t misalign = (reinterpret_cast<std::uintptr_t>(dst_ + end) % 64) / sizeof(T);
      end = std::min(count_, end + (line - misalign) % line);
    }
    StreamCopy(src_ + done_, dst_ + done_, end - done_);
    done_ = end;
  }
  void Finish() {
    if (done_ < count_) StreamCopy(src_ + done_, dst_ + done_, count_ - done_);
    done_ = count_;
  }

 private:
  const T* src_ = nullptr;
  T* dst_ = nullptr;
  std::size_t count_ = 0;
  std::size_t done_ = 0;
  std::size_t slice_ = 0;
};

#endif  // HWY_TARGET

}  // namespace HWY_NAMESPACE
}  // namespace maddness::detail
HWY_AFTER_NAMESPACE();

#endif  // include guard
