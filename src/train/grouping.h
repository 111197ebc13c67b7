// Which columns each codebook owns (LearnOptions::column_grouping).
#ifndef MADDNESS_SRC_TRAIN_GROUPING_H_
#define MADDNESS_SRC_TRAIN_GROUPING_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "maddness/maddness.h"
#include "src/common/model_data.h"
#include "src/train/train.h"

namespace maddness::detail {

// The candidate column orders tried by ColumnGrouping::kSearch, the identity first: the
// identity, the "transposes" that read a D = p x q layout in the other order (for the smallest
// divisors q of D; an image patch stored pixel by pixel becomes channel by channel), then random
// permutations drawn with `seed`. Each is a permutation of [0, D); the list has at most
// `max_candidates` entries.
std::vector<std::vector<std::uint32_t>> CandidateColumnOrders(std::size_t input_dim,
                                                              std::size_t max_candidates,
                                                              std::uint64_t seed);

// The choices made on held-out rows before learning (ColumnGrouping::kSearch, Objective::kAuto).
struct LearningChoice {
  std::vector<std::uint32_t> order;         // the column order (a permutation of [0, D))
  Objective objective = Objective::kInput;  // kInput or kProduct, never kAuto
};

// Learns small models on three quarters of an evenly spaced subset of the sampled training rows
// `rows` of `a_train` and keeps the choice whose model has the smallest squared error on the
// remaining quarter: the error of the product with B when `b` is given, of the rows of A
// otherwise. With ColumnGrouping::kSearch every candidate column order is tried with the
// objective (kProduct when kAuto and B is given) on at most kSearchRows rows, fewer when D is
// large (about kSearchValues values, at least kMinSearchRows rows); then, for Objective::kAuto
// with B, both objectives are compared with the best order on kSearchRows rows (or the reduced
// search below). Ties keep the earlier candidate. Without a search, or with too few rows
// (kMinFitRows), returns the identity order and the resolved objective (kInput for kAuto when
// nothing could be measured).
inline constexpr std::size_t kSearchRows = 16384;
inline constexpr std::size_t kMinSearchRows = 4096;
inline constexpr std::size_t kSearchValues = std::size_t{1} << 20;
inline constexpr std::size_t kGroupingCandidates = 6;
// The held-out runs fit at most kSearchBudget times as many rows as the final learning run.
// When the full search (every candidate order, then both objectives) would fit more, which
// happens only for small training sets, a reduced search runs instead: MADDNESS-PQ prototypes
// in the held-out runs (each costing about kPqRunCost of a run with ridge prototypes), the
// objective compared on the identity order, then the candidate orders in turn while the budget
// lasts.
inline constexpr double kSearchBudget = 1.5;
inline constexpr double kPqRunCost = 0.5;
// Fewest fitting rows for a meaningful comparison; with fewer, kAuto means kInput.
inline constexpr std::size_t kMinFitRows = 4 * kNumPrototypes;
// Whether `num_rows` sampled training rows with `input_dim` columns are too few for held-out
// choices (fewer than kMinFitRows fitting or kNumPrototypes validating rows in the split that
// compares column orders): then ChooseOrderAndObjective keeps the identity order and kInput, and
// TableScale::kAuto means kGlobal.
bool TooFewRowsToChoose(std::size_t num_rows, std::size_t input_dim);

LearningChoice ChooseOrderAndObjective(const MatrixView& a_train,
                                       const std::vector<std::size_t>& rows, const MatrixView* b,
                                       const LearnOptions& options);

// Rows `rows` of `a` with their columns in `order` (column i of the copy is column order[i]).
TrainingSet PermutedRows(const MatrixView& a, const std::vector<std::size_t>& rows,
                         const std::vector<std::uint32_t>& order);

// B (D x M) with its rows in `order`, row-major; view() is empty when constructed from null.
class PermutedB {
 public:
  PermutedB(const MatrixView* b, const std::vector<std::uint32_t>& order);
  const MatrixView* view() const { return has_b_ ? &view_ : nullptr; }

 private:
  bool has_b_ = false;
  std::vector<float> values_;
  MatrixView view_;
};

// The encoder learned on columns permuted by `order` (column i of the permuted data is column
// order[i] of A), mapped back to A's columns: split columns and prototype columns are renamed,
// and the encoder records the order (empty when it is the identity).
void UnpermuteEncoder(const std::vector<std::uint32_t>& order, Encoder* encoder);

}  // namespace maddness::detail

#endif  // MADDNESS_SRC_TRAIN_GROUPING_H_
