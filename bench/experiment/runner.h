// Running the experiment suite: for each task, every method of the grid (maddness-spec 10.3) is
// fitted on A_train and B, scored on A_test against the exact product, and timed on one matrix
// together with the exact float32 products (the jobs take turns, so they see the same machine
// load). Each method is timed with A row-major and, where it has that path, column-major (the
// paper timed MADDNESS on column-major A); its faster layout counts, and the exact time is the
// fastest exact product on either layout.
#ifndef MADDNESS_BENCH_EXPERIMENT_RUNNER_H_
#define MADDNESS_BENCH_EXPERIMENT_RUNNER_H_

#include "bench/experiment/experiment.h"

namespace maddness::experiment {

// Checks the arguments, runs the tasks they select and writes results.csv and results.json into
// args.out_dir (after every task, so that an interrupted run keeps what it measured). A dataset
// that is missing skips its task in a full run (--task all) and is an error when asked for alone.
// Throws maddness::Error naming the argument on bad arguments. Returns the exit status, 0.
int RunExperiment(const ExperimentArgs& args);

}  // namespace maddness::experiment

#endif  // MADDNESS_BENCH_EXPERIMENT_RUNNER_H_
