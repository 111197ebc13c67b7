// What the suite's timings ran on, in words for results.csv: the CPU model, and oneDNN and
// OpenBLAS with their versions and the code paths they chose at run time on this CPU.
//
//   std::string cpu = CpuModel();         // "Intel(R) Xeon(R) Processor (family 6, model 85)"
//   std::string blas = OpenBlasName();    // "OpenBLAS 0.3.21, Haswell kernels"
//   std::string dnnl = OneDnnName();      // "oneDNN 3.0.0, AVX2 kernels"
#ifndef MADDNESS_BENCH_EXPERIMENT_BASELINES_LIBRARIES_H_
#define MADDNESS_BENCH_EXPERIMENT_BASELINES_LIBRARIES_H_

#include <string>

namespace maddness::baselines {

// The CPU's model name from /proc/cpuinfo ("model name", with its family, model and stepping
// where the file gives them; "Hardware" or the implementer and part on ARM), or "unknown (...)"
// saying why.
std::string CpuModel();

// The instruction set oneDNN's JIT uses on this CPU (dnnl::get_effective_cpu_isa();
// ONEDNN_MAX_CPU_ISA lowers it): `id` in oneDNN's words ("avx512_core_bf16"), `words` for people
// ("AVX-512 VNNI BF16"), both "unknown" for a set not listed; `vnni` whether it includes VNNI
// (avx512_core_vnni or avx2_vnni).
struct OneDnnIsa {
  std::string id;
  std::string words;
  bool vnni = false;
};
OneDnnIsa OneDnnCpuIsa();

// "oneDNN <version>, <ISA> kernels": the instruction set oneDNN's JIT uses on this CPU.
std::string OneDnnName();

// "OpenBLAS <version>, <core> kernels": the core type OpenBLAS chose (OPENBLAS_CORETYPE
// overrides it).
std::string OpenBlasName();

}  // namespace maddness::baselines

#endif  // MADDNESS_BENCH_EXPERIMENT_BASELINES_LIBRARIES_H_
