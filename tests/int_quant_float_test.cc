// int_quant kernels, float activations, on every attainable SIMD target.
#define LSGEMM_TEST_ACT kFloat
#define LSGEMM_TEST_SUITE IntQuantFloat
#define LSGEMM_TEST_INT8 0
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "int_quant_float_test.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/tests/hwy_gtest.h>

#include "int_quant_test-inl.h"
