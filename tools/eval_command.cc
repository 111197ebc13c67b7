// eval: learn on A_train, approximate A_test*B, and measure the error against the exact product.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "maddness/maddness.h"
#include "src/common/model_data.h"
#include "src/io/npy.h"
#include "tools/cli_common.h"
#include "tools/commands.h"
#include "tools/metrics.h"

namespace maddness::cli {

int RunEval(const EvalArgs& args) {
  const LearnArgs& learn = args.learn;
  LearnOptions options = ToLearnOptions(learn);

  // Read and check every input before the long work.
  const NamedMatrix a_train = ReadMatrix(args.a_train_path, "--a-train", 1);
  const NamedMatrix a_test = ReadMatrix(args.a_test_path, "--a-test", 1);
  const NamedMatrix b = ReadMatrix(args.b_path, "--b", 1);
  const std::size_t input_dim = a_train.cols();
  if (a_test.cols() != input_dim) {
    throw Error(a_test.Describe() + " has " + std::to_string(a_test.cols()) + " columns but " +
                a_train.Describe() + " has " + std::to_string(input_dim) +
                "; both must have D columns");
  }
  if (b.rows() != input_dim) {
    throw Error(b.Describe() + " has " + std::to_string(b.rows()) + " rows but " +
                a_train.Describe() + " has D = " + std::to_string(input_dim) +
                " columns; B must be D x M");
  }
  CheckNumCodebooks(learn.codebooks, input_dim, "--codebooks");
  const std::size_t num_outputs = b.cols();
  const std::size_t num_test = a_test.rows();

  const bool with_labels = !args.labels_path.empty();
  if (!args.bias_path.empty() && !with_labels && !learn.classifier) {
    throw Error("--bias " + args.bias_path +
                ": is used only with --labels (added to the outputs before the argmax) or "
                "--classifier (the table fit uses it); give one of them, or drop --bias");
  }
  std::vector<float> bias(num_outputs, 0.0f);
  std::vector<std::int64_t> labels;
  if (with_labels) {
    if (!args.bias_path.empty()) bias = ReadVector(args.bias_path, "--bias", num_outputs);
    labels = ReadLabels(args.labels_path, "--labels", num_test, a_test.Describe(), num_outputs);
  }

  SetClassifierOptions(learn, args.bias_path, num_outputs, a_train.rows(), &options);

  ProgressPrinter printer(!learn.quiet);
  options.progress = [&printer](const Progress& progress) { printer(progress); };

  const MatrixView b_view = b.view();
  auto start = std::chrono::steady_clock::now();
  const Model model = NamingB(b, [&] { return Model::Learn(a_train.view(), &b_view, options); });
  const double train_seconds = SecondsSince(start);
  printer.Finish();

  ApplyOptions apply_options;
  apply_options.threads = learn.threads;
  start = std::chrono::steady_clock::now();
  const std::vector<float> approx = model.Apply(a_test.view(), apply_options);
  const double apply_seconds = SecondsSince(start);

  const std::vector<double> exact = ExactProduct(a_test.view(), b_view);
  const ErrorStats stats = CompareOutputs(exact, approx);
  if (!(stats.variance > 0)) {
    std::fprintf(stderr,
                 "maddness: warning: the exact product A_test*B is constant (variance 0), so the "
                 "NMSE is undefined (null)\n");
  }

  nlohmann::ordered_json result;
  const auto number_or_null = [](double value) {
    return std::isfinite(value) ? nlohmann::ordered_json(value) : nlohmann::ordered_json(nullptr);
  };
  result["nmse"] = number_or_null(stats.nmse);
  result["mse"] = stats.mse;
  result["var_y"] = stats.variance;
  if (with_labels) {
    result["accuracy"] = ArgmaxAccuracy(approx, num_outputs, bias, labels);
    result["exact_accuracy"] = ArgmaxAccuracy(exact, num_outputs, bias, labels);
  }
  result["train_seconds"] = train_seconds;
  result["apply_seconds"] = apply_seconds;
  result["codebooks"] = model.num_codebooks();
  result["n_train"] = a_train.rows();
  result["n_train_used"] = model.num_train_rows();
  result["n_test"] = num_test;
  result["d"] = input_dim;
  result["m"] = num_outputs;
  result["variant"] = Name(model.variant());
  result["aggregation"] = Name(model.aggregation());
  result["objective"] = Name(options.objective);
  result["table_scale"] = Name(options.table_scale);
  result["candidate_dims"] = options.candidate_dims;
  result["grouping"] = Name(options.column_grouping);
  result["lambda"] = learn.lambda;
  result["lambda_used"] = model.ridge_lambda();
  result["seed"] = learn.seed;
  result["threads"] = learn.threads;
  result["classifier"] = learn.classifier;
  if (learn.classifier) {
    result["train_labels"] = !learn.train_labels_path.empty();
    result["mse_weight"] = learn.mse_weight;
    result["classifier_fixed"] = learn.classifier_fixed;
  }

  if (args.json) {
    std::cout << result.dump() << '\n';
    return 0;
  }
  std::printf(
      "MADDNESS %s, %d codebooks, %s aggregation, %s objective, %s table scale, %d candidate "
      "columns\n",
      Name(model.variant()), model.num_codebooks(), Name(model.aggregation()),
      Name(options.objective), Name(options.table_scale), options.candidate_dims);
  if (learn.classifier) {
    std::printf("  classifier-aware tables: %s targets, MSE weight %g\n",
                learn.train_labels_path.empty() ? "the classifier's own" : "training-label",
                learn.mse_weight);
  }
  std::printf("  A_train %zu x %zu, A_test %zu x %zu, B %zu x %zu\n", a_train.rows(), input_dim,
              num_test, input_dim, input_dim, num_outputs);
  std::printf("  learning   %.3f s\n", train_seconds);
  std::printf("  applying   %.3f s\n", apply_seconds);
  std::printf("  NMSE       %.5f  (mean squared error / variance of the exact product)\n",
              stats.nmse);
  if (with_labels) {
    std::printf("  accuracy   %.4f  (exact product: %.4f)\n", result["accuracy"].get<double>(),
                result["exact_accuracy"].get<double>());
  }
  return 0;
}

}  // namespace maddness::cli
