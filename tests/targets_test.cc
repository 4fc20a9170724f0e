// No compiled SIMD target routes to the reference: on every target this binary holds
// (HWY_COMPILE_ALL_ATTAINABLE: on x86 AVX3_SPR ... SSE2, on Arm NEON, SVE, SVE2,
// SVE_256, SVE2_128, ...), every path rule of every family names a kernel, except on
// HWY_SCALAR and HWY_EMU128, which may run the reference (DESIGN §4). The family
// testers then check, per target and shape class, that those kernel paths ran. The
// rules come from the families' kernel tables (support/per_target.hpp).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/bitmap_sparse_tester.hpp"
#include "support/block_fp_tester.hpp"
#include "support/int_quant_tester.hpp"
#include "support/lut_tester.hpp"
#include "support/nm_sparse_tester.hpp"
#include "support/per_target.hpp"

namespace lsgemm {
namespace test {

inline bool is_reference(Path p) {
  return p == Path::kIntQuantReference || p == Path::kLutReference || p == Path::kBlockFpReference ||
         p == Path::kNmSparseReference || p == Path::kBitmapSparseReference;
}

inline void expect_kernels(const char* target, const char* family, const std::vector<PathRule>& rules) {
  const std::string name = target;
  const bool may_use_reference = name == "SCALAR" || name == "EMU128";
  ASSERT_FALSE(rules.empty()) << family << " has no path rules on " << target;
  for (const PathRule& r : rules)
    if (!may_use_reference) {
      EXPECT_FALSE(is_reference(r.path)) << family << " routes rows [" << r.min_rows << ", " << r.max_rows
                                         << ") to " << path_name(r.path) << " on " << target << " (" << r.when
                                         << "): every SIMD target but SCALAR/EMU128 must run kernels";
    }
}

void TestEveryTargetHasKernels() {
  const char* target = hwy::TargetName(current_test_target());
  expect_kernels(target, "int_quant", int_quant_kernels(ActMode::kFloat).rules);
  expect_kernels(target, "lut", lut_kernels().rules);
  expect_kernels(target, "block_fp", block_fp_kernels(ActMode::kFloat).rules);
  expect_kernels(target, "nm_sparse", nm_sparse_kernels().rules);
  expect_kernels(target, "bitmap_sparse", bitmap_sparse_kernels().rules);
}

HWY_BEFORE_TEST(Targets);
LSGEMM_PER_TARGET_TEST(Targets, TestEveryTargetHasKernels);
HWY_AFTER_TEST();
}  // namespace test
}  // namespace lsgemm
HWY_TEST_MAIN();
