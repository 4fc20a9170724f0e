#pragma once
// lut on CUDA: 1/2/3/4-bit and ternary weights x fp16/bf16 activations on tensor cores
// (sm_80+; sm_90a builds run the same mma.sync kernel).
//
//   auto wd = lsgemm::lut::to_device(w);                   // once: repack + upload
//   size_t ws = lsgemm::lut::workspace_bytes(wd, M);       // 0 when no split-K
//   lsgemm::matmul(X, wd, Y, ws_ptr, ws, stream, epi);     // X: M x K half/bf16; Y: same type or float
//
// Contract: Y[M x N] = X[M x K] * W^T (+ bias[N]) (Y += ... with epi.accumulate), with X,
// Y, the workspace and epi.bias (N floats, or null) in device memory of the device that
// was current at to_device(). Asynchronous on `stream`; no allocation and no host
// synchronisation, so calls can be captured in a CUDA graph.
//
// Numerics: this is the *float* variant of the family. The host path's exact mode
// quantizes X to int8 and its fast mode quantizes the tables; on the GPU neither X nor
// any table is quantized: each weight is decoded to the activation type as
//     w = S * c + C          (c = the stored code, (S, C) = LutMatrix::group_consts)
// in one fused multiply-add (one rounding), and the products are summed in fp32 by the
// tensor cores. So the result is NOT bit-identical to reference::matmul: it is closer to
// the exact product than either table mode, and the tests bound |GPU - reference| by the
// decode/accumulation roundings plus the reference's own X (exact) or table (fast)
// quantization error. The weight's TableMode is ignored here.
//
// Why tensor cores and not tables (or dp4a) for decode shapes, M <= 8. H100 SXM at
// 3.35 TB/s over 132 SMs x 1.755 GHz streams 14.5 B per SM-cycle, so 256 weights of b
// bits (32 b bytes) last 2.2 b SM-cycles, in which the SM issues 8.8 b warp-instructions
// (4 schedulers). Per 256 weights and per token:
//   * T-MAC tables in shared memory: 64 b lookups (one per 4 weights per plane), each an
//     index extract + LDS + FADD = 6 b warp-instructions, and 2 b LDS wavefronts against
//     the SM's one shared-memory wavefront per cycle: 2 b of the 2.2 b cycles at M = 1
//     even with no bank conflict (random 4-bit indices into 16-entry tables conflict ~3x),
//     and it all scales with M: 8x over budget at M = 8.
//   * decode to int8 + dp4a: needs X quantized to int8 (the exact-mode numerics plus a
//     pass over X); 64 x 2.5 decode + 64 M dp4a lane-ops = 5 + 2 M warp-instructions:
//     21 at M = 8 against 17.6 for b = 2.
//   * decode to fp16 + mma.sync.m16n8k16 (this file): one MMA covers 16 rows x 16 k x 8
//     tokens, so M = 1..8 costs the same. Per 256 weights (one k-step of a warp) the
//     sm_90a SASS has 4 x (SHF, LOP3 mask|magic, HADD2 -magic, HFMA2 S c + C) (b = 3: a
//     second SHF + LOP3 per register), one LDSM, one HMMA, and an address IMAD and a
//     group test: 20.5 (b = 1), 21 (b = 2), 28.5 (b = 3), 20.5 (b = 4) warp-instructions,
//     plus ~16 per group change (group 32: every 2nd step). Against the budgets of 8.8,
//     17.6, 26.4 and 35: 4-bit is bandwidth-bound, 2- and 3-bit are within ~1.2x of it,
//     1-bit is ~2.3x issue-bound (see "Not here yet"). At b = 2 that is
//     5.3 SM-cycles per 256 weights against the tables' ~12 (their LDS wavefronts alone at
//     ~3-way conflicts) at M = 1 and ~96 at M = 8.
//   The same decode feeds the prefill tiles (32 tokens per CTA), where it is amortized
//   over 4 MMAs per step.
//
// Device layout written by to_device (u32 words), chosen so one lane's words hold
// exactly the codes of its A fragments (mma.m16n8k16, operand A = 16 weight rows x 16 k)
// for a 128-k chunk (8 MMA k-steps):
//
//   word [((t * kc + c) * 2b + f) * 32 + lane]
//     t = 16-row tile, c = 128-k chunk (kc = ceil(kp / 128)), f < 2b word of the lane,
//     lane in [0, 32): g = lane / 4, tq = lane % 4
//   element (j, h) = half h of A register j of lane (g, tq) in k-step s (s < 8):
//     row = 16 t + g + 8 (j % 2),   col = 128 c + 16 s + 2 tq + h + 8 (j / 2)
//   A b-bit code is stored as slices of width 4, 2 or 1 bit (b = 3: a 2-bit slice with
//   bits 0..1 of the code, then a 1-bit slice with bit 2). A slice of width wd holds its
//   bits in words [f0, f0 + 2 wd), 4 / wd k-steps per word:
//     word f0 + s / (4 / wd), bits [wd * jj + 16 h, + wd),  jj = (s % (4 / wd)) * 4 + j
//   so register j of step s is ((word >> wd * jj) & (2^wd - 1) * 0x00010001) for every
//   width: one shift and one lop3 (int_quant's "interleaved" 4-bit order is the wd = 4
//   case). Rows >= N and columns >= kp hold the zero code (ternary: 1, t = 0).
//   Ternary triples (1.67 bpw on the host) are expanded to 2-bit ternary codes q = t + 1:
//   decoding a 4-bit triple index + sign into three fp16 trits takes a table read and a
//   sign flip per triple, and a 16-k MMA step holds only 12 k of triples: ~24
//   warp-instructions per 256 weights (6 SM-cycles), against the 2-bit decode's 21 (5.3
//   SM-cycles), which already covers the 2-bit layout's 20 % more bytes (4.4 SM-cycles).
//   scales [g * np + 16 (row / 16) + 2 (row % 8) + (row % 16) / 8] (rows r and r + 8 of a
//   tile side by side: one 32-bit load gives a lane both of its rows), offsets likewise
//   (f16 bits, as the host stores them; asymmetric uniform only), np = N rounded up to
//   64, g < groups_alloc = ((128 kc - 1) >> group_shift) + 1, where the device group is
//   2^group_shift (group_shift = 30 for per-channel/per-tensor: one group); groups the
//   host does not have, and rows >= N, hold 0.
//
// Decode (per A register: two codes): OR the code into the mantissa of a power of two
// whose ulp is 1 (fp16 1024 = 0x6400, bf16 128 = 0x4300), subtract that power (exact),
// then one fma with the per-(row, group) constants:
//     S = s * scale_factor,  C = S * offset_factor + m      (exact in fp32; rounded once)
//     uniform asymmetric  (s, m): (1, 0)        -> S = s,  C = m
//     uniform symmetric   (2, -(2^b - 1)/2)     -> S = 2s, C = -(2^b - 1) s
//     ternary planes and triples (1, -1)        -> S = s,  C = -s   (codes q = t + 1)
// which is exactly group_consts (triples: s t = s (t + 1) - s). S and C are rounded to the
// activation type once per (row, group) (exact for fp16 except symmetric C, whose
// rounding error is within eps * |C * sum(x)|); to_device checks that S, C and every
// decoded weight fit in fp16.
//
// How: the weight-stationary CTA skeleton (core/cuda/cta.cuh: Y^T = W * X^T on
// mma.sync.m16n8k16) with this family's policy, LutPolicy: the weight stage (codes,
// scales and offsets of a 128-k chunk into shared memory) and the A-fragment decode
// above. Host checks, split-K planning and the launch switch: core/cuda/cta_launch.cuh.
//
// This family's tile (the rest of the tiling is the skeleton's):
//   kTokN8 = 1 for M <= 8, else 4 (8 or 32 tokens).
//   K streamed in 128-k chunks (8 MMA k-steps). Per stage: codes 64 x 128 x b / 8 = b KB,
//   X kTokens x 128 x 2 B (2 KB per 8 tokens), scales and offsets of up to 4 groups x 64
//   rows (1 KB). kStages = 4 when 4 stages fit in 40 KB (all decode tiles: 16 to 28 KB),
//   else 3 (32 tokens, b >= 2: 33 to 39 KB), so that 4 CTAs per SM fit A100's 164 KB as
//   well as H100's 228 KB. Per warp and k-step: 4 A registers decoded (8 codes).
//
// Split-K (the skeleton's policy, cta_launch.cuh; 4 CTAs x 3 stages in flight x 2 KB at
// b = 2 is what Little's law asks): slices of >= 4 chunks = 512 k. E.g. N = K = 4096,
// M = 1, 132 SMs: 64 row blocks, 8 slices of 4 chunks, 512 CTAs, workspace 128 KB.
//
// Not here yet:
//   * decode shapes: scales applied once per group after the MMA (A = the exact integer
//     codes, y += S acc + C sum(x), sum(x) from one extra MMA against a ones fragment)
//     drops the HFMA2: ~17 instructions per 256 weights, bandwidth-bound at 2 bits; 1-bit
//     as a select between the two weights of a group, with the mask built by PRMT's
//     sign-replicate mode from 8 shifted copies of a word (2.5 instructions per register);
//   * prefill: 64 x 32 CTA tiles re-read X from L2 once per 64 weight rows; a 128 x 128
//     tile with the sm_90a wgmma/TMA path (weights decoded once per 128 tokens, X
//     multicast across a cluster) would take mma.sync's ~60 % of the tensor peak to
//     wgmma's ~80 %; stream-K instead of split-K for the tail wave.
// Oracle: lut/reference.hpp (tables), and Sum (S c + C) x from the packed codes.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "lsgemm/core/cuda/common.cuh"
#include "lsgemm/core/cuda/cta.cuh"
#include "lsgemm/core/cuda/cta_launch.cuh"
#include "lsgemm/core/cuda/mma.cuh"
#include "lsgemm/core/epilogue.hpp"
#include "lsgemm/core/error.hpp"
#include "lsgemm/core/matrix.hpp"
#include "lsgemm/core/numeric.hpp"
#include "lsgemm/lut/format.hpp"

namespace lsgemm {
namespace lut {

inline constexpr int kCudaChunkK = 128;         // k per pipeline stage: 8 MMA k-steps of 16
inline constexpr int kCudaMaxSlots = kCudaChunkK / 32;  // groups one chunk meets (group 32)
inline constexpr int kCudaPerChannelShift = 30;  // device group 2^30: one group for any K <= 2^30

// A packed lut weight in device memory, in the layout drawn at the top of this file:
// the shape (bits per device code 1..4, ternary kinds 2; kc 128-k chunks; groups_alloc
// = ((128 kc - 1) >> group_shift) + 1 scale rows), codes (np / 16 * kc * 2 bits * 32
// words) and scales (DeviceWeight), the decode constants and the offsets.
struct DeviceLutMatrix : DeviceWeight<DeviceLutMatrix> {
  WeightKind kind = WeightKind::kUniform;  // of the host weight (triples: stored as 2-bit codes)
  int group_shift = 7;        // device group = 2^group_shift (5..8, or 30 for one group)
  float scale_factor = 1.0f;  // S = s * scale_factor
  float offset_factor = 0.0f; // C = S * offset_factor + m
  DeviceBuffer<uint16_t> offsets;  // groups_alloc * np, f16 bits (uniform asymmetric only)

  DeviceLutMatrix() { bits = 2; }
  size_t extra_bytes() const { return offsets.bytes(); }
  void clone_extra(DeviceLutMatrix& c) const {
    c.kind = kind;
    c.group_shift = group_shift;
    c.scale_factor = scale_factor;
    c.offset_factor = offset_factor;
    c.offsets = offsets.clone();
  }
};

namespace detail {

// ---- the device code layout (host and device: the tests decode it on the host) ----

// Slices of a b-bit code: b = 1, 2, 4 one slice of that width; b = 3 a 2-bit slice
// (code bits 0..1, words 0..3) and a 1-bit slice (code bit 2, words 4..5).
__host__ __device__ constexpr int code_slice_count(int bits) { return bits == 3 ? 2 : 1; }
__host__ __device__ constexpr int code_slice_width(int bits, int i) { return bits == 3 ? (i == 0 ? 2 : 1) : bits; }
__host__ __device__ constexpr int code_slice_offset(int bits, int i) { return bits == 3 && i == 1 ? 2 : 0; }
__host__ __device__ constexpr int code_slice_first_word(int bits, int i) { return bits == 3 && i == 1 ? 4 : 0; }

// Word (f) and bit position of half h of A register j in k-step s, for slice i.
__host__ __device__ constexpr int code_slice_word(int bits, int i, int s) {
  return code_slice_first_word(bits, i) + s / (4 / code_slice_width(bits, i));
}
__host__ __device__ constexpr int code_slice_bit(int bits, int i, int s, int j, int h) {
  return code_slice_width(bits, i) * ((s % (4 / code_slice_width(bits, i))) * 4 + j) + 16 * h;
}

// Register j of k-step s from a lane's 2 * kBits words: magic | code in each 16-bit half
// (half 0 = the lower column). s and j are compile-time constants once the caller's
// loops are unrolled, so each slice is one shift and one lop3.
template <int kBits>
__host__ __device__ __forceinline__ uint32_t code_pair(const uint32_t* w, int s, int j, uint32_t magic) {
  uint32_t v = magic;
#pragma unroll
  for (int i = 0; i < code_slice_count(kBits); ++i) {
    const int wd = code_slice_width(kBits, i), off = code_slice_offset(kBits, i);
    const uint32_t word = w[code_slice_word(kBits, i, s)];
    const int sh = code_slice_bit(kBits, i, s, j, 0) - off;  // moves the slice's bits to bit `off`
    const uint32_t mask = (((1u << wd) - 1u) * 0x00010001u) << off;
    const uint32_t moved = sh >= 0 ? word >> sh : word << -sh;
#if defined(__CUDA_ARCH__)
    v = lsgemm::detail::lop3<0xEA>(moved, mask, v);  // (moved & mask) | v in one instruction
#else
    v |= moved & mask;
#endif
  }
  return v;
}

// The code the device layout holds for row r, column c (r < np, c < 128 kc): the host
// code (triples: t + 1), and the zero code outside the host's padded shape.
inline int device_code_of(const LutMatrix& w, int64_t r, int64_t c) {
  const int zero = w.kind == WeightKind::kUniform ? 0 : 1;
  if (r >= w.tiles() * kTileRows || c >= w.kp) return zero;
  const int q = w.code(r, c);
  return w.triples() ? q + 1 : q;
}

inline int device_bits_of(const LutMatrix& w) { return w.kind == WeightKind::kUniform ? w.bits : 2; }

// The codes in the device layout (file comment), np / 16 * kc * 2 bits * 32 words.
// Host-only, so it can be checked without a GPU.
inline std::vector<uint32_t> repack_codes(const LutMatrix& w, int64_t np, int64_t kc) {
  const int bits = device_bits_of(w);
  const int64_t words_per_tile_chunk = int64_t(2 * bits) * 32;
  std::vector<uint32_t> words(size_t(np / kTileRows * kc * words_per_tile_chunk), 0u);
  for (int64_t r = 0; r < np; ++r) {
    const int64_t t = r / kTileRows, rr = r % kTileRows;
    const int g = int(rr % 8), jrow = int(rr / 8);
    for (int64_t col = 0; col < kc * kCudaChunkK; ++col) {
      const uint32_t q = uint32_t(device_code_of(w, r, col));
      if (q == 0) continue;
      const int64_t c = col / kCudaChunkK;
      const int kk = int(col % kCudaChunkK), s = kk / 16, k16 = kk % 16;
      const int j = jrow + 2 * (k16 / 8), tq = (k16 % 8) / 2, h = k16 % 2, lane = 4 * g + tq;
      for (int i = 0; i < code_slice_count(bits); ++i) {
        const uint32_t part = (q >> code_slice_offset(bits, i)) & ((1u << code_slice_width(bits, i)) - 1u);
        const int64_t f = code_slice_word(bits, i, s);
        words[size_t(((t * kc + c) * (2 * bits) + f) * 32 + lane)] |= part << code_slice_bit(bits, i, s, j, h);
      }
    }
  }
  return words;
}

// Position of row r in a [group][np] row of constants: rows r and r + 8 of each 16-row
// tile are adjacent, so the lane that owns both (mma A fragment rows g and g + 8) reads
// them as one 32-bit half2.
inline int64_t const_position(int64_t r) { return r / 16 * 16 + 2 * (r % 8) + (r % 16) / 8; }

// Scales and offsets as [group][np] (f16 bits), rows in const_position order; groups >=
// w.groups() and rows >= n hold 0.
inline void repack_consts(const LutMatrix& w, int64_t np, int64_t groups_alloc, std::vector<uint16_t>& scales,
                          std::vector<uint16_t>& offsets) {
  const int64_t G = w.groups();
  const bool has_off = w.offsets.size() != 0;
  scales.assign(size_t(groups_alloc * np), 0);
  offsets.assign(has_off ? size_t(groups_alloc * np) : 0, 0);
  for (int64_t g = 0; g < std::min(G, groups_alloc); ++g)
    for (int64_t r = 0; r < w.n; ++r) {
      scales[size_t(g * np + const_position(r))] = w.scales[w.const_index(r, g)];
      if (has_off) offsets[size_t(g * np + const_position(r))] = w.offsets[w.const_index(r, g)];
    }
}

inline int log2_exact(int64_t v) {
  int s = 0;
  while ((int64_t(1) << s) < v) ++s;
  return s;
}

}  // namespace detail

// Repacks a host-packed lut weight into the device layout and uploads it on `stream`
// (synchronised before returning, so the staging vectors can go). Throws Error for
// inconsistent packed sizes, K > 2^30, or constants the fp16 decode cannot represent.
// Every kind, bit width and group of the host format is accepted; the table mode is
// ignored (the GPU path is the float variant, file comment).
inline DeviceLutMatrix to_device(const LutMatrix& w, cudaStream_t stream = 0) {
  using lsgemm::detail::require;
  detail::check_packed(w, "lut::to_device");

  DeviceLutMatrix d;
  static_cast<DeviceWeightShape&>(d) =
      lsgemm::detail::cta_weight_shape(w, detail::device_bits_of(w), kCudaChunkK, "lut::to_device");
  d.kind = w.kind;
  d.group_shift = w.per_channel ? kCudaPerChannelShift : detail::log2_exact(w.group);
  d.groups_alloc = ((d.kc * kCudaChunkK - 1) >> d.group_shift) + 1;
  if (w.kind == WeightKind::kUniform && w.symmetric) {
    d.scale_factor = 2.0f;
    d.offset_factor = -float((1 << w.bits) - 1) * 0.5f;
  } else if (w.kind == WeightKind::kUniform) {
    d.scale_factor = 1.0f;
    d.offset_factor = 0.0f;
  } else {
    d.scale_factor = 1.0f;
    d.offset_factor = -1.0f;
  }

  // The decode computes S and C in fp32 (exactly) and rounds them, and every weight
  // S c + C, to the activation type: all must be finite in fp16 (the narrower range).
  const int qmax = w.kind == WeightKind::kUniform ? (1 << w.bits) - 1 : 2;
  for (int64_t r = 0; r < w.n; ++r)
    for (int64_t g = 0; g < w.groups(); ++g) {
      const float S = w.scale(r, g) * d.scale_factor;
      const float C = S * d.offset_factor + w.offset(r, g);
      const float hi = std::max({std::fabs(S), std::fabs(C), std::fabs(S * float(qmax) + C)});
      require(std::isfinite(hi) && hi <= 65504.0f, "lut::to_device: row ", r, " group ", g, " has scale ",
              w.scale(r, g), " and offset ", w.offset(r, g), ": the CUDA decode needs S=", S, ", C=", C,
              " and S*", qmax, "+C within fp16's 65504");
    }

  const std::vector<uint32_t> words = detail::repack_codes(w, d.np, d.kc);
  std::vector<uint16_t> scales, offsets;
  detail::repack_consts(w, d.np, d.groups_alloc, scales, offsets);

  d.device = lsgemm::detail::current_device();
  lsgemm::detail::upload_staged(stream, std::tie(d.codes, words), std::tie(d.scales, scales),
                                std::tie(d.offsets, offsets));
  return d;
}

using lsgemm::workspace_bytes;  // workspace_bytes(w, M) for a DeviceLutMatrix

namespace detail {

using lsgemm::detail::bit_cast32;

// The activation type's packed pair and the power of two whose ulp is 1.
template <class T>
struct CudaPair;
template <>
struct CudaPair<__half> {
  using type = __half2;
  static constexpr uint32_t kMagic = 0x64006400u;  // (1024, 1024): 10 mantissa bits
};
template <>
struct CudaPair<__nv_bfloat16> {
  using type = __nv_bfloat162;
  static constexpr uint32_t kMagic = 0x43004300u;  // (128, 128): 7 mantissa bits, codes <= 15
};

// The per-(row, group) constants of one lane's two rows from the stored f16 scale and
// offset pairs: S = s * scale_factor, C = S * offset_factor + m, each rounded once to T.
// fp16: in half2 arithmetic (s * 1 or 2 is exact, as to_device checked the range, and
// the fma rounds the exact S * offset_factor + m once: the same as fp32 then rounding);
// 4 instructions per group. bf16: through fp32 (the stored values are f16).
template <class T>
struct ConstFactors {
  __half2 sfac, cfac;  // fp16 path
  float sf, cf;        // bf16 path
};
template <class T>
__device__ __forceinline__ ConstFactors<T> make_const_factors(float scale_factor, float offset_factor) {
  ConstFactors<T> f;
  f.sfac = __float2half2_rn(scale_factor);   // 1 or 2: exact
  f.cfac = __float2half2_rn(offset_factor);  // 0, -1 or -(2^b - 1) / 2: exact
  f.sf = scale_factor;
  f.cf = offset_factor;
  return f;
}
template <class T>
__device__ __forceinline__ void group_consts_pair(uint32_t s_pair, uint32_t m_pair, const ConstFactors<T>& f,
                                                  typename CudaPair<T>::type (&S)[2],
                                                  typename CudaPair<T>::type (&C)[2]) {
  if constexpr (std::is_same_v<T, __half>) {
    const __half2 s2 = __hmul2(bit_cast32<__half2>(s_pair), f.sfac);
    const __half2 c2 = __hfma2(s2, f.cfac, bit_cast32<__half2>(m_pair));
    S[0] = __low2half2(s2);
    S[1] = __high2half2(s2);
    C[0] = __low2half2(c2);
    C[1] = __high2half2(c2);
  } else {
    const float2 s = __half22float2(bit_cast32<__half2>(s_pair));
    const float2 m = __half22float2(bit_cast32<__half2>(m_pair));
    const float s0 = s.x * f.sf, s1 = s.y * f.sf;
    S[0] = __float2bfloat162_rn(s0);
    S[1] = __float2bfloat162_rn(s1);
    C[0] = __float2bfloat162_rn(fmaf(s0, f.cf, m.x));
    C[1] = __float2bfloat162_rn(fmaf(s1, f.cf, m.y));
  }
}

// The weight's kernel arguments besides its codes.
struct LutWeights {
  const uint16_t* scales;
  const uint16_t* offsets;  // null: m = 0
  float scale_factor, offset_factor;
  int64_t np;
  int group_shift;
  int groups_alloc;
};

// The family's policy for the CTA skeleton (core/cuda/cta.cuh): the scales and offsets
// a 128-k chunk needs in shared memory, and how a lane turns its codes into A fragments
// (w = S c + C, file comment).
template <class T, int kBits>
struct LutPolicy {
  static_assert(kBits >= 1 && kBits <= 4, "codes of 1 to 4 bits");
  using Act = T;
  using Weights = LutWeights;
  using Args = lsgemm::detail::CtaArgs<T, Weights>;
  using T2 = typename CudaPair<T>::type;
  static constexpr int kRows = lsgemm::detail::kCtaRows;
  static constexpr int kChunkK = kCudaChunkK;
  static constexpr int kSteps = kChunkK / 16;          // MMA k-steps per stage
  static constexpr int kWordsPerLane = 2 * kBits;      // 8 steps x 8 codes x b bits / 32
  static constexpr int kCodeVecs = kWordsPerLane * 8;  // 16 rows x 128 k x b / 8, in 16-byte vectors
  // A strided copy: at b = 1 and 3 a stage's 64 b vectors do not split evenly over the
  // 128 threads. (At b = 2 and 4 they do, and the even copy would issue the same copies
  // without the loop's bound tests: left to a change that measures it.)
  static constexpr bool kEvenCodeCopy = false;
  // Constants: scales then offsets, each of kCudaMaxSlots group slots x 64 rows x f16.
  static constexpr int kSlotBytes = kCudaMaxSlots * kRows * 2;
  static constexpr int kConstBytes = 2 * kSlotBytes;
  // 4 stages when they take <= 40 KB, so that 4 CTAs (+ 1 KB reserved each) fit A100's
  // 164 KB of shared memory per SM; else 3 (prefill tiles with b >= 2, compute-bound).
  static constexpr int kStageBudget = 40 * 1024;
  static constexpr bool kFloatY = true;

  // A lane's codes of one chunk and the constants of its current group: the A fragments
  // of the chunk's k-steps, asked for in order (a new group reloads S and C).
  struct ADecoder {
    uint32_t w[kWordsPerLane];    // (8 steps x 8 codes x b) bits
    const unsigned char* consts;  // the stage's scales, then its offsets
    int row_pos;                  // const_position of this lane's row r0 within the CTA
    int group_mask;
    ConstFactors<T> factors;
    T2 S[2], C[2];                // (S, S) and (C, C) of rows r0 and r0 + 8 in the current group

    __device__ __forceinline__ ADecoder(const LutPolicy& cta, const unsigned char* codes,
                                        const unsigned char* stage_consts)
        : consts(stage_consts),
          row_pos(cta.warp * 16 + 2 * (cta.lane / 4)),
          group_mask(cta.group_mask),
          factors(cta.factors) {
      // Word f of the lane is 32-bit word (warp * kWordsPerLane + f) * 32 + lane.
      const uint32_t* lane_words = reinterpret_cast<const uint32_t*>(codes) + cta.warp * kWordsPerLane * 32 + cta.lane;
#pragma unroll
      for (int f = 0; f < kWordsPerLane; ++f) w[f] = lane_words[f * 32];
    }

    __device__ __forceinline__ void a_fragment(const Args& p, int s, uint32_t (&a)[4]) {
      constexpr uint32_t kMagic = CudaPair<T>::kMagic;
      if (s == 0 || ((16 * s) & group_mask) == 0) {  // a new group (uniform across the CTA)
        const int pos = ((16 * s) >> p.w.group_shift) * kRows + row_pos;
        const uint16_t* sc = reinterpret_cast<const uint16_t*>(consts);
        const uint16_t* of = reinterpret_cast<const uint16_t*>(consts + kSlotBytes);
        const uint32_t s_pair = *reinterpret_cast<const uint32_t*>(sc + pos);  // (s[r0], s[r0 + 8])
        const uint32_t m_pair = p.w.offsets != nullptr ? *reinterpret_cast<const uint32_t*>(of + pos) : 0u;
        group_consts_pair<T>(s_pair, m_pair, factors, S, C);
      }
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const T2 code = __hsub2(bit_cast32<T2>(code_pair<kBits>(w, s, j, kMagic)), bit_cast32<T2>(kMagic));
        a[j] = bit_cast32<uint32_t>(__hfma2(code, S[j % 2], C[j % 2]));  // w = S c + C, one rounding
      }
    }
  };

  int64_t n0;
  int warp, lane;
  // Group slots a chunk meets: 128 / group (group <= 128; chunks and groups are aligned
  // powers of two, so no chunk straddles a group it does not fully contain), else 1.
  int nslots;
  int group_mask;
  ConstFactors<T> factors;

  __device__ __forceinline__ LutPolicy(const Args& p, int64_t n0_, int warp_, int lane_)
      : n0(n0_),
        warp(warp_),
        lane(lane_),
        nslots(max(1, kChunkK >> p.w.group_shift)),
        group_mask((1 << p.w.group_shift) - 1),
        factors(make_const_factors<T>(p.w.scale_factor, p.w.offset_factor)) {}

  // Scales and offsets of the groups chunk c meets: nslots x 128 B each (8 threads per
  // slot; scales from thread 0, offsets from thread 64).
  __device__ __forceinline__ void load_consts(const Args& p, unsigned char* consts, int c, int tid) const {
    using lsgemm::detail::load_group_rows;
    const int g0 = (c * kChunkK) >> p.w.group_shift;
    if (tid < 8 * nslots)
      load_group_rows(consts, p.w.scales, tid, g0, p.w.groups_alloc, p.w.np, n0);
    else if (p.w.offsets != nullptr && tid >= 64 && tid < 64 + 8 * nslots)
      load_group_rows(consts + kSlotBytes, p.w.offsets, tid - 64, g0, p.w.groups_alloc, p.w.np, n0);
  }

  __device__ __forceinline__ ADecoder decoder(const Args&, const unsigned char* codes, const unsigned char* consts,
                                              int) const {
    return ADecoder(*this, codes, consts);
  }
};

// The family as the skeleton's host side sees it (core/cuda/cta_launch.cuh).
struct LutFamily {
  using Matrix = DeviceLutMatrix;
  static constexpr lsgemm::detail::CtaFamilyNames kNames{"lut", "DeviceLutMatrix", "lut::to_device"};
  // Device code widths: the ternary kinds are stored as 2-bit codes (to_device).
  using BitWidths = std::integer_sequence<int, 1, 2, 3, 4>;
  using TokN8s = std::integer_sequence<int, 1, 4>;
  template <class T, int kBits>
  using Policy = LutPolicy<T, kBits>;

  static constexpr int code_vecs(int bits) { return 2 * bits * 8; }
  template <class T, class TY>
  static const char* call_name() {
    constexpr bool kF32 = std::is_same_v<TY, float>;
    if constexpr (std::is_same_v<T, __half>)
      return kF32 ? "lut matmul(CUDA, fp16 -> f32)" : "lut matmul(CUDA, fp16)";
    else
      return kF32 ? "lut matmul(CUDA, bf16 -> f32)" : "lut matmul(CUDA, bf16)";
  }

  static void check_weight(const char* fn, const Matrix& w) {
    using lsgemm::detail::require;
    require(w.bits >= 1 && w.bits <= 4, fn, ": weight bits=", w.bits, " (allowed on the CUDA path: 1, 2, 3, 4)");
    const bool group_ok = (w.group_shift >= 5 && w.group_shift <= 8) || w.group_shift == kCudaPerChannelShift;
    require(w.np % lsgemm::detail::kCtaRows == 0 && w.np >= w.n && w.kc * kCudaChunkK >= w.kp && w.kp >= w.k &&
                group_ok && w.groups_alloc == ((w.kc * kCudaChunkK - 1) >> w.group_shift) + 1,
            fn, ": the DeviceLutMatrix's metadata is inconsistent (np=", w.np, " kc=", w.kc, " group_shift=",
            w.group_shift, " groups_alloc=", w.groups_alloc, "); build it with lut::to_device()");
  }
  static bool extra_consts_match(const Matrix& w) {
    return w.offsets.size() == 0 || w.offsets.size() == w.scales.size();
  }

  // n8 token columns per CTA: 1 (M <= 8) or 4.
  static int tok_n8(int64_t M) { return M <= 8 ? 1 : 4; }

  static LutWeights weights(const Matrix& w) {
    return {w.scales.data(), w.offsets.size() ? w.offsets.data() : nullptr, w.scale_factor, w.offset_factor, w.np,
            w.group_shift, int(w.groups_alloc)};
  }
};

}  // namespace detail

}  // namespace lut

template <>
struct detail::CtaFamilyOf<lut::DeviceLutMatrix> {
  using type = lut::detail::LutFamily;
};

// Y = X * W^T (+ bias) on the GPU, lut weights from lut::to_device. X, Y, workspace and
// epi.bias (N floats, or null) are device pointers; Y is the activation type or float.
// workspace: at least lut::workspace_bytes(w, M) bytes of device memory for split-K, or
// nullptr and 0 to run without it. Asynchronous on `stream`. Throws lsgemm::Error on bad
// arguments (before launching anything) and on CUDA launch errors.
inline void matmul(DeviceView<const __half> X, const lut::DeviceLutMatrix& w, DeviceView<__half> Y, void* workspace,
                   size_t workspace_bytes, cudaStream_t stream = 0, const Epilogue& epi = {}) {
  detail::cta_matmul<lut::detail::LutFamily>(X, w, Y, workspace, workspace_bytes, stream, epi);
}

inline void matmul(DeviceView<const __half> X, const lut::DeviceLutMatrix& w, DeviceView<float> Y, void* workspace,
                   size_t workspace_bytes, cudaStream_t stream = 0, const Epilogue& epi = {}) {
  detail::cta_matmul<lut::detail::LutFamily>(X, w, Y, workspace, workspace_bytes, stream, epi);
}

inline void matmul(DeviceView<const __nv_bfloat16> X, const lut::DeviceLutMatrix& w, DeviceView<__nv_bfloat16> Y,
                   void* workspace, size_t workspace_bytes, cudaStream_t stream = 0, const Epilogue& epi = {}) {
  detail::cta_matmul<lut::detail::LutFamily>(X, w, Y, workspace, workspace_bytes, stream, epi);
}

inline void matmul(DeviceView<const __nv_bfloat16> X, const lut::DeviceLutMatrix& w, DeviceView<float> Y,
                   void* workspace, size_t workspace_bytes, cudaStream_t stream = 0, const Epilogue& epi = {}) {
  detail::cta_matmul<lut::detail::LutFamily>(X, w, Y, workspace, workspace_bytes, stream, epi);
}

}  // namespace lsgemm
