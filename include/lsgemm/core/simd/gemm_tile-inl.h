// Register-tiled GEMM micro-kernels shared by the families (Highway, per target).
//
// Orientation: a micro-tile computes a (kMR rows of X) x (2 vectors of outputs) block
// of Y from a *panel* of decoded weights that holds, for each k (or each quad of 4 k),
// the 2*L output columns of one N-block side by side. A family's decoder fills the
// panel (int_quant: codes -> f32 weights, or codes -> u8 quads); these loops only
// multiply. Accumulators stay in registers for the whole K chunk:
//
//   f32:  per k:      2 panel loads, kMR broadcasts, 2*kMR FMAs
//   u8s8: per k-quad: 2 panel loads, kMR dword broadcasts, 2*kMR quad dots (vpdpbusd)
//
// Tile heights (kMRF32, kMRU8S8): AVX-512, NEON and SVE have 32 vector registers, AVX2
// and SSE4 16. 2 * MR independent accumulator chains must also cover latency x ports
// (FMA: 4 cycles x 2 ports = 8 chains; vpdpbusd: 5 x 1-2).
//
// The tiles keep no arrays of vectors (sizeless SVE/RVV vectors cannot form them) and
// read the vector length from Lanes(): the same code serves fixed and scalable targets.
// HWY_SCALAR has no kernels (core/simd/kernels.hpp): the families route it to the reference.

#if defined(LSGEMM_CORE_SIMD_GEMM_TILE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LSGEMM_CORE_SIMD_GEMM_TILE_INL_H_
#undef LSGEMM_CORE_SIMD_GEMM_TILE_INL_H_
#else
#define LSGEMM_CORE_SIMD_GEMM_TILE_INL_H_
#endif

#include <cstdint>
#include <cstring>

#include "lsgemm/core/hwy_config.hpp"  // before Highway
#include <hwy/highway.h>

#include "lsgemm/core/epilogue.hpp"
#include "lsgemm/core/matrix.hpp"
#include "lsgemm/core/simd/kernels.hpp"

HWY_BEFORE_NAMESPACE();
namespace lsgemm {
namespace simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if (HWY_ARCH_X86 && HWY_TARGET > HWY_AVX3) || HWY_TARGET == HWY_EMU128 || HWY_TARGET == HWY_SCALAR
inline constexpr int kMRF32 = 6;   // 16 registers: 12 accumulators + 2 panel + 1 broadcast
inline constexpr int kMRU8S8 = 6;
inline constexpr int kMRU8S8Groups = 3;  // 12 accumulators (int32 + f32) + 2 panel + 1 broadcast
#else
inline constexpr int kMRF32 = 12;  // 32 registers: 24 accumulators + 2 panel + broadcasts
// GCC 12 keeps a copy of each vpdpbusd accumulator (the instruction overwrites its
// input); with 24 accumulators that overflowed the 32 registers and spilled every one
// per k step. 8 rows (16 accumulators) stay in registers: measured 1.3x faster.
inline constexpr int kMRU8S8 = 8;
inline constexpr int kMRU8S8Groups = 6;  // 24 accumulators (int32 + f32) + 2 panel + 1 broadcast + 2 scales
#endif
inline constexpr int kMR = kMRF32 > kMRU8S8 ? kMRF32 : kMRU8S8;  // largest tile height

// At most 16 lanes of 32 bits: one int_quant tile row-block (16 rows) per vector on
// AVX-512, two on AVX2, four on 128-bit targets.
// The families take them with `using namespace simd::HWY_NAMESPACE::tags;`.
namespace tags {
using DF = hn::CappedTag<float, 16>;
using DI = hn::RebindToSigned<DF>;
using DU = hn::RebindToUnsigned<DF>;
using DU8 = hn::Repartition<uint8_t, DI>;
using DI8 = hn::Repartition<int8_t, DI>;
}  // namespace tags
using namespace tags;  // NOLINT: the skeleton's own spelling

#if LSGEMM_SIMD_KERNELS

// Byte lookup in a 64-entry table (64-byte aligned) at indices in [0, 64), any order.
// kVB: the vector's byte count (a template argument so that scalable targets choose the
// shape once per call). One permute where the target permutes bytes over 64 (VBMI; SVE
// at 512 bits), two-table permutes over 32 and 16 bytes elsewhere on Arm; NEON's tbl
// takes four registers (Highway 1.2 exposes two). x86 without VBMI: Highway emulates a
// 64-entry permute in ~12 ops, so 4 in-block pshufb instead (one per 16-entry sub-table
// broadcast to every block; pshufb reads the index's low 4 bits) and selects on index
// bits 4 and 5 (a 16-bit shift puts each byte's bit in its sign: blendv), 9 ops.
template <int kVB>
HWY_INLINE hn::Vec<DU8> lookup_bytes64(const uint8_t* HWY_RESTRICT tab, hn::Vec<DU8> idx) {
  const DU8 d;
#if HWY_ARCH_X86 && HWY_TARGET > HWY_AVX3_DL
  const hn::Repartition<uint16_t, DU8> d16;
  const DI8 di8;
  const auto s0 = hn::BitCast(di8, hn::TableLookupBytes(hn::LoadDup128(d, tab), idx));
  const auto s1 = hn::BitCast(di8, hn::TableLookupBytes(hn::LoadDup128(d, tab + 16), idx));
  const auto s2 = hn::BitCast(di8, hn::TableLookupBytes(hn::LoadDup128(d, tab + 32), idx));
  const auto s3 = hn::BitCast(di8, hn::TableLookupBytes(hn::LoadDup128(d, tab + 48), idx));
  const auto bit4 = hn::BitCast(di8, hn::ShiftLeft<3>(hn::BitCast(d16, idx)));
  const auto bit5 = hn::BitCast(di8, hn::ShiftLeft<2>(hn::BitCast(d16, idx)));
  return hn::BitCast(
      d, hn::IfNegativeThenElse(bit5, hn::IfNegativeThenElse(bit4, s3, s2), hn::IfNegativeThenElse(bit4, s1, s0)));
#else
  if constexpr (kVB >= 64) {
    return hn::TableLookupLanes(hn::Load(d, tab), hn::IndicesFromVec(d, idx));
  } else if constexpr (kVB == 32) {
    return hn::TwoTablesLookupLanes(d, hn::Load(d, tab), hn::Load(d, tab + 32), hn::IndicesFromVec(d, idx));
  } else {
#if HWY_ARCH_ARM_A64 && (HWY_TARGET & HWY_ALL_NEON)
    return hn::Vec<DU8>{vqtbl4q_u8(vld1q_u8_x4(tab), idx.raw)};
#else
    const auto i31 = hn::IndicesFromVec(d, hn::And(idx, hn::Set(d, uint8_t{31})));
    const auto r0 = hn::TwoTablesLookupLanes(d, hn::Load(d, tab), hn::Load(d, tab + 16), i31);
    const auto r1 = hn::TwoTablesLookupLanes(d, hn::Load(d, tab + 32), hn::Load(d, tab + 48), i31);
    return hn::IfThenElse(hn::TestBit(idx, hn::Set(d, uint8_t{32})), r1, r0);
#endif
  }
#endif
}

// The u8 x s8 quad dot: acc[lane] += sum_{j<4} w[4*lane + j] * x[4*lane + j], exact, for
// codes w < 2^kCodeBits. AVX-512 VNNI (AVX3_DL and later) has it as one instruction
// (vpdpbusd); Highway's generic version on older x86 targets costs about 8 ops. There,
// when the u8 x s8 pair sums fit int16 (kPairsFitI16: codes of at most 7 bits, 2 * 127 *
// 128 = 32512 < 2^15, or a caller's own bound), vpmaddubsw + vpmaddwd is exact. SVE has
// sdot/udot but no mixed-sign dot (usdot needs I8MM, which Highway 1.2 does not use): u8
// x s8 costs two udot and three fix-up ops, while codes of at most 7 bits are the same
// bytes as s8 and take one sdot.
template <int kCodeBits, bool kPairsFitI16 = (kCodeBits <= 7), class VU8, class VI8, class VI>
HWY_INLINE VI quad_dot(DI di, VU8 w, VI8 x, VI acc) {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3_DL && HWY_COMPILER_GCC_ACTUAL && !HWY_COMPILER_CLANG
  // GCC 12 models vpdpbusd's accumulator as a separate output and keeps two copies of
  // every accumulator: the 8 x 2 tile compiled to 16 vpdpbusd + 32 register moves (+
  // spills) per k-quad, and the front end, not the VNNI port, became the limit. Tying
  // the accumulator with "+v" gives one instruction per quad dot. Same instruction as
  // hn::SumOfMulQuadAccumulate, which the other compilers and targets use.
  if constexpr (sizeof(acc.raw) == 64) {
    asm("vpdpbusd %2, %1, %0" : "+v"(acc.raw) : "v"(w.raw), "v"(x.raw));
    return acc;
  }
#endif
#if HWY_ARCH_X86 && HWY_TARGET > HWY_AVX3_DL
  if constexpr (kPairsFitI16) {
    const hn::Repartition<int16_t, DI> di16;
    const auto pairs = hn::SatWidenMulPairwiseAdd(di16, w, x);
    return hn::Add(acc, hn::WidenMulPairwiseAdd(di, pairs, hn::Set(di16, int16_t{1})));
  }
#endif
#if HWY_TARGET_IS_SVE
  if constexpr (kCodeBits <= 7) return hn::SumOfMulQuadAccumulate(di, hn::BitCast(DI8(), w), x, acc);
#endif
#if HWY_ARCH_ARM_A64 && (HWY_TARGET & HWY_ALL_NEON)
  // Highway's NEON targets (no dot product under GCC 12) emulate the quad dot in ~10
  // instructions. Codes of at most 7 bits are s8: smull + smull2 give exact int16
  // products, addp the pair sums (|.| <= 2 * 127 * 128 < 2^15), sadalp the quads.
  if constexpr (kCodeBits <= 7) {
    const int8x16_t a = vreinterpretq_s8_u8(w.raw);
    const int16x8_t pairs = vpaddq_s16(vmull_s8(vget_low_s8(a), vget_low_s8(x.raw)), vmull_high_s8(a, x.raw));
    return VI{vpadalq_s16(acc.raw, pairs)};
  }
#endif
  return hn::SumOfMulQuadAccumulate(di, w, x, acc);
}


// Two quad dots into one accumulator: acc += dot4(wa, xa) + dot4(wb, xb). On x86 without
// VNNI, codes of at most 6 bits keep the four products of a pair of pairs in int16 (4 *
// 63 * 127 = 32004 < 2^15): two vpmaddubsw, one vpaddw and one vpmaddwd + vpaddd, 5 ops
// for two quads instead of 6. Elsewhere two quad_dot.
template <int kCodeBits, class VU8, class VI8, class VI>
HWY_INLINE VI quad_dot2(DI di, VU8 wa, VI8 xa, VU8 wb, VI8 xb, VI acc) {
#if HWY_ARCH_X86 && HWY_TARGET > HWY_AVX3_DL
  if constexpr (kCodeBits <= 6) {
    const hn::Repartition<int16_t, DI> di16;
    const auto pairs = hn::Add(hn::SatWidenMulPairwiseAdd(di16, wa, xa), hn::SatWidenMulPairwiseAdd(di16, wb, xb));
    return hn::Add(acc, hn::WidenMulPairwiseAdd(di, pairs, hn::Set(di16, int16_t{1})));
  }
#endif
  return quad_dot<kCodeBits>(di, wb, xb, quad_dot<kCodeBits>(di, wa, xa, acc));
}

// The accumulators are named variables, one pair per row, generated by the macros
// below: GCC does not keep an array of 24 vectors in registers (it spilled every one
// to the stack in each k step), but it does keep named variables. Rows >= MR compile
// away through `if constexpr`.
#define LSGEMM_ROWS12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
static_assert(kMR <= 12, "LSGEMM_ROWS12 covers at most 12 rows");

// yt[i][0..2L) (+)= sum_{k<kc} x[k*MR + i] * panel[k*2L + 0..2L)   for i < MR
// x is the row tile packed k-major (gemm_driver's pack_rows): the MR broadcasts of one
// k come from one cache line. Reading MR rows of a row-major X instead meant MR
// streams 4*K bytes apart, which for K = 4096 all fall into the same L1 sets.
template <int MR>
HWY_NOINLINE void tile_f32(const float* HWY_RESTRICT x, const float* HWY_RESTRICT panel,
                         int64_t kc, float* HWY_RESTRICT yt, int64_t ldyt, bool load_y) {
  static_assert(MR >= 1 && MR <= 12, "MR in [1, 12]");
  const DF df;
  const size_t L = hn::Lanes(df);
  using V = hn::Vec<DF>;
#define LSGEMM_DECL(i)                                                                  \
  V a0_##i = hn::Zero(df), a1_##i = hn::Zero(df); /* (MR, 2L) f32 accumulators */      \
  if constexpr (MR > i) {                                                               \
    if (load_y) {                                                                       \
      a0_##i = hn::LoadU(df, yt + i * ldyt);                                            \
      a1_##i = hn::LoadU(df, yt + i * ldyt + L);                                        \
    }                                                                                   \
  }
  LSGEMM_ROWS12(LSGEMM_DECL)
#undef LSGEMM_DECL
  for (int64_t k = 0; k < kc; ++k) {
    const V w0 = hn::Load(df, panel + k * 2 * L);
    const V w1 = hn::Load(df, panel + k * 2 * L + L);
#define LSGEMM_STEP(i)                                 \
  if constexpr (MR > i) {                              \
    const V xb = hn::Set(df, x[k * MR + i]);           \
    a0_##i = hn::MulAdd(xb, w0, a0_##i);               \
    a1_##i = hn::MulAdd(xb, w1, a1_##i);               \
  }
    LSGEMM_ROWS12(LSGEMM_STEP)
#undef LSGEMM_STEP
  }
#define LSGEMM_STORE(i)                                \
  if constexpr (MR > i) {                              \
    hn::StoreU(a0_##i, df, yt + i * ldyt);             \
    hn::StoreU(a1_##i, df, yt + i * ldyt + L);         \
  }
  LSGEMM_ROWS12(LSGEMM_STORE)
#undef LSGEMM_STORE
}

// One quad-pair step of the u8 x s8 tiles for row i: panel quads w0/v0 (outputs
// [0, L)) and w1/v1 ([L, 2L)) of quads q and q + 1, against row i's two x quads.
#define LSGEMM_U8S8_PAIR_STEP(i)                                         \
  if constexpr (MR > i) {                                                \
    const auto xa = hn::BitCast(di8, hn::Set(di, xq[q * MR + i]));       \
    const auto xb = hn::BitCast(di8, hn::Set(di, xq[(q + 1) * MR + i])); \
    a0_##i = quad_dot2<kCodeBits>(di, w0, xa, v0, xb, a0_##i);          \
    a1_##i = quad_dot2<kCodeBits>(di, w1, xa, v1, xb, a1_##i);          \
  }

// Integer micro-tile with its per-group fix-up into float:
//   isum[i][c] = sum over nq quads q: dot4(u8 panel quad q of column c, s8 x quads)
//   yt[i][c] (+)= isum * (S[c] * sx[i])  (+ Z[c] * xs[i] when zp)
// p0/p1: the two panel halves (L columns each), `stride` bytes between quads.
// xq: MR rows of int8 X as dwords (4 k each), packed quad-major: xq[q*MR + i].
template <int MR, int kCodeBits>
HWY_NOINLINE void tile_u8s8(const int32_t* HWY_RESTRICT xq, const uint8_t* HWY_RESTRICT p0,
                          const uint8_t* HWY_RESTRICT p1, int64_t stride, int64_t nq,
                          const float* HWY_RESTRICT S, const float* HWY_RESTRICT Z,
                          const float* HWY_RESTRICT sx, const float* HWY_RESTRICT xs, int64_t ldsx,
                          bool zp, float* HWY_RESTRICT yt, int64_t ldyt, bool load_y) {
  static_assert(MR >= 1 && MR <= 12, "MR in [1, 12]");
  const DF df;
  const DI di;
  const DU8 du8;
  const DI8 di8;
  const size_t L = hn::Lanes(df);
  using VI = hn::Vec<DI>;
#define LSGEMM_DECL(i) VI a0_##i = hn::Zero(di), a1_##i = hn::Zero(di); /* (MR, 2L) int32 accumulators */
  LSGEMM_ROWS12(LSGEMM_DECL)
#undef LSGEMM_DECL
  int64_t q = 0;
  for (; q + 2 <= nq; q += 2) {  // quad pairs: quad_dot2
    const auto w0 = hn::LoadU(du8, p0 + q * stride), v0 = hn::LoadU(du8, p0 + (q + 1) * stride);
    const auto w1 = hn::LoadU(du8, p1 + q * stride), v1 = hn::LoadU(du8, p1 + (q + 1) * stride);
    LSGEMM_ROWS12(LSGEMM_U8S8_PAIR_STEP)
  }
  if (q < nq) {  // an odd quad count's last quad
    const auto w0 = hn::LoadU(du8, p0 + q * stride);
    const auto w1 = hn::LoadU(du8, p1 + q * stride);
#define LSGEMM_STEP(i)                                                     \
  if constexpr (MR > i) {                                                  \
    const auto xb = hn::BitCast(di8, hn::Set(di, xq[q * MR + i]));         \
    a0_##i = quad_dot<kCodeBits>(di, w0, xb, a0_##i);                     \
    a1_##i = quad_dot<kCodeBits>(di, w1, xb, a1_##i);                     \
  }
    LSGEMM_ROWS12(LSGEMM_STEP)
#undef LSGEMM_STEP
  }
  const auto s0 = hn::LoadU(df, S), s1 = hn::LoadU(df, S + L);
  const auto z0 = hn::LoadU(df, Z), z1 = hn::LoadU(df, Z + L);
#define LSGEMM_FIXUP(i)                                                           \
  if constexpr (MR > i) {                                                         \
    float* y = yt + i * ldyt;                                                     \
    auto y0 = load_y ? hn::LoadU(df, y) : hn::Zero(df);                           \
    auto y1 = load_y ? hn::LoadU(df, y + L) : hn::Zero(df);                       \
    const auto sxi = hn::Set(df, sx[i * ldsx]);                                   \
    y0 = hn::MulAdd(hn::ConvertTo(df, a0_##i), hn::Mul(s0, sxi), y0);             \
    y1 = hn::MulAdd(hn::ConvertTo(df, a1_##i), hn::Mul(s1, sxi), y1);             \
    if (zp) {                                                                     \
      const auto xsi = hn::Set(df, xs[i * ldsx]);                                 \
      y0 = hn::MulAdd(z0, xsi, y0);                                               \
      y1 = hn::MulAdd(z1, xsi, y1);                                               \
    }                                                                             \
    hn::StoreU(y0, df, y);                                                        \
    hn::StoreU(y1, df, y + L);                                                    \
  }
  LSGEMM_ROWS12(LSGEMM_FIXUP)
#undef LSGEMM_FIXUP
}

// Integer micro-tile over ng consecutive scale groups of nqg quads each, with one
// integer zero point z for every output: per group g, the int32 sums start at
// -z * qs[i][g] (the zero point's term), take the group's quads, and fold into f32
// sums kept in registers across the groups:
//   yt[i][c] (+)= sum over g, in order:  float(isum_g) * (S[g][c] * sx[i][g])
// the same terms in the same order as tile_u8s8 with one group per call, so the same
// bits; S: ng rows of 2L, sx / qs: row i group g at [i * ldsx + g]; nqg even. For short groups
// (block_fp: 16-64 k), where the f32 sums' trip through yt per group cost as much as
// the group's quad dots.
template <int MR, int kCodeBits>
HWY_NOINLINE void tile_u8s8_groups(const int32_t* HWY_RESTRICT xq, const uint8_t* HWY_RESTRICT p0,
                                   const uint8_t* HWY_RESTRICT p1, int64_t stride, int64_t nqg, int64_t ng,
                                   const float* HWY_RESTRICT S, const float* HWY_RESTRICT sx, int64_t ldsx,
                                   int32_t z, const int32_t* HWY_RESTRICT qs, float* HWY_RESTRICT yt, int64_t ldyt,
                                   bool load_y) {
  static_assert(MR >= 1 && MR <= 6, "MR in [1, 6]");
  const DF df;
  const DI di;
  const DU8 du8;
  const DI8 di8;
  const size_t L = hn::Lanes(df);
  using VF = hn::Vec<DF>;
  using VI = hn::Vec<DI>;
#define LSGEMM_DECL(i)                                                          \
  VF y0_##i = hn::Zero(df), y1_##i = hn::Zero(df);                              \
  VI a0_##i = hn::Zero(di), a1_##i = hn::Zero(di);                              \
  if constexpr (MR > i) {                                                       \
    if (load_y) {                                                               \
      y0_##i = hn::LoadU(df, yt + i * ldyt);                                    \
      y1_##i = hn::LoadU(df, yt + i * ldyt + L);                                \
    }                                                                           \
  }
  LSGEMM_ROWS12(LSGEMM_DECL)
#undef LSGEMM_DECL
  for (int64_t g = 0; g < ng; ++g) {
#define LSGEMM_START(i)                                                         \
  if constexpr (MR > i) {                                                       \
    a0_##i = a1_##i = hn::Set(di, -z * qs[i * ldsx + g]);                       \
  }
    LSGEMM_ROWS12(LSGEMM_START)
#undef LSGEMM_START
    for (int64_t q = g * nqg; q < (g + 1) * nqg; q += 2) {  // groups of >= 8 k: whole quad pairs
      const auto w0 = hn::LoadU(du8, p0 + q * stride), v0 = hn::LoadU(du8, p0 + (q + 1) * stride);
      const auto w1 = hn::LoadU(du8, p1 + q * stride), v1 = hn::LoadU(du8, p1 + (q + 1) * stride);
      LSGEMM_ROWS12(LSGEMM_U8S8_PAIR_STEP)
    }
    const auto s0 = hn::LoadU(df, S + g * 2 * L), s1 = hn::LoadU(df, S + g * 2 * L + L);
#define LSGEMM_FOLD(i)                                                          \
  if constexpr (MR > i) {                                                       \
    const auto sxi = hn::Set(df, sx[i * ldsx + g]);                             \
    y0_##i = hn::MulAdd(hn::ConvertTo(df, a0_##i), hn::Mul(s0, sxi), y0_##i);   \
    y1_##i = hn::MulAdd(hn::ConvertTo(df, a1_##i), hn::Mul(s1, sxi), y1_##i);   \
  }
    LSGEMM_ROWS12(LSGEMM_FOLD)
#undef LSGEMM_FOLD
  }
#define LSGEMM_STORE(i)                                                         \
  if constexpr (MR > i) {                                                       \
    hn::StoreU(y0_##i, df, yt + i * ldyt);                                      \
    hn::StoreU(y1_##i, df, yt + i * ldyt + L);                                  \
  }
  LSGEMM_ROWS12(LSGEMM_STORE)
#undef LSGEMM_STORE
}
#undef LSGEMM_U8S8_PAIR_STEP
#undef LSGEMM_ROWS12

#endif  // LSGEMM_SIMD_KERNELS

// Y[m0 + i][n0 + c] = yt[i][c] (+ bias[n0 + c]) (+ old Y) for c < ncols (<= 2L): the
// tail of N is written with StoreN, never past the view.
HWY_INLINE void store_rows(const float* HWY_RESTRICT yt, int64_t ldyt, int64_t rows, float* y,
                           int64_t ldy, int64_t ncols, const float* bias, bool accumulate, float alpha) {
  const DF df;
  const int64_t L = int64_t(hn::Lanes(df));
  const auto va = hn::Set(df, alpha);
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t c = 0; c < ncols; c += L) {
      const size_t cnt = size_t(ncols - c < L ? ncols - c : L);
      auto v = hn::LoadU(df, yt + i * ldyt + c);
      if (alpha != 1.0f) v = hn::Mul(v, va);
      if (bias) v = hn::Add(v, hn::LoadN(df, bias + c, cnt));
      if (accumulate) v = hn::Add(v, hn::LoadN(df, y + i * ldy + c, cnt));
      hn::StoreN(v, df, y + i * ldy + c, cnt);
    }
  }
}

// Rows [m0, m0 + rows) x columns [n0, n0 + ncols) of Y from a task's sums yt (row
// stride ldyt), through the epilogue (core/epilogue.hpp).
HWY_INLINE void store_tile(const float* HWY_RESTRICT yt, int64_t ldyt, int64_t m0, int64_t rows, int64_t n0,
                           int64_t ncols, HostView<float> Y, const Epilogue& epi) {
  store_rows(yt, ldyt, rows, Y.row(m0) + n0, Y.ld, ncols, epi.bias ? epi.bias + n0 : nullptr, epi.accumulate,
             epi.alpha);
}

}  // namespace HWY_NAMESPACE
}  // namespace simd
}  // namespace lsgemm
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
