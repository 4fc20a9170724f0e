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
// How: compute Y^T = W * X^T with mma.sync.m16n8k16, the weight as operand A (16 rows
// of W) and tokens as the MMA's n side (8 tokens), so M = 1..8 costs one n8 column
// instead of a 16-row pad. Weight codes are decoded in registers straight into A
// fragments (magic-number conversion, below); activations go through shared memory and
// ldmatrix into B fragments; fp32 accumulators.
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
// Tiling (one CTA = 4 warps = 128 threads):
//   CTA tile: 64 weight rows (warp w owns rows 16w..16w+15: one m16 A tile)
//             x kTokens = 8 * kTokN8 tokens (kTokN8 = 1, 2, 4, 8 by M: <= 8, 16, 32, more)
//             x K streamed in 64-k chunks (4 MMA k-steps) through a kStages ring.
//   Per stage: codes 64 x 64 x b/8 = 2 KB (4-bit) / 4 KB (8-bit), X kTokens x 64 x 2 B
//             (1 KB per 8 tokens), scales + zeros of 2 groups x 64 rows (384 B).
//   kStages = 4 when 4 stages fit the 48 KB static shared memory, else 3 (8-bit with 64
//   tokens: 12.4 KB/stage). Per warp and k-step: 1 A fragment decoded (8 codes), kTokN8
//   MMAs, kTokN8 / 2 ldmatrix.x4 (x2 for one n8 column).
//   Grid: (N / 64 row blocks, M / kTokens token blocks, splits).
//
// Split-K policy (decode shapes): with B = row blocks x token blocks CTAs, fewer than
// kTargetCtasPerSm (4, the residency __launch_bounds__ guarantees) per SM leaves
// bandwidth unused: 4 CTAs x 3 stages in flight x 2 KB ~ 24 KB per SM, about what
// Little's law asks (3.35 TB/s x 0.7 us / 132 SMs ~ 18 KB). So K is split into
// min(16, ceil(target / B), kc / 4) slices (each >= 4 chunks = 256 k so the ring fills),
// each slice writes fp32 partials to the caller's workspace and split_k_reduce folds
// them (+ bias, + Y). E.g. N = K = 8192, M = 1 on 132 SMs: B = 128, 5 slices of 26
// chunks, 640 CTAs; workspace 5 x 1 x 8192 x 4 = 160 KB. Without a workspace
// (nullptr, 0 bytes) the same kernel runs unsplit and writes Y itself.
//
// Not here yet: the sm_90a wgmma/TMA path (sm_90a builds run this mma.sync kernel),
// stream-K, 2- and 3-bit codes. Oracle: int_quant/reference.hpp.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
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
#include "lsgemm/int_quant/format.hpp"

namespace lsgemm {
namespace int_quant {

inline constexpr int kCudaRowBlock = 64;      // weight rows per CTA: 4 warps x one m16 tile
inline constexpr int kCudaChunkK = 64;        // k per pipeline stage: 4 MMA k-steps of 16
inline constexpr int kCudaTargetCtasPerSm = 4;
inline constexpr int kCudaMaxSplits = 16;
inline constexpr int kCudaMinChunksPerSplit = 4;

// A packed weight in device memory, in the layout drawn at the top of this file.
// Owns its memory; movable; clone() copies on the device.
struct DeviceQuantizedMatrix {
  int64_t n = 0, k = 0;      // logical shape of W
  int64_t kp = 0;            // K padded as in the host format (multiple of 16)
  int bits = 4;              // 4 or 8
  int group = 128;           // group length (per-channel: == kp)
  bool per_channel = false;
  bool symmetric = false;    // true: z = 2^(bits-1), no zero points stored
  int64_t np = 0;            // N rounded up to kCudaRowBlock
  int64_t kc = 0;            // 64-k chunks: ceil(kp / 64)
  int64_t groups_alloc = 0;  // scale / zero rows: ceil(64 kc / group) + 1
  int device = -1;           // device ordinal the memory lives on
  DeviceBuffer<uint32_t> codes;   // np / 16 * kc * (bits / 4) * 128 words
  DeviceBuffer<uint16_t> scales;  // groups_alloc * np, f16 bits
  DeviceBuffer<uint8_t> zeros;    // groups_alloc * np, asymmetric only

  bool empty() const { return n == 0 || codes.size() == 0; }
  // Bytes one call streams from the weight: codes, scales and zero points.
  int64_t packed_bytes() const { return int64_t(codes.bytes() + scales.bytes() + zeros.bytes()); }

  DeviceQuantizedMatrix clone() const {
    DeviceQuantizedMatrix c;
    c.n = n; c.k = k; c.kp = kp; c.bits = bits; c.group = group; c.per_channel = per_channel;
    c.symmetric = symmetric; c.np = np; c.kc = kc; c.groups_alloc = groups_alloc; c.device = device;
    c.codes = codes.clone(); c.scales = scales.clone(); c.zeros = zeros.clone();
    return c;
  }
};

namespace detail {

// The codes in the device layout (file comment), np / 16 * kc * (bits / 4) * 128 words.
// Host-only, so it can be checked without a GPU.
inline std::vector<uint32_t> repack_codes(const QuantizedMatrix& q, int64_t np, int64_t kc) {
  const int V = q.bits / 4;  // u32 words per lane per k16 step (8 codes x bits / 32)
  const int64_t tiles = np / kTileRows, host_rows = q.tiles() * kTileRows;
  std::vector<uint32_t> words(size_t(tiles * kc * V * 128), 0u);
  for (int64_t t = 0; t < tiles; ++t)
    for (int64_t c = 0; c < kc; ++c)
      for (int s = 0; s < 4; ++s)
        for (int lane = 0; lane < 32; ++lane)
          for (int j = 0; j < 4; ++j)
            for (int h = 0; h < 2; ++h) {
              const int64_t row = 16 * t + lane / 4 + 8 * (j % 2);
              const int64_t col = 64 * c + 16 * s + 2 * (lane % 4) + h + 8 * (j / 2);
              const uint32_t code = (row < host_rows && col < q.kp) ? uint32_t(q.code(row, col)) : 0u;
              const int f = s * V + (q.bits == 4 ? 0 : j / 2);
              const int shift = q.bits == 4 ? 4 * j + 16 * h : 8 * (2 * (j % 2) + h);
              const int64_t idx = (((t * kc + c) * V + f / 4) * 32 + lane) * 4 + f % 4;
              words[size_t(idx)] |= code << shift;
            }
  return words;
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

inline void upload_async(void* dst, const void* src, size_t bytes, cudaStream_t stream) {
  if (bytes) LSGEMM_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream));
}

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
  // 32-bit k arithmetic in the kernel: chunk * 64 + 63 must not overflow.
  require(q.kp <= (int64_t(1) << 30), "int_quant::to_device: K=", q.k, " exceeds 2^30");

  DeviceQuantizedMatrix d;
  d.n = q.n;
  d.k = q.k;
  d.kp = q.kp;
  d.bits = q.bits;
  d.group = q.group;
  d.per_channel = q.per_channel;
  d.symmetric = q.symmetric;
  d.np = lsgemm::int_quant::detail::round_up(q.n, kCudaRowBlock);
  d.kc = (q.kp + kCudaChunkK - 1) / kCudaChunkK;
  d.groups_alloc = (d.kc * kCudaChunkK + q.group - 1) / q.group + 1;
  d.device = lsgemm::detail::current_device();

  const std::vector<uint32_t> words = detail::repack_codes(q, d.np, d.kc);
  std::vector<uint16_t> scales;
  std::vector<uint8_t> zeros;
  detail::repack_groups(q, d.np, d.groups_alloc, scales, zeros);

  d.codes.resize(words.size());
  d.scales.resize(scales.size());
  d.zeros.resize(zeros.size());
  detail::upload_async(d.codes.data(), words.data(), d.codes.bytes(), stream);
  detail::upload_async(d.scales.data(), scales.data(), d.scales.bytes(), stream);
  detail::upload_async(d.zeros.data(), zeros.data(), d.zeros.bytes(), stream);
  LSGEMM_CUDA_CHECK(cudaStreamSynchronize(stream));
  return d;
}

namespace detail {

// How one call is cut into CTAs (see "Split-K policy" above).
using CudaPlan = lsgemm::detail::SplitKPlan;

inline CudaPlan plan_matmul(const DeviceQuantizedMatrix& w, int64_t M, int sm_count) {
  // n8 token columns per CTA grow with M up to 8 (64 tokens).
  const int tok_n8 = M <= 8 ? 1 : M <= 16 ? 2 : M <= 32 ? 4 : 8;
  return lsgemm::detail::plan_split_k(tok_n8, w.np / kCudaRowBlock, M, w.n, w.kc, sm_count, kCudaTargetCtasPerSm,
                                      kCudaMaxSplits, kCudaMinChunksPerSplit);
}

}  // namespace detail

// Workspace bytes lsgemm::matmul needs for M tokens on the current device to use
// split-K (0: that shape does not split). Passing less (but not zero) throws; passing
// none (nullptr, 0) runs unsplit, which is slower for small M but needs nothing.
inline size_t workspace_bytes(const DeviceQuantizedMatrix& w, int64_t M) {
  lsgemm::detail::require(M >= 0, "int_quant::workspace_bytes: M=", M, " must be >= 0");
  if (M == 0 || w.empty()) return 0;
  const int sms = lsgemm::detail::device_attribute(cudaDevAttrMultiProcessorCount, lsgemm::detail::current_device());
  return detail::plan_matmul(w, M, sms).workspace;
}

namespace detail {

// The shared device pieces (core/cuda) live in lsgemm::detail.
using lsgemm::detail::bit_cast32;
using lsgemm::detail::cp_async16;
using lsgemm::detail::cp_async16_evict_first;
using lsgemm::detail::cp_async16_zfill;
using lsgemm::detail::cp_async_pipeline;
using lsgemm::detail::from_f32;
using lsgemm::detail::ldmatrix_x2;
using lsgemm::detail::ldmatrix_x4;
using lsgemm::detail::lop3;
using lsgemm::detail::make_l2_evict_first_policy;
using lsgemm::detail::mma_m16n8k16;
using lsgemm::detail::to_f32;

template <int kBits, int kTokN8>
struct WintGemmTile {
  static_assert(kBits == 4 || kBits == 8, "W4 or W8");
  static_assert(kTokN8 == 1 || kTokN8 == 2 || kTokN8 == 4 || kTokN8 == 8, "1, 2, 4 or 8 n8 columns");
  static constexpr int kWarps = 4;
  static constexpr int kThreads = 32 * kWarps;
  static constexpr int kRows = 16 * kWarps;           // = kCudaRowBlock
  static constexpr int kChunkK = kCudaChunkK;
  static constexpr int kSteps = kChunkK / 16;         // MMA k-steps per stage
  static constexpr int kTokens = 8 * kTokN8;
  static constexpr int kWordsPerStep = kBits / 4;     // u32 per lane per k-step: 8 codes
  static constexpr int kVecPerLane = kSteps * kWordsPerStep / 4;  // uint4 per lane per stage
  static constexpr int kWBytes = kWarps * kVecPerLane * 32 * 16;  // 64 rows x 64 k x b/8
  static constexpr int kXBytes = kTokens * kChunkK * 2;           // kTokens x 64 k x 2 B
  static constexpr int kScaleBytes = 2 * kRows * 2;   // 2 group slots x 64 rows x f16
  static constexpr int kZeroBytes = 2 * kRows;        // 2 group slots x 64 rows x u8
  static constexpr int kXOff = kWBytes;
  static constexpr int kScaleOff = kXOff + kXBytes;
  static constexpr int kZeroOff = kScaleOff + kScaleBytes;
  static constexpr int kStageBytes = kZeroOff + kZeroBytes;
  static constexpr int kStages = 4 * kStageBytes <= 48 * 1024 ? 4 : 3;
  static constexpr int kSmemBytes = kStages * kStageBytes;
  static_assert(kRows == kCudaRowBlock, "CTA rows must match the device layout's padding");
  static_assert(kWBytes / 16 == kThreads * kVecPerLane, "each thread copies kVecPerLane weight vectors");
  static_assert(kStageBytes % 128 == 0, "stages keep 128-byte alignment (ldmatrix rows, cp.async)");
  static_assert(kSmemBytes <= 48 * 1024, "static shared memory limit");
};

template <class T>
struct WintGemmArgs {
  const T* x;           // X, m x k, row stride ldx
  int64_t ldx;
  int64_t m;
  int k;                // logical K: columns >= k read as 0
  bool x_vec16;         // X rows may be read with 16-byte copies (16-byte base, ldx % 8 == 0)
  const uint4* codes;
  const uint16_t* scales;
  const uint8_t* zeros;  // null: symmetric, z = zero_default
  int zero_default;
  int64_t np;
  int kc;
  int group;
  int groups_alloc;
  int64_t n;
  int chunks_per_split;
  T* y;
  int64_t ldy;
  float* partial;       // non-null: split-K, write fp32 partials [split][m][n] instead of Y
  const float* bias;
  bool accumulate;
};

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

template <class T>
__device__ __forceinline__ uint32_t pack_pair(T lo, T hi) {
  uint16_t a, b;
  memcpy(&a, &lo, 2);
  memcpy(&b, &hi, 2);
  return uint32_t(a) | (uint32_t(b) << 16);
}

// Y^T = W X^T for one (64-row, kTokens-token, K-slice) tile; see the file comment.
template <class T, int kBits, int kTokN8>
__global__ void __launch_bounds__(WintGemmTile<kBits, kTokN8>::kThreads, kCudaTargetCtasPerSm)
    wint_gemm_mma_m16n8k16(const WintGemmArgs<T> p) {
  using Tile = WintGemmTile<kBits, kTokN8>;
  constexpr int V = Tile::kVecPerLane;
  __shared__ __align__(128) unsigned char smem[Tile::kSmemBytes];

  const int tid = int(threadIdx.x), warp = tid / 32, lane = tid % 32;
  const int64_t n0 = int64_t(blockIdx.x) * Tile::kRows;
  const int64_t m0 = int64_t(blockIdx.y) * Tile::kTokens;
  const int split = int(blockIdx.z);
  const int c_begin = split * p.chunks_per_split;
  const int num_chunks = max(0, min(p.kc - c_begin, p.chunks_per_split));
  const uint64_t evict_first = make_l2_evict_first_policy();
  // This CTA's first 16-row tile; one (tile, chunk) block is V * 32 uint4.
  const uint4* codes_cta = p.codes + int64_t(blockIdx.x) * Tile::kWarps * p.kc * (V * 32);

  auto load = [&](int stage, int i) {
    unsigned char* st = smem + stage * Tile::kStageBytes;
    const int c = c_begin + i;
    // Weights: 4 row tiles x V x 32 lanes x 16 B, in global order (read once: evict-first).
#pragma unroll
    for (int r = 0; r < V; ++r) {
      const int idx = tid + r * Tile::kThreads;
      const int tile = idx / (V * 32), within = idx % (V * 32);
      cp_async16_evict_first(st + idx * 16, codes_cta + (int64_t(tile) * p.kc + c) * (V * 32) + within,
                             evict_first);
    }
    // Scales and zero points of the (at most two, group >= 32) groups the chunk meets:
    // 2 x 128 B of scales (threads 0..15), 2 x 64 B of zeros (threads 16..23).
    const int g0 = (c * Tile::kChunkK) / p.group;
    if (tid < 16) {
      const int g = min(g0 + tid / 8, p.groups_alloc - 1);
      cp_async16(st + Tile::kScaleOff + tid * 16, p.scales + int64_t(g) * p.np + n0 + (tid % 8) * 8);
    } else if (tid < 24 && p.zeros != nullptr) {
      const int u = tid - 16;
      const int g = min(g0 + u / 4, p.groups_alloc - 1);
      cp_async16(st + Tile::kZeroOff + u * 16, p.zeros + int64_t(g) * p.np + n0 + (u % 4) * 16);
    }
    // Activations: kTokens rows x 8 chunks of 8 k. 16-byte chunk ch of token row tok is
    // stored at chunk ch ^ (tok % 8): the 8 rows one ldmatrix reads (same logical chunk)
    // then sit in 8 different 16-byte bank groups, so the read is conflict-free.
    for (int idx = tid; idx < Tile::kTokens * 8; idx += Tile::kThreads) {
      const int tok = idx / 8, ch = idx % 8;
      const int64_t m = m0 + tok;
      const int k = c * Tile::kChunkK + ch * 8;
      unsigned char* dst = st + Tile::kXOff + tok * 128 + ((ch ^ (tok & 7)) * 16);
      const bool in_range = m < p.m && k < p.k;
      if (!in_range) {
        cp_async16_zfill(dst, p.x, false);  // token or k padding: zeros, nothing read
      } else if (p.x_vec16 && k + 8 <= p.k) {
        cp_async16(dst, p.x + m * p.ldx + k);
      } else {
        // K tail or an X that is not 16-byte addressable: element by element.
        const T* src = p.x + m * p.ldx;
        const T zero = from_f32<T>(0.0f);
        T e[8];
#pragma unroll
        for (int u = 0; u < 8; ++u) e[u] = (k + u < p.k) ? src[k + u] : zero;
        *reinterpret_cast<uint4*>(dst) =
            make_uint4(pack_pair(e[0], e[1]), pack_pair(e[2], e[3]), pack_pair(e[4], e[5]), pack_pair(e[6], e[7]));
      }
    }
  };

  float acc[kTokN8][4];  // (16 weight rows) x (8 kTokN8 tokens) f32 accumulators per warp
#pragma unroll
  for (int j = 0; j < kTokN8; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) acc[j][e] = 0.0f;

  const int r0 = warp * 16 + lane / 4;  // CTA-local weight rows of this lane: r0, r0 + 8

  auto compute = [&](int stage, int i) {
    const unsigned char* st = smem + stage * Tile::kStageBytes;
    const int chunk_k = (c_begin + i) * Tile::kChunkK;
    const int g0 = chunk_k / p.group;
    const int slot1_from = (g0 + 1) * p.group - chunk_k;  // first k in this chunk of group g0 + 1

    uint32_t words[4 * V];
#pragma unroll
    for (int v = 0; v < V; ++v) {
      const uint4 q = reinterpret_cast<const uint4*>(st)[(warp * V + v) * 32 + lane];
      words[4 * v + 0] = q.x;
      words[4 * v + 1] = q.y;
      words[4 * v + 2] = q.z;
      words[4 * v + 3] = q.w;
    }
    const uint16_t* sc = reinterpret_cast<const uint16_t*>(st + Tile::kScaleOff);
    const unsigned char* zp = st + Tile::kZeroOff;
    const uint16_t s00 = sc[r0], s01 = sc[r0 + 8], s10 = sc[64 + r0], s11 = sc[64 + r0 + 8];
    uint32_t z00 = p.zero_default, z01 = p.zero_default, z10 = p.zero_default, z11 = p.zero_default;
    if (p.zeros != nullptr) {
      z00 = zp[r0];
      z01 = zp[r0 + 8];
      z10 = zp[64 + r0];
      z11 = zp[64 + r0 + 8];
    }
    const unsigned char* xs = st + Tile::kXOff;

#pragma unroll
    for (int s = 0; s < Tile::kSteps; ++s) {
      const bool slot1 = 16 * s >= slot1_from;  // group boundaries fall on k-steps (group % 16 == 0)
      uint32_t a[4];  // (16 rows x 16 k) A fragment
      dequant_a_fragment<T, kBits>(words[s * Tile::kWordsPerStep],
                                   words[s * Tile::kWordsPerStep + Tile::kWordsPerStep - 1], slot1 ? s10 : s00,
                                   slot1 ? s11 : s01, slot1 ? z10 : z00, slot1 ? z11 : z01, a);
      // ldmatrix lane addresses: lanes 8i..8i+7 -> matrix i, row lane % 8 (a token);
      // matrix i covers tokens 8 (j + i / 2) .. +7 and k 16 s + 8 (i % 2) .. +7.
      const int mat = lane / 8, row = lane % 8;
      if constexpr (kTokN8 == 1) {
        const int chunk = 2 * s + (mat % 2);
        uint32_t b[2];  // (16 k x 8 tokens) B fragment
        ldmatrix_x2(b, xs + row * 128 + ((chunk ^ row) * 16));
        mma_m16n8k16<T>(acc[0], a, b);
      } else {
#pragma unroll
        for (int j = 0; j < kTokN8; j += 2) {
          const int tok = (j + mat / 2) * 8 + row;
          const int chunk = 2 * s + (mat % 2);
          uint32_t r[4];  // two (16 k x 8 tokens) B fragments
          ldmatrix_x4(r, xs + tok * 128 + ((chunk ^ (tok & 7)) * 16));
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
        T* y = p.y + tok * p.ldy + row;
        if (p.accumulate) v += to_f32(*y);
        *y = from_f32<T>(v);
      }
    }
}

template <class T, int kBits, int kTokN8>
void launch_wint_gemm(const WintGemmArgs<T>& args, dim3 grid, cudaStream_t stream) {
  wint_gemm_mma_m16n8k16<T, kBits, kTokN8><<<grid, WintGemmTile<kBits, kTokN8>::kThreads, 0, stream>>>(args);
}

template <class T, int kBits>
void launch_wint_gemm_tokens(int tok_n8, const WintGemmArgs<T>& args, dim3 grid, cudaStream_t stream) {
  switch (tok_n8) {
    case 1: launch_wint_gemm<T, kBits, 1>(args, grid, stream); break;
    case 2: launch_wint_gemm<T, kBits, 2>(args, grid, stream); break;
    case 4: launch_wint_gemm<T, kBits, 4>(args, grid, stream); break;
    default: launch_wint_gemm<T, kBits, 8>(args, grid, stream); break;
  }
}

template <class T>
bool views_overlap(const T* a, int64_t a_rows, int64_t a_cols, int64_t a_ld, const T* b, int64_t b_rows,
                   int64_t b_cols, int64_t b_ld) {
  const auto a0 = reinterpret_cast<uintptr_t>(a), b0 = reinterpret_cast<uintptr_t>(b);
  const auto a1 = a0 + uintptr_t(((a_rows - 1) * a_ld + a_cols) * int64_t(sizeof(T)));
  const auto b1 = b0 + uintptr_t(((b_rows - 1) * b_ld + b_cols) * int64_t(sizeof(T)));
  return a0 < b1 && b0 < a1;
}

template <class T>
void matmul_device(DeviceView<const T> X, const DeviceQuantizedMatrix& w, DeviceView<T> Y, void* workspace,
                   size_t workspace_size, cudaStream_t stream, const Epilogue& epi) {
  using lsgemm::detail::require;
  const char* fn = std::is_same_v<T, __half> ? "matmul(CUDA, fp16)" : "matmul(CUDA, bf16)";
  require(!w.empty(), fn, ": the weight is empty (default-constructed or moved-from DeviceQuantizedMatrix)");
  require(epi.alpha == 1.0f, fn, ": Epilogue::alpha=", epi.alpha,
          " is not supported on the CUDA path yet (only 1; scale the bias and Y instead)");
  require(w.bits == 4 || w.bits == 8, fn, ": weight bits=", w.bits, " (allowed on the CUDA path: 4, 8)");
  require(w.np % kCudaRowBlock == 0 && w.np >= w.n && w.kc * kCudaChunkK >= w.kp && w.group > 0 &&
              w.group % 16 == 0 && w.groups_alloc * w.group >= w.kc * kCudaChunkK + w.group,
          fn, ": the DeviceQuantizedMatrix's metadata is inconsistent (np=", w.np, " kc=", w.kc,
          " group=", w.group, " groups_alloc=", w.groups_alloc, "); build it with to_device()");
  require(w.codes.size() == size_t(w.np / kTileRows * w.kc * (w.bits / 4) * 128) &&
              w.scales.size() == size_t(w.groups_alloc * w.np) &&
              (w.symmetric || w.zeros.size() == w.scales.size()),
          fn, ": the DeviceQuantizedMatrix's buffers do not match its shape; build it with to_device()");
  lsgemm::detail::check_matmul_shapes(X, w.n, w.k, Y);
  const int64_t M = X.rows;
  require(workspace != nullptr || workspace_size == 0, fn, ": workspace is null but workspace_bytes=",
          workspace_size, " (pass nullptr and 0 to run without split-K)");
  require(workspace == nullptr || lsgemm::detail::is_aligned(workspace, 16), fn,
          ": workspace must be 16-byte aligned (cudaMalloc memory is)");
  // grid.y holds token blocks of 64 (for M > 32).
  require(M <= int64_t(65535) * 64, fn, ": M=", M, " exceeds ", int64_t(65535) * 64);
  if (M == 0) return;
  require(!views_overlap(X.data, X.rows, X.cols, X.ld, static_cast<const T*>(Y.data), Y.rows, Y.cols, Y.ld), fn,
          ": X and Y overlap in memory (the kernel reads X while writing Y)");

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
      require(workspace_size >= plan.workspace, fn, ": workspace too small: ", workspace_size,
              " bytes given, ", plan.workspace, " needed for M=", M, " N=", w.n, " K=", w.k, " (",
              plan.splits, " K slices; query int_quant::workspace_bytes, or pass nullptr and 0)");
    }
  }

  WintGemmArgs<T> a{};
  a.x = X.data;
  a.ldx = X.ld;
  a.m = M;
  a.k = int(w.k);
  a.x_vec16 = lsgemm::detail::is_aligned(X.data, 16) && X.ld % 8 == 0;
  a.codes = reinterpret_cast<const uint4*>(w.codes.data());
  a.scales = w.scales.data();
  a.zeros = w.symmetric ? nullptr : w.zeros.data();
  a.zero_default = 1 << (w.bits - 1);
  a.np = w.np;
  a.kc = int(w.kc);
  a.group = w.group;
  a.groups_alloc = int(w.groups_alloc);
  a.n = w.n;
  a.chunks_per_split = plan.chunks_per_split;
  a.y = Y.data;
  a.ldy = Y.ld;
  a.partial = plan.splits > 1 ? static_cast<float*>(workspace) : nullptr;
  a.bias = epi.bias;
  a.accumulate = epi.accumulate;

  const dim3 grid(unsigned(plan.row_blocks), unsigned(plan.tok_blocks), unsigned(plan.splits));
  if (w.bits == 4)
    launch_wint_gemm_tokens<T, 4>(plan.tok_n8, a, grid, stream);
  else
    launch_wint_gemm_tokens<T, 8>(plan.tok_n8, a, grid, stream);
  LSGEMM_CUDA_CHECK(cudaGetLastError());
  if (plan.splits > 1)
    lsgemm::detail::launch_split_k_reduce<T>(static_cast<const float*>(workspace), plan.splits, M, w.n, Y.data,
                                             Y.ld, epi.bias, epi.accumulate, stream);
}

}  // namespace detail
}  // namespace int_quant

// Y = X * W^T (+ bias) on the GPU, int_quant weights from int_quant::to_device. X, Y,
// workspace and epi.bias (N floats, or null) are device pointers. workspace: at least
// int_quant::workspace_bytes(w, M) bytes of device memory for split-K, or nullptr and 0
// to run without it. Asynchronous on `stream`. Throws lsgemm::Error on bad arguments
// (before launching anything) and on CUDA launch errors.
inline void matmul(DeviceView<const __half> X, const int_quant::DeviceQuantizedMatrix& w, DeviceView<__half> Y,
                   void* workspace, size_t workspace_bytes, cudaStream_t stream = 0, const Epilogue& epi = {}) {
  int_quant::detail::matmul_device<__half>(X, w, Y, workspace, workspace_bytes, stream, epi);
}

inline void matmul(DeviceView<const __nv_bfloat16> X, const int_quant::DeviceQuantizedMatrix& w,
                   DeviceView<__nv_bfloat16> Y, void* workspace, size_t workspace_bytes, cudaStream_t stream = 0,
                   const Epilogue& epi = {}) {
  int_quant::detail::matmul_device<__nv_bfloat16>(X, w, Y, workspace, workspace_bytes, stream, epi);
}

}  // namespace lsgemm
