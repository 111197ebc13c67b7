// `maddness experiment ARGS...` runs the experiment suite, the program maddness-experiment
// (bench/experiment/), with the same arguments.
#ifndef MADDNESS_TOOLS_EXPERIMENT_FORWARD_H_
#define MADDNESS_TOOLS_EXPERIMENT_FORWARD_H_

#include <string>
#include <vector>

namespace maddness::cli {

// Replaces this process with maddness-experiment ARGS: the one next to this program (an installed
// copy), else the one of the build tree this program was built in. Returns only on failure, by
// throwing maddness::Error naming the paths tried.
[[noreturn]] void ForwardToExperiment(const std::vector<std::string>& args);

}  // namespace maddness::cli

#endif  // MADDNESS_TOOLS_EXPERIMENT_FORWARD_H_
