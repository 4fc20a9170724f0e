#pragma once
// lsgemm::Error and the argument checks every public entry point runs before it
// touches memory. Messages name the argument, the value seen and what is allowed,
// so a user can fix the call without reading the library.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>

namespace lsgemm {

// The one exception type lsgemm throws for bad input (shapes, strides, options,
// malformed packed data). Kernels never throw; entry points check first.
class Error : public std::invalid_argument {
 public:
  explicit Error(const std::string& what) : std::invalid_argument("lsgemm: " + what) {}
};

namespace detail {

template <class... Args>
[[noreturn]] inline void fail(const Args&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  throw Error(os.str());
}

// require(cond, "what", ...) throws Error("where: what...") when cond is false.
template <class... Args>
inline void require(bool cond, const Args&... parts) {
  if (!cond) fail(parts...);
}

inline bool is_aligned(const void* p, std::size_t a) {
  return reinterpret_cast<std::uintptr_t>(p) % a == 0;
}

}  // namespace detail

// Largest N, K and padded K a packed format accepts (2^31 - 1). With both below 2^31,
// every size the formats derive from them (tiles * tile bytes, tiles * groups * 16,
// N * K) stays far inside int64, so the size checks themselves cannot overflow.
inline constexpr int64_t kMaxDim = (int64_t(1) << 31) - 1;

namespace detail {

// require_dim(v, where, "n"): 0 <= v <= kMaxDim, checked before v enters any product.
inline void require_dim(int64_t v, const char* where, const char* name) {
  require(v >= 0 && v <= kMaxDim, where, ": ", name, "=", v, " is out of range (allowed: 0..", kMaxDim, ")");
}

// A packed object's shape: n, k > 0 and n, k, kp within kMaxDim, before any of them
// enters a product (kp: K padded; the family checks its rounding).
inline void require_packed_shape(int64_t n, int64_t k, int64_t kp, const char* where) {
  require(n > 0 && k > 0, where, ": packed shape ", n, "x", k, " must be positive");
  require_dim(n, where, "packed n");
  require_dim(k, where, "packed k");
  require_dim(kp, where, "packed kp");
}

// a * b of two sizes (>= 0), or Error naming `what` where the product overflows int64.
inline int64_t checked_mul(int64_t a, int64_t b, const char* where, const char* what) {
  int64_t r = 0;
  require(!__builtin_mul_overflow(a, b, &r), where, ": ", what, " = ", a, " x ", b, " overflows");
  return r;
}

// pack()'s shape check: N <= kMaxDim and K padded by any format (< 256) <= kMaxDim.
inline void require_pack_shape(int64_t rows, int64_t cols, const char* where) {
  require(rows > 0 && cols > 0, where, ": W must be non-empty, got ", rows, "x", cols);
  require(rows <= kMaxDim && cols <= kMaxDim - 256, where, ": W is ", rows, "x", cols, ", beyond the largest ",
          kMaxDim, "x", kMaxDim - 256, " a packed format holds");
}

}  // namespace detail
}  // namespace lsgemm
