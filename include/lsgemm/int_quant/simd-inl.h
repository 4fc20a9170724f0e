// int_quant Highway kernels, one copy per SIMD target (re-includable: see DESIGN §4).
//
// Entry: lsgemm::int_quant::HWY_NAMESPACE::matmul(X, w, Y, epi). Paths:
//   M <  kGemmMinRows: GEMV-shaped (float mode: unless X is extreme, gemv_f32_safe).
//       Each task owns a pair of row strips (2L outputs,
//       L = lanes of f32) and streams its codes once from DRAM; rows of X beyond the
//       first re-read them from L2. Codes are decoded in registers, no panel.
//   M >= kGemmMinRows: GEMM-shaped. Each task owns an N-block of 2L outputs; per K
//       chunk the decoder writes a panel (f32 weights, or u8 quads), then register
//       tiles of up to 12 rows x 2L columns (core/simd/gemm_tile-inl.h) sweep all of M.
// Activation modes (format.hpp): float (fp32 FMA on decoded weights) and int8 (X
// quantized per group, u8 x s8 quad dots with exact int32 group sums, one float fix-up
// per group).
//
// Roofline, 4096 x 4096 int4 g128, M = 1: 8.4 MB of codes + 0.8 MB of scales/zeros
// per call; at ~35 GB/s of DRAM that is ~260 us, while the int8 GEMV needs per 128
// weights 1 load, 3 ALU ops and 2 quad dots (~6 uops): 0.8 M uops ~ 70 us at 3-4 uops
// per cycle. So the int8 GEMV is DRAM-bound; the float GEMV (4 ops per 16 weights per
// k-lane) is about as costly as the DRAM stream on one core.

#if defined(LSGEMM_INT_QUANT_SIMD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LSGEMM_INT_QUANT_SIMD_INL_H_
#undef LSGEMM_INT_QUANT_SIMD_INL_H_
#else
#define LSGEMM_INT_QUANT_SIMD_INL_H_
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "lsgemm/core/hwy_config.hpp"  // before Highway
#include <hwy/cache_control.h>
#include <hwy/highway.h>

#include "lsgemm/core/epilogue.hpp"
#include "lsgemm/core/error.hpp"
#include "lsgemm/core/matrix.hpp"
#include "lsgemm/core/parallel.hpp"
#include "lsgemm/core/path.hpp"
#include "lsgemm/int_quant/format.hpp"
#include "lsgemm/int_quant/reference.hpp"
// Re-included per target together with this file:
#include "lsgemm/core/simd/gemm_tile-inl.h"
#include "lsgemm/core/simd/gemm_driver-inl.h"

HWY_BEFORE_NAMESPACE();
namespace lsgemm {
namespace int_quant {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using namespace simd::HWY_NAMESPACE::tags;  // NOLINT: DF, DI, DU, DU8, DI8 (core/simd)
using simd::HWY_NAMESPACE::kMRF32;
using simd::HWY_NAMESPACE::kMRU8S8;

// From this many rows of X on, the GEMM path's panel decode (once per N-block and K
// chunk, shared by all rows) beats re-decoding the codes for every row.
inline constexpr int64_t kGemmMinRows = 4;
// GEMV prefetch distance in 64-byte blocks per stream: 2 KB ahead, about DRAM latency
// (~100 ns) x the per-stream rate (~10 GB/s / 2 streams) x 4 for slack.
inline constexpr int64_t kPrefetchBlocks = 32;
using simd::HWY_NAMESPACE::kChunk;
using simd::HWY_NAMESPACE::QuantizedX;

#if LSGEMM_SIMD_KERNELS
using simd::HWY_NAMESPACE::flush_group;

// ----------------------------------------------------------------------------------
// Addressing (core/row_tiles.hpp): strip s holds L consecutive padded rows; strip pair
// (2s, 2s+1) is an N-block of 2L outputs.
struct Strip {
  const uint8_t* codes;    // first block of this strip: + blk * 64
  const uint16_t* scales;  // group g: + g * 16
  const uint8_t* zeros;    // group g: + g * 16 (null when symmetric)
};

inline Strip strip_at(const QuantizedMatrix& w, int64_t s, size_t L) {
  const StripPos p = strip_pos(s, int64_t(L));
  Strip st;
  st.codes = strip_codes(w.codes.data(), p, w.tile_bytes());
  st.scales = strip_consts(w.scales.data(), p, w.groups());
  st.zeros = w.symmetric ? nullptr : strip_consts(w.zeros.data(), p, w.groups());
  return st;
}

// Per-strip group constants as f32 vectors: scale s and offset -s*z (so that
// s*(q - z) = s*q + off and the zero point needs no integer multiply).
HWY_INLINE void group_consts(const QuantizedMatrix& w, const Strip& st, int64_t g, hn::Vec<DF>& s,
                             hn::Vec<DF>& off) {
  const DF df;
  const DI di;
  const hn::Rebind<hwy::float16_t, DF> dh;
  const hn::Rebind<uint8_t, DI> dz;
  s = hn::PromoteTo(df, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(st.scales + g * kTileRows)));
  const auto z = st.zeros ? hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(dz, st.zeros + g * kTileRows)))
                          : hn::Set(df, float(w.zero_point_default()));
  off = hn::Neg(hn::Mul(s, z));
}

// Plane p of a block's bytes: codes of k = 4p + j (j = byte within the lane's dword).
template <int kBits, int kP>
HWY_INLINE hn::Vec<DU8> plane_u8(hn::Vec<DU8> v) {
  const DU8 du8;
  if constexpr (kBits == 8) {
    return v;
  } else if constexpr (kP * kBits + kBits == 8) {
    return hn::ShiftRight<kP * kBits>(v);  // top plane: the shift clears the rest
  } else if constexpr (kP == 0) {
    return hn::And(v, hn::Set(du8, uint8_t((1u << kBits) - 1)));
  } else {
    return hn::And(hn::ShiftRight<kP * kBits>(v), hn::Set(du8, uint8_t((1u << kBits) - 1)));
  }
}

// The same plane, byte j of every lane, as f32 (float-mode decode).
template <int kBits>
HWY_INLINE hn::Vec<DF> code_f32(hn::Vec<DU> v, int shift) {
  const DF df;
  const DU du;
  const DI di;
  return hn::ConvertTo(df, hn::BitCast(di, hn::And(hn::ShiftRightSame(v, shift),
                                                 hn::Set(du, uint32_t((1u << kBits) - 1)))));
}

template <size_t... P>
struct PlaneSeq {};

// Plane kP of both strips' blocks v0, v1 against its int8 X quad xb[kP].
template <int kBits, int kP, class VU8, class VI>
HWY_INLINE void plane_dots(DI di, VU8 v0, VU8 v1, const int32_t* xb, VI& a0, VI& a1) {
  const auto x = hn::BitCast(DI8(), hn::Set(di, xb[kP]));
  a0 = simd::HWY_NAMESPACE::quad_dot<kBits>(di, plane_u8<kBits, kP>(v0), x, a0);
  a1 = simd::HWY_NAMESPACE::quad_dot<kBits>(di, plane_u8<kBits, kP>(v1), x, a1);
}

// ----------------------------------------------------------------------------------
// GEMV, int8 activations: one strip pair, one row of X. y[0..2L) = the pair's outputs.
template <int kBits>
HWY_INLINE void gemv_int8_pair(const QuantizedMatrix& w, const Strip& s0, const Strip& s1, const int8_t* xq,
                               const float* sx, const float* xs, float* y) {
  constexpr int kE = 8 / kBits;  // planes per byte
  const DF df;
  const DI di;
  const DU8 du8;
  const size_t L = hn::Lanes(df);
  const int32_t* xq32 = reinterpret_cast<const int32_t*>(xq);
  const int64_t blocks_per_group = w.group / (4 * kE), tile_bytes = w.tile_bytes();
  auto y0 = hn::Zero(df), y1 = hn::Zero(df);
  for (int64_t g = 0; g < w.groups(); ++g) {
    // (2 strips, kE planes) int32 accumulators, 2*kE chains: named variables, since
    // sizeless (SVE) vectors cannot form arrays. Planes >= kE stay zero and fold away.
    auto a00 = hn::Zero(di), a01 = hn::Zero(di), a02 = hn::Zero(di), a03 = hn::Zero(di);
    auto a10 = hn::Zero(di), a11 = hn::Zero(di), a12 = hn::Zero(di), a13 = hn::Zero(di);
    const int64_t b0 = g * blocks_per_group;
    for (int64_t b = b0; b < b0 + blocks_per_group; ++b) {
      // Two sequential streams per task are too few for the hardware prefetcher to
      // cover DRAM latency; ask for the block kPrefetchBlocks ahead in each (and past the
      // tile's end, the next pair's: core/row_tiles.hpp).
      const int64_t ahead = pair_stream_ahead(b * kBlockBytes, kPrefetchBlocks * kBlockBytes, tile_bytes, int64_t(L));
      hwy::Prefetch(s0.codes + ahead);
      hwy::Prefetch(s1.codes + ahead);
      const auto v0 = hn::LoadU(du8, s0.codes + b * kBlockBytes);
      const auto v1 = hn::LoadU(du8, s1.codes + b * kBlockBytes);
      const int32_t* xb = xq32 + b * kE;
      plane_dots<kBits, 0>(di, v0, v1, xb, a00, a10);
      if constexpr (kE > 1) plane_dots<kBits, 1>(di, v0, v1, xb, a01, a11);
      if constexpr (kE > 2) plane_dots<kBits, 2>(di, v0, v1, xb, a02, a12);
      if constexpr (kE > 3) plane_dots<kBits, 3>(di, v0, v1, xb, a03, a13);
    }
    const auto i0 = hn::Add(hn::Add(a00, a01), hn::Add(a02, a03));
    const auto i1 = hn::Add(hn::Add(a10, a11), hn::Add(a12, a13));
    hn::Vec<DF> sc0, off0, sc1, off1;
    group_consts(w, s0, g, sc0, off0);
    group_consts(w, s1, g, sc1, off1);
    const auto vsx = hn::Set(df, sx[g]), vxs = hn::Set(df, xs[g]);
    y0 = flush_group(y0, hn::Mul(sc0, vsx), hn::ConvertTo(df, i0), off0, vxs);
    y1 = flush_group(y1, hn::Mul(sc1, vsx), hn::ConvertTo(df, i1), off1, vxs);
  }
  hn::StoreU(y0, df, y);
  hn::StoreU(y1, df, y + L);
}

// GEMV, float activations: x padded with zeros to kp; xsum[g] = sum of x over group g.
template <int kBits>
HWY_INLINE void gemv_f32_pair(const QuantizedMatrix& w, const Strip& s0, const Strip& s1, const float* x,
                              const float* xsum, float* y) {
  constexpr int kE = 8 / kBits;
  const DF df;
  const DU du;
  const size_t L = hn::Lanes(df);
  const int64_t blocks_per_group = w.group / (4 * kE), tile_bytes = w.tile_bytes();
  auto y0 = hn::Zero(df), y1 = hn::Zero(df);
  for (int64_t g = 0; g < w.groups(); ++g) {
    // (2 strips, 4 bytes j) f32 accumulators: 8 FMA chains cover latency 4 x 2 ports.
    auto a00 = hn::Zero(df), a01 = hn::Zero(df), a02 = hn::Zero(df), a03 = hn::Zero(df);
    auto a10 = hn::Zero(df), a11 = hn::Zero(df), a12 = hn::Zero(df), a13 = hn::Zero(df);
    const int64_t b0 = g * blocks_per_group;
    for (int64_t b = b0; b < b0 + blocks_per_group; ++b) {
      const int64_t ahead = pair_stream_ahead(b * kBlockBytes, kPrefetchBlocks * kBlockBytes, tile_bytes, int64_t(L));
      hwy::Prefetch(s0.codes + ahead);  // as in gemv_int8_pair
      hwy::Prefetch(s1.codes + ahead);
      const auto v0 = hn::LoadU(du, reinterpret_cast<const uint32_t*>(s0.codes + b * kBlockBytes));
      const auto v1 = hn::LoadU(du, reinterpret_cast<const uint32_t*>(s1.codes + b * kBlockBytes));
      const float* xb = x + b * 4 * kE;
      for (int p = 0; p < kE; ++p) {
#define LSGEMM_BYTE(j)                                                                \
  {                                                                                   \
    const auto xv = hn::Set(df, xb[4 * p + j]);                                       \
    a0##j = hn::MulAdd(code_f32<kBits>(v0, 8 * j + p * kBits), xv, a0##j);            \
    a1##j = hn::MulAdd(code_f32<kBits>(v1, 8 * j + p * kBits), xv, a1##j);            \
  }
        LSGEMM_BYTE(0) LSGEMM_BYTE(1) LSGEMM_BYTE(2) LSGEMM_BYTE(3)
#undef LSGEMM_BYTE
      }
    }
    const auto d0 = hn::Add(hn::Add(a00, a01), hn::Add(a02, a03));
    const auto d1 = hn::Add(hn::Add(a10, a11), hn::Add(a12, a13));
    hn::Vec<DF> sc0, off0, sc1, off1;
    group_consts(w, s0, g, sc0, off0);
    group_consts(w, s1, g, sc1, off1);
    const auto vxs = hn::Set(df, xsum[g]);
    y0 = flush_group(y0, sc0, d0, off0, vxs);
    y1 = flush_group(y1, sc1, d1, off1, vxs);
  }
  hn::StoreU(y0, df, y);
  hn::StoreU(y1, df, y + L);
}

// ----------------------------------------------------------------------------------
// GEMM panels.

// f32 panel for k in [k0, k0 + kc): panel[(k - k0) * 2L + h * L + lane] = w of strip h.
template <int kBits>
HWY_INLINE void decode_panel_f32(const QuantizedMatrix& w, const Strip* st, int64_t k0, int64_t kc,
                                 float* HWY_RESTRICT panel) {
  constexpr int kE = 8 / kBits;
  const DF df;
  const DU du;
  const size_t L = hn::Lanes(df);
  const int64_t kpb = 4 * kE;  // k per block
  int64_t gcur = -1;
  auto sc0 = hn::Zero(df), off0 = sc0, sc1 = sc0, off1 = sc0;  // the two strips' group constants
  for (int64_t b = k0 / kpb; b < (k0 + kc) / kpb; ++b) {
    const int64_t g = b * kpb / w.group;
    if (g != gcur) {
      group_consts(w, st[0], g, sc0, off0);
      group_consts(w, st[1], g, sc1, off1);
      gcur = g;
    }
    for (int h = 0; h < 2; ++h) {
      const auto v = hn::LoadU(du, reinterpret_cast<const uint32_t*>(st[h].codes + b * kBlockBytes));
      const auto sc = h == 0 ? sc0 : sc1, off = h == 0 ? off0 : off1;
      float* out = panel + (b * kpb - k0) * 2 * int64_t(L) + h * int64_t(L);
      for (int p = 0; p < kE; ++p)
        for (int j = 0; j < 4; ++j)
          hn::Store(hn::MulAdd(sc, code_f32<kBits>(v, 8 * j + p * kBits), off), df, out + (4 * p + j) * 2 * int64_t(L));
    }
  }
}

// u8 panel of quads for k in [k0, k0 + kc): quad q, half h at panel + q * 8L + h * 4L.
template <int kBits, size_t... P>
HWY_INLINE void decode_panel_u8(const Strip* st, int64_t k0, int64_t kc, uint8_t* HWY_RESTRICT panel,
                                PlaneSeq<P...>) {
  constexpr int kE = 8 / kBits;
  const DU8 du8;
  const size_t B = hn::Lanes(du8);  // 4L bytes
  const int64_t kpb = 4 * kE;
  for (int64_t b = k0 / kpb; b < (k0 + kc) / kpb; ++b) {
    for (int h = 0; h < 2; ++h) {
      const auto v = hn::LoadU(du8, st[h].codes + b * kBlockBytes);
      uint8_t* out = panel + (b * kE - k0 / 4) * 2 * int64_t(B) + h * int64_t(B);
      (hn::Store(plane_u8<kBits, int(P)>(v), du8, out + P * 2 * B), ...);
    }
  }
}

// The decoder that plugs int_quant into the shared GEMM skeleton
// (core/simd/gemm_driver-inl.h): N-block nb = strips (2nb, 2nb + 1).
template <int kBits>
struct GemmDecoder {
  using Planes = std::conditional_t<kBits == 8, PlaneSeq<0>,
                 std::conditional_t<kBits == 4, PlaneSeq<0, 1>, PlaneSeq<0, 1, 2, 3>>>;
  const QuantizedMatrix& w;
  int64_t L, strips;

  explicit GemmDecoder(const QuantizedMatrix& wq)
      : w(wq), L(int64_t(hn::Lanes(DF()))), strips(strip_count(wq.tiles(), L)) {}
  int64_t n() const { return w.n; }
  int64_t k() const { return w.k; }
  int64_t kp() const { return w.kp; }
  int64_t group() const { return w.group; }
  int64_t blocks() const { return strip_pairs(w.tiles(), L); }
  // An odd strip count makes the last block's second strip repeat the first; its
  // outputs are beyond N and never stored.
  void strips_of(int64_t nb, Strip st[2]) const {
    st[0] = strip_at(w, 2 * nb, size_t(L));
    st[1] = strip_at(w, std::min(2 * nb + 1, strips - 1), size_t(L));
  }
  bool decode_f32(int64_t nb, int64_t k0, int64_t kc, float* panel) const {
    Strip st[2];
    strips_of(nb, st);
    decode_panel_f32<kBits>(w, st, k0, kc, panel);
    return true;  // dense: never skipped
  }
  simd::HWY_NAMESPACE::U8Panel decode_u8(int64_t nb, int64_t k0, int64_t kc, uint8_t* scratch) const {
    Strip st[2];
    strips_of(nb, st);
    if constexpr (kBits == 8) {  // 8-bit codes already are u8 quads: read them in place
      return {st[0].codes + (k0 / 4) * kBlockBytes, st[1].codes + (k0 / 4) * kBlockBytes, kBlockBytes};
    } else {
      decode_panel_u8<kBits>(st, k0, kc, scratch, Planes());
      return {scratch, scratch + 4 * L, 8 * L};
    }
  }
  void group_consts(int64_t nb, int64_t g, float* S, float* Z) const {
    const DF df;
    Strip st[2];
    strips_of(nb, st);
    for (int h = 0; h < 2; ++h) {
      hn::Vec<DF> sc, off;
      HWY_NAMESPACE::group_consts(w, st[h], g, sc, off);
      hn::StoreU(sc, df, S + h * L);
      hn::StoreU(off, df, Z + h * L);
    }
  }
};

// GEMV-shaped path (M < kGemmMinRows): each task owns a strip pair and streams its
// codes once; rows after the first re-read them from L2.
template <int kBits>
void gemv_rows(HostView<const float> X, const QuantizedMatrix& w, HostView<float> Y, const Epilogue& epi,
               const QuantizedX* xq) {
  const GemmDecoder<kBits> dec(w);
  const int64_t M = X.rows, G = w.groups(), KP = w.kp;
  // Float mode: X padded, with its group sums, once per call (core/simd/gemm_driver-inl.h).
  thread_local AlignedBuffer<float> xpad_buf;
  const float* xpad = xq ? nullptr : simd::HWY_NAMESPACE::pad_x_with_group_sums(X, KP, w.group, xpad_buf);
  simd::HWY_NAMESPACE::gemv_pairs(dec.blocks(), M, Y, epi, [&](int64_t m, int64_t pr, float* yt) {
    Strip st[2];
    dec.strips_of(pr, st);
    if (xq) {
      gemv_int8_pair<kBits>(w, st[0], st[1], xq->q.data() + m * KP, xq->sx.data() + m * G, xq->xs.data() + m * G,
                            yt);
    } else {
      const float* xp = xpad + m * (KP + G);
      gemv_f32_pair<kBits>(w, st[0], st[1], xp, xp + KP, yt);
    }
  });
}

// The float GEMV computes per group s * sum(q x) + (-s z) * sum(x): one FMA per code
// instead of two, but unlike the panel path's sum((s q - s z) x) it is not the
// reference's arithmetic where X is extreme: an Inf in X gives inf - inf = NaN where
// the reference gives +-Inf, and |x| near 1e36 overflows sum(q x) although the product
// is finite. With sum |x| <= 2^64 per row, every intermediate stays below
// 2 * 65504 * 255 * 2^64 ~ 6e26 (s is an f16, q and z <= 255), far from FLT_MAX; rows
// beyond it (and any Inf/NaN) take the panel path, which agrees with the reference.
inline bool gemv_f32_safe(HostView<const float> X) {
  const DF df;
  const int64_t L = int64_t(hn::Lanes(df));
  for (int64_t m = 0; m < X.rows; ++m) {
    const float* x = X.row(m);
    auto acc = hn::Zero(df);
    int64_t c = 0;
    for (; c + L <= X.cols; c += L) acc = hn::Add(acc, hn::Abs(hn::LoadU(df, x + c)));
    float sum = hn::ReduceSum(df, acc);
    for (; c < X.cols; ++c) sum += std::fabs(x[c]);
    if (!(sum <= 0x1p64f)) return false;  // also false for Inf and NaN
  }
  return true;
}

// The path of a call (the rules: path_rules()).
inline Path choose_path(HostView<const float> X, const QuantizedX* xq) {
  if (X.rows < kGemmMinRows) {
    if (xq) return Path::kIntQuantGemvInt8;
    if (gemv_f32_safe(X)) return Path::kIntQuantGemvFloat;
  }
  return xq ? Path::kIntQuantGemmInt8 : Path::kIntQuantGemmFloat;
}

template <int kBits>
void run_bits(Path path, HostView<const float> X, const QuantizedMatrix& w, HostView<float> Y, const Epilogue& epi,
              const QuantizedX* xq) {
  const GemmDecoder<kBits> dec(w);
  switch (path) {
    case Path::kIntQuantGemvInt8:
    case Path::kIntQuantGemvFloat: return gemv_rows<kBits>(X, w, Y, epi, xq);
    case Path::kIntQuantGemmInt8: return simd::HWY_NAMESPACE::gemm_u8s8<kBits>(dec, *xq, Y, epi);
    default: return simd::HWY_NAMESPACE::gemm_f32(dec, X, Y, epi);
  }
}

// LLM.int8(): the rows of X for the int8 quantizer with the outlier columns zeroed
// (they take add_outliers' float path instead, which multiplies them raw, so their
// values are range-checked here, before they are zeroed).
struct RowsWithoutOutliers {
  HostView<const float> X;
  const std::vector<int64_t>& outl;
  const float* operator()(int64_t m, std::vector<float>& tmp) const {
    const float* x = X.row(m);
    if (outl.empty()) return x;
    tmp.assign(x, x + X.cols);
    for (int64_t c : outl) {
      if (!lsgemm::detail::act_in_range(tmp[size_t(c)])) return nullptr;
      tmp[size_t(c)] = 0.0f;
    }
    return tmp.data();
  }
};

// LLM.int8() outliers: Y[m][n] += sum over outlier columns c of X[m][c] * w[n][c].
inline void add_outliers(HostView<const float> X, const QuantizedMatrix& w, HostView<float> Y,
                         const std::vector<int64_t>& outl, float epi_alpha) {
  if (outl.empty()) return;
  lsgemm::detail::note_path(Path::kIntQuantOutliers);
  const DF df;
  const int64_t L = int64_t(hn::Lanes(df));
  const int64_t N = w.n, NB = 256;
  parallel_for((N + NB - 1) / NB, [&](int64_t nb) {
    const int64_t n0 = nb * NB, n1 = std::min(N, n0 + NB);
    std::vector<float> col(static_cast<size_t>(NB));
    for (int64_t c : outl) {
      const int64_t g = c / w.group;
      for (int64_t n = n0; n < n1; ++n) col[size_t(n - n0)] = w.scale(n, g) * float(w.code(n, c) - w.zero(n, g));
      for (int64_t m = 0; m < X.rows; ++m) {
        const auto xv = hn::Set(df, epi_alpha * X(m, c));  // the epilogue's alpha scales the product
        float* y = Y.row(m);
        for (int64_t n = n0; n < n1; n += L) {
          const size_t cnt = size_t(std::min(L, n1 - n));
          hn::StoreN(hn::MulAdd(xv, hn::LoadN(df, col.data() + (n - n0), cnt), hn::LoadN(df, y + n, cnt)), df,
                     y + n, cnt);
        }
      }
    }
  });
}

#endif  // LSGEMM_SIMD_KERNELS

// This target's dispatch table (lsgemm::dispatch_table() lists it with lut's).
inline std::vector<PathRule> path_rules() {
#if LSGEMM_SIMD_KERNELS
  return {
      {Path::kIntQuantGemvFloat, 1, kGemmMinRows, "float X, every row finite with sum |x| <= 2^64"},
      {Path::kIntQuantGemmFloat, 1, kAnyRows, "float X: from kGemmMinRows rows, or a row that is not GEMV-safe"},
      {Path::kIntQuantGemvInt8, 1, kGemmMinRows, "int8 X"},
      {Path::kIntQuantGemmInt8, kGemmMinRows, kAnyRows, "int8 X"},
      {Path::kIntQuantOutliers, 1, kAnyRows, "int8 X, outlier threshold set and exceeded (added to the int8 path)"},
  };
#else
  return {{Path::kIntQuantReference, 1, kAnyRows, LSGEMM_NO_KERNELS_REASON}};
#endif
}

// Y = X * W^T (+ bias), in the weights' activation mode.
inline void matmul(HostView<const float> X, const QuantizedMatrix& w, HostView<float> Y, const Epilogue& epi = {}) {
  lsgemm::detail::check_matmul_shapes(X, w.n, w.k, Y);
  detail::check_packed(w, "int_quant::matmul");
  if (X.rows == 0) return;
#if !LSGEMM_SIMD_KERNELS
  lsgemm::detail::note_path(Path::kIntQuantReference);  // core/simd/kernels.hpp
  reference::matmul(X, w, Y, epi);
#else
  thread_local QuantizedX xq;  // reused across calls (see simd::scratch)
  std::vector<int64_t> outl;
  if (w.act == ActMode::kInt8) {
    outl = outlier_columns(X, w.outlier_threshold);
    if (!simd::HWY_NAMESPACE::quantize_x(X.rows, X.cols, w.group, w.kp, RowsWithoutOutliers{X, outl}, xq))
      lsgemm::detail::fail_acts_out_of_range(X, "int_quant::matmul", "int8 activation mode");
  }
  const QuantizedX* pq = w.act == ActMode::kInt8 ? &xq : nullptr;
  const Path path = choose_path(X, pq);
  lsgemm::detail::note_path(path);
  switch (w.bits) {
    case 2: run_bits<2>(path, X, w, Y, epi, pq); break;
    case 4: run_bits<4>(path, X, w, Y, epi, pq); break;
    default: run_bits<8>(path, X, w, Y, epi, pq); break;
  }
  add_outliers(X, w, Y, outl, epi.alpha);
#endif
}

}  // namespace HWY_NAMESPACE
}  // namespace int_quant
}  // namespace lsgemm
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
