#include "src/io/file.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>

#include "src/common/check.h"

namespace maddness::io {
namespace {

// "--a (/tmp/x.npy)": how every message of this file starts.
std::string Where(const std::string& name, const std::string& path) {
  return name.empty() ? "'" + path + "'" : name + " (" + path + ")";
}

[[noreturn]] void FailWithErrno(const std::string& name, const std::string& path,
                                const char* action, int error_number) {
  detail::Fail(Where(name, path), ": ", action, ": ", std::strerror(error_number));
}

// Closes a file descriptor when it goes out of scope (errors on close of a file that was only
// read are harmless and ignored).
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }
  // Closes now and returns close()'s result; the destructor then does nothing.
  int Close() {
    const int result = ::close(fd_);
    fd_ = -1;
    return result;
  }

 private:
  int fd_;
};

// The process's file mode creation mask, read without changing it (umask(2) can only be read by
// setting it, which races with other threads creating files). Linux reports it in
// /proc/self/status since 4.7; elsewhere we assume the strictest common mask, 077.
mode_t CurrentUmask() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Umask:", 0) == 0) {
      std::istringstream field(line.substr(6));
      unsigned int mask = 0;
      if (field >> std::oct >> mask) return static_cast<mode_t>(mask & 0777);
    }
  }
  return 077;
}

// Best effort: makes a rename in `directory` durable. Failure only weakens durability after a
// crash, never the atomicity of the rename, so it is not reported.
void SyncDirectory(const std::string& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

std::string DirectoryOf(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

std::vector<std::uint8_t> ReadFile(const std::string& path, const std::string& name) {
  return ReadFileBounded(path, name, 0, nullptr);
}

std::vector<std::uint8_t> ReadFileBounded(
    const std::string& path, const std::string& name, std::size_t prefix_bytes,
    const std::function<std::size_t(const std::uint8_t*, std::size_t)>& limit_of) {
  if (path.empty()) detail::Fail(name, ": the file name is empty");
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) FailWithErrno(name, path, "cannot open the file for reading", errno);
  ScopedFd file(fd);

  struct stat info;
  if (::fstat(fd, &info) != 0) FailWithErrno(name, path, "cannot get the file's size", errno);
  if (S_ISDIR(info.st_mode)) detail::Fail(Where(name, path), ": is a directory, not a file");

  // A regular file is read into a buffer of its size plus one byte (room to see the end of the
  // file without reallocating the whole buffer); anything else (a pipe, a device, a file that
  // grows while we read) grows the buffer by chunks. Never past `stop`.
  const bool regular = S_ISREG(info.st_mode);
  const auto file_size = static_cast<std::size_t>(regular ? info.st_size : 0);
  constexpr std::size_t kChunk = std::size_t{1} << 16;
  std::vector<std::uint8_t> bytes;
  std::size_t filled = 0;
  // Reads until `stop` bytes are held or the file ends; returns whether it ended.
  const auto read_until = [&](std::size_t stop) {
    while (filled < stop) {
      if (filled == bytes.size()) {
        const std::size_t grown = regular && filled <= file_size
                                      ? file_size + 1
                                      : filled + std::min(kChunk, stop - filled);
        bytes.resize(std::min(stop, std::max(grown, filled + 1)));
      }
      const ssize_t count = ::read(fd, bytes.data() + filled, bytes.size() - filled);
      if (count < 0) {
        if (errno == EINTR) continue;
        FailWithErrno(name, path, "cannot read the file", errno);
      }
      if (count == 0) return true;
      filled += static_cast<std::size_t>(count);
    }
    return false;
  };
  const std::size_t kUnbounded = std::numeric_limits<std::size_t>::max();
  bool ended = false;
  std::size_t limit = kUnbounded;
  if (limit_of) {
    ended = read_until(prefix_bytes);
    limit = limit_of(bytes.data(), filled);
  }
  if (!ended) read_until(limit == kUnbounded ? kUnbounded : limit + 1);
  bytes.resize(filled);  // the file may be shorter than the buffer
  return bytes;
}

OutputTarget ResolveOutputTarget(const std::string& path, const std::string& name) {
  if (path.empty()) detail::Fail(name, ": the file name is empty");
  struct stat info;
  if (::lstat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return {path, false};  // a new file (a missing directory fails later)
    FailWithErrno(name, path, "cannot examine the output path", errno);
  }
  OutputTarget target{path, false};
  if (S_ISLNK(info.st_mode)) {
    char* resolved = ::realpath(path.c_str(), nullptr);
    if (resolved == nullptr) {
      const int error_number = errno;
      detail::Fail(Where(name, path),
                   ": is a symbolic link that cannot be followed to an existing file (",
                   std::strerror(error_number),
                   "); outputs are written through links, so the link must lead to a file");
    }
    target.path = resolved;
    std::free(resolved);
    if (::stat(target.path.c_str(), &info) != 0) {
      FailWithErrno(name, path, "cannot examine the file its symbolic link leads to", errno);
    }
  }
  if (S_ISREG(info.st_mode)) return target;
  if (S_ISCHR(info.st_mode) || S_ISFIFO(info.st_mode)) {
    target.in_place = true;
    return target;
  }
  const char* kind = S_ISDIR(info.st_mode)    ? "a directory"
                     : S_ISBLK(info.st_mode)  ? "a block device"
                     : S_ISSOCK(info.st_mode) ? "a socket"
                                              : "not a regular file";
  detail::Fail(Where(name, path), ": is ", kind,
               "; an output must be a regular file or a new path (replaced atomically), or a "
               "character device or FIFO (written in place)");
}

namespace {

// The registry of pending temporary files, readable from a signal handler: fixed slots, each
// claimed with an atomic compare-and-swap, filled, then published. A handler unlinks only
// published slots and never allocates or locks.
constexpr int kMaxPendingFiles = 64;
constexpr int kSlotFree = 0;
constexpr int kSlotFilling = 1;
constexpr int kSlotPublished = 2;
struct PendingSlot {
  std::atomic<int> state{kSlotFree};
  char path[PATH_MAX] = {};
};
PendingSlot g_pending[kMaxPendingFiles];
static_assert(std::atomic<int>::is_always_lock_free, "the registry must be async-signal-safe");

// Returns the slot holding `path`, or -1 when the path is too long or every slot is taken (then
// only a signal can leave the file behind, as before).
int RegisterPending(const std::string& path) {
  if (path.size() >= PATH_MAX) return -1;
  for (int i = 0; i < kMaxPendingFiles; ++i) {
    int expected = kSlotFree;
    if (g_pending[i].state.compare_exchange_strong(expected, kSlotFilling)) {
      std::memcpy(g_pending[i].path, path.c_str(), path.size() + 1);
      g_pending[i].state.store(kSlotPublished, std::memory_order_release);
      return i;
    }
  }
  return -1;
}

void UnregisterPending(int slot) {
  if (slot >= 0) g_pending[slot].state.store(kSlotFree, std::memory_order_release);
}

// Blocks the signals whose handlers remove temporary files while it exists, so that a file is
// never created without being registered. (The library's worker threads block them for good,
// src/common/parallel.cc, so that the handler cannot run on one of them meanwhile.)
class BlockTerminatingSignals {
 public:
  BlockTerminatingSignals() {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, &previous_);
  }
  ~BlockTerminatingSignals() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
  BlockTerminatingSignals(const BlockTerminatingSignals&) = delete;
  BlockTerminatingSignals& operator=(const BlockTerminatingSignals&) = delete;

 private:
  sigset_t previous_;
};

extern "C" void RemoveTemporaryFilesAndDie(int signal_number) {
  const int saved_errno = errno;
  RemoveTemporaryFilesNow();
  errno = saved_errno;
  // SA_RESETHAND restored the default action; the signal is blocked until this handler returns,
  // then delivered again and ends the process with the status the caller expects.
  ::raise(signal_number);
}

void WriteAll(int fd, const std::vector<std::uint8_t>& bytes, const std::string& name,
              const std::string& path) {
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t count = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (count < 0) {
      if (errno == EINTR) continue;
      FailWithErrno(name, path, "cannot write the file", errno);
    }
    written += static_cast<std::size_t>(count);
  }
}

}  // namespace

TemporaryFile::TemporaryFile(const std::string& path, const std::string& name)
    : path_(path), name_(name), temp_path_(path + ".tmp-XXXXXX") {
  int error_number = 0;
  {
    const BlockTerminatingSignals blocked;
    // mkstemp replaces the trailing XXXXXX in place, in the string's own buffer.
    fd_ = ::mkstemp(temp_path_.data());
    error_number = errno;
    if (fd_ >= 0) slot_ = RegisterPending(temp_path_);
  }
  if (fd_ < 0) {
    detail::Fail(Where(name, path), ": cannot create a temporary file in its directory (",
                 DirectoryOf(path), "): ", std::strerror(error_number));
  }
  // mkstemp creates the file with mode 0600; give it the mode a plain open() would.
  if (::fchmod(fd_, 0666 & ~CurrentUmask()) != 0) {
    error_number = errno;
    ::close(fd_);
    ::unlink(temp_path_.c_str());
    UnregisterPending(slot_);
    FailWithErrno(name, path, "cannot set the permissions of the temporary file", error_number);
  }
}

TemporaryFile::~TemporaryFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!renamed_) ::unlink(temp_path_.c_str());
  UnregisterPending(slot_);
}

int TemporaryFile::CloseDescriptor() {
  const int result = ::close(fd_);
  fd_ = -1;
  return result;
}

void TemporaryFile::RenameOver() {
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    FailWithErrno(name_, path_, "cannot rename the temporary file over it", errno);
  }
  renamed_ = true;
  UnregisterPending(slot_);
  slot_ = -1;
}

void RemoveTemporaryFilesNow() noexcept {
  for (PendingSlot& slot : g_pending) {
    if (slot.state.load(std::memory_order_acquire) == kSlotPublished) ::unlink(slot.path);
  }
}

void RemoveTemporaryFilesOnSignals() {
  for (const int signal_number : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction current;
    if (::sigaction(signal_number, nullptr, &current) != 0) continue;
    // An ignored signal stays ignored (nohup, background jobs of a shell).
    if (!(current.sa_flags & SA_SIGINFO) && current.sa_handler == SIG_IGN) continue;
    struct sigaction action = {};
    action.sa_handler = RemoveTemporaryFilesAndDie;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND;
    ::sigaction(signal_number, &action, nullptr);
  }
}

void WriteFileAtomic(const std::string& path, const std::vector<std::uint8_t>& bytes,
                     const std::string& name) {
  const OutputTarget target = ResolveOutputTarget(path, name);
  if (target.in_place) {
    int fd;
    do {
      fd = ::open(target.path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) FailWithErrno(name, path, "cannot open the device or FIFO for writing", errno);
    ScopedFd file(fd);
    WriteAll(fd, bytes, name, path);
    if (file.Close() != 0) FailWithErrno(name, path, "cannot close the file", errno);
    return;
  }
  TemporaryFile temp(target.path, name);
  WriteAll(temp.descriptor(), bytes, name, path);
  if (::fsync(temp.descriptor()) != 0) {
    FailWithErrno(name, path, "cannot flush the file to disk", errno);
  }
  if (temp.CloseDescriptor() != 0) FailWithErrno(name, path, "cannot close the file", errno);
  temp.RenameOver();
  SyncDirectory(DirectoryOf(target.path));
}

}  // namespace maddness::io
