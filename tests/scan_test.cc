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

TEST(ScanKernels, MatchReferenceOnEveryTarget) {
  std::uint64_t seed = 1000;
  for (const std::size_t rows : kRowCounts) {
    for (const int codebooks : kCodebookCounts) {
      for (const std::size_t outputs : kOutputCounts) {
        if (rows > 100 && codebooks * outputs > 64 * 16) continue;  // keeps the test quick
        for (const Aggregation aggregation : {Aggregation::kAveraging, Aggregation::kExactSum}) {
          ScanTester()
              .rows(rows)
              .codebooks(codebooks)
              .outputs(outputs)
              .aggregation(aggregation)
              .stride_padding(outputs % 2)
              .seed(++seed)
              .Test();
          if (HasFailure()) return;
        }
      }
    }
  }
}

TEST(ScanKernels, ExtremeTables) {
  for (const int codebooks : kCodebookCounts) {
    for (const Tables tables : {Tables::kZero, Tables::kFull}) {
      for (const Aggregation aggregation : {Aggregation::kAveraging, Aggregation::kExactSum}) {
        ScanTester()
            .rows(200)
            .codebooks(codebooks)
            .outputs(17)
            .aggregation(aggregation)
            .tables(tables)
            .stride_padding(5)
            .Test();
        if (HasFailure()) return;
      }
    }
  }
}

TEST(ScanKernels, LargeShapes) {
  ScanTester().rows(1000 + 11).codebooks(256).outputs(33).seed(3).Test();
  ScanTester()
      .rows(1000 + 11)
      .codebooks(256)
      .outputs(7)
      .aggregation(Aggregation::kExactSum)
      .seed(4)
      .Test();
  ScanTester().rows(4096 + 100).codebooks(16).outputs(100).seed(5).Test();
  ScanTester().rows(4096 + 100).codebooks(100).outputs(16).stride_padding(3).seed(6).Test();
}

// Outputs of at least ScanBudgets::stream_min_bytes with rows of exactly M values (M * 512 values
// within max_stream_buffer_bytes; 1 MiB and 256 KiB with a 2 MiB L2, scan_tuning.h) are assembled
// per chunk and written with streaming stores (scan_stream-inl.h, UseStreamingStores): raw and
// float, a partial last chunk, odd M (rows that start off vector alignment), the 8-bit and 16-bit
// stages, a partial output tile, and float streamed while raw is not.
TEST(ScanKernels, StreamedOutput) {
  ScanTester().rows(8192 + 37).codebooks(2).outputs(128).seed(21).Test();
  ScanTester()
      .rows(16384 + 3)
      .codebooks(1)
      .outputs(65)
      .aggregation(Aggregation::kExactSum)
      .seed(22)
      .Test();
  ScanTester().rows(2048 + 5).codebooks(16).outputs(128).seed(23).Test();
  // Ordinary stores at the same sizes: a row stride other than M, and (float only) M > 128.
  ScanTester().rows(8192 + 37).codebooks(1).outputs(128).stride_padding(1).seed(24).Test();
  ScanTester().rows(5000 + 3).codebooks(1).outputs(210).seed(25).Test();
}

// Rows of exactly M values with small M go through the compact output (scan_compact-inl.h,
// UseCompactOutput: float32 for M < 32 not a multiple of kRowFloatLanes, 8 on AVX2 and
// AVX-512; raw for M < 16): the sums of a chunk are gathered into rows M apart and converted as
// one flat array. Sweeps M on both sides of those limits, every stage (8-bit root, 16-bit roots,
// exact sum), partial blocks and chunks, and (last) outputs large enough for streaming stores.
TEST(ScanKernels, CompactOutput) {
  std::uint64_t seed = 3000;
  for (const std::size_t rows : {1, 31, 63, 65, 511, 513, 1000 + 37}) {
    for (const int codebooks : {1, 2, 3, 8, 16, 17, 33}) {
      for (const std::size_t outputs : {1, 3, 5, 7, 8, 10, 14, 15, 17, 20, 24, 28, 31, 33, 67}) {
        if (rows > 100 && codebooks > 16 && outputs > 10) continue;  // keeps the test quick
        for (const Aggregation aggregation : {Aggregation::kAveraging, Aggregation::kExactSum}) {
          ScanTester()
              .rows(rows)
              .codebooks(codebooks)
              .outputs(outputs)
              .aggregation(aggregation)
              .seed(++seed)
              .Test();
          if (HasFailure()) return;
        }
      }
    }
  }
  ScanTester().rows(50000 + 7).codebooks(2).outputs(5).seed(++seed).Test();
  // Streamed, with the scales and offsets of a cycle in registers (cycles of 5 and 7 vectors).
  ScanTester().rows(30000 + 13).codebooks(2).outputs(10).seed(++seed).Test();
  ScanTester().rows(40000 + 3).codebooks(16).outputs(7).seed(++seed).Test();
  ScanTester()
      .rows(40000 + 9)
      .codebooks(17)
      .outputs(15)
      .aggregation(Aggregation::kExactSum)
      .seed(++seed)
      .Test();
}

// With C <= 2 the model gives the scan pair tables (lut.h, BuildPairTables), and the SIMD scans
// copy each row's outputs from them: M on both sides of the vector widths (rows shorter than a
// vector: one vector per row past which the next rows write, value by value in the last rows of
// a call, and with a row stride above M 128-bit vectors or values), every aggregation, extreme
// tables, and
// sub-ranges of blocks (the split [1, end) + [0, 1) puts a call's last rows mid-output).
TEST(ScanKernels, PairTables) {
  std::uint64_t seed = 5000;
  for (const std::size_t rows : {1, 2, 63, 65, 200, 1000 + 3}) {
    for (const int codebooks : {1, 2}) {
      for (const std::size_t outputs :
           {1, 2, 3, 4, 5, 7, 8, 9, 10, 15, 16, 17, 24, 31, 32, 33, 67, 256}) {
        for (const std::size_t padding : {0, 3}) {
          for (const Aggregation aggregation : {Aggregation::kAveraging, Aggregation::kExactSum}) {
            ScanTester()
                .rows(rows)
                .codebooks(codebooks)
                .outputs(outputs)
                .aggregation(aggregation)
                .stride_padding(padding)
                .pair_tables(true)
                .seed(++seed)
                .Test();
            if (HasFailure()) return;
          }
        }
      }
    }
  }
  for (const Tables tables : {Tables::kZero, Tables::kFull}) {
    ScanTester().rows(300).codebooks(2).outputs(10).tables(tables).pair_tables(true).Test();
  }
  // An output large enough to be streamed: the scan does so without the pair tables.
  ScanTester().rows(30000 + 13).codebooks(2).outputs(10).pair_tables(true).seed(++seed).Test();
}

}  // namespace
}  // namespace maddness::detail
