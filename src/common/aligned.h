// Cache-line aligned std::vector, so SIMD kernels may use aligned loads on table and code buffers.
#ifndef MADDNESS_SRC_COMMON_ALIGNED_H_
#define MADDNESS_SRC_COMMON_ALIGNED_H_

#include <cstddef>
#include <new>
#include <vector>

namespace maddness::detail {

inline constexpr std::size_t kBufferAlignment = 64;

template <typename T>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() = default;
  template <typename U>
  AlignedAllocator(const AlignedAllocator<U>& /*other*/) {}  // NOLINT: allocator rebinding
  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{kBufferAlignment}));
  }
  void deallocate(T* p, std::size_t /*n*/) {
    ::operator delete (p, std::align_val_t{kBufferAlignment});
  }
  template <typename U>
  bool operator==(const AlignedAllocator<U>& /*other*/) const {
    return true;
  }
  template <typename U>
  bool operator!=(const AlignedAllocator<U>& /*other*/) const {
    return false;
  }
};

template <typename T>
using AlignedVector = std::vector<T, AlignedAllocator<T>>;

}  // namespace maddness::detail

#endif  // MADDNESS_SRC_COMMON_ALIGNED_H_
