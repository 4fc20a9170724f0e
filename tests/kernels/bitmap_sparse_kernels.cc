// bitmap_sparse's kernels on every attainable SIMD target, compiled once for the test
// binaries that check them (support/per_target.hpp): bitmap_sparse_kernels() returns the
// entry point and the constants of the target the running test is on.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/bitmap_sparse_kernels.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include "lsgemm/bitmap_sparse/simd-inl.h"
#include "support/bitmap_sparse_tester.hpp"
#include "support/per_target.hpp"

HWY_BEFORE_NAMESPACE();
namespace lsgemm {
namespace test {
namespace HWY_NAMESPACE {
namespace bk = lsgemm::bitmap_sparse::HWY_NAMESPACE;
namespace sk = lsgemm::simd::HWY_NAMESPACE;

BitmapSparseKernels MakeBitmapSparseKernels() {
  BitmapSparseKernels k;
  k.target = hwy::TargetName(HWY_TARGET);
  k.lanes = int64_t(hwy::HWY_NAMESPACE::Lanes(sk::DF()));
  k.gemm_min_rows = bk::kGemmMinRows;
  k.rules = bk::path_rules();
  k.matmul = [](HostView<const float> X, const BitmapSparseMatrix& w, HostView<float> Y, const Epilogue& e) {
    bk::matmul(X, w, Y, e);
  };
  return k;
}

}  // namespace HWY_NAMESPACE
}  // namespace test
}  // namespace lsgemm
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
LSGEMM_TEST_KERNEL_TABLE(BitmapSparseKernels, bitmap_sparse_kernels, MakeBitmapSparseKernels, (), ());
#endif
