#include "tools/mpi/mpi_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <new>

#include "src/io/file.h"
#include "src/io/npy.h"

namespace maddness::mpi {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "maddness-mpi reads and writes .npy data in the host's byte order, which must be "
              "little-endian");

// MPI counts are int: large buffers travel in pieces of at most this many elements or bytes.
constexpr std::size_t kMaxPiece = std::size_t{1} << 28;

// Reduces `values` to rank 0 with `op`, then broadcasts the result.
void ReduceAndBroadcast(void* values, std::size_t count, MPI_Datatype type, std::size_t type_size,
                        MPI_Op op) {
  auto* bytes = static_cast<unsigned char*>(values);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  for (std::size_t done = 0; done < count; done += kMaxPiece) {
    const int piece = static_cast<int>(std::min(kMaxPiece, count - done));
    void* data = bytes + done * type_size;
    MPI_Reduce(rank == 0 ? MPI_IN_PLACE : data, rank == 0 ? data : nullptr, piece, type, op, 0,
               MPI_COMM_WORLD);
    MPI_Bcast(data, piece, type, 0, MPI_COMM_WORLD);
  }
}

// Reads `size` bytes at `offset` of the open file `fd` into `out`.
void ReadAt(int fd, std::uint8_t* out, std::size_t size, std::size_t offset,
            const std::string& what) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t got = ::pread(fd, out + done, std::min(size - done, kMaxPiece),
                                static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw Error(what + ": cannot read: " + std::strerror(errno));
    if (got == 0) throw Error(what + ": the file became shorter while it was read");
    done += static_cast<std::size_t>(got);
  }
}

// An MPI-IO error code as text.
std::string MpiErrorText(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return std::string(text, static_cast<std::size_t>(std::max(0, length)));
}

}  // namespace

World GetWorld() {
  World world;
  MPI_Comm_rank(MPI_COMM_WORLD, &world.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world.size);
  return world;
}

RowShare ShareOf(std::size_t num_rows, const World& world) {
  const auto size = static_cast<std::size_t>(world.size);
  const auto rank = static_cast<std::size_t>(world.rank);
  const std::size_t base = num_rows / size;
  const std::size_t extra = num_rows % size;
  RowShare share;
  share.begin = rank * base + std::min(rank, extra);
  share.end = share.begin + base + (rank < extra ? 1 : 0);
  return share;
}

std::optional<std::string> FirstFailure(const std::string& local_error, const World& world) {
  const int candidate = local_error.empty() ? world.size : world.rank;
  int first = world.size;
  MPI_Allreduce(&candidate, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (first == world.size) return std::nullopt;
  std::string message = local_error;
  int length = static_cast<int>(std::min<std::size_t>(message.size(), 4096));
  MPI_Bcast(&length, 1, MPI_INT, first, MPI_COMM_WORLD);
  message.resize(static_cast<std::size_t>(length));
  MPI_Bcast(message.data(), length, MPI_CHAR, first, MPI_COMM_WORLD);
  if (world.size > 1) {
    message =
        "rank " + std::to_string(first) + " of " + std::to_string(world.size) + ": " + message;
  }
  return message;
}

std::string CurrentExceptionMessage() {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    return "out of memory; the inputs are too large for this rank (use more ranks)";
  } catch (const std::exception& error) {
    return error.what();
  } catch (...) {
    return "unknown error";
  }
}

void RunOnEveryRank(const World& world, const std::function<void()>& step) {
  std::string error;
  try {
    step();
  } catch (...) {
    error = CurrentExceptionMessage();
    if (error.empty()) error = "unknown error";
  }
  if (const std::optional<std::string> failure = FirstFailure(error, world)) {
    throw RankFailure(*failure);
  }
}

void MpiReducer::AllReduceSum(double* values, std::size_t count) const {
  ReduceAndBroadcast(values, count, MPI_DOUBLE, sizeof(double), MPI_SUM);
}

void MpiReducer::AllReduceSum(std::int64_t* values, std::size_t count) const {
  ReduceAndBroadcast(values, count, MPI_INT64_T, sizeof(std::int64_t), MPI_SUM);
}

void MpiReducer::AllReduceMin(double* values, std::size_t count) const {
  ReduceAndBroadcast(values, count, MPI_DOUBLE, sizeof(double), MPI_MIN);
}

void MpiReducer::AllReduceMax(double* values, std::size_t count) const {
  ReduceAndBroadcast(values, count, MPI_DOUBLE, sizeof(double), MPI_MAX);
}

NpyMatrixFile OpenNpyMatrix(const std::string& path, const std::string& name,
                            std::size_t min_rows) {
  const io::NpyHeader header = io::ReadNpyHeader(path, name);
  NpyMatrixFile file{name, path};
  const std::string what = file.Describe();
  if (header.shape.size() != 2) {
    throw Error(what + " has " + std::to_string(header.shape.size()) +
                " dimension(s); it must be a 2-D matrix (reshape a vector to (n, 1) or (1, n))");
  }
  file.rows = header.shape[0];
  file.cols = header.shape[1];
  if (header.descr != "<f4" || header.fortran_order) {
    throw Error(what + " has dtype '" + header.descr + "'" +
                (header.fortran_order ? " in Fortran order" : "") +
                "; maddness-mpi reads rows at file offsets and needs float32 in C order "
                "(convert with numpy.save(path, numpy.ascontiguousarray(a, dtype=numpy.float32)))");
  }
  if (file.rows < min_rows) {
    throw Error(what + " has " + std::to_string(file.rows) + " rows; it needs at least " +
                std::to_string(min_rows));
  }
  if (file.cols == 0) throw Error(what + " has 0 columns; it needs at least 1");
  file.data_offset = header.data_offset;
  return file;
}

std::vector<float> ReadRows(const NpyMatrixFile& file, const RowShare& share) {
  const std::string what = file.Describe();
  std::vector<float> values(share.rows() * file.cols);
  if (values.empty()) return values;
  const int fd = ::open(file.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(what + ": cannot open: " + std::strerror(errno));
  try {
    ReadAt(fd, reinterpret_cast<std::uint8_t*>(values.data()), values.size() * sizeof(float),
           file.data_offset + share.begin * file.cols * sizeof(float), what);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  const auto bad =
      std::find_if(values.begin(), values.end(), [](float value) { return !std::isfinite(value); });
  if (bad != values.end()) {
    const auto index = static_cast<std::size_t>(bad - values.begin());
    throw Error(what + ": entry [" + std::to_string(share.begin + index / file.cols) + ", " +
                std::to_string(index % file.cols) + "] is " + std::to_string(*bad) +
                "; every value must be finite (no NaN or infinity)");
  }
  return values;
}

void WriteSharedFile(const World& world, const std::string& path,
                     const std::vector<std::uint8_t>& header, const std::uint8_t* local_bytes,
                     std::size_t local_size, std::size_t byte_offset) {
  const std::string what = "-o (" + path + ")";
  // Rank 0 applies the library's rule for outputs (io::ResolveOutputTarget): symbolic links are
  // followed, and the file they lead to is replaced. MPI-IO writes at offsets, which a device or
  // FIFO cannot take, so those are refused. Rank 0 then makes a unique temporary file (removed on
  // failure, and on SIGINT or SIGTERM) and shares its name.
  std::string temp_path;
  std::unique_ptr<io::TemporaryFile> temp;
  RunOnEveryRank(world, [&] {
    if (!world.root()) return;
    const io::OutputTarget target = io::ResolveOutputTarget(path, "-o");
    if (target.in_place) {
      throw Error(what +
                  ": is a character device or FIFO; maddness-mpi writes its output with MPI-IO "
                  "at file offsets, which needs a regular file (write one, then copy it)");
    }
    temp = std::make_unique<io::TemporaryFile>(target.path, "-o");
    temp->CloseDescriptor();
    temp_path = temp->path();
  });
  int name_length = static_cast<int>(temp_path.size());
  MPI_Bcast(&name_length, 1, MPI_INT, 0, MPI_COMM_WORLD);
  temp_path.resize(static_cast<std::size_t>(name_length));
  MPI_Bcast(temp_path.data(), name_length, MPI_CHAR, 0, MPI_COMM_WORLD);

  // MPI-IO reports file errors through return codes (MPI_ERRORS_RETURN is the default for files).
  MPI_File handle = MPI_FILE_NULL;
  const int open_code =
      MPI_File_open(MPI_COMM_WORLD, temp_path.c_str(), MPI_MODE_WRONLY, MPI_INFO_NULL, &handle);
  std::string error;
  if (open_code != MPI_SUCCESS) error = what + ": cannot open the temporary file with MPI-IO: ";
  const auto write_at = [&](const std::uint8_t* bytes, std::size_t size, std::size_t offset) {
    for (std::size_t done = 0; done < size && error.empty(); done += kMaxPiece) {
      const int piece = static_cast<int>(std::min(kMaxPiece, size - done));
      MPI_Status status;
      const int code = MPI_File_write_at(handle, static_cast<MPI_Offset>(offset + done),
                                         bytes + done, piece, MPI_BYTE, &status);
      int written = 0;
      MPI_Get_count(&status, MPI_BYTE, &written);
      if (code != MPI_SUCCESS) {
        error = what + ": cannot write: " + MpiErrorText(code);
      } else if (written != piece) {
        error = what + ": cannot write: short write (disk full?)";
      }
    }
  };
  if (open_code == MPI_SUCCESS) {
    if (world.root()) write_at(header.data(), header.size(), 0);
    write_at(local_bytes, local_size, header.size() + byte_offset);
  } else {
    error += MpiErrorText(open_code);
  }
  std::optional<std::string> failure = FirstFailure(error, world);
  if (open_code == MPI_SUCCESS) {
    if (!failure) {
      const int sync_code = MPI_File_sync(handle);  // collective
      failure = FirstFailure(sync_code == MPI_SUCCESS
                                 ? ""
                                 : what + ": cannot flush to disk: " + MpiErrorText(sync_code),
                             world);
    }
    MPI_File_close(&handle);  // collective
  }
  if (world.root() && !failure) {
    try {
      temp->RenameOver();
    } catch (const Error& rename_error) {
      error = rename_error.what();
    }
  }
  temp.reset();  // removes the temporary file unless it was renamed
  if (!failure) failure = FirstFailure(world.root() ? error : "", world);
  if (failure) throw RankFailure(*failure);
}

}  // namespace maddness::mpi
