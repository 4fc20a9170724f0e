// block_fp kernels, int8 activations, on every attainable SIMD target.
#define LSGEMM_TEST_ACT kInt8
#define LSGEMM_TEST_SUITE BlockFpInt8
#include "block_fp_test_cases.hpp"
