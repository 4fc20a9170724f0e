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
}  // namespace lsgemm
