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
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <limits>
#include <new>
#include <string>

#include "maddness/maddness.h"
#include "src/io/file.h"
#include "tools/cli_common.h"
#include "tools/commands.h"
#ifdef MADDNESS_WITH_EXPERIMENTS
#include "tools/experiment_forward.h"
#endif

namespace maddness::cli {
namespace {

constexpr int kExitUsage = 2;

// Accepts only whole numbers in [0, max] (see cli::UnsignedTextError).
CLI::Validator UnsignedValidator(std::uint64_t max) {
  return CLI::Validator([max](std::string& text) { return cli::UnsignedTextError(text, max); },
                        "UINT");
}

void AddLearnOptions(CLI::App* command, LearnArgs* learn, bool with_train_rows) {
  command
      ->add_option("--codebooks,-c", learn->codebooks,
                   "number of codebooks C, 1 <= C <= min(D, 256); more is more accurate and "
                   "slower; learning's time and memory grow as (16C)^2 x D whatever the number "
                   "of rows (C = 256, D = 5000: about a minute and 1 GB)")
      ->capture_default_str();
  command
      ->add_option("--lambda", learn->lambda,
                   "ridge parameter of the prototypes, >= 0; 0 (plain least squares) makes the "
                   "regression singular when C >= 2 or a bucket is empty, and a lambda tiny next "
                   "to the row count acts like 0")
      ->capture_default_str();
  command->add_flag("--choose-lambda", learn->choose_lambda,
                    "with --b: choose the prototypes with the smallest cross-validation error of "
                    "A*B on the training rows: ridge with --lambda times 1, 3, 10, ..., 1000, or "
                    "the bucket means (the model is then MADDNESS-PQ's)");
  command->add_option("--seed", learn->seed, "seed of the random choices while learning")
      ->capture_default_str()
      ->check(UnsignedValidator(std::numeric_limits<std::uint64_t>::max()));
  command
      ->add_option("--variant", learn->variant,
                   "maddness (ridge prototypes) or pq (bucket means, the paper's MADDNESS-PQ)")
      ->capture_default_str();
  command
      ->add_option("--aggregation", learn->aggregation,
                   "how table entries are summed: average (the paper's fast byte averages) or "
                   "exact (16-bit sums)")
      ->capture_default_str();
  command
      ->add_option("--table-scale", learn->table_scale,
                   "how the tables are scaled to bytes: global (one scale for all outputs, the "
                   "paper), per-output (each output column uses the whole byte) or auto "
                   "(per-output, or global when A_train is too small for the held-out choices)")
      ->capture_default_str();
  command
      ->add_option("--objective", learn->objective,
                   "what the hash trees preserve: input (the rows of A, the paper), product "
                   "(the rows of A*B, for the given B) or auto (the better of the two for A*B on "
                   "held-out training rows; input without --b)")
      ->capture_default_str();
  command
      ->add_option("--candidate-dims", learn->candidate_dims,
                   "split columns tried per tree level, >= 1 (the paper: 4); larger learns more "
                   "slowly and may be more accurate, inference cost does not change")
      ->capture_default_str();
  command
      ->add_option("--grouping", learn->grouping,
                   "which columns each codebook splits on: contiguous (C ranges of adjacent "
                   "columns, the paper) or search (the best of a few column orders, judged on "
                   "held-out training rows)")
      ->capture_default_str();
  command->add_option("--threads,-t", learn->threads, "worker threads, 0 = every core")
      ->capture_default_str();
  if (with_train_rows) {
    command
        ->add_option("--max-train-rows", learn->max_train_rows,
                     "learn from at most this many random rows of A (0 = all)")
        ->check(UnsignedValidator(std::numeric_limits<std::size_t>::max()))
        ->capture_default_str();
    CLI::Option* classifier =
        command->add_flag("--classifier", learn->classifier,
                          "B holds a linear classifier's weights: fit the tables to its decisions "
                          "(softmax cross-entropy plus --mse-weight times the squared error to "
                          "A*B) instead of prototypes x B; uses --bias and --train-labels");
    command
        ->add_option("--train-labels", learn->train_labels_path,
                     "labels.npy: the class of each training row, in [0, M); without it the "
                     "targets are the classifier's own softmax(A_train*B + bias)")
        ->needs(classifier);
    command
        ->add_option("--mse-weight", learn->mse_weight,
                     "weight (>= 0) of the squared error to A*B in the classifier fit; the "
                     "smallest of the weights tried (x1, 3, 10, 30) unless --classifier-fixed")
        ->capture_default_str()
        ->needs(classifier);
    command
        ->add_option("--classifier-iterations", learn->classifier_iterations,
                     "L-BFGS iterations of the classifier fit, >= 1 (at most, unless "
                     "--classifier-fixed)")
        ->capture_default_str()
        ->needs(classifier);
    command
        ->add_flag("--classifier-fixed", learn->classifier_fixed,
                   "one fit on every training row with --mse-weight and "
                   "--classifier-iterations as given, instead of choosing them on held-out "
                   "training rows and keeping the plain tables when the fit does not beat them")
        ->needs(classifier);
  }
  command->add_flag("--quiet,-q", learn->quiet, "no progress messages on stderr");
}

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
  AddLearnOptions(train_command, &train.learn, true);
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
  AddLearnOptions(eval_command, &eval.learn, true);

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
  AddLearnOptions(demo_command, &demo.learn, false);

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
  // SIGINT or SIGTERM during a long write must not leave its temporary file behind.
  maddness::io::RemoveTemporaryFilesOnSignals();
  try {
    return maddness::cli::Main(argc, argv);
  } catch (const maddness::Error& error) {
    std::fprintf(stderr, "maddness: error: %s\n", error.what());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "maddness: error: out of memory; the inputs are too large\n");
  } catch (const std::exception& error) {
    std::fprintf(stderr, "maddness: error: %s\n", error.what());
  }
  return 1;
}
