// bitmap_sparse kernels on every attainable SIMD target: the shared tester's shape
// classes at every sparsity from 0 % to 100 % with every value type, the data classes, a
// long K, and non-finite and extreme X (support/extreme_x.hpp). Each test runs once per
// target the binary holds and the CPU runs, on that target's kernels
// (bitmap_sparse_kernels(), support/per_target.hpp).
#include <algorithm>

#include "support/bitmap_sparse_tester.hpp"
#include "support/extreme_x.hpp"
#include "support/per_target.hpp"

namespace lsgemm {
namespace test {

using bitmap_sparse::ValueType;

// Every shape class for f32, bf16 and int8 (a scale per row, and per 64 columns) at 80 %
// zeros, and f32 at 0, 30, 50, 95 and 100 %; then every path of this target's rules must
// have run.
void TestShapeClasses() {
  const BitmapSparseKernels k = bitmap_sparse_kernels();
  reset_paths_taken();
  uint64_t seed = 1000;
  for (const BsOptions& o : {bs_options(ValueType::kF32, 0.8), bs_options(ValueType::kBf16, 0.8),
                             bs_options(ValueType::kInt8, 0.8), bs_options(ValueType::kInt8, 0.8, 64),
                             bs_options(ValueType::kF32, 0.0), bs_options(ValueType::kF32, 0.3),
                             bs_options(ValueType::kF32, 0.5), bs_options(ValueType::kF32, 0.95),
                             bs_options(ValueType::kF32, 1.0)}) {
    std::vector<BsCase> cs = bitmap_sparse_shape_classes(k, o, seed);
    if (o.zeros == 1.0)  // no stored value: the zero-W class (its output is the epilogue's alone)
      for (BsCase& c : cs) c.data = Data::kZeroW;
    run_cases<BitmapSparseFamily>(cs, k);
    seed += 100;
    if (::testing::Test::HasFailure()) return;
  }
  expect_paths_taken(k.rules,
                     {Path::kBitmapSparseExpand, Path::kBitmapSparseOuter, Path::kBitmapSparseDensePanel,
                      Path::kBitmapSparseReference},
                     k.target);
}

// Every value type with strides and the epilogue's options at M = 1 and past the outer
// path's first row count, pack's own pruning, then each data class.
void TestOptionsAndData() {
  const BitmapSparseKernels t = bitmap_sparse_kernels();
  uint64_t seed = 7;
  std::vector<BsOptions> opts = {bs_options(ValueType::kF32, 0.7), bs_options(ValueType::kBf16, 0.5),
                                 bs_options(ValueType::kInt8, 0.9), bs_options(ValueType::kInt8, 0.6, 128),
                                 bs_options(ValueType::kInt8, 0.6, 256)};
  BsOptions pruned = bs_options(ValueType::kF32, 0.0);
  pruned.pack.sparsity = 0.85;
  opts.push_back(pruned);
  for (const BsOptions& o : opts)
    for (int64_t m : {int64_t(1), t.gemm_min_rows + 5}) {
      BsCase c;
      c.cls = "options";
      c.m = m;
      c.n = 2 * t.lanes + 3;
      c.k = 203;
      c.opt = o;
      c.ldx_pad = (seed % 3) * 5;
      c.ldy_pad = (seed % 2) * 3;
      c.bias = seed % 2 == 0;
      c.accumulate = seed % 3 == 1;
      c.alpha = seed % 4 == 3 ? -0.5f : seed % 4 == 2 ? 0.25f : 1.0f;
      c.seed = seed++;
      run_case<BitmapSparseFamily>(c, t);
      if (::testing::Test::HasFatalFailure()) return;
    }
  for (Data d : {Data::kExact, Data::kZeroX, Data::kZeroW, Data::kConstant, Data::kOutliers})
    for (const BsOptions& o : opts)
      for (int64_t m : {int64_t(1), t.gemm_min_rows + 1}) {
        if (d == Data::kExact && o.pack.sparsity > 0) continue;  // pruning drops weights: not lossless
        BsCase c;
        c.cls = "data";
        c.m = m;
        c.n = 40;
        c.k = 300;
        c.opt = o;
        c.data = d;
        c.seed = seed++;
        run_case<BitmapSparseFamily>(c, t);
        if (::testing::Test::HasFatalFailure()) return;
      }
}

// Long K (8640): many chunks, K steps and int8 groups.
void TestLongK() {
  const BitmapSparseKernels t = bitmap_sparse_kernels();
  uint64_t seed = 500;
  for (const BsOptions& o :
       {bs_options(ValueType::kF32, 0.8), bs_options(ValueType::kBf16, 0.95), bs_options(ValueType::kInt8, 0.5, 256)})
    for (int64_t m : {int64_t(1), t.gemm_min_rows + 2}) {
      BsCase c;
      c.cls = "K=8640";
      c.m = m;
      c.n = 19;
      c.k = 8640;
      c.opt = o;
      c.seed = seed++;
      run_case<BitmapSparseFamily>(c, t);
      if (::testing::Test::HasFatalFailure()) return;
    }
}

// Non-finite and extreme X (support/extreme_x.hpp): the kernel shows the reference's
// behaviour, which multiplies the stored values only: a NaN or an infinity at a column a
// row does not store reaches nothing of that row, at a stored one IEEE propagation. Where
// the target has the dense-panel path, a finite X at 20 % sparsity takes it and an X with
// an infinity does not (its zeros would meet the infinity).
void TestExtremeX() {
  const BitmapSparseKernels kern = bitmap_sparse_kernels();
  const int64_t N = 37, K = 256;
  std::vector<float> W(size_t(N * K));
  std::mt19937_64 rng(9);
  for (float& v : W) v = std::normal_distribution<float>(0.0f, 1.0f)(rng);
  // 80 %: the expand and outer paths; 20 %: the dense panel where the target has it, whose
  // zeros must not meet a non-finite x (it hands such X to the outer path).
  for (double sparsity : {0.8, 0.2})
  for (ValueType vt : {ValueType::kF32, ValueType::kBf16, ValueType::kInt8}) {
    const BitmapSparseMatrix w = bitmap_sparse::pack(view<const float>(W.data(), N, K),
                                                     bitmap_sparse::PackOptions().with_values(vt).with_sparsity(sparsity));
    for (XClass cls : xclasses())
      for (int64_t M : {int64_t(1), int64_t(3), kern.gemm_min_rows, kern.gemm_min_rows + 7}) {
        expect_extreme_case(
            std::string(kern.target) + " bitmap_sparse " + bitmap_sparse::value_type_name(vt) + " sparsity " +
                std::to_string(sparsity) +
                ", X: " + xclass_name(cls) + ", M=" + std::to_string(M),
            make_x(cls, M, K, uint64_t(M) * 17 + 3), M, K, N,
            [&](HostView<const float> X, HostView<float> Y) { reference::matmul(X, w, Y); },
            [&](HostView<const float> X, HostView<float> Y) { kern.matmul(X, w, Y, Epilogue()); },
            [&](HostView<const float> X) { return reference::matmul_magnitude(X, w); }, double(w.kp()) + 9.0);
        if (::testing::Test::HasFatalFailure()) return;
      }
  }
  const bool has_panel = std::any_of(kern.rules.begin(), kern.rules.end(),
                                     [](const PathRule& r) { return r.path == Path::kBitmapSparseDensePanel; });
  if (!has_panel) return;
  const BitmapSparseMatrix w =
      bitmap_sparse::pack(view<const float>(W.data(), N, K), bitmap_sparse::PackOptions().with_sparsity(0.2));
  const int64_t M = kern.gemm_min_rows;
  std::vector<float> X(size_t(M * K), 0.5f), Y(size_t(M * N));
  for (bool inf : {false, true}) {
    X[size_t(K + 7)] = inf ? kInf : 0.5f;
    reset_paths_taken();
    kern.matmul(view<const float>(X.data(), M, K), w, view(Y.data(), M, N), Epilogue());
    EXPECT_EQ(path_taken(Path::kBitmapSparseDensePanel), !inf)
        << kern.target << ": the dense panel " << (inf ? "ran on an X with an infinity" : "did not run");
  }
}

HWY_BEFORE_TEST(BitmapSparse);
LSGEMM_PER_TARGET_TEST(BitmapSparse, TestShapeClasses);
LSGEMM_PER_TARGET_TEST(BitmapSparse, TestOptionsAndData);
LSGEMM_PER_TARGET_TEST(BitmapSparse, TestLongK);
LSGEMM_PER_TARGET_TEST(BitmapSparse, TestExtremeX);
HWY_AFTER_TEST();
}  // namespace test
}  // namespace lsgemm
HWY_TEST_MAIN();
