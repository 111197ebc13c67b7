// Choosing which columns each codebook owns (grouping.h).
//
// A codebook's tree splits only on its own columns, so the grouping decides which columns are
// quantized jointly. Contiguous ranges (the paper) group columns that are often nearly copies of
// each other: in a 3x3 RGB patch stored pixel by pixel, a codebook of two columns sees the red
// and green of one pixel, and its 16 buckets then describe their common brightness finely and
// their difference not at all. Measured on the image-filter data, other orders halve the error
// of the product for some filter banks and raise it for others, so the order is chosen by its
// error on held-out training rows, never by a fixed rule.
#include "src/train/grouping.h"

#include <Eigen/Dense>
#include <algorithm>
#include <numeric>
#include <random>

#include "src/common/eigen_matrix.h"
#include "src/common/parallel.h"
#include "src/encode/encode.h"
#include "src/train/train.h"

namespace maddness::detail {
namespace {

// Rows i of the subset with i % 4 == 3 validate, the others fit. The subset is evenly spaced
// over all rows.
struct SearchSplit {
  std::vector<std::size_t> fit;
  std::vector<std::size_t> validate;
};

SearchSplit SplitSearchRows(const std::vector<std::size_t>& rows, std::size_t budget) {
  SearchSplit split;
  const std::size_t used = std::min(rows.size(), budget);
  for (std::size_t i = 0; i < used; ++i) {
    const std::size_t row = rows[i * rows.size() / used];  // exact in integers
    (i % 4 == 3 ? split.validate : split.fit).push_back(row);
  }
  return split;
}

// The squared error, over the validation rows, of the model learned on the fit rows.
double HeldOutError(const TrainingSet& fit, const TrainingSet& validate, const MatrixView* b,
                    const LearnOptions& options) {
  Encoder encoder;
  const bool for_product = options.objective == Objective::kProduct && b != nullptr;
  const std::vector<std::uint8_t> codes =
      LearnTrees(fit, options, for_product ? b : nullptr, &encoder);
  if (options.variant == Variant::kMaddness) {
    FitRidgePrototypes(fit, codes, options.ridge_lambda, ResolveThreads(options.threads), &encoder);
  }
  const auto dim = static_cast<Eigen::Index>(fit.cols);
  using RowMatrix = RowMatrixD;
  // The error is measured after multiplying by B when B is known (what the user gets), on A
  // itself otherwise.
  const RowMatrix map =
      b != nullptr ? ToDoubleMatrix(*b) : RowMatrix(RowMatrix::Identity(dim, dim));
  const RowMatrix tables = PrototypesAsDouble(encoder) * map;
  const Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>
      rows(validate.values.data(), static_cast<Eigen::Index>(validate.rows), dim);
  const RowMatrix exact = rows.cast<double>() * map;
  const MatrixView view = MatrixView::RowMajor(validate.values.data(), validate.rows, fit.cols);
  double error = 0.0;
  Eigen::RowVectorXd estimate(map.cols());
  for (std::size_t r = 0; r < validate.rows; ++r) {
    estimate.setZero();
    for (int c = 0; c < encoder.num_codebooks; ++c) {
      const int code = EncodeRowRef(encoder, view, r, c);
      estimate += tables.row(static_cast<Eigen::Index>(c) * kNumPrototypes + code);
    }
    error += (exact.row(static_cast<Eigen::Index>(r)) - estimate).squaredNorm();
  }
  return error;
}

}  // namespace

TrainingSet PermutedRows(const MatrixView& a, const std::vector<std::size_t>& rows,
                         const std::vector<std::uint32_t>& order) {
  TrainingSet set;
  set.rows = rows.size();
  set.cols = a.cols;
  set.values.resize(set.rows * set.cols);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    for (std::size_t j = 0; j < set.cols; ++j) set.values[i * set.cols + j] = a(rows[i], order[j]);
  }
  return set;
}

PermutedB::PermutedB(const MatrixView* b, const std::vector<std::uint32_t>& order)
    : has_b_(b != nullptr) {
  if (b == nullptr) return;
  values_.resize(b->rows * b->cols);
  for (std::size_t j = 0; j < b->rows; ++j) {
    for (std::size_t m = 0; m < b->cols; ++m) values_[j * b->cols + m] = (*b)(order[j], m);
  }
  view_ = MatrixView::RowMajor(values_.data(), b->rows, b->cols);
}

std::vector<std::vector<std::uint32_t>> CandidateColumnOrders(std::size_t input_dim,
                                                              std::size_t max_candidates,
                                                              std::uint64_t seed) {
  std::vector<std::vector<std::uint32_t>> orders;
  std::vector<std::uint32_t> identity(input_dim);
  std::iota(identity.begin(), identity.end(), 0u);
  orders.push_back(identity);
  // Transposes for D = p x q: the order lists, for r = 0..q-1, the columns r, r + q, r + 2q, ...
  constexpr std::size_t kTransposes = 2;
  std::size_t transposes = 0;
  for (std::size_t q = 2; q < input_dim && transposes < kTransposes; ++q) {
    if (input_dim % q != 0 || orders.size() >= max_candidates) continue;
    std::vector<std::uint32_t> order;
    order.reserve(input_dim);
    for (std::size_t r = 0; r < q; ++r) {
      for (std::size_t column = r; column < input_dim; column += q) {
        order.push_back(static_cast<std::uint32_t>(column));
      }
    }
    orders.push_back(order);
    ++transposes;
  }
  // Random permutations (Fisher-Yates with a fixed generator; modulo keeps the draw independent
  // of the standard library's distributions).
  std::mt19937_64 generator(seed ^ 0x9e3779b97f4a7c15ull);
  while (orders.size() < max_candidates) {
    std::vector<std::uint32_t> order = identity;
    for (std::size_t i = input_dim; i > 1; --i) {
      std::swap(order[i - 1], order[static_cast<std::size_t>(generator() % i)]);
    }
    orders.push_back(order);
  }
  return orders;
}

// Rows compared per column order: fewer when D is large.
std::size_t OrderSearchRows(std::size_t input_dim) {
  return std::clamp(kSearchValues / std::max<std::size_t>(input_dim, 1), kMinSearchRows,
                    kSearchRows);
}

bool TooFewRowsToChoose(std::size_t num_rows, std::size_t input_dim) {
  const std::size_t used = std::min(num_rows, OrderSearchRows(input_dim));
  const std::size_t validate = used / 4;  // the rows i % 4 == 3 of SplitSearchRows
  return used - validate < kMinFitRows || validate < kNumPrototypes;
}

LearningChoice ChooseOrderAndObjective(const MatrixView& a_train,
                                       const std::vector<std::size_t>& rows, const MatrixView* b,
                                       const LearnOptions& options) {
  const std::size_t dim = a_train.cols;
  const bool search_orders = options.column_grouping == ColumnGrouping::kSearch;
  const bool search_objective = options.objective == Objective::kAuto && b != nullptr;
  LearningChoice choice;
  choice.objective = options.objective;
  if (choice.objective == Objective::kAuto) {
    choice.objective = b != nullptr ? Objective::kProduct : Objective::kInput;
  }
  std::vector<std::vector<std::uint32_t>> orders =
      CandidateColumnOrders(dim, search_orders ? kGroupingCandidates : 1, options.seed);
  choice.order = orders.front();
  // With one column per codebook every order gives the same model.
  if (static_cast<std::size_t>(options.num_codebooks) == dim) orders.resize(1);
  // Column orders are compared on fewer rows when D is large; the objective, compared once, on
  // more.
  const SearchSplit order_split = SplitSearchRows(rows, OrderSearchRows(dim));
  const SearchSplit objective_split = SplitSearchRows(rows, kSearchRows);
  // With too few rows to fit and validate, the held-out error means nothing: keep the identity
  // order and the paper's objective.
  if (TooFewRowsToChoose(rows.size(), dim)) {
    if (options.objective == Objective::kAuto) choice.objective = Objective::kInput;
    return choice;
  }
  if (orders.size() == 1 && !search_objective) return choice;

  LearnOptions quiet = options;
  quiet.progress = nullptr;
  // The full search below fits this many rows in all. With a small training set it cannot
  // subsample, and then it would cost several times the final learning run: a reduced search
  // keeps within the budget instead.
  const std::size_t order_runs = orders.size() > 1 ? orders.size() : 0;
  const double full_cost =
      static_cast<double>(order_runs * order_split.fit.size()) +
      (search_objective ? 2.0 * static_cast<double>(objective_split.fit.size()) : 0.0);
  const double budget = kSearchBudget * static_cast<double>(rows.size());
  const bool reduced = full_cost > budget;
  if (reduced) quiet.variant = Variant::kPq;
  const std::size_t steps = reduced ? orders.size() + (search_objective ? 1 : 0)
                                    : order_runs + (search_objective ? 2 : 0);
  std::size_t step = 0;
  // Held-out runs, several at a time: each learns with an even share of the threads, and a model
  // does not depend on its thread count, so neither does the choice.
  struct Run {
    const SearchSplit* split;
    std::size_t order;
    Objective objective;
    double error = 0.0;
  };
  const int threads = ResolveThreads(options.threads);
  auto run_all = [&](std::vector<Run>* runs) {
    if (options.progress) options.progress(Progress{"choosing column groups", step, steps});
    const int parallel =
        static_cast<int>(std::min<std::size_t>(runs->size(), static_cast<std::size_t>(threads)));
    ParallelFor(runs->size(), parallel, [&](std::size_t i) {
      Run& run = (*runs)[i];
      LearnOptions local = quiet;
      local.objective = run.objective;
      local.threads = std::max(1, threads / std::max(parallel, 1));
      const TrainingSet fit = PermutedRows(a_train, run.split->fit, orders[run.order]);
      const TrainingSet validate = PermutedRows(a_train, run.split->validate, orders[run.order]);
      const PermutedB permuted_b(b, orders[run.order]);
      run.error = HeldOutError(fit, validate, permuted_b.view(), local);
    });
    step += runs->size();
  };
  // The run with the smallest error; ties keep the earlier one.
  auto best_of = [](const std::vector<Run>& runs) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < runs.size(); ++i) {
      if (runs[i].error < runs[best].error) best = i;
    }
    return runs[best];
  };

  std::size_t chosen = 0;
  if (!reduced) {
    std::vector<Run> runs;
    for (std::size_t k = 0; k < order_runs; ++k) {
      runs.push_back(Run{&order_split, k, choice.objective});
    }
    if (!runs.empty()) {
      run_all(&runs);
      chosen = best_of(runs).order;
    }
    if (search_objective) {
      std::vector<Run> objectives = {Run{&objective_split, chosen, Objective::kInput},
                                     Run{&objective_split, chosen, Objective::kProduct}};
      run_all(&objectives);
      if (objectives[0].error < objectives[1].error) choice.objective = Objective::kInput;
    }
  } else {
    // Reduced search: held-out runs with MADDNESS-PQ prototypes (the trees alone, about half the
    // cost of a run with ridge prototypes), the objective first on the identity order, then the
    // candidate orders in turn while the budget lasts.
    const double run_cost = kPqRunCost * static_cast<double>(order_split.fit.size());
    std::vector<Run> first = {Run{&order_split, 0, choice.objective}};
    if (search_objective) first.push_back(Run{&order_split, 0, Objective::kInput});
    double spent = run_cost * static_cast<double>(first.size());
    run_all(&first);
    Run best = best_of(first);
    choice.objective = best.objective;
    std::vector<Run> others;
    for (std::size_t k = 1; k < orders.size() && spent + run_cost <= budget; ++k) {
      spent += run_cost;
      others.push_back(Run{&order_split, k, choice.objective});
    }
    if (!others.empty()) {
      run_all(&others);
      const Run best_other = best_of(others);
      if (best_other.error < best.error) best = best_other;
    }
    chosen = best.order;
  }
  choice.order = orders[chosen];
  if (options.progress) options.progress(Progress{"choosing column groups", steps, steps});
  return choice;
}

void UnpermuteEncoder(const std::vector<std::uint32_t>& order, Encoder* encoder) {
  bool identity = true;
  for (std::size_t i = 0; i < order.size(); ++i) identity = identity && order[i] == i;
  if (identity) {
    encoder->columns.clear();
    return;
  }
  for (SplitLevel& split : encoder->splits) split.dim = order[split.dim];
  const std::size_t dim = encoder->input_dim;
  std::vector<float> prototypes(encoder->prototypes.size());
  for (std::size_t p = 0; p * dim < prototypes.size(); ++p) {
    for (std::size_t i = 0; i < dim; ++i) {
      prototypes[p * dim + order[i]] = encoder->prototypes[p * dim + i];
    }
  }
  encoder->prototypes.swap(prototypes);
  encoder->columns = order;
}

}  // namespace maddness::detail
