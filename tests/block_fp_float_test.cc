// block_fp kernels, float activations, on every attainable SIMD target.
#define LSGEMM_TEST_ACT kFloat
#define LSGEMM_TEST_SUITE BlockFpFloat
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "block_fp_float_test.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/tests/hwy_gtest.h>

#include "block_fp_test-inl.h"
