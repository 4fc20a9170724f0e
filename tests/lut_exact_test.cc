// lut kernels, exact tables (int8 X, exact int16 entries), on every attainable SIMD target.
#define LSGEMM_LUT_TEST_MODE kExact
#define LSGEMM_TEST_SUITE LutExact
#include "lut_test_cases.hpp"
