// The model file format (docs/format.md).
#ifndef MADDNESS_SRC_IO_MODEL_FILE_H_
#define MADDNESS_SRC_IO_MODEL_FILE_H_

#include <cstddef>
#include <cstdint>
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

}  // namespace maddness::io

#endif  // MADDNESS_SRC_IO_MODEL_FILE_H_
