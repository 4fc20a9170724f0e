// No compiled SIMD target routes to the reference: on every target this binary holds
// (HWY_COMPILE_ALL_ATTAINABLE: on x86 AVX3_ZEN4 ... SSE2, on Arm NEON, SVE, SVE2,
// SVE_256, SVE2_128, ...), every path rule of every family names a kernel, except on
// HWY_SCALAR and HWY_EMU128, which may run the reference (DESIGN §4). The family
// testers then check, per target and shape class, that those kernel paths ran.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "targets_test.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>
#include <hwy/tests/hwy_gtest.h>

#include "lsgemm/block_fp/simd-inl.h"
#include "lsgemm/int_quant/simd-inl.h"
#include "lsgemm/lut/simd-inl.h"
#include "lsgemm/nm_sparse/simd-inl.h"

#ifndef LSGEMM_TESTS_TARGETS_ONCE
#define LSGEMM_TESTS_TARGETS_ONCE
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lsgemm {
namespace test {
inline bool is_reference(Path p) {
  return p == Path::kIntQuantReference || p == Path::kLutReference || p == Path::kBlockFpReference ||
         p == Path::kNmSparseReference;
}

inline void expect_kernels(const char* target, const char* family, const std::vector<PathRule>& rules) {
  const std::string name = target;
  const bool may_use_reference = name == "SCALAR" || name == "EMU128";
  ASSERT_FALSE(rules.empty()) << family << " has no path rules on " << target;
  for (const PathRule& r : rules)
    if (!may_use_reference)
      EXPECT_FALSE(is_reference(r.path)) << family << " routes rows [" << r.min_rows << ", " << r.max_rows
                                         << ") to " << path_name(r.path) << " on " << target << " (" << r.when
                                         << "): every SIMD target but SCALAR/EMU128 must run kernels";
}
}  // namespace test
}  // namespace lsgemm
#endif

HWY_BEFORE_NAMESPACE();
namespace lsgemm {
namespace test {
namespace HWY_NAMESPACE {

void TestEveryTargetHasKernels() {
  const char* target = hwy::TargetName(HWY_TARGET);
  expect_kernels(target, "int_quant", int_quant::HWY_NAMESPACE::path_rules());
  expect_kernels(target, "lut", lut::HWY_NAMESPACE::path_rules());
  expect_kernels(target, "block_fp", block_fp::HWY_NAMESPACE::path_rules());
  expect_kernels(target, "nm_sparse", nm_sparse::HWY_NAMESPACE::path_rules());
}

}  // namespace HWY_NAMESPACE
}  // namespace test
}  // namespace lsgemm
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace lsgemm {
namespace test {
HWY_BEFORE_TEST(Targets);
HWY_EXPORT_AND_TEST_P(Targets, TestEveryTargetHasKernels);
HWY_AFTER_TEST();
}  // namespace test
}  // namespace lsgemm
HWY_TEST_MAIN();
#endif
