// Little-endian loads and stores of fixed-width values in byte buffers, independent of the host's
// byte order and alignment. Used by the .npy and model file codecs.
#ifndef MADDNESS_SRC_IO_LITTLE_ENDIAN_H_
#define MADDNESS_SRC_IO_LITTLE_ENDIAN_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

namespace maddness::io {

// The unsigned integer of the same size as T (T: 1-, 2-, 4- or 8-byte integer or float).
template <typename T>
using UnsignedOfSize = std::conditional_t<
    sizeof(T) == 1, std::uint8_t,
    std::conditional_t<sizeof(T) == 2, std::uint16_t,
                       std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>>;

// Reads a T stored little-endian in the sizeof(T) bytes at `bytes`.
template <typename T>
T LoadLittleEndian(const std::uint8_t* bytes) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8);
  using Bits = UnsignedOfSize<T>;
  Bits bits = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) bits |= static_cast<Bits>(bytes[i]) << (8 * i);
  T value;
  std::memcpy(&value, &bits, sizeof(T));
  return value;
}

// Writes `value` as sizeof(T) little-endian bytes at `bytes`.
template <typename T>
void StoreLittleEndian(T value, std::uint8_t* bytes) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8);
  using Bits = UnsignedOfSize<T>;
  Bits bits;
  std::memcpy(&bits, &value, sizeof(T));
  for (std::size_t i = 0; i < sizeof(T); ++i) bytes[i] = static_cast<std::uint8_t>(bits >> (8 * i));
}

// Appends `value` to `out` as sizeof(T) little-endian bytes.
template <typename T>
void AppendLittleEndian(T value, std::vector<std::uint8_t>* out) {
  out->resize(out->size() + sizeof(T));
  StoreLittleEndian(value, out->data() + out->size() - sizeof(T));
}

}  // namespace maddness::io

#endif  // MADDNESS_SRC_IO_LITTLE_ENDIAN_H_
