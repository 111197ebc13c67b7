// Helpers of the tests of src/io (tests/file_test.cc, tests/npy_test.cc,
// tests/model_file_test.cc): error messages, raw bytes, crafted .npy files, and a fixture that
// gives each test a fresh directory.
#ifndef MADDNESS_TESTS_TESTERS_IO_HELPERS_H_
#define MADDNESS_TESTS_TESTERS_IO_HELPERS_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <set>
#include <string>
#include <vector>

#include "maddness/maddness.h"
#include "src/io/npy.h"

namespace maddness::io {

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

inline void ExpectContainsAll(const std::string& message,
                              std::initializer_list<std::string> parts) {
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
inline std::vector<std::uint8_t> NpyFileBytes(int major, const std::string& dict,
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

inline std::string NpyDict(const std::string& descr, const std::string& shape,
                           bool fortran = false) {
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

}  // namespace maddness::io

#endif  // MADDNESS_TESTS_TESTERS_IO_HELPERS_H_
