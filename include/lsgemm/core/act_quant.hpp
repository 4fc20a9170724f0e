#pragma once
// The int8 quantization of activation blocks that int_quant's int8 mode and lut's tables
// share, and the range of X those paths accept. Scalar definitions: the references use
// them as they stand, the kernels vectorize the same arithmetic.
//
//   amax  = max |x| over the block
//   amax <  kTinyAmax:  the block is a zero block (q = 0, sx = 0)
//   else:   inv = 127.0f / amax,  q = nearest-even(x * inv) clamped to [-127, 127],
//           sx = amax / 127.0f
//
// Why a zero block below kTinyAmax = 2^-119: from there up, 127/amax is finite (< 2^126)
// and sx = amax/127 is a normal float (> 2^-126), so neither inf * 0 = NaN codes (the
// padding of a block is 0) nor a subnormal scale can occur, and the float epilogues never
// touch subnormals (slow on some cores, flushed by others). What is dropped is below
// 2^-119 ~ 1.5e-36 per activation: against any weight a format can store (|w| <= 65504 *
// 2^7) its contribution is below 1e-29, which fp32 cannot add to a result of ordinary size.
// A power-of-two pre-scale would keep such blocks, at the price of a second scale in every
// epilogue; no activation of a real model is that small.
//
// Why |x| <= kMaxAbsX = 2^64 in these modes: the int32 sums are exact, but their float
// epilogues form sx * sum(q) and S * sx * isum, which for amax near FLT_MAX overflow
// although the product does not. At |x| <= 2^64 (1.8e19) the largest such term,
// |z * s| * sx * 127 * K <= 255 * 65504 * 2^64 * 65536 ~ 2e31, and a sum of 2048 of them
// stay far below FLT_MAX (3.4e38). Beyond it, and for Inf/NaN, the call throws naming the
// element (float-activation int_quant has no such limit).
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "lsgemm/core/error.hpp"
#include "lsgemm/core/matrix.hpp"

namespace lsgemm {

// How X meets a family's integer weights (a property of the packed layer): kFloat keeps
// X in fp32; kInt8 quantizes it per block as above and dots codes in exact int32.
enum class ActMode : uint8_t { kFloat, kInt8 };
inline const char* act_mode_name(ActMode a) { return a == ActMode::kInt8 ? "int8" : "float"; }

inline constexpr float kTinyAmax = 0x1p-119f;  // below: a zero block
inline constexpr float kMaxAbsX = 0x1p64f;      // above: rejected in int8 / table modes

// Scale of a block of int8 activations: inv (127/amax) and sx (amax/127), both 0 for a
// zero block. Returns false for a zero block.
inline bool int8_block_scale(float amax, float& inv, float& sx) {
  if (!(amax >= kTinyAmax)) {
    inv = sx = 0.0f;
    return false;
  }
  inv = 127.0f / amax;
  sx = amax / 127.0f;
  return true;
}

// One activation quantized with the block's inv: nearest-even, clamped to [-127, 127].
inline int quantize_int8(float x, float inv) {
  const float v = std::nearbyint(x * inv);
  return int(std::min(127.0f, std::max(-127.0f, v)));
}

namespace detail {

// True for the values the int8 / table modes accept: finite and |x| <= kMaxAbsX.
inline bool act_in_range(float x) { return std::fabs(x) <= kMaxAbsX; }  // false for NaN

// Throws Error naming the first X(m, c) outside the accepted range, rows [m0, m1), in
// the one message every path gives (kernels call it after their vector check failed).
inline void require_acts_in_range(HostView<const float> X, int64_t m0, int64_t m1, const char* where,
                                  const char* mode) {
  for (int64_t m = m0; m < m1; ++m)
    for (int64_t c = 0; c < X.cols; ++c)
      require(act_in_range(X(m, c)), where, ": X(", m, ",", c, ")=", X(m, c),
              std::isfinite(X(m, c)) ? " is too large" : " is not finite", "; ", mode,
              " needs finite activations with |x| <= 2^64");
}

// For kernels whose vector check failed: throws the element's message (as above).
[[noreturn]] inline void fail_acts_out_of_range(HostView<const float> X, const char* where, const char* mode) {
  require_acts_in_range(X, 0, X.rows, where, mode);
  fail(where, ": internal: the kernel's range check of X failed but no element is out of range");
}

}  // namespace detail
}  // namespace lsgemm
