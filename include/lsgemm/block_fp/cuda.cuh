#pragma once
// block_fp on CUDA: MXFP4, NVFP4 and MXFP8 (E4M3, E5M2) weights x fp16/bf16 activations
// on tensor cores (sm_80+; sm_90a builds run the same mma.sync kernel).
//
//   auto wd = lsgemm::block_fp::to_device(w);                // once: repack + upload
//   size_t ws = lsgemm::block_fp::workspace_bytes(wd, M);    // 0 when no split-K
//   lsgemm::matmul(X, wd, Y, ws_ptr, ws, stream, epi);       // X: M x K half/bf16, Y: M x N same type
//
// Contract: Y[M x N] = X[M x K] * W^T (+ bias[N]) (Y += ... with epi.accumulate), with
// X, Y, the workspace and epi.bias in device memory of the device that was current at
// to_device() (epi.bias: N floats on the device, or null). Asynchronous on `stream`;
// no allocation, no host synchronisation, so calls can be captured in a CUDA graph.
// This is the W-only mode (the host's ActMode::kFloat) with X in half/bf16: each weight
// w = S * v (block_fp/format.hpp) is decoded to the activation type T and the products
// are summed in fp32 by the tensor cores. MX: S is a power of two and v has at most 4
// significant bits, so w is exact in T wherever w is a normal T; NVFP4: S = ts * e4m3(b)
// (the tensor scale folded into the block scale, in f32 as block_scale() does) is rounded
// to T, then the product: two roundings. So results are not bit-identical to
// reference::matmul (double sums of the f32 weights); the tests bound the difference.
// fp16 contract: every weight and every block scale within fp16's range (|w|, S <=
// 65504; pack() gives S <= the block's largest |w|, so the weights' range implies the
// scales'); weights below fp16's normal range (2^-14) lose precision to its subnormal
// spacing 2^-24, as in any fp16 weight. bf16 holds every E8M0 scale.
// Supported: MXFP4 (E2M1, blocks of 32, E8M0 scales), NVFP4 (E2M1, blocks of 16, UE4M3
// scales times the f32 tensor scale), MXFP8 E4M3 and E5M2 (blocks of 32). to_device
// refuses the rest with a message that names it: FP6 elements, MXINT8, BFP, a weight with
// a channel order, and one packed with ActMode::kInt8 (its results would differ from
// reference::matmul's W+A definition for that weight). Element codes that are NaN/Inf
// (E4M3 S.1111.111, E5M2 S.11111.xx) and the scale byte 0xFF are not decoded as such:
// validate() a weight that did not come from pack().
//
// How: the weight-stationary CTA skeleton (core/cuda/cta.cuh: Y^T = W * X^T on
// mma.sync.m16n8k16, the weight as operand A, tokens on the MMA's n side) with this
// family's policy, BlockFpPolicy: the weight stage (codes and the scale bytes of a 64-k
// chunk into shared memory) and the A-fragment decode (below). Host checks, split-K
// planning and the launch switch: core/cuda/cta_launch.cuh.
//
// Device layout written by to_device:
//   codes: int_quant's layout (core/cuda/cta_codes.cuh), with the element codes as they
//     are stored on the host (4 bits: sign + E2M1; 8 bits: sign + E4M3 / E5M2):
//     word [(((t * kc + c) * V + v) * 32 + lane) * 4 + i],  V = bits / 4,
//     f = 4v + i = s * V + u; element (j, h) of lane (g = lane / 4, tq = lane % 4), step s:
//       row = 16t + g + 8 (j % 2),   col = 64c + 16s + 2 tq + h + 8 (j / 2)
//       4-bit: bits [4j + 16h, +4) of word f = s;  8-bit: byte 2 (j % 2) + h of word f = 2s + j / 2
//     rows >= N and cols >= kp hold code 0.
//   scales [b * np + row] (u8: the host's E8M0 / UE4M3 scale bytes), np = N rounded up to
//     64, b < blocks_alloc = 64 kc / block (a chunk meets 64 / block of them: 2 for MX, 4
//     for NVFP4, never part of one); rows >= N and blocks >= kp / block hold 0, whose
//     codes are 0 too, so they contribute exactly 0 (0 * S, S finite: 2^-127 or 0).
//
// Decode, per A register (two codes of one row; the lower column in the low half):
//   x = the two codes at bits [0, b) and [16, 16 + b)   (4-bit: w >> 4j; 8-bit: prmt)
//   v = ((x << (16 - b)) & 0x80008000) | ((x << (mT - mE)) & mag_mask)
// puts each code's sign at bit 15 and its exponent and mantissa fields at the bottom of
// T's exponent field and the top of its mantissa, so that v read as T is the element's
// value times 2^-c, c = biasT - biasE, exactly: the exponent field keeps its integer and
// the mantissa its bits, and the element's subnormals (exponent field 0) land on T's,
// which have the same form. (mT, biasT: fp16 10, 15; bf16 7, 127.)
//              fp16: mT - mE  c     bf16: mT - mE  c     (mag_mask: the b - 1 bits above
//   E2M1             9        14           6       126     the shift, in both halves)
//   E4M3             7        8            4       120
//   E5M2             8        0            5       112
// Then a = (v * P1) * P2, two hmul2, with per (row, block) constants
//   P1 = 2^(c + d),  P2 = S * 2^-d rounded to T,  d = max(min(0, e_S - emin_T), sub_T - c)
// (e_S: S's binary exponent; emin_T: fp16 -14, bf16 -126; sub_T, the exponent of T's
// smallest subnormal: -24, -133). d = 0 unless S is below T's normal range: then P1 =
// 2^c, v * P1 is the element value, exact, and P2 = S (MX: a power of two, exact). A
// smaller S moves into P1 instead, so that P2 stays a normal T and small blocks keep
// their precision (with P2 = S, fp16 would zero every E5M2 block whose largest weight is
// below 2^-9, though its weights are normal fp16 values down to 2^-14); v * 2^d is then
// exact or off by at most fp16's 2^-25, so by at most 2^-38 after the product with P2 <
// 2^-13. (The bound sub_T - c keeps P1 a T, not 0: it acts only on fp16 blocks whose
// weights are all below 2^-21.) The block scale S comes from its byte in f32: E8M0 e ->
// bits e << 23 (e = 0: 2^-127 = 0x00400000); UE4M3 b -> (bits b << 20) * 2^120 (for the
// subnormal b < 8 formed as b * 2^-9, so that no f32 subnormal enters an f32 operation
// there), times ts. P1 and P2 are made once per row, block and chunk in the decoder's
// constructor (cvt to a broadcast T pair each).
//
// This family's tile (the rest of the tiling is the skeleton's, as int_quant's):
//   kTokN8 = 1, 2, 4, 8 n8 token columns by M: <= 8, 16, 32, more (8 to 64 tokens).
//   K streamed in 64-k chunks (4 MMA k-steps). Per stage: codes 64 x 64 x b/8 = 2 KB
//   (4-bit) / 4 KB (8-bit), X kTokens x 64 x 2 B (1 KB per 8 tokens), scale bytes of 4
//   (4-bit) / 2 (8-bit) blocks x 64 rows. kStages = 4 when 4 stages fit the 48 KB static
//   shared memory, else 3 (8-bit with 64 tokens: 12.1 KB/stage). Per warp and k-step:
//   1 A fragment decoded (8 codes: 4 registers x (shifts, 2 masks, 2 hmul2); 8-bit: the
//   prmt instead of the first shift).
//
// Split-K (the skeleton's policy, cta_launch.cuh): e.g. N = K = 4096, M = 1 on 132 SMs:
// 64 row blocks, 8 slices of 8 chunks, 512 CTAs; workspace 8 x 1 x 4096 x 4 = 128 KB.
//
// Not here yet: the sm_90a wgmma/TMA path (sm_90a builds run this mma.sync kernel); FP8
// MMA for MXFP8 weights x FP8 activations (sm_89+: the E4M3/E5M2 codes are the operand,
// the scales applied per block to the fp32 sums) and the block-scaled MMA of sm_100; FP6
// elements (a 6-bit container: a third layout), MXINT8 and BFP (integer elements:
// int_quant's magic-number decode with a power-of-two scale); a channel order (X gathered
// through channels[] when it is staged); the W+A mode (ActMode::kInt8). Oracle:
// block_fp/reference.hpp.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "lsgemm/block_fp/format.hpp"
#include "lsgemm/core/cuda/common.cuh"
#include "lsgemm/core/cuda/cta.cuh"
#include "lsgemm/core/cuda/cta_codes.cuh"
#include "lsgemm/core/cuda/cta_launch.cuh"
#include "lsgemm/core/cuda/mma.cuh"
#include "lsgemm/core/epilogue.hpp"
#include "lsgemm/core/error.hpp"
#include "lsgemm/core/matrix.hpp"

namespace lsgemm {
namespace block_fp {

inline constexpr int kCudaChunkK = 64;  // k per pipeline stage: 4 MMA k-steps of 16

// A packed block_fp weight in device memory, in the layout drawn at the top of this
// file: the shape (bits 4 or 8; kc 64-k chunks) and the codes (DeviceWeight), the format
// the kernel decodes, and the scale bytes. DeviceWeight's f16 `scales` stay empty
// (groups_alloc = 0): the scales are bytes, in scale_bytes.
struct DeviceBlockFpMatrix : DeviceWeight<DeviceBlockFpMatrix> {
  Scheme scheme = Scheme::kMx;               // kMx or kNvfp4
  MxElement element = MxElement::kFp4E2M1;   // kFp4E2M1 (also NVFP4's), kFp8E4M3, kFp8E5M2
  int block = 32;                            // 32 (MX) or 16 (NVFP4)
  float tensor_scale = 1.0f;                 // NVFP4's ts; 1 for MX
  int64_t blocks_alloc = 0;                  // scale-byte rows: 64 kc / block
  DeviceBuffer<uint8_t> scale_bytes;         // blocks_alloc * np

  DeviceBlockFpMatrix() { bits = 4; }
  size_t extra_bytes() const { return scale_bytes.bytes(); }
  void clone_extra(DeviceBlockFpMatrix& c) const {
    c.scheme = scheme;
    c.element = element;
    c.block = block;
    c.tensor_scale = tensor_scale;
    c.blocks_alloc = blocks_alloc;
    c.scale_bytes = scale_bytes.clone();
  }
};

namespace detail {

// ---- what the CUDA path takes, and the host repack -------------------------------

inline bool cuda_supported(const BlockFpMatrix& w) {
  if (w.scheme == Scheme::kNvfp4) return true;
  return w.scheme == Scheme::kMx && (w.element == MxElement::kFp4E2M1 || w.element == MxElement::kFp8E4M3 ||
                                     w.element == MxElement::kFp8E5M2);
}

// How the errors name a format: "mx fp6_e3m2", "nvfp4", "bfp m=5 block=16".
inline std::string format_name(const BlockFpMatrix& w) {
  if (w.scheme == Scheme::kMx) return std::string("mx ") + mx_name(w.element);
  if (w.scheme == Scheme::kBfp)
    return "bfp m=" + std::to_string(w.mantissa_bits) + " block=" + std::to_string(w.block);
  return scheme_name(w.scheme);
}

// The codes in the device layout (file comment), np / 16 * kc * (bits / 4) * 128 words.
// Host-only, so it can be checked without a GPU.
inline std::vector<uint32_t> repack_codes(const BlockFpMatrix& w, int64_t np, int64_t kc) {
  return lsgemm::detail::cta_repack_codes(w.n, w.kp, w.code_bits(), np, kc,
                                          [&w](int64_t r, int64_t c) { return w.code(r, c); });
}

// The scale bytes as [block][np]; blocks >= w.groups() and rows >= n hold 0.
inline std::vector<uint8_t> repack_scales(const BlockFpMatrix& w, int64_t np, int64_t blocks_alloc) {
  std::vector<uint8_t> s(size_t(blocks_alloc * np), 0);
  for (int64_t g = 0; g < w.groups(); ++g)
    for (int64_t r = 0; r < w.n; ++r) s[size_t(g * np + r)] = w.scale_byte(r, g);
  return s;
}

// ---- the decode (file comment); host and device, so the tests run it without a GPU ----

using lsgemm::detail::bit_cast32;

// How an element code becomes T's bits: v = ((x << (16 - bits)) & 0x80008000) |
// ((x << mag_shift) & mag_mask) reads as the element's value times 2^-c.
struct ElementCast {
  int mag_shift;      // T's mantissa bits minus the element's
  uint32_t mag_mask;  // the element's exponent and mantissa fields after that shift, both halves
  int c;              // T's exponent bias minus the element's
};

template <class T>
__host__ __device__ constexpr ElementCast element_cast(MxElement e) {
  static_assert(std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>, "T must be __half or __nv_bfloat16");
  constexpr bool kHalf = std::is_same_v<T, __half>;
  constexpr int kMant = kHalf ? 10 : 7, kBias = kHalf ? 15 : 127;
  // The element's (bits, mantissa bits, exponent bias); OCP MX v1.0 (numeric.hpp's table).
  const int bits = e == MxElement::kFp4E2M1 ? 4 : 8;
  const int mbits = e == MxElement::kFp4E2M1 ? 1 : e == MxElement::kFp8E4M3 ? 3 : 2;
  const int bias = e == MxElement::kFp4E2M1 ? 1 : e == MxElement::kFp8E4M3 ? 7 : 15;
  const uint32_t mag = ((1u << (bits - 1)) - 1u) << (kMant - mbits);
  return {kMant - mbits, mag | (mag << 16), kBias - bias};
}

// v for the two codes of x (bits [0, kBits) and [16, 16 + kBits); higher bits of each
// half are ignored).
template <int kBits>
__host__ __device__ __forceinline__ uint32_t element_pair(uint32_t x, int mag_shift, uint32_t mag_mask) {
  return ((x << (16 - kBits)) & 0x80008000u) | ((x << mag_shift) & mag_mask);
}

// The block scale S (f32) of a scale byte: E8M0, or NVFP4's UE4M3 times the tensor scale
// (the f32 product block_scale() forms). UE4M3 b is (bits b << 20) * 2^120; formed as the
// exponent add (b << 20) + (120 << 23) for normal b (b >= 8) and as b * 2^-9 for the
// subnormal ones, so that no f32 subnormal enters an f32 operation (a build with
// flush-to-zero would lose those scales). Both exact.
__host__ __device__ inline float block_scale_f32(uint32_t byte, bool nvfp4, float tensor_scale) {
  if (nvfp4) {
    const float e4m3 = byte >= 8 ? bit_cast32<float>((byte << 20) + (120u << 23)) : float(byte) * 0x1p-9f;
    return e4m3 * tensor_scale;
  }
  return bit_cast32<float>(byte != 0 ? byte << 23 : 0x00400000u);
}

// P1 = 2^(c + d) and P2 = S * 2^-d (file comment), in f32, exact; the decoder rounds them
// to T. S >= 0 and finite; an f32 subnormal or zero S counts as exponent -127.
template <class T>
__host__ __device__ inline void block_factors(float S, int c, float& p1, float& p2) {
  constexpr bool kHalf = std::is_same_v<T, __half>;
  constexpr int kMinExp = kHalf ? -14 : -126, kMinSubExp = kHalf ? -24 : -133;
  const int e = int(bit_cast32<uint32_t>(S) >> 23) - 127;
  const int d_min = kMinSubExp - c;  // P1 >= T's smallest subnormal, not 0
  const int d = e >= kMinExp ? 0 : e - kMinExp > d_min ? e - kMinExp : d_min;
  // d in [-38, 0] (fp16) / [-1, 0] (bf16): both powers below are normal f32.
  p1 = bit_cast32<float>(uint32_t(127 + c + d) << 23);
  p2 = S * bit_cast32<float>(uint32_t(127 - d) << 23);
}

// f rounded to T, in both halves of a T pair.
template <class T>
__device__ __forceinline__ uint32_t splat_pair(float f) {
  if constexpr (std::is_same_v<T, __half>)
    return bit_cast32<uint32_t>(__float2half2_rn(f));
  else
    return bit_cast32<uint32_t>(__float2bfloat162_rn(f));
}

// The weight's kernel arguments besides its codes.
struct BlockFpWeights {
  const uint8_t* scales;  // [block][np] scale bytes
  int64_t np;
  int blocks_alloc;
  bool nvfp4;             // UE4M3 scale bytes times tensor_scale, blocks of 16; else E8M0, 32
  MxElement element;      // kFp4E2M1 (4-bit codes), kFp8E4M3 or kFp8E5M2 (8-bit)
  float tensor_scale;
};

// The family's policy for the CTA skeleton (core/cuda/cta.cuh): the scale bytes a 64-k
// chunk needs in shared memory, and how a lane turns its codes into A fragments.
template <class T, int kBits>
struct BlockFpPolicy {
  static_assert(kBits == 4 || kBits == 8, "4-bit (E2M1) or 8-bit (E4M3, E5M2) elements");
  using Act = T;
  using Weights = BlockFpWeights;
  using Args = lsgemm::detail::CtaArgs<T, Weights>;
  using T2 = std::conditional_t<std::is_same_v<T, __half>, __half2, __nv_bfloat162>;
  static constexpr int kRows = lsgemm::detail::kCtaRows;
  static constexpr int kChunkK = kCudaChunkK;
  static constexpr int kSteps = kChunkK / 16;                     // MMA k-steps per stage
  static constexpr int kWordsPerStep = kBits / 4;                 // u32 per lane per k-step: 8 codes
  static constexpr int kVecPerLane = kSteps * kWordsPerStep / 4;  // uint4 per lane per stage
  static constexpr int kCodeVecs = kVecPerLane * 32;              // 16 rows x 64 k x b/8
  static constexpr bool kEvenCodeCopy = true;  // every thread copies kVecPerLane vectors
  // Constants: the scale bytes of the blocks a chunk meets x 64 rows: 4-bit codes may be
  // NVFP4's (blocks of 16: 4), 8-bit ones are MX only (blocks of 32: 2).
  static constexpr int kMaxBlocks = kBits == 4 ? kChunkK / 16 : kChunkK / 32;
  static constexpr int kConstBytes = kMaxBlocks * kRows;
  static constexpr int kStageBudget = 48 * 1024;  // the whole static shared memory
  static constexpr bool kFloatY = false;
  // E2M1's cast, as constants for the 4-bit decode (the 8-bit one picks E4M3 or E5M2 at
  // run time, from the weight).
  static constexpr int kE2M1Shift = element_cast<T>(MxElement::kFp4E2M1).mag_shift;
  static constexpr uint32_t kE2M1Mask = element_cast<T>(MxElement::kFp4E2M1).mag_mask;
  static constexpr int kE2M1C = element_cast<T>(MxElement::kFp4E2M1).c;

  // A lane's codes of one chunk and the decode constants of its rows r0, r0 + 8 for every
  // k-step: the A fragments of the chunk's kSteps k-steps.
  struct ADecoder {
    uint32_t words[4 * kVecPerLane];
    // (P1, P1) and (P2, P2) as T pairs for k-step s, rows r0 ([s][0]) and r0 + 8 ([s][1]):
    // per step rather than per block, so that a_fragment indexes them with constants.
    uint32_t p1[kSteps][2], p2[kSteps][2];
    int mag_shift;  // 8-bit only: the element's cast
    uint32_t mag_mask;

    __device__ __forceinline__ ADecoder(const BlockFpPolicy& cta, const Args& p, const unsigned char* codes,
                                        const unsigned char* consts)
        : mag_shift(cta.cast.mag_shift), mag_mask(cta.cast.mag_mask) {
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
      const int r0 = cta.warp * 16 + cta.lane / 4;  // rows r0 and r0 + 8
      const int c = kBits == 4 ? kE2M1C : cta.cast.c;
      bool per_step = false;  // NVFP4: one block per k-step
      if constexpr (kBits == 4) per_step = p.w.nvfp4;
      if (per_step) {
#pragma unroll
        for (int s = 0; s < kSteps; ++s)
#pragma unroll
          for (int h = 0; h < 2; ++h) {
            const float S = block_scale_f32(consts[s * kRows + r0 + 8 * h], true, p.w.tensor_scale);
            set_factors(S, c, p1[s][h], p2[s][h]);
          }
      } else {
        // MX: blocks of 32, one per two k-steps.
#pragma unroll
        for (int b = 0; b < kSteps / 2; ++b)
#pragma unroll
          for (int h = 0; h < 2; ++h) {
            const float S = block_scale_f32(consts[b * kRows + r0 + 8 * h], false, 1.0f);
            set_factors(S, c, p1[2 * b][h], p2[2 * b][h]);
            p1[2 * b + 1][h] = p1[2 * b][h];
            p2[2 * b + 1][h] = p2[2 * b][h];
          }
      }
    }

    static __device__ __forceinline__ void set_factors(float S, int c, uint32_t& p1_pair, uint32_t& p2_pair) {
      float f1, f2;
      block_factors<T>(S, c, f1, f2);
      p1_pair = splat_pair<T>(f1);
      p2_pair = splat_pair<T>(f2);
    }

    __device__ __forceinline__ void a_fragment(const Args&, int s, uint32_t (&a)[4]) const {
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        uint32_t v;
        if constexpr (kBits == 4) {
          v = element_pair<4>(words[s] >> (4 * j), kE2M1Shift, kE2M1Mask);
        } else {
          // Bytes 2 (j % 2) and 2 (j % 2) + 1 of word 2s + j / 2 to bits [0, 8) and [16, 24).
          const uint32_t x = __byte_perm(words[2 * s + j / 2], 0u, (j % 2) ? 0x4342u : 0x4140u);
          v = element_pair<8>(x, mag_shift, mag_mask);
        }
        // (v * P1) * P2: the first product is exact (file comment), the second rounds once.
        const T2 w = __hmul2(__hmul2(bit_cast32<T2>(v), bit_cast32<T2>(p1[s][j % 2])), bit_cast32<T2>(p2[s][j % 2]));
        a[j] = bit_cast32<uint32_t>(w);
      }
    }
  };

  int64_t n0;
  int warp, lane;
  ElementCast cast;  // 8-bit: E4M3 or E5M2; 4-bit: E2M1 (the decoder uses the constants)

  __device__ __forceinline__ BlockFpPolicy(const Args& p, int64_t n0_, int warp_, int lane_)
      : n0(n0_),
        warp(warp_),
        lane(lane_),
        cast(element_cast<T>(kBits == 4 ? MxElement::kFp4E2M1 : p.w.element)) {}

  // The scale bytes of the 64 / block blocks chunk c meets: 4 pieces of 16 B per block
  // (threads 0..7 for MX, 0..15 for NVFP4).
  __device__ __forceinline__ void load_consts(const Args& p, unsigned char* consts, int c, int tid) const {
    const int blocks = (kBits == 4 && p.w.nvfp4) ? 4 : 2;
    if (tid < 4 * blocks)
      lsgemm::detail::load_group_rows(consts, p.w.scales, tid, c * blocks, p.w.blocks_alloc, p.w.np, n0);
  }

  __device__ __forceinline__ ADecoder decoder(const Args& p, const unsigned char* codes, const unsigned char* consts,
                                              int) const {
    return ADecoder(*this, p, codes, consts);
  }
};

// The family as the skeleton's host side sees it (core/cuda/cta_launch.cuh).
struct BlockFpFamily {
  using Matrix = DeviceBlockFpMatrix;
  static constexpr lsgemm::detail::CtaFamilyNames kNames{"block_fp", "DeviceBlockFpMatrix", "block_fp::to_device"};
  using BitWidths = std::integer_sequence<int, 4, 8>;
  using TokN8s = std::integer_sequence<int, 1, 2, 4, 8>;
  template <class T, int kBits>
  using Policy = BlockFpPolicy<T, kBits>;

  static constexpr int code_vecs(int bits) { return bits / 4 * 32; }
  template <class T, class TY>
  static const char* call_name() {
    return std::is_same_v<T, __half> ? "block_fp matmul(CUDA, fp16)" : "block_fp matmul(CUDA, bf16)";
  }

  static void check_weight(const char* fn, const Matrix& w) {
    using lsgemm::detail::require;
    require(w.bits == 4 || w.bits == 8, fn, ": weight bits=", w.bits, " (allowed on the CUDA path: 4, 8)");
    const bool format_ok =
        w.bits == 4 ? (w.scheme == Scheme::kNvfp4 && w.block == 16) ||
                          (w.scheme == Scheme::kMx && w.element == MxElement::kFp4E2M1 && w.block == 32)
                    : w.scheme == Scheme::kMx && w.block == 32 &&
                          (w.element == MxElement::kFp8E4M3 || w.element == MxElement::kFp8E5M2);
    require(format_ok && w.np % lsgemm::detail::kCtaRows == 0 && w.np >= w.n && w.kc * kCudaChunkK >= w.kp &&
                w.kp >= w.k && w.groups_alloc == 0 && w.blocks_alloc * w.block == w.kc * kCudaChunkK &&
                w.tensor_scale > 0.0f && std::isfinite(w.tensor_scale),
            fn, ": the DeviceBlockFpMatrix's metadata is inconsistent (bits=", w.bits, " scheme=",
            scheme_name(w.scheme), " element=", mx_name(w.element), " block=", w.block, " np=", w.np, " kc=", w.kc,
            " blocks_alloc=", w.blocks_alloc, " tensor_scale=", w.tensor_scale, "); build it with to_device()");
  }
  static bool extra_consts_match(const Matrix& w) { return w.scale_bytes.size() == size_t(w.blocks_alloc * w.np); }

  // n8 token columns per CTA grow with M up to 8 (64 tokens).
  static int tok_n8(int64_t M) { return M <= 8 ? 1 : M <= 16 ? 2 : M <= 32 ? 4 : 8; }

  static BlockFpWeights weights(const Matrix& w) {
    return {w.scale_bytes.data(), w.np, int(w.blocks_alloc), w.scheme == Scheme::kNvfp4, w.element,
            w.tensor_scale};
  }
};

}  // namespace detail

// Repacks a host-packed weight into the device layout and uploads it on `stream`
// (synchronised before returning, so the staging vectors can go). Throws Error, before
// any CUDA call, for the formats the CUDA path does not take (file comment), ActMode::kInt8
// weights, a channel order, or inconsistent packed sizes.
inline DeviceBlockFpMatrix to_device(const BlockFpMatrix& w, cudaStream_t stream = 0) {
  using lsgemm::detail::require;
  require(detail::cuda_supported(w), "block_fp::to_device: ", detail::format_name(w),
          " weights are not supported on the CUDA path (allowed: mx fp4_e2m1, mx fp8_e4m3, mx fp8_e5m2, nvfp4)");
  require(w.act == ActMode::kFloat, "block_fp::to_device: act=", act_mode_name(w.act),
          " is not supported on the CUDA path (it multiplies half/bf16 activations, i.e. act=float;"
          " the codes and scales are the same, so set act = ActMode::kFloat on a clone to use this weight)");
  require(w.channels.size() == 0, "block_fp::to_device: a channel order (PackOptions::order = by_amax) is not "
          "supported on the CUDA path yet (the kernel reads X in its natural order; allowed: pack with "
          "ChannelOrder::kNatural)");
  detail::check_packed(w, "block_fp::to_device");

  // The skeleton's shape from the host's: the block plays the group.
  struct HostShape {
    int64_t n, k, kp;
    int group;
    bool per_channel, symmetric;
  };
  const HostShape hs{w.n, w.k, w.kp, w.block, false, true};
  DeviceBlockFpMatrix d;
  static_cast<DeviceWeightShape&>(d) =
      lsgemm::detail::cta_weight_shape(hs, w.code_bits(), kCudaChunkK, "block_fp::to_device");
  d.scheme = w.scheme;
  d.element = w.scheme == Scheme::kNvfp4 ? MxElement::kFp4E2M1 : w.element;
  d.block = w.block;
  d.tensor_scale = w.scheme == Scheme::kNvfp4 ? w.tensor_scale : 1.0f;
  d.groups_alloc = 0;
  d.blocks_alloc = d.kc * kCudaChunkK / w.block;

  const std::vector<uint32_t> words = detail::repack_codes(w, d.np, d.kc);
  const std::vector<uint8_t> scales = detail::repack_scales(w, d.np, d.blocks_alloc);
  d.device = lsgemm::detail::current_device();
  lsgemm::detail::upload_staged(stream, std::tie(d.codes, words), std::tie(d.scale_bytes, scales));
  return d;
}

using lsgemm::workspace_bytes;  // workspace_bytes(w, M) for a DeviceBlockFpMatrix

}  // namespace block_fp

template <>
struct detail::CtaFamilyOf<block_fp::DeviceBlockFpMatrix> {
  using type = block_fp::detail::BlockFpFamily;
};

// Y = X * W^T (+ bias) on the GPU, block_fp weights from block_fp::to_device. X, Y,
// workspace and epi.bias (N floats, or null) are device pointers. workspace: at least
// block_fp::workspace_bytes(w, M) bytes of device memory for split-K, or nullptr and 0
// to run without it. Asynchronous on `stream`. Throws lsgemm::Error on bad arguments
// (before launching anything) and on CUDA launch errors.
inline void matmul(DeviceView<const __half> X, const block_fp::DeviceBlockFpMatrix& w, DeviceView<__half> Y,
                   void* workspace, size_t workspace_bytes, cudaStream_t stream = 0, const Epilogue& epi = {}) {
  detail::cta_matmul<block_fp::detail::BlockFpFamily>(X, w, Y, workspace, workspace_bytes, stream, epi);
}

inline void matmul(DeviceView<const __nv_bfloat16> X, const block_fp::DeviceBlockFpMatrix& w,
                   DeviceView<__nv_bfloat16> Y, void* workspace, size_t workspace_bytes, cudaStream_t stream = 0,
                   const Epilogue& epi = {}) {
  detail::cta_matmul<block_fp::detail::BlockFpFamily>(X, w, Y, workspace, workspace_bytes, stream, epi);
}

}  // namespace lsgemm
