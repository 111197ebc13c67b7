// The subcommands of maddness-mpi. main.cc parses the command line into these structs; each Run*
// function is collective (every rank calls it), validates the arguments, does the work and
// returns the exit status. Failures on any rank throw RankFailure on every rank (mpi_util.h).
#ifndef MADDNESS_TOOLS_MPI_MPI_COMMANDS_H_
#define MADDNESS_TOOLS_MPI_MPI_COMMANDS_H_

#include <string>

#include "tools/commands.h"

namespace maddness::mpi {

struct MpiApplyArgs {
  std::string model_path;
  std::string a_path;
  std::string output_path;
  bool shards = false;  // one file per rank instead of one shared file
  bool raw = false;     // uint16 raw sums instead of float32 outputs
  int threads = 1;
  bool timing = false;  // one JSON line of phase times on stdout
};
int RunApply(const MpiApplyArgs& args);

struct MpiTrainArgs {
  std::string a_path;
  std::string b_path;  // empty: learn the encoder only
  std::string output_path;
  cli::LearnArgs learn;
};
int RunTrain(const MpiTrainArgs& args);

// The file rank `rank` of `size` writes with --shards: "Y.npy" -> "Y-00001-of-00004.npy" (the
// ".npy" suffix is kept last; a path without it gets the suffix appended after the numbers).
std::string ShardPath(const std::string& output_path, int rank, int size);

}  // namespace maddness::mpi

#endif  // MADDNESS_TOOLS_MPI_MPI_COMMANDS_H_
