#include "src/io/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
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

  // Regular files are read into a buffer of their size; anything else (pipes, a file that grows
  // while we read) continues through a chunk buffer, so that the end-of-file check never
  // reallocates the whole file.
  std::vector<std::uint8_t> bytes(S_ISREG(info.st_mode) ? static_cast<std::size_t>(info.st_size)
                                                        : 0);
  std::size_t filled = 0;
  std::uint8_t chunk[1 << 16];
  for (;;) {
    const bool into_bytes = filled < bytes.size();
    std::uint8_t* target = into_bytes ? bytes.data() + filled : chunk;
    const std::size_t capacity = into_bytes ? bytes.size() - filled : sizeof(chunk);
    const ssize_t count = ::read(fd, target, capacity);
    if (count < 0) {
      if (errno == EINTR) continue;
      FailWithErrno(name, path, "cannot read the file", errno);
    }
    if (count == 0) break;
    if (into_bytes) {
      filled += static_cast<std::size_t>(count);
    } else {
      bytes.insert(bytes.end(), chunk, chunk + count);
      filled = bytes.size();
    }
  }
  bytes.resize(filled);  // the file shrank while we read it
  return bytes;
}

// A symbolic link at `path` is replaced by the new file, not written through.
void WriteFileAtomic(const std::string& path, const std::vector<std::uint8_t>& bytes,
                     const std::string& name) {
  if (path.empty()) detail::Fail(name, ": the file name is empty");
  // mkstemp replaces the trailing XXXXXX in place, so it needs a writable, terminated buffer.
  std::string temp_path = path + ".tmp-XXXXXX";
  const int fd = ::mkstemp(temp_path.data());
  if (fd < 0) {
    const int error_number = errno;
    detail::Fail(Where(name, path), ": cannot create a temporary file in its directory (",
                 DirectoryOf(path), "): ", std::strerror(error_number));
  }
  ScopedFd file(fd);

  // Removes the temporary file on every exit until the rename has succeeded.
  struct TempFileRemover {
    const std::string& temp_path;
    bool armed = true;
    ~TempFileRemover() {
      if (armed) ::unlink(temp_path.c_str());
    }
  } remover{temp_path};

  // mkstemp creates the file with mode 0600; give it the mode a plain open() would.
  if (::fchmod(fd, 0666 & ~CurrentUmask()) != 0) {
    FailWithErrno(name, path, "cannot set the permissions of the temporary file", errno);
  }
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t count = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (count < 0) {
      if (errno == EINTR) continue;
      FailWithErrno(name, path, "cannot write the file", errno);
    }
    written += static_cast<std::size_t>(count);
  }
  if (::fsync(fd) != 0) FailWithErrno(name, path, "cannot flush the file to disk", errno);
  if (file.Close() != 0) FailWithErrno(name, path, "cannot close the file", errno);
  if (::rename(temp_path.c_str(), path.c_str()) != 0) {
    FailWithErrno(name, path, "cannot rename the temporary file over it", errno);
  }
  remover.armed = false;
  SyncDirectory(DirectoryOf(path));
}

}  // namespace maddness::io
