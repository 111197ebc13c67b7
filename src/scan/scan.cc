// Runtime dispatch of the SIMD scan (scan-inl.h), compiled once per Highway target.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/scan/scan.cc"
#include <hwy/foreach_target.h>  // must come before highway.h

#include <hwy/highway.h>

#include "src/scan/scan-inl.h"
#include "src/scan/scan_column-inl.h"

#if HWY_ONCE
#include "src/common/targets.h"
#include "src/scan/scan.h"

namespace maddness::detail {

HWY_EXPORT(ScanBlocksImpl);
HWY_EXPORT(ScanDequantizeBlocksImpl);
HWY_EXPORT(ScanColumnsImpl);
HWY_EXPORT(ScanColumns8Impl);
HWY_EXPORT(ScanDequantizeColumnsImpl);
HWY_EXPORT(ScanTargetImpl);

void ScanBlocks(const ScanArgs& args, std::size_t block_begin, std::size_t block_end,
                std::uint16_t* raw, std::size_t raw_row_stride) {
  SelectSimdTarget();
  HWY_DYNAMIC_DISPATCH(ScanBlocksImpl)(args, block_begin, block_end, raw, raw_row_stride);
}

void ScanDequantizeBlocks(const ScanArgs& args, const float* out_scale, const float* out_offset,
                          std::size_t block_begin, std::size_t block_end, float* out,
                          std::size_t out_row_stride) {
  SelectSimdTarget();
  HWY_DYNAMIC_DISPATCH(ScanDequantizeBlocksImpl)
  (args, out_scale, out_offset, block_begin, block_end, out, out_row_stride);
}

void ScanColumns(const ScanArgs& args, std::size_t block_begin, std::size_t block_end,
                 std::uint16_t* raw, std::size_t col_stride) {
  SelectSimdTarget();
  HWY_DYNAMIC_DISPATCH(ScanColumnsImpl)(args, block_begin, block_end, raw, col_stride);
}

void ScanColumns8(const ScanArgs& args, std::size_t block_begin, std::size_t block_end,
                  std::uint8_t* raw, std::size_t col_stride) {
  SelectSimdTarget();
  HWY_DYNAMIC_DISPATCH(ScanColumns8Impl)(args, block_begin, block_end, raw, col_stride);
}

void ScanDequantizeColumns(const ScanArgs& args, const float* out_scale, const float* out_offset,
                           std::size_t block_begin, std::size_t block_end, float* out,
                           std::size_t col_stride) {
  SelectSimdTarget();
  HWY_DYNAMIC_DISPATCH(ScanDequantizeColumnsImpl)
  (args, out_scale, out_offset, block_begin, block_end, out, col_stride);
}

std::int64_t ScanKernelTarget() {
  SelectSimdTarget();
  return HWY_DYNAMIC_DISPATCH(ScanTargetImpl)();
}

}  // namespace maddness::detail
#endif  // HWY_ONCE
