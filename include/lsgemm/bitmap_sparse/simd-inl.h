// bitmap_sparse Highway kernels, one copy per SIMD target (re-includable: see DESIGN §4).
//
// Entry: lsgemm::bitmap_sparse::HWY_NAMESPACE::matmul(X, w, Y, epi). Two paths by the
// rows of X (path_rules(), kGemmMinRows):
//
//   expand (few rows): load sparse, compute dense. Per tile of 64 weights and each L of
//     its lanes, the mask's L bits make a lane mask, LoadExpand puts the next popcount
//     values in the masked lanes (vexpandps; bf16 and int8 widened after), and one FMA
//     with x, loaded under the same mask (an unstored column's x, even an infinity or a
//     NaN, meets no weight: the reference's sparse definition). Per tile 64 / L expands
//     and FMAs into 4 accumulators; empty tiles are skipped. Each task owns a block of
//     rows of W and runs every row of X over it, the row's values staying in L1, so W
//     streams from DRAM once: two streams, masks and values, front to back.
//
//   outer (many rows): skip the zeros (XNNPACK's SpMM direction). X is transposed once
//     per call into blocks of kTokens = 4 L tokens, (k, 4 L) per block; per stored weight
//     w at column k, one broadcast and 4 FMAs w * xT[k] into 4 L tokens of its row's
//     accumulators, two rows of W at a time (8 independent accumulators: FMA latency 4 x
//     2 ports). A task first lists its rows' stored values as f32 with their columns as
//     offsets into xT (a pre-pass, reused by every token block); K steps of kStepK keep the
//     block's xT slice (kStepK x 4 L floats: 32 KB on AVX-512) in L1.
//
// Roofline, 4096 x 4096 at 80 % sparsity, f32 values: M = 1 reads 13.4 MB of values, 2.1
// MB of masks and 0.25 MB of offsets (7.5 bits per weight, ~0.6 ms at 26 GB/s), and does
// 4 expands and 4 FMAs per tile (262144 tiles, ~0.35 ms at one expand per cycle on port 5
// at 3 GHz). M = 128: 3.4 M stored weights x 128 tokens = 0.86 GFMA, i.e. per stored weight
// and 4 L tokens 4 FMAs and 5 loads (the broadcast and 4 xT vectors): ~2.5 cycles, 80 % of
// the FMA ports' peak on 20 % of a dense product's FMAs.

#if defined(LSGEMM_BITMAP_SPARSE_SIMD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LSGEMM_BITMAP_SPARSE_SIMD_INL_H_
#undef LSGEMM_BITMAP_SPARSE_SIMD_INL_H_
#else
#define LSGEMM_BITMAP_SPARSE_SIMD_INL_H_
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "lsgemm/core/hwy_config.hpp"  // before Highway
#include <hwy/highway.h>

#include "lsgemm/bitmap_sparse/format.hpp"
#include "lsgemm/bitmap_sparse/reference.hpp"
#include "lsgemm/core/buffer.hpp"
#include "lsgemm/core/epilogue.hpp"
#include "lsgemm/core/matrix.hpp"
#include "lsgemm/core/parallel.hpp"
#include "lsgemm/core/path.hpp"
#include "lsgemm/core/simd/gemm_driver-inl.h"
#include "lsgemm/core/simd/gemm_tile-inl.h"
#include "lsgemm/core/simd/kernels.hpp"

HWY_BEFORE_NAMESPACE();
namespace lsgemm {
namespace bitmap_sparse {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using simd::HWY_NAMESPACE::DF;
using simd::HWY_NAMESPACE::DI;

// Rows of X from which the outer-product path runs (below: the expand path). The outer
// tile spends 4 L token lanes per stored weight, so it needs rows to fill them.
inline constexpr int64_t kGemmMinRows = 8;

#if LSGEMM_SIMD_KERNELS

// Rows of W per expand task: a row of 4096 f32 weights at 80 % sparsity is 3.3 KB of
// values, so 16 rows stay in L1 across the rows of X.
inline constexpr int64_t kExpandRows = 16;

// The lane mask of the low Lanes(d) bits of `bits` (lane i: bit i).
template <class D>
HWY_INLINE hn::MFromD<D> mask_of_bits(D d, uint64_t bits) {
  uint8_t b[8];
  std::memcpy(b, &bits, 8);  // little-endian: lane i is bit i of byte i / 8
  return hn::LoadMaskBits(d, b);
}

// The next L values of the stream at p, expanded into the lanes of `bits` (0 elsewhere),
// as f32 (int8: the codes, unscaled).
template <ValueType kV>
HWY_INLINE hn::Vec<DF> expand_values(const uint8_t* HWY_RESTRICT p, uint64_t bits) {
  const DF df;
  if constexpr (kV == ValueType::kF32) {
    return hn::LoadExpand(mask_of_bits(df, bits), df, reinterpret_cast<const float*>(p));
  } else if constexpr (kV == ValueType::kBf16) {
    const hn::Rebind<uint16_t, DF> d16;
    const hn::RebindToUnsigned<DF> du;
    const auto h = hn::LoadExpand(mask_of_bits(d16, bits), d16, reinterpret_cast<const uint16_t*>(p));
    return hn::BitCast(df, hn::ShiftLeft<16>(hn::PromoteTo(du, h)));
  } else {
    const hn::Rebind<int8_t, DF> d8;
    const auto q = hn::LoadExpand(mask_of_bits(d8, bits), d8, reinterpret_cast<const int8_t*>(p));
    return hn::ConvertTo(df, hn::PromoteTo(DI(), q));
  }
}

// Where chunk c of row r starts in the values (clamped to nnz: file comment of format.hpp).
inline const uint8_t* chunk_values(const BitmapSparseMatrix& w, int64_t r, int64_t c) {
  const int64_t i = std::min<int64_t>(int64_t(w.offset(r, c)), w.nnz());
  return w.values.data() + i * w.vbytes();
}

// Row r of W times one row of X (x: zero-padded to kp), the expand path. Returns the sum.
// Int8 values are multiplied by their group's scale before the FMA: the format's value s *
// q (the reference's product; summing q * x first could overflow f32 at |x| near its
// range, where s * q * x does not).
template <ValueType kV>
HWY_INLINE float expand_row(const BitmapSparseMatrix& w, int64_t r, const float* HWY_RESTRICT x) {
  const DF df;
  const int64_t L = int64_t(hn::Lanes(df)), T = w.tiles(), vb = int64_t(value_bytes(kV));
  const uint64_t lane_bits = L == 64 ? ~uint64_t(0) : (uint64_t(1) << L) - 1;
  const uint64_t* HWY_RESTRICT masks = w.masks.data() + r * T;
  auto a0 = hn::Zero(df), a1 = hn::Zero(df), a2 = hn::Zero(df), a3 = hn::Zero(df);  // 4 (L) f32 partial sums
  auto scale = hn::Set(df, 1.0f);  // int8: the scale of the tile's group
  const uint8_t* HWY_RESTRICT p = nullptr;
  const int64_t tiles_per_group = kV == ValueType::kInt8 ? w.group / kTileK : T;
  for (int64_t t = 0; t < T; ++t) {
    if (t % kChunkTiles == 0) p = chunk_values(w, r, t / kChunkTiles);
    if (kV == ValueType::kInt8 && t % tiles_per_group == 0) scale = hn::Set(df, w.scale(r, t / tiles_per_group));
    const uint64_t m = masks[t];
    if (!m) continue;
    const float* HWY_RESTRICT xt = x + t * kTileK;
    // One L-lane step: expand, mask x, FMA into acc; the stream moves by the step's popcount.
    const auto step = [&](auto& acc, int64_t j) HWY_ATTR {
      const uint64_t bits = (m >> j) & lane_bits;
      auto v = expand_values<kV>(p, bits);
      if constexpr (kV == ValueType::kInt8) v = hn::Mul(v, scale);
      acc = hn::MulAdd(v, hn::MaskedLoad(mask_of_bits(df, bits), df, xt + j), acc);
      p += int64_t(hwy::PopCount(bits)) * vb;
    };
    for (int64_t j = 0; j < kTileK; j += 4 * L) {
      step(a0, j);
      step(a1, j + L);
      step(a2, j + 2 * L);
      step(a3, j + 3 * L);
    }
  }
  return hn::ReduceSum(df, hn::Add(hn::Add(a0, a1), hn::Add(a2, a3)));
}

template <ValueType kV>
void expand_rows(HostView<const float> X, const BitmapSparseMatrix& w, HostView<float> Y, const Epilogue& epi) {
  const int64_t M = X.rows, N = w.n, K = w.k, kp = w.kp();
  thread_local AlignedBuffer<float> xbuf;
  float* xp = simd::HWY_NAMESPACE::scratch(xbuf, size_t(M * kp));  // X rows zero-padded to kp
  for (int64_t m = 0; m < M; ++m) {
    std::memcpy(xp + m * kp, X.row(m), size_t(K) * sizeof(float));
    std::fill(xp + m * kp + K, xp + (m + 1) * kp, 0.0f);
  }
  const float* x_all = xp;
  parallel_for((N + kExpandRows - 1) / kExpandRows, [&](int64_t task) {
    const int64_t n0 = task * kExpandRows, rows = std::min(kExpandRows, N - n0);
    HWY_ALIGN float y[kExpandRows];
    for (int64_t m = 0; m < M; ++m) {
      for (int64_t i = 0; i < rows; ++i) y[i] = expand_row<kV>(w, n0 + i, x_all + m * kp);
      simd::HWY_NAMESPACE::store_tile(y, kExpandRows, m, 1, n0, rows, Y, epi);
    }
  });
}

// ---- The outer-product path ---------------------------------------------------------

inline constexpr int64_t kStepK = 128;  // K step of the outer tile: 2 tiles

// A task's rows listed for the outer tile: per row, its stored values as f32 (int8: the
// f32 product s * q, the format's value) and each one's column as an offset into a token
// block of xT (k * 4 L floats); starts[r * (S + 1) + s] = the row's first entry of K step s.
struct RowLists {
  AlignedBuffer<float> vals;
  AlignedBuffer<uint32_t> cols;
  std::vector<int64_t> starts;
};

template <ValueType kV>
void list_rows(const BitmapSparseMatrix& w, int64_t n0, int64_t rows, int64_t tokens, RowLists& out) {
  const int64_t T = w.tiles(), S = (T * kTileK + kStepK - 1) / kStepK, vb = int64_t(value_bytes(kV));
  // The masks may hold more values than the offsets say in an object validate() has not
  // seen: size the lists by the masks' count.
  int64_t count = 0;
  for (int64_t r = n0; r < n0 + rows; ++r)
    for (int64_t t = 0; t < T; ++t) count += int64_t(hwy::PopCount(w.mask(r, t)));
  float* vals = simd::HWY_NAMESPACE::scratch(out.vals, size_t(count + 1));
  uint32_t* cols = simd::HWY_NAMESPACE::scratch(out.cols, size_t(count + 1));
  out.starts.assign(size_t(rows * (S + 1)), 0);
  int64_t i = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* p = nullptr;
    for (int64_t t = 0; t < T; ++t) {
      if (t % kChunkTiles == 0) p = chunk_values(w, n0 + r, t / kChunkTiles);
      if ((t * kTileK) % kStepK == 0) out.starts[size_t(r * (S + 1) + t * kTileK / kStepK)] = i;
      for (uint64_t m = w.mask(n0 + r, t); m; m &= m - 1) {
        const int64_t k = t * kTileK + int64_t(hwy::Num0BitsBelowLS1Bit_Nonzero64(m));
        float v;
        if constexpr (kV == ValueType::kF32) {
          std::memcpy(&v, p, 4);
        } else if constexpr (kV == ValueType::kBf16) {
          uint16_t b;
          std::memcpy(&b, p, 2);
          v = bf16_to_f32(b);
        } else {
          v = w.scale(n0 + r, k / w.group) * float(int8_t(*p));
        }
        p += vb;
        vals[i] = v;
        cols[i] = uint32_t(k * tokens);
        ++i;
      }
    }
    out.starts[size_t(r * (S + 1) + S)] = i;
  }
}

// Two rows of W (lists a and b, na and nb entries) times a token block of xT (4 L tokens
// per column), added to their accumulators ya, yb (4 L floats each).
HWY_INLINE void outer_pair(const float* HWY_RESTRICT va, const uint32_t* HWY_RESTRICT ca, int64_t na,
                           const float* HWY_RESTRICT vb, const uint32_t* HWY_RESTRICT cb, int64_t nb,
                           const float* HWY_RESTRICT xt, float* HWY_RESTRICT ya, float* HWY_RESTRICT yb) {
  const DF df;
  const int64_t L = int64_t(hn::Lanes(df));
  auto a0 = hn::Load(df, ya), a1 = hn::Load(df, ya + L), a2 = hn::Load(df, ya + 2 * L), a3 = hn::Load(df, ya + 3 * L);
  auto b0 = hn::Load(df, yb), b1 = hn::Load(df, yb + L), b2 = hn::Load(df, yb + 2 * L), b3 = hn::Load(df, yb + 3 * L);
  const int64_t both = std::min(na, nb);
  const auto fma4 = [&](float v, uint32_t col, auto& c0, auto& c1, auto& c2, auto& c3) HWY_ATTR {
    const auto wv = hn::Set(df, v);
    const float* HWY_RESTRICT x = xt + col;
    c0 = hn::MulAdd(wv, hn::Load(df, x), c0);
    c1 = hn::MulAdd(wv, hn::Load(df, x + L), c1);
    c2 = hn::MulAdd(wv, hn::Load(df, x + 2 * L), c2);
    c3 = hn::MulAdd(wv, hn::Load(df, x + 3 * L), c3);
  };
  int64_t j = 0;
  for (; j < both; ++j) {
    fma4(va[j], ca[j], a0, a1, a2, a3);
    fma4(vb[j], cb[j], b0, b1, b2, b3);
  }
  for (int64_t i = j; i < na; ++i) fma4(va[i], ca[i], a0, a1, a2, a3);
  for (int64_t i = j; i < nb; ++i) fma4(vb[i], cb[i], b0, b1, b2, b3);
  hn::Store(a0, df, ya);
  hn::Store(a1, df, ya + L);
  hn::Store(a2, df, ya + 2 * L);
  hn::Store(a3, df, ya + 3 * L);
  hn::Store(b0, df, yb);
  hn::Store(b1, df, yb + L);
  hn::Store(b2, df, yb + 2 * L);
  hn::Store(b3, df, yb + 3 * L);
}

template <ValueType kV>
void outer_rows(HostView<const float> X, const BitmapSparseMatrix& w, HostView<float> Y, const Epilogue& epi) {
  const DF df;
  const int64_t L = int64_t(hn::Lanes(df)), TB = 4 * L;  // tokens per block
  const int64_t M = X.rows, N = w.n, K = w.k, kp = w.kp(), S = (kp + kStepK - 1) / kStepK;
  const int64_t blocks = (M + TB - 1) / TB;
  // X transposed per token block: block b at xt + b * kp * TB, column k at + k * TB
  // (tokens past M and columns past K are 0).
  thread_local AlignedBuffer<float> xt_buf;
  float* xt_all = simd::HWY_NAMESPACE::scratch(xt_buf, size_t(blocks * kp * TB));
  parallel_for(blocks, [&](int64_t b) {
    float* xt = xt_all + b * kp * TB;
    std::fill(xt, xt + kp * TB, 0.0f);
    for (int64_t i = 0; i < std::min(TB, M - b * TB); ++i) {
      const float* x = X.row(b * TB + i);
      for (int64_t k = 0; k < K; ++k) xt[k * TB + i] = x[k];
    }
  });
  const float* xts = xt_all;
  const int64_t R = 2 * L;  // rows of W per task: store_tile's width
  parallel_for((N + R - 1) / R, [&](int64_t task) {
    const int64_t n0 = task * R, rows = std::min(R, N - n0);
    thread_local RowLists lists;
    thread_local AlignedBuffer<float> yT_buf, yt_buf;
    list_rows<kV>(w, n0, rows, TB, lists);
    // (row, token) sums, and one spare row: an odd last row pairs with an empty list whose
    // sums go there (pairing it with itself would store its old sums over its new ones).
    float* yT = simd::HWY_NAMESPACE::scratch(yT_buf, size_t((R + 1) * TB));
    float* yt = simd::HWY_NAMESPACE::scratch(yt_buf, size_t(TB * R));  // (token, row): store_tile's
    const auto n_at = [&](int64_t r, int64_t s) { return lists.starts[size_t(r * (S + 1) + s)]; };
    for (int64_t b = 0; b < blocks; ++b) {
      std::fill(yT, yT + (R + 1) * TB, 0.0f);
      const float* xt = xts + b * kp * TB;
      for (int64_t s = 0; s < S; ++s)
        for (int64_t r = 0; r < rows; r += 2) {
          const bool pair = r + 1 < rows;
          const int64_t a0 = n_at(r, s), a1 = n_at(r, s + 1);
          const int64_t b0 = pair ? n_at(r + 1, s) : 0, b1 = pair ? n_at(r + 1, s + 1) : 0;
          outer_pair(lists.vals.data() + a0, lists.cols.data() + a0, a1 - a0, lists.vals.data() + b0,
                     lists.cols.data() + b0, b1 - b0, xt, yT + r * TB, yT + (pair ? r + 1 : R) * TB);
        }
      const int64_t mc = std::min(TB, M - b * TB);
      for (int64_t i = 0; i < mc; ++i)
        for (int64_t r = 0; r < R; ++r) yt[i * R + r] = yT[r * TB + i];
      simd::HWY_NAMESPACE::store_tile(yt, R, b * TB, mc, n0, rows, Y, epi);
    }
  });
}

template <ValueType kV>
void matmul_typed(HostView<const float> X, const BitmapSparseMatrix& w, HostView<float> Y, const Epilogue& epi) {
  if (X.rows >= kGemmMinRows) {
    lsgemm::detail::note_path(Path::kBitmapSparseOuter);
    return outer_rows<kV>(X, w, Y, epi);
  }
  lsgemm::detail::note_path(Path::kBitmapSparseExpand);
  expand_rows<kV>(X, w, Y, epi);
}

#endif  // LSGEMM_SIMD_KERNELS

// This target's dispatch table (lsgemm::dispatch_table() lists it with the others).
inline std::vector<PathRule> path_rules() {
#if LSGEMM_SIMD_KERNELS
  return {{Path::kBitmapSparseExpand, 1, kGemmMinRows, "few rows: values expanded by their masks, dense FMAs"},
          {Path::kBitmapSparseOuter, kGemmMinRows, kAnyRows, "many rows: per stored weight, FMAs over 4 L tokens"}};
#else
  return {{Path::kBitmapSparseReference, 1, kAnyRows, LSGEMM_NO_KERNELS_REASON}};
#endif
}

// Y = X * W^T (+ epilogue).
inline void matmul(HostView<const float> X, const BitmapSparseMatrix& w, HostView<float> Y, const Epilogue& epi = {}) {
  lsgemm::detail::check_matmul_shapes(X, w.n, w.k, Y);
  detail::check_packed(w, "bitmap_sparse::matmul");
  if (X.rows == 0) return;
#if !LSGEMM_SIMD_KERNELS
  lsgemm::detail::note_path(Path::kBitmapSparseReference);  // core/simd/kernels.hpp
  reference::matmul(X, w, Y, epi);
#else
  switch (w.values_type) {
    case ValueType::kBf16: return matmul_typed<ValueType::kBf16>(X, w, Y, epi);
    case ValueType::kInt8: return matmul_typed<ValueType::kInt8>(X, w, Y, epi);
    default: return matmul_typed<ValueType::kF32>(X, w, Y, epi);
  }
#endif
}

}  // namespace HWY_NAMESPACE
}  // namespace bitmap_sparse
}  // namespace lsgemm
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
