// Writes the golden files of one model file format version (tests/golden/README.md): two small
// models, the matrix A they are applied to, and the outputs and codes that the library that wrote
// them computes. Deterministic: inputs come from a fixed linear congruential generator, learning
// uses one thread and a fixed seed.
//   make_golden OUTPUT_FOLDER
// Uses only the public API and src/io/npy.h, both unchanged in form since format version 1, so
// that the same file builds against the sources of any version.
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "maddness/maddness.h"
#include "src/io/npy.h"

namespace {

// Values in [-2, 2) with a column-dependent offset and a shared component, so that trees split
// on several columns and thresholds.
std::vector<float> MakeMatrix(std::size_t rows, std::size_t cols, std::uint32_t seed) {
  std::uint32_t state = seed;
  auto next = [&state] {
    state = state * 1664525u + 1013904223u;
    return static_cast<float>(state >> 8) / 16777216.0f * 4.0f - 2.0f;
  };
  std::vector<float> values(rows * cols);
  for (std::size_t r = 0; r < rows; ++r) {
    const float shared = next();
    for (std::size_t c = 0; c < cols; ++c) {
      values[r * cols + c] =
          shared * static_cast<float>(c % 4) * 0.5f + next() + static_cast<float>(c) * 0.25f;
    }
  }
  return values;
}

struct GoldenModel {
  const char* name;
  maddness::Variant variant;
  maddness::Aggregation aggregation;
  maddness::TableScale table_scale;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_FOLDER\n", argv[0]);
    return 2;
  }
  const std::string folder = argv[1];
  constexpr std::size_t kTrainRows = 96, kRows = 100, kDim = 12, kOutputs = 3;
  try {
    const std::vector<float> a_train = MakeMatrix(kTrainRows, kDim, 1);
    const std::vector<float> a = MakeMatrix(kRows, kDim, 2);
    const std::vector<float> b = MakeMatrix(kDim, kOutputs, 3);
    maddness::io::WriteNpy(folder + "/a.npy", a.data(), {kRows, kDim});
    const GoldenModel models[] = {
        {"averaging", maddness::Variant::kMaddness, maddness::Aggregation::kAveraging,
         maddness::TableScale::kGlobal},
        {"pq_exact", maddness::Variant::kPq, maddness::Aggregation::kExactSum,
         maddness::TableScale::kPerOutput},
    };
    for (const GoldenModel& golden : models) {
      maddness::LearnOptions options;
      options.num_codebooks = 4;
      options.variant = golden.variant;
      options.aggregation = golden.aggregation;
      options.table_scale = golden.table_scale;
      options.seed = 11;
      options.threads = 1;
      const maddness::MatrixView b_view = maddness::MatrixView::RowMajor(b.data(), kDim, kOutputs);
      const maddness::Model model = maddness::Model::Learn(
          maddness::MatrixView::RowMajor(a_train.data(), kTrainRows, kDim), &b_view, options);
      const maddness::MatrixView a_view = maddness::MatrixView::RowMajor(a.data(), kRows, kDim);
      maddness::ApplyOptions apply_options;
      apply_options.threads = 1;
      const std::vector<float> y = model.Apply(a_view, apply_options);
      const std::vector<std::uint8_t> codes = model.Encode(a_view, apply_options);
      const std::string prefix = folder + "/" + golden.name;
      model.Save(prefix + ".maddness");
      maddness::io::WriteNpy(prefix + "_y.npy", y.data(), {kRows, kOutputs});
      maddness::io::WriteNpy(prefix + "_codes.npy", codes.data(),
                             {kRows, static_cast<std::size_t>(options.num_codebooks)});
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "error: %s\n", error.what());
    return 1;
  }
  return 0;
}
