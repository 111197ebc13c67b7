// The names of the public enums' values (maddness.h: Name and Parse) and the checks of single
// options, shared by the library and every front end.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "maddness/maddness.h"
#include "src/common/check.h"

namespace maddness {
namespace {

// The values of one enum with their names, in the order the rule lists them.
template <typename Enum>
struct NamedValue {
  Enum value;
  const char* name;
};

// "'a', 'b' or 'c'".
template <typename Enum, std::size_t N>
std::string Alternatives(const NamedValue<Enum> (&values)[N]) {
  std::string text;
  for (std::size_t i = 0; i < N; ++i) {
    if (i > 0) text += i + 1 == N ? " or " : ", ";
    text += std::string("'") + values[i].name + "'";
  }
  return text;
}

template <typename Enum, std::size_t N>
const char* NameOf(const NamedValue<Enum> (&values)[N], Enum value) {
  for (const NamedValue<Enum>& named : values) {
    if (named.value == value) return named.name;
  }
  return "unknown";
}

// '-' and '_' are the same in names: "per-output" and "per_output" (Python's spelling) alike.
template <typename Enum, std::size_t N>
Enum ParseName(const NamedValue<Enum> (&values)[N], const std::string& text,
               const std::string& option) {
  std::string normalized = text;
  std::replace(normalized.begin(), normalized.end(), '_', '-');
  for (const NamedValue<Enum>& named : values) {
    if (normalized == named.name) return named.value;
  }
  detail::Fail(option, " is '", text, "'; it must be ", Alternatives(values));
}

constexpr NamedValue<Variant> kVariants[] = {{Variant::kMaddness, "maddness"},
                                             {Variant::kPq, "pq"}};
constexpr NamedValue<Aggregation> kAggregations[] = {{Aggregation::kAveraging, "average"},
                                                     {Aggregation::kExactSum, "exact"}};
constexpr NamedValue<Objective> kObjectives[] = {
    {Objective::kInput, "input"}, {Objective::kProduct, "product"}, {Objective::kAuto, "auto"}};
constexpr NamedValue<TableScale> kTableScales[] = {{TableScale::kGlobal, "global"},
                                                   {TableScale::kPerOutput, "per-output"},
                                                   {TableScale::kAuto, "auto"}};
constexpr NamedValue<ColumnGrouping> kGroupings[] = {{ColumnGrouping::kContiguous, "contiguous"},
                                                     {ColumnGrouping::kSearch, "search"}};
constexpr NamedValue<OutputLayout> kOutputLayouts[] = {{OutputLayout::kRowMajor, "row"},
                                                       {OutputLayout::kColMajor, "col"}};

}  // namespace

const char* Name(Variant value) { return NameOf(kVariants, value); }
const char* Name(Aggregation value) { return NameOf(kAggregations, value); }
const char* Name(Objective value) { return NameOf(kObjectives, value); }
const char* Name(TableScale value) { return NameOf(kTableScales, value); }
const char* Name(ColumnGrouping value) { return NameOf(kGroupings, value); }
const char* Name(OutputLayout value) { return NameOf(kOutputLayouts, value); }

template <>
Variant Parse<Variant>(const std::string& text, const std::string& option) {
  return ParseName(kVariants, text, option);
}
template <>
Aggregation Parse<Aggregation>(const std::string& text, const std::string& option) {
  return ParseName(kAggregations, text, option);
}
template <>
Objective Parse<Objective>(const std::string& text, const std::string& option) {
  return ParseName(kObjectives, text, option);
}
template <>
TableScale Parse<TableScale>(const std::string& text, const std::string& option) {
  return ParseName(kTableScales, text, option);
}
template <>
ColumnGrouping Parse<ColumnGrouping>(const std::string& text, const std::string& option) {
  return ParseName(kGroupings, text, option);
}
template <>
OutputLayout Parse<OutputLayout>(const std::string& text, const std::string& option) {
  return ParseName(kOutputLayouts, text, option);
}

void CheckNumCodebooks(long long value, std::size_t input_dim, const std::string& option) {
  if (input_dim == 0) {
    if (value < 1 || value > kMaxCodebooks) {
      detail::Fail(option, " is ", value, "; it must be between 1 and ", kMaxCodebooks);
    }
    return;
  }
  if (value < 1 || value > kMaxCodebooks || static_cast<unsigned long long>(value) > input_dim) {
    detail::Fail(option, " is ", value, "; it must be between 1 and min(D, ", kMaxCodebooks,
                 ") where A_train has D = ", input_dim, " columns");
  }
}

void CheckThreads(long long value, const std::string& option) {
  if (value < 0) detail::Fail(option, " is ", value, "; it must be >= 0 (0 = all cores)");
}

void CheckLabels(const std::int64_t* labels, std::size_t count, std::size_t num_rows,
                 const std::string& rows_owner, std::size_t num_outputs,
                 const std::string& option) {
  if (count != num_rows) {
    detail::Fail(option, " has ", count, " labels but ", rows_owner, " has ", num_rows,
                 " rows; there must be one label per row of ", rows_owner);
  }
  for (std::size_t i = 0; i < count; ++i) {
    if (labels[i] < 0 || static_cast<std::uint64_t>(labels[i]) >= num_outputs) {
      detail::Fail(option, ": entry [", i, "] is ", labels[i], "; labels must be in [0, M) = [0, ",
                   num_outputs, "), M the number of columns of B");
    }
  }
}

}  // namespace maddness
