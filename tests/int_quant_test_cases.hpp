// The int_quant tests, included by int_quant_float_test.cc and int_quant_int8_test.cc
// (one activation mode each, to keep each binary's run short). Each test runs once per
// SIMD target the binary holds and the CPU runs, on that target's kernels
// (int_quant_kernels(), support/per_target.hpp). The including file defines
// LSGEMM_TEST_ACT (kFloat or kInt8), LSGEMM_TEST_INT8 and LSGEMM_TEST_SUITE.
#include "support/int_quant_tester.hpp"
#include "support/per_target.hpp"

namespace lsgemm {
namespace test {

constexpr ActMode kAct = ActMode::LSGEMM_TEST_ACT;

// Every shape class, bits 2, 4, 8; then every path of this target's rules for the mode
// under test must have run (on a target without kernels: the reference).
void TestShapeClasses() {
  const IntQuantKernels k = int_quant_kernels(kAct);
  reset_paths_taken();
  for (int bits : {2, 4, 8}) {
    run_cases<IntQuantFamily>(int_quant_shape_classes(k, kAct, bits), k);
    if (::testing::Test::HasFailure()) return;
  }
  if (kAct == ActMode::kFloat)
    expect_paths_taken(k.rules, {Path::kIntQuantGemvFloat, Path::kIntQuantGemmFloat, Path::kIntQuantReference},
                       k.target);
  else
    expect_paths_taken(k.rules,
                       {Path::kIntQuantGemvInt8, Path::kIntQuantGemmInt8, Path::kIntQuantOutliers,
                        Path::kIntQuantReference},
                       k.target);
}

// Format and call options: groups, symmetric, strides, bias, accumulate.
void TestOptions() {
  const IntQuantKernels t = int_quant_kernels(kAct);
  uint64_t seed = 7;
  for (int bits : {2, 4, 8})
    for (int group : {32, 64, 128, 256, 0})
      for (bool sym : {false, true})
        for (int64_t m : {int64_t(1), t.gemm_min_m + 5}) {
          IqCase c;
          c.cls = "options";
          c.m = m;
          c.n = 2 * t.lanes + 3;
          c.k = 512;
          c.opt.bits = bits;
          c.opt.group = group;
          c.opt.symmetric = sym;
          c.opt.act = kAct;
          c.ldx_pad = (seed % 3) * 5;
          c.ldy_pad = (seed % 2) * 3;
          c.bias = seed % 2 == 0;
          c.accumulate = seed % 3 == 1;
          c.alpha = seed % 4 == 3 ? -0.5f : seed % 4 == 2 ? 0.25f : 1.0f;  // Epilogue::alpha
          c.seed = seed++;
          run_case<IntQuantFamily>(c, t);
          if (::testing::Test::HasFatalFailure()) return;
        }
}

// Data classes. "exact": power-of-two scales, integer X with group amax 127, so every
// intermediate is exact in f32 and the kernel must match the reference bit for bit.
void TestDataClasses() {
  const IntQuantKernels t = int_quant_kernels(kAct);
  uint64_t seed = 100;
  for (Data d : {Data::kExact, Data::kZeroX, Data::kZeroW, Data::kConstant, Data::kOutliers})
    for (int bits : {2, 4, 8})
      for (bool sym : {false, true})
        for (int64_t m : {int64_t(1), int64_t(3), t.mr + 2}) {
          IqCase c;
          c.cls = "data";
          c.m = m;
          c.n = 40;
          c.k = 256;
          c.opt.bits = bits;
          c.opt.group = 64;
          c.opt.symmetric = sym;
          c.opt.act = kAct;
          c.data = d;
          c.seed = seed++;
          run_case<IntQuantFamily>(c, t);
          if (::testing::Test::HasFatalFailure()) return;
        }
}

// Non-finite activations: float mode propagates NaN/Inf like the reference; int8 mode
// rejects them with an Error and leaves Y bit for bit as it was.
void TestNonFinite() {
  const IntQuantKernels t = int_quant_kernels(kAct);
  const int64_t M = 5, N = 24, K = 64;
  std::vector<float> W(size_t(N * K), 0.5f), X(size_t(M * K), 1.0f);
  X[size_t(2 * K + 7)] = std::numeric_limits<float>::quiet_NaN();
  X[size_t(4 * K + 9)] = std::numeric_limits<float>::infinity();
  PackOptions o;
  o.group = 32;
  o.act = kAct;
  const QuantizedMatrix w = int_quant::pack(view(W.data(), N, K), o);
  for (int64_t m : {int64_t(1), M}) {
    std::vector<float> Y(size_t(M * N), 3.0f), Yr(size_t(M * N), 3.0f);
    const HostView<const float> Xv(X.data(), m, K, K);
    if (kAct == ActMode::kInt8) {
      if (m == 1) continue;
      const std::string msg = error_keeping_y(Y, [&] { t.matmul(Xv, w, view(Y.data(), m, N), Epilogue()); });
      EXPECT_NE(msg.find("not finite"), std::string::npos) << msg;
    } else {
      t.matmul(Xv, w, view(Y.data(), m, N), Epilogue());
      reference::matmul(Xv, w, view(Yr.data(), m, N));
      for (size_t i = 0; i < size_t(m * N); ++i) {
        ASSERT_EQ(std::isnan(Y[i]), std::isnan(Yr[i])) << "at " << i;
        ASSERT_EQ(std::isinf(Y[i]), std::isinf(Yr[i])) << "at " << i;
        if (std::isfinite(Y[i])) {
          ASSERT_NEAR(Y[i], Yr[i], 1e-3 * std::fabs(Yr[i]) + 1e-3) << "at " << i;
        }
      }
    }
  }
}

#if LSGEMM_TEST_INT8
// W8A8: 8-bit per-channel symmetric weights, per-token int8 activations.
void TestW8A8() {
  const IntQuantKernels t = int_quant_kernels(kAct);
  uint64_t seed = 300;
  for (int64_t m : {int64_t(1), int64_t(2), t.gemm_min_m, t.mr * 3 + 1})
    for (int64_t k : {int64_t(64), int64_t(1000), int64_t(4096)}) {
      IqCase c;
      c.cls = "w8a8";
      c.m = m;
      c.n = 50;
      c.k = k;
      c.opt = PackOptions().with_bits(8).with_group(0).with_symmetric(true).with_act(ActMode::kInt8);
      c.seed = seed++;
      run_case<IntQuantFamily>(c, t);
      if (::testing::Test::HasFatalFailure()) return;
    }
}

// LLM.int8() outliers: columns above the threshold go through the float path.
void TestOutliers() {
  const IntQuantKernels t = int_quant_kernels(kAct);
  uint64_t seed = 400;
  for (int bits : {4, 8})
    for (int group : {64, 0})
      for (int64_t m : {int64_t(1), t.mr + 3}) {
        IqCase c;
        c.cls = "outliers";
        c.m = m;
        c.n = 37;
        c.k = 384;
        c.opt = PackOptions().with_bits(bits).with_group(group).with_act(ActMode::kInt8).with_outliers(6.0f);
        c.data = Data::kOutliers;
        c.seed = seed++;
        run_case<IntQuantFamily>(c, t);
        if (::testing::Test::HasFatalFailure()) return;
      }
}

// Accumulator headroom: K = 65536 (the int8-mode maximum), every code 255 and every
// activation 127: the int32 group sum is 255 * 127 * 65536 = 2,122,383,360, just under
// 2^31. Any 16-bit intermediate or a wrap shows up as a gross error.
void TestBigKHeadroom() {
  const IntQuantKernels t = int_quant_kernels(kAct);
  const int64_t K = int_quant::kMaxK, N = 16;
  for (int64_t M : {int64_t(1), t.gemm_min_m}) {
    std::vector<float> W(size_t(N * K), 1.0f), X(size_t(M * K), 127.0f);
    const QuantizedMatrix w = int_quant::pack(view(W.data(), N, K),
                                              PackOptions().with_bits(8).with_group(0).with_act(ActMode::kInt8));
    ASSERT_EQ(w.code(0, 0), 255);
    std::vector<float> Y(size_t(M * N)), Yr(size_t(M * N));
    t.matmul(view<const float>(X.data(), M, K), w, view(Y.data(), M, N), Epilogue());
    reference::matmul(view<const float>(X.data(), M, K), w, view(Yr.data(), M, N));
    for (size_t i = 0; i < Y.size(); ++i) {
      ASSERT_GT(Yr[i], 1e6f);
      ASSERT_NEAR(Y[i], Yr[i], 16 * FLT_EPSILON * std::fabs(Yr[i])) << "M=" << M << " at " << i;
    }
  }
}
#endif

HWY_BEFORE_TEST(LSGEMM_TEST_SUITE);
LSGEMM_PER_TARGET_TEST(LSGEMM_TEST_SUITE, TestShapeClasses);
LSGEMM_PER_TARGET_TEST(LSGEMM_TEST_SUITE, TestOptions);
LSGEMM_PER_TARGET_TEST(LSGEMM_TEST_SUITE, TestDataClasses);
LSGEMM_PER_TARGET_TEST(LSGEMM_TEST_SUITE, TestNonFinite);
#if LSGEMM_TEST_INT8
LSGEMM_PER_TARGET_TEST(LSGEMM_TEST_SUITE, TestW8A8);
LSGEMM_PER_TARGET_TEST(LSGEMM_TEST_SUITE, TestOutliers);
LSGEMM_PER_TARGET_TEST(LSGEMM_TEST_SUITE, TestBigKHeadroom);
#endif
HWY_AFTER_TEST();
}  // namespace test
}  // namespace lsgemm
HWY_TEST_MAIN();
