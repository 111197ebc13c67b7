// maddness-mpi: the `maddness` commands that scale over MPI ranks (docs/scale-out.md).
//
//   mpirun -n 4 maddness-mpi apply model.maddness --a A.npy -o Y.npy [--shards] [--threads 1]
//   mpirun -n 4 maddness-mpi train --a A_train.npy --b B.npy --codebooks 16 -o model.maddness
//
// Every rank parses the same command line; only rank 0 prints messages. Exit status: 0 on
// success, 1 when the inputs are wrong or the work fails on any rank (rank 0 prints the message of
// the first failing rank on stderr, and every rank exits), 2 when the command line cannot be
// parsed.
#include <mpi.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <limits>
#include <sstream>
#include <string>

#include "maddness/maddness.h"
#include "src/io/file.h"
#include "tools/cli_common.h"
#include "tools/learn_flags.h"
#include "tools/mpi/mpi_commands.h"
#include "tools/mpi/mpi_util.h"

namespace maddness::mpi {
namespace {

constexpr int kExitUsage = 2;

int Main(int argc, char** argv, const World& world) {
  CLI::App app{"maddness-mpi: the maddness commands over MPI ranks (docs/scale-out.md)",
               "maddness-mpi"};
  app.require_subcommand(1);
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.set_version_flag("--version", "maddness-mpi 0.1.0");

  MpiApplyArgs apply;
  CLI::App* apply_command = app.add_subcommand(
      "apply", "approximate A*B with a model, each rank taking a contiguous share of the rows");
  apply_command->add_option("MODEL", apply.model_path, "model file with tables")->required();
  apply_command->add_option("--a", apply.a_path, "A.npy: N x D float32, C order")->required();
  apply_command
      ->add_option("-o,--output", apply.output_path,
                   "Y.npy to write: N x M float32 (uint16 with --raw)")
      ->required();
  apply_command->add_flag("--shards", apply.shards,
                          "write one file per rank, Y-RRRRR-of-KKKKK.npy, instead of one Y.npy");
  apply_command->add_flag("--raw", apply.raw,
                          "write the raw 16-bit sums (uint16) instead of float32 outputs: "
                          "output m = raw * scale[m] + offset[m]");
  apply_command
      ->add_option("--threads,-t", apply.threads, "worker threads per rank, 0 = every core")
      ->capture_default_str();
  apply_command->add_flag("--timing", apply.timing,
                          "print one JSON line with the slowest rank's time of each phase");

  MpiTrainArgs train;
  train.learn.threads = 1;
  // Each codebook owns a range of adjacent columns: choosing another order needs every row.
  train.learn.grouping = "contiguous";
  CLI::App* train_command = app.add_subcommand(
      "train", "learn a model from A_train spread over the ranks (and build its tables for B)");
  train_command->add_option("--a", train.a_path, "A_train.npy: N x D float32, C order")->required();
  train_command->add_option("--b", train.b_path,
                            "B.npy: D x M; without it only the encoder is learned (see set-b)");
  train_command->add_option("-o,--output", train.output_path, "model file to write")->required();
  // The learning flags of `maddness train`, with the same names and meanings.
  cli::LearnFlagSet flags;
  flags.classifier = false;
  flags.distributed = true;
  cli::AddLearnFlags(train_command, &train.learn, flags);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    std::ostringstream discarded;
    const int status = world.root() ? app.exit(error) : app.exit(error, discarded, discarded);
    return status == 0 ? 0 : kExitUsage;
  }
  if (apply_command->parsed()) return RunApply(apply);
  if (train_command->parsed()) return RunTrain(train);
  return kExitUsage;
}

}  // namespace
}  // namespace maddness::mpi

int main(int argc, char** argv) {
  int provided = 0;
  // Only the main thread calls MPI; the kernels' worker threads never do.
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  const maddness::mpi::World world = maddness::mpi::GetWorld();
  // After MPI_Init, which may install handlers of its own: mpirun forwards SIGINT as SIGTERM.
  maddness::io::RemoveTemporaryFilesOnSignals();
  int status = 1;
  try {
    status = maddness::mpi::Main(argc, argv, world);
  } catch (const maddness::mpi::RankFailure& failure) {
    // Every rank knows: rank 0 reports, all exit cleanly.
    if (world.root()) std::fprintf(stderr, "maddness-mpi: error: %s\n", failure.what());
    status = 1;
  } catch (...) {
    // Only this rank knows; the others may be waiting for it in a collective.
    std::fprintf(stderr, "maddness-mpi: error: rank %d of %d: %s\n", world.rank, world.size,
                 maddness::mpi::CurrentExceptionMessage().c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Finalize();
  return status;
}
