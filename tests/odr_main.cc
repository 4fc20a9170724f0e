// ODR test (DESIGN §4): one program links odr_tu.cc built for AVX2 and odr_tu.cc
// built for AVX-512, each calling lsgemm::matmul. If the inline
// wrappers of dispatch.hpp had the same mangled name in both TUs, the linker would keep
// one body and both calls would run the same target; the inline namespace named after
// the static target keeps them apart. Checked here: each call reports its own target
// and both agree with the reference.
//
// Symbols (checked with `nm -C odr_test | grep dispatch_N_`): the binary holds both
// lsgemm::dispatch_N_AVX2::matmul(...) and lsgemm::dispatch_N_AVX3::matmul(...) as
// weak (W) definitions; each TU hands back its wrapper's address and the test checks
// they differ.
//
// The plain inline functions (pack, validate, the reference) sit in an inline
// namespace named after the TU's instruction set (core/abi.hpp), so they too get one
// copy per -march (`nm -C` shows abi_avx2::pack and abi_avx512::pack). What remains
// shared is outside lsgemm's control: standard-library templates instantiated in both
// TUs (std::vector<float> members, say) keep one copy, as in any C++ program that
// mixes -march flags.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "lsgemm/int_quant/format.hpp"
#include "lsgemm/int_quant/reference.hpp"

std::string odr_avx2_run(const std::vector<float>& w, const std::vector<float>& x, int64_t m, int64_t n,
                         int64_t k, bool int8_acts, std::vector<float>& y, const void*& wrapper);
std::string odr_avx512_run(const std::vector<float>& w, const std::vector<float>& x, int64_t m, int64_t n,
                           int64_t k, bool int8_acts, std::vector<float>& y, const void*& wrapper);

namespace {

namespace iq = lsgemm::int_quant;

// Deterministic data without <random>, so every TU sees the same values: a
// multiplicative hash mapped to [-1, 1).
std::vector<float> hashed(size_t count, uint32_t salt) {
  std::vector<float> v(count);
  for (size_t i = 0; i < count; ++i) {
    const uint32_t h = (uint32_t(i) + salt) * 2654435761u;
    v[i] = float(h >> 8) / float(1u << 23) - 1.0f;
  }
  return v;
}

bool cpu_has_avx512f() {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx512f");
#else
  return false;
#endif
}
bool cpu_has_avx2() {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi2") &&
         __builtin_cpu_supports("f16c") && __builtin_cpu_supports("aes") && __builtin_cpu_supports("pclmul");
#else
  return false;
#endif
}

struct Shape {
  int64_t m, n, k;
  bool int8_acts;
};

class Odr : public ::testing::TestWithParam<Shape> {};

TEST_P(Odr, TwoTargetsOneProgram) {
  if (!cpu_has_avx2()) GTEST_SKIP() << "CPU lacks AVX2/FMA/BMI2/F16C/AES/PCLMUL: cannot run the AVX2 half";
  const Shape s = GetParam();
  const std::vector<float> w = hashed(size_t(s.n * s.k), 1), x = hashed(size_t(s.m * s.k), 2);

  // The oracle, from this TU (built for the compiler's default target).
  const auto q = iq::pack(lsgemm::view<const float>(w.data(), s.n, s.k),
                          iq::PackOptions().with_bits(4).with_group(128).with_act(
                              s.int8_acts ? iq::ActMode::kInt8 : iq::ActMode::kFloat));
  const auto X = lsgemm::view<const float>(x.data(), s.m, s.k);
  std::vector<float> yr(size_t(s.m * s.n));
  lsgemm::reference::matmul(X, q, lsgemm::view(yr.data(), s.m, s.n));
  const std::vector<double> mag = lsgemm::reference::matmul_magnitude(X, q);
  const double terms = double(s.k + 2 * q.groups() + 8);
  int64_t nonzero = 0;
  for (float v : yr) nonzero += v != 0.0f;
  ASSERT_GT(nonzero, s.m * s.n / 2) << "reference output is mostly zero: the test would pass vacuously";

  auto check = [&](const std::vector<float>& y, const std::string& who) {
    ASSERT_EQ(y.size(), yr.size());
    for (size_t i = 0; i < y.size(); ++i) {
      const double tol = terms * FLT_EPSILON * mag[i];
      ASSERT_LE(std::fabs(double(y[i]) - double(yr[i])), tol)
          << who << " M=" << s.m << " N=" << s.n << " K=" << s.k << (s.int8_acts ? " int8" : " float")
          << " output " << i << ": " << y[i] << " vs reference " << yr[i]
          << " (tol = (K + 2*groups + 8) * FLT_EPSILON * magnitude = " << tol << ")";
    }
  };

  std::vector<float> y2;
  const void* wrapper2 = nullptr;
  const std::string name2 = odr_avx2_run(w, x, s.m, s.n, s.k, s.int8_acts, y2, wrapper2);
  EXPECT_EQ(name2, "AVX2");
  check(y2, "AVX2 TU");

  if (!cpu_has_avx512f()) GTEST_SKIP() << "CPU lacks AVX-512F: the -march=skylake-avx512 half cannot run here";
  std::vector<float> y3;
  const void* wrapper3 = nullptr;
  const std::string name3 = odr_avx512_run(w, x, s.m, s.n, s.k, s.int8_acts, y3, wrapper3);
  EXPECT_EQ(name3, "AVX3");
  EXPECT_NE(name2, name3) << "both TUs ran the same wrapper: the linker merged them (ODR violation)";
  EXPECT_NE(wrapper2, wrapper3) << "lsgemm::matmul is one function in both TUs: the linker merged them";
  check(y3, "AVX3 TU");
}

// M = 1 takes the GEMV path, M = 8 the GEMM path; both activation modes.
INSTANTIATE_TEST_SUITE_P(Shapes, Odr,
                         ::testing::Values(Shape{1, 48, 512, false}, Shape{8, 48, 512, false},
                                           Shape{1, 48, 512, true}, Shape{8, 48, 512, true}),
                         [](const ::testing::TestParamInfo<Shape>& i) {
                           return "M" + std::to_string(i.param.m) + (i.param.int8_acts ? "_int8" : "_float");
                         });

}  // namespace
