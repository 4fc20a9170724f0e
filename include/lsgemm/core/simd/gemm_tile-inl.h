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
// kMR: AVX-512 and NEON have 32 vector registers: 12 rows x 2 = 24 accumulators + 2
// panel vectors + broadcasts. 24 independent chains also cover FMA/VNNI latency x
// ports (4-5 cycles x 2 ports = 8-10 chains needed). AVX2/SSE4 have 16 registers: 6.
//
// Vectors live in small arrays indexed by compile-time constants after unrolling, which
// the compilers keep in registers on fixed-width targets; scalable targets (SVE, RVV)
// do not allow arrays of vectors, so callers route them elsewhere (HWY_HAVE_SCALABLE).

#if defined(LSGEMM_CORE_SIMD_GEMM_TILE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LSGEMM_CORE_SIMD_GEMM_TILE_INL_H_
#undef LSGEMM_CORE_SIMD_GEMM_TILE_INL_H_
#else
#define LSGEMM_CORE_SIMD_GEMM_TILE_INL_H_
#endif

#include <cstdint>
#include <cstring>

#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace lsgemm {
namespace simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_ARCH_X86 && HWY_TARGET > HWY_AVX3
inline constexpr int kMR = 6;
#elif HWY_TARGET == HWY_EMU128 || HWY_TARGET == HWY_SCALAR
inline constexpr int kMR = 6;
#else
inline constexpr int kMR = 12;
#endif

// At most 16 lanes of 32 bits: one int_quant tile row-block (16 rows) per vector on
// AVX-512, two on AVX2, four on 128-bit targets.
using DF = hn::CappedTag<float, 16>;
using DI = hn::RebindToSigned<DF>;
using DU = hn::RebindToUnsigned<DF>;
using DU8 = hn::Repartition<uint8_t, DI>;
using DI8 = hn::Repartition<int8_t, DI>;

#if !HWY_HAVE_SCALABLE && HWY_TARGET != HWY_SCALAR

// yt[i][0..2L) (+)= sum_{k<kc} x[i*ldx + k] * panel[k*2L + 0..2L)   for i < MR
template <int MR>
HWY_INLINE void tile_f32(const float* HWY_RESTRICT x, int64_t ldx, const float* HWY_RESTRICT panel,
                         int64_t kc, float* HWY_RESTRICT yt, int64_t ldyt, bool load_y) {
  const DF df;
  const size_t L = hn::Lanes(df);
  using V = hn::Vec<DF>;
  V a0[MR], a1[MR];  // (MR, 2L) f32 accumulators
  for (int i = 0; i < MR; ++i) {
    a0[i] = load_y ? hn::LoadU(df, yt + i * ldyt) : hn::Zero(df);
    a1[i] = load_y ? hn::LoadU(df, yt + i * ldyt + L) : hn::Zero(df);
  }
  for (int64_t k = 0; k < kc; ++k) {
    const V w0 = hn::Load(df, panel + k * 2 * L);
    const V w1 = hn::Load(df, panel + k * 2 * L + L);
    for (int i = 0; i < MR; ++i) {
      const V xb = hn::Set(df, x[i * ldx + k]);
      a0[i] = hn::MulAdd(xb, w0, a0[i]);
      a1[i] = hn::MulAdd(xb, w1, a1[i]);
    }
  }
  for (int i = 0; i < MR; ++i) {
    hn::StoreU(a0[i], df, yt + i * ldyt);
    hn::StoreU(a1[i], df, yt + i * ldyt + L);
  }
}

// Integer micro-tile with its per-group fix-up into float:
//   isum[i][c] = sum over nq quads q: dot4(u8 panel quad q of column c, s8 x quads)
//   yt[i][c] (+)= isum * (S[c] * sx[i])  (+ Z[c] * xs[i] when zp)
// p0/p1: the two panel halves (L columns each), `stride` bytes between quads.
// xq: MR rows of int8 X as dwords (4 k each), ldxq dwords apart.
template <int MR>
HWY_INLINE void tile_u8s8(const int32_t* HWY_RESTRICT xq, int64_t ldxq, const uint8_t* HWY_RESTRICT p0,
                          const uint8_t* HWY_RESTRICT p1, int64_t stride, int64_t nq,
                          const float* HWY_RESTRICT S, const float* HWY_RESTRICT Z,
                          const float* HWY_RESTRICT sx, const float* HWY_RESTRICT xs, int64_t ldsx,
                          bool zp, float* HWY_RESTRICT yt, int64_t ldyt, bool load_y) {
  const DF df;
  const DI di;
  const DU8 du8;
  const DI8 di8;
  const size_t L = hn::Lanes(df);
  using VI = hn::Vec<DI>;
  VI a0[MR], a1[MR];  // (MR, 2L) int32 accumulators
  for (int i = 0; i < MR; ++i) a0[i] = a1[i] = hn::Zero(di);
  for (int64_t q = 0; q < nq; ++q) {
    const auto w0 = hn::LoadU(du8, p0 + q * stride);
    const auto w1 = hn::LoadU(du8, p1 + q * stride);
    for (int i = 0; i < MR; ++i) {
      const auto xb = hn::BitCast(di8, hn::Set(di, xq[i * ldxq + q]));
      a0[i] = hn::SumOfMulQuadAccumulate(di, w0, xb, a0[i]);
      a1[i] = hn::SumOfMulQuadAccumulate(di, w1, xb, a1[i]);
    }
  }
  const auto s0 = hn::LoadU(df, S), s1 = hn::LoadU(df, S + L);
  const auto z0 = hn::LoadU(df, Z), z1 = hn::LoadU(df, Z + L);
  for (int i = 0; i < MR; ++i) {
    float* y = yt + i * ldyt;
    auto y0 = load_y ? hn::LoadU(df, y) : hn::Zero(df);
    auto y1 = load_y ? hn::LoadU(df, y + L) : hn::Zero(df);
    const auto sxi = hn::Set(df, sx[i * ldsx]);
    y0 = hn::MulAdd(hn::ConvertTo(df, a0[i]), hn::Mul(s0, sxi), y0);
    y1 = hn::MulAdd(hn::ConvertTo(df, a1[i]), hn::Mul(s1, sxi), y1);
    if (zp) {
      const auto xsi = hn::Set(df, xs[i * ldsx]);
      y0 = hn::MulAdd(z0, xsi, y0);
      y1 = hn::MulAdd(z1, xsi, y1);
    }
    hn::StoreU(y0, df, y);
    hn::StoreU(y1, df, y + L);
  }
}

#endif  // !HWY_HAVE_SCALABLE && HWY_TARGET != HWY_SCALAR

// Y[m0 + i][n0 + c] = yt[i][c] (+ bias[n0 + c]) (+ old Y) for c < ncols (<= 2L): the
// tail of N is written with StoreN, never past the view.
HWY_INLINE void store_rows(const float* HWY_RESTRICT yt, int64_t ldyt, int64_t rows, float* y,
                           int64_t ldy, int64_t ncols, const float* bias, bool accumulate) {
  const DF df;
  const int64_t L = int64_t(hn::Lanes(df));
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t c = 0; c < ncols; c += L) {
      const size_t cnt = size_t(ncols - c < L ? ncols - c : L);
      auto v = hn::LoadU(df, yt + i * ldyt + c);
      if (bias) v = hn::Add(v, hn::LoadN(df, bias + c, cnt));
      if (accumulate) v = hn::Add(v, hn::LoadN(df, y + i * ldy + c, cnt));
      hn::StoreN(v, df, y + i * ldy + c, cnt);
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace simd
}  // namespace lsgemm
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
