// Public reports of the SIMD targets (maddness.h).
#include <string>
#include <vector>

#include "maddness/maddness.h"
#include "src/common/targets.h"

namespace maddness {

std::string SimdTarget() { return detail::SimdTargetName(detail::ScanKernelTarget()); }

std::vector<std::string> CompiledTargets() {
  std::vector<std::string> names;
  for (const std::int64_t target : detail::CompiledSimdTargets()) {
    names.push_back(detail::SimdTargetName(target));
  }
  return names;
}

}  // namespace maddness
