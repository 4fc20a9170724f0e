// int_quant kernels, float activations, on every attainable SIMD target.
#define LSGEMM_TEST_ACT kFloat
#define LSGEMM_TEST_SUITE IntQuantFloat
#define LSGEMM_TEST_INT8 0
#include "int_quant_test_cases.hpp"
