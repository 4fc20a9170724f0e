// block_fp kernels, float activations, on every attainable SIMD target.
#define LSGEMM_TEST_ACT kFloat
#define LSGEMM_TEST_SUITE BlockFpFloat
#include "block_fp_test_cases.hpp"
