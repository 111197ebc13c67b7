// The subcommands of the `maddness` program. main.cc parses the command line into these structs;
// each Run* function validates them, does the work and returns the exit status (0 on success).
// User mistakes throw maddness::Error, whose message names the argument, its value and the rule.
#ifndef MADDNESS_TOOLS_COMMANDS_H_
#define MADDNESS_TOOLS_COMMANDS_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace maddness::cli {

// Learning settings shared by train, eval and demo.
struct LearnArgs {
  long long codebooks = 16;
  double lambda = 1.0;
  bool choose_lambda = false;
  std::uint64_t seed = 0;
  std::string variant = "maddness";
  std::string aggregation = "average";
  std::string objective = "auto";
  std::string table_scale = "auto";
  std::string grouping = "search";
  int candidate_dims = 4;
  int threads = 0;
  std::size_t max_train_rows = 0;
  bool quiet = false;
  // Classifier-aware tables (train and eval only).
  bool classifier = false;
  std::string train_labels_path;  // optional, with classifier
  double mse_weight = 0.3;
  int classifier_iterations = 20;
  bool classifier_fixed = false;  // ClassifierOptions::choose = false
};

struct TrainArgs {
  std::string a_path;
  std::string b_path;  // empty: learn the encoder only
  std::string output_path;
  std::string bias_path;  // optional, with learn.classifier
  LearnArgs learn;
};
int RunTrain(const TrainArgs& args);

struct SetBArgs {
  std::string model_path;
  std::string b_path;
  std::string aggregation = "average";
  std::string table_scale = "per-output";
  std::string output_path;
};
int RunSetB(const SetBArgs& args);

struct ApplyArgs {
  std::string model_path;
  std::string a_path;
  std::string output_path;
  std::string output_layout = "row";
  int threads = 0;
};
int RunApply(const ApplyArgs& args);

struct EncodeArgs {
  std::string model_path;
  std::string a_path;
  std::string output_path;
  int threads = 0;
};
int RunEncode(const EncodeArgs& args);

struct InfoArgs {
  std::string model_path;
  bool json = false;
};
int RunInfo(const InfoArgs& args);

struct EvalArgs {
  std::string a_train_path;
  std::string a_test_path;
  std::string b_path;
  std::string bias_path;    // optional
  std::string labels_path;  // optional
  bool json = false;
  LearnArgs learn;
};
int RunEval(const EvalArgs& args);

// demo and bench time the exact products of the baselines (bench/experiment/baselines/): they
// are built with MADDNESS_BUILD_EXPERIMENTS.
struct DemoArgs {
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  LearnArgs learn;
  int repeats = 20;
};
int RunDemo(const DemoArgs& args);

struct BenchArgs {
  long long n = 10000;
  long long d = 512;
  long long m = 100;
  long long codebooks = 16;
  std::string layout = "row";
  std::string output = "f32";
  std::string output_layout = "row";
  std::string aggregation = "average";
  int threads = 1;
  long long repeats = 21;
  bool json = false;
};
int RunBench(const BenchArgs& args);

}  // namespace maddness::cli

#endif  // MADDNESS_TOOLS_COMMANDS_H_
