// maddness-mpi apply: every rank approximates A*B for its contiguous share of the rows of A.
//
// Rank 0 reads the model and broadcasts its bytes; each rank reads only its rows of A (positioned
// reads), runs the kernels with --threads threads, and writes its outputs either into one .npy
// file with MPI-IO at its rows' offsets (rank 0 writes the header) or into a shard file of its
// own. The outputs are those of `maddness apply`, bit for bit: every row is computed alone.
#include <mpi.h>

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "maddness/maddness.h"
#include "src/io/npy.h"
#include "tools/cli_common.h"
#include "tools/mpi/mpi_commands.h"
#include "tools/mpi/mpi_util.h"

namespace maddness::mpi {
namespace {

// Sends rank 0's `bytes` to every rank.
void BroadcastBytes(std::vector<std::uint8_t>* bytes) {
  std::uint64_t size = bytes->size();
  MPI_Bcast(&size, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  bytes->resize(size);
  constexpr std::uint64_t kPiece = std::uint64_t{1} << 30;
  for (std::uint64_t done = 0; done < size; done += kPiece) {
    const int piece = static_cast<int>(std::min(kPiece, size - done));
    MPI_Bcast(bytes->data() + done, piece, MPI_BYTE, 0, MPI_COMM_WORLD);
  }
}

// CPU seconds used by this process so far (all its threads). Unlike wall-clock time, it does not
// grow when other programs share the cores.
double ProcessCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

// The largest of each rank's `value`, on rank 0.
double MaxOverRanks(double value) {
  double result = value;
  MPI_Reduce(&value, &result, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
  return result;
}

}  // namespace

std::string ShardPath(const std::string& output_path, int rank, int size) {
  const std::string suffix = ".npy";
  const bool has_suffix =
      output_path.size() > suffix.size() &&
      output_path.compare(output_path.size() - suffix.size(), suffix.size(), suffix) == 0;
  const std::string stem =
      has_suffix ? output_path.substr(0, output_path.size() - suffix.size()) : output_path;
  char numbers[64];
  std::snprintf(numbers, sizeof(numbers), "-%05d-of-%05d", rank, size);
  return stem + numbers + suffix;
}

int RunApply(const MpiApplyArgs& args) {
  const World world = GetWorld();
  const double start = MPI_Wtime();

  std::vector<std::uint8_t> model_bytes;
  RunOnEveryRank(world, [&] {
    CheckThreads(args.threads, "--threads");
    cli::CheckOutputPath(args.output_path, "-o");
    if (!world.root()) return;
    const Model model = cli::LoadModel(args.model_path, "MODEL");
    if (!model.has_tables()) {
      throw Error("MODEL (" + args.model_path +
                  ") has no lookup tables: it was learned without --b; add them with "
                  "`maddness set-b MODEL --b B.npy -o MODEL2`");
    }
    model_bytes = model.Serialize();
  });
  BroadcastBytes(&model_bytes);
  Model model;
  RunOnEveryRank(world,
                 [&] { model = Model::Deserialize(model_bytes.data(), model_bytes.size()); });
  const std::size_t outputs = model.output_dim();
  const double model_seconds = MPI_Wtime() - start;

  // Read phase: the header on every rank, then this rank's rows only; the output buffer is
  // allocated (and its pages touched) here too, so that the compute phase times the kernels.
  double phase_start = MPI_Wtime();
  NpyMatrixFile a;
  RowShare share;
  std::vector<float> rows;
  std::vector<float> values;
  std::vector<std::uint16_t> raw_values;
  RunOnEveryRank(world, [&] {
    a = OpenNpyMatrix(args.a_path, "--a", 0);
    if (a.cols != model.input_dim()) {
      throw Error(a.Describe() + " has " + std::to_string(a.cols) + " columns but the model " +
                  args.model_path + " was learned on D = " + std::to_string(model.input_dim()) +
                  "; A must have D columns");
    }
    share = ShareOf(a.rows, world);
    rows = ReadRows(a, share);
    if (args.raw) {
      raw_values.resize(share.rows() * outputs);
    } else {
      values.resize(share.rows() * outputs);
    }
  });
  const double read_seconds = MPI_Wtime() - phase_start;

  // Compute phase, timed on each rank without the final agreement (which waits for the slowest).
  double compute_seconds = 0.0;
  double compute_cpu_seconds = 0.0;
  RunOnEveryRank(world, [&] {
    if (share.rows() == 0) return;
    const double compute_start = MPI_Wtime();
    const double cpu_start = ProcessCpuSeconds();
    ApplyOptions options;
    options.threads = args.threads;
    const MatrixView view = MatrixView::RowMajor(rows.data(), share.rows(), a.cols);
    if (args.raw) {
      const std::vector<std::uint8_t> packed = model.EncodePacked(view, options);
      model.ScanPackedRaw(packed.data(), packed.size(), share.rows(), raw_values.data(), 0,
                          options);
    } else {
      model.Apply(view, values.data(), 0, options);
    }
    compute_seconds = MPI_Wtime() - compute_start;
    compute_cpu_seconds = ProcessCpuSeconds() - cpu_start;
  });
  rows = std::vector<float>();

  // Write phase.
  phase_start = MPI_Wtime();
  const char* descr = args.raw ? "<u2" : "<f4";
  const std::size_t element_bytes = args.raw ? sizeof(std::uint16_t) : sizeof(float);
  const auto* local_bytes = args.raw ? reinterpret_cast<const std::uint8_t*>(raw_values.data())
                                     : reinterpret_cast<const std::uint8_t*>(values.data());
  if (args.shards) {
    const std::string shard_path = ShardPath(args.output_path, world.rank, world.size);
    std::string error;
    try {
      if (args.raw) {
        io::WriteNpy(shard_path, raw_values.data(), {share.rows(), outputs});
      } else {
        io::WriteNpy(shard_path, values.data(), {share.rows(), outputs});
      }
    } catch (...) {
      error = CurrentExceptionMessage();
    }
    if (const std::optional<std::string> failure = FirstFailure(error, world)) {
      // A partial set of shards is useless: the ranks that wrote theirs remove them.
      if (error.empty()) std::remove(shard_path.c_str());
      throw RankFailure(*failure);
    }
  } else {
    WriteSharedFile(world, args.output_path, io::NpyHeaderBytes(descr, {a.rows, outputs}),
                    local_bytes, share.rows() * outputs * element_bytes,
                    share.begin * outputs * element_bytes);
  }
  const double write_seconds = MPI_Wtime() - phase_start;
  const double total_seconds = MPI_Wtime() - start;

  const double times[] = {MaxOverRanks(model_seconds),   MaxOverRanks(read_seconds),
                          MaxOverRanks(compute_seconds), MaxOverRanks(write_seconds),
                          MaxOverRanks(total_seconds),   MaxOverRanks(compute_cpu_seconds)};
  if (args.timing && world.root()) {
    std::printf(
        "{\"command\": \"apply\", \"ranks\": %d, \"threads\": %d, \"n\": %zu, \"d\": %zu, "
        "\"m\": %zu, \"output\": \"%s\", \"files\": \"%s\", \"model_s\": %.6f, \"read_s\": %.6f, "
        "\"compute_s\": %.6f, \"compute_cpu_s\": %.6f, \"write_s\": %.6f, \"total_s\": %.6f}\n",
        world.size, args.threads, a.rows, a.cols, outputs, args.raw ? "raw" : "f32",
        args.shards ? "shards" : "single", times[0], times[1], times[2], times[5], times[3],
        times[4]);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace maddness::mpi
