#pragma once
// ODR safety for the non-kernel inline functions (pack, validate, the reference, ...).
//
// An inline function compiled in two translation units with different -march flags
// gets two bodies, and the linker keeps one of them: the AVX-512 body may then run in
// the AVX2 part of a program on a CPU without AVX-512. The kernels avoid this through
// Highway's per-target namespaces and dispatch.hpp's inline namespace; the plain
// functions that a compiler may auto-vectorize live in an inline namespace named after
// the instruction set the TU is compiled for. Types (QuantizedMatrix, views) stay
// outside it so that objects pass freely between such TUs.
#if defined(__AVX512F__)
#define LSGEMM_ABI_NS abi_avx512
#elif defined(__AVX2__)
#define LSGEMM_ABI_NS abi_avx2
#elif defined(__AVX__)
#define LSGEMM_ABI_NS abi_avx
#elif defined(__SSE4_2__)
#define LSGEMM_ABI_NS abi_sse4
#elif defined(__ARM_FEATURE_SVE)
#define LSGEMM_ABI_NS abi_sve
#elif defined(__ARM_NEON)
#define LSGEMM_ABI_NS abi_neon
#else
#define LSGEMM_ABI_NS abi_base
#endif

#define LSGEMM_ABI_BEGIN inline namespace LSGEMM_ABI_NS {
#define LSGEMM_ABI_END }
