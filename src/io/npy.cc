// The .npy format (numpy.lib.format): the 6-byte magic "\x93NUMPY", a major and a minor version
// byte, the header length (uint16 little-endian in version 1.0, uint32 in 2.0 and 3.0), then the
// header: a Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': (...)} padded with
// spaces and a newline, then the raw array data.
#include "src/io/npy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <string_view>
#include <type_traits>
#include <utility>

#include "src/common/check.h"
#include "src/io/file.h"
#include "src/io/little_endian.h"

namespace maddness::io {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicBytes = 6;
// Magic, two version bytes and the header length of version 1.0 (2 bytes) or 2.0/3.0 (4 bytes).
constexpr std::size_t kPreambleBytesV1 = kMagicBytes + 2 + 2;
constexpr std::size_t kPreambleBytesV2 = kMagicBytes + 2 + 4;
// NumPy pads the preamble and header to a multiple of this, so that the data is aligned.
constexpr std::size_t kHeaderAlignment = 64;
// float32 holds every integer up to this magnitude exactly, and not every one beyond.
constexpr std::int64_t kMaxExactFloatInteger = std::int64_t{1} << 24;

enum class Dtype { kFloat32, kFloat64, kInt32, kInt64 };

// A parsed .npy file whose data still lies in the file's bytes.
struct NpyContents {
  std::string descr;
  Dtype dtype = Dtype::kFloat32;
  std::vector<std::size_t> shape;  // 1 or 2 entries
  bool fortran_order = false;
  const std::uint8_t* data = nullptr;  // product(shape) elements of `dtype`, little-endian
  std::size_t num_elements = 0;
  std::size_t data_offset = 0;  // bytes from the start of the file
};

std::string Where(const std::string& name, const std::string& path) {
  return name + " (" + path + ")";
}

std::string ShapeString(const std::vector<std::size_t>& shape) {
  std::string text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  if (shape.size() == 1) text += ",";
  return text + ")";
}

// Parses the header dict. Accepts the Python literal syntax such headers use (single or
// double quoted keys and strings, True/False, tuples of non-negative integers with an optional
// trailing comma and Python 2's L suffix, any whitespace) and rejects everything else.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, std::string where) : text_(text), where_(std::move(where)) {}

  // Fills descr, fortran_order and shape of `contents`.
  void Parse(NpyContents* contents) {
    bool seen_descr = false, seen_fortran_order = false, seen_shape = false;
    Expect('{', "the header to start with '{'");
    SkipSpace();
    while (!Consume('}')) {
      const std::string key = ParseString("a quoted key");
      Expect(':', "':' after the key");
      bool* seen = nullptr;
      if (key == "descr") {
        seen = &seen_descr;
        SkipSpace();
        if (Peek() == '[') {
          detail::Fail(where_, ": the array has a structured dtype (a list of fields); ",
                       "only plain float32, float64, int32 and int64 arrays are supported");
        }
        contents->descr = ParseString("a quoted dtype string for 'descr'");
      } else if (key == "fortran_order") {
        seen = &seen_fortran_order;
        contents->fortran_order = ParseBool();
      } else if (key == "shape") {
        seen = &seen_shape;
        contents->shape = ParseShape();
      } else {
        detail::Fail(where_, ": the header has the unknown key '", key,
                     "'; a .npy header has exactly 'descr', 'fortran_order' and 'shape'");
      }
      if (*seen) detail::Fail(where_, ": the header has the key '", key, "' twice");
      *seen = true;
      SkipSpace();
      if (!Consume(',')) {
        Expect('}', "',' or '}' after a value");
        break;
      }
      SkipSpace();
    }
    SkipSpace();
    if (position_ != text_.size()) {
      Fail("only spaces and a newline after the closing '}'");
    }
    if (!seen_descr || !seen_fortran_order || !seen_shape) {
      detail::Fail(where_, ": the header lacks the key '",
                   !seen_descr ? "descr" : (!seen_fortran_order ? "fortran_order" : "shape"),
                   "'; a .npy header has exactly 'descr', 'fortran_order' and 'shape'");
    }
  }

 private:
  [[noreturn]] void Fail(const char* expected) const {
    detail::Fail(where_, ": the header is malformed at character ", position_, ": expected ",
                 expected, " (header: ", Excerpt(), ")");
  }

  // The header for a message: printable characters only, trailing padding dropped, at most 200
  // characters (a corrupt length can make the "header" megabytes of binary data).
  std::string Excerpt() const {
    constexpr std::size_t kMaxChars = 200;
    std::string_view shown = text_.substr(0, kMaxChars);
    while (!shown.empty() && (shown.back() == ' ' || shown.back() == '\n')) {
      shown.remove_suffix(1);
    }
    std::string excerpt;
    for (char c : shown) excerpt += (c >= 0x20 && c < 0x7f) ? c : '?';
    if (text_.size() > kMaxChars) excerpt += "...";
    return excerpt;
  }

  char Peek() const { return position_ < text_.size() ? text_[position_] : '\0'; }

  void SkipSpace() {
    while (position_ < text_.size() && (text_[position_] == ' ' || text_[position_] == '\t' ||
                                        text_[position_] == '\n' || text_[position_] == '\r')) {
      ++position_;
    }
  }

  bool Consume(char c) {
    if (position_ >= text_.size() || text_[position_] != c) return false;
    ++position_;
    return true;
  }

  void Expect(char c, const char* expected) {
    SkipSpace();
    if (!Consume(c)) Fail(expected);
  }

  bool ConsumeWord(std::string_view word) {
    if (text_.substr(position_, word.size()) != word) return false;
    position_ += word.size();
    return true;
  }

  // A quoted string without escapes (no dtype or key NumPy accepts here needs one).
  std::string ParseString(const char* expected) {
    SkipSpace();
    const char quote = Peek();
    if (quote != '\'' && quote != '"') Fail(expected);
    const std::size_t begin = ++position_;
    while (position_ < text_.size() && text_[position_] != quote) {
      if (text_[position_] == '\\') Fail("a string without backslash escapes");
      ++position_;
    }
    if (position_ >= text_.size()) Fail("a closing quote");
    const std::size_t end = position_++;
    return std::string(text_.substr(begin, end - begin));
  }

  bool ParseBool() {
    SkipSpace();
    if (ConsumeWord("True")) return true;
    if (ConsumeWord("False")) return false;
    Fail("True or False for 'fortran_order'");
  }

  std::size_t ParseDimension() {
    SkipSpace();
    if (Peek() < '0' || Peek() > '9') Fail("a non-negative integer in 'shape'");
    std::size_t value = 0;
    while (Peek() >= '0' && Peek() <= '9') {
      const std::size_t digit = static_cast<std::size_t>(Peek() - '0');
      if (value > (std::numeric_limits<std::size_t>::max() - digit) / 10) {
        detail::Fail(where_, ": a dimension in 'shape' is too large (header: ", Excerpt(), ")");
      }
      value = value * 10 + digit;
      ++position_;
    }
    Consume('L');
    return value;
  }

  std::vector<std::size_t> ParseShape() {
    std::vector<std::size_t> shape;
    Expect('(', "a tuple '(...)' for 'shape'");
    SkipSpace();
    while (!Consume(')')) {
      // A valid 2-D header never has more than 2 entries; stop collecting long junk early.
      if (shape.size() > 64) Fail("a 'shape' tuple of at most 64 entries");
      shape.push_back(ParseDimension());
      SkipSpace();
      if (!Consume(',')) {
        Expect(')', "',' or ')' in 'shape'");
        break;
      }
      SkipSpace();
    }
    return shape;
  }

  std::string_view text_;
  std::string where_;
  std::size_t position_ = 0;
};

std::size_t DtypeBytes(Dtype dtype) {
  return dtype == Dtype::kFloat64 || dtype == Dtype::kInt64 ? 8 : 4;
}

Dtype ParseDescr(const std::string& descr, const std::string& where) {
  static constexpr std::pair<std::string_view, Dtype> kSupported[] = {{"f4", Dtype::kFloat32},
                                                                      {"f8", Dtype::kFloat64},
                                                                      {"i4", Dtype::kInt32},
                                                                      {"i8", Dtype::kInt64}};
  for (const auto& [type, dtype] : kSupported) {
    if (descr.size() == 3 && descr.compare(1, 2, type) == 0) {
      if (descr[0] == '<') return dtype;
      if (descr[0] == '>') {
        detail::Fail(where, ": dtype '", descr,
                     "' is big-endian; only little-endian files are supported (convert with "
                     "array.astype('<",
                     type, "'))");
      }
    }
  }
  detail::Fail(where, ": dtype '", descr,
               "' is not supported; use float32, float64, int32 or int64 (little-endian)");
}

// Checks the preamble and header of a file of `file_size` bytes whose first bytes are `bytes`, and
// that the file holds exactly the data the header declares; locates the data (data stays null
// when `bytes` holds only the preamble and header).
NpyContents ParseNpy(const std::vector<std::uint8_t>& bytes, const std::string& where,
                     std::size_t file_size) {
  if (file_size < kMagicBytes ||
      std::string_view(reinterpret_cast<const char*>(bytes.data()), kMagicBytes) !=
          std::string_view(kMagic, kMagicBytes)) {
    detail::Fail(where, ": not a .npy file (it does not start with the magic string \\x93NUMPY)");
  }
  if (file_size < kPreambleBytesV1) {
    detail::Fail(where, ": the file is truncated in its preamble (", file_size, " bytes)");
  }
  const int major = bytes[kMagicBytes];
  const int minor = bytes[kMagicBytes + 1];
  if (major < 1 || major > 3 || minor != 0) {
    detail::Fail(where, ": .npy format version ", major, ".", minor,
                 " is not supported; versions 1.0, 2.0 and 3.0 are");
  }
  std::size_t preamble_bytes = kPreambleBytesV1;
  std::size_t header_bytes = LoadLittleEndian<std::uint16_t>(&bytes[kMagicBytes + 2]);
  if (major >= 2) {
    if (file_size < kPreambleBytesV2) {
      detail::Fail(where, ": the file is truncated in its preamble (", file_size, " bytes)");
    }
    preamble_bytes = kPreambleBytesV2;
    header_bytes = LoadLittleEndian<std::uint32_t>(&bytes[kMagicBytes + 2]);
  }
  if (header_bytes > file_size - preamble_bytes) {
    detail::Fail(where, ": the header is truncated: it declares ", header_bytes,
                 " bytes but the file has only ", file_size - preamble_bytes,
                 " after the preamble");
  }
  if (preamble_bytes + header_bytes > bytes.size()) {
    detail::Fail(where, ": the header declares ", header_bytes,
                 " bytes; headers longer than 1 MiB are not supported");
  }

  NpyContents contents;
  const std::string_view header(reinterpret_cast<const char*>(&bytes[preamble_bytes]),
                                header_bytes);
  HeaderParser(header, where).Parse(&contents);
  contents.dtype = ParseDescr(contents.descr, where);
  if (contents.shape.empty() || contents.shape.size() > 2) {
    detail::Fail(where, ": the array has shape ", ShapeString(contents.shape), " (",
                 contents.shape.size(), " dimensions); only 1-D and 2-D arrays are supported");
  }

  // Every product is checked before it is used, so a hostile shape cannot wrap around.
  const std::size_t max_size = std::numeric_limits<std::size_t>::max();
  std::size_t num_elements = 1;
  for (std::size_t dimension : contents.shape) {
    if (dimension != 0 && num_elements > max_size / dimension) {
      detail::Fail(where, ": shape ", ShapeString(contents.shape),
                   " has more elements than can be addressed");
    }
    num_elements *= dimension;
  }
  const std::size_t element_bytes = DtypeBytes(contents.dtype);
  if (num_elements > max_size / element_bytes) {
    detail::Fail(where, ": shape ", ShapeString(contents.shape), " of dtype '", contents.descr,
                 "' has more bytes than can be addressed");
  }
  const std::size_t data_bytes = num_elements * element_bytes;
  const std::size_t data_offset = preamble_bytes + header_bytes;
  const std::size_t available_bytes = file_size - data_offset;
  if (available_bytes < data_bytes) {
    detail::Fail(where, ": the data is truncated: shape ", ShapeString(contents.shape),
                 " of dtype '", contents.descr, "' needs ", data_bytes,
                 " bytes after the header but the file has only ", available_bytes);
  }
  if (available_bytes > data_bytes) {
    detail::Fail(where, ": the file has ", available_bytes, " bytes after the header but shape ",
                 ShapeString(contents.shape), " of dtype '", contents.descr, "' needs only ",
                 data_bytes, "; it is corrupt or holds more than one array");
  }
  contents.data = bytes.size() == file_size ? bytes.data() + data_offset : nullptr;
  contents.data_offset = data_offset;
  contents.num_elements = num_elements;
  return contents;
}

// "[i]" or "[i, j]": the position of the element with C-order index `index`.
std::string ElementIndexString(const NpyContents& contents, std::size_t index) {
  if (contents.shape.size() == 1) return "[" + std::to_string(index) + "]";
  const std::size_t cols = contents.shape[1];
  return "[" + std::to_string(index / cols) + ", " + std::to_string(index % cols) + "]";
}

// Calls visit(value, index) for every element, as a T, in C order (index = row * cols + col),
// reading Fortran-order data transposed.
template <typename T, typename Visit>
void VisitInCOrder(const NpyContents& contents, Visit&& visit) {
  const std::uint8_t* data = contents.data;
  if (!contents.fortran_order || contents.shape.size() == 1) {
    for (std::size_t i = 0; i < contents.num_elements; ++i) {
      visit(LoadLittleEndian<T>(data + i * sizeof(T)), i);
    }
    return;
  }
  const std::size_t rows = contents.shape[0];
  const std::size_t cols = contents.shape[1];
  for (std::size_t row = 0; row < rows; ++row) {
    for (std::size_t col = 0; col < cols; ++col) {
      visit(LoadLittleEndian<T>(data + (col * rows + row) * sizeof(T)), row * cols + col);
    }
  }
}

// Calls VisitInCOrder with the element type of the file's dtype.
template <typename Visit>
void VisitElements(const NpyContents& contents, Visit&& visit) {
  switch (contents.dtype) {
    case Dtype::kFloat32:
      return VisitInCOrder<float>(contents, visit);
    case Dtype::kFloat64:
      return VisitInCOrder<double>(contents, visit);
    case Dtype::kInt32:
      return VisitInCOrder<std::int32_t>(contents, visit);
    case Dtype::kInt64:
      return VisitInCOrder<std::int64_t>(contents, visit);
  }
}

template <typename T>
void WriteNpyArray(const std::string& path, const T* values, const std::vector<std::size_t>& shape,
                   const char* descr, bool fortran_order) {
  if (shape.empty() || shape.size() > 2) {
    detail::Fail("output file (", path, "): shape ", ShapeString(shape), " has ", shape.size(),
                 " dimensions; only 1-D and 2-D arrays can be written");
  }
  std::size_t num_elements = 1;
  for (std::size_t dimension : shape) {
    if (dimension != 0 &&
        num_elements > std::numeric_limits<std::size_t>::max() / sizeof(T) / dimension) {
      detail::Fail("output file (", path, "): shape ", ShapeString(shape), " is too large");
    }
    num_elements *= dimension;
  }
  if (values == nullptr && num_elements > 0) {
    detail::Fail("output file (", path, "): the array has a null data pointer");
  }

  std::vector<std::uint8_t> bytes = NpyHeaderBytes(descr, shape, fortran_order);
  const std::size_t data_offset = bytes.size();
  bytes.resize(data_offset + num_elements * sizeof(T));
  for (std::size_t i = 0; i < num_elements; ++i) {
    StoreLittleEndian(values[i], &bytes[data_offset + i * sizeof(T)]);
  }
  WriteFileAtomic(path, bytes, "output file");
}

// The whole file, after a look at its magic: a file that is not a .npy file (a huge one, or
// /dev/zero) is refused without being read whole.
std::vector<std::uint8_t> ReadNpyFile(const std::string& path, const std::string& name,
                                      const std::string& where) {
  return ReadFileBounded(
      path, name, kMagicBytes, [&](const std::uint8_t* prefix, std::size_t size) {
        if (size < kMagicBytes || std::memcmp(prefix, kMagic, kMagicBytes) != 0) {
          detail::Fail(where,
                       ": not a .npy file (it does not start with the magic string \\x93NUMPY)");
        }
        return std::numeric_limits<std::size_t>::max();
      });
}

}  // namespace

// Peak memory: the whole file plus the float32 array.
NpyFloatArray ReadNpy(const std::string& path, const std::string& name) {
  const std::string where = Where(name, path);
  const std::vector<std::uint8_t> bytes = ReadNpyFile(path, name, where);
  const NpyContents contents = ParseNpy(bytes, where, bytes.size());

  NpyFloatArray array;
  array.shape = contents.shape;
  array.values.resize(contents.num_elements);
  VisitElements(contents, [&](auto value, std::size_t index) {
    using T = decltype(value);
    if constexpr (std::is_same_v<T, double>) {
      if (std::isfinite(value) && std::fabs(value) > std::numeric_limits<float>::max()) {
        detail::Fail(where, ": the float64 value ", value, " at ",
                     ElementIndexString(contents, index),
                     " is outside the range of float32 (about 3.4e38)");
      }
    } else if constexpr (std::is_integral_v<T>) {
      if (value > kMaxExactFloatInteger || value < -kMaxExactFloatInteger) {
        detail::Fail(where, ": the integer ", value, " at ", ElementIndexString(contents, index),
                     " is larger in magnitude than 2^24 = ", kMaxExactFloatInteger,
                     "; float32 does not hold every integer beyond that exactly");
      }
    }
    array.values[index] = static_cast<float>(value);
  });
  return array;
}

std::vector<std::int64_t> ReadNpyLabels(const std::string& path, const std::string& name) {
  const std::string where = Where(name, path);
  const std::vector<std::uint8_t> bytes = ReadNpyFile(path, name, where);
  const NpyContents contents = ParseNpy(bytes, where, bytes.size());
  if (contents.shape.size() != 1) {
    detail::Fail(where, ": labels must be a 1-D array but the file has shape ",
                 ShapeString(contents.shape), " (flatten it with array.ravel())");
  }

  std::vector<std::int64_t> labels(contents.num_elements);
  VisitElements(contents, [&](auto value, std::size_t index) {
    if constexpr (std::is_floating_point_v<decltype(value)>) {
      // Every integral double in [-2^63, 2^63) converts to int64 exactly.
      constexpr double kInt64Limit = 9223372036854775808.0;  // 2^63
      if (!(std::trunc(value) == value && value >= -kInt64Limit && value < kInt64Limit)) {
        detail::Fail(where, ": the label ", value, " at ", ElementIndexString(contents, index),
                     " is not an integer; labels must be integers");
      }
    }
    labels[index] = static_cast<std::int64_t>(value);
  });
  return labels;
}

NpyHeader ReadNpyHeader(const std::string& path, const std::string& name) {
  const std::string where = Where(name, path);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) detail::Fail(where, ": cannot open: ", std::strerror(errno));
  struct stat status {};
  std::vector<std::uint8_t> prefix;
  int error_number = 0;
  if (::fstat(fd, &status) != 0) {
    error_number = errno;
  } else if (!S_ISREG(status.st_mode)) {
    error_number = EISDIR;
  } else {
    constexpr std::size_t kMaxPrefix = kPreambleBytesV2 + (std::size_t{1} << 20);
    prefix.resize(std::min(kMaxPrefix, static_cast<std::size_t>(status.st_size)));
    std::size_t done = 0;
    while (done < prefix.size()) {
      const ssize_t got =
          ::pread(fd, prefix.data() + done, prefix.size() - done, static_cast<off_t>(done));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        error_number = got < 0 ? errno : EIO;
        break;
      }
      done += static_cast<std::size_t>(got);
    }
  }
  ::close(fd);
  if (error_number == EISDIR) detail::Fail(where, ": is not a regular file");
  if (error_number != 0) detail::Fail(where, ": cannot read: ", std::strerror(error_number));
  const NpyContents contents = ParseNpy(prefix, where, static_cast<std::size_t>(status.st_size));
  return NpyHeader{contents.shape, contents.descr, contents.fortran_order, contents.data_offset};
}

std::vector<std::uint8_t> NpyHeaderBytes(const std::string& descr,
                                         const std::vector<std::size_t>& shape,
                                         bool fortran_order) {
  std::string header = "{'descr': '" + descr +
                       "', 'fortran_order': " + (fortran_order ? "True" : "False") +
                       ", 'shape': " + ShapeString(shape) + ", }";
  // Pad with spaces so that the data starts at a multiple of 64 bytes; the newline ends it.
  const std::size_t unpadded = kPreambleBytesV1 + header.size() + 1;
  header.append((kHeaderAlignment - unpadded % kHeaderAlignment) % kHeaderAlignment, ' ');
  header += '\n';
  std::vector<std::uint8_t> bytes(kPreambleBytesV1 + header.size());
  std::memcpy(bytes.data(), kMagic, kMagicBytes);
  bytes[kMagicBytes] = 1;  // version 1.0
  bytes[kMagicBytes + 1] = 0;
  StoreLittleEndian(static_cast<std::uint16_t>(header.size()), &bytes[kMagicBytes + 2]);
  std::memcpy(&bytes[kPreambleBytesV1], header.data(), header.size());
  return bytes;
}

void WriteNpy(const std::string& path, const float* values, const std::vector<std::size_t>& shape,
              bool fortran_order) {
  WriteNpyArray(path, values, shape, "<f4", fortran_order);
}

void WriteNpy(const std::string& path, const std::uint8_t* values,
              const std::vector<std::size_t>& shape, bool fortran_order) {
  WriteNpyArray(path, values, shape, "|u1", fortran_order);
}

void WriteNpy(const std::string& path, const std::uint16_t* values,
              const std::vector<std::size_t>& shape, bool fortran_order) {
  WriteNpyArray(path, values, shape, "<u2", fortran_order);
}

}  // namespace maddness::io
