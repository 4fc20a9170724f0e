// block_fp Highway kernels, one copy per SIMD target (re-includable: see DESIGN §4).
//
// Entry: lsgemm::block_fp::HWY_NAMESPACE::matmul(X, w, Y, epi). Paths (path_rules()):
//   float X, M < kGemmMinRows: GEMV. Each task owns a strip pair (2L outputs) and
//       streams its codes once; element codes are decoded in registers to f32 (E2M1 and
//       E2M3 through a byte table to their integer form, or on AVX-512 E2M1 through a
//       16-entry f32 permute; E3M2 through f32 tables; FP8 by moving the code's fields
//       into an f32; a sign extension for integer elements) into fp32 FMA chains, and
//       each block's sum is scaled once.
//   float X, more rows: the shared GEMM skeleton (core/simd/gemm_driver-inl.h) with a
//       decoder that writes f32 panels of w = S * v, the same f32 product as dequantize.
//   int8 (W+A) X: X quantized per weight block to MXINT8 (power-of-two scales), the
//       codes mapped to u8 (integer element + a zero point z) for the u8 x s8 quad dot,
//       the zero point subtracted in int32 (z * sum xq), one exact f32 term per block:
//       bit-exact against the reference (format.hpp). M < kGemmMinRows: a GEMV of its
//       own (gemv_int8_pair, codes streamed once per strip pair); more rows: the shared
//       u8 x s8 GEMM skeleton with one integer zero point (gemm_u8s8_int_zero: K chunks of
//       several blocks, y kept in registers across them).
//
// Roofline, 4096 x 4096 MXFP4, M = 1: 8.4 MB of codes + 0.5 MB of scales per call, ~320
// us at the 28 GB/s one Zen 4 core streams. The W+A GEMV spends per 64 weights (one
// 64-byte vector of quads) ~1 op of nibble split, 1 byte-table lookup and 1 quad dot,
// and reaches ~89 % of the probe there (358 us). The float GEMV needs one FMA per 16
// weights at least (~290 us of FMA port time on Zen 4 at AVX-512): with a shift and a
// permute per 16 weights it runs at ~400 us cold, ~320 hot (from 760-820 with the
// field moves and a multiply by the scale per element); on AVX2 (8 lanes, two shifts and
// a convert per 8 weights) ~920 us, from 3970.

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
// Element decoders. A decoder turns a quad vector c8 (layout: byte j of each 32-bit lane
// = k 4q + j, the code in the byte's low bits, zeros above) into f32 elements, byte j of
// every lane at a time: prepare(c8) once per vector, then decode_byte<j>. Elements with
// an integer form come out as integers: int_unit(w) (reference.hpp) joins the scale.
// Decoders with an integer form (integers, E2M1, E2M3) also give the W+A mode's u8
// elements u8(c8) = integer + zero_point().

// Minifloat with kE exponent and kM mantissa bits, bias kBias (FP8, FP6 E3M2): byte j
// placed at the top of the lane, t = c8 << (32 - kBits - 8 j) (the code's sign is bit
// 31; the bits below it are other codes', masked off); the exponent and mantissa fields
// move to f32's fields (exponent in its low kE bits, mantissa at its top); read as f32
// that is 2^(E - 127) * 1.M for E > 0 and M * 2^(-kM - 126) for E = 0, so one multiply
// by 2^(127 - kBias) gives the element, subnormals included, exactly (a power-of-two
// scaling of a value that stays in range). NaN/Inf codes are not stored (validate()).
template <int kE, int kM, int kBias>
struct MiniFloatDecode {
  static constexpr int kBits = 1 + kE + kM;
  static HWY_INLINE hn::Vec<DU> prepare(hn::Vec<DU> c8) { return c8; }
  template <int kJ>
  static HWY_INLINE hn::Vec<DF> byte(hn::Vec<DU> c8) {
    const DF df;
    const DU du;
    const auto t = hn::ShiftLeft<32 - kBits - 8 * kJ>(c8);
    constexpr uint32_t kFields = ((1u << (kE + kM)) - 1u) << (23 - kM);
    const auto fields = hn::And(hn::ShiftRight<8 - kE>(t), hn::Set(du, kFields));
    const auto sign = hn::And(t, hn::Set(du, 0x80000000u));
    return hn::Mul(hn::BitCast(df, hn::Or(fields, sign)), hn::Set(df, std::ldexp(1.0f, 127 - kBias)));
  }
};
using DecodeE4M3 = MiniFloatDecode<4, 3, 7>;
using DecodeE5M2 = MiniFloatDecode<5, 2, 15>;

// FP6 E3M2 (|v| = m/16 for exponent 0, (1 + m/4) 2^(e-3) above: 32 magnitudes, 0 to 28).
// Not the field moves: E3M2's exponent-0 codes (about 1 % of Gaussian weights) become
// f32 subnormals there, and the GEMV ran 2.6x slower than the same moves on E4M3 codes.
// On AVX-512 the magnitudes fill two f32 registers and vpermt2ps, which reads only an
// index's low 5 bits, looks byte j up after one shift; on AVX2 two 8-entry tables of the
// exponent (below); elsewhere the integer form
// 16 |v| = (m + 4 [e > 0]) << max(e - 1, 0) through a variable shift and a convert. The
// sign (code bit 5) is moved to bit 31 and xored in.
struct DecodeE3M2 {
  static HWY_INLINE hn::Vec<DU> prepare(hn::Vec<DU> c8) { return c8; }
  template <int kJ>
  static HWY_INLINE hn::Vec<DF> byte(hn::Vec<DU> c8) {
    const DF df;
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
    alignas(64) static constexpr float kMag[32] = {
        0.0f,  0.0625f, 0.125f, 0.1875f, 0.25f, 0.3125f, 0.375f, 0.4375f, 0.5f, 0.625f, 0.75f,
        0.875f, 1.0f,   1.25f,  1.5f,    1.75f, 2.0f,    2.5f,   3.0f,    3.5f, 4.0f,   5.0f,
        6.0f,  7.0f,    8.0f,   10.0f,   12.0f, 14.0f,   16.0f,  20.0f,   24.0f, 28.0f};
    const auto mag = hn::Vec<DF>{
        _mm512_permutex2var_ps(hn::Load(df, kMag).raw, hn::ShiftRight<8 * kJ>(c8).raw, hn::Load(df, kMag + 16).raw)};
#elif HWY_ARCH_X86 && HWY_TARGET == HWY_AVX2
    // |v| = float(m) * P[e] + Q[e] (P = 2^(max(e, 1) - 5), Q = 4 P [e > 0]): two vpermps
    // on the exponent, which read only an index's low 3 bits, and one FMA.
    alignas(32) static constexpr float kP[8] = {0.0625f, 0.0625f, 0.125f, 0.25f, 0.5f, 1.0f, 2.0f, 4.0f};
    alignas(32) static constexpr float kQ[8] = {0.0f, 0.25f, 0.5f, 1.0f, 2.0f, 4.0f, 8.0f, 16.0f};
    const auto t = hn::ShiftRight<8 * kJ>(c8);
    const auto e = hn::ShiftRight<2>(t).raw;
    const auto m = hn::ConvertTo(df, hn::BitCast(DI(), hn::And(t, hn::Set(DU(), 3u))));
    const auto mag = hn::MulAdd(m, hn::Vec<DF>{_mm256_permutevar8x32_ps(hn::Load(df, kP).raw, e)},
                                hn::Vec<DF>{_mm256_permutevar8x32_ps(hn::Load(df, kQ).raw, e)});
#else
    const DU du;
    const auto t = hn::ShiftRight<8 * kJ>(c8);
    const auto e = hn::And(hn::ShiftRight<2>(t), hn::Set(du, 7u));
    const auto nz = hn::Min(e, hn::Set(du, 1u));  // [e > 0]
    const auto mant = hn::Or(hn::And(t, hn::Set(du, 3u)), hn::ShiftLeft<2>(nz));
    const auto mag = hn::Mul(hn::ConvertTo(df, hn::BitCast(DI(), hn::Shl(mant, hn::Sub(e, nz)))),
                             hn::Set(df, 1.0f / 16));
#endif
    const auto sign = hn::And(hn::ShiftLeft<26 - 8 * kJ>(c8), hn::Set(DU(), 0x80000000u));
    return hn::Xor(mag, hn::BitCast(df, sign));
  }
};

// Byte j of every lane as a signed 8-bit integer, in f32: two shifts and a convert.
template <int kJ>
HWY_INLINE hn::Vec<DF> int8_byte(hn::Vec<DU> c8) {
  return hn::ConvertTo(DF(), hn::ShiftRight<24>(hn::ShiftLeft<24 - 8 * kJ>(hn::BitCast(DI(), c8))));
}

// m-bit two's complement integer (MXINT8, BFP m = 3..8): an arithmetic shift sign-
// extends it. The width is a run-time value (shift-by-register, the same instructions),
// so one instantiation per code container serves every m: the six BFP widths as
// separate templates cost a third of the family's compile time. u8: the sign bit
// flipped (offset binary, z = 2^(m-1)).
struct IntDecode {
  int bits;
  static HWY_INLINE hn::Vec<DU> prepare(hn::Vec<DU> c8) { return c8; }
  template <int kJ>
  HWY_INLINE hn::Vec<DF> byte(hn::Vec<DU> c8) const {
    const auto t = hn::ShiftLeftSame(c8, 32 - bits - 8 * kJ);
    return hn::ConvertTo(DF(), hn::ShiftRightSame(hn::BitCast(DI(), t), 32 - bits));
  }
  HWY_INLINE hn::Vec<DU8> u8(hn::Vec<DU8> c8) const { return hn::Xor(c8, hn::Set(DU8(), uint8_t(1u << (bits - 1)))); }
  int zero_point() const { return 1 << (bits - 1); }
  int dot_bits() const { return bits; }
};

// 64 bytes of table, aligned for a whole-vector load.
struct ByteTable {
  alignas(64) uint8_t b[64];
};
// The integer form of E2M1 (v * 2 in [-12, 12]) or E2M3 (v * 8 in [-60, 60]) for every
// code (kCodeBits 4 or 6: sign, 2 exponent bits, kCodeBits - 3 mantissa bits), plus add.
constexpr ByteTable int_element_table(int code_bits, int add) {
  ByteTable t{};
  const int mbits = code_bits - 3;
  for (int c = 0; c < (1 << code_bits); ++c) {
    const int e = (c >> mbits) & 3, m = c & ((1 << mbits) - 1);
    const int mag = e ? ((1 << mbits) + m) << (e - 1) : m;
    t.b[c] = uint8_t(((c >> (code_bits - 1)) ? -mag : mag) + add);
  }
  return t;
}

// Minifloats whose values are small integers times a power of two: E2M1 (kCodeBits 4:
// MX FP4, NVFP4) and E2M3 (6). prepare() maps a vector of codes to those int8 with one
// byte-table lookup (16 entries: one in-block shuffle; 64: lookup_bytes64); byte j then
// costs two shifts and a convert, ~3 ops per vector less than the field moves, and the
// unit (1/2, 1/8) joins the block scale. The same table plus z is the W+A u8 element.
template <int kCodeBits>
struct TableDecode {
  static constexpr int kZ = kCodeBits == 4 ? 12 : 60;  // the largest |integer|
  static constexpr ByteTable kInt = int_element_table(kCodeBits, 0);
  static constexpr ByteTable kU8 = int_element_table(kCodeBits, kZ);

  static HWY_INLINE hn::Vec<DU8> lookup(const ByteTable& t, hn::Vec<DU8> c8) {
    if constexpr (kCodeBits == 4) {
      return hn::TableLookupBytes(hn::LoadDup128(DU8(), t.b), c8);
    } else {
#if HWY_HAVE_SCALABLE
      const size_t bytes = hn::Lanes(DU8());
      if (bytes >= 64) return simd::HWY_NAMESPACE::lookup_bytes64<64>(t.b, c8);
      if (bytes == 32) return simd::HWY_NAMESPACE::lookup_bytes64<32>(t.b, c8);
      return simd::HWY_NAMESPACE::lookup_bytes64<16>(t.b, c8);
#else
      return simd::HWY_NAMESPACE::lookup_bytes64<int(hn::MaxLanes(DU8()))>(t.b, c8);
#endif
    }
  }
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
  // AVX-512, 16 codes: the f32 table fits one register, and vpermps reads only an index's
  // low 4 bits, so byte j is one shift and one permute (Highway's TableLookupLanes wants
  // indices below 16: one more And per vector). Measured 4096^2 M=1: see simd-inl.h's head.
  static constexpr bool kF32Table = kCodeBits == 4;
#else
  static constexpr bool kF32Table = false;
#endif
  static HWY_INLINE hn::Vec<DU> prepare(hn::Vec<DU> c8) {
    if constexpr (kF32Table) return c8;
    return hn::BitCast(DU(), lookup(kInt, hn::BitCast(DU8(), c8)));
  }
  template <int kJ>
  static HWY_INLINE hn::Vec<DF> byte(hn::Vec<DU> c8) {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
    if constexpr (kF32Table) {
      alignas(64) static constexpr float kF32[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};
      return hn::Vec<DF>{_mm512_permutexvar_ps(hn::ShiftRight<8 * kJ>(c8).raw, hn::Load(DF(), kF32).raw)};
    }
#endif
    return int8_byte<kJ>(c8);
  }
  static HWY_INLINE hn::Vec<DU8> u8(hn::Vec<DU8> c8) { return lookup(kU8, c8); }
  static int zero_point() { return kZ; }
  static int dot_bits() { return kCodeBits == 4 ? 5 : 7; }  // u8 <= 2 z
};
using DecodeE2M1 = TableDecode<4>;
using DecodeE2M3 = TableDecode<6>;

template <class E>
inline constexpr bool kIntElements = std::is_same_v<E, IntDecode>;
template <class E>
inline constexpr bool kHasIntForm = kIntElements<E> || std::is_same_v<E, DecodeE2M1> || std::is_same_v<E, DecodeE2M3>;

// The element of byte kJ of every lane of a prepared vector.
template <int kJ, class E>
HWY_INLINE hn::Vec<DF> decode_byte(const E& e, hn::Vec<DU> c8) {
  return e.template byte<kJ>(c8);
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

// The codes of k-quads q and q + 1 (q even; quad q: k in [4q, 4q + 4)) of a strip: byte
// j of each lane = the code of k = 4q + j in its low bits, zeros above (layout:
// format.hpp), for containers of kCB bits. A pair is one 64-byte block of nibbles: one
// load and no branch on q's parity; 4- and 8-bit containers are linear in q.
template <int kCB>
HWY_INLINE void quad_pair_codes(const uint8_t* codes, int64_t seg_bytes, int64_t q, hn::Vec<DU>& even,
                                hn::Vec<DU>& odd) {
  const DU du;
  if constexpr (kCB == 8) {
    even = hn::LoadU(du, reinterpret_cast<const uint32_t*>(codes + kBlockBytes * q));
    odd = hn::LoadU(du, reinterpret_cast<const uint32_t*>(codes + kBlockBytes * (q + 1)));
  } else {
    const uint8_t* seg = codes + (q / 8) * seg_bytes;
    const int64_t qq = q % 8;
    const auto v = hn::LoadU(du, reinterpret_cast<const uint32_t*>(seg + kBlockBytes * (qq / 2)));
    const auto m4 = hn::Set(du, 0x0F0F0F0Fu);
    even = hn::And(v, m4);
    odd = hn::And(hn::ShiftRight<4>(v), m4);
    if constexpr (kCB == 6) {
      const auto h = hn::ShiftRightSame(
          hn::LoadU(du, reinterpret_cast<const uint32_t*>(seg + kBlockBytes * (4 + qq / 4))), int(2 * (qq % 4)));
      const auto m2 = hn::Set(du, 0x03030303u);
      even = hn::Or(even, hn::ShiftLeft<4>(hn::And(h, m2)));
      odd = hn::Or(odd, hn::ShiftLeft<4>(hn::And(hn::ShiftRight<2>(h), m2)));
    }
  }
}

// Block scales of a strip, block g: the f32 value of the scale bytes times `unit`.
//   E8M0 (MX, BFP): byte e as f32 exponent field is 2^(e - 127) for e >= 1; e = 0 means
//   2^-127, f32's subnormal 0x00400000.  UE4M3 (NVFP4, sign bit 0: validate()): the byte
//   shifted to f32's fields (e << 23 | m << 20) times 2^120, MiniFloatDecode's rule with
//   nothing to mask: 2 ops, not 6 (NVFP4's blocks of 16 decode a scale per 4 quads).
HWY_INLINE hn::Vec<DF> block_scales(const BlockFpMatrix& w, const Strip& st, int64_t g, float unit) {
  const DF df;
  const DU du;
  const hn::Rebind<uint8_t, DU> d8;
  const auto e = hn::PromoteTo(du, hn::LoadU(d8, st.scales + g * kTileRows));
  const auto s = w.scheme == Scheme::kNvfp4
                     ? hn::Mul(hn::BitCast(df, hn::ShiftLeft<20>(e)), hn::Set(df, 0x1p120f))
                     : hn::BitCast(df, hn::IfThenElse(hn::Eq(e, hn::Zero(du)), hn::Set(du, 0x00400000u),
                                                      hn::ShiftLeft<23>(e)));
  return unit == 1.0f ? s : hn::Mul(s, hn::Set(df, unit));
}

// The unit of the float mode's decoded elements: what S carries beyond its byte
// (format.hpp's scale_unit), NVFP4's tensor scale (the W+A mode applies that with alpha
// instead), and the integer form's unit (int_unit: 1/2 for E2M1, 1/8 for E2M3, whose
// decoders return 2v and 8v).
inline float float_unit(const BlockFpMatrix& w) {
  return (w.scheme == Scheme::kNvfp4 ? w.tensor_scale : w.scale_unit()) * int_unit(w);
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
// GEMV, float X: one strip pair, one row of X (x padded with zeros to kp). Per block, the
// sums of decoded elements times x, then y += S * sum: the scale once per block, not
// once per element.
template <class E, int kCB>
HWY_INLINE void gemv_f32_pair(const BlockFpMatrix& w, const E& e, const Strip& s0, const Strip& s1, const float* x,
                              float* y) {
  const DF df;
  const size_t L = hn::Lanes(df);
  const int64_t seg_bytes = w.segment_bytes(), tile_bytes = w.tile_bytes(), qpb = w.block / 4;
  const float unit = float_unit(w);
  auto y0 = hn::Zero(df), y1 = hn::Zero(df);
  for (int64_t g = 0; g < w.groups(); ++g) {
    // (2 strips, 4 bytes j) f32 accumulators: 8 FMA chains cover latency 4 x 2 ports.
    auto a00 = hn::Zero(df), a01 = hn::Zero(df), a02 = hn::Zero(df), a03 = hn::Zero(df);
    auto a10 = hn::Zero(df), a11 = hn::Zero(df), a12 = hn::Zero(df), a13 = hn::Zero(df);
    for (int64_t q = g * qpb; q < (g + 1) * qpb; q += 2) {  // blocks are >= 8 k: whole pairs
      if (q % 8 == 0) prefetch_segment(s0, s1, q / 8, seg_bytes, tile_bytes, int64_t(L));
      hn::Vec<DU> c0e, c0o, c1e, c1o;
      quad_pair_codes<kCB>(s0.codes, seg_bytes, q, c0e, c0o);
      quad_pair_codes<kCB>(s1.codes, seg_bytes, q, c1e, c1o);
#define LSGEMM_BYTE(c0, c1, xq, j)                        \
  {                                                       \
    const auto xv = hn::Set(df, xq[j]);                   \
    a0##j = hn::MulAdd(decode_byte<j>(e, c0), xv, a0##j); \
    a1##j = hn::MulAdd(decode_byte<j>(e, c1), xv, a1##j); \
  }
#define LSGEMM_QUAD(c0, c1, xq)                                  \
  {                                                              \
    const auto p0 = e.prepare(c0), p1 = e.prepare(c1);           \
    LSGEMM_BYTE(p0, p1, xq, 0) LSGEMM_BYTE(p0, p1, xq, 1)        \
    LSGEMM_BYTE(p0, p1, xq, 2) LSGEMM_BYTE(p0, p1, xq, 3)        \
  }
      LSGEMM_QUAD(c0e, c1e, (x + 4 * q))
      LSGEMM_QUAD(c0o, c1o, (x + 4 * q + 4))
#undef LSGEMM_QUAD
#undef LSGEMM_BYTE
    }
    y0 = hn::MulAdd(block_scales(w, s0, g, unit), hn::Add(hn::Add(a00, a01), hn::Add(a02, a03)), y0);
    y1 = hn::MulAdd(block_scales(w, s1, g, unit), hn::Add(hn::Add(a10, a11), hn::Add(a12, a13)), y1);
  }
  hn::StoreU(y0, df, y);
  hn::StoreU(y1, df, y + L);
}

// ----------------------------------------------------------------------------------
// The decoder that plugs block_fp into the shared GEMM skeleton: N-block nb = strips
// (2nb, 2nb + 1). f32 panels (float X) hold w = S * v; u8 panels (W+A) hold the integer
// element plus the zero point z (gemm_u8s8_int_zero subtracts z * sum(xq) in int32).
template <class E, int kCB>
struct GemmDecoder {
  const BlockFpMatrix& w;
  E e;  // the element decoder
  int64_t L, strips;
  int z = 0;  // W+A zero point (E::zero_point())

  explicit GemmDecoder(const BlockFpMatrix& wq)
      : w(wq), e(element_decoder<E>(wq)), L(int64_t(hn::Lanes(DF()))), strips(strip_count(wq.tiles(), L)) {
    if constexpr (kHasIntForm<E>) z = e.zero_point();
  }
  int32_t zero_point() const { return z; }
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
    const float unit = float_unit(w);
    // k0 and kc are multiples of 8 (chunks of whole blocks): whole quad pairs.
    for (int h = 0; h < 2; ++h) {
      auto S = hn::Zero(df);
      for (int64_t q = k0 / 4; q < (k0 + kc) / 4; q += 2) {
        if (q % qpb == 0 || q == k0 / 4) S = block_scales(w, st[h], q / qpb, unit);
        hn::Vec<DU> ce, co;
        quad_pair_codes<kCB>(st[h].codes, seg_bytes, q, ce, co);
        float* out = panel + (4 * q - k0) * 2 * L + h * L;
        const auto pe = e.prepare(ce), po = e.prepare(co);
        hn::Store(hn::Mul(decode_byte<0>(e, pe), S), df, out);
        hn::Store(hn::Mul(decode_byte<1>(e, pe), S), df, out + 2 * L);
        hn::Store(hn::Mul(decode_byte<2>(e, pe), S), df, out + 4 * L);
        hn::Store(hn::Mul(decode_byte<3>(e, pe), S), df, out + 6 * L);
        hn::Store(hn::Mul(decode_byte<0>(e, po), S), df, out + 8 * L);
        hn::Store(hn::Mul(decode_byte<1>(e, po), S), df, out + 10 * L);
        hn::Store(hn::Mul(decode_byte<2>(e, po), S), df, out + 12 * L);
        hn::Store(hn::Mul(decode_byte<3>(e, po), S), df, out + 14 * L);
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
    for (int64_t q = k0 / 4; q < (k0 + kc) / 4; q += 2)  // whole quad pairs (as decode_f32)
      for (int h = 0; h < 2; ++h) {
        hn::Vec<DU> ce, co;
        quad_pair_codes<kCB>(st[h].codes, seg_bytes, q, ce, co);
        uint8_t* out = scratch + (q - k0 / 4) * 2 * B + h * B;
        hn::Store(e.u8(hn::BitCast(du8, ce)), du8, out);
        hn::Store(e.u8(hn::BitCast(du8, co)), du8, out + 2 * B);
      }
    return simd::HWY_NAMESPACE::U8Panel{scratch, scratch + B, int64_t(2 * B)};
  }
  void group_consts(int64_t nb, int64_t g, float* S, float* Z) const {
    const DF df;
    Strip st[2];
    strips_of(nb, st);
    const float unit = w.scale_unit() * int_unit(w);
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
  for (int64_t m = 0; m < M; ++m) {  // in the weights' channel order
    if (w.channels.size()) {
      for (int64_t c = 0; c < X.cols; ++c) xpad[m * KP + c] = X(m, w.channels[size_t(c)]);
    } else {
      std::memcpy(xpad + m * KP, X.row(m), size_t(X.cols) * sizeof(float));
    }
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
  const float unit = w.scale_unit() * int_unit(w);
  const E& e = dec.e;
  auto y0 = hn::Zero(df), y1 = hn::Zero(df);
  for (int64_t g = 0; g < w.groups(); ++g) {
    // (2 strips, even/odd quads) int32 accumulators: 4 chains over the quad dot's latency.
    auto a0 = hn::Zero(di), a1 = hn::Zero(di), b0 = hn::Zero(di), b1 = hn::Zero(di);
    for (int64_t q = g * qpb; q < (g + 1) * qpb; q += 2) {  // blocks are >= 8 k: whole pairs
      if (q % 8 == 0) prefetch_segment(s0, s1, q / 8, seg_bytes, tile_bytes, int64_t(L));
      hn::Vec<DU> c0e, c0o, c1e, c1o;
      quad_pair_codes<kCB>(s0.codes, seg_bytes, q, c0e, c0o);
      quad_pair_codes<kCB>(s1.codes, seg_bytes, q, c1e, c1o);
      const auto xe = hn::BitCast(DI8(), hn::Set(di, x32[q]));
      const auto xo = hn::BitCast(DI8(), hn::Set(di, x32[q + 1]));
      a0 = simd::HWY_NAMESPACE::quad_dot<kDotBits>(di, e.u8(hn::BitCast(du8, c0e)), xe, a0);
      a1 = simd::HWY_NAMESPACE::quad_dot<kDotBits>(di, e.u8(hn::BitCast(du8, c1e)), xe, a1);
      b0 = simd::HWY_NAMESPACE::quad_dot<kDotBits>(di, e.u8(hn::BitCast(du8, c0o)), xo, b0);
      b1 = simd::HWY_NAMESPACE::quad_dot<kDotBits>(di, e.u8(hn::BitCast(du8, c1o)), xo, b1);
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
  const int32_t* channels = w.channels.size() ? w.channels.data() : nullptr;  // X's column of packed column c
  switch (path) {
    case Path::kBlockFpGemvFloat: return gemv_rows<E, kCB>(X, w, Y, epi);
    case Path::kBlockFpGemmFloat: return simd::HWY_NAMESPACE::gemm_f32(dec, X, Y, epi, channels);
    default: {
      // Only elements with an integer form have a W+A mode (check_packed): the others
      // compile no u8 path.
      if constexpr (kHasIntForm<E>) {
        thread_local simd::HWY_NAMESPACE::QuantizedX xq;
        const bool ok = channels ? simd::HWY_NAMESPACE::quantize_x<MxScale>(
                                       X.rows, X.cols, w.block, w.kp, simd::HWY_NAMESPACE::GatheredXRows{X, channels}, xq)
                                 : simd::HWY_NAMESPACE::quantize_x<MxScale>(X.rows, X.cols, w.block, w.kp,
                                                                            simd::HWY_NAMESPACE::XRows{X}, xq);
        if (!ok)
          lsgemm::detail::fail_acts_out_of_range(X, "block_fp::matmul", "int8 (W+A) activation mode");
        const Epilogue wa_epi = w_plus_a_epilogue(w, epi);  // NVFP4: alpha * tensor_scale
        with_dot_bits(dec.e.dot_bits(), [&](auto bits) {
          if (path == Path::kBlockFpGemvInt8) {
            gemv_w_plus_a<decltype(bits)::value>(dec, xq, Y, wa_epi);
          } else {
            simd::HWY_NAMESPACE::gemm_u8s8_int_zero<decltype(bits)::value>(dec, xq, Y, wa_epi);
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
      {Path::kBlockFpGemvInt8, 1, kGemmMinRows, "int8 (W+A) X: MX FP4, NVFP4, MXFP6 E2M3, MXINT8, BFP"},
      {Path::kBlockFpGemmInt8, kGemmMinRows, kAnyRows, "int8 (W+A) X: MX FP4, NVFP4, MXFP6 E2M3, MXINT8, BFP"},
  };
#else
  return {{Path::kBlockFpReference, 1, kAnyRows, LSGEMM_NO_KERNELS_REASON}};
#endif
}

// Y = X * W^T (+ epilogue), in the weights' activation mode.
inline void matmul(HostView<const float> X, const BlockFpMatrix& w, HostView<float> Y, const Epilogue& epi = {}) {
  lsgemm::detail::check_matmul_shapes(X, w.n, w.k, Y);
  detail::check_packed(w, "block_fp::matmul");
  detail::check_channels(w, "block_fp::matmul");
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
