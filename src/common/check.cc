#include "src/common/check.h"

#include <cmath>
#include <cstdlib>
#include <limits>

#include "src/common/layout.h"

namespace maddness::detail {

void CheckMatrixView(const MatrixView& view, const char* name) {
  if (view.rows == 0) Fail(name, " has 0 rows; it needs at least 1");
  if (view.cols == 0) Fail(name, " has 0 columns; it needs at least 1");
  if (view.cols > kMaxDim) {
    Fail(name, " has ", view.cols, " columns; at most ", kMaxDim, " are supported");
  }
  if (view.data == nullptr) Fail(name, " has a null data pointer");
  // The farthest element must be addressable without overflowing ptrdiff_t.
  const auto limit = static_cast<unsigned long long>(std::numeric_limits<std::ptrdiff_t>::max());
  const unsigned long long row_span =
      static_cast<unsigned long long>(std::llabs(view.row_stride)) * (view.rows - 1);
  const unsigned long long col_span =
      static_cast<unsigned long long>(std::llabs(view.col_stride)) * (view.cols - 1);
  if ((view.rows > 1 && row_span / (view.rows - 1) !=
                            static_cast<unsigned long long>(std::llabs(view.row_stride))) ||
      row_span > limit / 2 || col_span > limit / 2) {
    Fail(name, " with ", view.rows, " rows, ", view.cols, " columns, row stride ", view.row_stride,
         " and column stride ", view.col_stride, " is too large to address");
  }
}

void CheckFinite(const MatrixView& view, const char* name) {
  for (std::size_t r = 0; r < view.rows; ++r) {
    for (std::size_t c = 0; c < view.cols; ++c) {
      const float value = view(r, c);
      if (!std::isfinite(value)) {
        Fail(name, "[", r, ", ", c, "] is ", value, "; NaN and infinite values are not accepted");
      }
    }
  }
}

bool RowsFit(std::size_t rows, std::size_t per_row) {
  return per_row == 0 || rows <= kMaxElements / per_row - kBlockRows;
}

void CheckRowsFit(const char* name, std::size_t rows, std::size_t per_row, const char* unit) {
  if (!RowsFit(rows, per_row)) {
    Fail(name, " has ", rows, " rows of ", per_row, " ", unit, "; more than ", kMaxElements, " ",
         unit, " in all cannot be addressed");
  }
}

}  // namespace maddness::detail
