#pragma once
// block_fp/quantize.hpp: the scalar per-block quantizers, the definition of the codes and
// scale bytes that block_fp/format.hpp packs. One call quantizes one block of n values
// (n = the block size, or fewer for the last block of a row) and writes n codes, one per
// byte in its low bits. Inputs must be finite (the caller checks); n >= 0.
//
// MX (OCP MX v1.0, the conversion of spec section 6.3 with the FLOOR scale rule):
//   amax = max_i |v_i|.
//   amax == 0: scale byte 0 (se = -127, the smallest scale) and every code 0 (+0), so an
//     all-zero block packs to zero bytes whatever the signs of its zeros.
//   else: se = floor(log2(amax)) - emax, clamped to [-127, 127]; scale byte se + 127
//     (E8M0). Element i is the saturating round-to-nearest-even cast of v_i / 2^se
//     (f32_to_minifloat_sat): since amax < 2^(floor(log2 amax) + 1), every |v_i| / 2^se
//     is below 2^(emax + 1), up to just under twice the element's top power of two;
//     FP4's 7.99 saturates to 6 by design. The upper clamp never acts (floor(log2) <= 127
//     and emax >= 0); the lower one does for amax < 2^(emax - 127).
//   INT8 (MXINT8, emax 0): element = clamp(round_half_even(v_i / 2^se * 64), -127, 127) as
//     a two's complement byte, value code * 2^-6 * 2^se. |v_i| / 2^se < 2, so before the
//     clamp |element| <= 128; the clamp is symmetric, so -128 (0x80) is never written.
//   The quotient v_i / 2^se is not formed in f32: the element is rounded from the exact
//   v_i * 2^-se, on the bits (numeric.hpp's detail::minifloat_encode with a shift). It is
//   the same code as the f32 division v_i / 2^se followed by the cast: that division is
//   exact when the quotient is an f32 normal, and when it is not (below 2^-126, possible
//   for small v_i in a block with amax near 2^127) both give +-0, since the smallest
//   element step (E5M2, 2^-16; INT8 2^-6) is far above. Working on the bits also keeps
//   2^se = 2^-127, an f32 subnormal, out of any f32 operation (flush-to-zero safe).
//
// NVFP4 (blocks of 16, an E4M3 block scale used unsigned, an f32 tensor scale):
//   ts = amax_tensor / 2688 (f32 division; 2688 = 448 * 6, E4M3 max times E2M1 max, so
//     the largest block scale lands on 448); ts = 1 when that is 0 (amax_tensor == 0, or
//     amax_tensor below about 2^-139, where the quotient underflows to 0).
//   bs = f32_to_minifloat_sat(E4M3, (amax_b / 6) / ts), the f32 operations in that order;
//     never negative; 0 when amax_b == 0.
//   dec = ts * e4m3(bs) (f32 multiply); element i = f32_to_minifloat_sat(E2M1, v_i / dec)
//     (f32 division; an overflow to Inf saturates to 6); every code 0 when dec == 0.
//   These are f32 operations on purpose: with IEEE arithmetic (no fast-math) every
//   implementation gets the same bits, subnormal ts or dec included.
//
// BFP (shared exponent, m-bit two's complement mantissas, m = 3..8):
//   se = floor(log2(amax)) clamped to [-127, 127], scale byte se + 127 (as E8M0; amax == 0
//     gives byte 0 and mantissas 0). The mantissa unit is 2^(se - (m - 2)):
//     mant = clamp(round_half_even(v / 2^(se - (m - 2))), -(2^(m-1) - 1), 2^(m-1) - 1),
//     rounded from the exact quotient like MX's INT8. |v| / 2^se < 2, so |mant| <= 2^(m-1)
//     before the clamp. MXINT8 is BFP with m = 8, n = 32 (unit 2^(se - 6)).
//   The code is the low m bits of mant's two's complement; value mant * 2^(se - (m - 2)).
//
// Every quantity here is a power-of-two scaling of a small integer or float, so the
// decoded values scale * element are exact in f32 for MX and BFP (the smallest is
// 2^-127 * 2^-16 = 2^-143 for E5M2, above f32's 2^-149 step). The vectors in
// tests/vectors (tests/vectors/make_block_fp_vectors.py: ml_dtypes casts and numpy f32
// arithmetic) check all of this bit for bit (tests/numeric_codec_test.cc).
#include <cstdint>

#include "lsgemm/core/abi.hpp"
#include "lsgemm/core/error.hpp"
#include "lsgemm/core/numeric.hpp"

namespace lsgemm {
namespace block_fp {

enum class MxElement : uint8_t { kFp8E4M3, kFp8E5M2, kFp6E3M2, kFp6E2M3, kFp4E2M1, kInt8 };

// emax: floor(log2) of the element's largest value (INT8: 127/64 < 2, so 0).
constexpr int mx_emax(MxElement e) {
  switch (e) {
    case MxElement::kFp8E4M3: return 8;
    case MxElement::kFp8E5M2: return 15;
    case MxElement::kFp6E3M2: return 4;
    case MxElement::kFp6E2M3: return 2;
    case MxElement::kFp4E2M1: return 2;
    case MxElement::kInt8: return 0;
  }
  throw Error("block_fp: unknown MX element " + std::to_string(int(e)));
}

constexpr int mx_bits(MxElement e) {
  switch (e) {
    case MxElement::kFp8E4M3:
    case MxElement::kFp8E5M2:
    case MxElement::kInt8: return 8;
    case MxElement::kFp6E3M2:
    case MxElement::kFp6E2M3: return 6;
    case MxElement::kFp4E2M1: return 4;
  }
  throw Error("block_fp: unknown MX element " + std::to_string(int(e)));
}

inline const char* mx_name(MxElement e) {
  switch (e) {
    case MxElement::kFp8E4M3: return "fp8_e4m3";
    case MxElement::kFp8E5M2: return "fp8_e5m2";
    case MxElement::kFp6E3M2: return "fp6_e3m2";
    case MxElement::kFp6E2M3: return "fp6_e2m3";
    case MxElement::kFp4E2M1: return "fp4_e2m1";
    case MxElement::kInt8: return "int8";
  }
  return "?";
}

// The float format of an FP element (not for kInt8).
constexpr MiniFloat mx_minifloat(MxElement e) {
  switch (e) {
    case MxElement::kFp8E4M3: return MiniFloat::kE4M3;
    case MxElement::kFp8E5M2: return MiniFloat::kE5M2;
    case MxElement::kFp6E3M2: return MiniFloat::kE3M2;
    case MxElement::kFp6E2M3: return MiniFloat::kE2M3;
    case MxElement::kFp4E2M1: return MiniFloat::kE2M1;
    case MxElement::kInt8: break;
  }
  throw Error("block_fp: MX element " + std::string(mx_name(e)) + " is not a float");
}

LSGEMM_ABI_BEGIN

// Helpers of the quantizers. Not "detail": format.hpp has a block_fp::detail of its own,
// and a second one in this inline namespace would make that name ambiguous there.
namespace quantize_detail {

// max_i |v_i| as the magnitude bits: for non-negative finite floats the bit patterns
// order as the values do, so an integer max is the float max.
inline uint32_t amax_bits(const float* v, int n) {
  uint32_t m = 0;
  for (int i = 0; i < n; ++i) {
    const uint32_t a = f32_bits(v[i]) & 0x7FFFFFFFu;
    m = a > m ? a : m;
  }
  return m;
}

inline void zero_codes(uint8_t* codes, int n) {
  for (int i = 0; i < n; ++i) codes[i] = 0;
}

// clamp(round_half_even(v * 2^k), -lim, lim) as a two's complement byte, from v's bits.
inline uint8_t signed_mantissa(float v, int k, uint32_t lim) {
  const uint32_t u = f32_bits(v);
  const int r = int(lsgemm::detail::round_scaled_magnitude(u & 0x7FFFFFFFu, k, lim));
  return uint8_t(u >> 31 ? -r : r);
}

inline void check_block(const float* v, int n, const uint8_t* codes, const char* where) {
  lsgemm::detail::require(n >= 0, where, ": n=", n, " must be >= 0");
  lsgemm::detail::require(n == 0 || (v != nullptr && codes != nullptr), where, ": null values or codes");
}

}  // namespace quantize_detail

// One MX block (the rule above). Returns the E8M0 scale byte; writes n codes.
inline uint8_t quantize_mx_block(MxElement e, const float* v, int n, uint8_t* codes) {
  quantize_detail::check_block(v, n, codes, "block_fp::quantize_mx_block");
  const int emax = mx_emax(e);  // throws for an unknown element
  const uint32_t amax = quantize_detail::amax_bits(v, n);
  if (amax == 0) {
    quantize_detail::zero_codes(codes, n);
    return e8m0_from_exponent(-127);
  }
  int se = lsgemm::detail::floor_log2_bits(amax) - emax;
  se = se < -127 ? -127 : se > 127 ? 127 : se;
  if (e == MxElement::kInt8) {
    // v / 2^se * 64 = v * 2^(6 - se)
    for (int i = 0; i < n; ++i) codes[i] = quantize_detail::signed_mantissa(v[i], 6 - se, 127);
  } else {
    const MiniFloatInfo fi = minifloat_info(mx_minifloat(e));
    for (int i = 0; i < n; ++i) codes[i] = lsgemm::detail::minifloat_encode(fi, f32_bits(v[i]), se, true);
  }
  return e8m0_from_exponent(se);
}

// The element's value without the block scale: the float for FP elements, code * 2^-6
// for INT8 (code as int8; 0x80 gives -2, which quantize_mx_block never writes).
inline float mx_element_to_f32(MxElement e, uint8_t code) {
  if (e == MxElement::kInt8) return float(int8_t(code)) * 0x1p-6f;
  return minifloat_to_f32(mx_minifloat(e), code);
}

// ts = amax_tensor / 2688 in f32, or 1 where that is 0 (amax_tensor == 0 or tiny).
inline float nvfp4_tensor_scale(float amax_tensor) {
  const float ts = amax_tensor / 2688.0f;
  return ts == 0.0f ? 1.0f : ts;
}

// One NVFP4 block of n values (16, fewer at a row's tail; the rule above) under tensor
// scale ts (> 0, finite; Error otherwise).
// Returns the UE4M3 block scale byte; writes n E2M1 codes.
inline uint8_t quantize_nvfp4_block(const float* v, int n, float ts, uint8_t* codes) {
  quantize_detail::check_block(v, n, codes, "block_fp::quantize_nvfp4_block");
  lsgemm::detail::require(ts > 0.0f && ts <= 0x1.fffffep127f, "block_fp::quantize_nvfp4_block: tensor scale ",
                          ts, " must be positive and finite");
  const float amax = f32_from_bits(quantize_detail::amax_bits(v, n));
  const uint8_t bs = f32_to_minifloat_sat(MiniFloat::kE4M3, (amax / 6.0f) / ts);
  const float dec = ts * minifloat_to_f32(MiniFloat::kE4M3, bs);
  if (dec == 0.0f) {
    quantize_detail::zero_codes(codes, n);
    return bs;
  }
  for (int i = 0; i < n; ++i) codes[i] = f32_to_minifloat_sat(MiniFloat::kE2M1, v[i] / dec);
  return bs;
}

// One BFP block with m-bit mantissas, m = 3..8 (the rule above). Returns the shared
// exponent byte se + 127; writes n codes (low m bits, two's complement in m bits).
inline uint8_t quantize_bfp_block(int mbits, const float* v, int n, uint8_t* codes) {
  quantize_detail::check_block(v, n, codes, "block_fp::quantize_bfp_block");
  lsgemm::detail::require(mbits >= 3 && mbits <= 8, "block_fp::quantize_bfp_block: mantissa bits ", mbits,
                          " (allowed: 3..8)");
  const uint32_t amax = quantize_detail::amax_bits(v, n);
  if (amax == 0) {
    quantize_detail::zero_codes(codes, n);
    return 0;
  }
  int se = lsgemm::detail::floor_log2_bits(amax);
  se = se < -127 ? -127 : se > 127 ? 127 : se;
  const uint32_t lim = (1u << (mbits - 1)) - 1u;
  const uint8_t mask = uint8_t((1u << mbits) - 1u);
  // v / 2^(se - (m - 2)) = v * 2^(m - 2 - se)
  for (int i = 0; i < n; ++i) codes[i] = uint8_t(quantize_detail::signed_mantissa(v[i], mbits - 2 - se, lim) & mask);
  return uint8_t(se + 127);
}

// mant * 2^-(m - 2), mant the m-bit two's complement code (bits above m ignored); m = 3..8.
inline float bfp_mantissa_to_f32(int mbits, uint8_t code) {
  const int mask = (1 << mbits) - 1;
  int mant = code & mask;
  if (mant > mask >> 1) mant -= mask + 1;  // the sign bit (bit m - 1) set: subtract 2^m
  return float(mant) * f32_from_bits(uint32_t(127 - (mbits - 2)) << 23);
}

LSGEMM_ABI_END

}  // namespace block_fp
}  // namespace lsgemm
