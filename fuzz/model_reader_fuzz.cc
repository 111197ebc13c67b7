// Fuzz target: the model reader (Model::Deserialize, which Model::Load calls on a file's bytes).
// Any input must either be refused with maddness::Error or give a model that every method can use
// without error: re-serializing it gives bytes that read back to the same bytes, and Encode,
// EncodePacked and (with tables) Apply run on a few rows derived from the input.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <zlib.h>

#include "fuzz/fuzz_input.h"
#include "maddness/maddness.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

// Checks a model that Deserialize accepted; `data` (the input) supplies the rows of A.
void CheckModel(const maddness::Model& model, const std::uint8_t* data, std::size_t size);

}  // namespace

// The input as given, then with its last 4 bytes replaced by the CRC-32 of the rest (the model
// file's checksum, docs/format.md): without that, nearly every mutation would stop at the
// checksum and the checks behind it would never be reached.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> repaired(data, data + size);
  if (size >= 4) {
    const auto crc = static_cast<std::uint32_t>(crc32_z(crc32_z(0, nullptr, 0), data, size - 4));
    for (int i = 0; i < 4; ++i) repaired[size - 4 + i] = static_cast<std::uint8_t>(crc >> (8 * i));
  }
  const std::uint8_t* inputs[2] = {data, repaired.data()};
  for (const std::uint8_t* input : inputs) {
    maddness::Model model;
    try {
      model = maddness::Model::Deserialize(input, size);
    } catch (const maddness::Error&) {
      continue;  // refused with a message: the expected outcome for most inputs
    }
    CheckModel(model, data, size);
  }
  return 0;
}

namespace {

void CheckModel(const maddness::Model& model, const std::uint8_t* data, std::size_t size) {
  Check(!model.empty());
  const std::vector<std::uint8_t> bytes = model.Serialize();
  const std::vector<std::uint8_t> again =
      maddness::Model::Deserialize(bytes.data(), bytes.size()).Serialize();
  Check(bytes == again);

  // A few rows of A from the last bytes of the input: exercises the kernels on the loaded model.
  const std::size_t input_dim = model.input_dim();
  if (input_dim > (std::size_t{1} << 16)) return;  // keeps each run fast
  maddness::fuzz::FuzzInput input(data + size / 2, size - size / 2);
  const std::size_t rows = input.Range(1, 70);
  std::vector<float> a(rows * input_dim);
  for (float& value : a) value = input.FiniteFloat();
  const maddness::MatrixView view = maddness::MatrixView::RowMajor(a.data(), rows, input_dim);
  maddness::ApplyOptions options;
  options.threads = 1;
  const std::vector<std::uint8_t> codes = model.Encode(view, options);
  Check(codes.size() == rows * static_cast<std::size_t>(model.num_codebooks()));
  for (const std::uint8_t code : codes) Check(code < maddness::kNumPrototypes);
  const std::vector<std::uint8_t> packed = model.EncodePacked(view, options);
  Check(packed.size() == model.PackedCodesBytes(rows));
  if (model.has_tables()) {
    const std::vector<float> out = model.Apply(view, options);
    Check(out.size() == rows * model.output_dim());
    std::vector<float> scanned(out.size());
    model.ScanPacked(packed.data(), packed.size(), rows, scanned.data(), 0, options);
    // Apply is EncodePacked then ScanPacked, bit for bit.
    for (std::size_t i = 0; i < out.size(); ++i) {
      Check(std::memcmp(&out[i], &scanned[i], sizeof(float)) == 0);
    }
  }
}

}  // namespace
