// Fuzz target, differential: the input describes an encoder (hash trees), a matrix A, packed codes
// and quantized tables. Every SIMD target compiled into the library that this CPU can run must
// give the same bytes as the scalar references for EncodeBlocks, ScanBlocks,
// ScanDequantizeBlocks and the column-major scans (ScanColumns, ScanColumns8,
// ScanDequantizeColumns), on all blocks and on a sub-range of them (with C <= 2, with or without
// the pair tables, as the input says); with NaN or infinities in A, EncodeBlocks must report them
// on every target. Any difference aborts. The packed codes and tables come from the generator of
// the unit tests' testers, and the loop over the targets is theirs
// (tests/testers/kernel_testers.h).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "maddness/maddness.h"
#include "src/common/layout.h"
#include "src/common/model_data.h"
#include "src/common/targets.h"
#include "src/encode/encode.h"
#include "src/lut/lut.h"
#include "src/scan/scan.h"
#include "tests/testers/kernel_testers.h"

namespace maddness::detail {
namespace {

Encoder MakeEncoder(fuzz::FuzzInput& input, std::size_t input_dim, int num_codebooks) {
  return testers::BuildEncoder(input_dim, num_codebooks, [&](std::size_t i, SplitLevel& split) {
    const int level = static_cast<int>(i % kTreeDepth);
    split.dim = static_cast<std::uint32_t>(input.Range(0, input_dim - 1));
    // Any finite scale (negative and zero too: the kernels must agree on those as well).
    split.scale = input.FiniteFloat();
    split.offset = input.FiniteFloat();
    for (int node = 0; node < 16; ++node) {
      split.thresholds[node] =
          node < (1 << level) ? static_cast<std::int8_t>(input.Byte()) : kNoSplitThreshold;
    }
  });
}

// Runs `kernel` on every runnable target and `reference` once; both fill a buffer of `size`
// elements that starts with `fill`. A difference aborts (the testers' default failure hook).
template <typename T, typename Reference, typename Kernel>
void Compare(const char* what, std::size_t size, T fill, const Reference& reference,
             const Kernel& kernel) {
  std::vector<T> expected(size, fill);
  reference(expected.data());
  testers::ForEachTarget([&](const std::string& target) {
    std::vector<T> actual(size, fill);
    kernel(actual.data());
    const std::size_t index =
        testers::FirstDifference(expected.data(), actual.data(), sizeof(T), size);
    if (index != size) {
      testers::ReportFailure(std::string(what) + " differs from the reference on target " + target +
                             " at element " + std::to_string(index));
    }
  });
}

void Run(fuzz::FuzzInput& input) {
  // Small shapes keep each run fast (the scalar references dominate); every size class of the
  // kernels is still reached: partial and several 64-row blocks, odd C, C > 16 (several averaging
  // groups) and up to kMaxCodebooks now and then.
  const std::size_t input_dim = input.Range(1, 40);
  const bool many_codebooks = input.Byte() % 16 == 0;
  const int num_codebooks = static_cast<int>(input.Range(1, many_codebooks ? 256 : 36));
  const std::size_t rows = input.Range(1, 150);
  const std::size_t outputs = input.Range(1, many_codebooks ? 2 : 9);
  const Aggregation aggregation =
      input.Byte() % 2 == 0 ? Aggregation::kAveraging : Aggregation::kExactSum;
  const Encoder encoder = MakeEncoder(input, input_dim, num_codebooks);

  // A: row-major, column-major or with padded strides; finite values.
  const int layout = input.Byte() % 3;
  const std::size_t padding = layout == 2 ? input.Range(1, 5) : 0;
  const std::size_t row_stride = layout == 1 ? 1 : input_dim + padding;
  const std::size_t col_stride = layout == 1 ? rows : 1;
  std::vector<float> a_storage(rows * (input_dim + padding) + 1);
  for (float& value : a_storage) value = input.FiniteFloat();
  // Now and then a few NaN or infinite values: EncodeBlocks must then report them (its codes are
  // unspecified, but nothing may be undefined behaviour).
  if (input.Byte() % 8 == 0) {
    const std::size_t count = input.Range(1, 4);
    for (std::size_t i = 0; i < count; ++i) {
      const float special[3] = {std::numeric_limits<float>::quiet_NaN(),
                                std::numeric_limits<float>::infinity(),
                                -std::numeric_limits<float>::infinity()};
      a_storage[input.Range(0, a_storage.size() - 1)] = special[input.Byte() % 3];
    }
  }
  const MatrixView a{a_storage.data() + 1, rows, input_dim, static_cast<std::ptrdiff_t>(row_stride),
                     static_cast<std::ptrdiff_t>(col_stride)};

  const std::size_t num_blocks = NumBlocks(rows);
  const std::size_t block_bytes = static_cast<std::size_t>(CodePairs(num_codebooks)) * kBlockRows;
  const std::size_t first = input.Range(0, num_blocks - 1);
  const bool finite = SplitColumnsFinite(encoder, a, 0, num_blocks);
  const bool finite_from_first = SplitColumnsFinite(encoder, a, first, num_blocks);
  if (finite) {
    Compare<std::uint8_t>(
        "EncodeBlocks", num_blocks * block_bytes, 0xAB,
        [&](std::uint8_t* out) { EncodeRef(encoder, a, 0, num_blocks, out); },
        [&](std::uint8_t* out) {
          if (!EncodeBlocks(encoder, a, 0, num_blocks, out)) std::memset(out, 0xEE, 1);
        });
    Compare<std::uint8_t>(
        "EncodeBlocks (sub-range)", (num_blocks - first) * block_bytes, 0xCD,
        [&](std::uint8_t* out) { EncodeRef(encoder, a, first, num_blocks, out); },
        [&](std::uint8_t* out) {
          if (!EncodeBlocks(encoder, a, first, num_blocks, out)) std::memset(out, 0xEE, 1);
        });
  } else {
    // Only the report is specified: every target must find the non-finite values.
    std::vector<std::uint8_t> codes(num_blocks * block_bytes);
    testers::ForEachTarget([&](const std::string& target) {
      if (EncodeBlocks(encoder, a, 0, num_blocks, codes.data())) {
        testers::ReportFailure("EncodeBlocks missed a non-finite value on target " + target);
      }
      if (EncodeBlocks(encoder, a, first, num_blocks, codes.data()) != finite_from_first) {
        testers::ReportFailure(
            "the finiteness report of EncodeBlocks (sub-range) differs on target " + target);
      }
    });
  }

  // The scan reads codes in the packed layout, with code 0 past N rows and in the codebook after
  // an odd C, and tables that are zero for that codebook (the testers' generator); codes and
  // tables are misaligned by one byte on purpose.
  const std::uint8_t pattern_byte = input.Byte();
  const testers::Tables tables = pattern_byte % 4 == 1   ? testers::Tables::kZero
                                 : pattern_byte % 4 == 2 ? testers::Tables::kFull
                                                         : testers::Tables::kRandom;
  const bool pair_tables = (pattern_byte & 4) != 0 && num_codebooks <= 2;
  testers::ScanInputs inputs(
      rows, num_codebooks, outputs, aggregation, tables, [&input] { return input.Byte(); },
      [&input] {
        const float scale = input.FiniteFloat();
        return std::make_pair(scale, input.FiniteFloat());
      });
  // The pair tables of C <= 2 (lut.h), when the input asks for them.
  if (pair_tables) inputs.UsePairTables();
  const ScanArgs& args = inputs.args;
  const std::uint8_t* codes = inputs.codes;
  const std::vector<float>& scale = inputs.scale;
  const std::vector<float>& offset = inputs.offset;
  ScanArgs sub_args = args;
  sub_args.packed_codes = codes + first * block_bytes;

  // Each scan against its reference on all blocks, then on blocks [first, end) with the codes
  // given from block `first`; outputs `stride` apart (rows, or columns for column-major output).
  using RawScan = void (*)(const ScanArgs&, std::size_t, std::size_t, std::uint16_t*, std::size_t);
  using FloatScan = void (*)(const ScanArgs&, const float*, const float*, std::size_t, std::size_t,
                             float*, std::size_t);
  const auto compare_raw = [&](const std::string& name, RawScan reference, RawScan kernel,
                               std::size_t size, std::size_t stride) {
    for (const bool sub_range : {false, true}) {
      const ScanArgs& call_args = sub_range ? sub_args : args;
      const std::size_t begin = sub_range ? first : 0;
      Compare<std::uint16_t>(
          (name + (sub_range ? " (sub-range)" : "")).c_str(), size, 0xBEEF,
          [&](std::uint16_t* out) { reference(call_args, begin, num_blocks, out, stride); },
          [&](std::uint16_t* out) { kernel(call_args, begin, num_blocks, out, stride); });
    }
  };
  const auto compare_float = [&](const std::string& name, FloatScan reference, FloatScan kernel,
                                 std::size_t size, std::size_t stride) {
    for (const bool sub_range : {false, true}) {
      const ScanArgs& call_args = sub_range ? sub_args : args;
      const std::size_t begin = sub_range ? first : 0;
      Compare<float>(
          (name + (sub_range ? " (sub-range)" : "")).c_str(), size, -12345.0f,
          [&](float* out) {
            reference(call_args, scale.data(), offset.data(), begin, num_blocks, out, stride);
          },
          [&](float* out) {
            kernel(call_args, scale.data(), offset.data(), begin, num_blocks, out, stride);
          });
    }
  };
  const std::size_t stride = outputs + input.Range(0, 3);
  const std::size_t out_size = rows * stride + 4;  // a tail that the scan must not touch
  compare_raw("ScanBlocks", ScanRef, ScanBlocks, out_size, stride);
  compare_float("ScanDequantizeBlocks", ScanDequantizeRef, ScanDequantizeBlocks, out_size, stride);

  // Column-major output: output m of row n at m * out_col_stride + n.
  const std::size_t out_col_stride = rows + input.Range(0, 3);
  const std::size_t out_col_size = outputs * out_col_stride + 4;
  compare_raw("ScanColumns", ScanColumnsRef, ScanColumns, out_col_size, out_col_stride);
  compare_float("ScanDequantizeColumns", ScanDequantizeColumnsRef, ScanDequantizeColumns,
                out_col_size, out_col_stride);
  if (aggregation == Aggregation::kAveraging && num_codebooks <= kMaxGroupSize) {
    Compare<std::uint8_t>(
        "ScanColumns8", out_col_size, 0xA5,
        [&](std::uint8_t* out) { ScanColumns8Ref(args, 0, num_blocks, out, out_col_stride); },
        [&](std::uint8_t* out) { ScanColumns8(args, 0, num_blocks, out, out_col_stride); });
  }
}

}  // namespace
}  // namespace maddness::detail

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Ask the CPU before any SetSupportedTargetsForTest (src/common/targets.h).
  static const bool ready = !maddness::detail::RunnableSimdTargets().empty();
  if (!ready) std::abort();
  maddness::fuzz::FuzzInput input(data, size);
  maddness::detail::Run(input);
  return 0;
}
