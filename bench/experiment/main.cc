// maddness-experiment: the paper's speed-accuracy suite (runner.h) on real tasks (tasks.h).
//
//   maddness-experiment --task all --data ../shared/data --out results
//   maddness-experiment --task user --a-train A_train.npy --a-test A_test.npy --b B.npy
//
// `maddness experiment ARGS...` runs this program with the same arguments.
// Exit status: 0 on success, 1 when the inputs are wrong or the work fails (the message on stderr
// names the argument, its value and the rule), 2 when the command line cannot be parsed.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <string>

#include "bench/experiment/experiment.h"
#include "bench/experiment/runner.h"
#include "maddness/maddness.h"
#include "tools/cli_common.h"

namespace maddness::experiment {
namespace {

constexpr int kExitUsage = 2;

// Where scripts/make_deepfeat.py writes by default: $MADDNESS_DEEPFEAT, else
// $HOME/.cache/maddness/deepfeat (the current folder's .cache without HOME).
std::string DefaultDeepfeatDir() {
  const char* env = std::getenv("MADDNESS_DEEPFEAT");
  if (env != nullptr && *env != '\0') return env;
  const char* home = std::getenv("HOME");
  const std::string base = (home != nullptr && *home != '\0') ? std::string(home) : ".";
  return base + "/.cache/maddness/deepfeat";
}

int Main(int argc, char** argv) {
  CLI::App app{
      "maddness-experiment: the paper's speed-accuracy suite: every method on real tasks, "
      "results.csv and .json",
      "maddness-experiment"};
  // A repeated option takes its last value, as most programs do (scripts append overrides).
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.set_version_flag("--version", "maddness-experiment 0.1.0");

  ExperimentArgs experiment;
  app.add_option("--task", experiment.task,
                 "imgfilter, digits, fashion, ucr, deepfeat, user or all")
      ->capture_default_str();
  app.add_option("--data", experiment.data_dir,
                 "folder with imgfilter/, sklearn_digits/ and ucr/ (the shared data)")
      ->capture_default_str();
  app.add_option("--fashion-dir", experiment.fashion_dir,
                 "folder with the Fashion-MNIST IDX .gz files")
      ->capture_default_str();
  experiment.deepfeat_dir = DefaultDeepfeatDir();
  app.add_option("--deepfeat-dir", experiment.deepfeat_dir,
                 "folder written by scripts/make_deepfeat.py (default $MADDNESS_DEEPFEAT, "
                 "else ~/.cache/maddness/deepfeat)")
      ->capture_default_str();
  app.add_option("--out,-o", experiment.out_dir, "folder for the results")->capture_default_str();
  app.add_flag("--quick", experiment.quick, "tiny grids and subsets (seconds; for tests)");
  app.add_option("--threads,-t", experiment.threads,
                 "threads of every timed product, 0 = all cores")
      ->capture_default_str();
  app.add_option("--fit-threads", experiment.fit_threads,
                 "threads for learning (not timed), 0 = all cores")
      ->capture_default_str();
  app.add_option("--repeats", experiment.repeats, "timed samples per method (median)")
      ->capture_default_str();
  app.add_option("--seed", experiment.seed, "seed of the random sketches")->capture_default_str();
  app.add_option("--a-train", experiment.a_train_path, "user task: A_train.npy (N_train x D)");
  app.add_option("--a-test", experiment.a_test_path, "user task: A_test.npy (N_test x D)");
  app.add_option("--b", experiment.b_path, "user task: B.npy (D x M)");
  app.add_option("--labels", experiment.labels_path,
                 "user task: labels.npy, N_test integers in [0, M); accuracy");
  app.add_option("--train-labels", experiment.train_labels_path,
                 "user task: y_train.npy, the class of each row of A_train (with --labels): "
                 "adds the classifier-aware MADDNESS");
  app.add_option("--bias", experiment.bias_path,
                 "user task: b.npy, M values added before the argmax");
  app.add_option("--name", experiment.name, "user task: its name in the results")
      ->capture_default_str();
  app.add_option("--time-rows", experiment.time_rows,
                 "user task: time on A_test repeated to at least this many rows");
  app.add_flag("--quiet,-q", experiment.quiet, "no progress messages on stderr");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int status = app.exit(error);
    return status == 0 ? 0 : kExitUsage;
  }
  return RunExperiment(experiment);
}

}  // namespace
}  // namespace maddness::experiment

int main(int argc, char** argv) {
  return maddness::cli::RunMain("maddness-experiment", maddness::experiment::Main, argc, argv);
}
