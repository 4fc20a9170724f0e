#pragma once
// Exact scalar codecs for the 16-bit floats the formats store: IEEE binary16 (f16)
// and bfloat16 (bf16). Encoding rounds to nearest, ties to even, and keeps NaN a NaN;
// decoding is exact. Tested against every one of the 65536 codes (tests/core_test.cc).
// Below them: the OCP MX / NVFP4 element floats (FP8, FP6, FP4) and the E8M0 scale,
// tested against ml_dtypes vectors (tests/numeric_codec_test.cc).
#include <cstdint>
#include <cstring>

#include "lsgemm/core/error.hpp"

namespace lsgemm {

inline uint32_t f32_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float f32_from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// binary16 -> binary32, exact (subnormals and Inf/NaN included).
inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  const uint32_t man = h & 0x3FFu;
  if (exp == 0x1F) return f32_from_bits(sign | 0x7F800000u | (man << 13));  // Inf/NaN
  if (exp == 0) {
    // zero or subnormal: man * 2^-24, exact in float
    float v = float(man) * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  return f32_from_bits(sign | ((exp + 112u) << 23) | (man << 13));
}

// binary32 -> binary16, round to nearest even; overflow gives Inf, NaN stays NaN.
inline uint16_t f32_to_f16(float f) {
  const uint32_t x = f32_bits(f);
  const uint16_t sign = uint16_t((x >> 16) & 0x8000u);
  const uint32_t ax = x & 0x7FFFFFFFu;
  if (ax >= 0x7F800000u) return uint16_t(sign | 0x7C00u | (ax > 0x7F800000u ? 0x200u : 0u));
  if (ax >= 0x477FF000u) return uint16_t(sign | 0x7C00u);  // rounds to >= 65520: Inf
  if (ax < 0x38800000u) {
    // result is subnormal (or zero): value / 2^-24 rounded to nearest even
    const float v = f32_from_bits(ax) * 16777216.0f;  // exact scaling by 2^24
    // v < 1024; round half to even by the float->int trick
    const float r = (v + 8388608.0f) - 8388608.0f;  // 2^23 forces integer rounding (RNE)
    return uint16_t(sign | uint16_t(r));
  }
  // normal: drop 13 mantissa bits with round-to-nearest-even
  const uint32_t rounded = ax + 0xFFFu + ((ax >> 13) & 1u);
  return uint16_t(sign | uint16_t((rounded - 0x38000000u) >> 13));
}

// bfloat16: the upper half of a binary32.
inline float bf16_to_f32(uint16_t b) { return f32_from_bits(uint32_t(b) << 16); }
inline uint16_t f32_to_bf16(float f) {
  const uint32_t x = f32_bits(f);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return uint16_t((x >> 16) | 0x40u);  // quiet NaN
  return uint16_t((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
}

// Storage types that do not convert implicitly, so a half is never mistaken for a short.
struct f16 {
  uint16_t bits = 0;
  f16() = default;
  explicit f16(float f) : bits(f32_to_f16(f)) {}
  explicit operator float() const { return f16_to_f32(bits); }
};
struct bf16 {
  uint16_t bits = 0;
  bf16() = default;
  explicit bf16(float f) : bits(f32_to_bf16(f)) {}
  explicit operator float() const { return bf16_to_f32(bits); }
};

// ---------------------------------------------------------------------------------------
// OCP MX v1.0 / NVFP4 element floats.
//
// A code of `bits` bits is S | E (ebits) | M (mbits), stored in the low bits of a byte:
//   E > 0:  (-1)^S * 2^(E - bias) * (1 + M / 2^mbits)       normal
//   E = 0:  (-1)^S * 2^(1 - bias) * (M / 2^mbits)           zero or subnormal
// with these exceptions at the top of the code range:
//   E4M3 (OFP8 "fn"): no Inf; S.1111.111 is NaN, so the largest value is S.1111.110
//         = 1.75 * 2^(15 - 7) = 448.
//   E5M2: IEEE-like; S.11111.00 is Inf, S.11111.{01,10,11} NaN, so the largest value is
//         S.11110.11 = 1.75 * 2^(30 - 15) = 57344.
//   E3M2 (28 = 1.75 * 2^4), E2M3 (7.5 = 1.875 * 2^2), E2M1 (6 = 1.5 * 2^2): every code
//         is a finite number, no Inf, no NaN.
// emax is the exponent of the largest binade (floor(log2(max))): the MX scale rule
// subtracts it from the block's floor(log2(amax)).
//
// Encoding (both modes): round to nearest, ties to even, at every boundary (subnormals
// and the overflow threshold included), -0 keeps its sign, f32 subnormals round to +-0
// (the smallest element subnormal is 2^-16, far above them). It is done on the f32 bits
// with integer arithmetic, so neither the FPU rounding mode nor flush-to-zero can change
// a result. The modes differ on values that round beyond the largest finite magnitude
// (E4M3: above 464, the midpoint between 448 and the NaN code's 480; E5M2: from 61440,
// the midpoint between 57344 and 65536, up, since that tie goes to the even 65536 = Inf):
//   f32_to_minifloat_sat: +-max, and +-Inf also gives +-max (the MX conversion rule).
//   f32_to_minifloat: ml_dtypes' astype: E5M2 gives +-Inf, E4M3 its NaN code S.1111.111,
//     the FP6/FP4 formats +-max (they have nothing else); +-Inf the same way.
// NaN (either mode, any payload): E4M3 S.1111.111, E5M2 S.11111.10 (S: the NaN's sign
// bit). FP6/FP4 have no NaN; they take ml_dtypes' stand-in, the code 1.00...0 (-0) for a
// NaN with the sign bit clear and 0.00...0 (+0) for one with it set: what ml_dtypes
// 0.7.0 gives (its quiet_NaN() of these types is the -0 code; a negative NaN comes out
// negated). Following it keeps both modes equal to "clip to +-max, then ml_dtypes astype"
// on every f32, NaN included.

enum class MiniFloat : uint8_t { kE4M3, kE5M2, kE3M2, kE2M3, kE2M1 };

struct MiniFloatInfo {
  const char* name;
  int bits, ebits, mbits, bias;
  int emax;          // floor(log2(max_normal)): the exponent of the top binade
  float max_normal;  // the largest finite value
  bool has_nan, has_inf;
};

constexpr MiniFloatInfo minifloat_info(MiniFloat f) {
  switch (f) {
    case MiniFloat::kE4M3: return {"e4m3", 8, 4, 3, 7, 8, 448.0f, true, false};
    case MiniFloat::kE5M2: return {"e5m2", 8, 5, 2, 15, 15, 57344.0f, true, true};
    case MiniFloat::kE3M2: return {"e3m2", 6, 3, 2, 3, 4, 28.0f, false, false};
    case MiniFloat::kE2M3: return {"e2m3", 6, 2, 3, 1, 2, 7.5f, false, false};
    case MiniFloat::kE2M1: return {"e2m1", 4, 2, 1, 1, 2, 6.0f, false, false};
  }
  throw Error("minifloat_info: unknown MiniFloat " + std::to_string(int(f)));
}

namespace detail {

// Largest finite magnitude code (the code without its sign bit) of a format: every
// magnitude bit set, less the reserved codes above it. E5M2 reserves the whole top
// exponent (0x7F - 4 = 0x7B), E4M3 only S.1111.111 (0x7E), FP6/FP4 nothing.
constexpr uint32_t minifloat_max_code(const MiniFloatInfo& fi) {
  const uint32_t all = (1u << (fi.bits - 1)) - 1u;
  return fi.has_inf ? all - (1u << fi.mbits) : fi.has_nan ? all - 1u : all;
}

// The NaN code (see above): E4M3 S.1111.111, E5M2 S.11111.10, FP6/FP4 the zero of the
// opposite sign.
constexpr uint32_t minifloat_nan_code(const MiniFloatInfo& fi, uint32_t sign) {
  const uint32_t top = 1u << (fi.bits - 1);
  if (!fi.has_nan) return sign ? 0u : top;
  return (sign ? top : 0u) | (fi.has_inf ? (top - 1u) - 1u : top - 1u);
}

// floor(log2 |x|) of the magnitude bits ax of a finite non-zero f32. A normal's biased
// exponent field E gives E - 127; a subnormal is M * 2^-149 with M < 2^23, so it is
// -149 plus the index of M's top bit (2^-149 -> -149, 0x007FFFFF -> -127).
inline int floor_log2_bits(uint32_t ax) {
  const int e = int(ax >> 23);
  return e != 0 ? e - 127 : -149 + (31 - __builtin_clz(ax));
}

// |x| * 2^k rounded to an integer, ties to even, at most `cap`. ax: the magnitude bits of
// a finite f32. Integer arithmetic only: |x| = sig * 2^lsb with sig the 24-bit significand
// (the implicit 1 set for normals; a subnormal is its field times 2^-149, the same lsb as
// E = 1), so the result is sig shifted by lsb + k, the dropped bits deciding the rounding.
inline uint32_t round_scaled_magnitude(uint32_t ax, int k, uint32_t cap) {
  if (ax == 0) return 0;
  const uint32_t e = ax >> 23;
  const uint32_t sig = e != 0 ? (ax & 0x7FFFFFu) | 0x800000u : ax;
  const int lsb = (e != 0 ? int(e) : 1) - 150 + k;
  if (lsb >= 0) {
    // An integer already; sig < 2^24, so a shift of 40 (>= 2^40) is past any cap.
    const uint64_t r = uint64_t(sig) << (lsb < 40 ? lsb : 40);
    return r > cap ? cap : uint32_t(r);
  }
  const int drop = -lsb;
  if (drop > 24) return 0;  // sig < 2^24 <= 2^(drop - 1): below half of one, rounds to 0
  uint32_t r = sig >> drop;
  const uint32_t rest = sig & ((1u << drop) - 1u);
  const uint32_t half = 1u << (drop - 1);
  if (rest > half || (rest == half && (r & 1u))) ++r;
  return r > cap ? cap : r;
}

// Magnitude code of |x| * 2^-se rounded to nearest even in format fi (x finite, bits ax),
// without an upper limit: a result past the largest finite code comes back as is and the
// caller saturates or maps it to Inf/NaN. se lets the MX quantizer divide by its scale
// 2^se exactly, without an f32 quotient.
//
// With e = floor(log2(|x| 2^-se)) and emin = 1 - bias the lowest normal binade, the
// format's step in binade e is 2^(max(e, emin) - mbits). r = |x| 2^-se / step, rounded,
// is then 1.M as an integer (2^mbits <= r <= 2^(mbits+1)) for e >= emin, or 0.M (r <=
// 2^mbits) below; the code is (max(e, emin) - emin) << mbits plus r, because a normal's
// code is (e - emin + 1) << mbits | M = ((e - emin) << mbits) + (2^mbits + M). A carry
// out of the mantissa (r = 2^(mbits+1), or 2^mbits from a subnormal) lands on the next
// binade's code with M = 0, which is the correct rounding. E2M1 example: 2.5 = 1.25 * 2^1,
// emin = 0, step 2^(1 - 1) = 1, r = round_even(2.5) = 2, code (1 << 1) + 2 = 4 = 0.10.0 = 2.
inline uint32_t minifloat_round_magnitude(const MiniFloatInfo& fi, uint32_t ax, int se) {
  if (ax == 0) return 0;
  const int emin = 1 - fi.bias;
  const int e = floor_log2_bits(ax) - se;
  const int eb = e > emin ? e : emin;
  // r <= 2^(mbits+1) by construction; the cap only keeps the type's range obvious.
  const uint32_t r = round_scaled_magnitude(ax, fi.mbits - eb - se, 1u << 30);
  return (uint32_t(eb - emin) << fi.mbits) + r;
}

// f32 bits u, divided by 2^se, to a code of fi; `saturate` picks the mode (see above).
inline uint8_t minifloat_encode(const MiniFloatInfo& fi, uint32_t u, int se, bool saturate) {
  const uint32_t sign = u >> 31;
  const uint32_t ax = u & 0x7FFFFFFFu;
  if (ax > 0x7F800000u) return uint8_t(minifloat_nan_code(fi, sign));
  const uint32_t max_code = minifloat_max_code(fi);
  // Inf: one past the largest finite code, so that it takes the overflow path.
  uint32_t mag = ax == 0x7F800000u ? max_code + 1u : minifloat_round_magnitude(fi, ax, se);
  if (mag > max_code) {
    if (saturate || !fi.has_nan) {
      mag = max_code;
    } else if (fi.has_inf) {
      mag = max_code + 1u;  // E5M2: the first code past the largest is S.11111.00 = Inf
    } else {
      return uint8_t(minifloat_nan_code(fi, sign));  // E4M3
    }
  }
  return uint8_t((sign << (fi.bits - 1)) | mag);
}

}  // namespace detail

// The value of `code` (its low fi.bits bits; higher bits are ignored), exact: every
// element value is an f32. NaN codes give the quiet NaN 0x7FC00000 with the code's sign.
inline float minifloat_to_f32(MiniFloat f, uint32_t code) {
  const MiniFloatInfo fi = minifloat_info(f);
  const uint32_t top = 1u << (fi.bits - 1);
  const uint32_t sign = (code & top) ? 0x80000000u : 0u;
  const uint32_t mag = code & (top - 1u);
  const uint32_t ef = mag >> fi.mbits;
  const uint32_t m = mag & ((1u << fi.mbits) - 1u);
  if (mag > detail::minifloat_max_code(fi)) {  // E4M3 S.1111.111, E5M2 S.11111.xx
    return f32_from_bits(sign | (fi.has_inf && m == 0 ? 0x7F800000u : 0x7FC00000u));
  }
  if (ef == 0) {
    // 0.M * 2^(1 - bias) = M * 2^(1 - bias - mbits): a product of M < 8 and a normal
    // power of two (2^-16 at the least, E5M2), exact; the sign goes on by its bit so that
    // M = 0 gives -0 for S = 1.
    const float unit = f32_from_bits(uint32_t(127 + 1 - fi.bias - fi.mbits) << 23);
    return f32_from_bits(sign | f32_bits(float(m) * unit));
  }
  // A normal: rebias the exponent (127 - bias) and put M at the top of f32's mantissa.
  return f32_from_bits(sign | (uint32_t(int(ef) - fi.bias + 127) << 23) | (m << (23 - fi.mbits)));
}

// Round to nearest even; beyond +-max (and +-Inf) saturate to +-max: the MX conversion.
inline uint8_t f32_to_minifloat_sat(MiniFloat f, float x) {
  return detail::minifloat_encode(minifloat_info(f), f32_bits(x), 0, true);
}

// Round to nearest even; beyond +-max as ml_dtypes' astype: E5M2 Inf, E4M3 NaN, FP6/FP4 max.
inline uint8_t f32_to_minifloat(MiniFloat f, float x) {
  return detail::minifloat_encode(minifloat_info(f), f32_bits(x), 0, false);
}

// E8M0, the MX scale: an unsigned biased exponent, 2^(e - 127); 0xFF is NaN. e = 0 is
// 2^-127, an f32 subnormal (mantissa bit 22: 2^22 * 2^-149), exact.
inline float e8m0_to_f32(uint8_t e) {
  if (e == 0xFF) return f32_from_bits(0x7FC00000u);
  if (e == 0) return f32_from_bits(0x00400000u);
  return f32_from_bits(uint32_t(e) << 23);
}

// The E8M0 byte of a shared exponent: se + 127, clamped to [0, 254] (2^-127 .. 2^127),
// so never the NaN byte 0xFF. The clamp comes first so that se + 127 cannot overflow.
inline uint8_t e8m0_from_exponent(int se) {
  const int c = se < -127 ? -127 : se > 127 ? 127 : se;
  return uint8_t(c + 127);
}

// floor(log2 x) for a finite x > 0 from its bits, subnormals included (no libm):
// 1.0f -> 0, 0.75f -> -1, 2^-149 -> -149, FLT_MAX -> 127. The sign bit is ignored.
// Outside the domain: +-0 gives -150 (below every subnormal), Inf and NaN give 128.
inline int floor_log2(float x) {
  const uint32_t ax = f32_bits(x) & 0x7FFFFFFFu;
  if (ax == 0) return -150;
  return detail::floor_log2_bits(ax);
}

}  // namespace lsgemm
