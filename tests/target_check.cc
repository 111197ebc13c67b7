// Proves that MADDNESS_TARGET forces the SIMD target of the kernels (the simdjson
// checkimplementation pattern). Run by ctest with MADDNESS_TARGET set in the environment:
//
//   maddness_target_check <expected>
//
// <expected> is the target name MADDNESS_TARGET should select ("AVX2", "reference", ...) or
// "error" when MADDNESS_TARGET holds a name that must be refused. Exit codes: 0 pass, 1 fail,
// 77 skipped (this CPU cannot run the expected target; the refusal itself is still checked).
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "maddness/maddness.h"
#include "src/common/aligned.h"
#include "src/common/layout.h"
#include "src/common/model_data.h"
#include "src/common/targets.h"
#include "src/encode/encode.h"
#include "src/scan/scan.h"
#include "tests/testers/kernel_testers.h"

namespace maddness::detail {
namespace {

constexpr int kSkip = 77;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A small encode and scan on the forced target, compared with the references.
bool KernelsMatchReferences() {
  std::mt19937_64 generator(5);
  const std::size_t rows = 200;
  const std::size_t dim = 24;
  const int codebooks = 6;
  const Encoder encoder =
      testers::BuildEncoder(dim, codebooks, [&](std::size_t, SplitLevel& split) {
        split.dim = static_cast<std::uint32_t>(generator() % dim);
        split.scale = 16.0f;
        testers::UniformThresholds(generator, 32, split);
      });
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> a(rows * dim);
  for (float& value : a) value = normal(generator);
  const MatrixView view = MatrixView::RowMajor(a.data(), rows, dim);
  const std::size_t bytes = PackedCodesBytes(rows, codebooks);
  AlignedVector<std::uint8_t> codes(bytes);
  AlignedVector<std::uint8_t> expected_codes(bytes);
  EncodeBlocks(encoder, view, 0, NumBlocks(rows), codes.data());
  EncodeRef(encoder, view, 0, NumBlocks(rows), expected_codes.data());
  if (codes != expected_codes) {
    std::fprintf(stderr, "encode differs from the reference\n");
    return false;
  }
  const std::size_t outputs = 5;
  AlignedVector<std::uint8_t> luts(outputs * TableBytesPerOutput(codebooks));
  for (std::uint8_t& value : luts) value = static_cast<std::uint8_t>(generator());
  const ScanArgs args = testers::MakeScanArgs(codes.data(), rows, codebooks, luts.data(), outputs);
  std::vector<std::uint16_t> raw(rows * outputs);
  std::vector<std::uint16_t> expected_raw(rows * outputs);
  ScanBlocks(args, 0, NumBlocks(rows), raw.data(), outputs);
  ScanRef(args, 0, NumBlocks(rows), expected_raw.data(), outputs);
  if (raw != expected_raw) {
    std::fprintf(stderr, "scan differs from the reference\n");
    return false;
  }
  return true;
}

int Run(const std::string& expected) {
  const char* forced = std::getenv("MADDNESS_TARGET");
  if (forced == nullptr) {
    std::fprintf(stderr, "MADDNESS_TARGET is not set\n");
    return 1;
  }
  std::string running;
  std::string error;
  try {
    running = SimdTarget();
  } catch (const Error& e) {
    error = e.what();
  }
  if (expected == "error") {
    if (error.empty() || !Contains(error, forced)) {
      std::fprintf(stderr, "MADDNESS_TARGET=%s: expected an error naming it, got target '%s'\n",
                   forced, running.c_str());
      return 1;
    }
    std::printf("refused as expected: %s\n", error.c_str());
    return 0;
  }
  const std::int64_t target = ParseSimdTargetName(expected);
  bool runnable = false;
  for (const std::int64_t t : RunnableSimdTargets()) runnable = runnable || t == target;
  if (!runnable) {
    if (error.empty() || !Contains(error, "cannot run")) {
      std::fprintf(stderr, "MADDNESS_TARGET=%s is not runnable here but was not refused (%s)\n",
                   forced, running.c_str());
      return 1;
    }
    std::printf("this CPU cannot run %s; refused as expected: %s\n", expected.c_str(),
                error.c_str());
    return kSkip;
  }
  if (!error.empty()) {
    std::fprintf(stderr, "MADDNESS_TARGET=%s: unexpected error: %s\n", forced, error.c_str());
    return 1;
  }
  const std::string name = SimdTargetName(target);
  const std::string encode_name = SimdTargetName(EncodeKernelTarget());
  const std::string scan_name = SimdTargetName(ScanKernelTarget());
  std::printf("MADDNESS_TARGET=%s: SimdTarget() = %s, encode = %s, scan = %s\n", forced,
              running.c_str(), encode_name.c_str(), scan_name.c_str());
  if (running != name || encode_name != name || scan_name != name) {
    std::fprintf(stderr, "expected %s everywhere\n", name.c_str());
    return 1;
  }
  return KernelsMatchReferences() ? 0 : 1;
}

}  // namespace
}  // namespace maddness::detail

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <expected target name | error>\n", argv[0]);
    return 1;
  }
  return maddness::detail::Run(argv[1]);
}
