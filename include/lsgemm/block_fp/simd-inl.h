// block_fp Highway kernels, one copy per SIMD target (re-includable: see DESIGN §4).
//
// Entry: lsgemm::block_fp::HWY_NAMESPACE::matmul(X, w, Y, epi). Paths (path_rules()):
//   float X, M < kGemmMinRows: GEMV. Each task owns a strip pair (2L outputs) and
//       streams its codes once; element codes are decoded in registers to f32 (bit
//       arithmetic: the code's exponent and mantissa fields moved into an f32 and
//       rescaled by one multiply, or a sign extension for integer elements), times the
//       block scale, into fp32 FMA chains.
//   float X, more rows: the shared GEMM skeleton (core/simd/gemm_driver-inl.h) with a
//       decoder that writes f32 panels of w = S * v, the same f32 product as dequantize.
//   int8 (W+A) X: X quantized per weight block to MXINT8 (power-of-two scales), the
//       codes mapped to u8 (integer element + a zero point z) for the u8 x s8 quad dot,
//       the zero point subtracted in int32 (z * sum xq), one exact f32 term per block:
//       bit-exact against the reference (format.hpp). M < kGemmMinRows: a GEMV of its
//       own (gemv_int8_pair, codes streamed once per strip pair); more rows: the shared
//       u8 x s8 GEMM skeleton with integer zero points.
//
// Roofline, 4096 x 4096 MXFP4, M = 1: 8.4 MB of codes + 0.5 MB of scales per call, ~320
// us at the 28 GB/s one Zen 4 core streams. The W+A GEMV spends per 64 weights (one
// 64-byte vector of quads) ~1 op of nibble split, 1 byte-table lookup and 1 quad dot,
// and reaches ~89 % of the probe there (358 us). The float GEMV spends per 16 weights ~5
// ops of decode, 1 multiply by the scale and 1 FMA: compute-bound at ~2.5x that time
// for 4-bit codes (a 16-entry f32 table lookup per vector would halve its decode).

#if defined(LSGEMM_BLOCK_FP_SIMD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LSGEMM_BLOCK_FP_SIMD_INL_H_
#undef LSGEMM_BLOCK_FP_SIMD_INL_H_
#else
#define LSGEMM_BLOCK_FP_SIMD_INL_H_
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "lsgemm/core/hwy_config.hpp"  // before Highway
#include <hwy/cache_control.h>
#include <hwy/highway.h>

#include "lsgemm/block_fp/format.hpp"
#include "lsgemm/block_fp/reference.hpp"
#include "lsgemm/core/epilogue.hpp"
#include "lsgemm/core/error.hpp"
#include "lsgemm/core/matrix.hpp"
#include "lsgemm/core/parallel.hpp"
#include "lsgemm/core/path.hpp"
// Re-included per target together with this file:
#include "lsgemm/core/simd/gemm_tile-inl.h"
#include "lsgemm/core/simd/gemm_driver-inl.h"

HWY_BEFORE_NAMESPACE();
namespace lsgemm {
namespace block_fp {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using namespace simd::HWY_NAMESPACE::tags;  // NOLINT: DF, DI, DU, DU8, DI8 (core/simd)

// From this many rows of X on, float mode takes the GEMM path (as int_quant: the panel
// decode is shared by all rows).
inline constexpr int64_t kGemmMinRows = 4;
// GEMV prefetch distance per stream, in 64-byte blocks (int_quant's: ~DRAM latency x
// per-stream rate x 4).
inline constexpr int64_t kPrefetchBlocks = 32;

#if LSGEMM_SIMD_KERNELS

// ----------------------------------------------------------------------------------
// Element decoders. Each reads the code of byte j of every 32-bit lane of a quad vector
// c8 (core of the layout: byte j = k 4q + j; the code in the byte's low kBits bits)
// placed at the top of the lane, t = c8 << (32 - kBits - 8 j): the code's sign is bit 31
// and the bits below the code are other codes' (masked off).

// Minifloat with kE exponent and kM mantissa bits, bias kBias. The exponent and
// mantissa fields move to f32's fields (exponent in its low kE bits, mantissa at its
// top); read as f32 that is 2^(E - 127) * 1.M for E > 0 and M * 2^(-kM - 126) for E = 0,
// so one multiply by 2^(127 - kBias) gives the element, subnormals included, exactly
// (a power-of-two scaling of a value that stays in range). NaN/Inf codes are not stored
// (validate()).
template <int kE, int kM, int kBias>
struct MiniFloatDecode {
  static constexpr int kBits = 1 + kE + kM;
  static HWY_INLINE hn::Vec<DF> value(hn::Vec<DU> t) {
    const DF df;
    const DU du;
    constexpr uint32_t kFields = ((1u << (kE + kM)) - 1u) << (23 - kM);
    const auto fields = hn::And(hn::ShiftRight<8 - kE>(t), hn::Set(du, kFields));
    const auto sign = hn::And(t, hn::Set(du, 0x80000000u));
    return hn::Mul(hn::BitCast(df, hn::Or(fields, sign)), hn::Set(df, std::ldexp(1.0f, 127 - kBias)));
  }
};
using DecodeE4M3 = MiniFloatDecode<4, 3, 7>;
using DecodeE5M2 = MiniFloatDecode<5, 2, 15>;
using DecodeE3M2 = MiniFloatDecode<3, 2, 3>;
using DecodeE2M3 = MiniFloatDecode<2, 3, 1>;
using DecodeE2M1 = MiniFloatDecode<2, 1, 1>;

// m-bit two's complement integer (MXINT8, BFP m = 3..8): an arithmetic shift sign-
// extends it. The width is a run-time value (shift-by-register, the same instructions),
// so one instantiation per code container serves every m: the six BFP widths as
// separate templates cost a third of the family's compile time.
struct IntDecode {
  int bits;
  HWY_INLINE hn::Vec<DF> value(hn::Vec<DU> t) const {
    return hn::ConvertTo(DF(), hn::ShiftRightSame(hn::BitCast(DI(), t), 32 - bits));
  }
};
template <class E>
inline constexpr bool kIntElements = std::is_same_v<E, IntDecode>;

// The element of byte kJ of every lane of c8, through a decoder object e (minifloats:
// stateless, their widths fixed; integers: the width m).
template <int kJ, class E>
HWY_INLINE hn::Vec<DF> decode_byte(const E& e, hn::Vec<DU> c8) {
  if constexpr (kIntElements<E>) {
    return e.value(hn::ShiftLeftSame(c8, 32 - e.bits - 8 * kJ));
  } else {
    return E::value(hn::ShiftLeft<32 - E::kBits - 8 * kJ>(c8));
  }
}

// The decoder object of a weight: integers carry their width (MXINT8: 8, BFP: m).
template <class E>
HWY_INLINE E element_decoder(const BlockFpMatrix& w) {
  if constexpr (kIntElements<E>) {
    return E{w.value_bits()};
  } else {
    return E{};
  }
}

// ----------------------------------------------------------------------------------
// Addressing (core/row_tiles.hpp): strip s holds L consecutive padded rows.
struct Strip {
  const uint8_t* codes;   // segment s at + s * segment_bytes
  const uint8_t* scales;  // block g: + g * 16
};

inline Strip strip_at(const BlockFpMatrix& w, int64_t s, size_t L) {
  const StripPos p = strip_pos(s, int64_t(L));
  return {strip_codes(w.codes.data(), p, w.tile_bytes()), strip_consts(w.scales.data(), p, w.groups())};
}

// The codes of k-quad q (k in [4q, 4q + 4)) of a strip: byte j of each lane = the code of
// k = 4q + j in its low bits, zeros above (layout: format.hpp), for containers of kCB bits.
template <int kCB>
HWY_INLINE hn::Vec<DU> quad_codes(const uint8_t* codes, int64_t seg_bytes, int64_t q) {
  const DU du;
  const uint8_t* seg = codes + (q / 8) * seg_bytes;
  const int64_t qq = q % 8;
  if constexpr (kCB == 8) {
    return hn::LoadU(du, reinterpret_cast<const uint32_t*>(seg + kBlockBytes * qq));
  } else {
    const auto v = hn::LoadU(du, reinterpret_cast<const uint32_t*>(seg + kBlockBytes * (qq / 2)));
    auto lo = hn::And(qq % 2 ? hn::ShiftRight<4>(v) : v, hn::Set(du, 0x0F0F0F0Fu));
    if constexpr (kCB == 6) {
      const auto h = hn::LoadU(du, reinterpret_cast<const uint32_t*>(seg + kBlockBytes * (4 + qq / 4)));
      const auto hi = hn::And(hn::ShiftRightSame(h, int(2 * (qq % 4))), hn::Set(du, 0x03030303u));
      lo = hn::Or(lo, hn::ShiftLeft<4>(hi));
    }
    return lo;
  }
}

// Block scales of a strip, block g: the f32 value of the scale bytes times `unit`.
//   E8M0 (MX, BFP): byte e as f32 exponent field is 2^(e - 127) for e >= 1; e = 0 means
//   2^-127, f32's subnormal 0x00400000.  UE4M3 (NVFP4): decoded as an element.
HWY_INLINE hn::Vec<DF> block_scales(const BlockFpMatrix& w, const Strip& st, int64_t g, float unit) {
  const DF df;
  const DU du;
  const hn::Rebind<uint8_t, DU> d8;
  const auto e = hn::PromoteTo(du, hn::LoadU(d8, st.scales + g * kTileRows));
  const auto s = w.scheme == Scheme::kNvfp4
                     ? DecodeE4M3::value(hn::ShiftLeft<24>(e))
                     : hn::BitCast(df, hn::IfThenElse(hn::Eq(e, hn::Zero(du)), hn::Set(du, 0x00400000u),
                                                      hn::ShiftLeft<23>(e)));
  return unit == 1.0f ? s : hn::Mul(s, hn::Set(df, unit));
}

// What S carries beyond its byte (format.hpp): 2^-6 for MXINT8, 2^-(m-2) for BFP; the
// float mode's S also NVFP4's tensor scale (the W+A mode applies that with alpha).
inline float scale_unit(const BlockFpMatrix& w) {
  if (w.scheme == Scheme::kBfp) return std::ldexp(1.0f, -(w.mantissa_bits - 2));
  if (w.scheme == Scheme::kMx && w.element == MxElement::kInt8) return 0x1p-6f;
  return 1.0f;
}
inline float float_scale_unit(const BlockFpMatrix& w) {
  return w.scheme == Scheme::kNvfp4 ? w.tensor_scale : scale_unit(w);
}

// GEMV prefetch, at the start of segment seg: the same segment kPrefetchBlocks blocks
// ahead in both strips' streams (two sequential streams per task are too few for the
// hardware prefetcher to cover DRAM latency; int_quant's reason and distance).
HWY_INLINE void prefetch_segment(const Strip& s0, const Strip& s1, int64_t seg, int64_t seg_bytes, int64_t tile_bytes,
                                 int64_t L) {
  const int64_t ahead = pair_stream_ahead(seg * seg_bytes, kPrefetchBlocks * kBlockBytes, tile_bytes, L);
  for (int64_t b = 0; b < seg_bytes; b += kBlockBytes) {
    hwy::Prefetch(s0.codes + ahead + b);
    hwy::Prefetch(s1.codes + ahead + b);
  }
}

// ----------------------------------------------------------------------------------
// GEMV, float X: one strip pair, one row of X (x padded with zeros to kp).
template <class E, int kCB>
HWY_INLINE void gemv_f32_pair(const BlockFpMatrix& w, const E& e, const Strip& s0, const Strip& s1, const float* x,
                              float* y) {
  const DF df;
  const size_t L = hn::Lanes(df);
  const int64_t seg_bytes = w.segment_bytes(), tile_bytes = w.tile_bytes(), quads = w.kp / 4;
  const int64_t quads_per_block = w.block / 4;
  const float unit = float_scale_unit(w);
  // (2 strips, 4 bytes j) f32 accumulators: 8 FMA chains cover latency 4 x 2 ports.
  auto a00 = hn::Zero(df), a01 = hn::Zero(df), a02 = hn::Zero(df), a03 = hn::Zero(df);
  auto a10 = hn::Zero(df), a11 = hn::Zero(df), a12 = hn::Zero(df), a13 = hn::Zero(df);
  auto S0 = hn::Zero(df), S1 = hn::Zero(df);
  for (int64_t q = 0; q < quads; ++q) {
    if (q % quads_per_block == 0) {
      S0 = block_scales(w, s0, q / quads_per_block, unit);
      S1 = block_scales(w, s1, q / quads_per_block, unit);
    }
    if (q % 8 == 0) prefetch_segment(s0, s1, q / 8, seg_bytes, tile_bytes, int64_t(L));
    const auto c0 = quad_codes<kCB>(s0.codes, seg_bytes, q);
    const auto c1 = quad_codes<kCB>(s1.codes, seg_bytes, q);
    const float* xq = x + 4 * q;
#define LSGEMM_BYTE(j)                                                                 \
  {                                                                                    \
    const auto xv = hn::Set(df, xq[j]);                                                \
    a0##j = hn::MulAdd(hn::Mul(decode_byte<j>(e, c0), S0), xv, a0##j);                 \
    a1##j = hn::MulAdd(hn::Mul(decode_byte<j>(e, c1), S1), xv, a1##j);                 \
  }
    LSGEMM_BYTE(0) LSGEMM_BYTE(1) LSGEMM_BYTE(2) LSGEMM_BYTE(3)
#undef LSGEMM_BYTE
  }
  hn::StoreU(hn::Add(hn::Add(a00, a01), hn::Add(a02, a03)), df, y);
  hn::StoreU(hn::Add(hn::Add(a10, a11), hn::Add(a12, a13)), df, y + L);
}

// W+A element quads as u8 (the integer element plus the zero point z): MX FP4 by a
// 16-entry byte table (2 v + 12: sign-magnitude code -> [0, 24]), integers by flipping
// the sign bit (m-bit two's complement + 2^(m-1) = offset binary).
alignas(16) inline constexpr uint8_t kFp4U8Table[16] = {12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0};
template <class V>
HWY_INLINE V u8_quad(V c, bool fp4, V table, V flip) {
  return fp4 ? hn::TableLookupBytes(table, c) : hn::Xor(c, flip);
}

// ----------------------------------------------------------------------------------
// The decoder that plugs block_fp into the shared GEMM skeleton: N-block nb = strips
// (2nb, 2nb + 1). f32 panels (float X) hold w = S * v; u8 panels (W+A) hold the integer
// element plus the zero point z, with izero = z for the int32 correction.
template <class E, int kCB>
struct GemmDecoder {
  const BlockFpMatrix& w;
  E e;  // the element decoder
  int64_t L, strips;
  HWY_ALIGN int32_t izero[32];  // 2L copies of z (W+A)
  int z = 0;                    // W+A zero point: 12 for FP4 (2 v in [-12, 12]), 2^(m-1) for ints

  explicit GemmDecoder(const BlockFpMatrix& wq)
      : w(wq), e(element_decoder<E>(wq)), L(int64_t(hn::Lanes(DF()))), strips(strip_count(wq.tiles(), L)) {
    z = e2m1_elements(w) ? 12 : 1 << (w.value_bits() - 1);
    std::fill(izero, izero + 32, z);
  }
  int64_t n() const { return w.n; }
  int64_t k() const { return w.k; }
  int64_t kp() const { return w.kp; }
  int64_t group() const { return w.block; }
  int64_t blocks() const { return strip_pairs(w.tiles(), L); }
  // An odd strip count makes the last block's second strip repeat the first; its
  // outputs are beyond N and never stored.
  void strips_of(int64_t nb, Strip st[2]) const {
    st[0] = strip_at(w, 2 * nb, size_t(L));
    st[1] = strip_at(w, std::min(2 * nb + 1, strips - 1), size_t(L));
  }

  bool decode_f32(int64_t nb, int64_t k0, int64_t kc, float* HWY_RESTRICT panel) const {
    const DF df;
    Strip st[2];
    strips_of(nb, st);
    const int64_t seg_bytes = w.segment_bytes(), qpb = w.block / 4;
    const float unit = float_scale_unit(w);
    for (int h = 0; h < 2; ++h) {
      auto S = hn::Zero(df);
      for (int64_t q = k0 / 4; q < (k0 + kc) / 4; ++q) {
        if (q % qpb == 0 || q == k0 / 4) S = block_scales(w, st[h], q / qpb, unit);
        const auto c = quad_codes<kCB>(st[h].codes, seg_bytes, q);
        float* out = panel + (4 * q - k0) * 2 * L + h * L;
        hn::Store(hn::Mul(decode_byte<0>(e, c), S), df, out);
        hn::Store(hn::Mul(decode_byte<1>(e, c), S), df, out + 2 * L);
        hn::Store(hn::Mul(decode_byte<2>(e, c), S), df, out + 4 * L);
        hn::Store(hn::Mul(decode_byte<3>(e, c), S), df, out + 6 * L);
      }
    }
    return true;  // dense: never skipped
  }

  simd::HWY_NAMESPACE::U8Panel decode_u8(int64_t nb, int64_t k0, int64_t kc, uint8_t* scratch) const {
    const DU8 du8;
    Strip st[2];
    strips_of(nb, st);
    const int64_t seg_bytes = w.segment_bytes();
    const size_t B = hn::Lanes(du8);  // 4L bytes
    const bool fp4 = !kIntElements<E>;
    const auto table = hn::LoadDup128(du8, kFp4U8Table);
    const auto flip = hn::Set(du8, uint8_t(1u << (w.value_bits() - 1)));
    for (int64_t q = k0 / 4; q < (k0 + kc) / 4; ++q)
      for (int h = 0; h < 2; ++h) {
        const auto c = hn::BitCast(du8, quad_codes<kCB>(st[h].codes, seg_bytes, q));
        const auto u = u8_quad(c, fp4, table, flip);
        hn::Store(u, du8, scratch + (q - k0 / 4) * 2 * B + h * B);
      }
    simd::HWY_NAMESPACE::U8Panel p{scratch, scratch + B, int64_t(2 * B)};
    p.izero = izero;
    return p;
  }
  void group_consts(int64_t nb, int64_t g, float* S, float* Z) const {
    const DF df;
    Strip st[2];
    strips_of(nb, st);
    const float unit = scale_unit(w) * int_unit(w);
    for (int h = 0; h < 2; ++h) {
      hn::StoreU(block_scales(w, st[h], g, unit), df, S + h * L);
      hn::StoreU(hn::Zero(df), df, Z + h * L);
    }
  }
};

// GEMV-shaped path (float X, M < kGemmMinRows): each task owns a strip pair.
template <class E, int kCB>
void gemv_rows(HostView<const float> X, const BlockFpMatrix& w, HostView<float> Y, const Epilogue& epi) {
  const GemmDecoder<E, kCB> dec(w);
  const int64_t M = X.rows, KP = w.kp;
  thread_local AlignedBuffer<float> xpad_buf;
  float* xpad = simd::HWY_NAMESPACE::scratch(xpad_buf, size_t(M * KP));
  for (int64_t m = 0; m < M; ++m) {
    std::memcpy(xpad + m * KP, X.row(m), size_t(X.cols) * sizeof(float));
    std::fill(xpad + m * KP + X.cols, xpad + (m + 1) * KP, 0.0f);
  }
  simd::HWY_NAMESPACE::gemv_pairs(dec.blocks(), M, Y, epi, [&](int64_t m, int64_t pr, float* yt) {
    Strip st[2];
    dec.strips_of(pr, st);
    gemv_f32_pair<E, kCB>(w, dec.e, st[0], st[1], xpad + m * KP, yt);
  });
}

// X quantizer policy of the W+A mode: MXINT8 per weight block (reference.hpp).
struct MxScale {
  static bool scale(float amax, float& inv, float& sx) { return mx_x_scale(amax, inv, sx); }
};

// The W+A product with quad_dot's code-width class for u8 codes below 2^bits: pair sums
// fit int16 up to 6 bits (AVX2 pmaddubsw), s8 codes up to 7 bits (SVE sdot), else the
// general u8 x s8 dot. MX FP4's table codes are at most 24 (5 bits).
template <class Fn>
HWY_INLINE void with_dot_bits(int bits, const Fn& fn) {
  if (bits <= 6) return fn(std::integral_constant<int, 6>());
  if (bits == 7) return fn(std::integral_constant<int, 7>());
  return fn(std::integral_constant<int, 8>());
}

// ----------------------------------------------------------------------------------
// GEMV, W+A (few rows of X): one strip pair, one row of MXINT8 X (xq: kp int8, sx and
// qsum per block). Per block: the u8 element quads (as the panel decoder makes them)
// against the broadcast X quads in exact int32, minus z * qsum, then the block's one f32
// term y += float(isum) * (Sq * sx): the reference's arithmetic, term for term. Streams
// the codes once, as int_quant's int8 GEMV, with no panel in between.
template <int kDotBits, class E, int kCB>
HWY_INLINE void gemv_int8_pair(const GemmDecoder<E, kCB>& dec, const Strip& s0, const Strip& s1, const int8_t* xq,
                               const float* sx, const int32_t* qsum, float* y) {
  const BlockFpMatrix& w = dec.w;
  const DF df;
  const DI di;
  const DU8 du8;
  const size_t L = hn::Lanes(df);
  const int64_t seg_bytes = w.segment_bytes(), tile_bytes = w.tile_bytes(), qpb = w.block / 4;
  const int32_t* x32 = reinterpret_cast<const int32_t*>(xq);
  const float unit = scale_unit(w) * int_unit(w);
  const auto table = hn::LoadDup128(du8, kFp4U8Table);
  const auto flip = hn::Set(du8, uint8_t(1u << (w.value_bits() - 1)));
  const bool fp4 = !kIntElements<E>;
  auto y0 = hn::Zero(df), y1 = hn::Zero(df);
  for (int64_t g = 0; g < w.groups(); ++g) {
    // (2 strips, even/odd quads) int32 accumulators: 4 chains over the quad dot's latency.
    auto a0 = hn::Zero(di), a1 = hn::Zero(di), b0 = hn::Zero(di), b1 = hn::Zero(di);
    for (int64_t q = g * qpb; q < (g + 1) * qpb; ++q) {
      if (q % 8 == 0) prefetch_segment(s0, s1, q / 8, seg_bytes, tile_bytes, int64_t(L));
      const auto x = hn::BitCast(DI8(), hn::Set(di, x32[q]));
      const auto u0 = u8_quad(hn::BitCast(du8, quad_codes<kCB>(s0.codes, seg_bytes, q)), fp4, table, flip);
      const auto u1 = u8_quad(hn::BitCast(du8, quad_codes<kCB>(s1.codes, seg_bytes, q)), fp4, table, flip);
      if (q % 2 == 0) {
        a0 = simd::HWY_NAMESPACE::quad_dot<kDotBits>(di, u0, x, a0);
        a1 = simd::HWY_NAMESPACE::quad_dot<kDotBits>(di, u1, x, a1);
      } else {
        b0 = simd::HWY_NAMESPACE::quad_dot<kDotBits>(di, u0, x, b0);
        b1 = simd::HWY_NAMESPACE::quad_dot<kDotBits>(di, u1, x, b1);
      }
    }
    const auto zq = hn::Set(di, dec.z * qsum[g]);  // |z * qsum| <= 128 * 127 * 64
    const auto vsx = hn::Set(df, sx[g]);
    const auto i0 = hn::Sub(hn::Add(a0, b0), zq), i1 = hn::Sub(hn::Add(a1, b1), zq);
    y0 = hn::MulAdd(hn::ConvertTo(df, i0), hn::Mul(block_scales(w, s0, g, unit), vsx), y0);
    y1 = hn::MulAdd(hn::ConvertTo(df, i1), hn::Mul(block_scales(w, s1, g, unit), vsx), y1);
  }
  hn::StoreU(y0, df, y);
  hn::StoreU(y1, df, y + L);
}

// The W+A GEMV over rows of X (M < kGemmMinRows).
template <int kDotBits, class E, int kCB>
void gemv_w_plus_a(const GemmDecoder<E, kCB>& dec, const simd::HWY_NAMESPACE::QuantizedX& xq, HostView<float> Y,
                   const Epilogue& epi) {
  const int64_t KP = dec.w.kp, G = dec.w.groups();
  simd::HWY_NAMESPACE::gemv_pairs(dec.blocks(), xq.m, Y, epi, [&](int64_t m, int64_t pr, float* yt) {
    Strip st[2];
    dec.strips_of(pr, st);
    gemv_int8_pair<kDotBits>(dec, st[0], st[1], xq.q.data() + m * KP, xq.sx.data() + m * G,
                             xq.qsum.data() + m * G, yt);
  });
}

template <class E, int kCB>
void run(Path path, HostView<const float> X, const BlockFpMatrix& w, HostView<float> Y, const Epilogue& epi) {
  const GemmDecoder<E, kCB> dec(w);
  switch (path) {
    case Path::kBlockFpGemvFloat: return gemv_rows<E, kCB>(X, w, Y, epi);
    case Path::kBlockFpGemmFloat: return simd::HWY_NAMESPACE::gemm_f32(dec, X, Y, epi);
    default: {
      // Only integer elements and E2M1 have a W+A mode (check_packed): the others
      // compile no u8 path.
      if constexpr (kIntElements<E> || std::is_same_v<E, DecodeE2M1>) {
        thread_local simd::HWY_NAMESPACE::QuantizedX xq;
        if (!simd::HWY_NAMESPACE::quantize_x<MxScale>(X.rows, X.cols, w.block, w.kp,
                                                     simd::HWY_NAMESPACE::XRows{X}, xq))
          lsgemm::detail::fail_acts_out_of_range(X, "block_fp::matmul", "int8 (W+A) activation mode");
        const Epilogue wa_epi = w_plus_a_epilogue(w, epi);  // NVFP4: alpha * tensor_scale
        with_dot_bits(kIntElements<E> ? w.value_bits() : 5, [&](auto bits) {
          if (path == Path::kBlockFpGemvInt8) {
            gemv_w_plus_a<decltype(bits)::value>(dec, xq, Y, wa_epi);
          } else {
            simd::HWY_NAMESPACE::gemm_u8s8<decltype(bits)::value>(dec, xq, Y, wa_epi);
          }
        });
      }
    }
  }
}

// The path of a call (the rules: path_rules()).
inline Path choose_path(const BlockFpMatrix& w, int64_t M) {
  if (w.act == ActMode::kInt8) return M < kGemmMinRows ? Path::kBlockFpGemvInt8 : Path::kBlockFpGemmInt8;
  return M < kGemmMinRows ? Path::kBlockFpGemvFloat : Path::kBlockFpGemmFloat;
}

#endif  // LSGEMM_SIMD_KERNELS

// This target's dispatch table (lsgemm::dispatch_table() lists it with the others).
inline std::vector<PathRule> path_rules() {
#if LSGEMM_SIMD_KERNELS
  return {
      {Path::kBlockFpGemvFloat, 1, kGemmMinRows, "float X"},
      {Path::kBlockFpGemmFloat, kGemmMinRows, kAnyRows, "float X"},
      {Path::kBlockFpGemvInt8, 1, kGemmMinRows, "int8 (W+A) X: MX FP4, NVFP4, MXINT8, BFP"},
      {Path::kBlockFpGemmInt8, kGemmMinRows, kAnyRows, "int8 (W+A) X: MX FP4, NVFP4, MXINT8, BFP"},
  };
#else
  return {{Path::kBlockFpReference, 1, kAnyRows, LSGEMM_NO_KERNELS_REASON}};
#endif
}

// Y = X * W^T (+ epilogue), in the weights' activation mode.
inline void matmul(HostView<const float> X, const BlockFpMatrix& w, HostView<float> Y, const Epilogue& epi = {}) {
  lsgemm::detail::check_matmul_shapes(X, w.n, w.k, Y);
  detail::check_packed(w, "block_fp::matmul");
  if (X.rows == 0) return;
#if !LSGEMM_SIMD_KERNELS
  lsgemm::detail::note_path(Path::kBlockFpReference);  // core/simd/kernels.hpp
  reference::matmul(X, w, Y, epi);
#else
  const Path path = choose_path(w, X.rows);
  lsgemm::detail::note_path(path);
  switch (w.scheme) {
    case Scheme::kNvfp4: return run<DecodeE2M1, 4>(path, X, w, Y, epi);
    case Scheme::kMx:
      switch (w.element) {
        case MxElement::kFp8E4M3: return run<DecodeE4M3, 8>(path, X, w, Y, epi);
        case MxElement::kFp8E5M2: return run<DecodeE5M2, 8>(path, X, w, Y, epi);
        case MxElement::kFp6E3M2: return run<DecodeE3M2, 6>(path, X, w, Y, epi);
        case MxElement::kFp6E2M3: return run<DecodeE2M3, 6>(path, X, w, Y, epi);
        case MxElement::kFp4E2M1: return run<DecodeE2M1, 4>(path, X, w, Y, epi);
        default: return run<IntDecode, 8>(path, X, w, Y, epi);
      }
    case Scheme::kBfp:
      switch (w.code_bits()) {
        case 4: return run<IntDecode, 4>(path, X, w, Y, epi);
        case 6: return run<IntDecode, 6>(path, X, w, Y, epi);
        default: return run<IntDecode, 8>(path, X, w, Y, epi);
      }
  }
#endif
}

}  // namespace HWY_NAMESPACE
}  // namespace block_fp
}  // namespace lsgemm
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
