// The learning flags of `maddness` (train, eval, demo) and `maddness-mpi train`, defined once so
// that both programs give them the same names, defaults, checks and help.
#ifndef MADDNESS_TOOLS_LEARN_FLAGS_H_
#define MADDNESS_TOOLS_LEARN_FLAGS_H_

#include <CLI/CLI.hpp>
#include <cstdint>

#include "tools/commands.h"

namespace maddness::cli {

// Which flags a command offers.
struct LearnFlagSet {
  // --max-train-rows and the classifier flags (train and eval; not demo).
  bool train_rows = true;
  bool classifier = true;
  // maddness-mpi: ranks each hold a share of the rows. No --choose-lambda, --grouping or
  // classifier flags (they need every row in one process); the help says how the others are
  // shared out.
  bool distributed = false;
};

// Accepts only whole numbers in [0, max] (see UnsignedTextError).
CLI::Validator UnsignedValidator(std::uint64_t max);

// Adds the learning flags to `command`, writing into `learn`.
void AddLearnFlags(CLI::App* command, LearnArgs* learn, const LearnFlagSet& set);

}  // namespace maddness::cli

#endif  // MADDNESS_TOOLS_LEARN_FLAGS_H_
