// The `maddness` command-line program: a thin layer over the public API (maddness.h).
//
//   maddness train --a A_train.npy --b B.npy --codebooks 16 -o model.maddness
//   maddness apply model.maddness --a A.npy -o Y.npy
//   maddness eval --a-train A_train.npy --a-test A_test.npy --b B.npy --codebooks 16 --json
//   maddness demo
//
// Exit status: 0 on success, 1 when the inputs are wrong or the work fails (the message on stderr
// names the argument, its value and the rule), 2 when the command line cannot be parsed.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <functional>
#include <limits>
#include <string>

#include "maddness/maddness.h"
#include "tools/cli_common.h"
#include "tools/commands.h"
#ifdef MADDNESS_WITH_EXPERIMENTS
#include "tools/experiment_forward.h"
#endif
#include "tools/learn_flags.h"

namespace maddness::cli {
namespace {

constexpr int kExitUsage = 2;

int Main(int argc, char** argv) {
  CLI::App app{"maddness: learned approximate matrix multiplication (MADDNESS)", "maddness"};
  app.require_subcommand(1);
  // A repeated option takes its last value, as most programs do (scripts append overrides).
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.set_version_flag("--version", "maddness 0.1.0");

  TrainArgs train;
  CLI::App* train_command =
      app.add_subcommand("train", "learn a model from A_train (and build its tables for B)");
  train_command->add_option("--a", train.a_path, "A_train.npy: N x D training rows")->required();
  train_command->add_option("--b", train.b_path,
                            "B.npy: D x M; without it only the encoder is learned (see set-b)");
  train_command->add_option("-o,--output", train.output_path, "model file to write")->required();
  AddLearnFlags(train_command, &train.learn, LearnFlagSet{});
  train_command
      ->add_option("--bias", train.bias_path,
                   "b.npy: the classifier's M biases, for --classifier (default 0)")
      ->needs("--classifier");

  SetBArgs set_b;
  CLI::App* set_b_command =
      app.add_subcommand("set-b", "build (or replace) a model's lookup tables for a matrix B");
  set_b_command->add_option("MODEL", set_b.model_path, "model file")->required();
  set_b_command->add_option("--b", set_b.b_path, "B.npy: D x M")->required();
  set_b_command->add_option("--aggregation", set_b.aggregation, "average or exact")
      ->capture_default_str();
  set_b_command
      ->add_option("--table-scale", set_b.table_scale,
                   "global (one scale for all outputs) or per-output (one per output column)")
      ->capture_default_str();
  set_b_command->add_option("-o,--output", set_b.output_path, "model file to write")->required();

  ApplyArgs apply;
  CLI::App* apply_command = app.add_subcommand("apply", "approximate A*B with a model");
  apply_command->add_option("MODEL", apply.model_path, "model file with tables")->required();
  apply_command->add_option("--a", apply.a_path, "A.npy: N x D")->required();
  apply_command->add_option("-o,--output", apply.output_path, "Y.npy to write: N x M float32")
      ->required();
  apply_command
      ->add_option("--output-layout", apply.output_layout,
                   "'row': Y.npy in C order; 'col': the same N x M array in Fortran order "
                   "(each output's values together, the paper's layout; faster to write)")
      ->capture_default_str();
  apply_command->add_option("--threads,-t", apply.threads, "worker threads, 0 = every core")
      ->capture_default_str();

  EncodeArgs encode;
  CLI::App* encode_command = app.add_subcommand("encode", "the 4-bit codes of the rows of A");
  encode_command->add_option("MODEL", encode.model_path, "model file")->required();
  encode_command->add_option("--a", encode.a_path, "A.npy: N x D")->required();
  encode_command->add_option("-o,--output", encode.output_path, "codes.npy to write: N x C uint8")
      ->required();
  encode_command->add_option("--threads,-t", encode.threads, "worker threads, 0 = every core")
      ->capture_default_str();

  InfoArgs info;
  CLI::App* info_command = app.add_subcommand("info", "describe a model file");
  info_command->add_option("MODEL", info.model_path, "model file")->required();
  info_command->add_flag("--json", info.json, "print one JSON object");

  EvalArgs eval;
  CLI::App* eval_command = app.add_subcommand(
      "eval", "learn on A_train, apply to A_test, and compare with the exact product");
  eval_command->add_option("--a-train", eval.a_train_path, "A_train.npy: N_train x D")->required();
  eval_command->add_option("--a-test", eval.a_test_path, "A_test.npy: N_test x D")->required();
  eval_command->add_option("--b", eval.b_path, "B.npy: D x M")->required();
  eval_command->add_option("--labels", eval.labels_path,
                           "labels.npy: N_test integers in [0, M); reports accuracy");
  eval_command->add_option("--bias", eval.bias_path,
                           "b.npy: M values added to the outputs (default 0); used for the "
                           "accuracy (--labels) and by the table fit (--classifier), so it needs "
                           "one of them");
  eval_command->add_flag("--json", eval.json, "print exactly one JSON object on stdout");
  AddLearnFlags(eval_command, &eval.learn, LearnFlagSet{});

#ifdef MADDNESS_WITH_EXPERIMENTS
  DemoArgs demo;
  CLI::App* demo_command = app.add_subcommand(
      "demo",
      "Fashion-MNIST: a linear classifier computed exactly and with MADDNESS, accuracy and speed");
  demo_command->add_option("--data", demo.data_dir, "folder with the Fashion-MNIST IDX .gz files")
      ->capture_default_str();
  demo_command->add_option("--repeats", demo.repeats, "timed runs of each product (median)")
      ->capture_default_str();
  demo.learn.threads = 1;
  AddLearnFlags(demo_command, &demo.learn, LearnFlagSet{false, false, false});

  BenchArgs bench;
  CLI::App* bench_command = app.add_subcommand(
      "bench", "time MADDNESS against the fastest exact float32 products on random matrices");
  bench_command->add_option("--n", bench.n, "rows of A")->capture_default_str();
  bench_command->add_option("--d", bench.d, "columns of A (rows of B)")->capture_default_str();
  bench_command->add_option("--m", bench.m, "columns of B")->capture_default_str();
  bench_command->add_option("--codebooks,-c", bench.codebooks, "number of codebooks C")
      ->capture_default_str();
  bench_command->add_option("--layout", bench.layout, "A row-major ('row') or column-major ('col')")
      ->capture_default_str();
  bench_command
      ->add_option(
          "--output", bench.output,
          "'f32': de-quantized float32 outputs; 'raw': the 16-bit sums; 'raw8': the 8-bit sums "
          "(C <= 16, column-major output: the paper's)")
      ->capture_default_str();
  bench_command
      ->add_option("--output-layout", bench.output_layout,
                   "output row-major N x M ('row') or column-major, M x N ('col', the paper's)")
      ->capture_default_str();
  bench_command->add_option("--aggregation", bench.aggregation, "average | exact")
      ->capture_default_str();
  bench_command
      ->add_option("--threads,-t", bench.threads, "threads for every method, 0 = all cores")
      ->capture_default_str();
  bench_command->add_option("--repeats", bench.repeats, "timed runs of each job (median)")
      ->capture_default_str();
  bench_command->add_flag("--json", bench.json, "print exactly one JSON object on stdout");

  // `maddness experiment ARGS...` runs maddness-experiment ARGS (its options and --help are the
  // suite's).
  CLI::App* experiment_command = app.add_subcommand(
      "experiment",
      "the paper's speed-accuracy suite: runs maddness-experiment with the same arguments");
  experiment_command->prefix_command();
  experiment_command->allow_extras();
  experiment_command->set_help_flag();
#endif

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int status = app.exit(error);
    return status == 0 ? 0 : kExitUsage;
  }

  if (train_command->parsed()) return RunTrain(train);
  if (set_b_command->parsed()) return RunSetB(set_b);
  if (apply_command->parsed()) return RunApply(apply);
  if (encode_command->parsed()) return RunEncode(encode);
  if (info_command->parsed()) return RunInfo(info);
  if (eval_command->parsed()) return RunEval(eval);
#ifdef MADDNESS_WITH_EXPERIMENTS
  if (demo_command->parsed()) return RunDemo(demo);
  if (bench_command->parsed()) return RunBench(bench);
  if (experiment_command->parsed()) ForwardToExperiment(experiment_command->remaining());
#endif
  return kExitUsage;
}

}  // namespace
}  // namespace maddness::cli

int main(int argc, char** argv) {
  return maddness::cli::RunMain("maddness", maddness::cli::Main, argc, argv);
}
