#pragma once
// int_quant on CUDA: W4A16 / W8A16 group-quantized GEMM on tensor cores (sm_80+).
//
//   auto wd = lsgemm::int_quant::to_device(w);                 // once: repack + upload
//   size_t ws = lsgemm::int_quant::workspace_bytes(wd, M);     // 0 when no split-K
//   lsgemm::matmul(X, wd, Y, ws_ptr, ws, stream, epi);         // X: M x K half/bf16, Y: M x N same type
//
// Contract: Y[M x N] = X[M x K] * W^T (+ bias[N]) (Y += ... with epi.accumulate), with
// X, Y, the workspace and epi.bias in device memory of the device that was current at
// to_device() (epi.bias: N floats on the device, or null). Asynchronous on `stream`;
// no allocation, no host synchronisation, so calls can be captured in a CUDA graph.
// Weights are decoded to the activation type: w = s * (q - z) is rounded once to fp16
// (or, for bf16 4-bit, the f16 scale is first rounded to bf16), so the fp16 path needs
// |w| <= 65504. The host ActMode is not consulted: X is half/bf16 (float mode); a weight
// packed with ActMode::kInt8 is refused by to_device so that results never silently
// differ from reference::matmul for that weight.
//
// How: the weight-stationary CTA skeleton (core/cuda/cta.cuh: Y^T = W * X^T on
// mma.sync.m16n8k16, the weight as operand A, tokens on the MMA's n side) with this
// family's policy, WintPolicy: the weight stage (codes, scales and zero points of a
// 64-k chunk into shared memory) and the A-fragment decode (magic-number conversion,
// below). Host checks, split-K planning and the launch switch: core/cuda/cta_launch.cuh.
//
// Device layout written by to_device (u32 words), chosen so one lane's 16-byte load
// holds exactly the codes of its A fragments for a whole 64-k chunk:
//
//   word [(((t * kc + c) * V + v) * 32 + lane) * 4 + i]
//     t = 16-row tile, c = 64-k chunk (kc = ceil(kp / 64)), V = bits / 4, lane in [0, 32)
//     flat word f = 4v + i = s * V + u      (s = k16 step in the chunk, u < V)
//   element (j, h) = half h of A register j of lane (g = lane / 4, tq = lane % 4), step s:
//     row = 16t + g + 8 (j % 2),   col = 64c + 16s + 2 tq + h + 8 (j / 2)
//     4-bit: bits [4j + 16h, +4) of word f = s          ("interleaved": j in the low
//            nibbles, h in the high half, so (w >> 4j) & 0x000F000F is register j)
//     8-bit: byte 2 (j % 2) + h of word f = 2s + j / 2  (natural order; prmt picks pairs)
//   rows >= N and cols >= kp hold code 0.
//   scales [g * np + row] (f16 bits), zeros [g * np + row] (u8, asymmetric only),
//     np = N rounded up to 64, g < groups_alloc = ceil(64 kc / group) + 1; the extra
//     groups (K padding, and the "next group" a chunk may peek at) hold scale 0.
//
// Fast integer -> half conversion (no I2F): OR a code into the mantissa of a power of
// two whose ulp is 1, then subtract that power plus the zero point (exact):
//   fp16 4-bit: lop3((w >> 4j), 0x000F000F, 0x64006400) = half2(1024 + q_lo, 1024 + q_hi)
//   fp16 8-bit: prmt(w, 0x64646464) puts bytes under 0x64 -> 1024 + q (q < 1024 exact)
//   bf16 4-bit: lop3(..., 0x43004300) = bf162(128 + q)     (bf16 ulp at 128 is 1)
//   bf16 8-bit: prmt into fp32 0x4B0000qq = 2^23 + q, subtract in fp32, one cvt to bf16x2
//   then (v - (magic + z)) * s: the subtraction is exact, the product rounds once.
//
// This family's tile (the rest of the tiling is the skeleton's):
//   kTokN8 = 1, 2, 4, 8 n8 token columns by M: <= 8, 16, 32, more (8 to 64 tokens).
//   K streamed in 64-k chunks (4 MMA k-steps). Per stage: codes 64 x 64 x b/8 = 2 KB
//   (4-bit) / 4 KB (8-bit), X kTokens x 64 x 2 B (1 KB per 8 tokens), scales + zeros of
//   2 groups x 64 rows (384 B). kStages = 4 when 4 stages fit the 48 KB static shared
//   memory, else 3 (8-bit with 64 tokens: 12.4 KB/stage). Per warp and k-step: 1 A
//   fragment decoded (8 codes).
//
// Split-K (the skeleton's policy, cta_launch.cuh): e.g. N = K = 8192, M = 1 on 132 SMs:
// 128 row blocks, 5 slices of 26 chunks, 640 CTAs; workspace 5 x 1 x 8192 x 4 = 160 KB.
//
// Not here yet: the sm_90a wgmma/TMA path (sm_90a builds run this mma.sync kernel),
// stream-K, 2- and 3-bit codes. Oracle: int_quant/reference.hpp.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "lsgemm/core/cuda/common.cuh"
#include "lsgemm/core/cuda/cta.cuh"
#include "lsgemm/core/cuda/cta_codes.cuh"
#include "lsgemm/core/cuda/cta_launch.cuh"
#include "lsgemm/core/cuda/mma.cuh"
#include "lsgemm/core/epilogue.hpp"
#include "lsgemm/core/error.hpp"
#include "lsgemm/core/matrix.hpp"
#include "lsgemm/int_quant/format.hpp"

namespace lsgemm {
namespace int_quant {

inline constexpr int kCudaChunkK = 64;  // k per pipeline stage: 4 MMA k-steps of 16

// A packed weight in device memory, in the layout drawn at the top of this file: the
// shape (bits 4 or 8; kp a multiple of 16; kc 64-k chunks; groups_alloc = ceil(64 kc /
// group) + 1 scale and zero rows; symmetric: z = 2^(bits-1), no zero points stored),
// codes (np / 16 * kc * (bits / 4) * 128 words) and scales (DeviceWeight), and the
// zero points.
struct DeviceQuantizedMatrix : DeviceWeight<DeviceQuantizedMatrix> {
  DeviceBuffer<uint8_t> zeros;  // groups_alloc * np, asymmetric only

  DeviceQuantizedMatrix() { bits = 4; }
  size_t extra_bytes() const { return zeros.bytes(); }
  void clone_extra(DeviceQuantizedMatrix& c) const { c.zeros = zeros.clone(); }
};

namespace detail {

// The codes in the device layout (file comment; written by core/cuda/cta_codes.cuh,
// which block_fp shares), np / 16 * kc * (bits / 4) * 128 words. Host-only, so it can be
// checked without a GPU.
inline std::vector<uint32_t> repack_codes(const QuantizedMatrix& q, int64_t np, int64_t kc) {
  return lsgemm::detail::cta_repack_codes(q.tiles() * kTileRows, q.kp, q.bits, np, kc,
                                          [&q](int64_t r, int64_t c) { return q.code(r, c); });
}

// Scales (f16 bits) and zero points as [group][np]; groups >= q.groups() and rows >= n
// hold 0. zeros stays empty for symmetric weights.
inline void repack_groups(const QuantizedMatrix& q, int64_t np, int64_t groups_alloc, std::vector<uint16_t>& scales,
                          std::vector<uint8_t>& zeros) {
  const int64_t G = q.groups();
  scales.assign(size_t(groups_alloc * np), 0);
  zeros.assign(q.symmetric ? 0 : size_t(groups_alloc * np), 0);
  for (int64_t g = 0; g < G; ++g)
    for (int64_t r = 0; r < q.n; ++r) {
      const size_t hi = tile_const_index(r, g, G);
      scales[size_t(g * np + r)] = q.scales[hi];
      if (!q.symmetric) zeros[size_t(g * np + r)] = q.zeros[hi];
    }
}

using lsgemm::detail::bit_cast32;
using lsgemm::detail::lop3;

// One k16 step of one lane: 8 codes (one word for 4-bit, two for 8-bit) -> the four A
// registers, w = s * (q - z), rows r0 (registers 0, 2) and r0 + 8 (registers 1, 3).
template <class T, int kBits>
__device__ __forceinline__ void dequant_a_fragment(uint32_t w0, uint32_t w1, uint16_t s_lo_row, uint16_t s_hi_row,
                                                   uint32_t z_lo_row, uint32_t z_hi_row, uint32_t (&a)[4]) {
  if constexpr (std::is_same_v<T, __half>) {
    // Both halves of a register are the same row: broadcast that row's scale and its
    // magic + zero point.
    const __half2 s[2] = {bit_cast32<__half2>(uint32_t(s_lo_row) * 0x10001u),
                          bit_cast32<__half2>(uint32_t(s_hi_row) * 0x10001u)};
    const __half2 bias[2] = {bit_cast32<__half2>((0x6400u | z_lo_row) * 0x10001u),
                             bit_cast32<__half2>((0x6400u | z_hi_row) * 0x10001u)};
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      uint32_t v;
      if constexpr (kBits == 4) {
        v = lop3<0xEA>(w0 >> (4 * j), 0x000F000Fu, 0x64006400u);  // 1024 + q, 1024 + q'
      } else {
        v = __byte_perm(j < 2 ? w0 : w1, 0x64646464u, (j % 2) ? 0x4342u : 0x4140u);
      }
      a[j] = bit_cast32<uint32_t>(__hmul2(__hsub2(bit_cast32<__half2>(v), bias[j % 2]), s[j % 2]));
    }
  } else if constexpr (kBits == 4) {
    static_assert(std::is_same_v<T, __nv_bfloat16>, "T must be __half or __nv_bfloat16");
    const __nv_bfloat162 s[2] = {__float2bfloat162_rn(__half2float(__ushort_as_half(s_lo_row))),
                                 __float2bfloat162_rn(__half2float(__ushort_as_half(s_hi_row)))};
    const __nv_bfloat162 bias[2] = {bit_cast32<__nv_bfloat162>((0x4300u | z_lo_row) * 0x10001u),
                                    bit_cast32<__nv_bfloat162>((0x4300u | z_hi_row) * 0x10001u)};
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const uint32_t v = lop3<0xEA>(w0 >> (4 * j), 0x000F000Fu, 0x43004300u);  // 128 + q
      a[j] = bit_cast32<uint32_t>(__hmul2(__hsub2(bit_cast32<__nv_bfloat162>(v), bias[j % 2]), s[j % 2]));
    }
  } else {
    static_assert(std::is_same_v<T, __nv_bfloat16>, "T must be __half or __nv_bfloat16");
    // bf16 cannot hold 128 + q exactly for q >= 128, so 8-bit codes go through fp32:
    // 0x4B0000qq = 2^23 + q, minus (2^23 + z) is exact, times s rounds once in fp32
    // (exact for |q - z| < 256 and an f16 s: 8 + 11 bits), then one cvt to bf16.
    const float s[2] = {__half2float(__ushort_as_half(s_lo_row)), __half2float(__ushort_as_half(s_hi_row))};
    const float bias[2] = {__uint_as_float(0x4B000000u | z_lo_row), __uint_as_float(0x4B000000u | z_hi_row)};
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const uint32_t w = j < 2 ? w0 : w1;
      const uint32_t b0 = 2 * (j % 2);
      const float lo = __uint_as_float(__byte_perm(w, 0x4B000000u, 0x7540u | b0));
      const float hi = __uint_as_float(__byte_perm(w, 0x4B000000u, 0x7540u | (b0 + 1)));
      a[j] = bit_cast32<uint32_t>(__floats2bfloat162_rn((lo - bias[j % 2]) * s[j % 2], (hi - bias[j % 2]) * s[j % 2]));
    }
  }
}

// The weight's kernel arguments besides its codes.
struct WintWeights {
  const uint16_t* scales;
  const uint8_t* zeros;  // null: symmetric, z = zero_default
  int zero_default;
  int64_t np;
  int group;
  int groups_alloc;
};

// The family's policy for the CTA skeleton (core/cuda/cta.cuh): the scales and zero
// points a 64-k chunk needs in shared memory, and how a lane turns its codes into A
// fragments.
template <class T, int kBits>
struct WintPolicy {
  static_assert(kBits == 4 || kBits == 8, "W4 or W8");
  using Act = T;
  using Weights = WintWeights;
  using Args = lsgemm::detail::CtaArgs<T, Weights>;
  static constexpr int kRows = lsgemm::detail::kCtaRows;
  static constexpr int kChunkK = kCudaChunkK;
  static constexpr int kSteps = kChunkK / 16;                     // MMA k-steps per stage
  static constexpr int kWordsPerStep = kBits / 4;                 // u32 per lane per k-step: 8 codes
  static constexpr int kVecPerLane = kSteps * kWordsPerStep / 4;  // uint4 per lane per stage
  static constexpr int kCodeVecs = kVecPerLane * 32;              // 16 rows x 64 k x b/8
  static constexpr bool kEvenCodeCopy = true;  // every thread copies kVecPerLane vectors
  // Constants: scales then zero points, of 2 group slots (group >= 32: a chunk meets at
  // most two groups) x 64 rows.
  static constexpr int kScaleBytes = 2 * kRows * 2;
  static constexpr int kConstBytes = kScaleBytes + 2 * kRows;
  static constexpr int kStageBudget = 48 * 1024;  // the whole static shared memory
  static constexpr bool kFloatY = false;

  // A lane's codes and constants of one chunk: the A fragments of its kSteps k-steps.
  struct ADecoder {
    uint32_t words[4 * kVecPerLane];
    // Scales (f16 bits) and zero points of rows r0 and r0 + 8 in the chunk's two group
    // slots; named, not indexed, as the slot is only known at run time.
    uint16_t s00, s01, s10, s11;
    uint32_t z00, z01, z10, z11;
    int slot1_from;  // first k of the chunk in group slot 1

    __device__ __forceinline__ ADecoder(const WintPolicy& cta, const Args& p, const unsigned char* codes,
                                        const unsigned char* consts, int c) {
      const int chunk_k = c * kChunkK;
      slot1_from = (chunk_k / p.w.group + 1) * p.w.group - chunk_k;
      // The lane's kVecPerLane vectors: words 4v .. 4v + 3 (file comment).
      const uint4* lane_codes = reinterpret_cast<const uint4*>(codes) + cta.warp * kCodeVecs + cta.lane;
#pragma unroll
      for (int v = 0; v < kVecPerLane; ++v) {
        const uint4 q = lane_codes[v * 32];
        words[4 * v + 0] = q.x;
        words[4 * v + 1] = q.y;
        words[4 * v + 2] = q.z;
        words[4 * v + 3] = q.w;
      }
      const uint16_t* sc = reinterpret_cast<const uint16_t*>(consts);
      const unsigned char* zp = consts + kScaleBytes;
      const int r0 = cta.warp * 16 + cta.lane / 4;  // rows r0 and r0 + 8
      s00 = sc[r0];
      s01 = sc[r0 + 8];
      s10 = sc[kRows + r0];
      s11 = sc[kRows + r0 + 8];
      z00 = z01 = z10 = z11 = p.w.zero_default;
      if (p.w.zeros != nullptr) {
        z00 = zp[r0];
        z01 = zp[r0 + 8];
        z10 = zp[kRows + r0];
        z11 = zp[kRows + r0 + 8];
      }
    }

    __device__ __forceinline__ void a_fragment(const Args&, int s, uint32_t (&a)[4]) const {
      const bool slot1 = 16 * s >= slot1_from;  // group boundaries fall on k-steps (group % 16 == 0)
      dequant_a_fragment<T, kBits>(words[s * kWordsPerStep], words[s * kWordsPerStep + kWordsPerStep - 1],
                                   slot1 ? s10 : s00, slot1 ? s11 : s01, slot1 ? z10 : z00, slot1 ? z11 : z01, a);
    }
  };

  int64_t n0;
  int warp, lane;

  __device__ __forceinline__ WintPolicy(const Args&, int64_t n0_, int warp_, int lane_)
      : n0(n0_), warp(warp_), lane(lane_) {}

  // Scales and zero points of the (at most two) groups chunk c meets: 2 x 128 B of
  // scales (threads 0..15), 2 x 64 B of zeros (threads 16..23).
  __device__ __forceinline__ void load_consts(const Args& p, unsigned char* consts, int c, int tid) const {
    using lsgemm::detail::load_group_rows;
    const int g0 = (c * kChunkK) / p.w.group;
    if (tid < 16)
      load_group_rows(consts, p.w.scales, tid, g0, p.w.groups_alloc, p.w.np, n0);
    else if (tid < 24 && p.w.zeros != nullptr)
      load_group_rows(consts + kScaleBytes, p.w.zeros, tid - 16, g0, p.w.groups_alloc, p.w.np, n0);
  }

  __device__ __forceinline__ ADecoder decoder(const Args& p, const unsigned char* codes, const unsigned char* consts,
                                              int c) const {
    return ADecoder(*this, p, codes, consts, c);
  }
};

// The family as the skeleton's host side sees it (core/cuda/cta_launch.cuh).
struct WintFamily {
  using Matrix = DeviceQuantizedMatrix;
  static constexpr lsgemm::detail::CtaFamilyNames kNames{"int_quant", "DeviceQuantizedMatrix", "to_device"};
  using BitWidths = std::integer_sequence<int, 4, 8>;
  using TokN8s = std::integer_sequence<int, 1, 2, 4, 8>;
  template <class T, int kBits>
  using Policy = WintPolicy<T, kBits>;

  static constexpr int code_vecs(int bits) { return bits / 4 * 32; }
  template <class T, class TY>
  static const char* call_name() {
    return std::is_same_v<T, __half> ? "matmul(CUDA, fp16)" : "matmul(CUDA, bf16)";
  }

  static void check_weight(const char* fn, const Matrix& w) {
    using lsgemm::detail::require;
    require(w.bits == 4 || w.bits == 8, fn, ": weight bits=", w.bits, " (allowed on the CUDA path: 4, 8)");
    require(w.np % lsgemm::detail::kCtaRows == 0 && w.np >= w.n && w.kc * kCudaChunkK >= w.kp && w.group > 0 &&
                w.group % 16 == 0 && w.groups_alloc * w.group >= w.kc * kCudaChunkK + w.group,
            fn, ": the DeviceQuantizedMatrix's metadata is inconsistent (np=", w.np, " kc=", w.kc,
            " group=", w.group, " groups_alloc=", w.groups_alloc, "); build it with to_device()");
  }
  static bool extra_consts_match(const Matrix& w) { return w.symmetric || w.zeros.size() == w.scales.size(); }

  // n8 token columns per CTA grow with M up to 8 (64 tokens).
  static int tok_n8(int64_t M) { return M <= 8 ? 1 : M <= 16 ? 2 : M <= 32 ? 4 : 8; }

  static WintWeights weights(const Matrix& w) {
    return {w.scales.data(), w.symmetric ? nullptr : w.zeros.data(), 1 << (w.bits - 1), w.np, w.group,
            int(w.groups_alloc)};
  }
};

}  // namespace detail

// Repacks a host-packed weight into the device layout and uploads it on `stream`
// (synchronised before returning, so the staging vectors can go). Throws Error for
// bits other than 4 / 8, ActMode::kInt8 weights, or inconsistent packed sizes.
inline DeviceQuantizedMatrix to_device(const QuantizedMatrix& q, cudaStream_t stream = 0) {
  using lsgemm::detail::require;
  require(q.bits == 4 || q.bits == 8, "int_quant::to_device: bits=", q.bits,
          " is not supported on the CUDA path (allowed: 4, 8)");
  require(q.act == ActMode::kFloat, "int_quant::to_device: act=", act_mode_name(q.act),
          " is not supported on the CUDA path (it multiplies half/bf16 activations, i.e. act=float;"
          " the codes are the same, so set act = ActMode::kFloat on a clone to use this weight)");
  detail::check_packed(q, "int_quant::to_device");

  DeviceQuantizedMatrix d;
  static_cast<DeviceWeightShape&>(d) =
      lsgemm::detail::cta_weight_shape(q, q.bits, kCudaChunkK, "int_quant::to_device");
  d.groups_alloc = (d.kc * kCudaChunkK + q.group - 1) / q.group + 1;
  d.device = lsgemm::detail::current_device();

  const std::vector<uint32_t> words = detail::repack_codes(q, d.np, d.kc);
  std::vector<uint16_t> scales;
  std::vector<uint8_t> zeros;
  detail::repack_groups(q, d.np, d.groups_alloc, scales, zeros);
  lsgemm::detail::upload_staged(stream, std::tie(d.codes, words), std::tie(d.scales, scales), std::tie(d.zeros, zeros));
  return d;
}

using lsgemm::workspace_bytes;  // workspace_bytes(w, M) for a DeviceQuantizedMatrix

}  // namespace int_quant

template <>
struct detail::CtaFamilyOf<int_quant::DeviceQuantizedMatrix> {
  using type = int_quant::detail::WintFamily;
};

// Y = X * W^T (+ bias) on the GPU, int_quant weights from int_quant::to_device. X, Y,
// workspace and epi.bias (N floats, or null) are device pointers. workspace: at least
// int_quant::workspace_bytes(w, M) bytes of device memory for split-K, or nullptr and 0
// to run without it. Asynchronous on `stream`. Throws lsgemm::Error on bad arguments
// (before launching anything) and on CUDA launch errors.
inline void matmul(DeviceView<const __half> X, const int_quant::DeviceQuantizedMatrix& w, DeviceView<__half> Y,
                   void* workspace, size_t workspace_bytes, cudaStream_t stream = 0, const Epilogue& epi = {}) {
  detail::cta_matmul<int_quant::detail::WintFamily>(X, w, Y, workspace, workspace_bytes, stream, epi);
}

inline void matmul(DeviceView<const __nv_bfloat16> X, const int_quant::DeviceQuantizedMatrix& w,
                   DeviceView<__nv_bfloat16> Y, void* workspace, size_t workspace_bytes, cudaStream_t stream = 0,
                   const Epilogue& epi = {}) {
  detail::cta_matmul<int_quant::detail::WintFamily>(X, w, Y, workspace, workspace_bytes, stream, epi);
}

}  // namespace lsgemm
