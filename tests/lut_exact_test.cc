// lut kernels, exact tables (int8 X, exact int16 entries), on every attainable SIMD target.
#define LSGEMM_LUT_TEST_MODE kExact
#define LSGEMM_TEST_SUITE LutExact
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "lut_exact_test.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/tests/hwy_gtest.h>

#include "lut_test-inl.h"
