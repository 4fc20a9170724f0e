// block_fp kernels, int8 activations, on every attainable SIMD target.
#define LSGEMM_TEST_ACT kInt8
#define LSGEMM_TEST_SUITE BlockFpInt8
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "block_fp_int8_test.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/tests/hwy_gtest.h>

#include "block_fp_test-inl.h"
