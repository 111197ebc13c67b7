// SIMD target selection for the kernels (encode, scan). The kernels are compiled once per
// Highway target (AVX3_DL, AVX3, AVX2, SSE4, SSSE3 and the scalar fallback, which runs the
// scalar references) and chosen at run time. The environment variable MADDNESS_TARGET=<name>
// forces one of them; an unknown name, or one this CPU cannot run, is an error (never a silent
// fall-back).
#ifndef MADDNESS_SRC_COMMON_TARGETS_H_
#define MADDNESS_SRC_COMMON_TARGETS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace maddness::detail {

// Reads MADDNESS_TARGET once per process and restricts Highway's dispatch to that target.
// Every kernel entry point calls it before its first dispatch; cheap after the first call.
// Throws Error when the variable names no compiled target or one this CPU does not support.
void SelectSimdTarget();

// The name of a Highway target bit: "AVX3_DL", "AVX3", "AVX2", "SSE4", "SSSE3", "SCALAR", ...
std::string SimdTargetName(std::int64_t target);

// Highway targets compiled into the kernels, best first (includes the scalar fallback).
std::vector<std::int64_t> CompiledSimdTargets();

// The compiled targets this CPU can run, best first. The CPU is asked once, at the first call of
// this function or of SelectSimdTarget; make that call before any hwy::SetSupportedTargetsForTest
// (tests), or the mock is taken for the CPU.
std::vector<std::int64_t> RunnableSimdTargets();

// The target bit for a MADDNESS_TARGET value (case-insensitive; "reference" and "scalar" name
// the scalar fallback). Throws Error naming the valid values when `name` is unknown.
std::int64_t ParseSimdTargetName(const std::string& name);

// Kernel-side reports: the target that the encode and scan dispatch tables pick now. Defined in
// encode.cc and scan.cc (each reports HWY_TARGET of the code that runs).
std::int64_t EncodeKernelTarget();
std::int64_t ScanKernelTarget();

}  // namespace maddness::detail

#endif  // MADDNESS_SRC_COMMON_TARGETS_H_
