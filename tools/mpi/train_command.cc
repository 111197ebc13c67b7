// maddness-mpi train: learning from training rows spread over the ranks.
//
// Each rank reads its contiguous share of A_train and learns with an MpiReducer: every statistic
// of learning (quantizer ranges, means, candidate-column SSE, split histograms, bucket sums, G^T G
// and G^T X) is summed over the ranks, so all ranks take the same decisions and end with the same
// encoder and tables (detail::LearnModel, the path of Model::Learn); rank 0 writes the model file.
// docs/scale-out.md says what is exact and what is not.
#include <mpi.h>

#include <cstdio>
#include <string>
#include <vector>

#include "maddness/maddness.h"
#include "src/api/learn_model.h"
#include "tools/cli_common.h"
#include "tools/mpi/mpi_commands.h"
#include "tools/mpi/mpi_util.h"

namespace maddness::mpi {
namespace {

// At least one training row per prototype (as Model::Learn requires).
constexpr std::size_t kMinTrainRows = kNumPrototypes;

// This rank's part of --max-train-rows: the global sample size split over the ranks like the rows
// (0 when the rank draws nothing, and `all` when every row is used).
struct LocalSample {
  bool all = true;
  std::size_t rows = 0;
};
LocalSample LocalSampleSize(std::size_t max_train_rows, std::size_t total_rows,
                            const World& world) {
  if (max_train_rows == 0 || max_train_rows >= total_rows) return {};
  return {false, ShareOf(max_train_rows, world).rows()};
}

}  // namespace

int RunTrain(const MpiTrainArgs& args) {
  const World world = GetWorld();
  const cli::LearnArgs& learn = args.learn;
  LearnOptions options;
  NpyMatrixFile a;
  RowShare share;
  std::vector<float> rows;
  cli::NamedMatrix b;
  RunOnEveryRank(world, [&] {
    options = cli::ToLearnOptions(learn);
    if (options.objective == Objective::kProduct && args.b_path.empty()) {
      throw Error(
          "--objective product: needs --b, the matrix whose product the trees preserve; "
          "without --b use --objective input (then add the tables with set-b)");
    }
    if (world.root()) cli::CheckOutputPath(args.output_path, "-o");
    a = OpenNpyMatrix(args.a_path, "--a", kMinTrainRows);
    CheckNumCodebooks(learn.codebooks, a.cols, "--codebooks");
    if (!args.b_path.empty()) {
      b = cli::ReadMatrix(args.b_path, "--b", 1);
      if (b.rows() != a.cols) {
        throw Error(b.Describe() + " has " + std::to_string(b.rows()) + " rows but " +
                    a.Describe() + " has D = " + std::to_string(a.cols) +
                    " columns; B must be D x M");
      }
    }
    share = ShareOf(a.rows, world);
    rows = ReadRows(a, share);
  });
  if (world.root() && args.b_path.empty() &&
      (options.aggregation != LearnOptions().aggregation ||
       options.table_scale != LearnOptions().table_scale)) {
    std::fprintf(stderr,
                 "maddness-mpi: warning: --aggregation and --table-scale describe the tables, "
                 "which are built only with --b; give them to `maddness set-b` instead\n");
  }

  // The sample: each rank draws its share of --max-train-rows from its own rows, with its own
  // seed (seed + rank), so one rank reproduces `maddness train` exactly.
  const LocalSample sample = LocalSampleSize(options.max_train_rows, a.rows, world);
  const std::size_t local_rows = sample.all || sample.rows > 0 ? share.rows() : 0;
  options.max_train_rows = sample.all ? 0 : sample.rows;
  options.seed += static_cast<std::uint64_t>(world.rank);

  cli::ProgressPrinter printer(world.root() && !learn.quiet);
  if (world.root()) options.progress = [&printer](const Progress& progress) { printer(progress); };
  const double start = MPI_Wtime();
  const MatrixView a_view = MatrixView::RowMajor(rows.data(), local_rows, a.cols);
  const MatrixView b_view = b.view();
  const MatrixView* b_given = args.b_path.empty() ? nullptr : &b_view;
  const MpiReducer reducer;
  // The library's checks of the options, the rows and B, agreed on before any collective.
  RunOnEveryRank(world, [&] {
    cli::NamingB(b, [&] { detail::CheckLearnArgs(a_view, b_given, options, reducer); });
  });
  // Model::Learn's own path, with every statistic reduced over the ranks. Its errors (a singular
  // ridge system) come from reduced values, so they happen on every rank at the same point; any
  // other exception ends the job in main() with MPI_Abort.
  Model model;
  std::string learn_error;
  try {
    model = cli::NamingB(b, [&] { return detail::LearnModel(a_view, b_given, options, reducer); });
  } catch (const Error& error) {
    learn_error = error.what();
  }
  if (const std::optional<std::string> failure = FirstFailure(learn_error, world)) {
    throw RankFailure(*failure);
  }
  printer.Finish();
  const double seconds = MPI_Wtime() - start;

  RunOnEveryRank(world, [&] {
    if (!world.root()) return;
    model.Save(args.output_path);
    if (!learn.quiet) {
      std::fprintf(stderr,
                   "learned %d codebooks on %llu%s x %zu rows over %d ranks in %.2f s%s; "
                   "wrote %s\n",
                   model.num_codebooks(), static_cast<unsigned long long>(model.num_train_rows()),
                   model.num_train_rows() < a.rows
                       ? (" (sampled from " + std::to_string(a.rows) + ")").c_str()
                       : "",
                   a.cols, world.size, seconds,
                   model.has_tables() ? "" : " (encoder only: run set-b to add tables)",
                   args.output_path.c_str());
    }
  });
  return 0;
}

}  // namespace maddness::mpi
