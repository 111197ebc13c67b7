// Byte and 16-bit transposes within every 128-bit block, for step 3 of the row-major scan
// (scan-inl.h): the stage holds [output][row], the row-major output needs [row][output].
#if defined(MADDNESS_SRC_SCAN_SCAN_TRANSPOSE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MADDNESS_SRC_SCAN_SCAN_TRANSPOSE_INL_H_
#undef MADDNESS_SRC_SCAN_SCAN_TRANSPOSE_INL_H_
#else
#define MADDNESS_SRC_SCAN_SCAN_TRANSPOSE_INL_H_
#endif

#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace maddness::detail {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_EMU128 && !HWY_HAVE_SCALABLE

// 16 x 16 byte transpose within every 128-bit block: afterwards byte l of block q of rows[k] is
// byte k of block q of the input rows[l]. Each of the four rounds rotates the (vector, byte)
// index bits left by one.
template <class D>
HWY_INLINE void Transpose16x16(D d, hn::Vec<D>* rows) {
  hn::Vec<D> tmp[16];
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 8; ++i) {
      tmp[2 * i] = hn::InterleaveLower(d, rows[i], rows[i + 8]);
      tmp[2 * i + 1] = hn::InterleaveUpper(d, rows[i], rows[i + 8]);
    }
    for (int i = 0; i < 16; ++i) rows[i] = tmp[i];
  }
}

// 8 x 8 transpose of 16-bit lanes within every 128-bit block (three rounds, same scheme).
template <class D>
HWY_INLINE void Transpose8x8(D d, hn::Vec<D>* rows) {
  hn::Vec<D> tmp[8];
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 4; ++i) {
      tmp[2 * i] = hn::InterleaveLower(d, rows[i], rows[i + 4]);
      tmp[2 * i + 1] = hn::InterleaveUpper(d, rows[i], rows[i + 4]);
    }
    for (int i = 0; i < 8; ++i) rows[i] = tmp[i];
  }
}

#endif  // HWY_TARGET

}  // namespace HWY_NAMESPACE
}  // namespace maddness::detail
HWY_AFTER_NAMESPACE();

#endif  // include guard
