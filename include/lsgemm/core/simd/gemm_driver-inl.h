// The GEMM-shaped skeleton shared by the families (Highway, per target).
//
// It owns the loop nest; a family supplies a *decoder* for its packed weights:
//
//   for each block of rows of X (M blocking, below):
//     parallel over N-blocks of 2L outputs (L = f32 lanes)     -- one task each
//       for each K chunk:   decoder writes a panel of the block -- once per block
//         for each kMR rows of X: register tile (gemm_tile-inl.h) -- reuses the panel
//     epilogue: alpha / bias / accumulate, N tail
//
// Decoder interface (all const), one trait per kernel kind, checked by static_assert
// (F32Decoder, U8Decoder below) so a family that misses a method is told which:
//   every kind:
//   int64_t n(), k(), kp()          logical N, K; kp = K padded to a multiple of 4
//   int64_t blocks()                N-blocks of 2L outputs
//   f32 panels (gemm_f32):
//   bool decode_f32(nb, k0, kc, float* panel)
//        panel[(k - k0) * 2L + c] = weight of output nb*2L + c at k, for k < k0 + kc;
//        returns false instead when every one of those weights is 0 (a sparse chunk):
//        the driver then skips its tiles
//   u8 panels (gemm_u8s8):
//   int64_t group()                 scale-group length along K (the int32 sums are
//                                   flushed per chunk: K chunks hold one group at most)
//   U8Panel decode_u8(nb, k0, kc, uint8_t* scratch)
//        u8 codes in quads (4 consecutive k of one output per 32-bit lane), either
//        decoded into scratch (>= kc/4 * 8L bytes) or pointing into the packed data;
//        .zero = true instead when every code of the chunk is 0 and Z (below) is 0 for
//        its group: the chunk adds nothing and its tiles are skipped
//   void group_consts(nb, g, float* S, float* Z)
//        per output c < 2L: w = S[c] * code + Z[c] within scale group g
//
// The int8 activations (QuantizedX) are made once per call by quantize_x (a Scale
// policy, a row source).

#if defined(LSGEMM_CORE_SIMD_GEMM_DRIVER_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LSGEMM_CORE_SIMD_GEMM_DRIVER_INL_H_
#undef LSGEMM_CORE_SIMD_GEMM_DRIVER_INL_H_
#else
#define LSGEMM_CORE_SIMD_GEMM_DRIVER_INL_H_
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "lsgemm/core/hwy_config.hpp"  // before Highway
#include <hwy/highway.h>

#include "lsgemm/core/act_quant.hpp"
#include "lsgemm/core/buffer.hpp"
#include "lsgemm/core/epilogue.hpp"
#include "lsgemm/core/matrix.hpp"
#include "lsgemm/core/parallel.hpp"
#include "lsgemm/core/simd/gemm_tile-inl.h"

HWY_BEFORE_NAMESPACE();
namespace lsgemm {
namespace simd {
namespace HWY_NAMESPACE {

// K chunk: a 2L x 256 f32 panel is 32 KB on AVX-512 (L1-resident), a u8 one 8 KB.
inline constexpr int64_t kChunk = 256;

struct U8Panel {
  const uint8_t* p0;  // outputs [0, L) of the block, quad q at p0 + q * stride
  const uint8_t* p1;  // outputs [L, 2L)
  int64_t stride;
  bool zero = false;  // the chunk contributes nothing: skip it (see the interface)
};

// The decoder traits of the interface above.
template <class D, class = void>
struct HasShape : std::false_type {};
template <class D>
struct HasShape<D, std::void_t<decltype(int64_t(std::declval<const D&>().n())), decltype(int64_t(std::declval<const D&>().k())),
                               decltype(int64_t(std::declval<const D&>().kp())),
                               decltype(int64_t(std::declval<const D&>().blocks()))>> : std::true_type {};
template <class D, class = void>
struct F32Decoder : std::false_type {};
template <class D>
struct F32Decoder<D, std::enable_if_t<std::is_same_v<decltype(std::declval<const D&>().decode_f32(
                                                         int64_t(), int64_t(), int64_t(), static_cast<float*>(nullptr))),
                                                     bool>>> : HasShape<D> {};
template <class D, class = void>
struct U8Decoder : std::false_type {};
template <class D>
struct U8Decoder<D, std::enable_if_t<std::is_same_v<decltype(std::declval<const D&>().decode_u8(
                                                        int64_t(), int64_t(), int64_t(), static_cast<uint8_t*>(nullptr))),
                                                    U8Panel> &&
                                     std::is_void_v<decltype(std::declval<const D&>().group_consts(
                                         int64_t(), int64_t(), static_cast<float*>(nullptr), static_cast<float*>(nullptr)))> &&
                                     std::is_convertible_v<decltype(std::declval<const D&>().group()), int64_t>>>
    : HasShape<D> {};

// X quantized to int8 per scale group (definition: core/act_quant.hpp and
// int_quant::quantize_activations): amax over the group, a zero block below kTinyAmax,
// else inv = 127/amax, q = nearest-even(x * inv) in [-127, 127], sx = amax/127;
// xs = sx * sum(q), qsum = sum(q). Columns >= K are zero up to kp.
struct QuantizedX {
  int64_t m = 0, kp = 0, groups = 0;
  AlignedBuffer<int8_t> q;       // m * kp
  AlignedBuffer<float> sx;       // m * groups
  AlignedBuffer<float> xs;       // m * groups
  AlignedBuffer<int32_t> qsum;   // m * groups
};

// Grows b to at least n elements and returns its data; contents are unspecified.
// Per-call buffers are thread_local and only grow: allocating them fresh each call
// meant mmap'd pages faulted in on every call, serialized in the kernel, which held
// the int8 GEMM at M = 128 to a 1.6x speed-up on 2 threads.
template <class T>
T* scratch(AlignedBuffer<T>& b, size_t n) {
  if (b.size() < n) b.resize(n);
  return b.data();
}

// X-quantizer policies: how a group's amax becomes the multiplier inv and the scale sx
// (q = nearest-even(x * inv) clamped to [-127, 127], x ~ sx * q); false for a zero
// group. Int8AbsMax is the library's int8 definition (core/act_quant.hpp); a family with
// another scale rule (e.g. power-of-two scales for MX W+A) supplies its own.
struct Int8AbsMax {
  static bool scale(float amax, float& inv, float& sx) { return int8_block_scale(amax, inv, sx); }
};

// The rows of X as they are (a family may pass a row source that edits them, e.g.
// int_quant zeroes its LLM.int8() outlier columns).
struct XRows {
  HostView<const float> X;
  // Row m, or null to reject the call (a value the family cannot take). tmp: scratch.
  const float* operator()(int64_t m, std::vector<float>& /*tmp*/) const { return X.row(m); }
};

// The rows of X with their columns gathered (cols: K entries): a family's channel order.
struct GatheredXRows {
  HostView<const float> X;
  const int32_t* cols;
  const float* operator()(int64_t m, std::vector<float>& tmp) const {
    tmp.resize(size_t(X.cols));
    const float* x = X.row(m);
    for (int64_t c = 0; c < X.cols; ++c) tmp[size_t(c)] = x[cols[c]];
    return tmp.data();
  }
};

// X quantized per scale group by a Scale policy, once per call (every N-block task
// reads it). Returns false when a row holds a value outside act_in_range (Inf, NaN,
// |x| > kMaxAbsX) or the row source rejects it.
template <class Scale = Int8AbsMax, class RowSource>
bool quantize_x(int64_t M, int64_t K, int64_t group, int64_t kp, const RowSource& rows, QuantizedX& xq) {
  namespace hn = hwy::HWY_NAMESPACE;
  const DF df;
  const DI di;
  const int64_t L = int64_t(hn::Lanes(df));
  const int64_t G = kp / group;
  xq.m = M;
  xq.kp = kp;
  xq.groups = G;
  scratch(xq.q, size_t(M * kp));
  scratch(xq.sx, size_t(M * G));
  scratch(xq.xs, size_t(M * G));
  scratch(xq.qsum, size_t(M * G));
  std::vector<char> bad(size_t(M), 0);
  parallel_for(M, [&](int64_t m) {
    std::vector<float> tmp;
    const float* x = rows(m, tmp);
    if (!x) {
      bad[size_t(m)] = 1;
      return;
    }
    int8_t* qrow = xq.q.data() + m * kp;
    for (int64_t g = 0; g < G; ++g) {
      const int64_t k0 = g * group, k1 = std::min<int64_t>(k0 + group, K);
      if (k0 >= K) {  // a group of padding only (K padded by more than a group): zero below
        xq.sx[size_t(m * G + g)] = xq.xs[size_t(m * G + g)] = 0.0f;
        xq.qsum[size_t(m * G + g)] = 0;
        continue;
      }
      // Max drops NaN (maxps returns its second operand), so non-finite values are
      // caught separately: x * 0 is NaN exactly for Inf and NaN, and NaN sticks in a sum.
      auto vmax = hn::Zero(df), vbad = hn::Zero(df);
      int64_t c = k0;
      for (; c + L <= k1; c += L) {
        const auto v = hn::LoadU(df, x + c);
        vmax = hn::Max(vmax, hn::Abs(v));
        vbad = hn::Add(vbad, hn::Mul(v, hn::Zero(df)));
      }
      if (c < k1) {  // the tail, zero-padded (LoadN): zeros change neither result
        const auto v = hn::LoadN(df, x + c, size_t(k1 - c));
        vmax = hn::Max(vmax, hn::Abs(v));
        vbad = hn::Add(vbad, hn::Mul(v, hn::Zero(df)));
      }
      const float amax = hn::ReduceMax(df, vmax);
      const bool finite = std::isfinite(hn::ReduceSum(df, vbad));
      if (!finite || !(amax <= kMaxAbsX)) {
        bad[size_t(m)] = 1;
        return;
      }
      float inv, sx;
      int32_t qsum = 0;
      if (Scale::scale(amax, inv, sx)) {
        const auto vinv = hn::Set(df, inv);
        const auto lo = hn::Set(di, -127), hi = hn::Set(di, 127);
        auto vsum = hn::Zero(di);
        const hn::Rebind<int8_t, DI> d8;
        // The tail as the body, through LoadN / StoreN (the padding quantizes to 0): a
        // scalar tail loop here was auto-vectorized by GCC 12 for SVE into wrong codes
        // at 512-bit vectors (seen under qemu at -O3).
        for (c = k0; c < k1; c += L) {
          const size_t n = size_t(std::min<int64_t>(L, k1 - c));
          auto qi = hn::NearestInt(hn::Mul(hn::LoadN(df, x + c, n), vinv));
          qi = hn::Min(hn::Max(qi, lo), hi);
          vsum = hn::Add(vsum, qi);
          hn::StoreN(hn::DemoteTo(d8, qi), d8, qrow + c, n);
        }
        qsum = hn::ReduceSum(di, vsum);
      } else {
        std::memset(qrow + k0, 0, size_t(k1 - k0));
      }
      xq.sx[size_t(m * G + g)] = sx;
      xq.xs[size_t(m * G + g)] = sx * float(qsum);
      xq.qsum[size_t(m * G + g)] = qsum;
    }
    std::memset(qrow + K, 0, size_t(kp - K));
  });
  return std::find(bad.begin(), bad.end(), 1) == bad.end();
}

// The library's int8 X (Int8AbsMax) of every row of X as it is.
inline bool quantize_x_int8(HostView<const float> X, int64_t group, int64_t kp, QuantizedX& xq) {
  return quantize_x(X.rows, X.cols, group, kp, XRows{X}, xq);
}

// M blocking: rows of X in blocks, one parallel pass over the N-blocks per block, so
// that the threads share one block of packed X (3.75 MB at K = 4096: 240 rows of f32,
// 960 of int8; L3-resident) instead of each N-block task streaming all of X (64 MB of
// f32 at M = K = 4096) from DRAM. Multiples of every tile height (6, 8, 12), so a
// block's row tiles are pack_rows' tiles. The panels are decoded once per block: a
// small cost next to a block of tiles (measured: int4 4096^2 M = 512, T = 1, f32 -3 %;
// int8 with 240-row blocks +3.5 %, hence the larger int8 block).
inline constexpr int64_t kMBlockF32 = 240;
inline constexpr int64_t kMBlockU8 = 960;
static_assert(kMBlockF32 % kMRF32 == 0 && kMBlockU8 % kMRU8S8 == 0, "M blocks must hold whole row tiles");

template <int64_t kBlock, class Fn>
void for_m_blocks(int64_t M, const Fn& fn) {
  for (int64_t mb = 0; mb < M; mb += kBlock) fn(mb, std::min(kBlock, M - mb));
}

#if LSGEMM_SIMD_KERNELS

// Cuts rows [0, M) into register tiles: kTop rows, then 4, then 1 for the remainder
// (three tile instantiations cover every M); calls fn(m0, integral_constant<h>).
template <int kTop, class Fn>
HWY_INLINE void for_row_tiles(int64_t M, const Fn& fn) {
  int64_t m = 0;
  for (; m + kTop <= M; m += kTop) fn(m, std::integral_constant<int, kTop>());
  for (; m + 4 <= M; m += 4) fn(m, std::integral_constant<int, 4>());
  for (; m < M; ++m) fn(m, std::integral_constant<int, 1>());
}

// Packs rows of a row-major matrix (elements of type T, ld apart) tile by tile,
// k-major within a tile: the tile of height h starting at row m0 occupies
// out[m0 * cols + k * h + i]. One O(M*K) pass per call, shared by every N-block.
// gather (cols entries, or null): packed column k reads source column gather[k] (a
// family's channel order, applied to X here instead of in a copy of X).
template <int kTop, class T>
void pack_rows(const T* src, int64_t ld, int64_t M, int64_t cols, AlignedBuffer<T>& out,
               const int32_t* gather = nullptr) {
  T* dst = scratch(out, size_t(M * cols));
  std::vector<int64_t> starts;
  for_row_tiles<kTop>(M, [&](int64_t m0, auto) { starts.push_back(m0); });
  parallel_for(int64_t(starts.size()), [&](int64_t t) {
    const int64_t m0 = starts[size_t(t)];
    const int64_t h = (t + 1 < int64_t(starts.size()) ? starts[size_t(t + 1)] : M) - m0;
    T* d = dst + m0 * cols;
    for (int64_t k = 0; k < cols; ++k) {
      const int64_t ks = gather ? int64_t(gather[k]) : k;
      for (int64_t i = 0; i < h; ++i) d[k * h + i] = src[(m0 + i) * ld + ks];
    }
  });
}

// Tile policy of gemm_f32: what one task does with one K chunk of its N-block, for the
// mc rows of an M block. The dense default decodes the chunk into a panel and sweeps
// register tiles over it; a sparse family can supply its own (a gather or outer-product
// tile over its compressed chunk, XNNPACK-SpMM style) with the same signature:
//   bool chunk(dec, nb, k0, kc, kx, xp, K, mc, panel, yt, have)
//     xp: the block's packed X (pack_rows<kMRF32> layout, row tile m at xp + m * K),
//     kx = columns of X in the chunk, yt: (mc, 2L) sums, have: yt holds sums to add to;
//     returns false when the chunk added nothing (yt untouched).
struct PanelTilesF32 {
  template <class Decoder>
  static bool chunk(const Decoder& dec, int64_t nb, int64_t k0, int64_t kc, int64_t kx, const float* xp, int64_t K,
                    int64_t mc, float* panel, float* yt, int64_t ldyt, bool have) {
    if (!dec.decode_f32(nb, k0, kc, panel)) return false;
    for_row_tiles<kMRF32>(mc, [&](int64_t m, auto mr) {
      constexpr int h = decltype(mr)::value;
      tile_f32<h>(xp + m * K + k0 * h, panel, kx, yt + m * ldyt, ldyt, have);
    });
    return true;
  }
};

// Y = X * W^T (+ epilogue) with fp32 activations, W decoded to f32 panels (or chunks
// handled by another Tiles policy). x_cols (K entries, or null): the decoder's column k
// multiplies X[m][x_cols[k]] (pack_rows' gather).
template <class Decoder, class Tiles = PanelTilesF32>
void gemm_f32(const Decoder& dec, HostView<const float> X, HostView<float> Y, const Epilogue& epi,
              const int32_t* x_cols = nullptr) {
  static_assert(HasShape<Decoder>::value, "gemm_f32: the decoder needs n(), k(), kp() and blocks()");
  static_assert(!std::is_same_v<Tiles, PanelTilesF32> || F32Decoder<Decoder>::value,
                "gemm_f32 with panel tiles: the decoder needs bool decode_f32(nb, k0, kc, float* panel)");
  const int64_t L = int64_t(hwy::HWY_NAMESPACE::Lanes(DF()));
  const int64_t M = X.rows, N = dec.n(), K = dec.k(), KP = dec.kp();
  thread_local AlignedBuffer<float> xp_buf;  // X packed per row tile
  pack_rows<kMRF32>(X.data, X.ld, M, K, xp_buf, x_cols);
  const float* xp_all = xp_buf.data();  // a thread_local is not captured: workers need the pointer
  for_m_blocks<kMBlockF32>(M, [&](int64_t mb, int64_t mc) {
    const float* xp = xp_all + mb * K;
    parallel_for(dec.blocks(), [&](int64_t nb) {
      const int64_t n0 = nb * 2 * L, ncols = std::min<int64_t>(2 * L, N - n0);
      if (ncols <= 0) return;
      thread_local AlignedBuffer<float> yt_buf, panel_buf;
      float* yt = scratch(yt_buf, size_t(mc * 2 * L));  // (mc, 2L): the block's rows, across K chunks
      float* panel = scratch(panel_buf, size_t(kChunk * 2 * L));
      bool have = false;  // yt holds sums (a skipped first chunk leaves nothing to add to)
      for (int64_t k0 = 0; k0 < K; k0 += kChunk) {
        const int64_t kc = std::min(kChunk, KP - k0);
        const int64_t kx = std::min(kc, K - k0);  // X has only K columns
        if (Tiles::chunk(dec, nb, k0, kc, kx, xp, K, mc, panel, yt, 2 * L, have)) have = true;
      }
      if (!have) std::fill(yt, yt + mc * 2 * L, 0.0f);
      store_tile(yt, 2 * L, mb, mc, n0, ncols, Y, epi);
    });
  });
}

// Y = X * W^T (+ epilogue) with int8 activations: u8 codes x s8 X in exact int32 per
// scale group, then y += isum * S * sx + Z * xs once per group and row.
template <int kCodeBits, class Decoder>
void gemm_u8s8(const Decoder& dec, const QuantizedX& xq, HostView<float> Y, const Epilogue& epi) {
  static_assert(U8Decoder<Decoder>::value,
                "gemm_u8s8: the decoder needs n(), k(), kp(), blocks(), group(), U8Panel decode_u8(nb, k0, kc, "
                "uint8_t* scratch) and void group_consts(nb, g, float* S, float* Z)");
  const int64_t L = int64_t(hwy::HWY_NAMESPACE::Lanes(DF()));
  const int64_t M = xq.m, N = dec.n(), KP = dec.kp(), G = xq.groups, group = dec.group();
  // K chunk: one scale group at most, so each chunk flushes its int32 sums once. Chunks
  // spanning several short groups (flushing per group inside) measured slower
  // everywhere (AVX3_ZEN4, T = 1, chunks of 256 spanning vs one group: int4 g128 4096^2
  // M = 8 1357 vs 1259 us, M = 32 3508 vs 3308; g64 3200 x 8640 M = 8 2695 vs 2188; LUT
  // unpacked 2-/4-bit M = 128 +3.5 %): the short chunk's panel and X slice stay in L1.
  const int64_t chunk = std::min<int64_t>(kChunk, group);  // == group for integer zero points (group <= 256)
  const int64_t KQ = KP / 4;  // quads per row
  thread_local AlignedBuffer<int32_t> xp_buf;  // X quads, packed per row tile
  pack_rows<kMRU8S8>(reinterpret_cast<const int32_t*>(xq.q.data()), KQ, M, KQ, xp_buf);
  const int32_t* xp_all = xp_buf.data();  // a thread_local is not captured: workers need the pointer
  for_m_blocks<kMBlockU8>(M, [&](int64_t mb, int64_t mc) {
    const int32_t* xp = xp_all + mb * KQ;
    const float* sx = xq.sx.data() + mb * G;
    const float* xs = xq.xs.data() + mb * G;
    parallel_for(dec.blocks(), [&](int64_t nb) {
      const int64_t n0 = nb * 2 * L, ncols = std::min<int64_t>(2 * L, N - n0);
      if (ncols <= 0) return;
      thread_local AlignedBuffer<float> yt_buf;
      thread_local AlignedBuffer<uint8_t> panel_buf;
      float* yt = scratch(yt_buf, size_t(mc * 2 * L));
      uint8_t* panel = scratch(panel_buf, size_t(kChunk / 4 * 8 * L));
      float S[2 * 16], Z[2 * 16];  // per-output group constants, 2L <= 32
      bool have = false;  // as in gemm_f32
      for (int64_t k0 = 0; k0 < KP; k0 += chunk) {
        const int64_t kc = std::min(chunk, KP - k0);
        const U8Panel p = dec.decode_u8(nb, k0, kc, panel);
        if (p.zero) continue;
        const int64_t g = k0 / group;
        dec.group_consts(nb, g, S, Z);
        const bool first = k0 % group == 0;  // the zero-point term, once per group
        for_row_tiles<kMRU8S8>(mc, [&](int64_t m, auto mr) {
          constexpr int h = decltype(mr)::value;
          tile_u8s8<h, kCodeBits>(xp + m * KQ + (k0 / 4) * h, p.p0, p.p1, p.stride, kc / 4, S, Z, sx + m * G + g,
                                  xs + m * G + g, G, first, yt + m * 2 * L, 2 * L, have);
        });
        have = true;
      }
      if (!have) std::fill(yt, yt + mc * 2 * L, 0.0f);
      store_tile(yt, 2 * L, mb, mc, n0, ncols, Y, epi);
    });
  });
}

// Y = X * W^T (+ epilogue) with int8 activations and one integer zero point z for every
// output (block_fp's W+A mode): u8 codes = integer element + z, and per scale group g
//   y = y + float(isum_g - z * qsum_g) * (S_g * sx_g)      (f32, g in order)
// one exact f32 term per group (block_fp/format.hpp). Groups there are short (16-64 k),
// so K chunks of kChunk span several of them and the tile keeps y in registers across
// the chunk's groups (tile_u8s8_groups): with a chunk per group, y's trip through memory
// and the per-group call cost as much as the quad dots. Decoder: as gemm_u8s8's, the
// Z of group_consts unused, plus int zero_point().
template <int kCodeBits, class Decoder>
void gemm_u8s8_int_zero(const Decoder& dec, const QuantizedX& xq, HostView<float> Y, const Epilogue& epi) {
  static_assert(U8Decoder<Decoder>::value, "gemm_u8s8_int_zero: the decoder needs gemm_u8s8's interface");
  const int64_t L = int64_t(hwy::HWY_NAMESPACE::Lanes(DF()));
  const int64_t M = xq.m, N = dec.n(), KP = dec.kp(), G = xq.groups, group = dec.group();
  const int32_t z = dec.zero_point();
  const int64_t chunk = std::max<int64_t>(group, kChunk / group * group);  // whole groups
  const int64_t KQ = KP / 4;
  thread_local AlignedBuffer<int32_t> xp_buf;  // X quads, packed per row tile
  pack_rows<kMRU8S8Groups>(reinterpret_cast<const int32_t*>(xq.q.data()), KQ, M, KQ, xp_buf);
  const int32_t* xp_all = xp_buf.data();  // a thread_local is not captured: workers need the pointer
  for_m_blocks<kMBlockU8>(M, [&](int64_t mb, int64_t mc) {
    const int32_t* xp = xp_all + mb * KQ;
    const float* sx = xq.sx.data() + mb * G;
    const int32_t* qs = xq.qsum.data() + mb * G;
    parallel_for(dec.blocks(), [&](int64_t nb) {
      const int64_t n0 = nb * 2 * L, ncols = std::min<int64_t>(2 * L, N - n0);
      if (ncols <= 0) return;
      thread_local AlignedBuffer<float> yt_buf, s_buf;
      thread_local AlignedBuffer<uint8_t> panel_buf;
      float* yt = scratch(yt_buf, size_t(mc * 2 * L));
      uint8_t* panel = scratch(panel_buf, size_t(chunk / 4 * 8 * L));
      float* S = scratch(s_buf, size_t(chunk / group * 2 * L));  // per group of the chunk: 2L scales
      float Z[2 * 16];                                           // unused (no float zero points)
      for (int64_t k0 = 0; k0 < KP; k0 += chunk) {
        const int64_t kc = std::min(chunk, KP - k0), g0 = k0 / group, ng = kc / group;
        const U8Panel p = dec.decode_u8(nb, k0, kc, panel);
        for (int64_t gg = 0; gg < ng; ++gg) dec.group_consts(nb, g0 + gg, S + gg * 2 * L, Z);
        for_row_tiles<kMRU8S8Groups>(mc, [&](int64_t m, auto mr) {
          constexpr int h = decltype(mr)::value;
          tile_u8s8_groups<h, kCodeBits>(xp + m * KQ + (k0 / 4) * h, p.p0, p.p1, p.stride, group / 4, ng, S,
                                         sx + m * G + g0, G, z, qs + m * G + g0, yt + m * 2 * L, 2 * L, k0 > 0);
        });
      }
      store_tile(yt, 2 * L, mb, mc, n0, ncols, Y, epi);
    });
  });
}

// ----------------------------------------------------------------------------------
// The GEMV skeleton (few rows of X: no panel, codes decoded or looked up in registers).
// One task per strip pair (2L outputs, core/row_tiles.hpp), all of K, so each task
// streams its codes from DRAM once and further rows of X re-read them from L2. The
// family's pair kernel computes, for row m of X and strip pair pr, the pair's 2L sums
// into y (outputs past N included: the last pair may read its last strip twice); the
// skeleton stores them through the epilogue. Families: int_quant gemv_rows, lut GEMV.
template <class PairKernel>
void gemv_pairs(int64_t pairs, int64_t M, HostView<float> Y, const Epilogue& epi, const PairKernel& pair) {
  const int64_t L = int64_t(hwy::HWY_NAMESPACE::Lanes(DF())), N = Y.cols;
  parallel_for(pairs, [&](int64_t pr) {
    const int64_t n0 = pr * 2 * L;
    if (n0 >= N) return;
    HWY_ALIGN float y[2 * 16];
    for (int64_t m = 0; m < M; ++m) {
      pair(m, pr, y);
      store_tile(y, 2 * L, m, 1, n0, std::min<int64_t>(2 * L, N - n0), Y, epi);
    }
  });
}

// Float activations for a GEMV: each row of X zero-padded to kp and followed by its G =
// kp / group per-group sums (row m at out + m * (kp + G)), made once per call since
// every strip-pair task reads them. kp and group: multiples of the f32 lanes.
inline const float* pad_x_with_group_sums(HostView<const float> X, int64_t kp, int64_t group,
                                          AlignedBuffer<float>& buf) {
  namespace hn = hwy::HWY_NAMESPACE;
  const DF df;
  const int64_t L = int64_t(hn::Lanes(df)), M = X.rows, K = X.cols, G = kp / group;
  float* out = scratch(buf, size_t(M * (kp + G)));
  for (int64_t m = 0; m < M; ++m) {
    float* xp = out + m * (kp + G);
    float* xsum = xp + kp;
    std::memcpy(xp, X.row(m), size_t(K) * sizeof(float));
    std::fill(xp + K, xp + kp, 0.0f);
    for (int64_t g = 0; g < G; ++g) {
      auto acc = hn::Zero(df);
      for (int64_t c = g * group; c < (g + 1) * group; c += L) acc = hn::Add(acc, hn::LoadU(df, xp + c));
      xsum[g] = hn::ReduceSum(df, acc);
    }
  }
  return out;
}

// The per-group flush of a GEMV accumulator: y += S * d + C * xs, where d is the
// group's dot product of codes and X (scaled to X's units) and xs the group's sum of X
// (S, C: the weights' w = S * code + C within the group). One rounding order for all.
template <class V>
HWY_INLINE V flush_group(V y, V S, V d, V C, V xs) {
  return hwy::HWY_NAMESPACE::MulAdd(d, S, hwy::HWY_NAMESPACE::MulAdd(C, xs, y));
}

#endif  // LSGEMM_SIMD_KERNELS

}  // namespace HWY_NAMESPACE
}  // namespace simd
}  // namespace lsgemm
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
