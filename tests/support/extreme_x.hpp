#pragma once
// The classes of extreme X (M x K) and the comparison of a kernel's outcome with its
// reference's that extreme_x_test (int_quant, lut) and nm_sparse_test share: the
// reference defines the behaviour (README "Non-finite and extreme activations") and
// every kernel path must show the same one:
//  - the reference throws  ->  the kernel throws the same message (same element named)
//                              and leaves Y untouched;
//  - else, per output: NaN where the reference has NaN, the same infinity where it has
//    one, and a finite value within the family's rounding bound where it is finite.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "lsgemm/core/error.hpp"
#include "lsgemm/core/matrix.hpp"

namespace lsgemm {
namespace test {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kSentinel = -12345.5f;

// The data classes of X (M x K). Columns 5 and 9 carry the special values; threshold 6
// outliers see column 5 as an outlier column through row 0 (value 20).
enum class XClass {
  kPosInf, kNegInf, kNaN, kInfOutlierCol, kNaNMadeOutlier, kHuge, kLarge, kTooLarge, kTiny, kTinyBlock,
  kSubnormal
};
inline const char* xclass_name(XClass c) {
  switch (c) {
    case XClass::kPosInf: return "+Inf";
    case XClass::kNegInf: return "-Inf";
    case XClass::kNaN: return "NaN";
    case XClass::kInfOutlierCol: return "Inf in an outlier column";
    case XClass::kNaNMadeOutlier: return "NaN in a column made an outlier by another row";
    case XClass::kHuge: return "|x| up to 1e37";
    case XClass::kLarge: return "|x| up to 1e19";
    case XClass::kTooLarge: return "one |x| = 1e20";
    case XClass::kTiny: return "|x| ~ 1e-38";
    case XClass::kTinyBlock: return "one block [1e-38, 0, ...]";
    case XClass::kSubnormal: return "subnormal x";
  }
  return "?";
}
inline std::vector<XClass> xclasses() {
  return {XClass::kPosInf, XClass::kNegInf,  XClass::kNaN,      XClass::kInfOutlierCol,
          XClass::kNaNMadeOutlier, XClass::kHuge, XClass::kLarge, XClass::kTooLarge,
          XClass::kTiny,   XClass::kTinyBlock, XClass::kSubnormal};
}

inline std::vector<float> make_x(XClass cls, int64_t M, int64_t K, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> X(size_t(M * K));
  for (float& v : X) v = nd(rng);
  auto at = [&](int64_t m, int64_t c) -> float& { return X[size_t(m * K + c)]; };
  switch (cls) {
    case XClass::kPosInf: at(M - 1, 9) = kInf; break;
    case XClass::kNegInf: at(0, K - 1) = -kInf; break;
    case XClass::kNaN: at(M / 2, 9) = std::nanf(""); break;
    case XClass::kInfOutlierCol: at(0, 5) = kInf; break;
    case XClass::kNaNMadeOutlier:
      at(0, 5) = 20.0f;
      at(M - 1, 5) = M > 1 ? std::nanf("") : at(0, 5);
      if (M == 1) at(0, 9) = std::nanf("");
      break;
    case XClass::kHuge: for (float& v : X) v *= 2.5e36f; break;
    case XClass::kLarge: for (float& v : X) v *= 2e18f; break;  // max ~ 1e19 < 2^64
    case XClass::kTooLarge: at(M - 1, 9) = 1e20f; break;
    case XClass::kTiny: for (float& v : X) v *= 1e-38f; break;
    case XClass::kTinyBlock:
      for (int64_t c = 0; c < std::min<int64_t>(K, 128); ++c) at(0, c) = 0.0f;
      at(0, 0) = 1e-38f;
      break;
    case XClass::kSubnormal: for (float& v : X) v *= 1e-41f; break;
  }
  return X;
}

// Calls f; returns the lsgemm::Error message, or "" when it did not throw.
template <class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const lsgemm::Error& e) {
    return e.what();
  }
  return "";
}

// Compares the kernel's outcome with the reference's (see the file comment). `tol[i]`:
// the rounding bound of output i.
inline void expect_same_behaviour(const std::string& what, const std::string& ref_msg, const std::string& k_msg,
                                  const std::vector<float>& Yr, const std::vector<float>& Yk,
                                  const std::vector<double>& tol) {
  SCOPED_TRACE(what);
  ASSERT_EQ(k_msg, ref_msg) << "the kernel and the reference must both throw the same error, or neither";
  if (!ref_msg.empty()) {
    for (size_t i = 0; i < Yk.size(); ++i) ASSERT_EQ(Yk[i], kSentinel) << "Y[" << i << "] written by a throwing call";
    return;
  }
  for (size_t i = 0; i < Yr.size(); ++i) {
    const float r = Yr[i], k = Yk[i];
    if (std::isnan(r)) {
      ASSERT_TRUE(std::isnan(k)) << "Y[" << i << "]: reference NaN, kernel " << k;
    } else if (std::isinf(r)) {
      ASSERT_EQ(k, r) << "Y[" << i << "]: reference " << r << ", kernel " << k;
    } else {
      ASSERT_TRUE(std::isfinite(k)) << "Y[" << i << "]: reference " << r << ", kernel " << k;
      ASSERT_LE(std::fabs(double(k) - double(r)), tol[i])
          << "Y[" << i << "]: reference " << r << ", kernel " << k << ", bound " << tol[i];
    }
  }
}

// One case of a family whose only check is that comparison: X (M x K) through the
// reference and the kernel into Y (M x N) filled with kSentinel; where the reference
// returns, output i's bound is terms * FLT_EPSILON * magnitude[i] (the family tester's
// rounding bound). ref, kernel: (X, Y) calls; magnitude: X -> per-output sums of |terms|.
template <class Ref, class Kernel, class Magnitude>
void expect_extreme_case(const std::string& what, const std::vector<float>& X, int64_t M, int64_t K, int64_t N,
                         const Ref& ref, const Kernel& kernel, const Magnitude& magnitude, double terms) {
  const HostView<const float> Xv(X.data(), M, K, K);
  std::vector<float> Yr(size_t(M * N), kSentinel), Yk = Yr;
  const std::string rm = message_of([&] { ref(Xv, view(Yr.data(), M, N)); });
  const std::string km = message_of([&] { kernel(Xv, view(Yk.data(), M, N)); });
  std::vector<double> tol(Yr.size(), 0.0);
  if (rm.empty()) {
    const std::vector<double> mag = magnitude(Xv);
    for (size_t i = 0; i < tol.size(); ++i) tol[i] = terms * double(FLT_EPSILON) * mag[i] + 1e-37;
  }
  expect_same_behaviour(what, rm, km, Yr, Yk, tol);
}

}  // namespace test
}  // namespace lsgemm
