// The testers of the SIMD kernels and the generator of their inputs (kernel_testers.h).
#include "tests/testers/kernel_testers.h"

#include <hwy/targets.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <sstream>
#include <tuple>
#include <utility>

#include "src/common/layout.h"
#include "src/common/targets.h"
#include "src/encode/encode.h"
#include "src/lut/lut.h"

namespace maddness::detail::testers {
namespace {

FailureHooks& Hooks() {
  static FailureHooks hooks{[](const std::string& message) {
                              std::fprintf(stderr, "kernel tester: %s\n", message.c_str());
                              std::abort();
                            },
                            [] { return false; }};
  return hooks;
}

}  // namespace

void SetFailureHooks(FailureHooks hooks) { Hooks() = std::move(hooks); }

void ReportFailure(const std::string& message) { Hooks().report(message); }

void ForEachTarget(const std::function<void(const std::string&)>& fn) {
  // Both kernel families must run the target asked for; false (after a report) when not.
  const auto dispatches_to = [](const std::string& name) {
    for (const auto& [family, target] : {std::make_pair("encode", EncodeKernelTarget()),
                                         std::make_pair("scan", ScanKernelTarget())}) {
      if (SimdTargetName(target) != name) {
        ReportFailure(std::string(family) + " dispatch runs " + SimdTargetName(target) +
                      ", not the forced target " + name);
        return false;
      }
    }
    return true;
  };
  const char* forced = std::getenv("MADDNESS_TARGET");
  if (forced != nullptr && *forced != '\0') {
    const std::string name = SimdTargetName(ParseSimdTargetName(forced));
    if (dispatches_to(name)) fn(name);
    return;
  }
  const std::vector<std::int64_t> targets = RunnableSimdTargets();
  if (targets.empty()) {
    ReportFailure("this CPU runs none of the compiled SIMD targets");
    return;
  }
  for (const std::int64_t target : targets) {
    hwy::SetSupportedTargetsForTest(target);
    const std::string name = SimdTargetName(target);
    const bool dispatched = dispatches_to(name);
    if (dispatched) fn(name);
    hwy::SetSupportedTargetsForTest(0);
    if (!dispatched || Hooks().should_stop()) return;
  }
}

void FillPackedCodes(std::size_t rows, int codebooks, const NextBits& next, std::uint8_t* codes) {
  const std::size_t pairs = static_cast<std::size_t>(CodePairs(codebooks));
  const std::size_t num_blocks = NumBlocks(rows);
  for (std::size_t b = 0; b < num_blocks; ++b) {
    for (std::size_t j = 0; j < pairs; ++j) {
      for (std::size_t r = 0; r < kBlockRows; ++r) {
        std::uint8_t byte = static_cast<std::uint8_t>(next());
        if (2 * j + 1 == static_cast<std::size_t>(codebooks)) byte &= 0x0F;
        if (b * kBlockRows + r >= rows) byte = 0;
        codes[PackedByteOffset(b * kBlockRows + r, j, pairs)] = byte;
      }
    }
  }
}

ScanArgs MakeScanArgs(const std::uint8_t* codes, std::size_t rows, int codebooks,
                      const std::uint8_t* luts, std::size_t outputs, Aggregation aggregation) {
  ScanArgs args;
  args.packed_codes = codes;
  args.num_rows = rows;
  args.num_codebooks = codebooks;
  args.luts = luts;
  args.output_dim = outputs;
  args.aggregation = aggregation;
  return args;
}

const char* Name(Tables tables) {
  switch (tables) {
    case Tables::kRandom:
      return "random";
    case Tables::kZero:
      return "all-0";
    default:
      return "all-255";
  }
}

void FillTables(std::size_t outputs, int codebooks, Tables tables, const NextBits& next,
                std::uint8_t* luts) {
  const std::size_t table_bytes = TableBytesPerOutput(codebooks);
  for (std::size_t m = 0; m < outputs; ++m) {
    for (std::size_t i = 0; i < table_bytes; ++i) {
      std::uint8_t value = tables == Tables::kZero   ? 0
                           : tables == Tables::kFull ? 255
                                                     : static_cast<std::uint8_t>(next());
      if (i >= static_cast<std::size_t>(codebooks) * 16) value = 0;  // odd C: zero table
      luts[m * table_bytes + i] = value;
    }
  }
}

ScanInputs::ScanInputs(std::size_t rows, int codebooks, std::size_t outputs,
                       Aggregation aggregation, Tables tables, const NextBits& next_bits,
                       const std::function<std::pair<float, float>()>& next_scale_offset)
    : codes_storage(PackedCodesBytes(rows, codebooks) + 1),
      luts_storage(outputs * TableBytesPerOutput(codebooks) + 1),
      scale(outputs),
      offset(outputs) {
  codes = codes_storage.data() + 1;
  luts = luts_storage.data() + 1;
  FillPackedCodes(rows, codebooks, next_bits, codes);
  FillTables(outputs, codebooks, tables, next_bits, luts);
  for (std::size_t m = 0; m < outputs; ++m) {
    std::tie(scale[m], offset[m]) = next_scale_offset();
  }
  args = MakeScanArgs(codes, rows, codebooks, luts, outputs, aggregation);
}

bool ScanInputs::UsePairTables() {
  pair.output_dim = args.output_dim;
  pair.aggregation = args.aggregation;
  pair.luts.assign(luts, luts + args.output_dim * TableBytesPerOutput(args.num_codebooks));
  pair.out_scale = scale;
  pair.out_offset = offset;
  BuildPairTables(args.num_codebooks, &pair);
  if (pair.pair_raw.empty()) return false;
  args.pair_raw = PairRaw(pair);
  args.pair_outputs = PairOutputs(pair);
  return true;
}

std::size_t FirstDifference(const void* expected, const void* actual, std::size_t element_bytes,
                            std::size_t size) {
  const auto* expected_bytes = static_cast<const std::uint8_t*>(expected);
  const auto* actual_bytes = static_cast<const std::uint8_t*>(actual);
  for (std::size_t i = 0; i < size; ++i) {
    if (std::memcmp(expected_bytes + i * element_bytes, actual_bytes + i * element_bytes,
                    element_bytes) != 0) {
      return i;
    }
  }
  return size;
}

// ------------------------------------------------------------------------------------------------
// Encode

const char* Name(Layout layout) {
  switch (layout) {
    case Layout::kRowMajor:
      return "row-major";
    case Layout::kColMajor:
      return "col-major";
    default:
      return "strided";
  }
}

const char* Name(Values values) {
  switch (values) {
    case Values::kRandom:
      return "random";
    case Values::kBoundaries:
      return "boundaries";
    case Values::kSaturating:
      return "saturating";
    case Values::kNearTies:
      return "near-ties";
    default:
      return "signed-scales";
  }
}

void EncodeTester::Test() const {
  std::mt19937_64 generator(seed_);
  const Encoder encoder = MakeEncoder(generator);
  std::vector<float> storage;
  const MatrixView a = MakeInput(encoder, generator, &storage);
  const std::size_t num_blocks = NumBlocks(rows_);
  const std::size_t block_bytes = static_cast<std::size_t>(CodePairs(codebooks_)) * kBlockRows;
  AlignedVector<std::uint8_t> expected(num_blocks * block_bytes, 0xAB);
  EncodeRef(encoder, a, 0, num_blocks, expected.data());
  ForEachTarget([&](const std::string& target) {
    // All blocks at once, then a sub-range written at an offset (block_begin > 0).
    // The input is finite where the encoder reads (NaN elsewhere): the check must pass.
    AlignedVector<std::uint8_t> actual(num_blocks * block_bytes, 0xCD);
    if (!EncodeBlocks(encoder, a, 0, num_blocks, actual.data())) {
      ReportFailure("target " + target +
                    ", encode all blocks: EncodeBlocks reported non-finite inputs");
    }
    Compare(target, "all blocks", expected.data(), actual.data(), expected.size());
    if (num_blocks >= 2) {
      std::vector<std::uint8_t> part((num_blocks - 1) * block_bytes, 0xCD);
      if (!EncodeBlocks(encoder, a, 1, num_blocks, part.data())) {
        ReportFailure("target " + target +
                      ", encode blocks [1, end): EncodeBlocks reported non-finite inputs");
      }
      Compare(target, "blocks [1, end)", expected.data() + block_bytes, part.data(), part.size());
    }
  });
}

void UniformThresholds(std::mt19937_64& generator, int spread, SplitLevel& split) {
  for (std::int8_t& threshold : split.thresholds) {
    threshold = static_cast<std::int8_t>(static_cast<int>(generator() % (2 * spread)) - spread);
  }
}

Encoder EncodeTester::MakeEncoder(std::mt19937_64& generator) const {
  return BuildEncoder(dim_, codebooks_, [&](std::size_t, SplitLevel& split) {
    split.dim = static_cast<std::uint32_t>(generator() % dim_);
    if (values_ == Values::kBoundaries) {
      // Power-of-two scale and half-integer offsets: inputs hit ties exactly.
      split.scale = std::ldexp(1.0f, static_cast<int>(generator() % 7) - 2);
      split.offset = static_cast<float>(static_cast<int>(generator() % 61) - 30) * 0.5f;
    } else {
      std::uniform_real_distribution<float> scale(0.05f, 300.0f);
      std::uniform_real_distribution<float> offset(-200.0f, 200.0f);
      split.scale = scale(generator);
      split.offset = offset(generator);
      if (values_ == Values::kSignedScales && generator() % 3 == 0) {
        split.scale = generator() % 2 == 0 ? -split.scale : 0.0f;
      }
    }
    for (std::int8_t& threshold : split.thresholds) {
      const int pick = static_cast<int>(generator() % 8);
      threshold = pick == 0   ? std::int8_t{-128}
                  : pick == 1 ? std::int8_t{127}
                  : pick == 2 ? std::int8_t{126}
                  : pick == 3 ? std::int8_t{-127}
                              : static_cast<std::int8_t>(static_cast<int>(generator() % 256) - 128);
    }
  });
}

float EncodeTester::Value(const SplitLevel& split, std::mt19937_64& generator) const {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  switch (values_) {
    case Values::kRandom:
      return normal(generator) * 2.0f;
    case Values::kBoundaries: {
      // x * scale + offset equal to a threshold T, T + 0.5 (a tie), T - 0.5, or T +- 1.
      const int node = static_cast<int>(generator() % 16);
      const float threshold = static_cast<float>(split.thresholds[node]);
      static const float kShifts[] = {0.0f, 0.5f, -0.5f, 1.0f, -1.0f, 1.5f, -1.5f};
      const float target = threshold + kShifts[generator() % 7];
      return (target - split.offset) / split.scale;  // exact: power-of-two scale
    }
    case Values::kNearTies: {
      // x*scale+offset rounds near T + 0.5 or T - 0.5 for a node's threshold T.
      const int node = static_cast<int>(generator() % 16);
      const double target = split.thresholds[node] + (generator() % 2 == 0 ? 0.5 : -0.5);
      float x = static_cast<float>((target - split.offset) / split.scale);
      const int steps = static_cast<int>(generator() % 7) - 3;
      for (int i = 0; i < std::abs(steps); ++i) {
        x = std::nextafter(x, steps > 0 ? std::numeric_limits<float>::infinity()
                                        : -std::numeric_limits<float>::infinity());
      }
      return x;
    }
    case Values::kSaturating: {
      // With the largest finite magnitude and the smallest subnormal: finite values whose
      // exponent fields are the largest and the smallest (the finiteness check must pass).
      static const float kHuge[] = {1e30f,
                                    -1e30f,
                                    3e38f,
                                    -3e38f,
                                    1e5f,
                                    -1e5f,
                                    0.0f,
                                    -0.0f,
                                    std::numeric_limits<float>::max(),
                                    -std::numeric_limits<float>::max(),
                                    std::numeric_limits<float>::denorm_min(),
                                    -std::numeric_limits<float>::denorm_min()};
      return kHuge[generator() % (sizeof(kHuge) / sizeof(kHuge[0]))];
    }
    default:
      return normal(generator) * 2.0f;
  }
}

MatrixView EncodeTester::MakeInput(const Encoder& encoder, std::mt19937_64& generator,
                                   std::vector<float>* storage) const {
  // Which split reads each column (for boundary values), the last one wins.
  std::vector<const SplitLevel*> reader(dim_, nullptr);
  for (const SplitLevel& split : encoder.splits) reader[split.dim] = &split;
  std::ptrdiff_t row_stride = 0;
  std::ptrdiff_t col_stride = 0;
  std::size_t size = 0;
  switch (layout_) {
    case Layout::kRowMajor:
      row_stride = static_cast<std::ptrdiff_t>(dim_ + padding_);
      col_stride = 1;
      size = rows_ * (dim_ + padding_);
      break;
    case Layout::kColMajor:
      row_stride = 1;
      col_stride = static_cast<std::ptrdiff_t>(rows_ + padding_);
      size = dim_ * (rows_ + padding_);
      break;
    case Layout::kStrided:
      row_stride = 2;
      col_stride = static_cast<std::ptrdiff_t>(2 * rows_ + 1);
      size = dim_ * (2 * rows_ + 1);
      break;
  }
  // Padding holds NaN: the kernels must not read it.
  storage->assign(size + 1, std::numeric_limits<float>::quiet_NaN());
  // Start one float past a 64-byte boundary: misaligned rows and columns.
  float* data = storage->data() + 1;
  for (std::size_t r = 0; r < rows_; ++r) {
    for (std::size_t c = 0; c < dim_; ++c) {
      const SplitLevel* split = reader[c];
      // Columns no split reads hold NaN too: the kernels must not read (or check) them.
      const float value =
          split != nullptr ? Value(*split, generator) : std::numeric_limits<float>::quiet_NaN();
      data[static_cast<std::ptrdiff_t>(r) * row_stride +
           static_cast<std::ptrdiff_t>(c) * col_stride] = value;
    }
  }
  return MatrixView{data, rows_, dim_, row_stride, col_stride};
}

void EncodeTester::Compare(const std::string& target, const char* what,
                           const std::uint8_t* expected, const std::uint8_t* actual,
                           std::size_t size) const {
  for (std::size_t i = 0; i < size; ++i) {
    if (expected[i] != actual[i]) {
      const std::size_t block_bytes = static_cast<std::size_t>(CodePairs(codebooks_)) * kBlockRows;
      std::ostringstream message;
      message << "target " << target << ", encode " << what << ": N=" << rows_ << " D=" << dim_
              << " C=" << codebooks_ << " " << Name(layout_) << " (padding " << padding_
              << ") values " << Name(values_) << " seed " << seed_ << ": byte " << i << " (block "
              << i / block_bytes << ", pair " << (i % block_bytes) / kBlockRows << ", row "
              << i % kBlockRows << ") expected " << int{expected[i]} << " actual "
              << int{actual[i]};
      ReportFailure(message.str());
      return;
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Scan

void ScanTester::Test() const {
  std::mt19937_64 generator(seed_);
  std::uniform_real_distribution<float> uniform(-3.0f, 3.0f);
  ScanInputs inputs(rows_, codebooks_, outputs_, aggregation_, tables_, std::ref(generator), [&] {
    const float scale = uniform(generator);
    return std::make_pair(scale, uniform(generator) * 100.0f);
  });
  if (pair_tables_ && !inputs.UsePairTables()) {
    ReportFailure(Case("-", "pair tables") + ": BuildPairTables built none");
    return;
  }
  TestLayout(false, inputs.args, inputs.scale, inputs.offset);
  TestLayout(true, inputs.args, inputs.scale, inputs.offset);
}

void ScanTester::TestLayout(bool col_major, const ScanArgs& args, const std::vector<float>& scale,
                            const std::vector<float>& offset) const {
  using RawScan = void (*)(const ScanArgs&, std::size_t, std::size_t, std::uint16_t*, std::size_t);
  using FloatScan = void (*)(const ScanArgs&, const float*, const float*, std::size_t, std::size_t,
                             float*, std::size_t);
  const RawScan scan_raw = col_major ? ScanColumns : ScanBlocks;
  const RawScan scan_raw_ref = col_major ? ScanColumnsRef : ScanRef;
  const FloatScan scan_float = col_major ? ScanDequantizeColumns : ScanDequantizeBlocks;
  const FloatScan scan_float_ref = col_major ? ScanDequantizeColumnsRef : ScanDequantizeRef;
  const std::string raw_name = col_major ? "raw column-major" : "raw";
  const std::string float_name = col_major ? "f32 column-major" : "f32";
  const std::size_t num_blocks = NumBlocks(rows_);
  const std::size_t pairs = static_cast<std::size_t>(CodePairs(codebooks_));
  const std::size_t stride = (col_major ? rows_ : outputs_) + padding_;
  const std::size_t written = (col_major ? outputs_ : rows_) * stride;
  const std::size_t size = written + padding_ + 7;  // a tail the scan must not touch
  std::vector<std::uint16_t> raw_expected(size, 0xBEEF);
  scan_raw_ref(args, 0, num_blocks, raw_expected.data(), stride);
  std::vector<float> float_expected(size, -12345.0f);
  scan_float_ref(args, scale.data(), offset.data(), 0, num_blocks, float_expected.data(), stride);
  ForEachTarget([&](const std::string& target) {
    std::vector<std::uint16_t> raw(size, 0xBEEF);
    scan_raw(args, 0, num_blocks, raw.data(), stride);
    CompareRaw(target, (raw_name + ", all blocks").c_str(), raw_expected, raw, stride, col_major);
    std::vector<float> out(size, -12345.0f);
    scan_float(args, scale.data(), offset.data(), 0, num_blocks, out.data(), stride);
    CompareFloat(target, (float_name + ", all blocks").c_str(), float_expected, out, stride,
                 col_major);
    if (col_major && args.aggregation == Aggregation::kAveraging && codebooks_ <= kMaxGroupSize) {
      // 8-bit raw sums: the low bytes of the 16-bit ones (which are below 256 here).
      std::vector<std::uint8_t> raw8(size, 0xA5);
      ScanColumns8(args, 0, num_blocks, raw8.data(), stride);
      std::vector<std::uint8_t> raw8_expected(size, 0xA5);
      ScanColumns8Ref(args, 0, num_blocks, raw8_expected.data(), stride);
      for (std::size_t i = 0; i < size; ++i) {
        const bool in_output = i < written && i % stride < rows_;
        if (raw8_expected[i] != (in_output ? raw_expected[i] : 0xA5) ||
            raw8[i] != raw8_expected[i]) {
          std::ostringstream message;
          message << Case(target, "raw 8-bit column-major") << ": index " << i << " (row "
                  << i % stride << ", output " << i / stride << ") expected "
                  << int{raw8_expected[i]} << " (16-bit " << raw_expected[i] << ") actual "
                  << int{raw8[i]};
          ReportFailure(message.str());
          break;
        }
      }
    }
    if (num_blocks >= 3) {
      // Two calls, on [1, end) and then on [0, 1) (so that a write of the second call past
      // its rows would show), codes given from the first block of each range.
      ScanArgs rest = args;
      rest.packed_codes = args.packed_codes + pairs * kBlockRows;
      std::vector<std::uint16_t> split_raw(size, 0xBEEF);
      scan_raw(rest, 1, num_blocks, split_raw.data(), stride);
      scan_raw(args, 0, 1, split_raw.data(), stride);
      CompareRaw(target, (raw_name + ", blocks [1, end) + [0, 1)").c_str(), raw_expected, split_raw,
                 stride, col_major);
      std::vector<float> split_out(size, -12345.0f);
      scan_float(rest, scale.data(), offset.data(), 1, num_blocks, split_out.data(), stride);
      scan_float(args, scale.data(), offset.data(), 0, 1, split_out.data(), stride);
      CompareFloat(target, (float_name + ", blocks [1, end) + [0, 1)").c_str(), float_expected,
                   split_out, stride, col_major);
    }
  });
}

std::string ScanTester::Case(const std::string& target, const char* what) const {
  std::ostringstream text;
  text << "target " << target << ", scan " << what << ": N=" << rows_ << " C=" << codebooks_
       << " M=" << outputs_ << " "
       << (aggregation_ == Aggregation::kExactSum ? "exact-sum" : "averaging") << " tables "
       << Name(tables_) << " stride padding " << padding_ << " seed " << seed_
       << (pair_tables_ ? " with pair tables" : "");
  return text.str();
}

void ScanTester::CompareRaw(const std::string& target, const char* what,
                            const std::vector<std::uint16_t>& expected,
                            const std::vector<std::uint16_t>& actual, std::size_t stride,
                            bool col_major) const {
  for (std::size_t i = 0; i < expected.size(); ++i) {
    if (expected[i] != actual[i]) {
      std::ostringstream message;
      message << Case(target, what) << ": index " << i << " (row "
              << (col_major ? i % stride : i / stride) << ", output "
              << (col_major ? i / stride : i % stride) << ") expected " << expected[i] << " actual "
              << actual[i];
      ReportFailure(message.str());
      return;
    }
  }
}

void ScanTester::CompareFloat(const std::string& target, const char* what,
                              const std::vector<float>& expected, const std::vector<float>& actual,
                              std::size_t stride, bool col_major) const {
  for (std::size_t i = 0; i < expected.size(); ++i) {
    if (std::memcmp(&expected[i], &actual[i], sizeof(float)) != 0) {
      std::ostringstream message;
      message << Case(target, what) << ": index " << i << " (row "
              << (col_major ? i % stride : i / stride) << ", output "
              << (col_major ? i / stride : i % stride) << ") expected " << expected[i] << " actual "
              << actual[i];
      ReportFailure(message.str());
      return;
    }
  }
}

}  // namespace maddness::detail::testers
