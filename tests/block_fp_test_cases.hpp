// The block_fp tests, included by block_fp_float_test.cc and block_fp_int8_test.cc (one
// activation mode each, to keep each binary's run short). Each test runs once per SIMD
// target the binary holds and the CPU runs, on that target's kernels (block_fp_kernels(),
// support/per_target.hpp). The including file defines LSGEMM_TEST_ACT (kFloat or kInt8)
// and LSGEMM_TEST_SUITE.
#include "support/block_fp_tester.hpp"
#include "support/per_target.hpp"

namespace lsgemm {
namespace test {
using block_fp::ActMode;

constexpr ActMode kAct = ActMode::LSGEMM_TEST_ACT;

// Every shape class for one format per code container (4, 6, 8 bits) and NVFP4's scale;
// then every path of this target's rules for the mode under test must have run.
void TestShapeClasses() {
  const BlockFpKernels k = block_fp_kernels(kAct);
  reset_paths_taken();
  std::vector<BfOptions> opts;
  if (kAct == ActMode::kFloat)
    opts = {BfOptions::mx(MxElement::kFp4E2M1), BfOptions::mx(MxElement::kFp6E3M2), BfOptions::mx(MxElement::kFp8E4M3),
            BfOptions::nvfp4(), BfOptions::bfp(5, 64)};
  else
    opts = {BfOptions::mx(MxElement::kFp4E2M1), BfOptions::mx(MxElement::kInt8), BfOptions::nvfp4(),
            BfOptions::bfp(6, 16)};
  uint64_t seed = 1000;
  for (BfOptions o : opts) {
    run_cases<BlockFpFamily>(block_fp_shape_classes(k, o.with_act(kAct), seed), k);
    seed += 100;
    if (::testing::Test::HasFailure()) return;
  }
  // Two M blocks of the GEMM skeleton, the second with remainder tiles (once: it is big).
  BfCase c;
  c.cls = "M=m_block+mr+5";
  c.m = k.m_block + k.mr + 5;
  c.n = 2 * k.lanes + 3;
  c.k = 64;
  c.opt = opts[0].with_act(kAct);
  c.seed = 99;
  run_case<BlockFpFamily>(c, k);
  if (kAct == ActMode::kFloat)
    expect_paths_taken(k.rules, {Path::kBlockFpGemvFloat, Path::kBlockFpGemmFloat, Path::kBlockFpReference}, k.target);
  else
    expect_paths_taken(k.rules, {Path::kBlockFpGemvInt8, Path::kBlockFpGemmInt8, Path::kBlockFpReference}, k.target);
}

// Every format of the mode (each MX element, NVFP4, BFP m = 3..8 and every block) on
// both sides of the GEMV/GEMM switch, with strides and the epilogue's options.
void TestAllFormats() {
  const BlockFpKernels t = block_fp_kernels(kAct);
  uint64_t seed = 7;
  for (const BfOptions& o : block_fp_all_options(kAct))
    for (int64_t m : {int64_t(1), t.gemm_min_m + 5}) {
      BfCase c;
      c.cls = "formats";
      c.m = m;
      c.n = 2 * t.lanes + 3;
      c.k = 200;  // a partial block at the end for every block length
      c.opt = o;
      c.ldx_pad = (seed % 3) * 5;
      c.ldy_pad = (seed % 2) * 3;
      c.bias = seed % 2 == 0;
      c.accumulate = seed % 3 == 1;
      c.alpha = seed % 4 == 3 ? -0.5f : seed % 4 == 2 ? 0.25f : 1.0f;
      c.seed = seed++;
      run_case<BlockFpFamily>(c, t);
      if (::testing::Test::HasFatalFailure()) return;
    }
}

// Data classes: exact (bit for bit in either mode), zero X, zero W, constant, outliers
// (one huge weight per block, the case MX's shared exponent loses the small ones).
void TestDataClasses() {
  const BlockFpKernels t = block_fp_kernels(kAct);
  uint64_t seed = 100;
  for (Data d : {Data::kExact, Data::kZeroX, Data::kZeroW, Data::kConstant, Data::kOutliers})
    for (const BfOptions& o : block_fp_all_options(kAct)) {
      // Exact data is built per block in the natural order; NVFP4's f32 tensor scale is
      // not a power of two.
      if (d == Data::kExact && (o.scheme == Scheme::kNvfp4 || o.order != block_fp::ChannelOrder::kNatural)) continue;
      for (int64_t m : {int64_t(1), t.mr + 2}) {
        BfCase c;
        c.cls = "data";
        c.m = m;
        c.n = 40;
        c.k = 256;
        c.opt = o;
        c.data = d;
        c.seed = seed++;
        run_case<BlockFpFamily>(c, t);
        if (::testing::Test::HasFatalFailure()) return;
      }
    }
}

// Long K (8640 = 270 MX blocks): accumulators and prefetch over many segments.
void TestLongK() {
  const BlockFpKernels t = block_fp_kernels(kAct);
  uint64_t seed = 500;
  for (const BfOptions& o : block_fp_all_options(kAct)) {
    if (o.scheme == Scheme::kBfp && o.mantissa_bits != 8) continue;
    for (int64_t m : {int64_t(1), t.gemm_min_m}) {
      BfCase c;
      c.cls = "K=8640";
      c.m = m;
      c.n = 19;
      c.k = 8640;
      c.opt = o;
      c.seed = seed++;
      run_case<BlockFpFamily>(c, t);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

// Non-finite activations: float mode propagates NaN/Inf like the reference; the W+A
// mode rejects them with an Error naming the element and leaves Y as it was.
void TestNonFinite() {
  const BlockFpKernels t = block_fp_kernels(kAct);
  const int64_t M = 5, N = 24, K = 64;
  std::vector<float> W(size_t(N * K), 0.5f), X(size_t(M * K), 1.0f);
  X[size_t(2 * K + 7)] = std::numeric_limits<float>::quiet_NaN();
  X[size_t(4 * K + 9)] = std::numeric_limits<float>::infinity();
  const BlockFpMatrix w = block_fp::pack(view(W.data(), N, K), BfOptions::mx(MxElement::kFp4E2M1).with_act(kAct));
  for (int64_t m : {int64_t(3), M}) {
    std::vector<float> Y(size_t(M * N), 3.0f), Yr(size_t(M * N), 3.0f);
    const HostView<const float> Xv(X.data(), m, K, K);
    if (kAct == ActMode::kInt8) {
      const std::string msg = error_keeping_y(Y, [&] { t.matmul(Xv, w, view(Y.data(), m, N), Epilogue()); });
      EXPECT_NE(msg.find("X(2,7)"), std::string::npos) << msg;
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

HWY_BEFORE_TEST(LSGEMM_TEST_SUITE);
LSGEMM_PER_TARGET_TEST(LSGEMM_TEST_SUITE, TestShapeClasses);
LSGEMM_PER_TARGET_TEST(LSGEMM_TEST_SUITE, TestAllFormats);
LSGEMM_PER_TARGET_TEST(LSGEMM_TEST_SUITE, TestDataClasses);
LSGEMM_PER_TARGET_TEST(LSGEMM_TEST_SUITE, TestLongK);
LSGEMM_PER_TARGET_TEST(LSGEMM_TEST_SUITE, TestNonFinite);
HWY_AFTER_TEST();
}  // namespace test
}  // namespace lsgemm
HWY_TEST_MAIN();
