// Writes the seed corpus of the fuzz targets (fuzz/corpus/<target>/): small valid model files,
// .npy files of every accepted kind and a few refused ones, and random inputs for the kernels'
// differential target. Deterministic: the same program writes the same files.
//   maddness_fuzz_corpus fuzz/corpus
// The committed corpus was written with that command (docs/reliability.md); the model files are in
// the format version that the library writes.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "maddness/maddness.h"

namespace {

void WriteBytes(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream stream(path, std::ios::binary | std::ios::trunc);
  stream.write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
  if (!stream) throw std::runtime_error("cannot write " + path.string());
}

// Smooth, correlated columns so that the learned trees use several thresholds.
std::vector<float> MakeMatrix(std::size_t rows, std::size_t cols, std::uint64_t seed) {
  std::mt19937_64 generator(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values(rows * cols);
  for (std::size_t r = 0; r < rows; ++r) {
    const float common = normal(generator);
    for (std::size_t c = 0; c < cols; ++c) {
      values[r * cols + c] = common * static_cast<float>(c % 3) + normal(generator);
    }
  }
  return values;
}

struct ModelCase {
  const char* name;
  std::size_t input_dim;
  int num_codebooks;
  std::size_t outputs;  // 0: no tables
  maddness::Variant variant;
  maddness::Aggregation aggregation;
  maddness::TableScale table_scale;
};

void WriteModels(const std::filesystem::path& folder) {
  const ModelCase cases[] = {
      {"encoder_only", 8, 2, 0, maddness::Variant::kMaddness, maddness::Aggregation::kAveraging,
       maddness::TableScale::kGlobal},
      {"averaging", 12, 3, 5, maddness::Variant::kMaddness, maddness::Aggregation::kAveraging,
       maddness::TableScale::kGlobal},
      {"pq_exact_per_output", 16, 4, 3, maddness::Variant::kPq, maddness::Aggregation::kExactSum,
       maddness::TableScale::kPerOutput},
      {"one_codebook", 3, 1, 2, maddness::Variant::kMaddness, maddness::Aggregation::kExactSum,
       maddness::TableScale::kGlobal},
      {"c_equals_d", 5, 5, 1, maddness::Variant::kPq, maddness::Aggregation::kAveraging,
       maddness::TableScale::kPerOutput},
  };
  std::uint64_t seed = 1;
  for (const ModelCase& model_case : cases) {
    const std::size_t rows = 40;
    const std::vector<float> a = MakeMatrix(rows, model_case.input_dim, seed++);
    const std::vector<float> b = MakeMatrix(model_case.input_dim, model_case.outputs, seed++);
    maddness::LearnOptions options;
    options.num_codebooks = model_case.num_codebooks;
    options.variant = model_case.variant;
    options.aggregation = model_case.aggregation;
    options.table_scale = model_case.table_scale;
    options.seed = seed;
    options.threads = 1;
    const maddness::MatrixView a_view =
        maddness::MatrixView::RowMajor(a.data(), rows, model_case.input_dim);
    const maddness::MatrixView b_view =
        maddness::MatrixView::RowMajor(b.data(), model_case.input_dim, model_case.outputs);
    const maddness::Model model =
        maddness::Model::Learn(a_view, model_case.outputs > 0 ? &b_view : nullptr, options);
    WriteBytes(folder / (std::string(model_case.name) + ".maddness"), model.Serialize());
  }
}

// A .npy file: preamble of format `major`.0, the header dict, padding to 64 bytes, then `data`.
std::vector<std::uint8_t> Npy(int major, const std::string& dict,
                              const std::vector<std::uint8_t>& data) {
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  std::string header = dict;
  const std::size_t unpadded = 8 + length_bytes + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::vector<std::uint8_t> bytes = {
      0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<std::uint8_t>(major), 0};
  for (std::size_t i = 0; i < length_bytes; ++i) {
    bytes.push_back(static_cast<std::uint8_t>((header.size() >> (8 * i)) & 0xFF));
  }
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

template <typename T>
std::vector<std::uint8_t> Data(const std::vector<T>& values) {
  std::vector<std::uint8_t> bytes(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;  // this generator runs on little-endian x86-64, like the format
}

void WriteNpyFiles(const std::filesystem::path& folder) {
  const std::vector<float> f4 = {1.5f, -2.0f, 0.0f, 3.25f, 1e30f, -7.0f};
  const std::vector<double> f8 = {0.5, -1.0, 2.0, 1e-300};
  const std::vector<std::int32_t> i4 = {0, 1, -5, 9, 16777216, 3};
  const std::vector<std::int64_t> i8 = {4, -4, 100, 0};
  // name, format version, header, data
  const struct {
    const char* name;
    int version;
    const char* header;
    std::vector<std::uint8_t> data;
  } files[] = {
      {"f4_2d.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", Data(f4)},
      {"f4_fortran.npy", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (3, 2), }", Data(f4)},
      {"f8_1d.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }", Data(f8)},
      {"i4_labels.npy", 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (6,), }", Data(i4)},
      {"i8_2d.npy", 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2), }", Data(i8)},
      {"f4_v2.npy", 2, "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (6,)}", Data(f4)},
      {"f4_v3_empty.npy", 3, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", {}},
      {"big_endian.npy", 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (6,), }", Data(f4)},
      {"three_dims.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3), }",
       Data(f4)},
  };
  for (const auto& file : files) {
    WriteBytes(folder / file.name, Npy(file.version, file.header, file.data));
  }
  std::vector<std::uint8_t> truncated =
      Npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", Data(f4));
  truncated.resize(truncated.size() - 5);
  WriteBytes(folder / "truncated.npy", truncated);
}

void WriteRandomInputs(const std::filesystem::path& folder) {
  std::mt19937_64 generator(7);
  const std::size_t sizes[] = {0, 16, 64, 200, 600, 1500, 3000, 4096};
  for (const std::size_t size : sizes) {
    std::vector<std::uint8_t> bytes(size);
    for (std::uint8_t& byte : bytes) byte = static_cast<std::uint8_t>(generator());
    WriteBytes(folder / ("random_" + std::to_string(size)), bytes);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_FOLDER (fuzz/corpus)\n", argv[0]);
    return 2;
  }
  try {
    const std::filesystem::path root(argv[1]);
    for (const char* target : {"model_reader", "npy_reader", "kernels_diff"}) {
      std::filesystem::create_directories(root / target);
    }
    WriteModels(root / "model_reader");
    WriteNpyFiles(root / "npy_reader");
    WriteRandomInputs(root / "kernels_diff");
  } catch (const std::exception& error) {
    std::fprintf(stderr, "error: %s\n", error.what());
    return 1;
  }
  return 0;
}
