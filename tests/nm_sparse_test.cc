// nm_sparse kernels on every attainable SIMD target: the shared tester's shape classes,
// every pattern and value type, the data classes, a long K, and non-finite and extreme X
// (the classes and comparison of extreme_x_test, support/extreme_x.hpp). Each test runs
// once per target the binary holds and the CPU runs, on that target's kernels
// (nm_sparse_kernels(), support/per_target.hpp).
#include "support/extreme_x.hpp"
#include "support/nm_sparse_tester.hpp"
#include "support/per_target.hpp"

namespace lsgemm {
namespace test {

// Every shape class for 2:4 and 2:8 (f32), 1:4 (bf16), 2:4 int4 g128 and 4:8 int8 g64,
// with float and with int8 activations (and 3:8 int8, whose index word holds no whole
// quads: the gather tile); then every path of this target's rules must have run.
void TestShapeClasses() {
  const NmSparseKernels k = nm_sparse_kernels();
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
  const NmSparseKernels t = nm_sparse_kernels();
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
  const NmSparseKernels t = nm_sparse_kernels();
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

// Non-finite and extreme X (support/extreme_x.hpp): the kernel shows the reference's
// behaviour. The reference multiplies the stored slots only (fillers included, whose
// value 0 times a NaN or an infinity is NaN), so a NaN at a pruned column of a row
// reaches nothing; int8 activations reject non-finite and too large X as int_quant's.
// Rows: M = 1 and 3, past the quad-dot tile (its pre-pass) and past the gather tile
// (the per-task decode), with remainder tiles.
void TestExtremeX() {
  const NmSparseKernels kern = nm_sparse_kernels();
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
    const NmSparseMatrix w = nm_sparse::pack(view<const float>(W.data(), N, K), md.opt);
    for (XClass cls : xclasses())
      for (int64_t M : {int64_t(1), int64_t(3), int64_t(5), int64_t(kern.mr + 7)}) {
        // The tester's bound.
        expect_extreme_case(
            std::string(kern.target) + " nm_sparse " + md.name + ", X: " + xclass_name(cls) +
                ", M=" + std::to_string(M),
            make_x(cls, M, K, uint64_t(M) * 17 + 3), M, K, N,
            [&](HostView<const float> X, HostView<float> Y) { reference::matmul(X, w, Y); },
            [&](HostView<const float> X, HostView<float> Y) { kern.matmul(X, w, Y, Epilogue()); },
            [&](HostView<const float> X) { return reference::matmul_magnitude(X, w); },
            double(w.act == ActMode::kInt8 ? w.groups() : w.kp) + 8.0);
        if (::testing::Test::HasFatalFailure()) return;
      }
  }
}

HWY_BEFORE_TEST(NmSparse);
LSGEMM_PER_TARGET_TEST(NmSparse, TestShapeClasses);
LSGEMM_PER_TARGET_TEST(NmSparse, TestAllPatterns);
LSGEMM_PER_TARGET_TEST(NmSparse, TestLongK);
LSGEMM_PER_TARGET_TEST(NmSparse, TestExtremeX);
HWY_AFTER_TEST();
}  // namespace test
}  // namespace lsgemm
HWY_TEST_MAIN();
