// lut kernels, fast tables (int8 entries, one scale per X block), on every attainable
// SIMD target.
#define LSGEMM_LUT_TEST_MODE kFast
#define LSGEMM_TEST_SUITE LutFast
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "lut_fast_test.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/tests/hwy_gtest.h>

#include "lut_test-inl.h"
