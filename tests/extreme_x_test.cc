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
// Families: int_quant, lut (nm_sparse: nm_sparse_test, with the same classes and
// comparison from support/extreme_x.hpp). Each test runs once per target the binary holds
// and the CPU runs, on that target's kernels (support/per_target.hpp).
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
#include "support/extreme_x.hpp"
#include "support/int_quant_tester.hpp"
#include "support/lut_tester.hpp"
#include "support/per_target.hpp"

namespace lsgemm {
namespace test {

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
        // The int_quant tester's bound: kp products + 2 per group + 8, outliers K more.
        expect_extreme_case(
            std::string("int_quant ") + md.name + ", X: " + xclass_name(cls) + ", M=" + std::to_string(M),
            make_x(cls, M, K, uint64_t(M) * 31 + 7), M, K, N,
            [&](HostView<const float> X, HostView<float> Y) { reference::matmul(X, w, Y); },
            [&](HostView<const float> X, HostView<float> Y) { kernel(X, w, Y); },
            [&](HostView<const float> X) { return reference::matmul_magnitude(X, w); },
            double(w.kp) + 2.0 * double(w.groups()) + 8.0 + double(K));
        if (::testing::Test::HasFatalFailure()) return;
      }
  }
}

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
        const std::string km = message_of([&] { kern.matmul(Xv, w, view(Yk.data(), M, N), Epilogue()); });
        lut::Tables tk;
        const std::string tm = message_of([&] { kern.make_tables(Xv, w.table_spec(), tk); });
        ASSERT_EQ(tm, rm) << what << ": make_tables must throw as the reference does";
        std::vector<double> tol(Yr.size(), 0.0);
        if (rm.empty()) {
          kern.matmul_tables(tk, w, view(Yt.data(), M, N), Epilogue());
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

// M = 1 and 3 (GEMV), the GEMM switch, one full f32/u8 tile and a tail, and (lut) the
// unpacked crossovers of 2- and 1-bit planes.
void TestIntQuantExtremeX() {
  const IntQuantKernels k = int_quant_kernels(ActMode::kInt8);
  const int64_t g = k.gemm_min_m;
  check_int_quant([&](HostView<const float> X, const int_quant::QuantizedMatrix& w,
                      HostView<float> Y) { k.matmul(X, w, Y, Epilogue()); },
                  {1, 3, g, g + 13});
}

void TestLutExtremeX() {
  const LutKernels k = lut_kernels();
  check_lut(k, {1, 3, 9, k.unpacked_rows[2], k.unpacked_rows[1] + 1});
}

HWY_BEFORE_TEST(ExtremeX);
LSGEMM_PER_TARGET_TEST(ExtremeX, TestIntQuantExtremeX);
LSGEMM_PER_TARGET_TEST(ExtremeX, TestLutExtremeX);
HWY_AFTER_TEST();
}  // namespace test
}  // namespace lsgemm
HWY_TEST_MAIN();
