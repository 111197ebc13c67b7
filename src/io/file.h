// Whole-file reads and atomic writes.
#ifndef MADDNESS_SRC_IO_FILE_H_
#define MADDNESS_SRC_IO_FILE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace maddness::io {

// Reads the whole file; throws maddness::Error naming `name` and `path` when it cannot.
std::vector<std::uint8_t> ReadFile(const std::string& path, const std::string& name);

// Reads the file like ReadFile, but first only its first `prefix_bytes` bytes (fewer when the
// file ends sooner), which it hands to limit_of(bytes, size). limit_of throws Error when they show
// that the file is not what the caller reads (a wrong magic), or returns the most bytes the whole
// file may have. Reading then stops at that limit plus one byte: a result longer than the limit
// means the file is longer, and a huge file or an endless device (/dev/zero) is never read whole.
std::vector<std::uint8_t> ReadFileBounded(
    const std::string& path, const std::string& name, std::size_t prefix_bytes,
    const std::function<std::size_t(const std::uint8_t*, std::size_t)>& limit_of);

// Where an output named `path` goes. The one rule for every writer (model files, .npy outputs,
// experiment results, Python save, maddness-mpi):
// - a new path or a regular file: written to a temporary file in the same directory, then renamed
//   over it (atomic: readers see the old or the new content, never a part);
// - a symbolic link: followed (all the way); the rule applies to the file it leads to, so the link
//   stays and the file behind it is replaced atomically. A link to nothing is refused;
// - a character device (/dev/null, a terminal) or a FIFO: written in place, never replaced;
// - anything else (directory, block device, socket): refused.
struct OutputTarget {
  std::string path;       // the file to write: `path`, or where its symbolic links lead
  bool in_place = false;  // a character device or FIFO: open and write, no temporary file
};
// Throws Error naming `name` and `path` for the refused kinds.
OutputTarget ResolveOutputTarget(const std::string& path, const std::string& name);

// Writes `bytes` to `path` by the rule of ResolveOutputTarget. On failure the temporary file is
// removed and Error thrown. Writing into a FIFO blocks until a reader opens it.
void WriteFileAtomic(const std::string& path, const std::vector<std::uint8_t>& bytes,
                     const std::string& name);

// A temporary file for an atomic write of `path` (already resolved): `path` + ".tmp-XXXXXX",
// created empty with the mode a plain open() would give. It is removed by the destructor unless
// RenameOver succeeded, and by RemoveTemporaryFilesNow (on SIGINT, SIGTERM, SIGHUP once
// RemoveTemporaryFilesOnSignals ran) while it exists. Throws Error naming `name` when it cannot
// be created.
class TemporaryFile {
 public:
  TemporaryFile(const std::string& path, const std::string& name);
  ~TemporaryFile();
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;

  const std::string& path() const { return temp_path_; }
  // The open descriptor (read-write), or -1 after CloseDescriptor.
  int descriptor() const { return fd_; }
  // Closes the descriptor; returns close()'s result.
  int CloseDescriptor();
  // Renames the file over `path` (the one given to the constructor); throws Error on failure.
  void RenameOver();

 private:
  std::string path_;
  std::string name_;
  std::string temp_path_;
  int fd_ = -1;
  int slot_ = -1;  // in the registry of pending temporary files, or -1 when not registered
  bool renamed_ = false;
};

// Unlinks every TemporaryFile that exists now. Async-signal-safe: for signal handlers.
void RemoveTemporaryFilesNow() noexcept;

// Installs handlers for SIGINT, SIGTERM and SIGHUP (those not ignored) that remove the pending
// temporary files and then end the process by the same signal, as its default action would. For
// programs (the maddness commands), not for libraries hosted in other programs.
void RemoveTemporaryFilesOnSignals();

}  // namespace maddness::io

#endif  // MADDNESS_SRC_IO_FILE_H_
