// A reader that turns the bytes of a fuzz input into the values a fuzz target needs. Reads past
// the end give zeros, so every input, however short, describes one case.
#ifndef MADDNESS_FUZZ_FUZZ_INPUT_H_
#define MADDNESS_FUZZ_FUZZ_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace maddness::fuzz {

class FuzzInput {
 public:
  FuzzInput(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  std::uint8_t Byte() { return position_ < size_ ? data_[position_++] : 0; }

  std::uint32_t U32() {
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i) value |= static_cast<std::uint32_t>(Byte()) << (8 * i);
    return value;
  }

  // A value in [low, high] (high - low < 2^32).
  std::size_t Range(std::size_t low, std::size_t high) {
    const std::size_t span = high - low + 1;
    const std::size_t raw = span <= 256 ? Byte() : U32();
    return low + raw % span;
  }

  // Any float32 bit pattern, NaN and infinities included.
  float AnyFloat() {
    const std::uint32_t bits = U32();
    float value;
    std::memcpy(&value, &bits, sizeof(value));
    return value;
  }

  // A finite float32: mostly "ordinary" values, sometimes extreme ones (denormals, the largest
  // finite floats, signed zeros), never NaN or infinite.
  float FiniteFloat() {
    switch (Byte() % 4) {
      case 0: {
        const float value = AnyFloat();
        return value - value == 0.0f ? value : 0.0f;
      }
      case 1:
        return static_cast<float>(static_cast<std::int8_t>(Byte())) * 0.5f;
      default:
        return (static_cast<float>(U32() % 2000001u) - 1000000.0f) / 1000.0f;
    }
  }

  std::size_t remaining() const { return position_ < size_ ? size_ - position_ : 0; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t position_ = 0;
};

}  // namespace maddness::fuzz

#endif  // MADDNESS_FUZZ_FUZZ_INPUT_H_
