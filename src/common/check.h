// Errors. A caller's mistake throws maddness::Error with a message that names the argument, its
// value and the rule it breaks. A broken internal invariant is MADDNESS_DCHECK (debug builds).
#ifndef MADDNESS_SRC_COMMON_CHECK_H_
#define MADDNESS_SRC_COMMON_CHECK_H_

#include <cassert>
#include <cstddef>
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

}  // namespace maddness::detail

#define MADDNESS_DCHECK(condition) assert(condition)

#endif  // MADDNESS_SRC_COMMON_CHECK_H_
