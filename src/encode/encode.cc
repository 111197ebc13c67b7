// Runtime dispatch of the SIMD encoder (encode-inl.h), compiled once per Highway target.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/encode/encode.cc"
#include <hwy/foreach_target.h>  // must come before highway.h

#include <hwy/highway.h>

#include "src/encode/encode-inl.h"

#if HWY_ONCE
#include "src/common/targets.h"
#include "src/encode/encode.h"

namespace maddness::detail {

HWY_EXPORT(EncodeBlocksImpl);
HWY_EXPORT(EncodeTargetImpl);

bool EncodeBlocks(const Encoder& encoder, const MatrixView& a, std::size_t block_begin,
                  std::size_t block_end, std::uint8_t* packed) {
  SelectSimdTarget();
  return HWY_DYNAMIC_DISPATCH(EncodeBlocksImpl)(encoder, a, block_begin, block_end, packed);
}

std::int64_t EncodeKernelTarget() {
  SelectSimdTarget();
  return HWY_DYNAMIC_DISPATCH(EncodeTargetImpl)();
}

}  // namespace maddness::detail
#endif  // HWY_ONCE
