// lut kernels, fast tables (int8 entries, one scale per X block), on every attainable
// SIMD target.
#define LSGEMM_LUT_TEST_MODE kFast
#define LSGEMM_TEST_SUITE LutFast
#include "lut_test_cases.hpp"
