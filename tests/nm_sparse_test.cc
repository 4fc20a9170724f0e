// nm_sparse kernels on every attainable SIMD target: the shared tester's shape classes,
// every pattern and value type, the data classes, a long K and non-finite X. foreach_target.h
// re-includes this file once per attainable target; HWY_EXPORT_AND_TEST_P registers each
// function once per target the CPU supports.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "nm_sparse_test.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>
#include <hwy/tests/hwy_gtest.h>

#include "lsgemm/nm_sparse/simd-inl.h"
#include "support/error_of.hpp"
#include "support/nm_sparse_tester.hpp"

HWY_BEFORE_NAMESPACE();
namespace lsgemm {
namespace test {
namespace HWY_NAMESPACE {
namespace nk = lsgemm::nm_sparse::HWY_NAMESPACE;

// The kernel and the constants of this target.
inline NmSparseKernels kernels() {
  NmSparseKernels k;
  k.target = hwy::TargetName(HWY_TARGET);
  k.lanes = int64_t(hwy::HWY_NAMESPACE::Lanes(simd::HWY_NAMESPACE::DF()));
  k.mr = nk::kMRGather;
  k.m_block = simd::HWY_NAMESPACE::kMBlockF32;  // no M blocks: the shape class still crosses 240 rows
  k.rules = nk::path_rules();
  k.matmul = [](HostView<const float> X, const NmSparseMatrix& w, HostView<float> Y, const Epilogue& e) {
    nk::matmul(X, w, Y, e);
  };
  return k;
}

// Every shape class for 2:4 and 2:8 (f32), 1:4 (bf16), 2:4 int4 g128 and 4:8 int8 g64,
// with float and with int8 activations (and 3:8 int8, whose index word holds no whole
// quads: the gather tile); then every path of this target's rules must have run.
void TestShapeClasses() {
  const NmSparseKernels k = kernels();
  reset_paths_taken();
  uint64_t seed = 1000;
  for (const NmOptions& o : {NmOptions{}, NmOptions{}.with_pattern(2, 8),
                             NmOptions{}.with_pattern(1, 4).with_values(nm_sparse::ValueType::kBf16),
                             NmOptions{}.with_values(nm_sparse::ValueType::kInt4),
                             NmOptions{}.with_pattern(4, 8).with_values(nm_sparse::ValueType::kInt8).with_group(64),
                             NmOptions{}.with_values(nm_sparse::ValueType::kInt4).with_act(nm_sparse::ActMode::kInt8),
                             NmOptions{}
                                 .with_pattern(4, 8)
                                 .with_values(nm_sparse::ValueType::kInt8)
                                 .with_group(64)
                                 .with_act(nm_sparse::ActMode::kInt8),
                             NmOptions{}
                                 .with_pattern(3, 8)
                                 .with_values(nm_sparse::ValueType::kInt8)
                                 .with_act(nm_sparse::ActMode::kInt8)}) {
    run_cases<NmSparseFamily>(nm_sparse_shape_classes(k, o, seed), k);
    seed += 100;
    if (::testing::Test::HasFailure()) return;
  }
  // Two M blocks of the GEMM skeleton, the second with remainder tiles (once: it is big).
  NmCase c;
  c.cls = "M=m_block+mr+5";
  c.m = k.m_block + k.mr + 5;
  c.n = 2 * k.lanes + 3;
  c.k = 64;
  c.seed = 99;
  run_case<NmSparseFamily>(c, k);
  expect_paths_taken(k.rules, {Path::kNmSparseGather, Path::kNmSparseQuadDot, Path::kNmSparseReference}, k.target);
}

// Every pattern and value type at M = 1 and M = 13, with strides and the epilogue's
// options; then each data class.
void TestAllPatterns() {
  const NmSparseKernels t = kernels();
  uint64_t seed = 7;
  for (const NmOptions& o : nm_sparse_all_options())
    for (int64_t m : {int64_t(1), int64_t(13)}) {
      NmCase c;
      c.cls = "patterns";
      c.m = m;
      c.n = 2 * t.lanes + 3;
      c.k = 203;  // a partial run and a partial index word
      c.opt = o;
      c.ldx_pad = (seed % 3) * 5;
      c.ldy_pad = (seed % 2) * 3;
      c.bias = seed % 2 == 0;
      c.accumulate = seed % 3 == 1;
      c.alpha = seed % 4 == 3 ? -0.5f : seed % 4 == 2 ? 0.25f : 1.0f;
      c.seed = seed++;
      run_case<NmSparseFamily>(c, t);
      if (::testing::Test::HasFatalFailure()) return;
    }
  for (Data d : {Data::kExact, Data::kZeroX, Data::kZeroW, Data::kConstant, Data::kOutliers})
    for (const NmOptions& o : nm_sparse_all_options()) {
      NmCase c;
      c.cls = "data";
      c.m = seed % 2 ? 1 : t.mr + 2;
      c.n = 40;
      c.k = 256;
      c.opt = o;
      c.data = d;
      c.seed = seed++;
      run_case<NmSparseFamily>(c, t);
      if (::testing::Test::HasFatalFailure()) return;
    }
}

// Long K (8640): accumulation over many chunks.
void TestLongK() {
  const NmSparseKernels t = kernels();
  uint64_t seed = 500;
  for (const NmOptions& o : {NmOptions{}, NmOptions{}.with_pattern(4, 8).with_values(nm_sparse::ValueType::kBf16),
                             NmOptions{}.with_values(nm_sparse::ValueType::kInt4).with_group(256),
                             NmOptions{}.with_values(nm_sparse::ValueType::kInt8).with_act(nm_sparse::ActMode::kInt8)})
    for (int64_t m : {int64_t(1), int64_t(6)}) {
      NmCase c;
      c.cls = "K=8640";
      c.m = m;
      c.n = 19;
      c.k = 8640;
      c.opt = o;
      c.seed = seed++;
      run_case<NmSparseFamily>(c, t);
      if (::testing::Test::HasFatalFailure()) return;
    }
}

// Non-finite and extreme X: the kernel shows the reference's behaviour per output (NaN
// where it has NaN, the same infinity, else within the tester's rounding bound). The
// reference multiplies the stored slots only (fillers included, whose value 0 times a
// NaN or an infinity is NaN): a NaN at a pruned column of a row reaches nothing.
void TestNonFinite() {
  const int64_t N = 37, K = 203;
  std::vector<float> W(size_t(N * K));
  std::mt19937_64 rng(9);
  for (float& v : W) v = std::normal_distribution<float>(0.0f, 1.0f)(rng);
  const NmSparseKernels k = kernels();
  for (const NmOptions& o : {NmOptions{}, NmOptions{}.with_pattern(1, 8).with_values(nm_sparse::ValueType::kInt4)}) {
    const NmSparseMatrix w = nm_sparse::pack(view<const float>(W.data(), N, K), o);
    for (int cls = 0; cls < 4; ++cls)
      for (int64_t M : {int64_t(1), int64_t(2 * k.mr + 1)}) {
        std::vector<float> X(size_t(M * K));
        for (float& v : X) v = std::normal_distribution<float>(0.0f, 1.0f)(rng);
        const float inf = std::numeric_limits<float>::infinity();
        switch (cls) {
          case 0: X[size_t((M - 1) * K + 9)] = inf; break;
          case 1: X[size_t(K - 1)] = -inf; break;
          case 2: X[size_t((M / 2) * K + 9)] = std::nanf(""); break;
          default: for (float& v : X) v *= 1e30f;  // huge x, finite products
        }
        const HostView<const float> Xv(X.data(), M, K, K);
        std::vector<float> Y(size_t(M * N)), Yr(size_t(M * N));
        k.matmul(Xv, w, view(Y.data(), M, N), {});
        reference::matmul(Xv, w, view(Yr.data(), M, N));
        const std::vector<double> mag = reference::matmul_magnitude(Xv, w);
        for (size_t i = 0; i < Y.size(); ++i) {
          SCOPED_TRACE(std::string(k.target) + " class " + std::to_string(cls) + " M=" + std::to_string(M) + " " +
                       NmSparseFamily::describe_options(o) + " output " + std::to_string(i));
          if (std::isnan(Yr[i])) {
            ASSERT_TRUE(std::isnan(Y[i])) << Y[i];
          } else if (std::isinf(Yr[i])) {
            ASSERT_EQ(Y[i], Yr[i]);
          } else {
            ASSERT_TRUE(std::isfinite(Y[i])) << Y[i];
            ASSERT_LE(std::fabs(double(Y[i]) - double(Yr[i])), (double(w.kp) + 8.0) * double(FLT_EPSILON) * mag[i]);
          }
        }
      }
  }
  // Int8 activations take finite X with |x| <= 2^64 only: an error naming the element,
  // Y untouched, for each kind of value and position (a vector lane and the tail).
  const NmSparseMatrix w8 = nm_sparse::pack(
      view<const float>(W.data(), N, K),
      NmOptions{}.with_values(nm_sparse::ValueType::kInt4).with_act(nm_sparse::ActMode::kInt8));
  for (int64_t col : {int64_t(0), int64_t(17), K - 1})
    for (float bad : {std::numeric_limits<float>::infinity(), std::nanf(""), 0x1p70f}) {
      const int64_t M = 3;
      std::vector<float> X(size_t(M * K), 0.5f), Y(size_t(M * N), 7.0f);
      X[size_t(2 * K + col)] = bad;
      const std::string msg = error_of([&] { k.matmul(view<const float>(X.data(), M, K), w8, view(Y.data(), M, N), {}); });
      SCOPED_TRACE(std::string(k.target) + " X(2," + std::to_string(col) + ")=" + std::to_string(bad));
      for (const std::string& part : {"X(2," + std::to_string(col) + ")", std::string("int8 activation mode")})
        EXPECT_NE(msg.find(part), std::string::npos) << "message: " << msg << "\nmissing: " << part;
      for (float v : Y) ASSERT_EQ(v, 7.0f);
    }
}

}  // namespace HWY_NAMESPACE
}  // namespace test
}  // namespace lsgemm
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lsgemm {
namespace test {
HWY_BEFORE_TEST(NmSparse);
HWY_EXPORT_AND_TEST_P(NmSparse, TestShapeClasses);
HWY_EXPORT_AND_TEST_P(NmSparse, TestAllPatterns);
HWY_EXPORT_AND_TEST_P(NmSparse, TestLongK);
HWY_EXPORT_AND_TEST_P(NmSparse, TestNonFinite);
HWY_AFTER_TEST();
}  // namespace test
}  // namespace lsgemm
HWY_TEST_MAIN();
#endif
