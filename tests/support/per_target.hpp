// Per-target tests on kernels compiled once. Each family's kernels are compiled for every
// attainable SIMD target in one file of tests/kernels/ (a static library per family),
// and every test binary that checks them links that library: the family testers, the
// regression, extreme-X and targets tests used to compile the same kernels each (a
// quarter of the suite's compile time, on x86 and on Arm). A test function is plain C++,
// compiled once; it is registered once per target the binary holds and the CPU runs, and
// asks its family's accessor (int_quant_kernels(), lut_kernels(), ...) for the entry points
// of the target it runs on:
//
//   HWY_BEFORE_TEST(Suite);               // hwy::TestWithParamTarget: narrows the CPU's
//   LSGEMM_PER_TARGET_TEST(Suite, Fn);    // targets to one per test instance
//   HWY_AFTER_TEST();
//   HWY_TEST_MAIN();
#pragma once

#include <hwy/targets.h>
#include <hwy/tests/hwy_gtest.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace lsgemm {
namespace test {

// The target the running per-target test is on: the best one the (narrowed) CPU runs.
inline int64_t current_test_target() {
  const int64_t t = hwy::SupportedTargets() & HWY_TARGETS;
  return t & -t;
}

// The accessors fetch a table by dynamic dispatch; a table of another target than the
// one under test would test that target twice and this one never, so they check.
template <class Kernels>
Kernels checked_for_current_target(Kernels k) {
  const char* want = hwy::TargetName(current_test_target());
  if (std::strcmp(k.target, want) != 0)
    throw std::logic_error(std::string("kernel table of ") + k.target + " fetched while testing " + want);
  return k;
}

}  // namespace test
}  // namespace lsgemm

// In a kernel file of tests/kernels/ (its HWY_ONCE part): exports `make`, the per-target
// maker of a family's kernel table, and defines `Type accessor(params)`, which returns
// the table of the target under test (`args`: the call's arguments, in parentheses).
#define LSGEMM_TEST_KERNEL_TABLE(Type, accessor, make, params, args)                          \
  namespace lsgemm {                                                                          \
  namespace test {                                                                            \
  HWY_EXPORT(make);                                                                           \
  Type accessor params { return checked_for_current_target(HWY_DYNAMIC_DISPATCH(make) args); } \
  }                                                                                           \
  }                                                                                           \
  static_assert(true, "For requiring trailing semicolon")

// Registers `func` (void(), in the current namespace) as a test of `suite`, run once per target.
#define LSGEMM_PER_TARGET_TEST(suite, func) \
  TEST_P(suite, func) { func(); }           \
  static_assert(true, "For requiring trailing semicolon")
