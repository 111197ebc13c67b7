// MPI helpers of maddness-mpi: row shares, agreeing on failures, the learning Reducer, and
// reading a share of a .npy matrix with file offsets.
//
// Failure protocol: every step that can fail on some ranks only (reading files, user mistakes,
// writing) runs through RunOnEveryRank or FirstFailure, which are collective: either every rank
// goes on, or every rank throws RankFailure with the message of the lowest failing rank, and
// main() exits with status 1 after MPI_Finalize. Nothing can hang waiting for a rank that failed.
// An exception outside this protocol (for example out of memory inside learning, while the other
// ranks wait in a reduction) ends the whole job with MPI_Abort.
#ifndef MADDNESS_TOOLS_MPI_MPI_UTIL_H_
#define MADDNESS_TOOLS_MPI_MPI_UTIL_H_

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "maddness/maddness.h"
#include "src/train/reduce.h"

namespace maddness::mpi {

// This process's place in MPI_COMM_WORLD.
struct World {
  int rank = 0;
  int size = 1;
  bool root() const { return rank == 0; }
};
World GetWorld();

// Rows [begin, end) of N that rank `rank` of `size` holds: contiguous, in rank order, sizes
// differing by at most one (the first N mod size ranks get one more).
struct RowShare {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t rows() const { return end - begin; }
};
RowShare ShareOf(std::size_t num_rows, const World& world);

// Thrown on every rank once the ranks agree that a step failed somewhere.
class RankFailure : public std::runtime_error {
 public:
  explicit RankFailure(const std::string& message) : std::runtime_error(message) {}
};

// Collective. `local_error` is this rank's error message, empty when its step succeeded. Returns
// nothing when every rank succeeded, and otherwise the message of the lowest failing rank
// (prefixed with "rank R of K: " when K > 1) on every rank.
std::optional<std::string> FirstFailure(const std::string& local_error, const World& world);

// Collective. Runs step() (which may do nothing on some ranks) and throws RankFailure on every
// rank when it threw on any.
void RunOnEveryRank(const World& world, const std::function<void()>& step);

// The message of the exception being handled, for FirstFailure (call inside a catch block).
std::string CurrentExceptionMessage();

// The Reducer of distributed learning: a reduction to rank 0 in a fixed order followed by a
// broadcast, so that every rank holds bit-identical results (MPI_Allreduce does not promise this
// for floating-point sums).
class MpiReducer : public detail::Reducer {
 public:
  bool distributed() const override { return true; }
  void AllReduceSum(double* values, std::size_t count) const override;
  void AllReduceSum(std::int64_t* values, std::size_t count) const override;
  void AllReduceMin(double* values, std::size_t count) const override;
  void AllReduceMax(double* values, std::size_t count) const override;
};

// The 2-D float32 C-order matrix in a .npy file, located without reading its data.
struct NpyMatrixFile {
  std::string name;  // the argument, e.g. "--a"
  std::string path;
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::size_t data_offset = 0;
  std::string Describe() const { return name + " (" + path + ")"; }
};

// Reads and checks the header of `path`: a 2-D little-endian float32 array in C order with at
// least `min_rows` rows and one column (maddness-mpi reads rows at file offsets, which other
// dtypes and Fortran order would not allow; the message says how to convert).
NpyMatrixFile OpenNpyMatrix(const std::string& path, const std::string& name, std::size_t min_rows);

// Reads rows [share.begin, share.end) of `file` with positioned reads of those bytes only, and
// checks that they are finite (the message gives the row's index in the whole file).
std::vector<float> ReadRows(const NpyMatrixFile& file, const RowShare& share);

// Writes one .npy file collectively with MPI-IO: rank 0 writes `header`, every rank writes its
// `local_bytes` at header.size() + byte_offset. The data goes to a temporary file in the same
// directory, which is flushed and renamed to `path` by rank 0 once every rank has written; on any
// failure it is deleted and every rank throws RankFailure.
void WriteSharedFile(const World& world, const std::string& path,
                     const std::vector<std::uint8_t>& header, const std::uint8_t* local_bytes,
                     std::size_t local_size, std::size_t byte_offset);

}  // namespace maddness::mpi

#endif  // MADDNESS_TOOLS_MPI_MPI_UTIL_H_
