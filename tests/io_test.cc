// Tests of src/io: whole-file reads and atomic writes, .npy files, and the model file format
// (docs/format.md), including every truncation and every single-byte corruption of a model file.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "maddness/maddness.h"
#include "src/common/layout.h"
#include "src/common/model_data.h"
#include "src/io/file.h"
#include "src/io/model_file.h"
#include "src/io/npy.h"
#include "tests/test_util.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "these tests build little-endian payloads with memcpy");

namespace maddness::io {
namespace {

// Runs `action`, which must throw maddness::Error, and returns the message.
template <typename Action>
std::string ErrorMessageOf(Action&& action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected maddness::Error, nothing was thrown";
  return "";
}

void ExpectContainsAll(const std::string& message, std::initializer_list<std::string> parts) {
  for (const std::string& part : parts) {
    EXPECT_NE(message.find(part), std::string::npos)
        << "message: \"" << message << "\"\nlacks: \"" << part << "\"";
  }
}

template <typename T>
std::vector<std::uint8_t> RawBytes(const std::vector<T>& values) {
  std::vector<std::uint8_t> bytes(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

// A .npy file of format `major`.0 with header dict `dict` (padded to 64 bytes as NumPy does) and
// `data` after it.
std::vector<std::uint8_t> NpyFileBytes(int major, const std::string& dict,
                                       const std::vector<std::uint8_t>& data) {
  const std::size_t preamble = major == 1 ? 10 : 12;
  std::string header = dict;
  while ((preamble + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::vector<std::uint8_t> bytes = {
      0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<std::uint8_t>(major), 0};
  for (std::size_t i = 0; i < preamble - 8; ++i) {
    bytes.push_back(static_cast<std::uint8_t>(header.size() >> (8 * i)));
  }
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

std::string NpyDict(const std::string& descr, const std::string& shape, bool fortran = false) {
  return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
         ", 'shape': " + shape + ", }";
}

// Each test gets a fresh directory, removed afterwards.
class IoFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "maddness_io_XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Path(const std::string& file_name) const { return dir_ + "/" + file_name; }

  void WriteRaw(const std::string& path, const std::vector<std::uint8_t>& bytes) const {
    std::ofstream stream(path, std::ios::binary);
    stream.write(reinterpret_cast<const char*>(bytes.data()),
                 static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(stream.good());
  }

  // Writes `bytes` to a fresh file and returns its path.
  std::string WriteNpyFile(const std::vector<std::uint8_t>& bytes) {
    const std::string path = Path("crafted" + std::to_string(file_counter_++) + ".npy");
    WriteRaw(path, bytes);
    return path;
  }

  std::set<std::string> DirectoryEntries(const std::string& dir) const {
    std::set<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      names.insert(entry.path().filename().string());
    }
    return names;
  }

  // ReadNpy's message for a file holding `bytes`, read as argument "--a".
  std::string ReadNpyError(const std::vector<std::uint8_t>& bytes) {
    const std::string path = WriteNpyFile(bytes);
    const std::string message = ErrorMessageOf([&] { ReadNpy(path, "--a"); });
    ExpectContainsAll(message, {"--a", path});
    return message;
  }

  std::string dir_;
  int file_counter_ = 0;
};

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

// ---------------------------------------------------------------------------------------------
// .npy: files we write

TEST_F(IoFileTest, NpyFloat32RoundTrip) {
  const std::vector<float> values = {1.5f, -2.0f, 0.0f, 3.25e-8f, -1e30f, 7.0f};
  WriteNpy(Path("m.npy"), values.data(), {2, 3});
  const NpyFloatArray matrix = ReadNpy(Path("m.npy"), "--a");
  EXPECT_EQ(matrix.shape, (std::vector<std::size_t>{2, 3}));
  EXPECT_EQ(matrix.rows(), 2u);
  EXPECT_EQ(matrix.cols(), 3u);
  EXPECT_EQ(matrix.values, values);

  WriteNpy(Path("v.npy"), values.data(), {6});
  const NpyFloatArray vector = ReadNpy(Path("v.npy"), "--a");
  EXPECT_EQ(vector.shape, std::vector<std::size_t>{6});
  EXPECT_EQ(vector.cols(), 1u);
  EXPECT_EQ(vector.values, values);

  WriteNpy(Path("empty.npy"), static_cast<const float*>(nullptr), {0, 4});
  const NpyFloatArray empty = ReadNpy(Path("empty.npy"), "--a");
  EXPECT_EQ(empty.shape, (std::vector<std::size_t>{0, 4}));
  EXPECT_TRUE(empty.values.empty());
}

TEST_F(IoFileTest, NpyWritesNumPysExactBytes) {
  const std::vector<float> floats = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f};
  WriteNpy(Path("f.npy"), floats.data(), {3, 2});
  EXPECT_EQ(ReadFile(Path("f.npy"), "f"),
            NpyFileBytes(1, NpyDict("<f4", "(3, 2)"), RawBytes(floats)));

  const std::vector<std::uint8_t> bytes = {0, 1, 127, 128, 254, 255};
  WriteNpy(Path("u1.npy"), bytes.data(), {6});
  EXPECT_EQ(ReadFile(Path("u1.npy"), "u1"), NpyFileBytes(1, NpyDict("|u1", "(6,)"), bytes));

  const std::vector<std::uint16_t> shorts = {0, 1, 255, 256, 40000, 65535};
  WriteNpy(Path("u2.npy"), shorts.data(), {2, 3});
  const std::vector<std::uint8_t> u2_file = ReadFile(Path("u2.npy"), "u2");
  EXPECT_EQ(u2_file, NpyFileBytes(1, NpyDict("<u2", "(2, 3)"), RawBytes(shorts)));
  EXPECT_EQ((u2_file.size() - shorts.size() * 2) % 64, 0u);  // data aligned to 64 bytes
}

TEST_F(IoFileTest, NpyWriteRejectsBadShapes) {
  const float value = 1.0f;
  ExpectContainsAll(ErrorMessageOf([&] {
                      WriteNpy(Path("x.npy"), &value, {1, 1, 1});
                    }),
                    {"3 dimensions"});
  ExpectContainsAll(ErrorMessageOf([&] { WriteNpy(Path("x.npy"), &value, {}); }), {"0 dimensions"});
  ExpectContainsAll(ErrorMessageOf([&] {
                      WriteNpy(Path("x.npy"), &value, {std::size_t{1} << 40, std::size_t{1} << 40});
                    }),
                    {"too large"});
  EXPECT_TRUE(DirectoryEntries(dir_).empty());
}

// ---------------------------------------------------------------------------------------------
// .npy: files NumPy could have written

TEST_F(IoFileTest, NpyReadsFloat64Int32Int64) {
  const std::vector<double> doubles = {0.1, -2.5, 1e10, 3.0};
  const NpyFloatArray f8 =
      ReadNpy(WriteNpyFile(NpyFileBytes(1, NpyDict("<f8", "(2, 2)"), RawBytes(doubles))), "--a");
  EXPECT_EQ(f8.shape, (std::vector<std::size_t>{2, 2}));
  EXPECT_EQ(f8.values, (std::vector<float>{0.1f, -2.5f, 1e10f, 3.0f}));

  const std::vector<std::int32_t> ints = {-16777216, 0, 5, 16777216};
  const NpyFloatArray i4 =
      ReadNpy(WriteNpyFile(NpyFileBytes(1, NpyDict("<i4", "(4,)"), RawBytes(ints))), "--a");
  EXPECT_EQ(i4.values, (std::vector<float>{-16777216.0f, 0.0f, 5.0f, 16777216.0f}));

  const std::vector<std::int64_t> longs = {-3, 1 << 20, 9, 0, 1, 2};
  const NpyFloatArray i8 =
      ReadNpy(WriteNpyFile(NpyFileBytes(1, NpyDict("<i8", "(3, 2)"), RawBytes(longs))), "--a");
  EXPECT_EQ(i8.shape, (std::vector<std::size_t>{3, 2}));
  EXPECT_EQ(i8.values, (std::vector<float>{-3.0f, 1048576.0f, 9.0f, 0.0f, 1.0f, 2.0f}));
}

TEST_F(IoFileTest, NpyTransposesFortranOrder) {
  // The 2 x 3 matrix [[1, 2, 3], [4, 5, 6]] stored column by column.
  const std::vector<float> columns = {1, 4, 2, 5, 3, 6};
  const NpyFloatArray matrix = ReadNpy(
      WriteNpyFile(NpyFileBytes(1, NpyDict("<f4", "(2, 3)", true), RawBytes(columns))), "--a");
  EXPECT_EQ(matrix.shape, (std::vector<std::size_t>{2, 3}));
  EXPECT_EQ(matrix.values, (std::vector<float>{1, 2, 3, 4, 5, 6}));

  const std::vector<std::int64_t> long_columns = {1, 4, 2, 5, 3, 6};
  const NpyFloatArray longs = ReadNpy(
      WriteNpyFile(NpyFileBytes(1, NpyDict("<i8", "(2, 3)", true), RawBytes(long_columns))), "--a");
  EXPECT_EQ(longs.values, (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

TEST_F(IoFileTest, NpyReadsVersions2And3AndOtherHeaderSpellings) {
  const std::vector<float> values = {1, 2, 3, 4, 5, 6};
  for (int major : {2, 3}) {
    const NpyFloatArray array = ReadNpy(
        WriteNpyFile(NpyFileBytes(major, NpyDict("<f4", "(3, 2)"), RawBytes(values))), "--a");
    EXPECT_EQ(array.shape, (std::vector<std::size_t>{3, 2})) << "version " << major;
    EXPECT_EQ(array.values, values) << "version " << major;
  }
  // Double quotes, another key order, no trailing comma, Python 2 longs, odd spacing.
  const NpyFloatArray spelled =
      ReadNpy(WriteNpyFile(NpyFileBytes(
                  1, "{ \"shape\" : ( 3L ,2L ) ,\"fortran_order\":False,  \"descr\":\"<f4\"}",
                  RawBytes(values))),
              "--a");
  EXPECT_EQ(spelled.shape, (std::vector<std::size_t>{3, 2}));
  EXPECT_EQ(spelled.values, values);
}

// Files written by NumPy itself: reading them works, and writing their arrays back gives the
// same bytes NumPy wrote.
TEST_F(IoFileTest, NpyMatchesFilesWrittenByNumPy) {
  MADDNESS_REQUIRE_SHARED_DATA();
  for (const char* file_name : {"W.npy", "b.npy"}) {
    const std::string path = maddness::testing::SharedDataDir() + "/sklearn_digits/" + file_name;
    const NpyFloatArray array = ReadNpy(path, "--b");
    EXPECT_EQ(array.shape, std::string(file_name) == "W.npy" ? (std::vector<std::size_t>{64, 10})
                                                             : std::vector<std::size_t>{10});
    WriteNpy(Path(file_name), array.values.data(), array.shape);
    EXPECT_EQ(ReadFile(Path(file_name), "copy"), ReadFile(path, "original")) << file_name;
  }
  const std::vector<std::int64_t> labels =
      ReadNpyLabels(maddness::testing::SharedDataDir() + "/sklearn_digits/y_test.npy", "--y");
  EXPECT_EQ(labels.size(), 450u);
  for (std::int64_t label : labels) {
    EXPECT_GE(label, 0);
    EXPECT_LT(label, 10);
  }
}

TEST_F(IoFileTest, NpyLabels) {
  const std::vector<std::int32_t> ints = {3, -1, 7};
  EXPECT_EQ(
      ReadNpyLabels(WriteNpyFile(NpyFileBytes(1, NpyDict("<i4", "(3,)"), RawBytes(ints))), "--y"),
      (std::vector<std::int64_t>{3, -1, 7}));
  const std::vector<std::int64_t> longs = {std::int64_t{1} << 40, 0};
  EXPECT_EQ(
      ReadNpyLabels(WriteNpyFile(NpyFileBytes(1, NpyDict("<i8", "(2,)"), RawBytes(longs))), "--y"),
      longs);
  const std::vector<double> doubles = {2.0, -4.0, 0.0};
  EXPECT_EQ(ReadNpyLabels(WriteNpyFile(NpyFileBytes(1, NpyDict("<f8", "(3,)"), RawBytes(doubles))),
                          "--y"),
            (std::vector<std::int64_t>{2, -4, 0}));

  const std::vector<float> fractional = {1.0f, 2.5f};
  const std::string fractional_path =
      WriteNpyFile(NpyFileBytes(1, NpyDict("<f4", "(2,)"), RawBytes(fractional)));
  ExpectContainsAll(ErrorMessageOf([&] { ReadNpyLabels(fractional_path, "--y"); }),
                    {"--y", fractional_path, "2.5", "[1]", "not an integer"});
  const std::vector<float> nan = {std::nanf("")};
  const std::string nan_path = WriteNpyFile(NpyFileBytes(1, NpyDict("<f4", "(1,)"), RawBytes(nan)));
  ExpectContainsAll(ErrorMessageOf([&] { ReadNpyLabels(nan_path, "--y"); }),
                    {"--y", "not an integer"});
  const std::string matrix_path =
      WriteNpyFile(NpyFileBytes(1, NpyDict("<i4", "(1, 3)"), RawBytes(ints)));
  ExpectContainsAll(ErrorMessageOf([&] { ReadNpyLabels(matrix_path, "--y"); }),
                    {"--y", matrix_path, "(1, 3)", "1-D"});
}

// ---------------------------------------------------------------------------------------------
// .npy: rejections. Every message names the argument and the path (ReadNpyError checks).

TEST_F(IoFileTest, NpyRejectsMissingFile) {
  const std::string path = Path("absent.npy");
  ExpectContainsAll(ErrorMessageOf([&] { ReadNpy(path, "--a"); }),
                    {"--a", path, std::strerror(ENOENT)});
}

TEST_F(IoFileTest, NpyRejectsBadMagic) {
  std::vector<std::uint8_t> bytes = NpyFileBytes(1, NpyDict("<f4", "(1,)"), {0, 0, 0, 0});
  bytes[1] = 'X';
  ExpectContainsAll(ReadNpyError(bytes), {"not a .npy file"});
  ExpectContainsAll(ReadNpyError({}), {"not a .npy file"});
  ExpectContainsAll(ReadNpyError({'h', 'e', 'l', 'l', 'o'}), {"not a .npy file"});
}

TEST_F(IoFileTest, NpyRejectsUnsupportedVersion) {
  std::vector<std::uint8_t> bytes = NpyFileBytes(1, NpyDict("<f4", "(1,)"), {0, 0, 0, 0});
  bytes[6] = 4;
  ExpectContainsAll(ReadNpyError(bytes), {"version 4.0"});
  bytes[6] = 1;
  bytes[7] = 1;
  ExpectContainsAll(ReadNpyError(bytes), {"version 1.1"});
}

TEST_F(IoFileTest, NpyRejectsTruncatedPreambleAndHeader) {
  const std::vector<std::uint8_t> bytes = NpyFileBytes(1, NpyDict("<f4", "(1,)"), {0, 0, 0, 0});
  for (std::size_t size : {7, 9}) {
    ExpectContainsAll(ReadNpyError(std::vector<std::uint8_t>(bytes.begin(), bytes.begin() + size)),
                      {"truncated"});
  }
  for (std::size_t size : {10, 11, 40, 63}) {
    ExpectContainsAll(ReadNpyError(std::vector<std::uint8_t>(bytes.begin(), bytes.begin() + size)),
                      {"header is truncated"});
  }
  const std::vector<std::uint8_t> v2 = NpyFileBytes(2, NpyDict("<f4", "(1,)"), {0, 0, 0, 0});
  ExpectContainsAll(ReadNpyError(std::vector<std::uint8_t>(v2.begin(), v2.begin() + 11)),
                    {"truncated"});
}

TEST_F(IoFileTest, NpyRejectsTruncatedOrOverlongData) {
  const std::vector<float> values = {1, 2, 3, 4, 5, 6};
  std::vector<std::uint8_t> bytes = NpyFileBytes(1, NpyDict("<f4", "(2, 3)"), RawBytes(values));
  bytes.pop_back();
  ExpectContainsAll(ReadNpyError(bytes), {"truncated", "(2, 3)", "24", "23"});
  bytes.push_back(0);
  bytes.push_back(0);
  ExpectContainsAll(ReadNpyError(bytes), {"25", "needs only 24"});
}

TEST_F(IoFileTest, NpyRejectsUnsupportedDtypes) {
  const std::string path = WriteNpyFile(NpyFileBytes(1, NpyDict("<u2", "(2,)"), {0, 0, 0, 0}));
  EXPECT_EQ(ErrorMessageOf([&] { ReadNpy(path, "--a"); }),
            "--a (" + path +
                "): dtype '<u2' is not supported; use float32, float64, int32 or int64 "
                "(little-endian)");
  for (const char* descr : {"|u1", "|i1", "|b1", "<f2", "<c8", "<U4", "|O", "f4", "<f4 "}) {
    ExpectContainsAll(ReadNpyError(NpyFileBytes(1, NpyDict(descr, "(2,)"), {0, 0, 0, 0})),
                      {std::string("dtype '") + descr + "'", "not supported"});
  }
  ExpectContainsAll(ReadNpyError(NpyFileBytes(1,
                                              "{'descr': [('x', '<f4')], 'fortran_order': False, "
                                              "'shape': (1,), }",
                                              {0, 0, 0, 0})),
                    {"structured"});
}

TEST_F(IoFileTest, NpyRejectsBigEndian) {
  for (const char* descr : {">f4", ">f8", ">i4", ">i8"}) {
    ExpectContainsAll(
        ReadNpyError(NpyFileBytes(1, NpyDict(descr, "(1,)"), std::vector<std::uint8_t>(8, 0))),
        {std::string("'") + descr + "'", "big-endian", "astype"});
  }
}

TEST_F(IoFileTest, NpyRejectsWrongDimensionCounts) {
  ExpectContainsAll(ReadNpyError(NpyFileBytes(1, NpyDict("<f4", "(1, 1, 1)"), {0, 0, 0, 0})),
                    {"(1, 1, 1)", "3 dimensions", "only 1-D and 2-D"});
  ExpectContainsAll(ReadNpyError(NpyFileBytes(1, NpyDict("<f4", "()"), {0, 0, 0, 0})),
                    {"0 dimensions"});
}

TEST_F(IoFileTest, NpyRejectsShapesThatOverflow) {
  // 2^32 * 2^32 elements overflow 64 bits; 2^62 float32 elements overflow in bytes; a
  // dimension with 30 digits overflows while it is parsed.
  ExpectContainsAll(
      ReadNpyError(NpyFileBytes(1, NpyDict("<f4", "(4294967296, 4294967296)"), {0, 0, 0, 0})),
      {"more elements than can be addressed"});
  ExpectContainsAll(
      ReadNpyError(NpyFileBytes(1, NpyDict("<f4", "(4611686018427387904,)"), {0, 0, 0, 0})),
      {"more bytes than can be addressed"});
  ExpectContainsAll(
      ReadNpyError(NpyFileBytes(1, NpyDict("<f4", "(123456789012345678901234567890,)"), {})),
      {"too large"});
  // Large but addressable: rejected by the size check, before any allocation.
  ExpectContainsAll(
      ReadNpyError(NpyFileBytes(1, NpyDict("<f8", "(1000000000, 1000)"), {0, 0, 0, 0})),
      {"truncated", "8000000000000"});
}

TEST_F(IoFileTest, NpyRejectsMalformedHeaders) {
  const std::vector<std::uint8_t> data = {0, 0, 0, 0};
  ExpectContainsAll(ReadNpyError(NpyFileBytes(1, "{'descr': '<f4', 'shape': (1,), }", data)),
                    {"lacks the key 'fortran_order'"});
  ExpectContainsAll(
      ReadNpyError(NpyFileBytes(
          1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1, }", data)),
      {"unknown key 'extra'"});
  ExpectContainsAll(
      ReadNpyError(NpyFileBytes(
          1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", data)),
      {"'descr' twice"});
  ExpectContainsAll(
      ReadNpyError(NpyFileBytes(1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", data)),
      {"malformed", "True or False"});
  ExpectContainsAll(ReadNpyError(NpyFileBytes(
                        1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", data)),
                    {"malformed", "non-negative integer"});
  ExpectContainsAll(ReadNpyError(NpyFileBytes(
                        1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x", data)),
                    {"malformed"});
  ExpectContainsAll(ReadNpyError(NpyFileBytes(1, "{'descr': '<f4", data)), {"malformed"});
  ExpectContainsAll(ReadNpyError(NpyFileBytes(1, "", data)), {"malformed"});
}

TEST_F(IoFileTest, NpyRejectsValuesFloat32CannotHold) {
  const std::vector<double> huge = {1.0, 1e39};
  ExpectContainsAll(ReadNpyError(NpyFileBytes(1, NpyDict("<f8", "(1, 2)"), RawBytes(huge))),
                    {"1e+39", "[0, 1]", "range of float32"});
  const std::vector<std::int32_t> big_int = {16777217};
  ExpectContainsAll(ReadNpyError(NpyFileBytes(1, NpyDict("<i4", "(1,)"), RawBytes(big_int))),
                    {"16777217", "[0]", "2^24"});
  const std::vector<std::int64_t> big_long = {0, 0, -(std::int64_t{1} << 40)};
  ExpectContainsAll(ReadNpyError(NpyFileBytes(1, NpyDict("<i8", "(3, 1)"), RawBytes(big_long))),
                    {"-1099511627776", "[2, 0]", "2^24"});
}

// ---------------------------------------------------------------------------------------------
// Model file

// A small, consistent model: D = 5 columns in C = 3 codebooks owning columns {3, 0}, {4, 1} and
// {2} (column order 3, 0, 4, 1, 2), with tables for M = 4 outputs when `with_tables`.
detail::ModelData MakeModel(bool with_tables, Variant variant = Variant::kMaddness) {
  detail::ModelData model;
  model.variant = variant;
  model.ridge_lambda = 0.75;
  model.num_train_rows = 1234;
  detail::Encoder& encoder = model.encoder;
  encoder.input_dim = 5;
  encoder.num_codebooks = 3;
  encoder.codebook_begin = {0, 2, 4, 5};
  encoder.columns = {3, 0, 4, 1, 2};
  for (int c = 0; c < 3; ++c) {
    const std::uint32_t width = encoder.codebook_begin[c + 1] - encoder.codebook_begin[c];
    for (int level = 0; level < kTreeDepth; ++level) {
      detail::SplitLevel split;
      split.dim =
          encoder.columns[encoder.codebook_begin[c] + static_cast<std::uint32_t>(level) % width];
      split.scale = 0.5f + static_cast<float>(c + level);
      split.offset = -1.25f * static_cast<float>(level) + 0.5f * static_cast<float>(c);
      for (int node = 0; node < 16; ++node) {
        split.thresholds[node] =
            node < (1 << level)
                ? static_cast<std::int8_t>((node * 37 + c * 11 + level * 5) % 256 - 128)
                : detail::kNoSplitThreshold;
      }
      encoder.splits.push_back(split);
    }
  }
  const std::vector<int> owner = detail::ColumnOwners(encoder);
  for (std::size_t c = 0; c < 3; ++c) {
    for (std::size_t k = 0; k < 16; ++k) {
      for (std::size_t j = 0; j < 5; ++j) {
        const bool own_column = owner[j] == static_cast<int>(c);
        const float value = 0.01f * static_cast<float>((c * 16 + k) * 5 + j) - 1.0f;
        encoder.prototypes.push_back(variant == Variant::kPq && !own_column ? 0.0f : value);
      }
    }
  }
  model.tables.aggregation = Aggregation::kExactSum;
  model.has_tables = with_tables;
  if (with_tables) {
    detail::Tables& tables = model.tables;
    tables.output_dim = 4;
    const std::size_t table_bytes = detail::TableBytesPerOutput(3);
    tables.luts.resize(4 * table_bytes);
    for (std::size_t m = 0; m < 4; ++m) {
      // Entries of the padding codebook (index 3, bytes 48..63) stay zero.
      for (std::size_t i = 0; i < 3 * 16; ++i) {
        tables.luts[m * table_bytes + i] = static_cast<std::uint8_t>((m * 64 + i) * 7 + 3);
      }
      tables.out_scale.push_back(0.1f * static_cast<float>(m + 1));
      tables.out_offset.push_back(-2.5f + static_cast<float>(m));
    }
  }
  return model;
}

void ExpectModelsEqual(const detail::ModelData& expected, const detail::ModelData& actual) {
  EXPECT_EQ(expected.variant, actual.variant);
  EXPECT_EQ(expected.ridge_lambda, actual.ridge_lambda);
  EXPECT_EQ(expected.num_train_rows, actual.num_train_rows);
  EXPECT_EQ(expected.encoder.input_dim, actual.encoder.input_dim);
  EXPECT_EQ(expected.encoder.num_codebooks, actual.encoder.num_codebooks);
  EXPECT_EQ(expected.encoder.codebook_begin, actual.encoder.codebook_begin);
  EXPECT_EQ(expected.encoder.columns, actual.encoder.columns);
  ASSERT_EQ(expected.encoder.splits.size(), actual.encoder.splits.size());
  for (std::size_t i = 0; i < expected.encoder.splits.size(); ++i) {
    const detail::SplitLevel& want = expected.encoder.splits[i];
    const detail::SplitLevel& got = actual.encoder.splits[i];
    EXPECT_EQ(want.dim, got.dim) << "split " << i;
    EXPECT_EQ(want.scale, got.scale) << "split " << i;
    EXPECT_EQ(want.offset, got.offset) << "split " << i;
    EXPECT_EQ(0, std::memcmp(want.thresholds, got.thresholds, sizeof(want.thresholds)))
        << "split " << i;
  }
  EXPECT_EQ(expected.encoder.prototypes, actual.encoder.prototypes);
  EXPECT_EQ(expected.has_tables, actual.has_tables);
  EXPECT_EQ(expected.tables.aggregation, actual.tables.aggregation);
  if (expected.has_tables) {
    EXPECT_EQ(expected.tables.output_dim, actual.tables.output_dim);
    EXPECT_EQ(expected.tables.luts, actual.tables.luts);
    EXPECT_EQ(expected.tables.out_scale, actual.tables.out_scale);
    EXPECT_EQ(expected.tables.out_offset, actual.tables.out_offset);
  }
}

// Byte offsets in the file of MakeModel(true), from the layout in docs/format.md.
constexpr std::size_t kHeaderBytes = 60;
constexpr std::size_t kSectionHeaderBytes = 12;
constexpr std::size_t kCodebookBeginAt = kHeaderBytes + kSectionHeaderBytes;      // 4 x u32
constexpr std::size_t kColumnsAt = kCodebookBeginAt + 16 + kSectionHeaderBytes;   // 5 x u32
constexpr std::size_t kSplitsAt = kColumnsAt + 20 + kSectionHeaderBytes;          // 12 x 28
constexpr std::size_t kPrototypesAt = kSplitsAt + 12 * 28 + kSectionHeaderBytes;  // 240 x f32
constexpr std::size_t kLutsAt = kPrototypesAt + 240 * 4 + kSectionHeaderBytes;    // 4 x 64
constexpr std::size_t kOutScaleAt = kLutsAt + 4 * 64 + kSectionHeaderBytes;       // 4 x f32
constexpr std::size_t kOutOffsetAt = kOutScaleAt + 16 + kSectionHeaderBytes;      // 4 x f32
constexpr std::size_t kFileBytes = kOutOffsetAt + 16 + 4;

std::size_t SplitAt(std::size_t codebook, std::size_t level) {
  return kSplitsAt + (codebook * kTreeDepth + level) * 28;
}

template <typename T>
void Poke(std::vector<std::uint8_t>* bytes, std::size_t offset, T value) {
  std::memcpy(bytes->data() + offset, &value, sizeof(T));
}

// Recomputes the trailing CRC-32, so that a crafted file passes the checksum.
void FixChecksum(std::vector<std::uint8_t>* bytes) {
  const std::size_t body = bytes->size() - 4;
  Poke(bytes, body, static_cast<std::uint32_t>(crc32(0L, bytes->data(), static_cast<uInt>(body))));
}

std::string DeserializeError(const std::vector<std::uint8_t>& bytes) {
  const std::string message = ErrorMessageOf([&] { DeserializeModel(bytes.data(), bytes.size()); });
  ExpectContainsAll(message, {"model file: "});
  return message;
}

// The model file with a change at `offset` and a valid checksum.
template <typename T>
std::string ErrorForField(std::size_t offset, T value) {
  std::vector<std::uint8_t> bytes = SerializeModel(MakeModel(true));
  Poke(&bytes, offset, value);
  FixChecksum(&bytes);
  return DeserializeError(bytes);
}

TEST(ModelFileTest, RoundTripsEveryField) {
  for (bool with_tables : {false, true}) {
    for (Variant variant : {Variant::kMaddness, Variant::kPq}) {
      SCOPED_TRACE(::testing::Message()
                   << "tables " << with_tables << ", variant " << static_cast<int>(variant));
      const detail::ModelData model = MakeModel(with_tables, variant);
      const std::vector<std::uint8_t> bytes = SerializeModel(model);
      ExpectModelsEqual(model, DeserializeModel(bytes.data(), bytes.size()));
    }
  }
  EXPECT_EQ(SerializeModel(MakeModel(true)).size(), kFileBytes);
}

TEST(ModelFileTest, LayoutMatchesTheDocumentedOffsets) {
  const std::vector<std::uint8_t> bytes = SerializeModel(MakeModel(true));
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 8), "MADDNESS");
  auto u32_at = [&](std::size_t offset) {
    std::uint32_t value;
    std::memcpy(&value, &bytes[offset], 4);
    return value;
  };
  auto u64_at = [&](std::size_t offset) {
    std::uint64_t value;
    std::memcpy(&value, &bytes[offset], 8);
    return value;
  };
  EXPECT_EQ(u32_at(8), 2u);      // format version
  EXPECT_EQ(u32_at(12), 0u);     // variant MADDNESS
  EXPECT_EQ(u64_at(24), 1234u);  // num_train_rows
  EXPECT_EQ(u64_at(32), 5u);     // D
  EXPECT_EQ(u64_at(40), 4u);     // M
  EXPECT_EQ(u32_at(48), 3u);     // C
  EXPECT_EQ(u32_at(52), 1u);     // has_tables
  EXPECT_EQ(u32_at(56), 1u);     // aggregation: exact sum
  EXPECT_EQ(std::string(bytes.begin() + 60, bytes.begin() + 64), "CBEG");
  EXPECT_EQ(u64_at(64), 16u);
  EXPECT_EQ(u32_at(kCodebookBeginAt + 12), 5u);  // codebook_begin[3] = D
  EXPECT_EQ(std::string(bytes.begin() + kColumnsAt - 12, bytes.begin() + kColumnsAt - 8), "CCOL");
  EXPECT_EQ(u64_at(kColumnsAt - 8), 20u);
  EXPECT_EQ(u32_at(kColumnsAt), 3u);  // the column order starts with column 3
  EXPECT_EQ(std::string(bytes.begin() + kSplitsAt - 12, bytes.begin() + kSplitsAt - 8), "SPLT");
  EXPECT_EQ(u32_at(SplitAt(2, 0)), 2u);  // codebook 2 (column order position 4) splits on column 2
  EXPECT_EQ(std::string(bytes.begin() + kLutsAt - 12, bytes.begin() + kLutsAt - 8), "LUTS");
  EXPECT_EQ(std::string(bytes.begin() + kOutOffsetAt - 12, bytes.begin() + kOutOffsetAt - 8),
            "OOFF");
  EXPECT_EQ(u32_at(kFileBytes - 4), crc32(0L, bytes.data(), kFileBytes - 4));
}

// The model stored in kGoldenVersion1File.
detail::ModelData MakeTinyModel() {
  detail::ModelData model;
  model.variant = Variant::kPq;
  model.ridge_lambda = 0.25;
  model.num_train_rows = 42;
  model.encoder.input_dim = 2;
  model.encoder.num_codebooks = 1;
  model.encoder.codebook_begin = {0, 2};
  for (int level = 0; level < kTreeDepth; ++level) {
    detail::SplitLevel split;
    split.dim = static_cast<std::uint32_t>(level % 2);
    split.scale = 1.5f * static_cast<float>(level + 1);
    split.offset = 0.25f * static_cast<float>(level) - 0.5f;
    for (int node = 0; node < 16; ++node) {
      split.thresholds[node] = node < (1 << level)
                                   ? static_cast<std::int8_t>(node * 16 - 100 + level)
                                   : detail::kNoSplitThreshold;
    }
    model.encoder.splits.push_back(split);
  }
  for (int k = 0; k < 16; ++k) {
    for (int j = 0; j < 2; ++j)
      model.encoder.prototypes.push_back(0.5f * k - static_cast<float>(j));
  }
  model.has_tables = true;
  model.tables.output_dim = 1;
  model.tables.aggregation = Aggregation::kAveraging;
  model.tables.luts.assign(32, 0);
  for (int i = 0; i < 16; ++i) model.tables.luts[i] = static_cast<std::uint8_t>(i * 15 + 1);
  model.tables.out_scale = {0.125f};
  model.tables.out_offset = {-3.0f};
  return model;
}

// A version 1 file as the format's first release wrote MakeTinyModel(). Later releases must keep
// loading it; if the writer's bytes change, the format changed and needs a new version.
const std::vector<std::uint8_t> kGoldenVersion1File = {
    0x4d, 0x41, 0x44, 0x44, 0x4e, 0x45, 0x53, 0x53, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xd0, 0x3f, 0x2a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x43, 0x42, 0x45, 0x47,
    0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
    0x53, 0x50, 0x4c, 0x54, 0x70, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xbf, 0x9c, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f,
    0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x40,
    0x00, 0x00, 0x80, 0xbe, 0x9d, 0xad, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f,
    0x7f, 0x7f, 0x7f, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x90, 0x40, 0x00, 0x00, 0x00, 0x00,
    0x9e, 0xae, 0xbe, 0xce, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x40, 0x00, 0x00, 0x80, 0x3e, 0x9f, 0xaf, 0xbf, 0xcf,
    0xdf, 0xef, 0xff, 0x0f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x50, 0x52, 0x4f, 0x54,
    0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0xbf,
    0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x00, 0xbf, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x80, 0x3f,
    0x00, 0x00, 0x20, 0x40, 0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x40, 0x40, 0x00, 0x00, 0x00, 0x40,
    0x00, 0x00, 0x60, 0x40, 0x00, 0x00, 0x20, 0x40, 0x00, 0x00, 0x80, 0x40, 0x00, 0x00, 0x40, 0x40,
    0x00, 0x00, 0x90, 0x40, 0x00, 0x00, 0x60, 0x40, 0x00, 0x00, 0xa0, 0x40, 0x00, 0x00, 0x80, 0x40,
    0x00, 0x00, 0xb0, 0x40, 0x00, 0x00, 0x90, 0x40, 0x00, 0x00, 0xc0, 0x40, 0x00, 0x00, 0xa0, 0x40,
    0x00, 0x00, 0xd0, 0x40, 0x00, 0x00, 0xb0, 0x40, 0x00, 0x00, 0xe0, 0x40, 0x00, 0x00, 0xc0, 0x40,
    0x00, 0x00, 0xf0, 0x40, 0x00, 0x00, 0xd0, 0x40, 0x4c, 0x55, 0x54, 0x53, 0x20, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x01, 0x10, 0x1f, 0x2e, 0x3d, 0x4c, 0x5b, 0x6a, 0x79, 0x88, 0x97, 0xa6,
    0xb5, 0xc4, 0xd3, 0xe2, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x4f, 0x53, 0x43, 0x4c, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x3e, 0x4f, 0x4f, 0x46, 0x46, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x40, 0xc0, 0x30, 0xe0, 0x51, 0x79};

TEST(ModelFileTest, LoadsGoldenVersion1File) {
  const detail::ModelData loaded =
      DeserializeModel(kGoldenVersion1File.data(), kGoldenVersion1File.size());
  ExpectModelsEqual(MakeTinyModel(), loaded);
  EXPECT_TRUE(loaded.encoder.columns.empty());  // version 1: contiguous codebooks
  // Saved again, it becomes a version 2 file: the same bytes with the identity column order
  // (section CCOL) after the codebook starts.
  const std::vector<std::uint8_t> saved = SerializeModel(loaded);
  ASSERT_EQ(saved.size(), kGoldenVersion1File.size() + kSectionHeaderBytes + 2 * 4);
  EXPECT_EQ(saved[8], 2);
  const std::size_t columns_at = kHeaderBytes + kSectionHeaderBytes + 2 * 4;
  EXPECT_EQ(std::string(saved.begin() + columns_at, saved.begin() + columns_at + 4), "CCOL");
  EXPECT_TRUE(
      std::equal(saved.begin() + 12, saved.begin() + columns_at, kGoldenVersion1File.begin() + 12));
  EXPECT_TRUE(std::equal(saved.begin() + columns_at + kSectionHeaderBytes + 8, saved.end() - 4,
                         kGoldenVersion1File.begin() + columns_at, kGoldenVersion1File.end() - 4));
  ExpectModelsEqual(loaded, DeserializeModel(saved.data(), saved.size()));
}

TEST(ModelFileTest, RejectsInvalidColumnOrders) {
  ExpectContainsAll(ErrorForField(kColumnsAt + 4, std::uint32_t{3}),
                    {"entry 1 of the column order is 3", "exactly once"});
  ExpectContainsAll(ErrorForField(kColumnsAt, std::uint32_t{5}),
                    {"entry 0 of the column order is 5", "[0, D = 5)"});
  // Column 3 belongs to codebook 0, so codebook 1 may not split on it.
  ExpectContainsAll(
      ErrorForField(SplitAt(1, 0), std::uint32_t{3}),
      {"codebook 1, level 0 splits on column 3", "not one of the codebook's columns"});
}

TEST(ModelFileTest, EveryTruncationThrows) {
  for (bool with_tables : {false, true}) {
    const std::vector<std::uint8_t> bytes = SerializeModel(MakeModel(with_tables));
    for (std::size_t size = 0; size < bytes.size(); ++size) {
      EXPECT_THROW(DeserializeModel(bytes.data(), size), Error) << "prefix of " << size << " bytes";
    }
    std::vector<std::uint8_t> longer = bytes;
    longer.push_back(0);
    ExpectContainsAll(DeserializeError(longer), {"trailing data"});
  }
  ExpectContainsAll(ErrorMessageOf([] { DeserializeModel(nullptr, 0); }), {"empty"});
}

TEST(ModelFileTest, EverySingleByteCorruptionThrows) {
  const std::vector<std::uint8_t> bytes = SerializeModel(MakeModel(true));
  for (std::size_t offset = 0; offset < bytes.size(); ++offset) {
    for (std::uint8_t flip : {0x01, 0x80, 0xff}) {
      std::vector<std::uint8_t> corrupt = bytes;
      corrupt[offset] ^= flip;
      EXPECT_THROW(DeserializeModel(corrupt.data(), corrupt.size()), Error)
          << "byte " << offset << " xor " << static_cast<int>(flip);
    }
  }
  std::vector<std::uint8_t> corrupt = bytes;
  corrupt[kPrototypesAt + 5] ^= 0x10;
  ExpectContainsAll(DeserializeError(corrupt), {"checksum mismatch"});
}

TEST(ModelFileTest, RejectsBadMagicAndOtherVersions) {
  std::vector<std::uint8_t> bytes = SerializeModel(MakeModel(false));
  bytes[3] = 'X';
  ExpectContainsAll(DeserializeError(bytes), {"not a maddness model file"});

  ExpectContainsAll(ErrorForField(8, std::uint32_t{3}), {"format version 3", "newer", "upgrade"});
  // A version 2 file relabelled as version 1 lacks nothing but has a section too many.
  ExpectContainsAll(ErrorForField(8, std::uint32_t{1}), {"trailing data"});
  ExpectContainsAll(ErrorForField(8, std::uint32_t{0}), {"format version 0", "invalid"});
}

TEST(ModelFileTest, RejectsCountsOutOfRangeBeforeAllocating) {
  ExpectContainsAll(ErrorForField(48, std::uint32_t{6}),
                    {"C = 6", "larger than the input dimension D = 5"});
  ExpectContainsAll(ErrorForField(48, std::uint32_t{0}), {"codebooks C is 0"});
  ExpectContainsAll(ErrorForField(48, std::uint32_t{0xffffffff}), {"codebooks C is 4294967295"});
  ExpectContainsAll(ErrorForField(32, std::uint64_t{0}), {"input dimension D is 0"});
  ExpectContainsAll(ErrorForField(32, std::uint64_t{1} << 62), {"input dimension D is"});
  ExpectContainsAll(ErrorForField(40, std::uint64_t{1} << 40), {"output dimension M is"});
  ExpectContainsAll(ErrorForField(40, std::uint64_t{0}), {"output dimension M is 0"});
  // Within the limits but larger than the file: a size error, not an allocation.
  ExpectContainsAll(ErrorForField(32, std::uint64_t{1} << 20), {"truncated"});
  ExpectContainsAll(ErrorForField(40, std::uint64_t{1000}), {"truncated"});
  ExpectContainsAll(ErrorForField(12, std::uint32_t{7}), {"variant code 7"});
  ExpectContainsAll(ErrorForField(52, std::uint32_t{2}), {"has_tables is 2"});
  ExpectContainsAll(ErrorForField(56, std::uint32_t{9}), {"aggregation code 9"});

  std::vector<std::uint8_t> no_tables = SerializeModel(MakeModel(false));
  Poke(&no_tables, 40, std::uint64_t{3});
  FixChecksum(&no_tables);
  ExpectContainsAll(DeserializeError(no_tables), {"without tables"});
}

TEST(ModelFileTest, RejectsInconsistentSections) {
  ExpectContainsAll(ErrorForField(kSplitsAt - 12, 'X'), {"expected section 'SPLT'"});
  // Sizes that move bytes between sections keep the total but not the section layout.
  ExpectContainsAll(ErrorForField(kLutsAt - 8, std::uint64_t{255}),
                    {"section 'LUTS'", "declares 255 bytes", "256"});
}

TEST(ModelFileTest, RejectsInvalidFieldsUnderAValidChecksum) {
  ExpectContainsAll(ErrorForField(kCodebookBeginAt + 4, std::uint32_t{0}),
                    {"codebook 0 has columns [0, 0)"});
  ExpectContainsAll(ErrorForField(kCodebookBeginAt + 12, std::uint32_t{4}),
                    {"cover exactly [0, D = 5)"});
  ExpectContainsAll(ErrorForField(kCodebookBeginAt + 8, std::uint32_t{7}),
                    {"codebook 2 has columns [7, 5)"});
  ExpectContainsAll(
      ErrorForField(SplitAt(0, 2), std::uint32_t{2}),
      {"codebook 0, level 2 splits on column 2", "not one of the codebook's columns"});
  ExpectContainsAll(ErrorForField(SplitAt(2, 3), std::uint32_t{3}),
                    {"codebook 2, level 3 splits on column 3"});
  ExpectContainsAll(ErrorForField(SplitAt(1, 1) + 4, 0.0f), {"scale 0", "> 0"});
  ExpectContainsAll(ErrorForField(SplitAt(1, 1) + 4, -1.0f), {"scale -1"});
  ExpectContainsAll(ErrorForField(SplitAt(1, 1) + 4, std::nanf("")), {"scale nan"});
  ExpectContainsAll(ErrorForField(SplitAt(1, 1) + 8, INFINITY), {"offset inf"});
  // Level 2 uses threshold slots 0..3; slot 4 must hold 127.
  ExpectContainsAll(ErrorForField(SplitAt(1, 2) + 12 + 4, std::int8_t{5}),
                    {"threshold 5 in unused slot 4"});
  ExpectContainsAll(ErrorForField(kPrototypesAt + 4 * 7, std::nanf("")),
                    {"prototype 1 of codebook 0", "column 2", "finite"});
  ExpectContainsAll(ErrorForField(kLutsAt + 64 + 50, std::uint8_t{1}),
                    {"output 1", "padding codebook 3"});
  ExpectContainsAll(ErrorForField(kOutScaleAt + 8, INFINITY), {"output 2 has scale inf"});
  ExpectContainsAll(ErrorForField(kOutOffsetAt, -NAN), {"output 0", "offset -nan"});
  ExpectContainsAll(ErrorForField(16, -1.0), {"ridge lambda is -1"});
}

TEST(ModelFileTest, RejectsPqPrototypesOutsideTheirColumns) {
  std::vector<std::uint8_t> bytes = SerializeModel(MakeModel(true, Variant::kPq));
  Poke(&bytes, kPrototypesAt + 4 * 2, 0.5f);  // codebook 0 (columns 3 and 0), prototype 0, column 2
  FixChecksum(&bytes);
  ExpectContainsAll(DeserializeError(bytes), {"prototype 0 of codebook 0", "column 2", "PQ"});
}

TEST(ModelFileTest, RefusesToSaveAnInvalidModel) {
  detail::ModelData model = MakeModel(true);
  model.encoder.splits[5].dim = 0;
  ExpectContainsAll(ErrorMessageOf([&] { SerializeModel(model); }),
                    {"model to save: codebook 1, level 1 splits on column 0"});
  model = MakeModel(true);
  model.tables.luts.pop_back();
  ExpectContainsAll(ErrorMessageOf([&] { SerializeModel(model); }),
                    {"model to save", "table bytes"});
  model = MakeModel(false);
  model.encoder.num_codebooks = -1;
  ExpectContainsAll(ErrorMessageOf([&] { SerializeModel(model); }), {"codebooks C is -1"});
}

}  // namespace
}  // namespace maddness::io
