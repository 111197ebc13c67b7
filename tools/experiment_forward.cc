#include "tools/experiment_forward.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "maddness/maddness.h"

namespace maddness::cli {

void ForwardToExperiment(const std::vector<std::string>& args) {
  namespace fs = std::filesystem;
  std::vector<std::string> candidates;
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  if (!error) candidates.push_back((self.parent_path() / "maddness-experiment").string());
  candidates.push_back(MADDNESS_EXPERIMENT_PROGRAM);

  std::vector<std::string> arguments = {"maddness-experiment"};
  arguments.insert(arguments.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);

  std::string tried;
  for (const std::string& program : candidates) {
    if (!fs::exists(program)) {
      tried += (tried.empty() ? "" : ", ") + program + " (missing)";
      continue;
    }
    execv(program.c_str(), argv.data());
    tried += (tried.empty() ? "" : ", ") + program + " (" + std::strerror(errno) + ")";
  }
  throw Error("experiment: cannot run maddness-experiment, which runs the suite; tried " + tried +
              "; build it with -DMADDNESS_BUILD_EXPERIMENTS=ON (target maddness_experiment)");
}

}  // namespace maddness::cli
