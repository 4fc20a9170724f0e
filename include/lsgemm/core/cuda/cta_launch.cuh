#pragma once
// Host side of the CTA skeleton (core/cuda/cta.cuh): the checks every call makes, the
// split-K plan, the kernel arguments and the switch from run-time (bits, token width)
// to a kernel instantiation, then the split-K reduction.
//
// A family's device weight derives from DeviceWeight (below: shape, codes, scales) and
// names its family through CtaFamilyOf. The family describes itself with a host struct:
//   using Matrix = ...;                    its device weight
//   static constexpr CtaFamilyNames kNames;   how error messages name it
//   using BitWidths = std::integer_sequence<int, ...>;   code widths it instantiates
//   using TokN8s = std::integer_sequence<int, ...>;      token widths, ascending
//   template <class T, int kBits> using Policy = ...;    its device policy (cta.cuh)
//   static constexpr int code_vecs(int bits);             Policy::kCodeVecs for bits
//   template <class T, class TY> static const char* call_name();   prefixes the errors
//   static void check_weight(const char* fn, const Matrix&);      bits and metadata
//   static bool extra_consts_match(const Matrix&);  its other constant buffers' sizes
//   static int tok_n8(int64_t M);          the token width for M tokens (one of TokN8s)
//   static Weights weights(const Matrix&); the Policy's kernel arguments (one Weights
//                                          type for every code width)
// cta_matmul checks, in this order: the weight (empty, the family's check_weight, buffer
// sizes), shapes, epilogue, workspace, M, overlap of X and Y, device, compute capability.
//
// Split-K (decode shapes): with B = row blocks x token blocks CTAs, fewer than
// kCtaTargetCtasPerSm (4, the residency __launch_bounds__ guarantees) per SM leaves
// bandwidth unused: 4 CTAs x 3 stages in flight x ~2 KB of codes ~ 24 KB per SM is what
// Little's law asks (3.35 TB/s x 0.7 us / 132 SMs ~ 18 KB). So K is split into
// min(kCtaMaxSplits, ceil(target / B), kc / kCtaMinChunksPerSplit) slices of whole
// chunks (each >= 4 chunks, so the ring fills); each slice writes fp32 partials to the
// caller's workspace and split_k_reduce folds them (+ bias, + Y). Without a workspace
// (nullptr, 0) the same kernel runs unsplit and writes Y itself.
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "lsgemm/core/cuda/common.cuh"
#include "lsgemm/core/cuda/cta.cuh"
#include "lsgemm/core/cuda/split_k.cuh"
#include "lsgemm/core/epilogue.hpp"
#include "lsgemm/core/error.hpp"
#include "lsgemm/core/matrix.hpp"

namespace lsgemm {

// What every device weight of the skeleton records besides its buffers: the logical
// shape, the host format it came from, and the padding the kernels rely on.
struct DeviceWeightShape {
  int64_t n = 0, k = 0;      // logical shape of W
  int64_t kp = 0;            // K padded as in the host format
  int bits = 0;              // bits per device code
  int group = 128;           // host group length (per-channel: == kp)
  bool per_channel = false;
  bool symmetric = false;
  int64_t np = 0;            // N rounded up to whole CTAs (detail::kCtaRows)
  int64_t kc = 0;            // K chunks of the family's kChunkK: ceil(kp / kChunkK)
  int64_t groups_alloc = 0;  // rows of per-group constants
  int device = -1;           // device ordinal the memory lives on
};

// A family's device weight (CRTP: Derived is the family's type): the shape, the packed
// codes (u32 words in the family's layout) and the per-(group, row) scales (f16 bits),
// which every family has, and what it adds through
//   size_t extra_bytes() const;             bytes of its other buffers
//   void clone_extra(Derived& c) const;     copies its other fields into c, clones its
//                                          other buffers
// Owns its memory; movable, not copyable: clone() copies on the device.
template <class Derived>
struct DeviceWeight : DeviceWeightShape {
  DeviceBuffer<uint32_t> codes;   // np / 16 * kc * (the family's code vectors) * 4 words
  DeviceBuffer<uint16_t> scales;  // groups_alloc * np, f16 bits

  bool empty() const { return n == 0 || codes.size() == 0; }
  // Bytes one call streams from the weight.
  int64_t packed_bytes() const {
    return int64_t(codes.bytes() + scales.bytes() + static_cast<const Derived&>(*this).extra_bytes());
  }
  Derived clone() const {
    Derived c;
    static_cast<DeviceWeightShape&>(c) = *this;
    c.codes = codes.clone();
    c.scales = scales.clone();
    static_cast<const Derived&>(*this).clone_extra(c);
    return c;
  }
};

namespace detail {

// The DeviceWeightShape of host weight h (a packed format with n, k, kp, group,
// per_channel and symmetric) for chunks of chunk_k and device codes of `bits`;
// groups_alloc and device are the family's. fn names the caller in the error: the
// kernels do 32-bit k arithmetic, so (chunk + 1) * chunk_k must not overflow.
template <class HostWeight>
DeviceWeightShape cta_weight_shape(const HostWeight& h, int bits, int chunk_k, const char* fn) {
  require(h.kp <= (int64_t(1) << 30), fn, ": K=", h.k, " exceeds 2^30");
  DeviceWeightShape d;
  d.n = h.n;
  d.k = h.k;
  d.kp = h.kp;
  d.bits = bits;
  d.group = h.group;
  d.per_channel = h.per_channel;
  d.symmetric = h.symmetric;
  d.np = (h.n + kCtaRows - 1) / kCtaRows * kCtaRows;
  d.kc = (h.kp + chunk_k - 1) / chunk_k;
  return d;
}

// How a call of M tokens on sm_count SMs is cut into CTAs (file comment).
template <class Family>
SplitKPlan plan_cta_grid(const typename Family::Matrix& w, int64_t M, int sm_count) {
  return plan_split_k(Family::tok_n8(M), w.np / kCtaRows, M, w.n, w.kc, sm_count, kCtaTargetCtasPerSm, kCtaMaxSplits,
                      kCtaMinChunksPerSplit);
}

// How error messages name a family: {"int_quant", "DeviceQuantizedMatrix", "to_device"}
// gives "query int_quant::workspace_bytes", "the DeviceQuantizedMatrix's buffers ...;
// build it with to_device()".
struct CtaFamilyNames {
  const char* family;
  const char* matrix;
  const char* to_device;
};

// The host family struct (file comment) of a device weight type; each family
// specializes it for its DeviceWeight.
template <class Matrix>
struct CtaFamilyOf;

// Whether two row-major ranges (first byte to one past the last row's last element)
// intersect.
inline bool byte_ranges_overlap(const void* a, int64_t a_rows, int64_t a_cols, int64_t a_ld, size_t a_elem,
                                const void* b, int64_t b_rows, int64_t b_cols, int64_t b_ld, size_t b_elem) {
  const auto a0 = reinterpret_cast<uintptr_t>(a), b0 = reinterpret_cast<uintptr_t>(b);
  const auto a1 = a0 + uintptr_t(((a_rows - 1) * a_ld + a_cols) * int64_t(a_elem));
  const auto b1 = b0 + uintptr_t(((b_rows - 1) * b_ld + b_cols) * int64_t(b_elem));
  return a0 < b1 && b0 < a1;
}

template <class Policy, int kTokN8>
void launch_cta_kernel(const CtaArgsOf<Policy>& args, dim3 grid, cudaStream_t stream) {
  weight_stationary_gemm<Policy, kTokN8><<<grid, kCtaThreads, 0, stream>>>(args);
}

// The instantiation for token width tok_n8; the widest listed is the fallback (the plan
// only ever asks for a listed one).
template <class Policy, int kTokN8, int... kWider>
void launch_cta_tokens(int tok_n8, const CtaArgsOf<Policy>& args, dim3 grid, cudaStream_t stream) {
  if constexpr (sizeof...(kWider) == 0) {
    launch_cta_kernel<Policy, kTokN8>(args, grid, stream);
  } else if (tok_n8 == kTokN8) {
    launch_cta_kernel<Policy, kTokN8>(args, grid, stream);
  } else {
    launch_cta_tokens<Policy, kWider...>(tok_n8, args, grid, stream);
  }
}

template <class Policy, int... kTokN8>
void launch_cta_tokens(std::integer_sequence<int, kTokN8...>, int tok_n8, const CtaArgsOf<Policy>& args, dim3 grid,
                       cudaStream_t stream) {
  launch_cta_tokens<Policy, kTokN8...>(tok_n8, args, grid, stream);
}

// The instantiation for code width bits; the last listed is the fallback (the family
// checked bits before).
template <class Family, class T, class Weights, int kBits, int... kRest>
void launch_cta_bits(int bits, int tok_n8, const CtaArgs<T, Weights>& args, dim3 grid, cudaStream_t stream) {
  using Policy = typename Family::template Policy<T, kBits>;
  static_assert(std::is_same_v<typename Policy::Weights, Weights>, "one Weights type for every code width");
  if constexpr (sizeof...(kRest) == 0) {
    launch_cta_tokens<Policy>(typename Family::TokN8s{}, tok_n8, args, grid, stream);
  } else if (bits == kBits) {
    launch_cta_tokens<Policy>(typename Family::TokN8s{}, tok_n8, args, grid, stream);
  } else {
    launch_cta_bits<Family, T, Weights, kRest...>(bits, tok_n8, args, grid, stream);
  }
}

template <class Family, class T, class Weights, int... kBits>
void launch_cta_bits(std::integer_sequence<int, kBits...>, int bits, int tok_n8, const CtaArgs<T, Weights>& args,
                     dim3 grid, cudaStream_t stream) {
  launch_cta_bits<Family, T, Weights, kBits...>(bits, tok_n8, args, grid, stream);
}

template <int... kTokN8>
constexpr int widest_of(std::integer_sequence<int, kTokN8...>) {
  int w = 0;
  ((w = kTokN8 > w ? kTokN8 : w), ...);
  return w;
}

// Y = X * W^T (+ bias) for a family's weight w: the checks (file comment), the plan, the
// launch and the split-K reduction. Family::call_name<T, TY>() prefixes every error.
template <class Family, class T, class TY>
void cta_matmul(DeviceView<const T> X, const typename Family::Matrix& w, DeviceView<TY> Y, void* workspace,
                size_t workspace_size, cudaStream_t stream, const Epilogue& epi) {
  static_assert(std::is_same_v<TY, T> || std::is_same_v<TY, float>, "Y is the activation type or float");
  const char* fn = Family::template call_name<T, TY>();
  require(!w.empty(), fn, ": the weight is empty (default-constructed or moved-from ", Family::kNames.matrix, ")");
  Family::check_weight(fn, w);
  require(w.codes.size() == size_t(w.np / 16 * w.kc * Family::code_vecs(w.bits) * 4) &&
              w.scales.size() == size_t(w.groups_alloc * w.np) && Family::extra_consts_match(w),
          fn, ": the ", Family::kNames.matrix, "'s buffers do not match its shape; build it with ",
          Family::kNames.to_device, "()");
  check_matmul_shapes(X, w.n, w.k, Y);
  require(epi.alpha == 1.0f, fn, ": Epilogue::alpha=", epi.alpha,
          " is not supported on the CUDA path yet (only 1; scale the bias and Y instead)");
  const int64_t M = X.rows;
  require(workspace != nullptr || workspace_size == 0, fn, ": workspace is null but workspace_bytes=",
          workspace_size, " (pass nullptr and 0 to run without split-K)");
  require(workspace == nullptr || is_aligned(workspace, 16), fn,
          ": workspace must be 16-byte aligned (cudaMalloc memory is)");
  // grid.y holds token blocks of the widest tile (for the largest M).
  constexpr int64_t kMaxTokens = 8 * widest_of(typename Family::TokN8s{});
  require(M <= int64_t(65535) * kMaxTokens, fn, ": M=", M, " exceeds ", int64_t(65535) * kMaxTokens);
  if (M == 0) return;
  require(!byte_ranges_overlap(X.data, X.rows, X.cols, X.ld, sizeof(T), Y.data, Y.rows, Y.cols, Y.ld, sizeof(TY)),
          fn, ": X and Y overlap in memory (the kernel reads X while writing Y)");

  const int dev = current_device();
  require(dev == w.device, fn, ": the weight lives on device ", w.device, " but device ", dev, " is current");
  const int major = device_attribute(cudaDevAttrComputeCapabilityMajor, dev);
  require(major >= 8, fn, ": device ", dev, " has compute capability ", major,
          ".x; the kernels need sm_80 or newer (cp.async, bf16 mma)");
  const int sms = device_attribute(cudaDevAttrMultiProcessorCount, dev);

  SplitKPlan plan = plan_cta_grid<Family>(w, M, sms);
  if (plan.splits > 1) {
    if (workspace_size == 0) {
      plan.splits = 1;  // no workspace: run unsplit
      plan.chunks_per_split = int(w.kc);
    } else {
      require(workspace_size >= plan.workspace, fn, ": workspace too small: ", workspace_size, " bytes given, ",
              plan.workspace, " needed for M=", M, " N=", w.n, " K=", w.k, " (", plan.splits,
              " K slices; query ", Family::kNames.family, "::workspace_bytes, or pass nullptr and 0)");
    }
  }

  using Weights = decltype(Family::weights(w));
  CtaArgs<T, Weights> a{};
  a.x = X.data;
  a.ldx = X.ld;
  a.m = M;
  a.k = int(w.k);
  a.x_vec16 = is_aligned(X.data, 16) && X.ld % 8 == 0;
  a.codes = reinterpret_cast<const uint4*>(w.codes.data());
  a.w = Family::weights(w);
  a.n = w.n;
  a.kc = int(w.kc);
  a.chunks_per_split = plan.chunks_per_split;
  a.y = Y.data;
  a.y_f32 = std::is_same_v<TY, float>;
  a.ldy = Y.ld;
  a.partial = plan.splits > 1 ? static_cast<float*>(workspace) : nullptr;
  a.bias = epi.bias;
  a.accumulate = epi.accumulate;

  const dim3 grid(unsigned(plan.row_blocks), unsigned(plan.tok_blocks), unsigned(plan.splits));
  launch_cta_bits<Family>(typename Family::BitWidths{}, w.bits, plan.tok_n8, a, grid, stream);
  LSGEMM_CUDA_CHECK(cudaGetLastError());
  if (plan.splits > 1)
    launch_split_k_reduce<TY>(static_cast<const float*>(workspace), plan.splits, M, w.n, Y.data, Y.ld, epi.bias,
                              epi.accumulate, stream);
}

}  // namespace detail

// Workspace bytes lsgemm::matmul needs for M tokens on the current device to use
// split-K (0: that shape does not split). Passing less (but not zero) throws; passing
// none (nullptr, 0) runs unsplit, which is slower for small M but needs nothing. The
// families bring it into their namespaces: int_quant::workspace_bytes(w, M).
template <class Matrix, class Family = typename detail::CtaFamilyOf<Matrix>::type>
size_t workspace_bytes(const Matrix& w, int64_t M) {
  detail::require(M >= 0, Family::kNames.family, "::workspace_bytes: M=", M, " must be >= 0");
  if (M == 0 || w.empty()) return 0;
  const int sms = detail::device_attribute(cudaDevAttrMultiProcessorCount, detail::current_device());
  return detail::plan_cta_grid<Family>(w, M, sms).workspace;
}

}  // namespace lsgemm
