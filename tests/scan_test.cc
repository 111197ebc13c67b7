// The scans (ScanBlocks, ScanDequantizeBlocks and the column-major ones) against their scalar
// references, bit for bit, on every SIMD target compiled into the library that this CPU can run
// (the testers are in tests/testers/kernel_testers.h).
#include <gtest/gtest.h>

#include <cstdint>

#include "maddness/maddness.h"
#include "tests/testers/kernel_testers.h"

namespace maddness::detail {
namespace {

using testers::kCodebookCounts;
using testers::kOutputCounts;
using testers::kRowCounts;
using testers::ScanTester;
using testers::Tables;

constexpr Aggregation kAggregations[] = {Aggregation::kAveraging, Aggregation::kExactSum};

// A tester of `rows` rows, `codebooks` codebooks and `outputs` outputs.
ScanTester Shape(std::size_t rows, int codebooks, std::size_t outputs) {
  return ScanTester().rows(rows).codebooks(codebooks).outputs(outputs);
}

// Calls test(rows, codebooks, outputs) for every combination of the lists, nested in that order,
// until a test fails.
template <std::size_t R, std::size_t C, std::size_t O, typename Test>
void ForEachShape(const std::size_t (&rows_list)[R], const int (&codebook_list)[C],
                  const std::size_t (&output_list)[O], Test test) {
  for (const std::size_t rows : rows_list) {
    for (const int codebooks : codebook_list) {
      for (const std::size_t outputs : output_list) {
        test(rows, codebooks, outputs);
        if (::testing::Test::HasFailure()) return;
      }
    }
  }
}

TEST(ScanKernels, MatchReferenceOnEveryTarget) {
  std::uint64_t seed = 1000;
  ForEachShape(kRowCounts, kCodebookCounts, kOutputCounts,
               [&](std::size_t rows, int codebooks, std::size_t outputs) {
                 if (rows > 100 && codebooks * outputs > 64 * 16) return;  // keeps the test quick
                 for (const Aggregation aggregation : kAggregations) {
                   Shape(rows, codebooks, outputs)
                       .aggregation(aggregation)
                       .stride_padding(outputs % 2)
                       .seed(++seed)
                       .Test();
                 }
               });
}

TEST(ScanKernels, ExtremeTables) {
  for (const int codebooks : kCodebookCounts) {
    for (const Tables tables : {Tables::kZero, Tables::kFull}) {
      for (const Aggregation aggregation : kAggregations) {
        Shape(200, codebooks, 17).aggregation(aggregation).tables(tables).stride_padding(5).Test();
        if (HasFailure()) return;
      }
    }
  }
}

TEST(ScanKernels, LargeShapes) {
  Shape(1000 + 11, 256, 33).seed(3).Test();
  Shape(1000 + 11, 256, 7).aggregation(Aggregation::kExactSum).seed(4).Test();
  Shape(4096 + 100, 16, 100).seed(5).Test();
  Shape(4096 + 100, 100, 16).stride_padding(3).seed(6).Test();
}

// Outputs of at least ScanBudgets::stream_min_bytes with rows of exactly M values (M * 512 values
// within max_stream_buffer_bytes; 1 MiB and 256 KiB with a 2 MiB L2, scan_tuning.h) are assembled
// per chunk and written with streaming stores (scan_stream-inl.h, UseStreamingStores): raw and
// float, a partial last chunk, odd M (rows that start off vector alignment), the 8-bit and 16-bit
// stages, a partial output tile, and float streamed while raw is not.
TEST(ScanKernels, StreamedOutput) {
  Shape(8192 + 37, 2, 128).seed(21).Test();
  Shape(16384 + 3, 1, 65).aggregation(Aggregation::kExactSum).seed(22).Test();
  Shape(2048 + 5, 16, 128).seed(23).Test();
  // Ordinary stores at the same sizes: a row stride other than M, and (float only) M > 128.
  Shape(8192 + 37, 1, 128).stride_padding(1).seed(24).Test();
  Shape(5000 + 3, 1, 210).seed(25).Test();
}

// Rows of exactly M values with small M go through the compact output (scan_compact-inl.h,
// UseCompactOutput: float32 for M < 32 not a multiple of kRowFloatLanes, 8 on AVX2 and
// AVX-512; raw for M < 16): the sums of a chunk are gathered into rows M apart and converted as
// one flat array. Sweeps M on both sides of those limits, every stage (8-bit root, 16-bit roots,
// exact sum), partial blocks and chunks, and (last) outputs large enough for streaming stores.
TEST(ScanKernels, CompactOutput) {
  std::uint64_t seed = 3000;
  ForEachShape({1, 31, 63, 65, 511, 513, 1000 + 37}, {1, 2, 3, 8, 16, 17, 33},
               {1, 3, 5, 7, 8, 10, 14, 15, 17, 20, 24, 28, 31, 33, 67},
               [&](std::size_t rows, int codebooks, std::size_t outputs) {
                 if (rows > 100 && codebooks > 16 && outputs > 10) return;  // keeps the test quick
                 for (const Aggregation aggregation : kAggregations) {
                   Shape(rows, codebooks, outputs).aggregation(aggregation).seed(++seed).Test();
                 }
               });
  if (HasFailure()) return;
  Shape(50000 + 7, 2, 5).seed(++seed).Test();
  // Streamed, with the scales and offsets of a cycle in registers (cycles of 5 and 7 vectors).
  Shape(30000 + 13, 2, 10).seed(++seed).Test();
  Shape(40000 + 3, 16, 7).seed(++seed).Test();
  Shape(40000 + 9, 17, 15).aggregation(Aggregation::kExactSum).seed(++seed).Test();
}

// With C <= 2 the model gives the scan pair tables (lut.h, BuildPairTables), and the SIMD scans
// copy each row's outputs from them: M on both sides of the vector widths (rows shorter than a
// vector: one vector per row past which the next rows write, value by value in the last rows of
// a call, and with a row stride above M 128-bit vectors or values), every aggregation, extreme
// tables, and
// sub-ranges of blocks (the split [1, end) + [0, 1) puts a call's last rows mid-output).
TEST(ScanKernels, PairTables) {
  std::uint64_t seed = 5000;
  ForEachShape({1, 2, 63, 65, 200, 1000 + 3}, {1, 2},
               {1, 2, 3, 4, 5, 7, 8, 9, 10, 15, 16, 17, 24, 31, 32, 33, 67, 256},
               [&](std::size_t rows, int codebooks, std::size_t outputs) {
                 for (const std::size_t padding : {0, 3}) {
                   for (const Aggregation aggregation : kAggregations) {
                     Shape(rows, codebooks, outputs)
                         .aggregation(aggregation)
                         .stride_padding(padding)
                         .pair_tables(true)
                         .seed(++seed)
                         .Test();
                   }
                 }
               });
  if (HasFailure()) return;
  for (const Tables tables : {Tables::kZero, Tables::kFull}) {
    Shape(300, 2, 10).tables(tables).pair_tables(true).Test();
  }
  // An output large enough to be streamed: the scan does so without the pair tables.
  Shape(30000 + 13, 2, 10).pair_tables(true).seed(++seed).Test();
}

}  // namespace
}  // namespace maddness::detail
