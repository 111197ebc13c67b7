// Golden files (tests/golden/README.md): model files written by every format version must keep
// loading, and give the outputs and codes that the library that wrote them computed, bit for bit;
// a file of the current version, loaded and saved again, must give back its bytes.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "maddness/maddness.h"
#include "src/io/model_file.h"

namespace maddness {
namespace {

const std::string kGoldenDir = MADDNESS_GOLDEN_DATA;
// The format version that Model::Save writes (docs/format.md).
constexpr std::uint32_t kCurrentVersion = io::kModelFormatVersion;

std::vector<std::uint8_t> ReadBytes(const std::string& path) {
  std::ifstream stream(path, std::ios::binary);
  EXPECT_TRUE(stream) << "cannot read " << path;
  return std::vector<std::uint8_t>((std::istreambuf_iterator<char>(stream)),
                                   std::istreambuf_iterator<char>());
}

// The data of a .npy file of format 1.0 written by maddness (io::WriteNpy), after checking that
// its header names `descr` and `shape` (as NumPy writes them, e.g. "(100, 3)").
std::vector<std::uint8_t> ReadNpyData(const std::string& path, const std::string& descr,
                                      const std::string& shape) {
  const std::vector<std::uint8_t> bytes = ReadBytes(path);
  if (bytes.size() < 10) {
    ADD_FAILURE() << path << " is too short";
    return {};
  }
  const std::size_t header_bytes = bytes[8] | (std::size_t{bytes[9]} << 8);
  const std::string header(bytes.begin() + 10, bytes.begin() + 10 + header_bytes);
  EXPECT_NE(header.find("'descr': '" + descr + "'"), std::string::npos) << path << ": " << header;
  EXPECT_NE(header.find("'shape': " + shape), std::string::npos) << path << ": " << header;
  return std::vector<std::uint8_t>(bytes.begin() + 10 + header_bytes, bytes.end());
}

std::uint32_t FileVersion(const std::vector<std::uint8_t>& bytes) {
  std::uint32_t version = 0;
  for (int i = 0; i < 4; ++i) version |= std::uint32_t{bytes.at(8 + i)} << (8 * i);
  return version;
}

void CheckGolden(const std::string& version_dir, const std::string& name,
                 std::uint32_t expected_version) {
  SCOPED_TRACE(version_dir + "/" + name);
  const std::string folder = kGoldenDir + "/" + version_dir + "/";
  ASSERT_EQ(FileVersion(ReadBytes(folder + name + ".maddness")), expected_version);
  const Model model = Model::Load(folder + name + ".maddness");
  ASSERT_TRUE(model.has_tables());
  const std::size_t rows = 100, dim = 12, outputs = 3;
  ASSERT_EQ(model.input_dim(), dim);
  ASSERT_EQ(model.output_dim(), outputs);

  const std::vector<std::uint8_t> a_bytes = ReadNpyData(folder + "a.npy", "<f4", "(100, 12)");
  ASSERT_EQ(a_bytes.size(), rows * dim * sizeof(float));
  std::vector<float> a(rows * dim);
  std::memcpy(a.data(), a_bytes.data(), a_bytes.size());
  const std::vector<std::uint8_t> expected_y =
      ReadNpyData(folder + name + "_y.npy", "<f4", "(100, 3)");
  const std::vector<std::uint8_t> expected_codes =
      ReadNpyData(folder + name + "_codes.npy", "|u1", "(100, 4)");

  // Every thread count gives the same bits (each row's output depends on that row only).
  const MatrixView a_view = MatrixView::RowMajor(a.data(), rows, dim);
  for (const int threads : {1, 2}) {
    ApplyOptions options;
    options.threads = threads;
    const std::vector<float> y = model.Apply(a_view, options);
    ASSERT_EQ(y.size() * sizeof(float), expected_y.size());
    EXPECT_EQ(std::memcmp(y.data(), expected_y.data(), expected_y.size()), 0)
        << "Apply differs from the golden output, threads " << threads;
    EXPECT_EQ(model.Encode(a_view, options), expected_codes) << "threads " << threads;
  }

  // Saved again in the current version, the model reads back with the same outputs; a file of the
  // current version gives back its own bytes.
  const std::vector<std::uint8_t> current = model.Serialize();
  if (expected_version == kCurrentVersion) {
    EXPECT_EQ(current, ReadBytes(folder + name + ".maddness")) << "saved again, other bytes";
  } else {
    EXPECT_EQ(FileVersion(current), kCurrentVersion);
  }
  const Model reloaded = Model::Deserialize(current.data(), current.size());
  const std::vector<float> y = reloaded.Apply(a_view);
  EXPECT_EQ(std::memcmp(y.data(), expected_y.data(), expected_y.size()), 0);
}

TEST(Golden, Version1AveragingModel) { CheckGolden("v1", "averaging", 1); }
TEST(Golden, Version1PqExactSumModel) { CheckGolden("v1", "pq_exact", 1); }
TEST(Golden, Version2AveragingModel) { CheckGolden("v2", "averaging", 2); }
TEST(Golden, Version2PqExactSumModel) { CheckGolden("v2", "pq_exact", 2); }

}  // namespace
}  // namespace maddness
