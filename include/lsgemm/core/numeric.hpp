#pragma once
// Exact scalar codecs for the 16-bit floats the formats store: IEEE binary16 (f16)
// and bfloat16 (bf16). Encoding rounds to nearest, ties to even, and keeps NaN a NaN;
// decoding is exact. Tested against every one of the 65536 codes (tests/core_test.cc).
#include <cstdint>
#include <cstring>

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

}  // namespace lsgemm
