// Tests of src/io/file.h: whole-file reads and atomic writes (no half-written files, links,
// FIFOs and devices kept, signals remove the pending temporary file).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "maddness/maddness.h"
#include "src/io/file.h"
#include "tests/testers/io_helpers.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "these tests build little-endian payloads with memcpy");

namespace maddness::io {
namespace {

// ---------------------------------------------------------------------------------------------
// ReadFile and WriteFileAtomic

TEST_F(IoFileTest, WriteThenReadReturnsTheBytes) {
  const std::vector<std::uint8_t> bytes = {0, 1, 2, 255, 128, 7};
  WriteFileAtomic(Path("file.bin"), bytes, "--out");
  EXPECT_EQ(ReadFile(Path("file.bin"), "--in"), bytes);
  WriteFileAtomic(Path("empty.bin"), {}, "--out");
  EXPECT_TRUE(ReadFile(Path("empty.bin"), "--in").empty());
  EXPECT_EQ(DirectoryEntries(dir_), (std::set<std::string>{"file.bin", "empty.bin"}));
}

TEST_F(IoFileTest, ReadFileReadsMoreThanOneChunk) {
  std::vector<std::uint8_t> bytes(300000);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i * 31 + 7);
  WriteRaw(Path("big.bin"), bytes);
  EXPECT_EQ(ReadFile(Path("big.bin"), "--in"), bytes);
}

TEST_F(IoFileTest, WriteFileAtomicReplacesAnExistingFile) {
  WriteFileAtomic(Path("file.bin"), {1, 2, 3, 4, 5, 6, 7, 8}, "--out");
  WriteFileAtomic(Path("file.bin"), {9}, "--out");
  EXPECT_EQ(ReadFile(Path("file.bin"), "--in"), std::vector<std::uint8_t>{9});
  EXPECT_EQ(DirectoryEntries(dir_), std::set<std::string>{"file.bin"});
}

TEST_F(IoFileTest, WriteFileAtomicGivesTheModeOfAPlainCreate) {
  const mode_t mask = ::umask(022);
  ::umask(mask);
  WriteFileAtomic(Path("file.bin"), {1}, "--out");
  struct stat info;
  ASSERT_EQ(::stat(Path("file.bin").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0666 & ~mask);
}

TEST_F(IoFileTest, WriteFileAtomicIntoMissingDirectoryThrowsAndCreatesNothing) {
  const std::string path = Path("missing/file.bin");
  const std::string message = ErrorMessageOf([&] { WriteFileAtomic(path, {1, 2}, "--out"); });
  ExpectContainsAll(message, {"--out", path, std::strerror(ENOENT)});
  EXPECT_TRUE(DirectoryEntries(dir_).empty());
}

TEST_F(IoFileTest, WriteFileAtomicOverADirectoryThrowsAndCreatesNothing) {
  std::filesystem::create_directory(Path("taken"));
  const std::string message = ErrorMessageOf([&] {
    WriteFileAtomic(Path("taken"), {1, 2}, "--out");
  });
  ExpectContainsAll(message, {"--out", Path("taken"), "is a directory"});
  EXPECT_EQ(DirectoryEntries(dir_), std::set<std::string>{"taken"});
  EXPECT_TRUE(DirectoryEntries(Path("taken")).empty());
}

// Issue 17: outputs that are not regular files are written in place or through, never replaced.
TEST_F(IoFileTest, WriteFileAtomicWritesIntoAFifoAndKeepsIt) {
  ASSERT_EQ(::mkfifo(Path("fifo").c_str(), 0600), 0);
  // The read end is opened first, without blocking, so that the writer's open returns at once
  // and the bytes wait in the pipe; a writer that replaced the FIFO would leave it empty.
  const int reader = ::open(Path("fifo").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(reader, 0);
  const std::vector<std::uint8_t> bytes = {5, 6, 7, 8};
  WriteFileAtomic(Path("fifo"), bytes, "--out");
  std::vector<std::uint8_t> received(16);
  const ssize_t count = ::read(reader, received.data(), received.size());
  ::close(reader);
  received.resize(count > 0 ? static_cast<std::size_t>(count) : 0);
  EXPECT_EQ(received, bytes);
  struct stat info;
  ASSERT_EQ(::lstat(Path("fifo").c_str(), &info), 0);
  EXPECT_TRUE(S_ISFIFO(info.st_mode));
  EXPECT_EQ(DirectoryEntries(dir_), std::set<std::string>{"fifo"});
}

TEST_F(IoFileTest, WriteFileAtomicWritesThroughASymbolicLink) {
  std::filesystem::create_directory(Path("real"));
  WriteRaw(Path("real/file.bin"), {1, 2, 3});
  std::filesystem::create_symlink("real/file.bin", Path("link.bin"));
  WriteFileAtomic(Path("link.bin"), {9, 9}, "--out");
  EXPECT_TRUE(std::filesystem::is_symlink(Path("link.bin")));
  EXPECT_EQ(ReadFile(Path("real/file.bin"), "--in"), (std::vector<std::uint8_t>{9, 9}));
  EXPECT_EQ(DirectoryEntries(dir_), (std::set<std::string>{"real", "link.bin"}));
  EXPECT_EQ(DirectoryEntries(Path("real")), std::set<std::string>{"file.bin"});
}

TEST_F(IoFileTest, WriteFileAtomicRefusesALinkToNothing) {
  std::filesystem::create_symlink("missing.bin", Path("link.bin"));
  const std::string message =
      ErrorMessageOf([&] { WriteFileAtomic(Path("link.bin"), {1}, "--out"); });
  ExpectContainsAll(message, {"--out", Path("link.bin"), "symbolic link"});
  EXPECT_EQ(DirectoryEntries(dir_), std::set<std::string>{"link.bin"});
}

TEST_F(IoFileTest, WriteFileAtomicWritesIntoACharacterDeviceAndKeepsIt) {
  if (::geteuid() != 0) GTEST_SKIP() << "mknod of a character device needs root";
  // 1:3 is /dev/null, 1:7 is /dev/full on Linux.
  ASSERT_EQ(::mknod(Path("null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  WriteFileAtomic(Path("null"), {1, 2, 3}, "--out");
  struct stat info;
  ASSERT_EQ(::lstat(Path("null").c_str(), &info), 0);
  EXPECT_TRUE(S_ISCHR(info.st_mode));
  ASSERT_EQ(::mknod(Path("full").c_str(), S_IFCHR | 0666, makedev(1, 7)), 0);
  const std::string message = ErrorMessageOf([&] {
    WriteFileAtomic(Path("full"), {1, 2, 3}, "--out");
  });
  ExpectContainsAll(message, {"--out", Path("full"), std::strerror(ENOSPC)});
  ASSERT_EQ(::lstat(Path("full").c_str(), &info), 0);
  EXPECT_TRUE(S_ISCHR(info.st_mode));
  EXPECT_EQ(DirectoryEntries(dir_), (std::set<std::string>{"null", "full"}));
}

// Issue 17: a temporary file registered while a write is in progress is removed by SIGINT and
// SIGTERM, and the process still ends by that signal.
TEST_F(IoFileTest, TerminatingSignalsRemoveThePendingTemporaryFile) {
  for (const int signal_number : {SIGINT, SIGTERM}) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::signal(signal_number, SIG_DFL);
      RemoveTemporaryFilesOnSignals();
      TemporaryFile temp(Path("out.npy"), "-o");
      if (::write(temp.descriptor(), "data", 4) != 4) ::_exit(3);
      ::raise(signal_number);
      ::_exit(2);  // not reached: the signal ends the process
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFSIGNALED(status)) << "status " << status;
    if (WIFSIGNALED(status)) {
      EXPECT_EQ(WTERMSIG(status), signal_number);
    }
    EXPECT_TRUE(DirectoryEntries(dir_).empty()) << "signal " << signal_number;
  }
}

TEST_F(IoFileTest, ReadFileOfMissingFileNamesArgumentPathAndReason) {
  const std::string path = Path("absent.npy");
  const std::string message = ErrorMessageOf([&] { ReadFile(path, "--model"); });
  ExpectContainsAll(message, {"--model", path, std::strerror(ENOENT)});
}

TEST_F(IoFileTest, ReadFileOfDirectoryThrows) {
  const std::string message = ErrorMessageOf([&] { ReadFile(dir_, "--model"); });
  ExpectContainsAll(message, {"--model", dir_, "directory"});
}

}  // namespace
}  // namespace maddness::io
