// Errors. A caller's mistake throws maddness::Error with a message that names the argument, its
// value and the rule it breaks. A broken internal invariant is MADDNESS_DCHECK (debug builds).
#ifndef MADDNESS_SRC_COMMON_CHECK_H_
#define MADDNESS_SRC_COMMON_CHECK_H_

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <utility>

#include "maddness/maddness.h"

namespace maddness::detail {

// Concatenates the arguments with operator<< into one string.
template <typename... Parts>
std::string StrCat(Parts&&... parts) {
  std::ostringstream stream;
  (stream << ... << std::forward<Parts>(parts));
  return stream.str();
}

template <typename... Parts>
[[noreturn]] void Fail(Parts&&... parts) {
  throw Error(StrCat(std::forward<Parts>(parts)...));
}

// Throws unless `view` is a usable matrix: non-null data, rows and cols within limits, strides
// that do not overflow. `name` is how the user knows the argument ("A_train", "B").
void CheckMatrixView(const MatrixView& view, const char* name);

// Throws when `view` holds a NaN or an infinity, naming the first such entry.
void CheckFinite(const MatrixView& view, const char* name);

// The most elements (of up to 8 bytes) that one array of the library may hold or address; with
// a margin of a 64-row block, so that rounding rows up to whole blocks cannot overflow either.
inline constexpr std::size_t kMaxElements = static_cast<std::size_t>(PTRDIFF_MAX) / 8;

// Whether `rows` rows of `per_row` elements each stay within kMaxElements. A view with row stride
// 0 may claim any number of rows without holding them, so shapes are checked, not memory.
bool RowsFit(std::size_t rows, std::size_t per_row);

// Throws unless RowsFit(rows, per_row); `name` is the argument, `unit` what a row holds.
void CheckRowsFit(const char* name, std::size_t rows, std::size_t per_row, const char* unit);

}  // namespace maddness::detail

#define MADDNESS_DCHECK(condition) assert(condition)

#endif  // MADDNESS_SRC_COMMON_CHECK_H_
