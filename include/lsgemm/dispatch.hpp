#pragma once
// THE dispatch header: the one place that chooses which implementation a call runs.
//
//   host weights   -> the Highway kernels of the translation unit's static target
//                     (what -march allows; on Zen 4/5 define HWY_WANT_AVX3_ZEN4 for the
//                     AVX3_ZEN4 target), or the reference when LSGEMM_FORCE_REFERENCE
//                     is defined;
//   device weights -> the CUDA kernels (these overloads exist only under nvcc, in
//                     lsgemm/int_quant/cuda.cuh, lsgemm/lut/cuda.cuh and
//                     lsgemm/block_fp/cuda.cuh, which this header includes then;
//                     nm_sparse and bitmap_sparse have no CUDA path yet).
//
// The choice of implementation is made by overload resolution and macros, never by a
// run-time branch. Under nvcc the host overloads run the reference: Highway's x86
// headers do not compile with nvcc, so call host kernels from .cc files and device
// kernels from .cu files. The target without SIMD kernels (HWY_SCALAR:
// core/simd/kernels.hpp) runs the reference too.
//
// Within an implementation, each call then takes one path by the rows of X and the
// format's mode: dispatch_table() lists every path this TU can run with its row range,
// and lsgemm::path_taken() (core/path.hpp) says which ran.
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
#include "lsgemm/core/hwy_config.hpp"  // before Highway
#include <hwy/highway.h>
#include <hwy/targets.h>

#include "lsgemm/core/simd/kernels.hpp"
#endif

#include <string>
#include <type_traits>
#include <vector>

#include "lsgemm/core/epilogue.hpp"
#include "lsgemm/core/matrix.hpp"
#include "lsgemm/core/parallel.hpp"
#include "lsgemm/core/path.hpp"
#include "lsgemm/bitmap_sparse/format.hpp"
#include "lsgemm/bitmap_sparse/reference.hpp"
#include "lsgemm/block_fp/format.hpp"
#include "lsgemm/block_fp/reference.hpp"
#include "lsgemm/int_quant/format.hpp"
#include "lsgemm/int_quant/reference.hpp"
#include "lsgemm/lut/format.hpp"
#include "lsgemm/lut/reference.hpp"
#include "lsgemm/nm_sparse/format.hpp"
#include "lsgemm/nm_sparse/reference.hpp"
#if !LSGEMM_HOST_REFERENCE
#include "lsgemm/bitmap_sparse/simd-inl.h"
#include "lsgemm/block_fp/simd-inl.h"
#include "lsgemm/int_quant/simd-inl.h"
#include "lsgemm/lut/simd-inl.h"
#include "lsgemm/nm_sparse/simd-inl.h"
#endif
#if defined(__CUDACC__)
#include "lsgemm/block_fp/cuda.cuh"
#include "lsgemm/int_quant/cuda.cuh"
#include "lsgemm/lut/cuda.cuh"
#endif

#if LSGEMM_HOST_REFERENCE
#define LSGEMM_DISPATCH_NS dispatch_reference
#else
#define LSGEMM_DISPATCH_NS HWY_CONCAT(dispatch_, HWY_NAMESPACE)
#endif

namespace lsgemm {
namespace detail {
template <class T>
inline constexpr bool kHostWeights = std::is_same_v<T, int_quant::QuantizedMatrix> || std::is_same_v<T, lut::LutMatrix> ||
                                     std::is_same_v<T, block_fp::BlockFpMatrix> ||
                                     std::is_same_v<T, nm_sparse::NmSparseMatrix> ||
                                     std::is_same_v<T, bitmap_sparse::BitmapSparseMatrix>;
template <class T>
inline constexpr bool kUnsupported = true;  // a dependent false: fires only when instantiated
}  // namespace detail

inline namespace LSGEMM_DISPATCH_NS {

// Name of the implementation this translation unit's host calls run: "AVX3_ZEN4",
// "AVX2", "EMU128", ...; "reference" when forced (LSGEMM_FORCE_REFERENCE, nvcc), and
// "SCALAR (no SIMD kernels for the scalar target: reference)" on the target without
// kernels.
inline const char* simd_target_name() {
#if LSGEMM_HOST_REFERENCE
  return "reference";
#elif LSGEMM_SIMD_KERNELS
  return hwy::TargetName(HWY_STATIC_TARGET);
#else
  static const std::string name = std::string(hwy::TargetName(HWY_STATIC_TARGET)) + " (" + LSGEMM_NO_KERNELS_REASON + ")";
  return name.c_str();
#endif
}

// Every path the host calls of this translation unit can take, with the rows of X each
// serves and its condition (core/path.hpp): one table for every family.
inline std::vector<PathRule> dispatch_table() {
#if LSGEMM_HOST_REFERENCE
  return {{Path::kIntQuantReference, 1, kAnyRows, "forced reference (LSGEMM_FORCE_REFERENCE or nvcc)"},
          {Path::kLutReference, 1, kAnyRows, "forced reference (LSGEMM_FORCE_REFERENCE or nvcc)"},
          {Path::kBlockFpReference, 1, kAnyRows, "forced reference (LSGEMM_FORCE_REFERENCE or nvcc)"},
          {Path::kNmSparseReference, 1, kAnyRows, "forced reference (LSGEMM_FORCE_REFERENCE or nvcc)"},
          {Path::kBitmapSparseReference, 1, kAnyRows, "forced reference (LSGEMM_FORCE_REFERENCE or nvcc)"}};
#else
  std::vector<PathRule> t = int_quant::HWY_NAMESPACE::path_rules();
  const std::vector<PathRule> l = lut::HWY_NAMESPACE::path_rules();
  const std::vector<PathRule> b = block_fp::HWY_NAMESPACE::path_rules();
  const std::vector<PathRule> s = nm_sparse::HWY_NAMESPACE::path_rules();
  const std::vector<PathRule> u = bitmap_sparse::HWY_NAMESPACE::path_rules();
  t.insert(t.end(), l.begin(), l.end());
  t.insert(t.end(), b.begin(), b.end());
  t.insert(t.end(), s.begin(), s.end());
  t.insert(t.end(), u.begin(), u.end());
  return t;
#endif
}

// Y = X * W^T (+ bias), int_quant weights in host memory.
inline void matmul(HostView<const float> X, const int_quant::QuantizedMatrix& w, HostView<float> Y,
                   const Epilogue& epi = {}) {
#if LSGEMM_HOST_REFERENCE
  lsgemm::detail::note_path(Path::kIntQuantReference);
  reference::matmul(X, w, Y, epi);
#else
  int_quant::HWY_NAMESPACE::matmul(X, w, Y, epi);
#endif
}

// Y = X * W^T (+ bias), lut weights in host memory (tables built inside the call).
inline void matmul(HostView<const float> X, const lut::LutMatrix& w, HostView<float> Y,
                   const Epilogue& epi = {}) {
#if LSGEMM_HOST_REFERENCE
  lsgemm::detail::note_path(Path::kLutReference);
  reference::matmul(X, w, Y, epi);
#else
  lut::HWY_NAMESPACE::matmul(X, w, Y, epi);
#endif
}

// Y = X * W^T (+ bias), block_fp weights (MX, NVFP4, BFP) in host memory.
inline void matmul(HostView<const float> X, const block_fp::BlockFpMatrix& w, HostView<float> Y,
                   const Epilogue& epi = {}) {
#if LSGEMM_HOST_REFERENCE
  lsgemm::detail::note_path(Path::kBlockFpReference);
  reference::matmul(X, w, Y, epi);
#else
  block_fp::HWY_NAMESPACE::matmul(X, w, Y, epi);
#endif
}

// Y = X * W^T (+ bias), nm_sparse (N:M structured sparse) weights in host memory.
inline void matmul(HostView<const float> X, const nm_sparse::NmSparseMatrix& w, HostView<float> Y,
                   const Epilogue& epi = {}) {
#if LSGEMM_HOST_REFERENCE
  lsgemm::detail::note_path(Path::kNmSparseReference);
  reference::matmul(X, w, Y, epi);
#else
  nm_sparse::HWY_NAMESPACE::matmul(X, w, Y, epi);
#endif
}

// Y = X * W^T (+ bias), bitmap_sparse (unstructured sparse) weights in host memory.
inline void matmul(HostView<const float> X, const bitmap_sparse::BitmapSparseMatrix& w, HostView<float> Y,
                   const Epilogue& epi = {}) {
#if LSGEMM_HOST_REFERENCE
  lsgemm::detail::note_path(Path::kBitmapSparseReference);
  reference::matmul(X, w, Y, epi);
#else
  bitmap_sparse::HWY_NAMESPACE::matmul(X, w, Y, epi);
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
  lsgemm::detail::note_path(Path::kLutReference);
  reference::matmul(t, w, Y, epi);
#else
  lut::HWY_NAMESPACE::matmul(t, w, Y, epi);
#endif
}

// The same calls with a per-call threading Context (core/parallel.hpp): its executor
// and thread cap apply to this call only, on this thread.
inline void matmul(HostView<const float> X, const int_quant::QuantizedMatrix& w, HostView<float> Y, const Epilogue& epi,
                   const Context& ctx) {
  const lsgemm::detail::ContextScope scope(ctx);
  matmul(X, w, Y, epi);
}
inline void matmul(HostView<const float> X, const lut::LutMatrix& w, HostView<float> Y, const Epilogue& epi,
                   const Context& ctx) {
  const lsgemm::detail::ContextScope scope(ctx);
  matmul(X, w, Y, epi);
}
inline void matmul(HostView<const float> X, const block_fp::BlockFpMatrix& w, HostView<float> Y,
                   const Epilogue& epi, const Context& ctx) {
  const lsgemm::detail::ContextScope scope(ctx);
  matmul(X, w, Y, epi);
}
inline void matmul(HostView<const float> X, const nm_sparse::NmSparseMatrix& w, HostView<float> Y,
                   const Epilogue& epi, const Context& ctx) {
  const lsgemm::detail::ContextScope scope(ctx);
  matmul(X, w, Y, epi);
}
inline void matmul(HostView<const float> X, const bitmap_sparse::BitmapSparseMatrix& w, HostView<float> Y,
                   const Epilogue& epi, const Context& ctx) {
  const lsgemm::detail::ContextScope scope(ctx);
  matmul(X, w, Y, epi);
}
inline void matmul(const lut::Tables& t, const lut::LutMatrix& w, HostView<float> Y, const Epilogue& epi,
                   const Context& ctx) {
  const lsgemm::detail::ContextScope scope(ctx);
  matmul(t, w, Y, epi);
}
inline lut::Tables make_tables(HostView<const float> X, const lut::TableSpec& spec, const Context& ctx) {
  const lsgemm::detail::ContextScope scope(ctx);
  return make_tables(X, spec);
}

// Every other host combination fails here at compile time with the list of what is
// supported, instead of an overload-resolution dump. (Views of non-const float X
// convert to the supported overloads above and never reach this template.)
template <class TX, class W, class TY, class = std::enable_if_t<!(std::is_convertible_v<HostView<TX>, HostView<const float>> &&
                                                                  std::is_same_v<TY, float> && lsgemm::detail::kHostWeights<W>)>>
void matmul(HostView<TX>, const W&, HostView<TY>, const Epilogue& = {}) {
  static_assert(!lsgemm::detail::kUnsupported<TX>,
                "lsgemm::matmul: unsupported combination. Host calls take X as HostView<const float> (M x K), "
                "W as int_quant::QuantizedMatrix, lut::LutMatrix, block_fp::BlockFpMatrix, nm_sparse::NmSparseMatrix or "
                "bitmap_sparse::BitmapSparseMatrix, "
                "Y as HostView<float> (M x N). "
                "bf16/f16 host activations are not supported yet; device weights (to_device) take DeviceView "
                "X and Y of __half or __nv_bfloat16 in a .cu file.");
}

}  // namespace LSGEMM_DISPATCH_NS
}  // namespace lsgemm
