// Tests of src/io/npy.h: writing and reading .npy files, and every way a crafted file is refused.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "maddness/maddness.h"
#include "src/io/file.h"
#include "src/io/npy.h"
#include "tests/test_util.h"
#include "tests/testers/io_helpers.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "these tests build little-endian payloads with memcpy");

namespace maddness::io {
namespace {

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

}  // namespace
}  // namespace maddness::io
