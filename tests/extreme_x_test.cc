// Non-finite and extreme activations on every path of every family, on every attainable
// SIMD target: the reference defines the behaviour (README "Non-finite and extreme
// activations", core/act_quant.hpp) and every kernel path must show the same one.
//
// For each data class, family, mode and M (M picks the path: GEMV below the GEMM switch,
// GEMM, LUT tables or the unpacked u8 GEMM; the rows come from the kernels' constants):
//  - the reference throws  ->  the kernel throws the same message (same element named)
//                              and leaves Y untouched;
//  - else, per output: NaN where the reference has NaN, the same infinity where it has
//    one, and a finite value within the rounding bound of the family's tester
//    (terms * FLT_EPSILON * magnitude, from reference::matmul_magnitude) where it is
//    finite; for lut, also matmul(X) == matmul(make_tables(X)) bit for bit.
// Families: int_quant, lut, nm_sparse.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "extreme_x_test.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>
#include <hwy/tests/hwy_gtest.h>

#include "lsgemm/int_quant/simd-inl.h"
#include "lsgemm/lut/simd-inl.h"
#include "lsgemm/nm_sparse/simd-inl.h"

#ifndef LSGEMM_TESTS_EXTREME_X_ONCE
#define LSGEMM_TESTS_EXTREME_X_ONCE
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "lsgemm/core/act_quant.hpp"
#include "lsgemm/int_quant/format.hpp"
#include "lsgemm/int_quant/reference.hpp"
#include "lsgemm/lut/format.hpp"
#include "lsgemm/lut/reference.hpp"
#include "lsgemm/nm_sparse/format.hpp"
#include "lsgemm/nm_sparse/reference.hpp"

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

using IqKernel = std::function<void(HostView<const float>, const int_quant::QuantizedMatrix&, HostView<float>)>;

inline void check_int_quant(const IqKernel& kernel, const std::vector<int64_t>& rows) {
  const int64_t N = 37, K = 256;
  std::vector<float> W(size_t(N * K));
  std::mt19937_64 rng(5);
  for (float& v : W) v = std::normal_distribution<float>(0.0f, 0.02f)(rng);
  struct Mode {
    const char* name;
    int_quant::PackOptions opt;
  };
  const Mode modes[] = {
      {"4-bit g128 float", int_quant::PackOptions().with_bits(4).with_group(128)},
      {"8-bit g32 float", int_quant::PackOptions().with_bits(8).with_group(32)},
      {"4-bit g128 int8", int_quant::PackOptions().with_bits(4).with_group(128).with_act(int_quant::ActMode::kInt8)},
      {"8-bit g32 int8", int_quant::PackOptions().with_bits(8).with_group(32).with_act(int_quant::ActMode::kInt8)},
      {"4-bit g128 int8 + outliers", int_quant::PackOptions().with_bits(4).with_group(128)
                                          .with_act(int_quant::ActMode::kInt8).with_outliers(6.0f)},
  };
  for (const Mode& md : modes) {
    const int_quant::QuantizedMatrix w = int_quant::pack(view<const float>(W.data(), N, K), md.opt);
    for (XClass cls : xclasses())
      for (int64_t M : rows) {
        const std::vector<float> X = make_x(cls, M, K, uint64_t(M) * 31 + 7);
        const HostView<const float> Xv(X.data(), M, K, K);
        std::vector<float> Yr(size_t(M * N), kSentinel), Yk = Yr;
        const std::string rm = message_of([&] { reference::matmul(Xv, w, view(Yr.data(), M, N)); });
        const std::string km = message_of([&] { kernel(Xv, w, view(Yk.data(), M, N)); });
        std::vector<double> tol(Yr.size(), 0.0);
        if (rm.empty()) {
          // The int_quant tester's bound: kp products + 2 per group + 8, outliers K more.
          const std::vector<double> mag = reference::matmul_magnitude(Xv, w);
          const double terms = double(w.kp) + 2.0 * double(w.groups()) + 8.0 + double(K);
          for (size_t i = 0; i < tol.size(); ++i) tol[i] = terms * double(FLT_EPSILON) * mag[i] + 1e-37;
        }
        expect_same_behaviour(std::string("int_quant ") + md.name + ", X: " + xclass_name(cls) + ", M=" +
                                  std::to_string(M),
                              rm, km, Yr, Yk, tol);
        if (::testing::Test::HasFatalFailure()) return;
      }
  }
}

using NmKernel = std::function<void(HostView<const float>, const nm_sparse::NmSparseMatrix&, HostView<float>)>;

// nm_sparse: the reference multiplies the stored slots only (fillers included, whose
// value 0 times a NaN or an infinity is NaN), so a NaN at a pruned column of a row
// reaches nothing; int8 activations reject non-finite and too large X as int_quant's.
inline void check_nm_sparse(const NmKernel& kernel, const std::vector<int64_t>& rows) {
  const int64_t N = 37, K = 256;
  std::vector<float> W(size_t(N * K));
  std::mt19937_64 rng(9);
  for (float& v : W) v = std::normal_distribution<float>(0.0f, 1.0f)(rng);
  using nm_sparse::ValueType;
  struct Mode {
    const char* name;
    nm_sparse::PackOptions opt;
  };
  const Mode modes[] = {
      {"2:4 f32", nm_sparse::PackOptions()},
      {"1:8 int4 g64 float", nm_sparse::PackOptions().with_pattern(1, 8).with_values(ValueType::kInt4).with_group(64)},
      {"2:4 int4 g128 int8", nm_sparse::PackOptions().with_values(ValueType::kInt4).with_act(ActMode::kInt8)},
      {"3:8 int8 g64 int8 (no quad dot)",
       nm_sparse::PackOptions().with_pattern(3, 8).with_values(ValueType::kInt8).with_group(64).with_act(ActMode::kInt8)},
  };
  for (const Mode& md : modes) {
    const nm_sparse::NmSparseMatrix w = nm_sparse::pack(view<const float>(W.data(), N, K), md.opt);
    for (XClass cls : xclasses())
      for (int64_t M : rows) {
        const std::vector<float> X = make_x(cls, M, K, uint64_t(M) * 17 + 3);
        const HostView<const float> Xv(X.data(), M, K, K);
        std::vector<float> Yr(size_t(M * N), kSentinel), Yk = Yr;
        const std::string rm = message_of([&] { reference::matmul(Xv, w, view(Yr.data(), M, N)); });
        const std::string km = message_of([&] { kernel(Xv, w, view(Yk.data(), M, N)); });
        std::vector<double> tol(Yr.size(), 0.0);
        if (rm.empty()) {  // the nm_sparse tester's bound
          const std::vector<double> mag = reference::matmul_magnitude(Xv, w);
          const double terms = double(w.act == ActMode::kInt8 ? w.groups() : w.kp) + 8.0;
          for (size_t i = 0; i < tol.size(); ++i) tol[i] = terms * double(FLT_EPSILON) * mag[i] + 1e-37;
        }
        expect_same_behaviour(std::string("nm_sparse ") + md.name + ", X: " + xclass_name(cls) + ", M=" +
                                  std::to_string(M),
                              rm, km, Yr, Yk, tol);
        if (::testing::Test::HasFatalFailure()) return;
      }
  }
}

struct LutKernels {
  std::function<void(HostView<const float>, const lut::LutMatrix&, HostView<float>)> matmul;
  std::function<lut::Tables(HostView<const float>, const lut::TableSpec&)> make_tables;
  std::function<void(const lut::Tables&, const lut::LutMatrix&, HostView<float>)> matmul_tables;
};

inline void check_lut(const LutKernels& kern, const std::vector<int64_t>& rows) {
  const int64_t N = 37, K = 200;  // K tail: 200 = 128 + 72
  std::vector<float> W(size_t(N * K));
  std::mt19937_64 rng(6);
  for (float& v : W) v = std::normal_distribution<float>(0.0f, 0.02f)(rng);
  struct Mode {
    const char* name;
    lut::PackOptions opt;
  };
  const Mode modes[] = {
      {"2-bit exact", lut::PackOptions().with_bits(2).with_group(128)},
      {"1-bit exact", lut::PackOptions().with_bits(1).with_group(64)},
      {"4-bit fast", lut::PackOptions().with_bits(4).with_group(128).with_tables(lut::TableMode::kFast)},
      {"ternary triples exact", lut::PackOptions::ternary()},
      {"ternary planes fast", lut::PackOptions::ternary(lut::WeightKind::kTernaryPlanes, 64)
                                  .with_tables(lut::TableMode::kFast)},
  };
  for (const Mode& md : modes) {
    const lut::LutMatrix w = lut::pack(view<const float>(W.data(), N, K), md.opt);
    for (XClass cls : xclasses())
      for (int64_t M : rows) {
        const std::vector<float> X = make_x(cls, M, K, uint64_t(M) * 17 + 3);
        const HostView<const float> Xv(X.data(), M, K, K);
        std::vector<float> Yr(size_t(M * N), kSentinel), Yk = Yr, Yt = Yr;
        const std::string what =
            std::string("lut ") + md.name + ", X: " + xclass_name(cls) + ", M=" + std::to_string(M);
        const std::string rm = message_of([&] { reference::matmul(Xv, w, view(Yr.data(), M, N)); });
        const std::string km = message_of([&] { kern.matmul(Xv, w, view(Yk.data(), M, N)); });
        lut::Tables tk;
        const std::string tm = message_of([&] { tk = kern.make_tables(Xv, w.table_spec()); });
        ASSERT_EQ(tm, rm) << what << ": make_tables must throw as the reference does";
        std::vector<double> tol(Yr.size(), 0.0);
        if (rm.empty()) {
          kern.matmul_tables(tk, w, view(Yt.data(), M, N));
          ASSERT_EQ(0, std::memcmp(Yt.data(), Yk.data(), Yk.size() * sizeof(float)))
              << what << ": matmul(X) differs from matmul(make_tables(X))";
          // The lut tester's bound 2: 2 * (blocks + 4) * FLT_EPSILON * magnitude.
          const lut::Tables tr = reference::make_tables(Xv, w.table_spec());
          const std::vector<double> mag = reference::matmul_magnitude(tr, w);
          const double terms = 2.0 * (double(tr.spec.blocks()) + 4.0);
          for (size_t i = 0; i < tol.size(); ++i) tol[i] = terms * double(FLT_EPSILON) * mag[i] + 1e-37;
        }
        expect_same_behaviour(what, rm, km, Yr, Yk, tol);
        if (::testing::Test::HasFatalFailure()) return;
      }
  }
}

}  // namespace test
}  // namespace lsgemm
#endif  // LSGEMM_TESTS_EXTREME_X_ONCE

HWY_BEFORE_NAMESPACE();
namespace lsgemm {
namespace test {
namespace HWY_NAMESPACE {

// M = 1 and 3 (GEMV), the GEMM switch, one full f32/u8 tile and a tail, and (lut) the
// unpacked crossovers of 2- and 1-bit planes.
void TestIntQuantExtremeX() {
  const int64_t g = int_quant::HWY_NAMESPACE::kGemmMinRows;
  check_int_quant(
      [](HostView<const float> X, const int_quant::QuantizedMatrix& w, HostView<float> Y) {
        int_quant::HWY_NAMESPACE::matmul(X, w, Y);
      },
      {1, 3, g, g + 13});
}

// M = 1 and 3 (GEMV-like tiles), past the quad-dot tile (the pre-pass) and past the
// gather tile (the per-task decode), with remainder tiles.
void TestNmSparseExtremeX() {
  check_nm_sparse(
      [](HostView<const float> X, const nm_sparse::NmSparseMatrix& w, HostView<float> Y) {
        nm_sparse::HWY_NAMESPACE::matmul(X, w, Y);
      },
      {1, 3, 5, nm_sparse::HWY_NAMESPACE::kMRGather + 7});
}

void TestLutExtremeX() {
  std::vector<int64_t> rows = {1, 3, 9};
#if !HWY_HAVE_SCALABLE && HWY_TARGET != HWY_SCALAR
  rows.push_back(lut::HWY_NAMESPACE::min_rows_unpacked(2));
  rows.push_back(lut::HWY_NAMESPACE::min_rows_unpacked(1) + 1);
#endif
  LutKernels k;
  k.matmul = [](HostView<const float> X, const lut::LutMatrix& w, HostView<float> Y) {
    lut::HWY_NAMESPACE::matmul(X, w, Y);
  };
  k.make_tables = [](HostView<const float> X, const lut::TableSpec& s) {
    lut::Tables t;
    lut::HWY_NAMESPACE::make_tables(X, s, t);
    return t;
  };
  k.matmul_tables = [](const lut::Tables& t, const lut::LutMatrix& w, HostView<float> Y) {
    lut::HWY_NAMESPACE::matmul(t, w, Y);
  };
  check_lut(k, rows);
}

}  // namespace HWY_NAMESPACE
}  // namespace test
}  // namespace lsgemm
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lsgemm {
namespace test {
HWY_BEFORE_TEST(ExtremeX);
HWY_EXPORT_AND_TEST_P(ExtremeX, TestIntQuantExtremeX);
HWY_EXPORT_AND_TEST_P(ExtremeX, TestLutExtremeX);
HWY_EXPORT_AND_TEST_P(ExtremeX, TestNmSparseExtremeX);
HWY_AFTER_TEST();
}  // namespace test
}  // namespace lsgemm
HWY_TEST_MAIN();
#endif
