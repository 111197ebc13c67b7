// Encoding: rows of A -> packed 4-bit codes (layout.h).
#ifndef MADDNESS_SRC_ENCODE_ENCODE_H_
#define MADDNESS_SRC_ENCODE_ENCODE_H_

#include <cstddef>
#include <cstdint>

#include "maddness/maddness.h"
#include "src/common/model_data.h"

namespace maddness::detail {

// The code (0..15) of `row` of `a` in codebook `codebook`: four levels of
// bit = QuantizeInput(a[row, dim]) > threshold[node]; node = 2 * node + bit (spec 3.2).
int EncodeRowRef(const Encoder& encoder, const MatrixView& a, std::size_t row, int codebook);

// Scalar reference encoder. Writes the packed codes of blocks [block_begin, block_end) of `a`
// (64 rows each, layout.h) into `packed`, which points at the codes of block `block_begin`:
// block b is written at packed + (b - block_begin) * CodePairs(C) * 64. Rows past a.rows get
// code 0.
void EncodeRef(const Encoder& encoder, const MatrixView& a, std::size_t block_begin,
               std::size_t block_end, std::uint8_t* packed);

// Whether the values of `a` that the encoder reads (its split columns, rows of blocks
// [block_begin, block_end) below a.rows) are all finite.
bool SplitColumnsFinite(const Encoder& encoder, const MatrixView& a, std::size_t block_begin,
                        std::size_t block_end);

// How the SIMD encoder walks column-major A (encode-inl.h; the measurements are in
// docs/kernels.md, "Column runs by CPU"). Each codebook reads its four split columns over a run of
// rows before the next codebook starts; a run's columns are read as streams that the hardware
// prefetchers follow, and each new run starts new streams.
enum class ColumnRuns {
  // Runs of up to 16 blocks (1024 rows), shorter when the run's split columns would take more
  // than 256 KiB: fastest on Intel Emerald Rapids.
  kL2Bounded,
  // Runs of up to 256 blocks (16384 rows) whatever the number of columns: on Zen 3, 1.1-1.4x faster
  // at C = 16 and 1.5-1.7x at C = 64, where the bounded runs of 256 rows restart every stream after
  // 1 KiB.
  kLong,
};
// The policy for this CPU: kL2Bounded on Intel, kLong on every other CPU, or the one named by
// the environment variable MADDNESS_COLUMN_RUNS ("l2-bounded" or "long"; any other value is an
// Error naming them). Read once, unless SetColumnRuns chose one.
ColumnRuns MachineColumnRuns();
// From now on, in every thread, encode with `runs` (tests and benchmarks).
void SetColumnRuns(ColumnRuns runs);

// The fastest encoder for this CPU; same contract and same bytes as EncodeRef when every value it
// reads is finite. Returns SplitColumnsFinite(...), checked on the way at almost no cost; when it
// returns false the codes are unspecified (but no behaviour is undefined).
bool EncodeBlocks(const Encoder& encoder, const MatrixView& a, std::size_t block_begin,
                  std::size_t block_end, std::uint8_t* packed);

}  // namespace maddness::detail

#endif  // MADDNESS_SRC_ENCODE_ENCODE_H_
