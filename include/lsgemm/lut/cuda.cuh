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
// Tiling (one CTA = 4 warps = 128 threads):
//   CTA tile: 64 weight rows (warp w owns rows 16w..16w+15: one m16 A tile)
//             x kTokens = 8 * kTokN8 tokens (kTokN8 = 1 for M <= 8, else 4)
//             x K streamed in 128-k chunks (8 MMA k-steps) through a kStages ring.
//   Per stage: codes 64 x 128 x b / 8 = b KB, X kTokens x 128 x 2 B (2 KB per 8 tokens),
//   scales and offsets of up to 4 groups x 64 rows (1 KB). kStages = 4 when 4 stages fit
//   in 40 KB (all decode tiles: 16 to 28 KB), else 3 (32 tokens, b >= 2: 33 to 39 KB), so
//   that 4 CTAs per SM fit A100's 164 KB as well as H100's 228 KB.
//   Per warp and k-step: 4 A registers decoded (8 codes), kTokN8 MMAs, ldmatrix for X.
//   Grid: (N / 64 row blocks, M / kTokens token blocks, K splits).
//
// Split-K policy (decode shapes), as int_quant's: with B = row blocks x token blocks
// CTAs, fewer than kCudaTargetCtasPerSm (4) per SM leaves bandwidth unused (4 CTAs x 3
// stages in flight x 2 KB (b = 2) = 24 KB per SM, what Little's law asks: 3.35 TB/s x
// 0.7 us / 132 SMs ~ 18 KB). K is then split into min(16, ceil(target / B), kc / 4)
// slices of >= 4 chunks (512 k: the ring fills); each slice writes fp32 partials to the
// caller's workspace and split_k_reduce folds them (+ bias, + Y). E.g. N = K = 4096,
// M = 1, 132 SMs: 64 row blocks, 8 slices of 4 chunks, 512 CTAs, workspace 128 KB.
// Without a workspace (nullptr, 0) the same kernel runs unsplit and writes Y itself.
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
#include <cstring>
#include <type_traits>
#include <vector>

#include "lsgemm/core/cuda/common.cuh"
#include "lsgemm/core/cuda/mma.cuh"
#include "lsgemm/core/cuda/pipeline.cuh"
#include "lsgemm/core/cuda/split_k.cuh"
#include "lsgemm/core/epilogue.hpp"
#include "lsgemm/core/error.hpp"
#include "lsgemm/core/matrix.hpp"
#include "lsgemm/core/numeric.hpp"
#include "lsgemm/lut/format.hpp"

namespace lsgemm {
namespace lut {

inline constexpr int kCudaRowBlock = 64;        // weight rows per CTA: 4 warps x one m16 tile
inline constexpr int kCudaChunkK = 128;         // k per pipeline stage: 8 MMA k-steps of 16
inline constexpr int kCudaMaxSlots = kCudaChunkK / 32;  // groups one chunk meets (group 32)
inline constexpr int kCudaPerChannelShift = 30;  // device group 2^30: one group for any K <= 2^30
inline constexpr int kCudaTargetCtasPerSm = 4;
inline constexpr int kCudaMaxSplits = 16;
inline constexpr int kCudaMinChunksPerSplit = 4;

// A packed lut weight in device memory, in the layout drawn at the top of this file.
// Owns its memory; movable; clone() copies on the device.
struct DeviceLutMatrix {
  int64_t n = 0, k = 0;       // logical shape of W
  int64_t kp = 0;             // K padded as in the host format
  WeightKind kind = WeightKind::kUniform;  // of the host weight (triples: stored as 2-bit codes)
  int bits = 2;               // bits per device code, 1..4 (ternary kinds: 2)
  int group = 128;            // host group length (per-channel: == kp)
  bool per_channel = false;
  bool symmetric = false;
  int group_shift = 7;        // device group = 2^group_shift (5..8, or 30 for one group)
  int64_t np = 0;             // N rounded up to kCudaRowBlock
  int64_t kc = 0;             // 128-k chunks: ceil(kp / 128)
  int64_t groups_alloc = 0;   // scale rows: ((128 kc - 1) >> group_shift) + 1
  float scale_factor = 1.0f;  // S = s * scale_factor
  float offset_factor = 0.0f; // C = S * offset_factor + m
  int device = -1;            // device ordinal the memory lives on
  DeviceBuffer<uint32_t> codes;    // np / 16 * kc * 2 bits * 32 words
  DeviceBuffer<uint16_t> scales;   // groups_alloc * np, f16 bits
  DeviceBuffer<uint16_t> offsets;  // groups_alloc * np, f16 bits (uniform asymmetric only)

  bool empty() const { return n == 0 || codes.size() == 0; }
  // Bytes one call streams from the weight: codes, scales and offsets.
  int64_t packed_bytes() const { return int64_t(codes.bytes() + scales.bytes() + offsets.bytes()); }

  DeviceLutMatrix clone() const {
    DeviceLutMatrix c;
    c.n = n; c.k = k; c.kp = kp; c.kind = kind; c.bits = bits; c.group = group; c.per_channel = per_channel;
    c.symmetric = symmetric; c.group_shift = group_shift; c.np = np; c.kc = kc; c.groups_alloc = groups_alloc;
    c.scale_factor = scale_factor; c.offset_factor = offset_factor; c.device = device;
    c.codes = codes.clone(); c.scales = scales.clone(); c.offsets = offsets.clone();
    return c;
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

inline void upload_async(void* dst, const void* src, size_t bytes, cudaStream_t stream) {
  if (bytes) LSGEMM_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream));
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
  // 32-bit k arithmetic in the kernel: chunk * 128 + 127 must not overflow.
  require(w.kp <= (int64_t(1) << 30), "lut::to_device: K=", w.k, " exceeds 2^30");

  DeviceLutMatrix d;
  d.n = w.n;
  d.k = w.k;
  d.kp = w.kp;
  d.kind = w.kind;
  d.bits = detail::device_bits_of(w);
  d.group = w.group;
  d.per_channel = w.per_channel;
  d.symmetric = w.symmetric;
  d.group_shift = w.per_channel ? kCudaPerChannelShift : detail::log2_exact(w.group);
  d.np = (w.n + kCudaRowBlock - 1) / kCudaRowBlock * kCudaRowBlock;
  d.kc = (w.kp + kCudaChunkK - 1) / kCudaChunkK;
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
  d.codes.resize(words.size());
  d.scales.resize(scales.size());
  d.offsets.resize(offsets.size());
  detail::upload_async(d.codes.data(), words.data(), d.codes.bytes(), stream);
  detail::upload_async(d.scales.data(), scales.data(), d.scales.bytes(), stream);
  detail::upload_async(d.offsets.data(), offsets.data(), d.offsets.bytes(), stream);
  LSGEMM_CUDA_CHECK(cudaStreamSynchronize(stream));
  return d;
}

namespace detail {

// How one call is cut into CTAs (see "Split-K policy" above).
using CudaPlan = lsgemm::detail::SplitKPlan;

inline CudaPlan plan_matmul(const DeviceLutMatrix& w, int64_t M, int sm_count) {
  // n8 token columns per CTA: 1 (M <= 8) or 4.
  return lsgemm::detail::plan_split_k(M <= 8 ? 1 : 4, w.np / kCudaRowBlock, M, w.n, w.kc, sm_count,
                                      kCudaTargetCtasPerSm, kCudaMaxSplits, kCudaMinChunksPerSplit);
}

}  // namespace detail

// Workspace bytes lsgemm::matmul needs for M tokens on the current device to use
// split-K (0: that shape does not split). Passing less (but not zero) throws; passing
// none (nullptr, 0) runs unsplit, which is slower for small M but needs nothing.
inline size_t workspace_bytes(const DeviceLutMatrix& w, int64_t M) {
  lsgemm::detail::require(M >= 0, "lut::workspace_bytes: M=", M, " must be >= 0");
  if (M == 0 || w.empty()) return 0;
  const int sms = lsgemm::detail::device_attribute(cudaDevAttrMultiProcessorCount, lsgemm::detail::current_device());
  return detail::plan_matmul(w, M, sms).workspace;
}

namespace detail {

using lsgemm::detail::bit_cast32;
using lsgemm::detail::cp_async16;
using lsgemm::detail::cp_async16_evict_first;
using lsgemm::detail::cp_async16_zfill;
using lsgemm::detail::cp_async_pipeline;
using lsgemm::detail::from_f32;
using lsgemm::detail::ldmatrix_x2;
using lsgemm::detail::ldmatrix_x4;
using lsgemm::detail::make_l2_evict_first_policy;
using lsgemm::detail::mma_m16n8k16;
using lsgemm::detail::to_f32;

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

template <int kBits, int kTokN8>
struct LutGemmTile {
  static_assert(kBits >= 1 && kBits <= 4, "codes of 1 to 4 bits");
  static_assert(kTokN8 == 1 || kTokN8 == 4, "1 or 4 n8 token columns");
  static constexpr int kWarps = 4;
  static constexpr int kThreads = 32 * kWarps;
  static constexpr int kRows = 16 * kWarps;               // = kCudaRowBlock
  static constexpr int kChunkK = kCudaChunkK;
  static constexpr int kSteps = kChunkK / 16;             // MMA k-steps per stage
  static constexpr int kTokens = 8 * kTokN8;
  static constexpr int kWordsPerLane = 2 * kBits;         // 8 steps x 8 codes x b bits / 32
  static constexpr int kVecsPerTileChunk = kWordsPerLane * 32 / 4;  // uint4 per (16-row tile, chunk)
  static constexpr int kWBytes = kWarps * kWordsPerLane * 32 * 4;   // 64 rows x 128 k x b / 8
  static constexpr int kWVecs = kWBytes / 16;
  static constexpr int kXRowBytes = kChunkK * 2;          // one token's 128 k
  static constexpr int kXBytes = kTokens * kXRowBytes;
  static constexpr int kConstBytes = kCudaMaxSlots * kRows * 2;  // 4 group slots x 64 rows x f16
  static constexpr int kXOff = kWBytes;
  static constexpr int kScaleOff = kXOff + kXBytes;
  static constexpr int kOffsetOff = kScaleOff + kConstBytes;
  static constexpr int kStageBytes = kOffsetOff + kConstBytes;
  // 4 stages when they take <= 40 KB, so that 4 CTAs (+ 1 KB reserved each) fit A100's
  // 164 KB of shared memory per SM; else 3 (prefill tiles with b >= 2, compute-bound).
  static constexpr int kStages = 4 * kStageBytes <= 40 * 1024 ? 4 : 3;
  static constexpr int kSmemBytes = kStages * kStageBytes;
  static_assert(kRows == kCudaRowBlock, "CTA rows must match the device layout's padding");
  static_assert(kStageBytes % 128 == 0, "stages keep 128-byte alignment (ldmatrix rows, cp.async)");
  static_assert(kSmemBytes <= 48 * 1024, "static shared memory limit");
};

template <class T>
struct LutGemmArgs {
  const T* x;           // X, m x k, row stride ldx
  int64_t ldx;
  int64_t m;
  int k;                // logical K: columns >= k read as 0
  bool x_vec16;         // X rows may be read with 16-byte copies (16-byte base, ldx % 8 == 0)
  const uint4* codes;
  const uint16_t* scales;
  const uint16_t* offsets;  // null: m = 0
  float scale_factor, offset_factor;
  int64_t np;
  int kc;
  int group_shift;
  int groups_alloc;
  int64_t n;
  int chunks_per_split;
  void* y;              // T or float (y_f32)
  bool y_f32;
  int64_t ldy;
  float* partial;       // non-null: split-K, write fp32 partials [split][m][n] instead of Y
  const float* bias;
  bool accumulate;
};

// Y^T = W X^T for one (64-row, kTokens-token, K-slice) tile; see the file comment.
template <class T, int kBits, int kTokN8>
__global__ void __launch_bounds__(LutGemmTile<kBits, kTokN8>::kThreads, kCudaTargetCtasPerSm)
    lut_dequant_mma_m16n8k16(const LutGemmArgs<T> p) {
#if LSGEMM_CUDA_PRE_SM80
  // bf16 fma, cp.async and bf16 mma need sm_80: compiled for an older architecture the
  // kernel traps instead of failing the build (as core/cuda/mma.cuh), and the host
  // launcher refuses such a device before launching.
  (void)p;
  __trap();
#else
  using Tile = LutGemmTile<kBits, kTokN8>;
  using T2 = typename CudaPair<T>::type;
  constexpr int kWords = Tile::kWordsPerLane;
  __shared__ __align__(128) unsigned char smem[Tile::kSmemBytes];

  const int tid = int(threadIdx.x), warp = tid / 32, lane = tid % 32;
  const int64_t n0 = int64_t(blockIdx.x) * Tile::kRows;
  const int64_t m0 = int64_t(blockIdx.y) * Tile::kTokens;
  const int split = int(blockIdx.z);
  const int c_begin = split * p.chunks_per_split;
  const int num_chunks = max(0, min(p.kc - c_begin, p.chunks_per_split));
  const uint64_t evict_first = make_l2_evict_first_policy();
  // This CTA's first 16-row tile; one (tile, chunk) block is kVecsPerTileChunk uint4.
  const uint4* codes_cta = p.codes + int64_t(blockIdx.x) * Tile::kWarps * p.kc * Tile::kVecsPerTileChunk;
  // Group slots a chunk meets: 128 / group (group <= 128; chunks and groups are aligned
  // powers of two, so no chunk straddles a group it does not fully contain), else 1.
  const int nslots = max(1, Tile::kChunkK >> p.group_shift);
  const int group_mask = (1 << p.group_shift) - 1;

  auto load = [&](int stage, int i) {
    unsigned char* st = smem + stage * Tile::kStageBytes;
    const int c = c_begin + i;
    // Weights: 4 row tiles x 2b words x 32 lanes, in global order (read once: evict-first).
    for (int idx = tid; idx < Tile::kWVecs; idx += Tile::kThreads) {
      const int tile = idx / Tile::kVecsPerTileChunk, within = idx % Tile::kVecsPerTileChunk;
      cp_async16_evict_first(st + idx * 16,
                             codes_cta + (int64_t(tile) * p.kc + c) * Tile::kVecsPerTileChunk + within, evict_first);
    }
    // Scales and offsets of the chunk's groups: nslots x 128 B each (8 threads per slot).
    const int g0 = (c * Tile::kChunkK) >> p.group_shift;
    if (tid < 8 * nslots) {
      const int g = min(g0 + tid / 8, p.groups_alloc - 1);
      cp_async16(st + Tile::kScaleOff + tid * 16, p.scales + int64_t(g) * p.np + n0 + (tid % 8) * 8);
    } else if (p.offsets != nullptr && tid >= 64 && tid < 64 + 8 * nslots) {
      const int u = tid - 64;
      const int g = min(g0 + u / 8, p.groups_alloc - 1);
      cp_async16(st + Tile::kOffsetOff + u * 16, p.offsets + int64_t(g) * p.np + n0 + (u % 8) * 8);
    }
    // Activations: kTokens rows x 16 pieces of 8 k. Piece ch of token row tok is stored at
    // ch ^ (tok % 8): the 8 rows one ldmatrix reads (same logical piece, row stride 256 B)
    // then sit in 8 different 16-byte bank groups, so the read is conflict-free.
    for (int idx = tid; idx < Tile::kTokens * 16; idx += Tile::kThreads) {
      const int tok = idx / 16, ch = idx % 16;
      const int64_t m = m0 + tok;
      const int k = c * Tile::kChunkK + ch * 8;
      unsigned char* dst = st + Tile::kXOff + tok * Tile::kXRowBytes + ((ch ^ (tok & 7)) * 16);
      const bool in_range = m < p.m && k < p.k;
      if (!in_range) {
        cp_async16_zfill(dst, p.x, false);  // token or k padding: zeros, nothing read
      } else if (p.x_vec16 && k + 8 <= p.k) {
        cp_async16(dst, p.x + m * p.ldx + k);
      } else {
        // K tail or an X that is not 16-byte addressable: element by element.
        const T* src = p.x + m * p.ldx;
        uint16_t e[8];
#pragma unroll
        for (int u = 0; u < 8; ++u) {
          const T v = (k + u < p.k) ? src[k + u] : from_f32<T>(0.0f);
          memcpy(&e[u], &v, 2);
        }
        *reinterpret_cast<uint4*>(dst) =
            make_uint4(e[0] | (uint32_t(e[1]) << 16), e[2] | (uint32_t(e[3]) << 16), e[4] | (uint32_t(e[5]) << 16),
                       e[6] | (uint32_t(e[7]) << 16));
      }
    }
  };

  float acc[kTokN8][4];  // (16 weight rows) x (8 kTokN8 tokens) f32 accumulators per warp
#pragma unroll
  for (int j = 0; j < kTokN8; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) acc[j][e] = 0.0f;

  const int r0 = warp * 16 + lane / 4;  // CTA-local weight rows of this lane: r0, r0 + 8
  const ConstFactors<T> factors = make_const_factors<T>(p.scale_factor, p.offset_factor);
  const uint32_t magic_bits = CudaPair<T>::kMagic;  // a local: device code cannot bind the static member
  const T2 magic = bit_cast32<T2>(magic_bits);

  auto compute = [&](int stage, int i) {
    const unsigned char* st = smem + stage * Tile::kStageBytes;
    uint32_t w[kWords];  // this lane's codes for the whole chunk: (8 steps x 8 codes x b) bits
    const uint32_t* ws = reinterpret_cast<const uint32_t*>(st) + warp * kWords * 32 + lane;
#pragma unroll
    for (int f = 0; f < kWords; ++f) w[f] = ws[f * 32];
    const uint16_t* sc = reinterpret_cast<const uint16_t*>(st + Tile::kScaleOff);
    const uint16_t* of = reinterpret_cast<const uint16_t*>(st + Tile::kOffsetOff);
    const unsigned char* xs = st + Tile::kXOff;

    T2 S[2], C[2];  // (S, S) and (C, C) of rows r0 and r0 + 8 in the current group
#pragma unroll
    for (int s = 0; s < Tile::kSteps; ++s) {
      if (s == 0 || ((16 * s) & group_mask) == 0) {  // a new group (uniform across the CTA)
        const int pos = ((16 * s) >> p.group_shift) * Tile::kRows + warp * 16 + 2 * (lane / 4);
        const uint32_t s_pair = *reinterpret_cast<const uint32_t*>(sc + pos);  // (s[r0], s[r0 + 8])
        const uint32_t m_pair = p.offsets != nullptr ? *reinterpret_cast<const uint32_t*>(of + pos) : 0u;
        group_consts_pair<T>(s_pair, m_pair, factors, S, C);
      }
      uint32_t a[4];  // (16 rows x 16 k) A fragment
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const T2 code = __hsub2(bit_cast32<T2>(code_pair<kBits>(w, s, j, magic_bits)), magic);
        a[j] = bit_cast32<uint32_t>(__hfma2(code, S[j % 2], C[j % 2]));  // w = S c + C, one rounding
      }
      // ldmatrix lane addresses: lanes 8i..8i+7 -> matrix i, row lane % 8 (a token);
      // matrix i covers tokens 8 (j + i / 2) .. +7 and k 16 s + 8 (i % 2) .. +7.
      const int mat = lane / 8, row = lane % 8;
      if constexpr (kTokN8 == 1) {
        const int piece = 2 * s + (mat % 2);
        uint32_t b[2];  // (16 k x 8 tokens) B fragment
        ldmatrix_x2(b, xs + row * Tile::kXRowBytes + ((piece ^ row) * 16));
        mma_m16n8k16<T>(acc[0], a, b);
      } else {
#pragma unroll
        for (int j = 0; j < kTokN8; j += 2) {
          const int tok = (j + mat / 2) * 8 + row;
          const int piece = 2 * s + (mat % 2);
          uint32_t r[4];  // two (16 k x 8 tokens) B fragments
          ldmatrix_x4(r, xs + tok * Tile::kXRowBytes + ((piece ^ (tok & 7)) * 16));
          const uint32_t b0[2] = {r[0], r[1]}, b1[2] = {r[2], r[3]};
          mma_m16n8k16<T>(acc[j], a, b0);
          mma_m16n8k16<T>(acc[j + 1], a, b1);
        }
      }
    }
  };

  cp_async_pipeline<Tile::kStages>(num_chunks, load, compute);

  // Epilogue: accumulator (j, e) is weight row r0 + 8 (e / 2), token 8 j + 2 (lane % 4) + e % 2.
#pragma unroll
  for (int j = 0; j < kTokN8; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int64_t row = n0 + r0 + 8 * (e / 2);
      const int64_t tok = m0 + 8 * j + 2 * (lane % 4) + (e % 2);
      if (row >= p.n || tok >= p.m) continue;
      if (p.partial != nullptr) {
        p.partial[(int64_t(split) * p.m + tok) * p.n + row] = acc[j][e];
      } else {
        float v = acc[j][e];
        if (p.bias) v += p.bias[row];
        if (p.y_f32) {
          float* y = static_cast<float*>(p.y) + tok * p.ldy + row;
          if (p.accumulate) v += *y;
          *y = v;
        } else {
          T* y = static_cast<T*>(p.y) + tok * p.ldy + row;
          if (p.accumulate) v += to_f32(*y);
          *y = from_f32<T>(v);
        }
      }
    }
#endif  // LSGEMM_CUDA_PRE_SM80
}

template <class T, int kBits, int kTokN8>
void launch_lut_gemm(const LutGemmArgs<T>& args, dim3 grid, cudaStream_t stream) {
  lut_dequant_mma_m16n8k16<T, kBits, kTokN8><<<grid, LutGemmTile<kBits, kTokN8>::kThreads, 0, stream>>>(args);
}

template <class T, int kBits>
void launch_lut_gemm_tokens(int tok_n8, const LutGemmArgs<T>& args, dim3 grid, cudaStream_t stream) {
  if (tok_n8 == 1)
    launch_lut_gemm<T, kBits, 1>(args, grid, stream);
  else
    launch_lut_gemm<T, kBits, 4>(args, grid, stream);
}

inline bool byte_ranges_overlap(const void* a, int64_t a_rows, int64_t a_cols, int64_t a_ld, size_t a_elem,
                                const void* b, int64_t b_rows, int64_t b_cols, int64_t b_ld, size_t b_elem) {
  const auto a0 = reinterpret_cast<uintptr_t>(a), b0 = reinterpret_cast<uintptr_t>(b);
  const auto a1 = a0 + uintptr_t(((a_rows - 1) * a_ld + a_cols) * int64_t(a_elem));
  const auto b1 = b0 + uintptr_t(((b_rows - 1) * b_ld + b_cols) * int64_t(b_elem));
  return a0 < b1 && b0 < a1;
}

template <class T, class TY>
void matmul_device(DeviceView<const T> X, const DeviceLutMatrix& w, DeviceView<TY> Y, void* workspace,
                   size_t workspace_size, cudaStream_t stream, const Epilogue& epi) {
  using lsgemm::detail::require;
  static_assert(std::is_same_v<TY, T> || std::is_same_v<TY, float>, "Y is the activation type or float");
  const char* fn = std::is_same_v<T, __half> ? (std::is_same_v<TY, float> ? "lut matmul(CUDA, fp16 -> f32)"
                                                                          : "lut matmul(CUDA, fp16)")
                                             : (std::is_same_v<TY, float> ? "lut matmul(CUDA, bf16 -> f32)"
                                                                          : "lut matmul(CUDA, bf16)");
  require(!w.empty(), fn, ": the weight is empty (default-constructed or moved-from DeviceLutMatrix)");
  require(w.bits >= 1 && w.bits <= 4, fn, ": weight bits=", w.bits, " (allowed on the CUDA path: 1, 2, 3, 4)");
  require(w.np % kCudaRowBlock == 0 && w.np >= w.n && w.kc * kCudaChunkK >= w.kp && w.kp >= w.k &&
              ((w.group_shift >= 5 && w.group_shift <= 8) || w.group_shift == kCudaPerChannelShift) &&
              w.groups_alloc == ((w.kc * kCudaChunkK - 1) >> w.group_shift) + 1,
          fn, ": the DeviceLutMatrix's metadata is inconsistent (np=", w.np, " kc=", w.kc, " group_shift=",
          w.group_shift, " groups_alloc=", w.groups_alloc, "); build it with lut::to_device()");
  require(w.codes.size() == size_t(w.np / kTileRows * w.kc * 2 * w.bits * 32) &&
              w.scales.size() == size_t(w.groups_alloc * w.np) &&
              (w.offsets.size() == 0 || w.offsets.size() == w.scales.size()),
          fn, ": the DeviceLutMatrix's buffers do not match its shape; build it with lut::to_device()");
  lsgemm::detail::check_matmul_shapes(X, w.n, w.k, Y);
  require(epi.alpha == 1.0f, fn, ": Epilogue::alpha=", epi.alpha,
          " is not supported on the CUDA path yet (only 1; scale the bias and Y instead)");
  const int64_t M = X.rows;
  require(workspace != nullptr || workspace_size == 0, fn, ": workspace is null but workspace_bytes=",
          workspace_size, " (pass nullptr and 0 to run without split-K)");
  require(workspace == nullptr || lsgemm::detail::is_aligned(workspace, 16), fn,
          ": workspace must be 16-byte aligned (cudaMalloc memory is)");
  // grid.y holds token blocks of 32 (for M > 8).
  require(M <= int64_t(65535) * 32, fn, ": M=", M, " exceeds ", int64_t(65535) * 32);
  if (M == 0) return;
  require(!byte_ranges_overlap(X.data, X.rows, X.cols, X.ld, sizeof(T), Y.data, Y.rows, Y.cols, Y.ld, sizeof(TY)),
          fn, ": X and Y overlap in memory (the kernel reads X while writing Y)");

  const int dev = lsgemm::detail::current_device();
  require(dev == w.device, fn, ": the weight lives on device ", w.device, " but device ", dev, " is current");
  const int major = lsgemm::detail::device_attribute(cudaDevAttrComputeCapabilityMajor, dev);
  require(major >= 8, fn, ": device ", dev, " has compute capability ", major,
          ".x; the kernels need sm_80 or newer (cp.async, bf16 mma)");
  const int sms = lsgemm::detail::device_attribute(cudaDevAttrMultiProcessorCount, dev);

  CudaPlan plan = plan_matmul(w, M, sms);
  if (plan.splits > 1) {
    if (workspace_size == 0) {
      plan.splits = 1;  // no workspace: run unsplit
      plan.chunks_per_split = int(w.kc);
    } else {
      require(workspace_size >= plan.workspace, fn, ": workspace too small: ", workspace_size, " bytes given, ",
              plan.workspace, " needed for M=", M, " N=", w.n, " K=", w.k, " (", plan.splits,
              " K slices; query lut::workspace_bytes, or pass nullptr and 0)");
    }
  }

  LutGemmArgs<T> a{};
  a.x = X.data;
  a.ldx = X.ld;
  a.m = M;
  a.k = int(w.k);
  a.x_vec16 = lsgemm::detail::is_aligned(X.data, 16) && X.ld % 8 == 0;
  a.codes = reinterpret_cast<const uint4*>(w.codes.data());
  a.scales = w.scales.data();
  a.offsets = w.offsets.size() ? w.offsets.data() : nullptr;
  a.scale_factor = w.scale_factor;
  a.offset_factor = w.offset_factor;
  a.np = w.np;
  a.kc = int(w.kc);
  a.group_shift = w.group_shift;
  a.groups_alloc = int(w.groups_alloc);
  a.n = w.n;
  a.chunks_per_split = plan.chunks_per_split;
  a.y = Y.data;
  a.y_f32 = std::is_same_v<TY, float>;
  a.ldy = Y.ld;
  a.partial = plan.splits > 1 ? static_cast<float*>(workspace) : nullptr;
  a.bias = epi.bias;
  a.accumulate = epi.accumulate;

  const dim3 grid(unsigned(plan.row_blocks), unsigned(plan.tok_blocks), unsigned(plan.splits));
  switch (w.bits) {
    case 1: launch_lut_gemm_tokens<T, 1>(plan.tok_n8, a, grid, stream); break;
    case 2: launch_lut_gemm_tokens<T, 2>(plan.tok_n8, a, grid, stream); break;
    case 3: launch_lut_gemm_tokens<T, 3>(plan.tok_n8, a, grid, stream); break;
    default: launch_lut_gemm_tokens<T, 4>(plan.tok_n8, a, grid, stream); break;
  }
  LSGEMM_CUDA_CHECK(cudaGetLastError());
  if (plan.splits > 1)
    lsgemm::detail::launch_split_k_reduce<TY>(static_cast<const float*>(workspace), plan.splits, M, w.n, Y.data,
                                              Y.ld, epi.bias, epi.accumulate, stream);
}

}  // namespace detail
}  // namespace lut

// Y = X * W^T (+ bias) on the GPU, lut weights from lut::to_device. X, Y, workspace and
// epi.bias (N floats, or null) are device pointers; Y is the activation type or float.
// workspace: at least lut::workspace_bytes(w, M) bytes of device memory for split-K, or
// nullptr and 0 to run without it. Asynchronous on `stream`. Throws lsgemm::Error on bad
// arguments (before launching anything) and on CUDA launch errors.
inline void matmul(DeviceView<const __half> X, const lut::DeviceLutMatrix& w, DeviceView<__half> Y, void* workspace,
                   size_t workspace_bytes, cudaStream_t stream = 0, const Epilogue& epi = {}) {
  lut::detail::matmul_device<__half, __half>(X, w, Y, workspace, workspace_bytes, stream, epi);
}

inline void matmul(DeviceView<const __half> X, const lut::DeviceLutMatrix& w, DeviceView<float> Y, void* workspace,
                   size_t workspace_bytes, cudaStream_t stream = 0, const Epilogue& epi = {}) {
  lut::detail::matmul_device<__half, float>(X, w, Y, workspace, workspace_bytes, stream, epi);
}

inline void matmul(DeviceView<const __nv_bfloat16> X, const lut::DeviceLutMatrix& w, DeviceView<__nv_bfloat16> Y,
                   void* workspace, size_t workspace_bytes, cudaStream_t stream = 0, const Epilogue& epi = {}) {
  lut::detail::matmul_device<__nv_bfloat16, __nv_bfloat16>(X, w, Y, workspace, workspace_bytes, stream, epi);
}

inline void matmul(DeviceView<const __nv_bfloat16> X, const lut::DeviceLutMatrix& w, DeviceView<float> Y,
                   void* workspace, size_t workspace_bytes, cudaStream_t stream = 0, const Epilogue& epi = {}) {
  lut::detail::matmul_device<__nv_bfloat16, float>(X, w, Y, workspace, workspace_bytes, stream, epi);
}

}  // namespace lsgemm
