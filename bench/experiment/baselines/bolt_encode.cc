// Runtime dispatch of Bolt's SIMD encoder (bolt_encode-inl.h), compiled once per Highway target,
// the library's targets (bench/experiment/CMakeLists.txt gives this file the library's Highway
// definitions) and the library's choice among them (MADDNESS_TARGET, src/common/targets.h).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "bench/experiment/baselines/bolt_encode.cc"
#include <hwy/foreach_target.h>  // must come before highway.h

#include <hwy/highway.h>

#include "bench/experiment/baselines/bolt_encode-inl.h"

#if HWY_ONCE
#include <string>

#include "bench/experiment/baselines/bolt_encode.h"
#include "src/common/targets.h"

namespace maddness::baselines {

HWY_EXPORT(BoltEncodeImpl);
HWY_EXPORT(BoltEncodeTargetImpl);

void BoltEncode(const BoltCodebooks& codebooks, const MatrixView& a, std::size_t block_begin,
                std::size_t block_end, std::uint8_t* packed) {
  if (a.cols != codebooks.dim()) {
    throw Error("Bolt encoder: A has " + std::to_string(a.cols) +
                " columns but the codebooks cover D = " + std::to_string(codebooks.dim()));
  }
  detail::SelectSimdTarget();
  HWY_DYNAMIC_DISPATCH(BoltEncodeImpl)(codebooks, a, block_begin, block_end, packed);
}

std::int64_t BoltEncodeTarget() {
  detail::SelectSimdTarget();
  return HWY_DYNAMIC_DISPATCH(BoltEncodeTargetImpl)();
}

}  // namespace maddness::baselines
#endif  // HWY_ONCE
