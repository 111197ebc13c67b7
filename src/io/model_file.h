// The model file format (docs/format.md).
#ifndef MADDNESS_SRC_IO_MODEL_FILE_H_
#define MADDNESS_SRC_IO_MODEL_FILE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "src/common/model_data.h"

namespace maddness::io {

inline constexpr std::uint32_t kModelFormatVersion = 2;

// Encodes a model as the bytes of a model file.
std::vector<std::uint8_t> SerializeModel(const detail::ModelData& model);

// Decodes and validates a model file: magic, version, every size before allocating, the
// checksum, and every field's range (split dims < D, codebook ranges, table sizes). Throws
// maddness::Error describing the first problem found.
detail::ModelData DeserializeModel(const std::uint8_t* bytes, std::size_t size);

// The size in bytes that a model file with this header must have, after checking the magic, the
// version and the header's counts (the first checks of DeserializeModel, with its messages).
// Reads only the first min(size, 60) bytes.
std::size_t ModelFileSize(const std::uint8_t* bytes, std::size_t size);

// Reads the model file at `path` (the argument `name`) for DeserializeModel: its header first,
// checked with ModelFileSize, then no more than the size the header gives, so that a huge file
// or a device like /dev/zero is refused without reading it whole. Throws Error naming `name` and
// `path` for a file that cannot be read, is not a model file, or is longer than its header says;
// a shorter file is returned for DeserializeModel to report.
std::vector<std::uint8_t> ReadModelFile(const std::string& path, const std::string& name);

}  // namespace maddness::io

#endif  // MADDNESS_SRC_IO_MODEL_FILE_H_
