#include "bench/experiment/baselines/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "maddness/maddness.h"

namespace maddness::baselines {
namespace {

constexpr std::uint8_t kTypeUnsignedByte = 0x08;

struct GzCloser {
  void operator()(gzFile_s* file) const { gzclose(file); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

// Reads exactly `size` bytes; returns how many were read.
std::size_t ReadBytes(gzFile file, std::uint8_t* out, std::size_t size, const std::string& path) {
  std::size_t done = 0;
  while (done < size) {
    const std::size_t chunk = std::min<std::size_t>(size - done, 1u << 30);
    const int got = gzread(file, out + done, static_cast<unsigned>(chunk));
    if (got < 0) {
      int code = 0;
      const char* message = gzerror(file, &code);
      throw Error(path + ": cannot decompress: " + (message ? message : "unknown error"));
    }
    if (got == 0) break;
    done += static_cast<std::size_t>(got);
  }
  return done;
}

std::uint32_t BigEndian32(const std::uint8_t* bytes) {
  return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
         (std::uint32_t{bytes[2]} << 8) | std::uint32_t{bytes[3]};
}

}  // namespace

IdxArray ReadIdxGz(const std::string& path, std::size_t num_dims, std::size_t max_values) {
  errno = 0;
  GzFile file(gzopen(path.c_str(), "rb"));
  if (!file) {
    throw Error(path + ": cannot open: " + (errno ? std::strerror(errno) : "out of memory"));
  }
  std::uint8_t magic[4];
  if (ReadBytes(file.get(), magic, 4, path) != 4 || magic[0] != 0 || magic[1] != 0) {
    throw Error(path + ": not an IDX file (its first bytes must be 00 00 <type> <rank>)");
  }
  if (magic[2] != kTypeUnsignedByte || magic[3] != num_dims) {
    char type[8];
    std::snprintf(type, sizeof(type), "0x%02x", magic[2]);
    throw Error(path + ": IDX type " + type + ", rank " + std::to_string(magic[3]) +
                "; expected unsigned bytes (type 0x08) of rank " + std::to_string(num_dims));
  }
  IdxArray array;
  std::size_t count = 1;
  for (std::size_t i = 0; i < num_dims; ++i) {
    std::uint8_t bytes[4];
    if (ReadBytes(file.get(), bytes, 4, path) != 4) {
      throw Error(path + ": truncated IDX header");
    }
    const std::size_t dim = BigEndian32(bytes);
    array.shape.push_back(dim);
    if (dim != 0 && count > max_values / dim) {
      throw Error(path + ": the header announces more than " + std::to_string(max_values) +
                  " values; not a dataset this program reads");
    }
    count *= dim;
  }
  array.values.resize(count);
  const std::size_t got = ReadBytes(file.get(), array.values.data(), count, path);
  if (got != count) {
    throw Error(path + ": truncated: the header announces " + std::to_string(count) +
                " values but the file holds " + std::to_string(got));
  }
  std::uint8_t extra;
  if (ReadBytes(file.get(), &extra, 1, path) != 0) {
    throw Error(path + ": longer than its header announces (" + std::to_string(count) + " values)");
  }
  return array;
}

}  // namespace maddness::baselines
