// int_quant kernels, int8 activations (W4A8, W8A8, outliers), on every attainable target.
#define LSGEMM_TEST_ACT kInt8
#define LSGEMM_TEST_SUITE IntQuantInt8
#define LSGEMM_TEST_INT8 1
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "int_quant_int8_test.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/tests/hwy_gtest.h>

#include "int_quant_test-inl.h"
