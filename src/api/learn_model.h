// One learning path for every front end: Model::Learn, and maddness-mpi train over MPI ranks.
#ifndef MADDNESS_SRC_API_LEARN_MODEL_H_
#define MADDNESS_SRC_API_LEARN_MODEL_H_

#include "maddness/maddness.h"
#include "src/train/reduce.h"

namespace maddness::detail {

// Fewest training rows: one per prototype of a tree.
inline constexpr std::size_t kMinTrainRows = kNumPrototypes;

// Throws Error unless Model::Learn accepts these arguments: the shapes, the options (against
// D = a_train.cols), B (D x M, finite) and the classifier options. With a distributed `reducer`,
// `a_train` is this process's share of the rows (it may have none; the caller checks the total
// against kMinTrainRows) and classifier tables are refused (their fit needs every row in one
// process). Makes no collective call: a distributed caller runs it on every process and agrees
// on failures before learning.
void CheckLearnArgs(const MatrixView& a_train, const MatrixView* b, const LearnOptions& options,
                    const Reducer& reducer = LocalReducer());

// Checks the arguments (CheckLearnArgs), learns the encoder (with `reducer`: over the rows of
// every process) and, when `b` is not null, builds the tables: Model::Learn. With a distributed
// `reducer` every process ends with the same model; with one process it is exactly the model of
// LocalReducer() given the same rows and choices (docs/scale-out.md says which choices differ).
Model LearnModel(const MatrixView& a_train, const MatrixView* b, const LearnOptions& options,
                 const Reducer& reducer = LocalReducer());

}  // namespace maddness::detail

#endif  // MADDNESS_SRC_API_LEARN_MODEL_H_
