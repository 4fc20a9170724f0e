#pragma once
// The CTA skeleton of the weight-stationary CUDA kernels (int_quant, lut, and the
// families to come): Y^T = W * X^T on mma.sync.m16n8k16, with everything that does not
// depend on how a family packs its weights written once here. A family supplies a
// policy (the weight stage and the A-fragment decode, below); the host side of the
// skeleton (checks, split-K planning, the launch switch) is in core/cuda/cta_launch.cuh.
//
// Why Y^T = W * X^T: the weight is operand A (16 rows of W per MMA) and the tokens are
// the MMA's n side (8 tokens), so M = 1..8 costs one n8 column instead of a 16-row pad.
// The packed codes stream through shared memory and the family decodes them in
// registers straight into A fragments; the activations go through shared memory and
// ldmatrix into B fragments; fp32 accumulators. (This is where CUTLASS's mixed-input
// collective and Marlin draw the line too: the operand that is converted is the
// family's business, the rest of the mainloop is not.)
//
// Tiling (one CTA = kCtaWarps = 4 warps = 128 threads):
//   CTA tile: kCtaRows = 64 weight rows (warp w owns rows 16w..16w+15: one m16 A tile)
//             x kTokens = 8 * kTokN8 tokens (the family lists the kTokN8 it offers)
//             x K streamed in chunks of Policy::kChunkK through a kStages-deep cp.async
//             ring (core/cuda/pipeline.cuh).
//   Stage layout: [codes: 4 row tiles x kCodeVecs x 16 B][X: kTokens x kChunkK x 2 B]
//                 [per-group constants: kConstBytes]. kStages = 4 when four stages fit
//                 the family's kStageBudget, else 3 (all within 48 KB of static shared
//                 memory).
//   Per warp and k-step: one A fragment from the family's decoder, kTokN8 MMAs,
//   kTokN8 / 2 ldmatrix.x4 (one ldmatrix.x2 for a single n8 column).
//   Grid: (N / 64 row blocks, M / kTokens token blocks, K splits); grid.z = split s
//   walks chunks [s * chunks_per_split, +chunks_per_split) of the weight.
//
// Codes in global memory: one contiguous block of kCodeVecs 16-byte vectors per
// (16-row tile t, chunk c), at block t * kc + c, in whatever order the family's decoder
// wants them in shared memory. The skeleton copies a chunk's 4 blocks (one per warp)
// with an L2 evict-first policy: weights are read exactly once per call, so they should
// not push X (re-read by every CTA of a grid column) and the split-K partials out of L2.
//
// X in shared memory: one token row of kChunkK halves (kChunkK / 8 pieces of 16 bytes).
// Piece ch of token row tok is stored at ch ^ (tok % 8): the 8 rows one ldmatrix reads
// (same logical piece, rows kChunkK * 2 bytes apart, a multiple of 128) then sit in 8
// different 16-byte bank groups, so the read is conflict-free. Token and K padding is
// zero-filled by cp.async itself; a K tail or an X that is not 16-byte addressable is
// copied element by element with ordinary shared stores (pipeline.cuh: still visible).
//
// Epilogue: accumulator (j, e) of a lane is weight row r0 + 8 (e / 2), token
// 8 j + 2 (lane % 4) + e % 2 (r0 = 16 warp + lane / 4). Unsplit, the CTA writes Y itself
// (+ bias, + Y when accumulating, one rounding to Y's type); split, it writes fp32
// partials [split][m][n] to the caller's workspace and split_k_reduce folds them.
//
// The policy: a struct templated on the activation type T and the code width, with
//   using Act = T;                         __half or __nv_bfloat16
//   using Weights = ...;                   the weight's kernel arguments (trivially
//                                          copyable: device pointers and shape)
//   static constexpr int kChunkK;          k per stage, a multiple of 16
//   static constexpr int kCodeVecs;        16-byte code vectors per (16-row tile, chunk)
//   static constexpr bool kEvenCodeCopy;   every thread copies the same number of them
//                                          (an unrolled copy with no bound test; needs
//                                          4 kCodeVecs % 128 == 0), else a strided loop
//   static constexpr int kConstBytes;      shared bytes of one stage's group constants
//   static constexpr int kStageBudget;     bytes four stages may take (else three)
//   static constexpr bool kFloatY;         Y may be fp32 (picked per call by y_f32)
//   __device__ Policy(const CtaArgs<T, Weights>& p, int64_t n0, int warp, int lane);
//                                          per-CTA state, built once before the ring
//   __device__ void load_consts(p, unsigned char* consts, int chunk, int tid) const;
//                                          issue the cp.async copies of one chunk's
//                                          group constants (all 128 threads call it)
//   __device__ ADecoder decoder(p, const unsigned char* codes,
//                               const unsigned char* consts, int chunk) const;
//                                          this lane's view of a landed stage, whose
//   __device__ void ADecoder::a_fragment(p, int s, uint32_t (&a)[4]);
//                                          gives the A fragment (rows r0, r0 + 8 of the
//                                          warp's m16 tile) of k-step s, s = 0, 1, ...
//                                          (p is passed, not kept: a decoder that holds a
//                                          reference to the kernel arguments made ptxas
//                                          reload them in the epilogue)
// CtaPolicyCheck below turns a missing or mistyped member into a compile error that
// names it.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "lsgemm/core/cuda/common.cuh"
#include "lsgemm/core/cuda/mma.cuh"
#include "lsgemm/core/cuda/pipeline.cuh"

namespace lsgemm {
namespace detail {

inline constexpr int kCtaWarps = 4;
inline constexpr int kCtaThreads = 32 * kCtaWarps;
inline constexpr int kCtaRows = 16 * kCtaWarps;  // weight rows per CTA: one m16 tile per warp
// Split-K planning (cta_launch.cuh): __launch_bounds__ promises this many resident CTAs
// per SM, and fewer than that leaves bandwidth unused on decode shapes.
inline constexpr int kCtaTargetCtasPerSm = 4;
inline constexpr int kCtaMaxSplits = 16;
inline constexpr int kCtaMinChunksPerSplit = 4;  // each slice fills the ring

// Kernel arguments: the call (X, Y, epilogue, K slicing) around the family's Weights.
template <class T, class Weights>
struct CtaArgs {
  const T* x;           // X, m x k, row stride ldx
  int64_t ldx;
  int64_t m;
  int k;                // logical K: columns >= k read as 0
  bool x_vec16;         // X rows may be read with 16-byte copies (16-byte base, ldx % 8 == 0)
  const uint4* codes;   // [16-row tile][chunk] blocks of Policy::kCodeVecs vectors
  Weights w;
  int64_t n;            // logical N: rows >= n are computed but not stored
  int kc;               // chunks of the whole K
  int chunks_per_split;
  void* y;              // T, or float when y_f32 (policies with kFloatY only)
  bool y_f32;
  int64_t ldy;
  float* partial;       // non-null: split-K, write fp32 partials [split][m][n] instead of Y
  const float* bias;
  bool accumulate;
};

template <class Policy>
using CtaArgsOf = CtaArgs<typename Policy::Act, typename Policy::Weights>;

// The static interface of a policy (file comment), checked member by member.
template <class P, class = void>
struct PolicyHasLoadConsts : std::false_type {};
template <class P>
struct PolicyHasLoadConsts<P, std::void_t<decltype(std::declval<const P&>().load_consts(
                                  std::declval<const CtaArgsOf<P>&>(), std::declval<unsigned char*>(), 0, 0))>>
    : std::true_type {};

template <class P, class = void>
struct PolicyHasDecoder : std::false_type {};
template <class P>
struct PolicyHasDecoder<
    P, std::void_t<decltype(std::declval<const P&>().decoder(std::declval<const CtaArgsOf<P>&>(),
                                                             std::declval<const unsigned char*>(),
                                                             std::declval<const unsigned char*>(), 0)
                                .a_fragment(std::declval<const CtaArgsOf<P>&>(), 0,
                                            std::declval<uint32_t (&)[4]>()))>> : std::true_type {};

template <class P>
struct CtaPolicyCheck {
  using T = typename P::Act;
  static_assert(std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>,
                "Policy::Act must be __half or __nv_bfloat16");
  static_assert(std::is_trivially_copyable_v<typename P::Weights>, "Policy::Weights is a kernel argument");
  static_assert(std::is_same_v<decltype(P::kChunkK), const int> && P::kChunkK >= 16 && P::kChunkK % 16 == 0,
                "Policy::kChunkK: k per stage, a multiple of the MMA's 16");
  static_assert(std::is_same_v<decltype(P::kCodeVecs), const int> && P::kCodeVecs % 2 == 0,
                "Policy::kCodeVecs: 16-byte vectors per (tile, chunk); 4 tiles of them keep X 128-byte aligned");
  static_assert(std::is_same_v<decltype(P::kEvenCodeCopy), const bool>, "Policy::kEvenCodeCopy: a bool");
  static_assert(std::is_same_v<decltype(P::kConstBytes), const int> && P::kConstBytes >= 0,
                "Policy::kConstBytes: shared bytes of a stage's group constants");
  static_assert(std::is_same_v<decltype(P::kStageBudget), const int>, "Policy::kStageBudget: an int");
  static_assert(std::is_same_v<decltype(P::kFloatY), const bool>, "Policy::kFloatY: a bool");
  static_assert(std::is_constructible_v<P, const CtaArgsOf<P>&, int64_t, int, int>,
                "Policy(const CtaArgs&, int64_t n0, int warp, int lane): the per-CTA state");
  static_assert(PolicyHasLoadConsts<P>::value,
                "Policy::load_consts(const CtaArgs&, unsigned char* consts, int chunk, int tid) const");
  static_assert(PolicyHasDecoder<P>::value,
                "Policy::decoder(const CtaArgs&, const unsigned char* codes, const unsigned char* consts, int "
                "chunk) const, returning a decoder with a_fragment(const CtaArgs&, int s, uint32_t (&a)[4])");
  static constexpr bool value = true;
};

// Shared-memory geometry of one (policy, token width) instantiation.
template <class Policy, int kTokN8>
struct CtaTile {
  static_assert(CtaPolicyCheck<Policy>::value);
  static_assert(kTokN8 == 1 || kTokN8 == 2 || kTokN8 == 4 || kTokN8 == 8, "1, 2, 4 or 8 n8 token columns");
  static constexpr int kChunkK = Policy::kChunkK;
  static constexpr int kSteps = kChunkK / 16;        // MMA k-steps per stage
  static constexpr int kTokens = 8 * kTokN8;
  static constexpr int kXPieces = kChunkK / 8;       // 16-byte pieces per token row
  static constexpr int kXRowBytes = kChunkK * 2;     // one token's kChunkK halves
  static constexpr int kXBytes = kTokens * kXRowBytes;
  static constexpr int kCodeVecs = kCtaWarps * Policy::kCodeVecs;  // per stage
  static constexpr int kXOff = kCodeVecs * 16;
  static constexpr int kConstOff = kXOff + kXBytes;
  static constexpr int kStageBytes = kConstOff + Policy::kConstBytes;
  static constexpr int kStages = 4 * kStageBytes <= Policy::kStageBudget ? 4 : 3;
  static constexpr int kSmemBytes = kStages * kStageBytes;
  static_assert(kXRowBytes % 128 == 0, "the X swizzle assumes rows of whole 128-byte lines");
  static_assert(kStageBytes % 128 == 0, "stages keep 128-byte alignment (ldmatrix rows, cp.async)");
  static_assert(kSmemBytes <= 48 * 1024, "static shared memory limit");
};

// Two 16-bit values as one 32-bit word, lo in the low half (the lower column).
template <class T>
__device__ __forceinline__ uint32_t pack_pair(T lo, T hi) {
  uint16_t a, b;
  memcpy(&a, &lo, 2);
  memcpy(&b, &hi, 2);
  return uint32_t(a) | (uint32_t(b) << 16);
}

// Issues the copies of chunk c's code blocks of the CTA's 4 row tiles (codes_cta: its
// first tile) into the stage, in global order. Called by every thread.
template <class Tile, bool kEven>
__device__ __forceinline__ void load_code_stage(unsigned char* st, const uint4* codes_cta, int kc, int c, int tid,
                                                uint64_t evict_first) {
  constexpr int kBlock = Tile::kCodeVecs / kCtaWarps;  // vectors per (tile, chunk)
  if constexpr (kEven) {
    static_assert(Tile::kCodeVecs % kCtaThreads == 0, "kEvenCodeCopy: each thread copies whole vectors");
#pragma unroll
    for (int r = 0; r < Tile::kCodeVecs / kCtaThreads; ++r) {
      const int idx = tid + r * kCtaThreads;
      const int tile = idx / kBlock, within = idx % kBlock;
      cp_async16_evict_first(st + idx * 16, codes_cta + (int64_t(tile) * kc + c) * kBlock + within, evict_first);
    }
  } else {
    for (int idx = tid; idx < Tile::kCodeVecs; idx += kCtaThreads) {
      const int tile = idx / kBlock, within = idx % kBlock;
      cp_async16_evict_first(st + idx * 16, codes_cta + (int64_t(tile) * kc + c) * kBlock + within, evict_first);
    }
  }
}

// Piece u (16 bytes) of a chunk's group constants: rows n0 .. n0 + 63 of group
// g0 + u / kPieces of a [group][np] array of E (the groups past the last clamped to it),
// kPieces = 64 rows x sizeof(E) / 16 pieces per group. Families call it from
// load_consts, one call per thread and array.
template <class E>
__device__ __forceinline__ void load_group_rows(unsigned char* dst, const E* src, int u, int g0, int groups_alloc,
                                                int64_t np, int64_t n0) {
  constexpr int kPieces = kCtaRows * int(sizeof(E)) / 16;
  const int g = min(g0 + u / kPieces, groups_alloc - 1);
  cp_async16(dst + u * 16, src + int64_t(g) * np + n0 + (u % kPieces) * (16 / int(sizeof(E))));
}

// Issues the copies of chunk c of the CTA's kTokens token rows into the stage's X area
// (swizzled, file comment). Called by every thread.
template <class Tile, class T, class Args>
__device__ __forceinline__ void load_x_stage(unsigned char* xs, const Args& p, int64_t m0, int c, int tid) {
  for (int idx = tid; idx < Tile::kTokens * Tile::kXPieces; idx += kCtaThreads) {
    const int tok = idx / Tile::kXPieces, ch = idx % Tile::kXPieces;
    const int64_t m = m0 + tok;
    const int k = c * Tile::kChunkK + ch * 8;
    unsigned char* dst = xs + tok * Tile::kXRowBytes + ((ch ^ (tok & 7)) * 16);
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
}

// One k-step of a warp: the B fragments of k-step s for all kTokN8 token columns, from
// the stage's X area, each multiplied with the warp's A fragment into its accumulator.
template <class Tile, class T, int kTokN8>
__device__ __forceinline__ void mma_k_step(float (&acc)[kTokN8][4], const uint32_t (&a)[4], const unsigned char* xs,
                                           int s, int lane) {
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

// Writes a lane's accumulators: fp32 partials when split, else Y (+ bias, + Y), rounded
// once to Y's type. kFloatY: Y may be fp32, chosen per call by p.y_f32.
template <class T, bool kFloatY, int kTokN8, class Args>
__device__ __forceinline__ void store_accumulators(const Args& p, const float (&acc)[kTokN8][4], int64_t n0, int64_t m0,
                                                   int split, int r0, int lane) {
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
        if (kFloatY && p.y_f32) {
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
}

// Y^T = W X^T for one (64-row, kTokens-token, K-slice) tile; see the file comment.
template <class Policy, int kTokN8>
__global__ void __launch_bounds__(kCtaThreads, kCtaTargetCtasPerSm)
    weight_stationary_gemm(const CtaArgsOf<Policy> p) {
#if LSGEMM_CUDA_PRE_SM80
  // cp.async, bf16 mma and the decoders' bf16 arithmetic need sm_80: compiled for an
  // older architecture the kernel traps instead of failing the build (as mma.cuh), and
  // the host refuses such a device before launching.
  (void)p;
  __trap();
#else
  using T = typename Policy::Act;
  using Tile = CtaTile<Policy, kTokN8>;
  __shared__ __align__(128) unsigned char smem[Tile::kSmemBytes];

  const int tid = int(threadIdx.x), warp = tid / 32, lane = tid % 32;
  const int64_t n0 = int64_t(blockIdx.x) * kCtaRows;
  const int64_t m0 = int64_t(blockIdx.y) * Tile::kTokens;
  const int split = int(blockIdx.z);
  const int c_begin = split * p.chunks_per_split;
  const int num_chunks = max(0, min(p.kc - c_begin, p.chunks_per_split));
  const uint64_t evict_first = make_l2_evict_first_policy();  // for the codes (file comment)
  const uint4* codes_cta = p.codes + int64_t(blockIdx.x) * Tile::kCodeVecs * p.kc;
  const Policy weights(p, n0, warp, lane);

  auto load = [&](int stage, int i) {
    unsigned char* st = smem + stage * Tile::kStageBytes;
    const int c = c_begin + i;
    load_code_stage<Tile, Policy::kEvenCodeCopy>(st, codes_cta, p.kc, c, tid, evict_first);
    weights.load_consts(p, st + Tile::kConstOff, c, tid);
    load_x_stage<Tile, T>(st + Tile::kXOff, p, m0, c, tid);
  };

  float acc[kTokN8][4];  // (16 weight rows) x (8 kTokN8 tokens) f32 accumulators per warp
#pragma unroll
  for (int j = 0; j < kTokN8; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) acc[j][e] = 0.0f;

  const int r0 = warp * 16 + lane / 4;  // CTA-local weight rows of this lane: r0, r0 + 8

  auto compute = [&](int stage, int i) {
    const unsigned char* st = smem + stage * Tile::kStageBytes;
    auto decoder = weights.decoder(p, st, st + Tile::kConstOff, c_begin + i);
    const unsigned char* xs = st + Tile::kXOff;
#pragma unroll
    for (int s = 0; s < Tile::kSteps; ++s) {
      uint32_t a[4];  // (16 rows x 16 k) A fragment
      decoder.a_fragment(p, s, a);
      mma_k_step<Tile, T>(acc, a, xs, s, lane);
    }
  };

  cp_async_pipeline<Tile::kStages>(num_chunks, load, compute);

  store_accumulators<T, Policy::kFloatY>(p, acc, n0, m0, split, r0, lane);
#endif  // LSGEMM_CUDA_PRE_SM80
}

}  // namespace detail
}  // namespace lsgemm
