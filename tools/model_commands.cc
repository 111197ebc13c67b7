// train, set-b, apply, encode and info: the subcommands that make and use model files.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "maddness/maddness.h"
#include "src/io/npy.h"
#include "tools/cli_common.h"
#include "tools/commands.h"

namespace maddness::cli {
namespace {

// Checks that A's width matches the model's D.
void CheckInputWidth(const NamedMatrix& a, const Model& model, const std::string& model_path) {
  if (a.cols() != model.input_dim()) {
    throw Error(a.Describe() + " has " + std::to_string(a.cols()) + " columns but the model " +
                model_path + " was learned on D = " + std::to_string(model.input_dim()) +
                "; A must have D columns");
  }
}

// Checks that B's height matches D, the width of A or of the model.
void CheckBHeight(const NamedMatrix& b, std::size_t input_dim, const std::string& origin) {
  if (b.rows() != input_dim) {
    throw Error(b.Describe() + " has " + std::to_string(b.rows()) + " rows but " + origin +
                " has D = " + std::to_string(input_dim) + " columns; B must be D x M");
  }
}

}  // namespace

int RunTrain(const TrainArgs& args) {
  const LearnArgs& learn = args.learn;
  LearnOptions options = ToLearnOptions(learn);
  if (options.objective == Objective::kProduct && args.b_path.empty()) {
    throw Error(
        "--objective product: needs --b, the matrix whose product the trees preserve; "
        "without --b use --objective input (then add the tables with set-b)");
  }
  if (options.choose_ridge_lambda && args.b_path.empty()) {
    throw Error(
        "--choose-lambda: needs --b, since it compares the errors of A*B on the training rows; "
        "without --b give --lambda, or choose when learning with B");
  }
  const LearnOptions defaults;
  if (args.b_path.empty() && (options.aggregation != defaults.aggregation ||
                              options.table_scale != defaults.table_scale)) {
    std::fprintf(stderr,
                 "maddness: warning: --aggregation and --table-scale describe the tables, which "
                 "are built only with --b; give them to set-b instead\n");
  }
  CheckOutputPath(args.output_path, "-o");

  const NamedMatrix a = ReadMatrix(args.a_path, "--a", 1);
  CheckNumCodebooks(learn.codebooks, a.cols(), "--codebooks");
  NamedMatrix b;
  if (!args.b_path.empty()) {
    b = ReadMatrix(args.b_path, "--b", 1);
    CheckBHeight(b, a.cols(), a.Describe());
  } else if (learn.classifier) {
    throw Error(
        "--classifier: needs --b, the classifier's weights (D x M) that the tables are "
        "fitted to");
  }
  SetClassifierOptions(learn, args.bias_path, args.b_path.empty() ? 0 : b.cols(), a.rows(),
                       &options);

  ProgressPrinter printer(!learn.quiet);
  options.progress = [&printer](const Progress& progress) { printer(progress); };

  const auto start = std::chrono::steady_clock::now();
  const MatrixView b_view = b.view();
  const Model model = NamingB(
      b, [&] { return Model::Learn(a.view(), args.b_path.empty() ? nullptr : &b_view, options); });
  printer.Finish();
  const double seconds = SecondsSince(start);
  model.Save(args.output_path);
  if (!learn.quiet) {
    // The rows learning used: all of A_train, or the --max-train-rows sample of it.
    const std::string sample =
        model.num_train_rows() < a.rows() ? " (sampled from " + std::to_string(a.rows()) + ")" : "";
    std::fprintf(stderr, "learned %d codebooks on %llu%s x %zu rows in %.2f s%s; wrote %s\n",
                 model.num_codebooks(), static_cast<unsigned long long>(model.num_train_rows()),
                 sample.c_str(), a.cols(), seconds,
                 model.has_tables() ? "" : " (encoder only: run set-b to add tables)",
                 args.output_path.c_str());
  }
  return 0;
}

int RunSetB(const SetBArgs& args) {
  const Aggregation aggregation = Parse<Aggregation>(args.aggregation, "--aggregation");
  const TableScale table_scale = Parse<TableScale>(args.table_scale, "--table-scale");
  CheckOutputPath(args.output_path, "-o");
  Model model = LoadModel(args.model_path, "MODEL");
  const NamedMatrix b = ReadMatrix(args.b_path, "--b", 1);
  CheckBHeight(b, model.input_dim(), "the model " + args.model_path);
  NamingB(b, [&] { model.SetB(b.view(), aggregation, table_scale); });
  model.Save(args.output_path);
  return 0;
}

int RunApply(const ApplyArgs& args) {
  CheckThreads(args.threads, "--threads");
  CheckOutputPath(args.output_path, "-o");
  const Model model = LoadModel(args.model_path, "MODEL");
  if (!model.has_tables()) {
    throw Error("MODEL (" + args.model_path +
                ") has no lookup tables: it was learned without --b; add them with "
                "`maddness set-b MODEL --b B.npy -o MODEL2`");
  }
  const NamedMatrix a = ReadMatrix(args.a_path, "--a", 0);
  CheckInputWidth(a, model, args.model_path);
  ApplyOptions options;
  options.threads = args.threads;
  // Column-major output: the same N x M array in Fortran order (each output's N values together).
  const bool col_major =
      Parse<OutputLayout>(args.output_layout, "--output-layout") == OutputLayout::kColMajor;
  options.output_layout = col_major ? OutputLayout::kColMajor : OutputLayout::kRowMajor;
  std::vector<float> outputs(a.rows() * model.output_dim());
  if (a.rows() > 0) model.Apply(a.view(), outputs.data(), 0, options);
  io::WriteNpy(args.output_path, outputs.data(), {a.rows(), model.output_dim()}, col_major);
  return 0;
}

int RunEncode(const EncodeArgs& args) {
  CheckThreads(args.threads, "--threads");
  CheckOutputPath(args.output_path, "-o");
  const Model model = LoadModel(args.model_path, "MODEL");
  const NamedMatrix a = ReadMatrix(args.a_path, "--a", 0);
  CheckInputWidth(a, model, args.model_path);
  ApplyOptions options;
  options.threads = args.threads;
  std::vector<std::uint8_t> codes;
  if (a.rows() > 0) codes = model.Encode(a.view(), options);
  const auto num_codebooks = static_cast<std::size_t>(model.num_codebooks());
  io::WriteNpy(args.output_path, codes.data(), {a.rows(), num_codebooks});
  return 0;
}

int RunInfo(const InfoArgs& args) {
  const Model model = LoadModel(args.model_path, "MODEL");
  if (args.json) {
    nlohmann::ordered_json info;
    info["d"] = model.input_dim();
    info["codebooks"] = model.num_codebooks();
    info["m"] = model.output_dim();
    info["has_tables"] = model.has_tables();
    info["variant"] = Name(model.variant());
    info["aggregation"] = model.has_tables() ? nlohmann::ordered_json(Name(model.aggregation()))
                                             : nlohmann::ordered_json(nullptr);
    info["n_train"] = model.num_train_rows();
    std::cout << info.dump() << '\n';
    return 0;
  }
  const auto row = [](const char* label, const std::string& value) {
    std::printf("%-14s %s\n", label, value.c_str());
  };
  row("model file", args.model_path);
  row("D (inputs)", std::to_string(model.input_dim()));
  row("C (codebooks)", std::to_string(model.num_codebooks()));
  row("M (outputs)", model.has_tables()
                         ? std::to_string(model.output_dim())
                         : std::string("none: encoder only, add tables with `maddness set-b`"));
  if (model.has_tables()) row("aggregation", Name(model.aggregation()));
  row("variant", Name(model.variant()));
  row("n_train", std::to_string(model.num_train_rows()));
  return 0;
}

}  // namespace maddness::cli
