// Regression tests of the kernels, one per fixed defect, with the shape and data of its
// report, on every attainable SIMD target (each test runs once per target the binary
// holds and the CPU runs, on that target's kernels: support/per_target.hpp). The ones on
// packed objects (target-independent) are at the end of bad_input_test.cc.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "lsgemm/core/act_quant.hpp"
#include "lsgemm/int_quant/reference.hpp"
#include "lsgemm/lut/reference.hpp"
#include "support/error_of.hpp"
#include "support/int_quant_tester.hpp"
#include "support/lut_tester.hpp"
#include "support/per_target.hpp"

namespace lsgemm {
namespace test {
namespace iq = lsgemm::int_quant;

constexpr float kSentinel = -12345.5f;

inline std::vector<float> normal(int64_t n, float sd, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.0f, sd);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = nd(rng);
  return v;
}

inline void expect_mentions(const std::string& msg, std::initializer_list<std::string> parts) {
  for (const std::string& p : parts)
    EXPECT_NE(msg.find(p), std::string::npos) << "message lacks \"" << p << "\": " << msg;
}

// "X(r,c)=": how every activation check names the element.
inline std::string element(int64_t r, int64_t c) { return "X(" + std::to_string(r) + "," + std::to_string(c) + ")="; }

// Defect 2: with LLM.int8() outliers, X(0,5) = +Inf made column 5 an outlier column,
// was zeroed before the finiteness check and multiplied raw into Y (Y = [-inf, inf,
// nan, ...]); a NaN in a column made an outlier by another row slipped through too.
void regress_int8_outliers_let_nonfinite_through() {
  const IntQuantKernels iqk = int_quant_kernels(ActMode::kInt8);
  const int64_t M = 3, N = 24, K = 128;
  const std::vector<float> W = normal(N * K, 1.0f, 1);
  const iq::QuantizedMatrix w = iq::pack(view<const float>(W.data(), N, K),
                                         iq::PackOptions().with_group(32).with_act(iq::ActMode::kInt8).with_outliers());
  for (int variant = 0; variant < 2; ++variant) {
    std::vector<float> X = normal(M * K, 1.0f, 2);
    if (variant == 0) {
      X[5] = std::numeric_limits<float>::infinity();  // X(0,5)
    } else {
      X[5] = 20.0f;                                    // X(0,5) makes column 5 an outlier column
      X[size_t(2 * K + 5)] = std::nanf("");            // X(2,5)
    }
    std::vector<float> Y(size_t(M * N), kSentinel);
    const std::string msg = error_of([&] {
      iqk.matmul(view<const float>(X.data(), M, K), w, view(Y.data(), M, N), Epilogue());
    });
    expect_mentions(msg, {variant == 0 ? "X(0,5)=inf is not finite" : "X(2,5)=nan is not finite", "int8"});
    for (float v : Y) ASSERT_EQ(v, kSentinel) << "Y written by a throwing call";
  }
}

// Defect 3: the float GEMV (M <= 3) formed s * sum(q x) + (-s z) * sum(x): one +Inf in X
// gave NaN where the reference gives +-Inf, and |x| ~ 3e35..1e37 (8-bit g128, K = 1024,
// W ~ 0.01) overflowed to inf/nan where the answer is ~5e34..2e36.
void regress_float_gemv_extreme_x() {
  const IntQuantKernels iqk = int_quant_kernels(ActMode::kInt8);
  const int64_t N = 40, K = 1024;
  std::vector<float> W = normal(N * K, 0.01f, 3);
  for (int64_t n = 0; n < N; ++n) W[size_t(n * K + 7)] = 0.02f;  // non-zero in the Inf column
  const iq::QuantizedMatrix w = iq::pack(view<const float>(W.data(), N, K), iq::PackOptions().with_bits(8));
  for (int64_t M : {int64_t(1), int64_t(2), int64_t(3)})
    for (float scale : {0.0f, 3e35f, 1e37f}) {
      SCOPED_TRACE("M=" + std::to_string(M) + " scale=" + std::to_string(scale));
      std::vector<float> X = normal(M * K, 1.0f, 4);
      if (scale == 0.0f) {
        X[7] = std::numeric_limits<float>::infinity();
      } else {
        for (float& v : X) v = scale * std::fabs(v) / 3.0f;  // max about `scale`
      }
      const HostView<const float> Xv(X.data(), M, K, K);
      std::vector<float> Yk(size_t(M * N)), Yr(size_t(M * N));
      iqk.matmul(Xv, w, view(Yk.data(), M, N), Epilogue());
      reference::matmul(Xv, w, view(Yr.data(), M, N));
      const std::vector<double> mag = reference::matmul_magnitude(Xv, w);
      for (size_t i = 0; i < Yr.size(); ++i) {
        if (scale == 0.0f && i < size_t(N)) {
          ASSERT_TRUE(std::isinf(Yr[i])) << "reference Y[" << i << "] = " << Yr[i];
          ASSERT_EQ(Yk[i], Yr[i]) << "Y[" << i << "]";
        } else {
          ASSERT_TRUE(std::isfinite(Yr[i]) && std::isfinite(Yk[i])) << "Y[" << i << "]: kernel " << Yk[i]
                                                                     << " reference " << Yr[i];
          ASSERT_LE(std::fabs(double(Yk[i]) - double(Yr[i])), double(K + 80) * FLT_EPSILON * mag[i]);
        }
      }
    }
}

// Defect 4: a block with amax < 127/FLT_MAX made 127/amax = +inf, so its zeros became
// NaN and quantized to -127 (8-bit g32 int8, X = [1e-38, 0 x 31], W = 1 gave -3.0e-37;
// the product is 1.0e-38). Now such a block is a zero block (core/act_quant.hpp).
void regress_tiny_activations_quantized_wrongly() {
  const IntQuantKernels iqk = int_quant_kernels(ActMode::kInt8);
  const LutKernels lk = lut_kernels();
  const int64_t N = 16, K = 32;
  const std::vector<float> W(size_t(N * K), 1.0f);
  const iq::QuantizedMatrix w = iq::pack(view<const float>(W.data(), N, K),
                                         iq::PackOptions().with_bits(8).with_group(32).with_act(iq::ActMode::kInt8));
  for (int64_t M : {int64_t(1), int64_t(5)}) {
    std::vector<float> X(size_t(M * K), 0.0f);
    X[0] = 1e-38f;
    std::vector<float> Yk(size_t(M * N), kSentinel), Yr = Yk;
    iqk.matmul(view<const float>(X.data(), M, K), w, view(Yk.data(), M, N), Epilogue());
    reference::matmul(view<const float>(X.data(), M, K), w, view(Yr.data(), M, N));
    for (size_t i = 0; i < Yk.size(); ++i) {
      ASSERT_EQ(Yk[i], Yr[i]) << "M=" << M << " Y[" << i << "]";
      ASSERT_LE(std::fabs(Yk[i] - (i < size_t(N) ? 1e-38f : 0.0f)), K * kTinyAmax) << "M=" << M << " Y[" << i << "]";
    }
  }
  // lut: matmul(X) == matmul(make_tables(X)) at M >= 4 (it broke there), both table modes.
  for (lut::TableMode mode : {lut::TableMode::kExact, lut::TableMode::kFast}) {
    const lut::LutMatrix lw =
        lut::pack(view<const float>(W.data(), N, K), lut::PackOptions().with_bits(2).with_group(32).with_tables(mode));
    const int64_t M = 20;
    std::vector<float> X(size_t(M * K), 0.0f);
    for (int64_t m = 0; m < M; ++m) X[size_t(m * K + m % K)] = 1e-38f;
    std::vector<float> Y1(size_t(M * N)), Y2(size_t(M * N)), Yr(size_t(M * N));
    const HostView<const float> Xv(X.data(), M, K, K);
    lk.matmul(Xv, lw, view(Y1.data(), M, N), Epilogue());
    lut::Tables t;
    lk.make_tables(Xv, lw.table_spec(), t);
    lk.matmul_tables(t, lw, view(Y2.data(), M, N), Epilogue());
    reference::matmul(Xv, lw, view(Yr.data(), M, N));
    for (size_t i = 0; i < Y1.size(); ++i) {
      ASSERT_TRUE(std::isfinite(Y1[i])) << lut::table_mode_name(mode) << " Y[" << i << "] = " << Y1[i];
      ASSERT_EQ(Y1[i], Y2[i]) << lut::table_mode_name(mode) << " Y[" << i << "]";
      ASSERT_EQ(Y1[i], Yr[i]) << lut::table_mode_name(mode) << " Y[" << i << "]";
    }
  }
}

// Defect 6: the SIMD int8 path said "X holds Inf or NaN"; the reference names the element.
void regress_int8_error_names_element() {
  const IntQuantKernels iqk = int_quant_kernels(ActMode::kInt8);
  const int64_t M = 3, N = 16, K = 64;
  const std::vector<float> W = normal(N * K, 1.0f, 5);
  const iq::QuantizedMatrix w =
      iq::pack(view<const float>(W.data(), N, K), iq::PackOptions().with_group(32).with_act(iq::ActMode::kInt8));
  std::vector<float> X = normal(M * K, 1.0f, 6);
  X[size_t(1 * K + 9)] = std::nanf("");
  std::vector<float> Y(size_t(M * N));
  const HostView<const float> Xv(X.data(), M, K, K);
  const std::string k = error_of([&] { iqk.matmul(Xv, w, view(Y.data(), M, N), Epilogue()); });
  const std::string r = error_of([&] { reference::matmul(Xv, w, view(Y.data(), M, N)); });
  expect_mentions(k, {"X(1,9)=nan", "not finite"});
  EXPECT_EQ(k, r);
  X[size_t(1 * K + 9)] = 1e20f;  // beyond kMaxAbsX
  expect_mentions(error_of([&] { iqk.matmul(Xv, w, view(Y.data(), M, N), Epilogue()); }),
                  {"X(1,9)=1e+20", "too large", "2^64"});
}


// Defect 7: the lut reference formed a plane's weight as `entry << plane`, a left shift
// of a negative table entry (undefined; UBSan: "left shift of negative value"), now a
// multiplication. Exact tables of X <= 0 hold a negative entry at every non-empty
// subset, and 4-bit planes shift by up to 3. On exact data (power-of-two scales,
// integer X with block amax 127) the reference and the kernels agree bit for bit, at
// M = 1 (GEMV), on the GEMM and on the unpacked path. The UBSan stage runs this test.
void regress_lut_reference_shift_of_negative() {
  const LutKernels lk = lut_kernels();
  for (int64_t M : merge_rows({{1, lk.mr_exact, lk.unpacked_rows[4]}})) {
    LutCase c;
    c.m = M;
    c.n = 24;
    c.k = 256;
    c.opt = lut::PackOptions().with_bits(4).with_group(64).with_tables(lut::TableMode::kExact);
    c.data = Data::kExact;
    c.seed = 7;
    LutProblem p = make_problem<LutFamily>(c);
    for (float& x : p.X) x = -std::fabs(x);  // the ld gap stays NaN
    const lut::LutMatrix w = lut::pack(view<const float>(p.W.data(), c.n, c.k), c.opt);
    const HostView<const float> Xv = p.Xv();
    const lut::Tables t = lut::make_tables_reference(Xv, w.table_spec());
    ASSERT_LT(lut::table_value(t, 0, 0, 0, 15), 0) << "precondition: a negative exact-table entry";
    std::vector<float> Yr(size_t(M * c.n)), Yk(Yr.size()), Yt(Yr.size());
    reference::matmul(Xv, w, view(Yr.data(), M, c.n));
    lk.matmul(Xv, w, view(Yk.data(), M, c.n), Epilogue());
    lk.matmul_tables(t, w, view(Yt.data(), M, c.n), Epilogue());
    int64_t nonzero = 0;
    for (size_t i = 0; i < Yr.size(); ++i) {
      nonzero += Yr[i] != 0.0f;
      ASSERT_EQ(0, std::memcmp(&Yr[i], &Yk[i], 4)) << "M=" << M << " Y[" << i << "]: reference " << Yr[i]
                                                   << " matmul(X) " << Yk[i] << " (exact data: bit-exact)";
      ASSERT_EQ(0, std::memcmp(&Yr[i], &Yt[i], 4)) << "M=" << M << " Y[" << i << "]: reference " << Yr[i]
                                                   << " matmul(tables) " << Yt[i] << " (exact data: bit-exact)";
    }
    ASSERT_GT(nonzero, 0) << "M=" << M << ": all-zero output";
  }
}

// Defect 8: non-finite X in int8 / table modes was reported without its place ("X holds
// Inf or NaN"). The message names the element (row and column) and the mode, on the
// GEMV and GEMM paths of int_quant int8 and of lut exact and fast tables (and the
// unpacked exact path), and the rejected call leaves Y as it was.
void regress_nonfinite_x_message() {
  const IntQuantKernels iqk = int_quant_kernels(ActMode::kInt8);
  const LutKernels lk = lut_kernels();
  const int64_t N = 24, K = 128;
  const std::vector<float> W = normal(N * K, 1.0f, 8);
  const iq::QuantizedMatrix wq =
      iq::pack(view<const float>(W.data(), N, K), iq::PackOptions().with_group(32).with_act(iq::ActMode::kInt8));
  const int64_t gemm_m = std::max<int64_t>({iqk.gemm_min_m, lk.mr, lk.mr_exact}) + 1;
  for (int64_t M : merge_rows({{1, gemm_m, lk.unpacked_rows[2] + 1}}))
    for (float bad : {std::nanf(""), -std::numeric_limits<float>::infinity()}) {
      std::vector<float> X = normal(M * K, 1.0f, 9);
      const int64_t r = M - 1, col = 37;
      X[size_t(r * K + col)] = bad;
      const HostView<const float> Xv(X.data(), M, K, K);
      std::vector<float> Y(size_t(M * N), kSentinel);
      SCOPED_TRACE("M=" + std::to_string(M) + " X(" + std::to_string(r) + "," + std::to_string(col) +
                   ")=" + std::to_string(bad));
      expect_mentions(error_keeping_y(Y, [&] { iqk.matmul(Xv, wq, view(Y.data(), M, N), Epilogue()); }),
                      {element(r, col), "not finite", "int8 activation mode"});
      for (lut::TableMode mode : {lut::TableMode::kExact, lut::TableMode::kFast}) {
        SCOPED_TRACE(lut::table_mode_name(mode));
        const lut::LutMatrix wl =
            lut::pack(view<const float>(W.data(), N, K), lut::PackOptions().with_bits(2).with_group(64).with_tables(mode));
        expect_mentions(
            error_keeping_y(Y, [&] { lk.matmul(Xv, wl, view(Y.data(), M, N), Epilogue().with_accumulate()); }),
            {element(r, col), "not finite", "table lookups"});
      }
    }
}

HWY_BEFORE_TEST(Regress);
LSGEMM_PER_TARGET_TEST(Regress, regress_int8_outliers_let_nonfinite_through);
LSGEMM_PER_TARGET_TEST(Regress, regress_float_gemv_extreme_x);
LSGEMM_PER_TARGET_TEST(Regress, regress_tiny_activations_quantized_wrongly);
LSGEMM_PER_TARGET_TEST(Regress, regress_int8_error_names_element);
LSGEMM_PER_TARGET_TEST(Regress, regress_lut_reference_shift_of_negative);
LSGEMM_PER_TARGET_TEST(Regress, regress_nonfinite_x_message);
HWY_AFTER_TEST();

}  // namespace test
}  // namespace lsgemm
HWY_TEST_MAIN();
