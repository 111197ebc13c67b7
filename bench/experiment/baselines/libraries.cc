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

std::string IsaName(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::sse41:
      return "SSE4.1";
    case dnnl::cpu_isa::avx:
      return "AVX";
    case dnnl::cpu_isa::avx2:
      return "AVX2";
    case dnnl::cpu_isa::avx2_vnni:
      return "AVX2 VNNI";
    case dnnl::cpu_isa::avx512_core:
      return "AVX-512";
    case dnnl::cpu_isa::avx512_core_vnni:
      return "AVX-512 VNNI";
    case dnnl::cpu_isa::avx512_core_bf16:
      return "AVX-512 VNNI BF16";
    case dnnl::cpu_isa::avx512_core_amx:
      return "AVX-512 AMX";
    default:
      return "ISA " + std::to_string(static_cast<int>(isa));
  }
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

std::string OneDnnName() {
  const dnnl::version_t* version = dnnl::version();
  std::ostringstream text;
  text << "oneDNN " << version->major << '.' << version->minor << '.' << version->patch << ", "
       << IsaName(dnnl::get_effective_cpu_isa()) << " kernels";
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
