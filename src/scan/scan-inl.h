// SIMD scan to row-major output, written once with Highway and compiled for every target by
// scan.cc. This file is the driver (ScanPlan, ScanImpl and the entry points); each concern has
// its own file:
//   scan_tuning-inl.h    the per-target tuning knobs (scan_tuning.h: the cache-size budgets)
//   scan_lookup-inl.h    steps 1 and 2: unpacked codes, lookups and averaging into the stage
//   scan_transpose-inl.h the transposes of step 3
//   scan_rows-inl.h      step 3: sinks, tile writers, a block's rows into the output
//   scan_stream-inl.h    streaming stores of large outputs
//   scan_compact-inl.h   the compact output of small M
//   scan_pair-inl.h      the pair tables of C <= 2 (no lookups)
//
// Contract: the same outputs as ScanRef / ScanDequantizeRef (scan.h), bit for bit.
//
// Structure, for the blocks given to one call (64 rows each):
//   for each chunk of up to 8 blocks (its codes, split into nibbles, fit in L1):
//     1. unpack the packed codes of the chunk to one byte per code, [block][pair][low | high],
//        once per chunk for all outputs, so that the per-output loop does no masking;
//     2. for each tile of 16 outputs, for each output, for each group of codebooks:
//          the group's tables stay in registers (16-byte tables broadcast to every 128-bit block)
//          while the chunk's rows stream through: one TableLookupBytes per (codebook, N rows) and
//          the averaging tree with AverageRound, or the exact 16-bit sum. Results go to a stage
//          buffer [output][row]: uint8 when the output is one group root, otherwise uint16.
//     3. transpose the stage, 16 outputs x 16 rows per 128-bit block (byte interleaves; 8 x 8 for
//        uint16; 8 outputs x 16 rows for uint8 when the tile has at most 8 outputs), then convert
//        each row's outputs (raw uint16, or float with a separate multiply and add) and store
//        them in the row-major output. Rows >= num_rows are not written.
//        Large outputs go through two per-chunk buffers and streaming stores instead
//        (UseStreamingStores): a chunk's rows are streamed out in slices while the next chunk is
//        computed (PendingStream). Small M with rows exactly M values apart (UseCompactOutput):
//        the transposed sums go to a per-chunk buffer of rows M sums apart instead, which is then
//        converted as one flat array with whole vectors only (the scales and offsets of
//        lcm(M, vector width) values in registers when that is 1, 3, 5 or 7 vectors).
//
// Padding codebooks of the averaging tree (index >= C) are zero vectors, without lookups.
// The 16-bit stage keeps the rows of each N-row vector as [even rows | odd rows], which is what
// widening the bytes in place (mask and shift of 16-bit lanes) gives; step 3 knows that order.
#if defined(MADDNESS_SRC_SCAN_SCAN_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MADDNESS_SRC_SCAN_SCAN_INL_H_
#undef MADDNESS_SRC_SCAN_SCAN_INL_H_
#else
#define MADDNESS_SRC_SCAN_SCAN_INL_H_
#endif

#include <hwy/cache_control.h>
#include <hwy/highway.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "src/common/aligned.h"
#include "src/common/layout.h"
#include "src/scan/scan.h"
#include "src/scan/scan_compact-inl.h"
#include "src/scan/scan_lookup-inl.h"
#include "src/scan/scan_pair-inl.h"
#include "src/scan/scan_rows-inl.h"
#include "src/scan/scan_stream-inl.h"
#include "src/scan/scan_tuning-inl.h"
#include "src/scan/scan_tuning.h"

HWY_BEFORE_NAMESPACE();
namespace maddness::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET == HWY_SCALAR || HWY_TARGET == HWY_EMU128 || HWY_HAVE_SCALABLE

// One-lane (or sizeless) targets: the scalar references are the implementation.
inline void ScanBlocksImpl(const ScanArgs& args, std::size_t block_begin, std::size_t block_end,
                           std::uint16_t* raw, std::size_t raw_row_stride) {
  ScanRef(args, block_begin, block_end, raw, raw_row_stride);
}
inline void ScanDequantizeBlocksImpl(const ScanArgs& args, const float* out_scale,
                                     const float* out_offset, std::size_t block_begin,
                                     std::size_t block_end, float* out,
                                     std::size_t out_row_stride) {
  ScanDequantizeRef(args, out_scale, out_offset, block_begin, block_end, out, out_row_stride);
}

#else

// How a scan groups its codebook pairs and how many blocks a chunk holds; the same for every
// output of a call.
struct ScanPlan {
  std::size_t pairs_per_group = 0;
  std::size_t num_groups = 0;
  bool odd = false;             // C is odd: the last pair has no high codebook
  bool exact = false;           // Aggregation::kExactSum
  bool wide = false;            // 16-bit sums (exact, or more than one averaging group)
  std::size_t chunk_limit = 1;  // blocks per chunk (their unpacked codes fit the nibble budget)
};

inline ScanPlan MakeScanPlan(const ScanArgs& args) {
  const int num_codebooks = args.num_codebooks;
  const std::size_t pairs = static_cast<std::size_t>(CodePairs(num_codebooks));
  ScanPlan plan;
  plan.odd = num_codebooks % 2 != 0;
  plan.exact = args.aggregation == Aggregation::kExactSum;
  plan.wide = plan.exact || num_codebooks > kMaxGroupSize;
  if (plan.exact) {
    plan.pairs_per_group = 1;
    const std::size_t max_pairs = kFewRegisters ? 4 : kMaxGroupSize / 2;
    while (plan.pairs_per_group < std::min(pairs, max_pairs)) plan.pairs_per_group *= 2;
    plan.num_groups = (pairs + plan.pairs_per_group - 1) / plan.pairs_per_group;
  } else {
    plan.pairs_per_group = static_cast<std::size_t>(GroupSize(num_codebooks)) / 2;
    plan.num_groups = static_cast<std::size_t>(PaddedCodebooks(num_codebooks)) /
                      static_cast<std::size_t>(GroupSize(num_codebooks));
  }
  const std::size_t block_stride = pairs * kPairBytes;
  plan.chunk_limit = std::max<std::size_t>(
      1, std::min(kMaxChunkBlocks, MachineScanBudgets().nibble_bytes / block_stride));
  return plan;
}

// Step 2 for one output: the sums of the chunk's rows (num_blocks blocks of unpacked codes at
// `nibbles`) into `stage`: uint8 roots, or 16-bit sums in [even rows | odd rows] order per
// N-row vector when plan.wide. `luts` are the output's tables.
inline void ScanOutputStage(const ScanArgs& args, const ScanPlan& plan, const std::uint8_t* luts,
                            const std::uint8_t* nibbles, std::size_t num_blocks,
                            std::uint16_t* stage) {
  const std::size_t pairs = static_cast<std::size_t>(CodePairs(args.num_codebooks));
  const std::size_t block_stride = pairs * kPairBytes;
  for (std::size_t g = 0; g < plan.num_groups; ++g) {
    const std::size_t first_pair = g * plan.pairs_per_group;
    const std::size_t real_pairs =
        first_pair < pairs ? std::min(plan.pairs_per_group, pairs - first_pair) : 0;
    const bool last_high = !(plan.odd && first_pair + real_pairs == pairs);
    const std::uint8_t* tables = luts + first_pair * 32;
    const std::uint8_t* group_nibbles = nibbles + first_pair * kPairBytes;
    if (plan.exact) {
      ScanGroupDispatch<StageMode::kExact16>(plan.pairs_per_group, tables, real_pairs, last_high,
                                             group_nibbles, block_stride, num_blocks, g == 0,
                                             stage);
    } else if (plan.wide) {
      ScanGroupDispatch<StageMode::kRoots16>(plan.pairs_per_group, tables, real_pairs, last_high,
                                             group_nibbles, block_stride, num_blocks, g == 0,
                                             stage);
    } else {
      ScanGroupDispatch<StageMode::kRoot8>(plan.pairs_per_group, tables, real_pairs, last_high,
                                           group_nibbles, block_stride, num_blocks, g == 0, stage);
    }
  }
}

template <class Sink>
HWY_INLINE void ScanImpl(const ScanArgs& args, std::size_t block_begin, std::size_t block_end,
                         const Sink& sink) {
  const ScanPlan plan = MakeScanPlan(args);
  const int num_codebooks = args.num_codebooks;
  const std::size_t pairs = static_cast<std::size_t>(CodePairs(num_codebooks));
  const bool wide = plan.wide;
  const std::size_t table_bytes = TableBytesPerOutput(num_codebooks);
  const std::size_t chunk_limit = plan.chunk_limit;
  const std::size_t last_block = std::min(block_end, NumBlocks(args.num_rows));
  // Rows that may be written with whole vectors (see the tile writers): all but the last row
  // this call writes, when rows are exactly M >= 16 values apart.
  const bool whole_rows = sink.row_stride == args.output_dim && args.output_dim >= kOutputTile;
  const std::size_t whole_end = whole_rows && last_block > block_begin
                                    ? std::min(args.num_rows, last_block * kBlockRows) - 1
                                    : 0;

  ScanScratch scratch;
  using Out = std::remove_pointer_t<decltype(sink.Data())>;
  const bool stream = sink.stream;
  const bool compact = UseCompactOutput(args, sink.row_stride, sizeof(Out));
  std::uint16_t* compact_sums = nullptr;
  CompactParams params;
  if (compact) {
    thread_local AlignedVector<std::uint16_t> buffer;  // reused: no allocation per call
    buffer.resize(chunk_limit * kBlockRows * args.output_dim + kCompactSlack);
    compact_sums = buffer.data();
    FillCompactParams(sink, args.output_dim, &params);
  }
  // Streamed output (not compact): two chunk buffers, one being written while the other is
  // streamed out (PendingStream), a step after each output's lookups and each block's writes.
  Out* stream_buffers[2] = {nullptr, nullptr};
  PendingStream<Out> pending;
  const std::size_t num_tiles = (args.output_dim + kOutputTile - 1) / kOutputTile;
  if (stream && !compact) {
    thread_local AlignedVector<Out> buffer;  // reused: a fresh one would cost page faults
    const std::size_t buffer_values = chunk_limit * kBlockRows * args.output_dim;
    buffer.resize(2 * buffer_values);
    stream_buffers[0] = buffer.data();
    stream_buffers[1] = buffer.data() + buffer_values;
  }
  std::size_t chunk_index = 0;
  for (std::size_t chunk = block_begin; chunk < last_block; chunk += chunk_limit, ++chunk_index) {
    const std::size_t num_blocks = std::min(chunk_limit, last_block - chunk);
    Out* stream_buffer = stream_buffers[chunk_index % 2];
    const std::size_t chunk_rows = num_blocks * kBlockRows;
    UnpackCodes(args.packed_codes + (chunk - block_begin) * pairs * kBlockRows, pairs, num_blocks,
                scratch.nibbles);

    const std::size_t local_rows = std::min(chunk_rows, args.num_rows - chunk * kBlockRows);
    // Tiles from the last to the first (see the compact output).
    for (std::size_t tile = (args.output_dim + kOutputTile - 1) / kOutputTile; tile-- > 0;) {
      const std::size_t m0 = tile * kOutputTile;
      const std::size_t count = std::min(kOutputTile, args.output_dim - m0);
      for (std::size_t i = 0; i < count; ++i) {
        const std::uint8_t* luts = args.luts + (m0 + i) * table_bytes;
        std::uint16_t* stage =
            wide ? scratch.stage + i * chunk_rows
                 : reinterpret_cast<std::uint16_t*>(reinterpret_cast<std::uint8_t*>(scratch.stage) +
                                                    i * chunk_rows);
        ScanOutputStage(args, plan, luts, scratch.nibbles, num_blocks, stage);
        pending.Step();
      }
      // Outputs past M in a partial tile: defined (zero) stage rows, never written out. Step 3
      // reads only 8 stage rows of 8-bit sums when count <= 8.
      const std::size_t element = wide ? 2 : 1;
      const std::size_t read_rows = !wide && count <= 8 ? 8 : kOutputTile;
      if (count < read_rows) {
        std::memset(reinterpret_cast<std::uint8_t*>(scratch.stage) + count * chunk_rows * element,
                    0, (read_rows - count) * chunk_rows * element);
      }
      if (compact) {
        for (std::size_t b = 0; b < num_blocks; ++b) {
          const std::size_t rows = std::min(kBlockRows, local_rows - b * kBlockRows);
          if (wide) {
            CompactBlock(scratch.stage, chunk_rows, b, count, b * kBlockRows, rows, args.output_dim,
                         m0, compact_sums);
          } else {
            CompactBlock(scratch.stage, chunk_rows, b, count, b * kBlockRows, rows, args.output_dim,
                         m0, reinterpret_cast<std::uint8_t*>(compact_sums));
          }
        }
        continue;
      }
      if (stream) {
        // Rows of the chunk, relative to its first row, into the buffer.
        const auto writer = TileWriter(sink.Local(stream_buffer, args.output_dim), m0, count,
                                       whole_rows ? local_rows - 1 : 0);
        for (std::size_t b = 0; b < num_blocks; ++b) {
          WriteBlock(wide, scratch.stage, chunk_rows, b, count, b * kBlockRows, local_rows,
                     scratch.transposed, writer);
          pending.Step();
        }
        continue;
      }
      const auto writer = TileWriter(sink, m0, count, whole_end);
      for (std::size_t b = 0; b < num_blocks; ++b) {
        WriteBlock(wide, scratch.stage, chunk_rows, b, count, (chunk + b) * kBlockRows,
                   args.num_rows, scratch.transposed, writer);
      }
    }
    Out* chunk_out = sink.Data() + chunk * kBlockRows * args.output_dim;
    if (compact) {
      const std::size_t total = local_rows * args.output_dim;
      if (wide) {
        ConvertCompact(compact_sums, total, params.period, params.cycle, params.scale,
                       params.offset, stream, chunk_out);
      } else {
        ConvertCompact(reinterpret_cast<const std::uint8_t*>(compact_sums), total, params.period,
                       params.cycle, params.scale, params.offset, stream, chunk_out);
      }
    } else if (stream) {
      // The previous chunk's rest, then this chunk's rows, during the next chunk (steps: one
      // per output and one per tile and block).
      pending.Finish();
      pending.Start(stream_buffer, chunk_out, local_rows * args.output_dim,
                    args.output_dim + num_tiles * chunk_limit);
    }
  }
  pending.Finish();
  if (stream) hwy::FlushStream();
}

inline void ScanBlocksImpl(const ScanArgs& args, std::size_t block_begin, std::size_t block_end,
                           std::uint16_t* raw, std::size_t raw_row_stride) {
  const bool stream = UseStreamingStores(args, raw_row_stride, sizeof(std::uint16_t));
  if (args.pair_raw != nullptr && args.num_codebooks <= 2 && !stream) {
    ScanPairTable(args, args.pair_raw, block_begin, block_end, raw, raw_row_stride);
    return;
  }
  ScanImpl(args, block_begin, block_end, RawSink{raw, raw_row_stride, stream});
}

inline void ScanDequantizeBlocksImpl(const ScanArgs& args, const float* out_scale,
                                     const float* out_offset, std::size_t block_begin,
                                     std::size_t block_end, float* out,
                                     std::size_t out_row_stride) {
  const bool stream = UseStreamingStores(args, out_row_stride, sizeof(float));
  if (args.pair_outputs != nullptr && args.num_codebooks <= 2 && !stream) {
    ScanPairTable(args, args.pair_outputs, block_begin, block_end, out, out_row_stride);
    return;
  }
  ScanImpl(args, block_begin, block_end,
           FloatSink{out, out_row_stride, out_scale, out_offset, stream});
}

#endif  // HWY_TARGET

// The target this code was compiled for (reported by ScanKernelTarget).
inline std::int64_t ScanTargetImpl() { return HWY_TARGET; }

}  // namespace HWY_NAMESPACE
}  // namespace maddness::detail
HWY_AFTER_NAMESPACE();

#endif  // include guard
