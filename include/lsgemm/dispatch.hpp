#pragma once
// THE dispatch header: the one place that chooses which implementation a call runs.
//
//   host weights   -> the Highway kernels of the translation unit's static target
//                     (what -march allows; on Zen 4/5 define HWY_WANT_AVX3_ZEN4 for the
//                     AVX3_ZEN4 target), or the reference when LSGEMM_FORCE_REFERENCE
//                     is defined;
//   device weights -> the CUDA kernels (these overloads exist only under nvcc, in
//                     lsgemm/int_quant/cuda.cuh and lsgemm/lut/cuda.cuh, which this header
//                     includes then).
//
// The choice is made by overload resolution and macros, never by a run-time branch.
// Under nvcc the host overloads run the reference: Highway's x86 headers do not compile
// with nvcc, so call host kernels from .cc files and device kernels from .cu files.
//
// ODR safety: two translation units of one program may be compiled for different
// targets. The wrappers below are inline functions whose bodies differ per target, so
// they live in an inline namespace named after the static target (dispatch_N_AVX2,
// dispatch_N_AVX3_ZEN4, dispatch_reference, ...): each TU gets its own distinct
// symbols, and `lsgemm::matmul` still names them. tests/odr_* links an AVX2 TU with an
// AVX-512 TU to prove it.
#if defined(LSGEMM_FORCE_REFERENCE) || defined(__CUDACC__)
#define LSGEMM_HOST_REFERENCE 1
#else
#define LSGEMM_HOST_REFERENCE 0
#include <hwy/highway.h>
#include <hwy/targets.h>
#endif

#include "lsgemm/core/epilogue.hpp"
#include "lsgemm/core/matrix.hpp"
#include "lsgemm/int_quant/format.hpp"
#include "lsgemm/int_quant/reference.hpp"
#include "lsgemm/lut/format.hpp"
#include "lsgemm/lut/reference.hpp"
#if !LSGEMM_HOST_REFERENCE
#include "lsgemm/int_quant/simd-inl.h"
#include "lsgemm/lut/simd-inl.h"
#endif
#if defined(__CUDACC__)
#include "lsgemm/int_quant/cuda.cuh"
#include "lsgemm/lut/cuda.cuh"
#endif

#if LSGEMM_HOST_REFERENCE
#define LSGEMM_DISPATCH_NS dispatch_reference
#else
#define LSGEMM_DISPATCH_NS HWY_CONCAT(dispatch_, HWY_NAMESPACE)
#endif

namespace lsgemm {
inline namespace LSGEMM_DISPATCH_NS {

// Name of the implementation this translation unit's calls run: "AVX3_ZEN4", "AVX2",
// "EMU128", ... or "reference".
inline const char* simd_target_name() {
#if LSGEMM_HOST_REFERENCE
  return "reference";
#else
  return hwy::TargetName(HWY_STATIC_TARGET);
#endif
}

// Y = X * W^T (+ bias), int_quant weights in host memory.
inline void matmul(HostView<const float> X, const int_quant::QuantizedMatrix& w, HostView<float> Y,
                   const Epilogue& epi = {}) {
#if LSGEMM_HOST_REFERENCE
  reference::matmul(X, w, Y, epi);
#else
  int_quant::HWY_NAMESPACE::matmul(X, w, Y, epi);
#endif
}

// Y = X * W^T (+ bias), lut weights in host memory (tables built inside the call).
inline void matmul(HostView<const float> X, const lut::LutMatrix& w, HostView<float> Y,
                   const Epilogue& epi = {}) {
#if LSGEMM_HOST_REFERENCE
  reference::matmul(X, w, Y, epi);
#else
  lut::HWY_NAMESPACE::matmul(X, w, Y, epi);
#endif
}

// X turned into lookup tables once, for every lut weight with this spec
// (w.table_spec()): Q/K/V or gate/up projections that share X share one build.
inline lut::Tables make_tables(HostView<const float> X, const lut::TableSpec& spec) {
#if LSGEMM_HOST_REFERENCE
  return reference::make_tables(X, spec);
#else
  lut::Tables t;
  lut::HWY_NAMESPACE::make_tables(X, spec, t);
  return t;
#endif
}

// Y = X * W^T (+ bias) from tables made by make_tables(X, w.table_spec()).
inline void matmul(const lut::Tables& t, const lut::LutMatrix& w, HostView<float> Y,
                   const Epilogue& epi = {}) {
#if LSGEMM_HOST_REFERENCE
  reference::matmul(t, w, Y, epi);
#else
  lut::HWY_NAMESPACE::matmul(t, w, Y, epi);
#endif
}

}  // namespace LSGEMM_DISPATCH_NS
}  // namespace lsgemm
