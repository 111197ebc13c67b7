#include <algorithm>
#include <numeric>
#include <random>

#include "src/common/check.h"
#include "src/common/parallel.h"
#include "src/train/grouping.h"
#include "src/train/train.h"

namespace maddness::detail {

std::vector<std::size_t> SampleRows(std::size_t num_rows, std::size_t max_rows,
                                    std::uint64_t seed) {
  std::vector<std::size_t> rows(num_rows);
  std::iota(rows.begin(), rows.end(), std::size_t{0});
  if (max_rows == 0 || max_rows >= num_rows) return rows;
  std::mt19937_64 generator(seed);
  for (std::size_t i = 0; i < max_rows; ++i) {
    // Modulo keeps the draw independent of the standard library's distribution algorithms.
    const std::size_t j = i + static_cast<std::size_t>(generator() % (num_rows - i));
    std::swap(rows[i], rows[j]);
  }
  rows.resize(max_rows);
  std::sort(rows.begin(), rows.end());
  return rows;
}

Encoder LearnEncoder(const MatrixView& a_train, const MatrixView* b, const LearnOptions& options,
                     std::uint64_t* num_train_rows, const Reducer& reducer,
                     PrototypeChoice* prototypes) {
  const std::vector<std::size_t> rows =
      SampleRows(a_train.rows, options.max_train_rows, options.seed);
  // The column order: codebook c owns positions [codebook_begin[c], codebook_begin[c + 1]) of it.
  // Learning runs on the columns in that order and renames them back at the end. Processes that
  // each hold a share of the rows would choose different orders, so they keep the identity.
  // The same holds for the objective that Objective::kAuto chooses: there it is kProduct with B,
  // except for a training set too small for held-out choices, where, as in one process, it is
  // the paper's kInput.
  std::int64_t total_rows = static_cast<std::int64_t>(rows.size());
  reducer.AllReduceSum(&total_rows, 1);
  *num_train_rows = static_cast<std::uint64_t>(total_rows);
  LearningChoice choice;
  if (reducer.distributed()) {
    choice.order.resize(a_train.cols);
    std::iota(choice.order.begin(), choice.order.end(), 0u);
    choice.objective = options.objective;
    if (choice.objective == Objective::kAuto) {
      choice.objective = b != nullptr && !TooFewRowsToChoose(*num_train_rows, a_train.cols)
                             ? Objective::kProduct
                             : Objective::kInput;
    }
  } else {
    choice = ChooseOrderAndObjective(a_train, rows, b, options);
  }
  const std::vector<std::uint32_t>& order = choice.order;
  const TrainingSet train = PermutedRows(a_train, rows, order);
  const PermutedB permuted_b(b, order);

  Encoder encoder;
  const bool for_product = choice.objective == Objective::kProduct && b != nullptr;
  const std::vector<std::uint8_t> codes =
      LearnTrees(train, options, for_product ? permuted_b.view() : nullptr, &encoder, reducer);
  PrototypeChoice prototype_choice;
  prototype_choice.lambda = options.ridge_lambda;
  prototype_choice.bucket_means = options.variant == Variant::kPq;
  if (options.variant == Variant::kMaddness) {
    if (options.progress) options.progress(Progress{"fitting prototypes", 0, 1});
    // The cross-validated choice needs every row in one process.
    if (options.choose_ridge_lambda && b != nullptr && !reducer.distributed()) {
      prototype_choice =
          ChoosePrototypes(train, codes, *permuted_b.view(), encoder, options.ridge_lambda);
    }
    if (!prototype_choice.bucket_means) {
      FitRidgePrototypes(train, codes, prototype_choice.lambda, ResolveThreads(options.threads),
                         &encoder, reducer);
    }
    if (options.progress) options.progress(Progress{"fitting prototypes", 1, 1});
  }
  UnpermuteEncoder(order, &encoder);
  if (prototypes != nullptr) *prototypes = prototype_choice;
  return encoder;
}

}  // namespace maddness::detail
