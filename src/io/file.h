// Whole-file reads and atomic writes.
#ifndef MADDNESS_SRC_IO_FILE_H_
#define MADDNESS_SRC_IO_FILE_H_

#include <cstdint>
#include <string>
#include <vector>

namespace maddness::io {

// Reads the whole file; throws maddness::Error naming `name` and `path` when it cannot.
std::vector<std::uint8_t> ReadFile(const std::string& path, const std::string& name);

// Writes `bytes` to `path` atomically: a temporary file in the same directory is written,
// flushed and renamed over `path`. On failure the temporary file is removed and Error thrown.
void WriteFileAtomic(const std::string& path, const std::vector<std::uint8_t>& bytes,
                     const std::string& name);

}  // namespace maddness::io

#endif  // MADDNESS_SRC_IO_FILE_H_
