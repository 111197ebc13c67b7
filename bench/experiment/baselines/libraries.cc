#include "bench/experiment/baselines/libraries.h"

#include <cblas.h>

#include <fstream>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <sstream>
#include <string>

namespace maddness::baselines {
namespace {

// The fields of the first processor in /proc/cpuinfo ("key : value" lines up to the first blank
// line), keys trimmed; empty when the file cannot be read.
std::map<std::string, std::string> FirstProcessor() {
  std::map<std::string, std::string> fields;
  std::ifstream file("/proc/cpuinfo");
  std::string line;
  const auto trim = [](std::string text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string::npos) return std::string();
    const auto last = text.find_last_not_of(" \t");
    return text.substr(first, last - first + 1);
  };
  while (std::getline(file, line)) {
    if (trim(line).empty()) {
      if (!fields.empty()) break;
      continue;
    }
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    fields.emplace(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
  }
  return fields;
}

// oneDNN's instruction sets (dnnl::cpu_isa), best first, by oneDNN's own name and in words; each
// value's bits include those of the sets it extends.
struct IsaNames {
  dnnl::cpu_isa isa;
  const char* id;
  const char* words;
};
constexpr IsaNames kIsaNames[] = {
    {dnnl::cpu_isa::avx512_core_amx, "avx512_core_amx", "AVX-512 AMX"},
    {dnnl::cpu_isa::avx512_core_bf16, "avx512_core_bf16", "AVX-512 VNNI BF16"},
    {dnnl::cpu_isa::avx512_core_vnni, "avx512_core_vnni", "AVX-512 VNNI"},
    {dnnl::cpu_isa::avx512_core, "avx512_core", "AVX-512"},
    {dnnl::cpu_isa::avx2_vnni, "avx2_vnni", "AVX2 VNNI"},
    {dnnl::cpu_isa::avx2, "avx2", "AVX2"},
    {dnnl::cpu_isa::avx, "avx", "AVX"},
    {dnnl::cpu_isa::sse41, "sse41", "SSE4.1"},
};

bool IsaIncludes(dnnl::cpu_isa isa, dnnl::cpu_isa part) {
  const auto bits = static_cast<unsigned>(isa), part_bits = static_cast<unsigned>(part);
  return (bits & part_bits) == part_bits;
}

}  // namespace

std::string CpuModel() {
  const std::map<std::string, std::string> fields = FirstProcessor();
  if (fields.empty()) return "unknown (no /proc/cpuinfo)";
  const auto get = [&](const std::string& key) {
    const auto found = fields.find(key);
    return found == fields.end() ? std::string() : found->second;
  };
  std::string name = get("model name");
  if (!name.empty()) {
    const std::string family = get("cpu family"), model = get("model"), stepping = get("stepping");
    if (!family.empty() && !model.empty()) {
      name += " (family " + family + ", model " + model;
      if (!stepping.empty()) name += ", stepping " + stepping;
      name += ")";
    }
    return name;
  }
  // ARM: no model name; the implementer and part numbers name the core.
  const std::string implementer = get("CPU implementer"), part = get("CPU part");
  if (!implementer.empty() && !part.empty()) {
    return "CPU implementer " + implementer + ", part " + part;
  }
  const std::string hardware = get("Hardware");
  if (!hardware.empty()) return hardware;
  return "unknown (no model name in /proc/cpuinfo)";
}

OneDnnIsa OneDnnCpuIsa() {
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  OneDnnIsa result;
  result.id = result.words = "unknown";
  for (const IsaNames& known : kIsaNames) {
    if (IsaIncludes(isa, known.isa)) {
      result.id = known.id;
      result.words = known.words;
      break;
    }
  }
  result.vnni = IsaIncludes(isa, dnnl::cpu_isa::avx512_core_vnni) ||
                IsaIncludes(isa, dnnl::cpu_isa::avx2_vnni);
  return result;
}

std::string OneDnnName() {
  const dnnl::version_t* version = dnnl::version();
  std::ostringstream text;
  text << "oneDNN " << version->major << '.' << version->minor << '.' << version->patch << ", "
       << OneDnnCpuIsa().words << " kernels";
  return text.str();
}

std::string OpenBlasName() {
  // The configuration string starts "OpenBLAS <version> ...".
  std::istringstream config(openblas_get_config());
  std::string product, version;
  config >> product >> version;
  return "OpenBLAS " + version + ", " + openblas_get_corename() + " kernels";
}

}  // namespace maddness::baselines
