#pragma once
// Owning, 64-byte aligned host buffers (one cache line, one AVX-512 vector), movable
// and not copyable by accident; clone() copies on purpose.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "lsgemm/core/error.hpp"

namespace lsgemm {

inline constexpr std::size_t kAlignment = 64;

template <class T>
class AlignedBuffer {
  static_assert(std::is_trivially_copyable_v<T>, "AlignedBuffer holds plain data");

 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(std::size_t n) { resize(n); }
  AlignedBuffer(AlignedBuffer&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    if (this != &o) {
      release();
      p_ = std::exchange(o.p_, nullptr);
      n_ = std::exchange(o.n_, 0);
    }
    return *this;
  }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer() { release(); }

  // Zero-filled, so padding lanes of a packed format are defined. A size that does not
  // fit the address space or the machine throws lsgemm::Error (not std::bad_alloc), so
  // that a caller sees one exception type from lsgemm.
  void resize(std::size_t n) {
    release();
    if (n == 0) return;
    detail::require(n <= (SIZE_MAX - kAlignment) / sizeof(T), "cannot allocate ", n, " elements of ",
                    sizeof(T), " bytes (the size overflows)");
    std::size_t bytes = (n * sizeof(T) + kAlignment - 1) / kAlignment * kAlignment;
    p_ = static_cast<T*>(std::aligned_alloc(kAlignment, bytes));
    detail::require(p_ != nullptr, "cannot allocate ", bytes, " bytes (out of memory)");
    std::memset(static_cast<void*>(p_), 0, bytes);
    n_ = n;
  }
  AlignedBuffer clone() const {
    AlignedBuffer b(n_);
    if (n_) std::memcpy(static_cast<void*>(b.p_), p_, n_ * sizeof(T));
    return b;
  }

  T* data() { return p_; }
  const T* data() const { return p_; }
  std::size_t size() const { return n_; }
  std::size_t bytes() const { return n_ * sizeof(T); }
  T& operator[](std::size_t i) { return p_[i]; }
  const T& operator[](std::size_t i) const { return p_[i]; }

 private:
  void release() {
    std::free(p_);
    p_ = nullptr;
    n_ = 0;
  }
  T* p_ = nullptr;
  std::size_t n_ = 0;
};

namespace detail {
// A zero-filled std::vector<float> of n elements; a size the machine cannot hold throws
// lsgemm::Error naming `where` instead of std::bad_alloc.
inline std::vector<float> alloc_floats(int64_t n, const char* where) {
  try {
    return std::vector<float>(size_t(n));
  } catch (const std::bad_alloc&) {
  } catch (const std::length_error&) {
  }
  fail(where, ": cannot allocate ", n, " floats (out of memory)");
}
}  // namespace detail

}  // namespace lsgemm
