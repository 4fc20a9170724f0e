// block_fp's kernels on every attainable SIMD target, compiled once for the test binaries
// that check them (support/per_target.hpp): block_fp_kernels(act) returns the entry point
// and the constants of the target the running test is on.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/block_fp_kernels.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include "lsgemm/block_fp/simd-inl.h"
#include "support/block_fp_tester.hpp"
#include "support/per_target.hpp"

HWY_BEFORE_NAMESPACE();
namespace lsgemm {
namespace test {
namespace HWY_NAMESPACE {
namespace bk = lsgemm::block_fp::HWY_NAMESPACE;
namespace sk = lsgemm::simd::HWY_NAMESPACE;

// The register tile and M block are those of the mode under test.
BlockFpKernels MakeBlockFpKernels(ActMode act) {
  BlockFpKernels k;
  k.target = hwy::TargetName(HWY_TARGET);
  k.lanes = int64_t(hwy::HWY_NAMESPACE::Lanes(sk::DF()));
  k.mr = act == ActMode::kFloat ? sk::kMRF32 : sk::kMRU8S8Groups;
  k.gemm_min_m = bk::kGemmMinRows;
  k.m_block = act == ActMode::kFloat ? sk::kMBlockF32 : sk::kMBlockU8;
  k.rules = bk::path_rules();
  k.matmul = [](HostView<const float> X, const BlockFpMatrix& w, HostView<float> Y, const Epilogue& e) {
    bk::matmul(X, w, Y, e);
  };
  return k;
}

}  // namespace HWY_NAMESPACE
}  // namespace test
}  // namespace lsgemm
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
LSGEMM_TEST_KERNEL_TABLE(BlockFpKernels, block_fp_kernels, MakeBlockFpKernels, (ActMode act), (act));
#endif
