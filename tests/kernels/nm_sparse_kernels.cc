// nm_sparse's kernels on every attainable SIMD target, compiled once for the test binaries
// that check them (support/per_target.hpp): nm_sparse_kernels() returns the entry point
// and the constants of the target the running test is on.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/nm_sparse_kernels.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include "lsgemm/nm_sparse/simd-inl.h"
#include "support/nm_sparse_tester.hpp"
#include "support/per_target.hpp"

HWY_BEFORE_NAMESPACE();
namespace lsgemm {
namespace test {
namespace HWY_NAMESPACE {
namespace nk = lsgemm::nm_sparse::HWY_NAMESPACE;
namespace sk = lsgemm::simd::HWY_NAMESPACE;

NmSparseKernels MakeNmSparseKernels() {
  NmSparseKernels k;
  k.target = hwy::TargetName(HWY_TARGET);
  k.lanes = int64_t(hwy::HWY_NAMESPACE::Lanes(sk::DF()));
  k.mr = nk::kMRGather;
  k.m_block = sk::kMBlockF32;  // no M blocks: the shape class still crosses 240 rows
  k.rules = nk::path_rules();
  k.matmul = [](HostView<const float> X, const NmSparseMatrix& w, HostView<float> Y, const Epilogue& e) {
    nk::matmul(X, w, Y, e);
  };
  return k;
}

}  // namespace HWY_NAMESPACE
}  // namespace test
}  // namespace lsgemm
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
LSGEMM_TEST_KERNEL_TABLE(NmSparseKernels, nm_sparse_kernels, MakeNmSparseKernels, (), ());
#endif
