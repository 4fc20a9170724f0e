// lut's kernels on every attainable SIMD target, compiled once for the test binaries that
// check them (support/per_target.hpp): lut_kernels() returns the entry points and the
// constants of the target the running test is on.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/lut_kernels.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include "lsgemm/lut/simd-inl.h"
#include "support/lut_tester.hpp"
#include "support/per_target.hpp"

HWY_BEFORE_NAMESPACE();
namespace lsgemm {
namespace test {
namespace HWY_NAMESPACE {
namespace lk = lsgemm::lut::HWY_NAMESPACE;
namespace hn = hwy::HWY_NAMESPACE;

LutKernels MakeLutKernels() {
  LutKernels k;
  k.target = hwy::TargetName(HWY_TARGET);
  k.lanes = std::min<int64_t>(16, int64_t(hn::Lanes(hn::ScalableTag<float>())));
  k.mr = lk::kMR;
  k.mr_exact = lk::kMRExact;
  for (int bits = 1; bits <= 4; ++bits) k.unpacked_rows[bits] = lk::min_rows_unpacked(bits);
  k.table_chunk_bytes = lk::kTableChunkBytes;
  k.m_block = simd::HWY_NAMESPACE::kMBlockU8;  // the unpacked path's u8 skeleton
  k.rules = lk::path_rules();
  k.make_tables = [](HostView<const float> X, const lut::TableSpec& s, lut::Tables& t) { lk::make_tables(X, s, t); };
  k.matmul_tables = [](const lut::Tables& t, const lut::LutMatrix& w, HostView<float> Y, const Epilogue& e) {
    lk::matmul(t, w, Y, e);
  };
  k.matmul = [](HostView<const float> X, const lut::LutMatrix& w, HostView<float> Y, const Epilogue& e) {
    lk::matmul(X, w, Y, e);
  };
  return k;
}

}  // namespace HWY_NAMESPACE
}  // namespace test
}  // namespace lsgemm
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
LSGEMM_TEST_KERNEL_TABLE(LutKernels, lut_kernels, MakeLutKernels, (), ());
#endif
