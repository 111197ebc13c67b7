// Fuzz target: the .npy reader (src/io/npy.h). The input is the content of a file, read by
// ReadNpy, ReadNpyLabels and ReadNpyHeader; each must either refuse it with maddness::Error or
// return an array consistent with its shape. An accepted array, written back with the header of
// NpyHeaderBytes, must read back bit for bit.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "maddness/maddness.h"
#include "src/io/npy.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

// An in-memory file (memfd) that the readers open by its /proc path, as they would a real file.
class MemoryFile {
 public:
  MemoryFile() : fd_(::memfd_create("maddness-fuzz", MFD_CLOEXEC)) {
    Check(fd_ >= 0);
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  void Set(const std::uint8_t* data, std::size_t size) {
    Check(::ftruncate(fd_, 0) == 0);
    std::size_t done = 0;
    while (done < size) {
      const ssize_t wrote = ::pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
      Check(wrote > 0);
      done += static_cast<std::size_t>(wrote);
    }
  }
  const std::string& path() const { return path_; }

 private:
  int fd_;
  std::string path_;
};

std::size_t Product(const std::vector<std::size_t>& shape) {
  std::size_t product = 1;
  for (const std::size_t extent : shape) product *= extent;
  return product;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static MemoryFile file;
  static MemoryFile copy;
  file.Set(data, size);

  bool header_ok = false;
  maddness::io::NpyHeader header;
  try {
    header = maddness::io::ReadNpyHeader(file.path(), "--a");
    header_ok = true;
    Check(header.shape.size() == 1 || header.shape.size() == 2);
    Check(header.data_offset <= size);
  } catch (const maddness::Error&) {
  }

  try {
    const maddness::io::NpyFloatArray array = maddness::io::ReadNpy(file.path(), "--a");
    Check(header_ok);  // whatever ReadNpy accepts, ReadNpyHeader accepts too
    Check(array.shape == header.shape);
    Check(array.values.size() == Product(array.shape));
    std::vector<std::uint8_t> bytes = maddness::io::NpyHeaderBytes("<f4", array.shape);
    const std::size_t header_bytes = bytes.size();
    bytes.resize(header_bytes + array.values.size() * sizeof(float));
    if (!array.values.empty()) {
      std::memcpy(bytes.data() + header_bytes, array.values.data(),
                  array.values.size() * sizeof(float));
    }
    copy.Set(bytes.data(), bytes.size());
    const maddness::io::NpyFloatArray again = maddness::io::ReadNpy(copy.path(), "--a");
    Check(again.shape == array.shape);
    Check(again.values.size() == array.values.size());
    if (!again.values.empty()) {
      Check(std::memcmp(again.values.data(), array.values.data(),
                        array.values.size() * sizeof(float)) == 0);
    }
  } catch (const maddness::Error&) {
  }

  try {
    const std::vector<std::int64_t> labels = maddness::io::ReadNpyLabels(file.path(), "--labels");
    Check(header_ok);
    Check(header.shape.size() == 1 && labels.size() == header.shape[0]);
  } catch (const maddness::Error&) {
  }
  return 0;
}
