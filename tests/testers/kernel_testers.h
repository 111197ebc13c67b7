// Testers of the SIMD kernels (EncodeBlocks, the scans) against the scalar references, bit for bit,
// on every SIMD target compiled into the library that this CPU can run, and the generator of the
// packed codes and tables they scan. Shared by the unit tests (tests/encode_test.cc,
// tests/scan_test.cc) and the differential fuzz target (fuzz/kernels_diff_fuzz.cc); no GoogleTest
// here: failures go to the hook of SetFailureHooks.
//
// Testers in the XNNPACK style: a builder sets one case (shapes, layout, value pattern, seed);
// Test() runs the reference once and the kernel on each target, and a failure names the target,
// the case, the first differing index, the expected and the actual value.
#ifndef MADDNESS_TESTS_TESTERS_KERNEL_TESTERS_H_
#define MADDNESS_TESTS_TESTERS_KERNEL_TESTERS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "maddness/maddness.h"
#include "src/common/aligned.h"
#include "src/common/model_data.h"
#include "src/scan/scan.h"

namespace maddness::detail::testers {

// Where the testers send a failure (a message naming the case), and whether the caller wants them
// to stop after the current target. By default a failure is printed to stderr and aborts (what a
// fuzz target wants); the unit tests route failures to GoogleTest (tests/testers/gtest_hooks.cc).
struct FailureHooks {
  std::function<void(const std::string& message)> report;
  std::function<bool()> should_stop;
};
void SetFailureHooks(FailureHooks hooks);
void ReportFailure(const std::string& message);

// Runs fn(target name) once per runnable target, with Highway's dispatch forced to that target,
// and checks that both kernel families really dispatch to it. When MADDNESS_TARGET is set, runs
// only that target (the variable already restricts the dispatch).
void ForEachTarget(const std::function<void(const std::string&)>& fn);

// A source of random bits: a seeded std::mt19937_64 in the tests, the bytes of the input in a
// fuzz target.
using NextBits = std::function<std::uint64_t()>;

// Fills the packed codes of `rows` rows and `codebooks` codebooks (layout.h) with the low byte of
// next() each: every code 0..15, except code 0 in the codebook after an odd C and in the rows
// past N of the last block, as the encoder writes them.
void FillPackedCodes(std::size_t rows, int codebooks, const NextBits& next, std::uint8_t* codes);

// The arguments of a scan of the packed codes of `rows` rows and `codebooks` codebooks with the
// tables of `outputs` outputs (no pair tables).
ScanArgs MakeScanArgs(const std::uint8_t* codes, std::size_t rows, int codebooks,
                      const std::uint8_t* luts, std::size_t outputs,
                      Aggregation aggregation = Aggregation::kAveraging);

// Quantized tables: random bytes (the low byte of next()), all 0 or all 255.
enum class Tables { kRandom, kZero, kFull };
const char* Name(Tables tables);

// Fills `outputs` tables of TableBytesPerOutput(codebooks) bytes each; the table of the codebook
// after an odd C is 0, as the model stores it.
void FillTables(std::size_t outputs, int codebooks, Tables tables, const NextBits& next,
                std::uint8_t* luts);

// The inputs of one scan: packed codes and tables, each one byte past a 64-byte boundary
// (misaligned loads), the scales and offsets of the dequantizing scans, and (with C <= 2, when
// asked) the pair tables of BuildPairTables. `args` points into this object: not copyable.
struct ScanInputs {
  ScanInputs(std::size_t rows, int codebooks, std::size_t outputs, Aggregation aggregation,
             Tables tables, const NextBits& next_bits,
             const std::function<std::pair<float, float>()>& next_scale_offset);
  ScanInputs(const ScanInputs&) = delete;
  ScanInputs& operator=(const ScanInputs&) = delete;

  // Builds the pair tables of the tables, scales and offsets and gives them to `args`; false when
  // BuildPairTables built none.
  bool UsePairTables();

  AlignedVector<std::uint8_t> codes_storage;
  AlignedVector<std::uint8_t> luts_storage;
  std::uint8_t* codes = nullptr;
  std::uint8_t* luts = nullptr;
  std::vector<float> scale;
  std::vector<float> offset;
  maddness::detail::Tables pair;
  ScanArgs args;
};

// Index of the first element where `expected` and `actual` differ in their bits, or `size`.
std::size_t FirstDifference(const void* expected, const void* actual, std::size_t element_bytes,
                            std::size_t size);

// ------------------------------------------------------------------------------------------------
// Encode

// An encoder of `codebooks` trees on `dim` columns whose splits (codebook by codebook, level by
// level: index c * kTreeDepth + t) are set in that order by set_split(index, split); the caller
// chooses how their values are drawn.
template <typename SetSplit>
Encoder BuildEncoder(std::size_t dim, int codebooks, SetSplit set_split) {
  Encoder encoder;
  encoder.input_dim = dim;
  encoder.num_codebooks = codebooks;
  encoder.splits.resize(static_cast<std::size_t>(codebooks) * kTreeDepth);
  for (std::size_t index = 0; index < encoder.splits.size(); ++index) {
    set_split(index, encoder.splits[index]);
  }
  return encoder;
}

// Sets every threshold of `split` uniform in [-spread, spread), one draw of `generator` each.
void UniformThresholds(std::mt19937_64& generator, int spread, SplitLevel& split);

enum class Layout { kRowMajor, kColMajor, kStrided };
enum class Values {
  kRandom,      // Gaussian inputs, random scales and offsets
  kBoundaries,  // inputs that quantize exactly onto thresholds and onto the .5 ties around them
  kSaturating,  // huge inputs (including ones whose x * scale overflows to infinity)
  kNearTies,    // random scales; inputs within a few ulps of the real x where x*scale+offset = T+.5
  kSignedScales,  // random inputs, and scales that are negative or zero for some splits
};
const char* Name(Layout layout);
const char* Name(Values values);

class EncodeTester {
 public:
  EncodeTester& rows(std::size_t rows) {
    rows_ = rows;
    return *this;
  }
  EncodeTester& dim(std::size_t dim) {
    dim_ = dim;
    return *this;
  }
  EncodeTester& codebooks(int codebooks) {
    codebooks_ = codebooks;
    return *this;
  }
  EncodeTester& layout(Layout layout) {
    layout_ = layout;
    return *this;
  }
  // Extra elements between rows (row-major) or columns (column-major): odd strides.
  EncodeTester& stride_padding(std::size_t padding) {
    padding_ = padding;
    return *this;
  }
  EncodeTester& values(Values values) {
    values_ = values;
    return *this;
  }
  EncodeTester& seed(std::uint64_t seed) {
    seed_ = seed;
    return *this;
  }

  void Test() const;

 private:
  Encoder MakeEncoder(std::mt19937_64& generator) const;
  // One input value for a column that `split` reads.
  float Value(const SplitLevel& split, std::mt19937_64& generator) const;
  MatrixView MakeInput(const Encoder& encoder, std::mt19937_64& generator,
                       std::vector<float>* storage) const;
  void Compare(const std::string& target, const char* what, const std::uint8_t* expected,
               const std::uint8_t* actual, std::size_t size) const;

  std::size_t rows_ = 64;
  std::size_t dim_ = 32;
  int codebooks_ = 4;
  Layout layout_ = Layout::kRowMajor;
  std::size_t padding_ = 0;
  Values values_ = Values::kRandom;
  std::uint64_t seed_ = 1;
};

// ------------------------------------------------------------------------------------------------
// Scan

class ScanTester {
 public:
  ScanTester& rows(std::size_t rows) {
    rows_ = rows;
    return *this;
  }
  ScanTester& codebooks(int codebooks) {
    codebooks_ = codebooks;
    return *this;
  }
  ScanTester& outputs(std::size_t outputs) {
    outputs_ = outputs;
    return *this;
  }
  ScanTester& aggregation(Aggregation aggregation) {
    aggregation_ = aggregation;
    return *this;
  }
  ScanTester& tables(Tables tables) {
    tables_ = tables;
    return *this;
  }
  // Extra elements at the end of each output row.
  ScanTester& stride_padding(std::size_t padding) {
    padding_ = padding;
    return *this;
  }
  ScanTester& seed(std::uint64_t seed) {
    seed_ = seed;
    return *this;
  }
  // Gives the kernels the pair tables (BuildPairTables) of the case's tables and scales.
  ScanTester& pair_tables(bool pair_tables) {
    pair_tables_ = pair_tables;
    return *this;
  }

  void Test() const;

 private:
  // The scans of one output layout (row-major: output m of row n at n * stride + m; column-major:
  // at m * stride + n) against their references: all blocks at once, and blocks [1, end) then
  // [0, 1).
  void TestLayout(bool col_major, const ScanArgs& args, const std::vector<float>& scale,
                  const std::vector<float>& offset) const;
  std::string Case(const std::string& target, const char* what) const;
  void CompareRaw(const std::string& target, const char* what,
                  const std::vector<std::uint16_t>& expected,
                  const std::vector<std::uint16_t>& actual, std::size_t stride,
                  bool col_major = false) const;
  void CompareFloat(const std::string& target, const char* what, const std::vector<float>& expected,
                    const std::vector<float>& actual, std::size_t stride,
                    bool col_major = false) const;

  std::size_t rows_ = 64;
  int codebooks_ = 16;
  std::size_t outputs_ = 1;
  Aggregation aggregation_ = Aggregation::kAveraging;
  Tables tables_ = Tables::kRandom;
  bool pair_tables_ = false;
  std::size_t padding_ = 0;
  std::uint64_t seed_ = 1;
};

// The shapes the tests sweep.
inline constexpr std::size_t kRowCounts[] = {1, 31, 63, 64, 65, 1000 + 37};
inline constexpr int kCodebookCounts[] = {1, 2, 3, 4, 5, 8, 15, 16, 17, 31, 32, 33, 64, 100, 256};
// Outputs: every tail of the column kernel's tiles (8, 4, 2, 1) and of the row-major tile of 16.
inline constexpr std::size_t kOutputCounts[] = {1, 2, 3, 7, 15, 16, 33};

}  // namespace maddness::detail::testers

#endif  // MADDNESS_TESTS_TESTERS_KERNEL_TESTERS_H_
