#include "src/common/targets.h"

#include <hwy/highway.h>
#include <hwy/targets.h>

#include <cctype>
#include <cstdlib>

#include "src/common/check.h"

namespace maddness::detail {
namespace {

// The fallback target of this compiler: HWY_SCALAR with GCC < 12.3, otherwise HWY_EMU128.
constexpr std::int64_t kFallbackTargets = HWY_TARGETS & (HWY_SCALAR | HWY_EMU128);

std::string Upper(const std::string& text) {
  std::string out = text;
  for (char& ch : out) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return out;
}

std::string JoinNames(const std::vector<std::int64_t>& targets) {
  std::string out;
  for (const std::int64_t target : targets) {
    if (!out.empty()) out += ", ";
    out += SimdTargetName(target);
  }
  return out;
}

// What this CPU supports, detected once. Highway 1.0.3's SupportedTargets() also resets the
// dispatch choice to every detected target, so it must not be called again once a target is
// forced.
std::int64_t DetectedTargets() {
  static const std::int64_t detected = hwy::SupportedTargets();
  return detected;
}

// Applies MADDNESS_TARGET; returns the forced target bit, or 0 when the variable is unset.
std::int64_t ApplyEnvironment() {
  const char* value = std::getenv("MADDNESS_TARGET");
  if (value == nullptr || *value == '\0') return 0;
  const std::int64_t target = ParseSimdTargetName(value);
  const std::vector<std::int64_t> runnable = RunnableSimdTargets();
  bool supported = false;
  for (const std::int64_t t : runnable) supported = supported || t == target;
  if (!supported) {
    Fail("MADDNESS_TARGET is '", value, "' but this CPU cannot run the ", SimdTargetName(target),
         " kernels; it runs: ", JoinNames(runnable));
  }
  // Every other target is disabled; the fallback stays enabled only when it is the one asked
  // for (Highway always keeps one target, so forcing the fallback disables all others).
  hwy::DisableTargets(~target);
  hwy::GetChosenTarget().Update(hwy::SupportedTargets());
  return target;
}

}  // namespace

std::string SimdTargetName(std::int64_t target) { return hwy::TargetName(target); }

std::vector<std::int64_t> CompiledSimdTargets() {
  std::vector<std::int64_t> out;
  for (std::int64_t targets = HWY_TARGETS; targets != 0; targets &= targets - 1) {
    out.push_back(targets & -targets);
  }
  return out;
}

std::vector<std::int64_t> RunnableSimdTargets() {
  const std::int64_t supported = DetectedTargets() | kFallbackTargets;
  std::vector<std::int64_t> out;
  for (const std::int64_t target : CompiledSimdTargets()) {
    if ((supported & target) != 0) out.push_back(target);
  }
  return out;
}

std::int64_t ParseSimdTargetName(const std::string& name) {
  const std::string upper = Upper(name);
  if (upper == "REFERENCE" || upper == "SCALAR" || upper == "EMU128") {
    if (kFallbackTargets != 0) return kFallbackTargets & -kFallbackTargets;
  }
  for (const std::int64_t target : CompiledSimdTargets()) {
    if (upper == SimdTargetName(target)) return target;
  }
  Fail("MADDNESS_TARGET is '", name,
       "'; it must name a compiled SIMD target: ", JoinNames(CompiledSimdTargets()),
       " (or 'reference' for the scalar code)");
}

void SelectSimdTarget() {
  // Thread-safe one-time initialization; when it throws, the next call tries (and throws) again.
  static const std::int64_t forced = ApplyEnvironment();
  (void)forced;
}

}  // namespace maddness::detail
