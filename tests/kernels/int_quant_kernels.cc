// int_quant's kernels on every attainable SIMD target, compiled once for the test binaries
// that check them (support/per_target.hpp): int_quant_kernels(act) returns the entry point
// and the constants of the target the running test is on.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/int_quant_kernels.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include "lsgemm/int_quant/simd-inl.h"
#include "support/int_quant_tester.hpp"
#include "support/per_target.hpp"

HWY_BEFORE_NAMESPACE();
namespace lsgemm {
namespace test {
namespace HWY_NAMESPACE {
namespace iq = lsgemm::int_quant::HWY_NAMESPACE;
namespace sk = lsgemm::simd::HWY_NAMESPACE;

// The register tile and M block are those of the mode under test (f32 tiles for float X,
// u8 x s8 tiles for int8 X).
IntQuantKernels MakeIntQuantKernels(ActMode act) {
  IntQuantKernels k;
  k.target = hwy::TargetName(HWY_TARGET);
  k.lanes = int64_t(hwy::HWY_NAMESPACE::Lanes(sk::DF()));
  k.mr = act == ActMode::kFloat ? sk::kMRF32 : sk::kMRU8S8;
  k.gemm_min_m = iq::kGemmMinRows;
  k.chunk = iq::kChunk;
  k.m_block = act == ActMode::kFloat ? sk::kMBlockF32 : sk::kMBlockU8;
  k.rules = iq::path_rules();
  k.matmul = [](HostView<const float> X, const QuantizedMatrix& w, HostView<float> Y, const Epilogue& e) {
    iq::matmul(X, w, Y, e);
  };
  return k;
}

}  // namespace HWY_NAMESPACE
}  // namespace test
}  // namespace lsgemm
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
LSGEMM_TEST_KERNEL_TABLE(IntQuantKernels, int_quant_kernels, MakeIntQuantKernels, (ActMode act), (act));
#endif
