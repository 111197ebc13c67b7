// Tuning policy of the SIMD scan, per Highway target: the knobs that depend on the target's
// vector width or register count, each with its reason. The byte budgets that depend on the
// machine's caches are in scan_tuning.h (read at run time); the measurements behind the values
// are in docs/kernels.md ("Tuning policy").
#if defined(MADDNESS_SRC_SCAN_SCAN_TUNING_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MADDNESS_SRC_SCAN_SCAN_TUNING_INL_H_
#undef MADDNESS_SRC_SCAN_SCAN_TUNING_INL_H_
#else
#define MADDNESS_SRC_SCAN_SCAN_TUNING_INL_H_
#endif

#include <hwy/highway.h>

#include <cstddef>

HWY_BEFORE_NAMESPACE();
namespace maddness::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_EMU128 && !HWY_HAVE_SCALABLE

// Outputs transposed together (the row-major scan's tile): one 128-bit block holds 16 bytes, so
// a 16 x 16 byte transpose turns 16 outputs' sums of 16 rows into those rows' 16 outputs.
inline constexpr std::size_t kOutputTile = 16;

// Blocks of 64 rows scanned per load of an output's tables (a chunk, when its unpacked codes fit
// ScanBudgets::nibble_bytes); the stage of a tile of outputs then takes kOutputTile x 8 x 64
// 16-bit sums, 16 KiB.
inline constexpr std::size_t kMaxChunkBlocks = 8;

// Vector registers of the target: 16 on x86 up to AVX2, 32 with AVX-512 (and on Arm NEON/SVE).
#if HWY_ARCH_X86 && HWY_TARGET >= HWY_AVX2
inline constexpr std::size_t kVectorRegisters = 16;
#else
inline constexpr std::size_t kVectorRegisters = 32;
#endif

// With 16 registers the 16 tables of a group of 8 pairs do not fit next to the working values:
// the averaging tree is then computed in two halves of 4 pairs (the first half's subtree roots
// wait in a small buffer), and the exact sum uses groups of 4 pairs (ScanGroupAnyPadding,
// MakeScanPlan).
inline constexpr bool kFewRegisters = kVectorRegisters < 32;

// Float lanes of the row writer's 16-bit path (FloatTileWriter::Row16 converts half a tile at a
// time, at most 8 floats a vector): rows of a multiple of this many float outputs are written
// with whole vectors only, so the compact output (UseCompactOutput) does not pay for them.
inline constexpr std::size_t kRowFloatLanes = hn::MaxLanes(hn::CappedTag<float, kOutputTile / 2>());

// Largest M whose float32 output goes through the compact output (UseCompactOutput): beyond it
// the per-row writes of a row-major tile are mostly whole vectors (docs/kernels.md, "Small M").
inline constexpr std::size_t kCompactMaxOutputs = 31;

// Outputs per tile of the column-major direct kernel (scan_column-inl.h), by output type: each
// code load and split is shared by the tile's outputs. With 16 registers and 8-bit output (the
// roots stored as they are), a tile of 8 halves the code loads and splits per output; wider
// outputs convert each root through several registers and keep the tile of 4, whose tree values
// fit in the registers but for a few spills. The last outputs go in a tile of 4 (after 8), 2,
// then 1 (docs/kernels.md).
template <typename Out>
inline constexpr std::size_t kColumnTile = kFewRegisters && sizeof(Out) == 1 ? 8 : 4;

// Pairs of the column kernel's averaging tree whose codes are split before the tile's outputs
// look them up one output at a time (Subtree in scan_column-inl.h). With 16 registers, 4 pairs'
// indices (8 registers), the first half's roots of a tile of 4 and one output's partial tree fit;
// going depth first over the tile instead keeps 3 partial roots per output live and spills.
// With 32 registers the depth-first order over the tile fits as it is.
inline constexpr std::size_t kColumnSplitPairs = kFewRegisters ? 4 : 1;

// The budgets tied to the cache sizes (chunk sizes, streaming thresholds) are not per target but
// per machine: ScanBudgets (scan_tuning.h), read once at run time.

#endif  // HWY_TARGET

}  // namespace HWY_NAMESPACE
}  // namespace maddness::detail
HWY_AFTER_NAMESPACE();

#endif  // include guard
