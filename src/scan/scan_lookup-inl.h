// Stage 1 and 2 of the scan (scan-inl.h): the chunk's codes unpacked to one byte per code, and
// one output's sums for every row of the chunk, looked up group by group with the group's tables
// in registers, into the stage buffer. Shared by the row-major and column-major scans.
#if defined(MADDNESS_SRC_SCAN_SCAN_LOOKUP_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MADDNESS_SRC_SCAN_SCAN_LOOKUP_INL_H_
#undef MADDNESS_SRC_SCAN_SCAN_LOOKUP_INL_H_
#else
#define MADDNESS_SRC_SCAN_SCAN_LOOKUP_INL_H_
#endif

#include <hwy/highway.h>

#include <cstddef>
#include <cstdint>

#include "src/common/layout.h"
#include "src/scan/scan_tuning-inl.h"
#include "src/scan/scan_tuning.h"

HWY_BEFORE_NAMESPACE();
namespace maddness::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_EMU128 && !HWY_HAVE_SCALABLE

// The unpacked codes of one codebook pair of one block: 64 low codes, then 64 high codes.
inline constexpr std::size_t kPairBytes = 2 * kBlockRows;

enum class StageMode {
  kRoot8,    // averaging, one group: the root is the output (uint8)
  kRoots16,  // averaging, several groups: sum of roots (uint16)
  kExact16,  // exact sum (uint16)
};

// Scratch memory of one call. Lives on the stack (about 34 KiB).
struct ScanScratch {
  alignas(64) std::uint8_t nibbles[kMaxNibbleBytes];
  alignas(64) std::uint16_t stage[kOutputTile * kMaxChunkBlocks * kBlockRows];
  alignas(64) std::uint16_t transposed[kOutputTile * kBlockRows];
};

// Broadcast of a 16-byte table to every 128-bit block.
template <class D>
HWY_INLINE hn::Vec<D> LoadTable(D d, const std::uint8_t* table) {
  if constexpr (hn::MaxLanes(D()) <= 16) {
    return hn::LoadU(d, table);
  } else {
    return hn::LoadDup128(d, table);
  }
}

// Adds the 16-bit values (even rows, odd rows) of one N-row vector to the stage, or stores them
// for the first group.
template <class D16>
HWY_INLINE void AccumulateWide(D16 d16, hn::Vec<D16> even, hn::Vec<D16> odd, bool first,
                               std::uint16_t* stage) {
  const std::size_t half = hn::Lanes(d16);
  if (!first) {
    even = hn::Add(even, hn::Load(d16, stage));
    odd = hn::Add(odd, hn::Load(d16, stage + half));
  }
  hn::Store(even, d16, stage);
  hn::Store(odd, d16, stage + half);
}

// Which part of a group's averaging tree ScanGroup computes.
enum class TreePart {
  kWhole,       // the whole group
  kFirstHalf,   // the subtree of the first half of the pairs: roots go to `half_roots`
  kSecondHalf,  // the subtree of the second half, averaged with `half_roots`: the group root
};

// One output, one group of kPairs codebook pairs (or half a group, see TreePart), every row of
// the chunk. tables: the output's tables of the first pair; nibbles: the chunk's unpacked codes
// at the first pair; real_pairs: pairs of the group that exist (the rest are padding);
// last_high: whether the last real pair has a high codebook (false for the last pair of an odd C).
template <std::size_t kPairs, bool kFull, StageMode kMode, TreePart kPart = TreePart::kWhole>
HWY_INLINE void ScanGroup(const std::uint8_t* HWY_RESTRICT tables, std::size_t real_pairs,
                          bool last_high, const std::uint8_t* HWY_RESTRICT nibbles,
                          std::size_t block_stride, std::size_t num_blocks, bool first_group,
                          std::uint16_t* HWY_RESTRICT stage,
                          std::uint8_t* HWY_RESTRICT half_roots = nullptr) {
  const hn::ScalableTag<std::uint8_t> d8;
  const hn::RepartitionToWide<decltype(d8)> d16;
  using V = hn::Vec<decltype(d8)>;
  const std::size_t lanes = hn::Lanes(d8);
  const V zero = hn::Zero(d8);
  V low_tables[kPairs];
  V high_tables[kPairs];
  bool has_low[kPairs];
  bool has_high[kPairs];
  for (std::size_t j = 0; j < kPairs; ++j) {
    has_low[j] = kFull || j < real_pairs;
    has_high[j] = kFull || j + 1 < real_pairs || (j + 1 == real_pairs && last_high);
    low_tables[j] = has_low[j] ? LoadTable(d8, tables + 32 * j) : zero;
    high_tables[j] = has_high[j] ? LoadTable(d8, tables + 32 * j + 16) : zero;
  }
  std::uint8_t* stage8 = reinterpret_cast<std::uint8_t*>(stage);
  for (std::size_t block = 0; block < num_blocks; ++block) {
    const std::uint8_t* block_nibbles = nibbles + block * block_stride;
    for (std::size_t v = 0; v < kBlockRows; v += lanes) {
      const std::uint8_t* nib = block_nibbles + v;
      if constexpr (kMode == StageMode::kExact16) {
        auto sum_all = hn::Zero(d16);  // low byte + 256 * high byte, modulo 2^16
        auto sum_odd = hn::Zero(d16);  // the high bytes (odd rows)
        for (std::size_t j = 0; j < kPairs; ++j) {
          if (has_low[j]) {
            const auto value = hn::BitCast(
                d16, hn::TableLookupBytes(low_tables[j], hn::Load(d8, nib + j * kPairBytes)));
            sum_all = hn::Add(sum_all, value);
            sum_odd = hn::Add(sum_odd, hn::ShiftRight<8>(value));
          }
          if (has_high[j]) {
            const auto value = hn::BitCast(
                d16, hn::TableLookupBytes(high_tables[j],
                                          hn::Load(d8, nib + j * kPairBytes + kBlockRows)));
            sum_all = hn::Add(sum_all, value);
            sum_odd = hn::Add(sum_odd, hn::ShiftRight<8>(value));
          }
        }
        const auto sum_even = hn::Sub(sum_all, hn::ShiftLeft<8>(sum_odd));
        AccumulateWide(d16, sum_even, sum_odd, first_group, stage + block * kBlockRows + v);
      } else {
        V values[kPairs];
        for (std::size_t j = 0; j < kPairs; ++j) {
          if (!has_low[j]) {
            values[j] = zero;  // a padding pair: both codebooks are 0
            continue;
          }
          const V low = hn::TableLookupBytes(low_tables[j], hn::Load(d8, nib + j * kPairBytes));
          const V high = has_high[j]
                             ? hn::TableLookupBytes(high_tables[j],
                                                    hn::Load(d8, nib + j * kPairBytes + kBlockRows))
                             : zero;
          values[j] = hn::AverageRound(low, high);
        }
        // Balanced tree in codebook order: pairs (0,1), (2,3), ... then their pairs, ...
        for (std::size_t width = kPairs; width > 1; width /= 2) {
          for (std::size_t i = 0; i < width / 2; ++i) {
            values[i] = hn::AverageRound(values[2 * i], values[2 * i + 1]);
          }
        }
        if constexpr (kPart == TreePart::kFirstHalf) {
          hn::Store(values[0], d8, half_roots + block * kBlockRows + v);
          continue;
        } else if constexpr (kPart == TreePart::kSecondHalf) {
          values[0] =
              hn::AverageRound(hn::Load(d8, half_roots + block * kBlockRows + v), values[0]);
        }
        if constexpr (kMode == StageMode::kRoot8) {
          hn::Store(values[0], d8, stage8 + block * kBlockRows + v);
        } else {
          const auto root = hn::BitCast(d16, values[0]);
          AccumulateWide(d16, hn::And(root, hn::Set(d16, 0xFF)), hn::ShiftRight<8>(root),
                         first_group, stage + block * kBlockRows + v);
        }
      }
    }
  }
}

template <std::size_t kPairs, StageMode kMode>
HWY_INLINE void ScanGroupAnyPadding(const std::uint8_t* tables, std::size_t real_pairs,
                                    bool last_high, const std::uint8_t* nibbles,
                                    std::size_t block_stride, std::size_t num_blocks,
                                    bool first_group, std::uint16_t* stage) {
  if (real_pairs == kPairs && last_high) {
    if constexpr (kFewRegisters && kPairs == 8 && kMode != StageMode::kExact16) {
      alignas(64) std::uint8_t half_roots[kMaxChunkBlocks * kBlockRows];
      ScanGroup<4, true, kMode, TreePart::kFirstHalf>(tables, 4, true, nibbles, block_stride,
                                                      num_blocks, first_group, stage, half_roots);
      ScanGroup<4, true, kMode, TreePart::kSecondHalf>(tables + 4 * 32, 4, true,
                                                       nibbles + 4 * kPairBytes, block_stride,
                                                       num_blocks, first_group, stage, half_roots);
      return;
    }
    ScanGroup<kPairs, true, kMode>(tables, real_pairs, last_high, nibbles, block_stride, num_blocks,
                                   first_group, stage);
  } else {
    ScanGroup<kPairs, false, kMode>(tables, real_pairs, last_high, nibbles, block_stride,
                                    num_blocks, first_group, stage);
  }
}

template <StageMode kMode>
HWY_INLINE void ScanGroupDispatch(std::size_t pairs_per_group, const std::uint8_t* tables,
                                  std::size_t real_pairs, bool last_high,
                                  const std::uint8_t* nibbles, std::size_t block_stride,
                                  std::size_t num_blocks, bool first_group, std::uint16_t* stage) {
  switch (pairs_per_group) {
    case 1:
      return ScanGroupAnyPadding<1, kMode>(tables, real_pairs, last_high, nibbles, block_stride,
                                           num_blocks, first_group, stage);
    case 2:
      return ScanGroupAnyPadding<2, kMode>(tables, real_pairs, last_high, nibbles, block_stride,
                                           num_blocks, first_group, stage);
    case 4:
      return ScanGroupAnyPadding<4, kMode>(tables, real_pairs, last_high, nibbles, block_stride,
                                           num_blocks, first_group, stage);
    default:
      return ScanGroupAnyPadding<8, kMode>(tables, real_pairs, last_high, nibbles, block_stride,
                                           num_blocks, first_group, stage);
  }
}

// Splits the packed codes of num_blocks blocks into one byte per code (see the header comment).
inline void UnpackCodes(const std::uint8_t* HWY_RESTRICT packed, std::size_t pairs,
                        std::size_t num_blocks, std::uint8_t* HWY_RESTRICT nibbles) {
  const hn::ScalableTag<std::uint8_t> d8;
  const hn::RepartitionToWide<decltype(d8)> d16;
  const auto mask = hn::Set(d8, 0x0F);
  const std::size_t lanes = hn::Lanes(d8);
  for (std::size_t i = 0; i < num_blocks * pairs; ++i) {
    const std::uint8_t* in = packed + i * kBlockRows;
    std::uint8_t* out = nibbles + i * kPairBytes;
    for (std::size_t v = 0; v < kBlockRows; v += lanes) {
      const auto codes = hn::LoadU(d8, in + v);
      hn::Store(hn::And(codes, mask), d8, out + v);
      const auto high = hn::BitCast(d8, hn::ShiftRight<4>(hn::BitCast(d16, codes)));
      hn::Store(hn::And(high, mask), d8, out + kBlockRows + v);
    }
  }
}

#endif  // HWY_TARGET

}  // namespace HWY_NAMESPACE
}  // namespace maddness::detail
HWY_AFTER_NAMESPACE();

#endif  // include guard
