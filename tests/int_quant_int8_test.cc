// int_quant kernels, int8 activations (W4A8, W8A8, outliers), on every attainable target.
#define LSGEMM_TEST_ACT kInt8
#define LSGEMM_TEST_SUITE IntQuantInt8
#define LSGEMM_TEST_INT8 1
#include "int_quant_test_cases.hpp"
