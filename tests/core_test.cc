// Tests of core/: the f16/bf16 codecs (exhaustive over all 65536 codes, and against
// independent encoders), views and their checks, AlignedBuffer, parallel_for.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LSGEMM_TEST_HAVE_X86 1
#endif
#if defined(_OPENMP)
#include <omp.h>
#endif

#include "lsgemm/core/buffer.hpp"
#include "lsgemm/core/error.hpp"
#include "lsgemm/core/matrix.hpp"
#include "lsgemm/core/numeric.hpp"
#include "lsgemm/core/parallel.hpp"
#include "support/error_of.hpp"

namespace {

using lsgemm::bf16_to_f32;
using lsgemm::f16_to_f32;
using lsgemm::f32_bits;
using lsgemm::f32_from_bits;
using lsgemm::f32_to_bf16;
using lsgemm::f32_to_f16;

bool f16_is_nan(uint16_t h) { return (h & 0x7C00u) == 0x7C00u && (h & 0x3FFu) != 0; }
bool bf16_is_nan(uint16_t b) { return (b & 0x7F80u) == 0x7F80u && (b & 0x7Fu) != 0; }

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%X", v);
  return buf;
}

// ---------------------------------------------------------------------------------
// Independent models. They work on the value in double (exact for every float) and
// round with nearbyint, which rounds half to even in the default FP environment; they
// share no bit tricks with numeric.hpp.

// binary16 value of a code from its definition: (-1)^s * 2^(e-15) * (1 + m/1024), or
// 2^-14 * m/1024 for e == 0.
double f16_model_decode(uint16_t h) {
  const int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
  double v = e == 0 ? std::ldexp(double(m), -24) : std::ldexp(1024.0 + m, e - 25);
  if (e == 31) v = m == 0 ? INFINITY : NAN;
  return s ? -v : v;
}

// Round a finite float to the nearest binary16 value (ties to even), as a double;
// +-Inf when the rounded magnitude reaches 2^16 (beyond the largest finite 65504).
double f16_model_round(float f) {
  const double a = std::fabs(double(f));
  if (a == 0.0) return double(f);  // keeps the sign of zero
  int e = std::ilogb(a);           // a in [2^e, 2^(e+1))
  if (e < -14) e = -14;            // subnormal range shares the quantum 2^-24
  const double quantum = std::ldexp(1.0, e - 10);  // 11 significant bits
  double r = std::nearbyint(a / quantum) * quantum;  // a / quantum is exact (power of 2)
  if (r >= 65536.0) r = INFINITY;
  return std::signbit(f) ? -r : r;
}

// Same for bfloat16: 8 significant bits, exponent range of binary32 (quantum 2^-133
// in the subnormal range), overflow past (2 - 2^-8) * 2^127 gives Inf.
double bf16_model_round(float f) {
  const double a = std::fabs(double(f));
  if (a == 0.0) return double(f);
  int e = std::ilogb(a);
  if (e < -126) e = -126;
  const double quantum = std::ldexp(1.0, e - 7);
  double r = std::nearbyint(a / quantum) * quantum;
  if (r >= std::ldexp(1.0, 128)) r = INFINITY;
  return std::signbit(f) ? -r : r;
}

#if defined(LSGEMM_TEST_HAVE_X86)
// The F16C instruction vcvtps2ph, an encoder independent of ours. Compiled with a
// target attribute so the test binary still runs (and skips) on CPUs without F16C.
__attribute__((target("f16c"))) uint16_t f16_hw_encode(float f) {
  return uint16_t(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
}
__attribute__((target("f16c"))) float f16_hw_decode(uint16_t h) { return _cvtsh_ss(h); }
bool cpu_has_f16c() { return __builtin_cpu_supports("f16c"); }
#endif

// Random floats: uniform random bit patterns (every exponent, NaN/Inf included) and
// values whose exponents straddle the binary16 range, where the rounding cases are.
std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<uint32_t> bits;
  std::uniform_int_distribution<int> exp16(-30, 17);
  std::uniform_real_distribution<double> mant(1.0, 2.0);
  std::vector<float> v;
  v.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (i % 2 == 0) {
      v.push_back(f32_from_bits(bits(rng)));
    } else {
      const float f = float(std::ldexp(mant(rng), exp16(rng)));
      v.push_back((bits(rng) & 1u) ? -f : f);
    }
  }
  return v;
}

// ---------------------------------------------------------------------------------
// f16

TEST(F16, DecodeMatchesDefinitionForAllCodes) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float got = f16_to_f32(uint16_t(h));
    const double want = f16_model_decode(uint16_t(h));
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(got)) << "code " << hex(h);
      ASSERT_EQ(std::signbit(got), (h >> 15) != 0) << "NaN sign, code " << hex(h);
    } else {
      ASSERT_EQ(double(got), want) << "code " << hex(h);
      ASSERT_EQ(std::signbit(got), (h >> 15) != 0) << "sign, code " << hex(h);
    }
  }
}

TEST(F16, EncodeOfDecodeIsIdentityForAllCodes) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const uint16_t back = f32_to_f16(f16_to_f32(uint16_t(h)));
    if (f16_is_nan(uint16_t(h))) {
      // NaN payloads are not preserved (one quiet NaN per sign), but NaN stays NaN.
      ASSERT_TRUE(f16_is_nan(back)) << "code " << hex(h) << " -> " << hex(back);
      ASSERT_EQ(back & 0x8000u, h & 0x8000u) << "NaN sign, code " << hex(h);
    } else {
      ASSERT_EQ(back, h) << "round trip of code " << hex(h);
    }
  }
}

#if defined(LSGEMM_TEST_HAVE_X86)
TEST(F16, DecodeMatchesF16cForAllCodes) {
  if (!cpu_has_f16c()) GTEST_SKIP() << "CPU lacks F16C: no hardware decoder to compare with";
  for (uint32_t h = 0; h < 65536; ++h) {
    const float hw = f16_hw_decode(uint16_t(h));
    const float got = f16_to_f32(uint16_t(h));
    if (f16_is_nan(uint16_t(h))) {
      ASSERT_TRUE(std::isnan(got)) << "code " << hex(h);
    } else {
      ASSERT_EQ(f32_bits(got), f32_bits(hw)) << "code " << hex(h);
    }
  }
}

TEST(F16, EncodeMatchesF16cBitForBit) {
  if (!cpu_has_f16c()) GTEST_SKIP() << "CPU lacks F16C: no hardware encoder to compare with";
  const std::vector<float> v = random_floats(2000000, 1234);
  for (float f : v) {
    const uint16_t hw = f16_hw_encode(f), got = f32_to_f16(f);
    if (std::isnan(f)) {
      // vcvtps2ph keeps the top payload bits; lsgemm returns the canonical quiet NaN.
      ASSERT_TRUE(f16_is_nan(got)) << "input bits " << hex(f32_bits(f));
      ASSERT_EQ(got & 0x8000u, hw & 0x8000u) << "NaN sign, input bits " << hex(f32_bits(f));
    } else {
      ASSERT_EQ(got, hw) << "input " << f << " (bits " << hex(f32_bits(f)) << ")";
    }
  }
}
#endif

TEST(F16, EncodeMatchesRoundingModel) {
  const std::vector<float> v = random_floats(2000000, 99);
  for (float f : v) {
    const uint16_t got = f32_to_f16(f);
    if (std::isnan(f)) {
      ASSERT_TRUE(f16_is_nan(got)) << "input bits " << hex(f32_bits(f));
      continue;
    }
    const double want = f16_model_round(f);
    // Decode is exhaustively checked above, so comparing values (and the sign, for
    // zeros) pins the code down exactly.
    ASSERT_EQ(double(f16_to_f32(got)), want) << "input " << f << " (bits " << hex(f32_bits(f)) << ")";
    ASSERT_EQ(std::signbit(f16_to_f32(got)), std::signbit(f)) << "input bits " << hex(f32_bits(f));
  }
}

// Every exact midpoint between two neighbouring finite binary16 values rounds to the
// even code; one float ulp either side rounds to the nearer one.
TEST(F16, TiesToEvenAtEveryMidpoint) {
  for (uint32_t h = 0; h < 0x7BFFu; ++h) {  // h and h+1 both finite, positive
    for (uint32_t sign : {0u, 0x8000u}) {
      const double lo = f16_to_f32(uint16_t(h)), hi = f16_to_f32(uint16_t(h + 1));
      const float mid = float((lo + hi) / 2);  // exact: 12 significant bits at most
      ASSERT_EQ(double(mid), (lo + hi) / 2);
      const uint16_t even = uint16_t(((h & 1u) ? h + 1 : h) | sign);
      const float s = sign ? -1.0f : 1.0f;
      ASSERT_EQ(f32_to_f16(s * mid), even) << "midpoint of codes " << hex(h) << "/" << hex(h + 1);
      ASSERT_EQ(f32_to_f16(s * std::nextafter(mid, 0.0f)), uint16_t(h | sign))
          << "just below the midpoint of " << hex(h) << "/" << hex(h + 1);
      ASSERT_EQ(f32_to_f16(s * std::nextafter(mid, INFINITY)), uint16_t((h + 1) | sign))
          << "just above the midpoint of " << hex(h) << "/" << hex(h + 1);
    }
  }
}

TEST(F16, SpecialValues) {
  EXPECT_EQ(f32_to_f16(0.0f), 0x0000);
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_f16(1.0f), 0x3C00);
  EXPECT_EQ(f32_to_f16(-2.0f), 0xC000);
  EXPECT_EQ(f32_to_f16(INFINITY), 0x7C00);
  EXPECT_EQ(f32_to_f16(-INFINITY), 0xFC00);
  EXPECT_TRUE(f16_is_nan(f32_to_f16(NAN)));
  EXPECT_TRUE(f16_is_nan(f32_to_f16(-NAN)));
  EXPECT_TRUE(f16_is_nan(f32_to_f16(f32_from_bits(0x7F800001u))));  // signalling, tiny payload
  EXPECT_TRUE(std::isinf(f16_to_f32(0x7C00)));
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7E00)));
  // Largest finite: 65504. Half-way to the next "value" 65536 is 65520, a tie whose
  // even neighbour is 2^16, i.e. overflow to Inf.
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(std::nextafter(65520.0f, 0.0f)), 0x7BFF);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00);
  EXPECT_EQ(f32_to_f16(-65520.0f), 0xFC00);
  EXPECT_EQ(f32_to_f16(1e10f), 0x7C00);
  EXPECT_EQ(f32_to_f16(3.4e38f), 0x7C00);
  // Subnormals: quantum 2^-24. 2^-25 is the tie between 0 and the smallest subnormal
  // (rounds to 0, even); 3 * 2^-25 is the tie between codes 1 and 2 (rounds to 2).
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);
  EXPECT_EQ(f32_to_f16(-std::ldexp(1.0f, -25)), 0x8000);
  EXPECT_EQ(f32_to_f16(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
  EXPECT_EQ(f32_to_f16(3.0f * std::ldexp(1.0f, -25)), 0x0002);
  EXPECT_EQ(f32_to_f16(5.0f * std::ldexp(1.0f, -25)), 0x0002);
  EXPECT_EQ(f32_to_f16(std::ldexp(1023.0f, -24)), 0x03FF);  // largest subnormal
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -14)), 0x0400);     // smallest normal
  // Largest subnormal + half a quantum: tie between 0x03FF and 0x0400 -> 0x0400 (even).
  EXPECT_EQ(f32_to_f16(std::ldexp(2047.0f, -25)), 0x0400);
  EXPECT_EQ(f32_to_f16(1e-30f), 0x0000);                    // underflow keeps the sign
  EXPECT_EQ(f32_to_f16(-1e-30f), 0x8000);
  EXPECT_EQ(f32_to_f16(f32_from_bits(0x00000001u)), 0x0000);  // float subnormal
  // 1 + 2^-11 is the tie between 1 and 1 + 2^-10: stays at 1 (even); 1 + 3 * 2^-11
  // rounds up to 1 + 2^-9 (even).
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);
  EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);
}

TEST(F16, StorageType) {
  const lsgemm::f16 h(1.5f);
  EXPECT_EQ(h.bits, 0x3E00);
  EXPECT_EQ(float(h), 1.5f);
  EXPECT_EQ(lsgemm::f16().bits, 0);
  static_assert(!std::is_convertible_v<float, lsgemm::f16>, "f16 must not convert implicitly");
  static_assert(!std::is_convertible_v<lsgemm::f16, float>, "f16 must not convert implicitly");
  static_assert(sizeof(lsgemm::f16) == 2 && sizeof(lsgemm::bf16) == 2, "16-bit storage");
}

// ---------------------------------------------------------------------------------
// bf16

TEST(BF16, DecodeIsUpperHalfForAllCodes) {
  for (uint32_t b = 0; b < 65536; ++b) {
    const float got = bf16_to_f32(uint16_t(b));
    ASSERT_EQ(f32_bits(got), b << 16) << "code " << hex(b);
  }
}

TEST(BF16, EncodeOfDecodeIsIdentityForAllCodes) {
  for (uint32_t b = 0; b < 65536; ++b) {
    const uint16_t back = f32_to_bf16(bf16_to_f32(uint16_t(b)));
    if (bf16_is_nan(uint16_t(b))) {
      ASSERT_TRUE(bf16_is_nan(back)) << "code " << hex(b) << " -> " << hex(back);
      ASSERT_EQ(back & 0x8000u, b & 0x8000u) << "NaN sign, code " << hex(b);
    } else {
      ASSERT_EQ(back, b) << "round trip of code " << hex(b);
    }
  }
}

TEST(BF16, EncodeMatchesRoundingModel) {
  const std::vector<float> v = random_floats(2000000, 7);
  for (float f : v) {
    const uint16_t got = f32_to_bf16(f);
    if (std::isnan(f)) {
      // A NaN whose payload sits only in the low 16 bits must not become Inf.
      ASSERT_TRUE(bf16_is_nan(got)) << "input bits " << hex(f32_bits(f));
      ASSERT_EQ(got & 0x8000u, (f32_bits(f) >> 16) & 0x8000u);
      continue;
    }
    const double want = bf16_model_round(f);
    ASSERT_EQ(double(bf16_to_f32(got)), want) << "input " << f << " (bits " << hex(f32_bits(f)) << ")";
    ASSERT_EQ(std::signbit(bf16_to_f32(got)), std::signbit(f)) << "input bits " << hex(f32_bits(f));
  }
}

TEST(BF16, TiesToEvenAtEveryMidpoint) {
  for (uint32_t b = 0; b < 0x7F7Fu; ++b) {  // b and b+1 both finite, positive
    // The midpoint of two neighbouring bf16 codes is the float with low half 0x8000.
    const uint32_t mid = (b << 16) | 0x8000u;
    const uint16_t even = uint16_t((b & 1u) ? b + 1 : b);
    ASSERT_EQ(f32_to_bf16(f32_from_bits(mid)), even) << "midpoint above code " << hex(b);
    ASSERT_EQ(f32_to_bf16(f32_from_bits(mid | 0x80000000u)), uint16_t(even | 0x8000u));
    ASSERT_EQ(f32_to_bf16(f32_from_bits(mid - 1)), uint16_t(b)) << "just below, code " << hex(b);
    ASSERT_EQ(f32_to_bf16(f32_from_bits(mid + 1)), uint16_t(b + 1)) << "just above, code " << hex(b);
  }
}

TEST(BF16, SpecialValues) {
  EXPECT_EQ(f32_to_bf16(0.0f), 0x0000);
  EXPECT_EQ(f32_to_bf16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(f32_to_bf16(INFINITY), 0x7F80);
  EXPECT_EQ(f32_to_bf16(-INFINITY), 0xFF80);
  EXPECT_TRUE(bf16_is_nan(f32_to_bf16(NAN)));
  EXPECT_TRUE(bf16_is_nan(f32_to_bf16(f32_from_bits(0x7F800001u))));  // payload only in low bits
  EXPECT_TRUE(bf16_is_nan(f32_to_bf16(f32_from_bits(0xFFFFFFFFu))));  // would carry into Inf+1
  EXPECT_EQ(f32_to_bf16(f32_from_bits(0x7F7FFFFFu)), 0x7F80);         // FLT_MAX rounds to Inf
  EXPECT_EQ(f32_to_bf16(f32_from_bits(0x7F7F7FFFu)), 0x7F7F);         // below the tie: max finite
  EXPECT_EQ(f32_to_bf16(f32_from_bits(0x00008000u)), 0x0000);         // subnormal tie -> even 0
  EXPECT_EQ(f32_to_bf16(f32_from_bits(0x00018000u)), 0x0002);         // subnormal tie -> even 2
  const lsgemm::bf16 b(-3.0f);
  EXPECT_EQ(b.bits, 0xC040);
  EXPECT_EQ(float(b), -3.0f);
}

// ---------------------------------------------------------------------------------
// Views

using lsgemm::test::error_of;

TEST(MatrixView, Indexing) {
  std::vector<float> a(3 * 5);
  for (size_t i = 0; i < a.size(); ++i) a[i] = float(i);
  auto v = lsgemm::view(a.data(), 3, 4, 5);
  EXPECT_EQ(v(2, 3), 13.0f);
  EXPECT_EQ(v.row(1), a.data() + 5);
  EXPECT_FALSE(v.empty());
  EXPECT_EQ(lsgemm::view(a.data(), 3, 4).ld, 4);  // default ld = cols
  lsgemm::HostView<const float> cv = v;           // T -> const T
  EXPECT_EQ(cv(1, 1), 6.0f);
  EXPECT_EQ(cv.ld, 5);
  static_assert(!std::is_convertible_v<lsgemm::HostView<const float>, lsgemm::HostView<float>>,
                "a const view must not convert back to a mutable one");
  static_assert(!std::is_convertible_v<lsgemm::DeviceView<float>, lsgemm::HostView<float>>,
                "memory spaces must not mix");
  EXPECT_TRUE(lsgemm::HostView<float>().empty());
  EXPECT_TRUE(lsgemm::view(a.data(), 0, 4).empty());
}

TEST(MatrixView, CheckViewErrors) {
  std::vector<float> a(64);
  using lsgemm::detail::check_view;
  EXPECT_NO_THROW(check_view(lsgemm::view(a.data(), 4, 8, 16), "A"));
  // Empty views may have null data.
  EXPECT_NO_THROW(check_view(lsgemm::view<float>(nullptr, 0, 8), "A"));
  EXPECT_NO_THROW(check_view(lsgemm::view<float>(nullptr, 8, 0), "A"));

  std::string m = error_of([&] { check_view(lsgemm::view(a.data(), 4, 8, 7), "A"); });
  EXPECT_NE(m.find("A: leading dimension ld=7"), std::string::npos) << m;
  EXPECT_NE(m.find("cols=8"), std::string::npos) << m;
  m = error_of([&] { check_view(lsgemm::HostView<float>(a.data(), -1, 8, 8), "B"); });
  EXPECT_NE(m.find("B: rows and cols must be >= 0, got -1x8"), std::string::npos) << m;
  m = error_of([&] { check_view(lsgemm::HostView<float>(a.data(), 2, -3, 8), "B"); });
  EXPECT_NE(m.find("2x-3"), std::string::npos) << m;
  m = error_of([&] { check_view(lsgemm::view<float>(nullptr, 2, 3), "C"); });
  EXPECT_NE(m.find("C: data is null for a non-empty 2x3 view"), std::string::npos) << m;
  EXPECT_EQ(m.rfind("lsgemm: ", 0), 0u) << "messages start with the library name: " << m;
}

TEST(MatrixView, CheckMatmulShapes) {
  std::vector<float> x(6 * 8), y(6 * 5);
  using lsgemm::detail::check_matmul_shapes;
  auto X = lsgemm::view<const float>(x.data(), 6, 8);
  auto Y = lsgemm::view(y.data(), 6, 5);
  EXPECT_NO_THROW(check_matmul_shapes(X, 5, 8, Y));
  std::string m = error_of([&] { check_matmul_shapes(X, 5, 9, Y); });
  EXPECT_NE(m.find("X has 8 columns but the packed weight has K=9"), std::string::npos) << m;
  m = error_of([&] { check_matmul_shapes(X, 4, 8, Y); });
  EXPECT_NE(m.find("Y has 5 columns but the packed weight has N=4"), std::string::npos) << m;
  m = error_of([&] { check_matmul_shapes(X, 5, 8, lsgemm::view(y.data(), 5, 5)); });
  EXPECT_NE(m.find("Y has 5 rows but X has M=6"), std::string::npos) << m;
  m = error_of([&] { check_matmul_shapes(lsgemm::view<const float>(x.data(), 6, 8, 4), 5, 8, Y); });
  EXPECT_NE(m.find("X: leading dimension ld=4"), std::string::npos) << m;
}

TEST(Error, IsInvalidArgument) {
  try {
    lsgemm::detail::require(false, "value ", 3, " is bad");
    FAIL() << "require(false) did not throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "lsgemm: value 3 is bad");
  }
  EXPECT_NO_THROW(lsgemm::detail::require(true, "never"));
}

// ---------------------------------------------------------------------------------
// AlignedBuffer

TEST(AlignedBuffer, AlignedAndZeroFilled) {
  for (size_t n : {1, 3, 15, 16, 17, 63, 64, 65, 1000, 4097}) {
    lsgemm::AlignedBuffer<uint8_t> b(n);
    ASSERT_EQ(b.size(), n);
    ASSERT_EQ(b.bytes(), n);
    ASSERT_TRUE(lsgemm::detail::is_aligned(b.data(), lsgemm::kAlignment)) << "n=" << n;
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(b[i], 0) << "n=" << n << " i=" << i;
    lsgemm::AlignedBuffer<float> f(n);
    ASSERT_EQ(f.bytes(), n * sizeof(float));
    ASSERT_TRUE(lsgemm::detail::is_aligned(f.data(), 64)) << "n=" << n;
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(f32_bits(f[i]), 0u);
  }
  lsgemm::AlignedBuffer<uint16_t> empty(0);
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_EQ(empty.data(), nullptr);
}

TEST(AlignedBuffer, ResizeZeroFillsAgain) {
  lsgemm::AlignedBuffer<int> b(100);
  for (size_t i = 0; i < b.size(); ++i) b[i] = int(i) + 1;
  b.resize(200);
  ASSERT_EQ(b.size(), 200u);
  for (size_t i = 0; i < b.size(); ++i) ASSERT_EQ(b[i], 0) << i;
  b.resize(0);
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(b.data(), nullptr);
}

TEST(AlignedBuffer, MoveAndClone) {
  static_assert(!std::is_copy_constructible_v<lsgemm::AlignedBuffer<float>>, "copies must be explicit");
  static_assert(std::is_nothrow_move_constructible_v<lsgemm::AlignedBuffer<float>>, "");
  lsgemm::AlignedBuffer<float> a(37);
  for (size_t i = 0; i < a.size(); ++i) a[i] = float(i);
  const float* p = a.data();

  lsgemm::AlignedBuffer<float> b(std::move(a));
  EXPECT_EQ(b.data(), p);  // ownership moved, no copy
  EXPECT_EQ(b.size(), 37u);
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(a.size(), 0u);

  lsgemm::AlignedBuffer<float> c(5);
  c = std::move(b);
  EXPECT_EQ(c.data(), p);
  EXPECT_EQ(b.data(), nullptr);
  EXPECT_EQ(b.size(), 0u);
  auto& self = c;
  c = std::move(self);  // self-move keeps the contents
  EXPECT_EQ(c.data(), p);
  EXPECT_EQ(c.size(), 37u);

  lsgemm::AlignedBuffer<float> d = c.clone();
  EXPECT_NE(d.data(), c.data());
  EXPECT_TRUE(lsgemm::detail::is_aligned(d.data(), 64));
  ASSERT_EQ(d.size(), c.size());
  for (size_t i = 0; i < d.size(); ++i) EXPECT_EQ(d[i], float(i));
  d[0] = 42.0f;
  EXPECT_EQ(c[0], 0.0f);  // deep copy
  EXPECT_EQ(lsgemm::AlignedBuffer<float>().clone().size(), 0u);
}

// ---------------------------------------------------------------------------------
// parallel_for

// Restores the default executor and thread count when a test ends, pass or fail.
struct ParallelDefaults {
  ~ParallelDefaults() {
    lsgemm::set_executor({});
    lsgemm::set_num_threads(0);
  }
};

void expect_each_index_once(int64_t n, const char* how) {
  std::vector<std::atomic<int>> hits(size_t(n > 0 ? n : 0));
  for (auto& h : hits) h.store(0);
  std::atomic<int64_t> calls{0};
  lsgemm::parallel_for(n, [&](int64_t i) {
    calls.fetch_add(1);
    if (i >= 0 && i < n) hits[size_t(i)].fetch_add(1);
  });
  EXPECT_EQ(calls.load(), n > 0 ? n : 0) << how << ", n=" << n;
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[size_t(i)].load(), 1) << how << ", n=" << n << " index " << i;
}

TEST(ParallelFor, DefaultBackendCoversEachIndexOnce) {
  ParallelDefaults restore;
#if defined(_OPENMP)
  const char* how = "OpenMP";
#else
  const char* how = "serial (built without OpenMP)";
#endif
  for (int64_t n : {-3, 0, 1, 2, 3, 7, 64, 1001}) expect_each_index_once(n, how);
  lsgemm::set_num_threads(1);
  for (int64_t n : {1, 5, 100}) expect_each_index_once(n, "1 thread");
}

#if defined(_OPENMP)
TEST(ParallelFor, OpenMPThreadCount) {
  ParallelDefaults restore;
  EXPECT_EQ(lsgemm::max_threads(), omp_get_max_threads());
  lsgemm::set_num_threads(1);
  EXPECT_EQ(lsgemm::max_threads(), 1);
  // One thread: no parallel region, every call on the calling thread.
  std::atomic<int> outside{0};
  lsgemm::parallel_for(50, [&](int64_t) {
    if (omp_in_parallel()) outside.fetch_add(1);
  });
  EXPECT_EQ(outside.load(), 0);

  lsgemm::set_num_threads(2);
  EXPECT_EQ(lsgemm::max_threads(), std::min(2, omp_get_max_threads()));
  std::atomic<int> most{0};
  lsgemm::parallel_for(64, [&](int64_t) {
    int t = omp_get_num_threads();
    int seen = most.load();
    while (t > seen && !most.compare_exchange_weak(seen, t)) {
    }
  });
  EXPECT_LE(most.load(), 2) << "set_num_threads(2) must cap the team";
  expect_each_index_once(1001, "OpenMP, 2 threads");

  lsgemm::set_num_threads(-5);  // negative means default
  EXPECT_EQ(lsgemm::max_threads(), omp_get_max_threads());
}

TEST(ParallelFor, NestedCallRunsSerially) {
  ParallelDefaults restore;
  std::atomic<int> total{0};
#pragma omp parallel num_threads(2)
  {
    // Inside a parallel region lsgemm must not open another team: each thread's call
    // covers its own range on that thread.
    const int me = omp_get_thread_num();
    std::atomic<int> wrong{0};
    lsgemm::parallel_for(20, [&](int64_t) {
      total.fetch_add(1);
      if (omp_get_thread_num() != me) wrong.fetch_add(1);
    });
    if (wrong.load() != 0) total.fetch_add(1000000);
  }
  const int teams = total.load() / 20;
  EXPECT_EQ(total.load() % 20, 0) << "a nested call ran on a different thread or skipped indices";
  EXPECT_GE(teams, 1);
  EXPECT_LE(teams, 2);
}
#endif

TEST(ParallelFor, UserExecutor) {
  ParallelDefaults restore;
  std::atomic<int> executor_calls{0};
  // A minimal pool: three std::threads take strided indices.
  lsgemm::set_executor([&](int64_t n, const std::function<void(int64_t)>& fn) {
    executor_calls.fetch_add(1);
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t)
      threads.emplace_back([&, t] {
        for (int64_t i = t; i < n; i += 3) fn(i);
      });
    for (auto& th : threads) th.join();
  });
  for (int64_t n : {1, 2, 3, 4, 100, 1001}) expect_each_index_once(n, "user executor");
  EXPECT_EQ(executor_calls.load(), 6);
  // n <= 0: nothing to run, the executor is not called.
  expect_each_index_once(0, "user executor");
  expect_each_index_once(-1, "user executor");
  EXPECT_EQ(executor_calls.load(), 6);
  // The executor takes precedence over set_num_threads.
  lsgemm::set_num_threads(1);
  expect_each_index_once(10, "user executor, 1 thread cap");
  EXPECT_EQ(executor_calls.load(), 7);

  lsgemm::set_executor({});  // back to the default
  expect_each_index_once(100, "default after reset");
  EXPECT_EQ(executor_calls.load(), 7);
}

// max_threads() tells the truth with a user executor: the width it was installed with
// (the hardware's thread count when not said), capped by set_num_threads.
TEST(ParallelFor, MaxThreadsWithUserExecutor) {
  ParallelDefaults restore;
  const lsgemm::Executor serial = [](int64_t n, const std::function<void(int64_t)>& fn) {
    for (int64_t i = 0; i < n; ++i) fn(i);
  };
  lsgemm::set_executor(serial, 3);
  EXPECT_EQ(lsgemm::max_threads(), 3);
  lsgemm::set_num_threads(2);
  EXPECT_EQ(lsgemm::max_threads(), 2);
  lsgemm::set_num_threads(0);
  lsgemm::set_executor(serial);
  EXPECT_EQ(lsgemm::max_threads(), std::max(1, int(std::thread::hardware_concurrency())));
  lsgemm::set_executor(serial, 1);
  EXPECT_EQ(lsgemm::max_threads(), 1);
  lsgemm::set_executor({});
#if defined(_OPENMP)
  EXPECT_EQ(lsgemm::max_threads(), omp_get_max_threads());
#else
  EXPECT_EQ(lsgemm::max_threads(), 1);
#endif
}

}  // namespace
