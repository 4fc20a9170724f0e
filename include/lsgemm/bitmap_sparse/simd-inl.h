// bitmap_sparse Highway kernels, one copy per SIMD target (re-includable: see DESIGN §4).
//
// Entry: lsgemm::bitmap_sparse::HWY_NAMESPACE::matmul(X, w, Y, epi). Three paths by the
// rows of X and the sparsity (path_rules(), kGemmMinRows, kDensePanelBelow):
//
//   expand (few rows): load sparse, compute dense. Per tile of 64 weights and each L of
//     its lanes, the mask's L bits make a lane mask, the next popcount values go to the
//     masked lanes (LoadExpand: vexpandps / vpexpandd; on AVX2 and SVE by lane ranks,
//     expand_by_rank; bf16 and int8 widened), and one FMA per row of X with x loaded
//     under the same mask (an unstored column's x, even an infinity or a NaN, meets no
//     weight: the reference's sparse definition). One expand serves up to 4 rows of X;
//     empty tiles are skipped. Each task owns a block of rows of W and runs every row of
//     X over it, the rows' values staying in L1, so W streams from DRAM once: two
//     streams, masks and values, front to back, prefetched.
//
//   outer (many rows): skip the zeros (XNNPACK's SpMM direction). X is transposed once
//     per call into blocks of TB = NV L tokens (NV = 1, 2, 4: the fewest vectors that
//     hold the rows); per stored weight w at column k, one broadcast and NV FMAs w * xT[k]
//     into its row's accumulators, 8 / NV rows of W at a time (8 independent
//     accumulators: FMA latency 4 x 2 ports). The rows' stored values as f32 with their
//     columns as offsets into xT are listed once per call (list_groups); K steps of
//     kStepK keep the block's xT slice in L1.
//
//   dense panel (many rows, sparsity < kDensePanelBelow, AVX-512): tiles expanded into
//     the shared GEMM skeleton's f32 panels (core/simd/gemm_driver-inl.h), zeros
//     included, where the outer tile's per-weight loads cost more than the zeros' FMAs.
//
// Roofline, 4096 x 4096 at 80 % sparsity, f32 values: M = 1 reads 13.4 MB of values, 2.1
// MB of masks and 0.25 MB of offsets (7.5 bits per weight, ~0.6 ms at 26 GB/s), and does
// 4 expands and 4 FMAs per tile (262144 tiles; measured ~16 cycles a tile on AVX3_SPR, 1.05
// ms hot: the expands and half the FMAs share port 5). M = 128: 3.4 M stored weights x 128
// tokens = 27 M 16-lane FMAs; per stored weight and 4 L tokens 4 FMAs and 6 loads (the
// column, the broadcast and 4 xT vectors): ~3 cycles at 2 loads a cycle, 67 % of the FMA
// ports' peak on 20 % of a dense product's FMAs. Measured per loop trip (2 weights, 8
// FMAs): ~8 cycles for the tile alone on L1-resident data, ~16 in the call, where xT
// slices and lists come from L2 (the gap is the next thing to close).

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
#include <hwy/cache_control.h>
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

// Rows of X from which the outer-product path runs (below: the expand path, whose
// expanded values serve up to 4 rows of X at a time). The outer tile spends L token lanes
// per stored weight and vector, so it needs rows to fill them. Measured, 4096^2 at 80 %,
// T = 1, hot (expand / outer, ms): AVX3_SPR M = 8 5.0 / 6.7, M = 16 9.9 / 6.8; AVX2 (same
// machine) M = 8 9.5 / 7.7.
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
inline constexpr int64_t kGemmMinRows = 12;
#else
inline constexpr int64_t kGemmMinRows = 8;
#endif
// Below this sparsity (the fraction of weights without a mask bit) many rows take the
// dense-panel path instead of the outer one. Measured at M = 128, 4096^2, T = 1 (outer /
// dense panel, ms): AVX3_SPR density 0.3 26.0 / 36.9, 0.5 33.1 / 36.5, 0.7 42.4 / 37.1;
// AVX2 (-march=haswell on the same machine) the outer path wins at every density up to
// 1.0 (73.0 / 74.1: the panel's emulated expand and transpose cost more there), so
// targets other than AVX-512 keep the outer path.
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
inline constexpr double kDensePanelBelow = 0.4;
#else
inline constexpr double kDensePanelBelow = 0.0;
#endif

#if LSGEMM_SIMD_KERNELS

// Software prefetch distance per stream, in bytes (block_fp's: 32 lines).
inline constexpr int64_t kPrefetchBytes = 2048;

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

// Step j of a tile (its lanes are bits [j, j + L) of the mask m, L <= 16: DF's cap): the
// step's lane bits, and how many of the tile's values come before it. Each step finds
// its values from the tile's start by that count, so the steps do not wait on each other
// (file comment of expand_row).
struct TileStep {
  uint64_t bits;   // the step's L mask bits, lane i = bit i
  int64_t before;  // stored values of the tile at columns below j
};
HWY_INLINE TileStep tile_step(uint64_t m, int64_t j, int64_t L) {
  return {(m >> j) & ((uint64_t(1) << L) - 1), int64_t(hwy::PopCount(m & ((uint64_t(1) << j) - 1)))};
}

// Targets where Highway 1.2's Expand of 32-bit lanes is slow, and the expansion is done
// here instead: the values widened to 32-bit lanes first, then one permutation by each
// set lane's rank popcount(bits & ((1 << i) - 1)) (the unset lanes keep other stored
// values, finite by validate(), or the slack's zeros; they meet x loaded under the mask,
// 0, so no zeroing is needed).
//  - AVX2: Highway keeps the 256-entry index table in a constexpr local that is not
//    static, so every call copies the 1 KB table to the stack (a memcpy in the profile):
//    the GEMV took 17 ms for 4096^2 at 80 % where AVX-512 takes 1. The ranks come from a
//    static table of the same nibble-packed indices, the permutation is vpermps.
//  - SVE, SVE2 (any vector length): Highway expands 8 lanes per loop trip through memory
//    (SVE has no expand instruction); the ranks here are one per-lane popcount (cnt) of
//    the lower mask bits, the permutation one tbl. Under qemu the SVE tester's GEMV
//    cases ran 10x the NEON ones with Highway's loop.
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET_IS_SVE
#define LSGEMM_BS_RANK_EXPAND 1
#if HWY_TARGET == HWY_AVX2
struct Expand8Table {
  uint32_t idx[256];
};
constexpr Expand8Table make_expand8_table() {
  Expand8Table t{};
  for (uint32_t m = 0; m < 256; ++m) {
    uint32_t packed = 0, n = 0;
    for (uint32_t i = 0; i < 8; ++i)
      if ((m >> i) & 1) packed |= (n++) << (4 * i);
    t.idx[m] = packed;
  }
  return t;
}
inline constexpr Expand8Table kExpand8 = make_expand8_table();
#endif

// v's first popcount(bits) lanes moved to the set lanes of `bits` (L <= 16 lanes).
template <class V>
HWY_INLINE V expand_by_rank(V v, uint64_t bits) {
  const hn::DFromV<V> d;
  const hn::RebindToUnsigned<decltype(d)> du;
#if HWY_TARGET == HWY_AVX2
  const auto shifts = hn::Mul(hn::Iota(du, 0), hn::Set(du, 4u));
  const auto idx = hn::And(hn::Shr(hn::Set(du, kExpand8.idx[bits & 0xFF]), shifts), hn::Set(du, 7u));
#else
  const auto below = hn::Sub(hn::Shl(hn::Set(du, 1u), hn::Iota(du, 0)), hn::Set(du, 1u));  // (1 << i) - 1
  const auto idx = hn::PopulationCount(hn::And(hn::Set(du, uint32_t(bits)), below));
#endif
  return hn::TableLookupLanes(v, hn::IndicesFromVec(d, idx));
}
#else
#define LSGEMM_BS_RANK_EXPAND 0
#endif

// The next values of the stream at p, expanded into the lanes of `bits` (0 or, with the
// rank expansion, other finite values elsewhere: the lanes x does not have), as f32
// (int8: the codes, unscaled).
template <ValueType kV>
HWY_INLINE hn::Vec<DF> expand_values(const uint8_t* HWY_RESTRICT p, uint64_t bits) {
  const DF df;
#if LSGEMM_BS_RANK_EXPAND
  // Whole vectors of values (the stream's slack takes the overrun), widened, permuted.
  if constexpr (kV == ValueType::kF32) {
    return expand_by_rank(hn::LoadU(df, reinterpret_cast<const float*>(p)), bits);
  } else if constexpr (kV == ValueType::kBf16) {
    const hn::Rebind<uint16_t, DF> d16;
    const auto u = hn::ShiftLeft<16>(hn::PromoteTo(hn::RebindToUnsigned<DF>(), hn::LoadU(d16, reinterpret_cast<const uint16_t*>(p))));
    return hn::BitCast(df, expand_by_rank(u, bits));
  } else {
    const hn::Rebind<int8_t, DF> d8;
    return hn::ConvertTo(df, expand_by_rank(hn::PromoteTo(DI(), hn::LoadU(d8, reinterpret_cast<const int8_t*>(p))), bits));
  }
#else
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
#endif
}

// Where chunk c of row r starts in the values (clamped to nnz: file comment of format.hpp).
inline const uint8_t* chunk_values(const BitmapSparseMatrix& w, int64_t r, int64_t c) {
  const int64_t i = std::min<int64_t>(int64_t(w.offset(r, c)), w.nnz());
  return w.values.data() + i * w.vbytes();
}

// Row r of W times MR rows of X (row i at x + i * ldx, zero-padded to kp), the expand
// path: out[i] = the sum for row i. Each expanded vector of values serves the MR rows (the
// expand is the costly op: port 5 on Intel), two accumulators per row (MR = 1: four), so
// 4 to 8 FMA chains hide the FMA latency. Int8 values are multiplied by their group's
// scale before the FMA: the format's value s * q (the reference's product; summing q * x
// first could overflow f32 at |x| near its range, where s * q * x does not).
template <int MR, ValueType kV>
HWY_INLINE void expand_row(const BitmapSparseMatrix& w, int64_t r, const float* HWY_RESTRICT x, int64_t ldx,
                           float* HWY_RESTRICT out) {
  static_assert(MR >= 1 && MR <= 4, "MR in [1, 4]: 8 accumulators");
  const DF df;
  const int64_t L = int64_t(hn::Lanes(df)), T = w.tiles(), vb = int64_t(value_bytes(kV));
  const uint64_t* HWY_RESTRICT masks = w.masks.data() + r * T;
  // (MR, 2) f32 partial sums: row i in a(2i), a(2i + 1); MR = 1 uses all four of a0..a3.
  auto a0 = hn::Zero(df), a1 = hn::Zero(df), a2 = hn::Zero(df), a3 = hn::Zero(df);
  auto a4 = hn::Zero(df), a5 = hn::Zero(df), a6 = hn::Zero(df), a7 = hn::Zero(df);
  auto scale = hn::Set(df, 1.0f);  // int8: the scale of the tile's group
  const uint8_t* HWY_RESTRICT p = nullptr;
  const int64_t tiles_per_group = kV == ValueType::kInt8 ? w.group / kTileK : T;
  for (int64_t t = 0; t < T; ++t) {
    if (t % kChunkTiles == 0) p = chunk_values(w, r, t / kChunkTiles);
    if (kV == ValueType::kInt8 && t % tiles_per_group == 0) scale = hn::Set(df, w.scale(r, t / tiles_per_group));
    const uint64_t m = masks[t];
    // Both streams ahead (W comes from DRAM in decode; without, a cold call took the hot
    // time plus the transfer time: compute and memory did not overlap, AVX3_SPR).
    hwy::Prefetch(p + kPrefetchBytes);
    if (t % 8 == 0) hwy::Prefetch(masks + t + kPrefetchBytes / 8);
    if (!m) continue;
    const float* HWY_RESTRICT xt = x + t * kTileK;
    // One L-lane step: expand, then per row mask x and FMA. Each step finds its values from
    // the tile's start by the popcount of the mask's lower bits, so the steps do not wait
    // on each other: advancing the pointer by each step's count (mask -> popcount ->
    // address, ~7 cycles) made a serial chain that held a tile at 28 cycles (AVX3_SPR).
    const auto step = [&](int64_t j, auto& c0, auto& c1, auto& c2, auto& c3) HWY_ATTR {
      const TileStep st = tile_step(m, j, L);
      auto v = expand_values<kV>(p + st.before * vb, st.bits);
      if constexpr (kV == ValueType::kInt8) v = hn::Mul(v, scale);
      const auto lanes = mask_of_bits(df, st.bits);
      c0 = hn::MulAdd(v, hn::MaskedLoad(lanes, df, xt + j), c0);
      if constexpr (MR > 1) c1 = hn::MulAdd(v, hn::MaskedLoad(lanes, df, xt + ldx + j), c1);
      if constexpr (MR > 2) c2 = hn::MulAdd(v, hn::MaskedLoad(lanes, df, xt + 2 * ldx + j), c2);
      if constexpr (MR > 3) c3 = hn::MulAdd(v, hn::MaskedLoad(lanes, df, xt + 3 * ldx + j), c3);
    };
    for (int64_t j = 0; j < kTileK; j += 4 * L) {
      if constexpr (MR == 1) {  // four chains over the tile's four steps
        step(j, a0, a4, a4, a4);
        step(j + L, a1, a4, a4, a4);
        step(j + 2 * L, a2, a4, a4, a4);
        step(j + 3 * L, a3, a4, a4, a4);
      } else {  // rows in a0..a3 for even steps, a4..a7 for odd ones
        step(j, a0, a1, a2, a3);
        step(j + L, a4, a5, a6, a7);
        step(j + 2 * L, a0, a1, a2, a3);
        step(j + 3 * L, a4, a5, a6, a7);
      }
    }
    p += int64_t(hwy::PopCount(m)) * vb;
  }
  if constexpr (MR == 1) {
    out[0] = hn::ReduceSum(df, hn::Add(hn::Add(a0, a1), hn::Add(a2, a3)));
  } else {
    out[0] = hn::ReduceSum(df, hn::Add(a0, a4));
    out[1] = hn::ReduceSum(df, hn::Add(a1, a5));
    if constexpr (MR > 2) out[2] = hn::ReduceSum(df, hn::Add(a2, a6));
    if constexpr (MR > 3) out[3] = hn::ReduceSum(df, hn::Add(a3, a7));
  }
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
    HWY_ALIGN float y[4 * kExpandRows];  // (4, kExpandRows): a row tile's outputs
    float sums[4];
    // Rows of X in tiles of 4, then 2, then 1 (W's rows stay in L1 across the tiles).
    for (int64_t m = 0; m < M;) {
      const int64_t h = M - m >= 4 ? 4 : M - m >= 2 ? 2 : 1;
      for (int64_t i = 0; i < rows; ++i) {
        const float* x = x_all + m * kp;
        if (h == 4) expand_row<4, kV>(w, n0 + i, x, kp, sums);
        else if (h == 2) expand_row<2, kV>(w, n0 + i, x, kp, sums);
        else expand_row<1, kV>(w, n0 + i, x, kp, sums);
        for (int64_t j = 0; j < h; ++j) y[j * kExpandRows + i] = sums[j];
      }
      simd::HWY_NAMESPACE::store_tile(y, kExpandRows, m, h, n0, rows, Y, epi);
      m += h;
    }
  });
}

// ---- The outer-product path ---------------------------------------------------------

inline constexpr int64_t kStepK = 128;  // K step of the outer tile: 2 tiles
inline constexpr int64_t kTaskOuterBlocks = 2;  // outer_rows' loop order (there)

// A task's rows listed for the outer tile, in groups of R = 8 / NV rows (the tile's
// rows). Per group and K step, a block of R lists of `len` entries each (row i's at
// block + i * len): the row's stored values as f32 (int8: the f32 product s * q, the
// format's value) and their columns as offsets into a token block of xT (k * TB floats),
// padded to the longest of the R lists (len) with value 0 at column `pad_col`, a zero
// column of xT. The pad makes the tile's loop one count with no per-row tails (a tail
// runs one accumulator chain: FMA latency-bound); it costs the spread of the R counts.
// Blocks in the tile's order, step-major: block b = s * groups + g at starts[b], its len =
// (starts[b + 1] - starts[b]) / R. So the tile reads the lists front to back and the
// hardware prefetcher streams them (group-major blocks, read step by step, jumped around
// and left each short list's lines to wait on L2).
struct GroupLists {
  AlignedBuffer<float> vals;
  AlignedBuffer<uint32_t> cols;
  std::vector<int64_t> starts;
  std::vector<int64_t> count;  // per (row, step): values of the row in the step
};

// The n values at p (a tile's) as f32 into out, exactly n written (int8: times `scale`).
template <ValueType kV>
HWY_INLINE void decode_values(const uint8_t* HWY_RESTRICT p, int64_t n, float scale, float* HWY_RESTRICT out) {
  const DF df;
  const int64_t L = int64_t(hn::Lanes(df));
  for (int64_t i = 0; i < n; i += L) {
    const size_t m = size_t(std::min(L, n - i));
    hn::Vec<DF> v;
    if constexpr (kV == ValueType::kF32) {
      v = hn::LoadU(df, reinterpret_cast<const float*>(p) + i);  // the stream's slack takes the overrun
    } else if constexpr (kV == ValueType::kBf16) {
      const hn::Rebind<uint16_t, DF> d16;
      const auto h = hn::LoadU(d16, reinterpret_cast<const uint16_t*>(p) + i);
      v = hn::BitCast(df, hn::ShiftLeft<16>(hn::PromoteTo(hn::RebindToUnsigned<DF>(), h)));
    } else {
      const hn::Rebind<int8_t, DF> d8;
      const auto q = hn::LoadU(d8, reinterpret_cast<const int8_t*>(p) + i);
      v = hn::Mul(hn::ConvertTo(df, hn::PromoteTo(DI(), q)), hn::Set(df, scale));
    }
    hn::StoreN(v, df, out + i, m);
  }
}

template <ValueType kV>
void list_groups(const BitmapSparseMatrix& w, int64_t n0, int64_t rows, int64_t R, int64_t TB, uint32_t pad_col,
                 GroupLists& out) {
  const DF df;
  const hn::RebindToUnsigned<DF> du;
  const int64_t L = int64_t(hn::Lanes(df));
  const int64_t T = w.tiles(), S = (T * kTileK + kStepK - 1) / kStepK, TS = kStepK / kTileK;
  const int64_t groups = (rows + R - 1) / R, vb = int64_t(value_bytes(kV));
  // Pass 1: counts per (row, step), from the masks (an object validate() has not seen may
  // hold more mask bits than values: the lists follow the masks, the reads stay in the
  // slack, format.hpp).
  out.count.assign(size_t(groups * R * S), 0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t t = 0; t < T; ++t) out.count[size_t(r * S + t / TS)] += int64_t(hwy::PopCount(w.mask(n0 + r, t)));
  out.starts.assign(size_t(S * groups + 1), 0);
  int64_t total = 0;
  for (int64_t st = 0; st < S; ++st)
    for (int64_t g = 0; g < groups; ++g) {
      out.starts[size_t(st * groups + g)] = total;
      int64_t mx = 0;
      for (int64_t i = 0; i < R; ++i) mx = std::max(mx, out.count[size_t((g * R + i) * S + st)]);
      total += mx * R;
    }
  out.starts[size_t(S * groups)] = total;
  float* vals = simd::HWY_NAMESPACE::scratch(out.vals, size_t(total + 1));
  uint32_t* cols = simd::HWY_NAMESPACE::scratch(out.cols, size_t(total + 1));
  // Pass 2, row by row: the task's values are one stream in the format (read front to
  // back, the hardware prefetcher follows it; step-major reading jumped between 2 L
  // streams and waited on DRAM). Per step, the row's columns (the mask's set bits,
  // compressed from k * TB in every lane) and values, exactly, then the pad.
  const auto iota_tb = hn::Mul(hn::Iota(du, 0), hn::Set(du, uint32_t(TB)));
  const int log2r = R == 8 ? 3 : R == 4 ? 2 : 1;  // lens by shifts: an idiv per list showed in the profile
  for (int64_t r = 0; r < groups * R; ++r) {
    const int64_t g = r / R, i = r % R;
    const uint8_t* p = nullptr;
    for (int64_t st = 0; st < S; ++st) {
      const int64_t b0 = out.starts[size_t(st * groups + g)], len = (out.starts[size_t(st * groups + g + 1)] - b0) >> log2r;
      float* v = vals + b0 + i * len;
      uint32_t* c = cols + b0 + i * len;
      int64_t n = 0;
      for (int64_t t = st * TS; r < rows && t < std::min(T, st * TS + TS); ++t) {
        if (t % kChunkTiles == 0) p = chunk_values(w, n0 + r, t / kChunkTiles);
        const uint64_t m = w.mask(n0 + r, t);
        if (!m) continue;
        // Compress in registers, then a masked store (the native compress-to-memory form is
        // microcoded on Intel: it held this loop at twice the time).
        for (int64_t j = 0; j < kTileK; j += L) {
          const TileStep st = tile_step(m, j, L);
          const auto idx = hn::Add(iota_tb, hn::Set(du, uint32_t((t * kTileK + j) * TB)));
          hn::StoreN(hn::Compress(idx, mask_of_bits(du, st.bits)), du, c + n + st.before,
                     size_t(hwy::PopCount(st.bits)));
        }
        const int64_t cnt = int64_t(hwy::PopCount(m));
        hwy::Prefetch(p + kPrefetchBytes);  // the value stream, ahead (W comes from DRAM)
        decode_values<kV>(p, cnt, kV == ValueType::kInt8 ? w.scale(n0 + r, t * kTileK / w.group) : 1.0f, v + n);
        p += cnt * vb;
        n += cnt;
      }
      std::fill(v + n, v + len, 0.0f);
      std::fill(c + n, c + len, pad_col);
    }
  }
}
static_assert(kChunkK % kStepK == 0, "a K step lies in one offset chunk");

// One group of R = 8 / NV rows of W times a token block of xT (TB = NV L tokens per
// column): R lists of `len` entries (row i's at + i * len, list_groups), added to the
// rows' sums at yT (row i at yT + i * TB). 8 accumulators, acc a = row a / NV, tokens
// [(a % NV) L, + L): per entry of a row one broadcast and NV FMAs with xT vectors.
template <int NV>
HWY_INLINE void outer_group(const float* HWY_RESTRICT vals, const uint32_t* HWY_RESTRICT cols, int64_t len,
                            const float* HWY_RESTRICT xt, float* HWY_RESTRICT yT) {
  static_assert(NV == 1 || NV == 2 || NV == 4, "NV in {1, 2, 4}: 8 accumulators");
  const DF df;
  const int64_t L = int64_t(hn::Lanes(df)), TB = NV * L;
#define LSGEMM_BS_ACC_AT(a) (yT + ((a) / NV) * TB + ((a) % NV) * L)
  auto c0 = hn::Load(df, LSGEMM_BS_ACC_AT(0)), c1 = hn::Load(df, LSGEMM_BS_ACC_AT(1));
  auto c2 = hn::Load(df, LSGEMM_BS_ACC_AT(2)), c3 = hn::Load(df, LSGEMM_BS_ACC_AT(3));
  auto c4 = hn::Load(df, LSGEMM_BS_ACC_AT(4)), c5 = hn::Load(df, LSGEMM_BS_ACC_AT(5));
  auto c6 = hn::Load(df, LSGEMM_BS_ACC_AT(6)), c7 = hn::Load(df, LSGEMM_BS_ACC_AT(7));  // (8, L) f32 sums
  for (int64_t j = 0; j < len; ++j) {
#define LSGEMM_BS_FMA(a)                                                               \
  c##a = hn::MulAdd(hn::Set(df, vals[((a) / NV) * len + j]),                            \
                    hn::Load(df, xt + cols[((a) / NV) * len + j] + ((a) % NV) * L), c##a)
    LSGEMM_BS_FMA(0);
    LSGEMM_BS_FMA(1);
    LSGEMM_BS_FMA(2);
    LSGEMM_BS_FMA(3);
    LSGEMM_BS_FMA(4);
    LSGEMM_BS_FMA(5);
    LSGEMM_BS_FMA(6);
    LSGEMM_BS_FMA(7);
#undef LSGEMM_BS_FMA
  }
  hn::Store(c0, df, LSGEMM_BS_ACC_AT(0));
  hn::Store(c1, df, LSGEMM_BS_ACC_AT(1));
  hn::Store(c2, df, LSGEMM_BS_ACC_AT(2));
  hn::Store(c3, df, LSGEMM_BS_ACC_AT(3));
  hn::Store(c4, df, LSGEMM_BS_ACC_AT(4));
  hn::Store(c5, df, LSGEMM_BS_ACC_AT(5));
  hn::Store(c6, df, LSGEMM_BS_ACC_AT(6));
  hn::Store(c7, df, LSGEMM_BS_ACC_AT(7));
#undef LSGEMM_BS_ACC_AT
}

// The outer path with token blocks of NV L tokens (NV = 1, 2, 4 by the rows of X: the
// fewest lanes that hold them, so few rows waste few lanes).
template <ValueType kV, int NV>
void outer_rows(HostView<const float> X, const BitmapSparseMatrix& w, HostView<float> Y, const Epilogue& epi) {
  const DF df;
  const int64_t L = int64_t(hn::Lanes(df)), TB = NV * L, R = 8 / NV;
  const int64_t M = X.rows, N = w.n, K = w.k, kp = w.kp(), S = (kp + kStepK - 1) / kStepK;
  const int64_t blocks = (M + TB - 1) / TB, cols = kp + 1;  // + a zero column: the lists' pad
  // X transposed per token block: block b at xt + b * cols * TB, column k at + k * TB
  // (tokens past M and columns past K are 0).
  thread_local AlignedBuffer<float> xt_buf;
  float* xt_all = simd::HWY_NAMESPACE::scratch(xt_buf, size_t(blocks * cols * TB));
  parallel_for(blocks, [&](int64_t b) {
    float* xt = xt_all + b * cols * TB;
    std::fill(xt, xt + cols * TB, 0.0f);
    for (int64_t i = 0; i < std::min(TB, M - b * TB); ++i) {
      const float* x = X.row(b * TB + i);
      for (int64_t k = 0; k < K; ++k) xt[k * TB + i] = x[k];
    }
  });
  const float* xts = xt_all;
  const int64_t RT = 2 * L;  // rows of W per task: store_tile's width (a multiple of R)
  const int64_t tasks = (N + RT - 1) / RT;
  // One task's lists times one token block of xT into Y.
  const auto block_of_task = [&](const GroupLists& lists, int64_t task, int64_t b) {
    const int64_t n0 = task * RT, rows = std::min(RT, N - n0), groups = (rows + R - 1) / R;
    const int64_t mc = std::min(TB, M - b * TB);
    const float* xt = xts + b * cols * TB;
    thread_local AlignedBuffer<float> yT_buf, yt_buf;
    float* yT = simd::HWY_NAMESPACE::scratch(yT_buf, size_t(RT * TB));  // (row, token) sums
    float* yt = simd::HWY_NAMESPACE::scratch(yt_buf, size_t(TB * RT));  // (token, row): store_tile's
    std::fill(yT, yT + RT * TB, 0.0f);
    for (int64_t st = 0; st < S; ++st)
      for (int64_t g = 0; g < groups; ++g) {
        const int64_t e0 = lists.starts[size_t(st * groups + g)], e1 = lists.starts[size_t(st * groups + g + 1)];
        outer_group<NV>(lists.vals.data() + e0, lists.cols.data() + e0, (e1 - e0) / R, xt, yT + g * R * TB);
      }
    for (int64_t i = 0; i < mc; ++i)
      for (int64_t r = 0; r < RT; ++r) yt[i * RT + r] = yT[r * TB + i];
    simd::HWY_NAMESPACE::store_tile(yt, RT, b * TB, mc, n0, rows, Y, epi);
  };
  const auto make_lists = [&](int64_t task, GroupLists& lists) {
    const int64_t n0 = task * RT;
    list_groups<kV>(w, n0, std::min(RT, N - n0), R, TB, uint32_t(kp * TB), lists);
  };
  // Loop order by the token blocks (measured at 4096^2, 80 %, AVX3_SPR, T = 1):
  //  - up to kTaskOuterBlocks blocks, each task makes its lists and runs every block: the
  //    lists stay in L2 (M = 64 9.7 ms, M = 128 19.4 ms; all lists made first, 8 bytes per
  //    stored weight written out and read back per block: 16.3 and 22.6 ms);
  //  - beyond, all lists first, then one pass over the tasks per block: the block's xT
  //    (kp x TB floats) stays in L2 while every task reads it, where a task running every
  //    block walked all of xT (M x K floats) from L3 (M = 512 79.4 -> 55.5 ms).
  if (blocks <= kTaskOuterBlocks) {
    parallel_for(tasks, [&](int64_t task) {
      thread_local GroupLists lists;
      make_lists(task, lists);
      for (int64_t b = 0; b < blocks; ++b) block_of_task(lists, task, b);
    });
    return;
  }
  thread_local std::vector<GroupLists> lists_buf;
  if (lists_buf.size() < size_t(tasks)) lists_buf.resize(size_t(tasks));
  GroupLists* lists_all = lists_buf.data();
  parallel_for(tasks, [&](int64_t task) { make_lists(task, lists_all[task]); });
  for (int64_t b = 0; b < blocks; ++b)
    parallel_for(tasks, [&](int64_t task) { block_of_task(lists_all[task], task, b); });
}

// ---- The dense-panel path ------------------------------------------------------------

// The decoder of the shared GEMM skeleton (core/simd/gemm_driver-inl.h): a K chunk of 2 L
// rows of W expanded to a dense f32 panel, zeros included, for the dense register tiles.
// At low sparsity the outer tile's broadcast and index loads per stored weight cost more
// than the zeros' FMAs (file comment of matmul_typed: the crossover).
template <ValueType kV>
struct DensePanelDecoder {
  const BitmapSparseMatrix& w;
  int64_t L;
  int64_t n() const { return w.n; }
  int64_t k() const { return w.k; }
  int64_t kp() const { return w.kp(); }
  int64_t blocks() const { return (w.n + 2 * L - 1) / (2 * L); }
  // panel[(k - k0) * 2L + c] = w[nb 2L + c][k] for k0 <= k < k0 + kc (kc: a multiple of
  // 64, k0 of 256: chunks start at an offset). Rows expand into a row-major scratch,
  // then one transpose into the panel. False when every weight of the chunk is 0.
  bool decode_f32(int64_t nb, int64_t k0, int64_t kc, float* HWY_RESTRICT panel) const {
    const DF df;
    const int64_t R = 2 * L, t0 = k0 / kTileK, nt = kc / kTileK, vb = int64_t(value_bytes(kV));
    thread_local AlignedBuffer<float> rows_buf;
    float* tmp = simd::HWY_NAMESPACE::scratch(rows_buf, size_t(R * kc));  // (row, k) of the chunk
    bool any = false;
    for (int64_t c = 0; c < R; ++c) {
      float* out = tmp + c * kc;
      const int64_t r = nb * R + c;
      if (r >= w.n) {
        std::fill(out, out + kc, 0.0f);
        continue;
      }
      const uint8_t* p = chunk_values(w, r, t0 / kChunkTiles);
      for (int64_t t = t0; t < t0 + nt; ++t) {
        const uint64_t m = w.mask(r, t);
        any |= m != 0;
        const float scale = kV == ValueType::kInt8 ? w.scale(r, t * kTileK / w.group) : 1.0f;
        for (int64_t j = 0; j < kTileK; j += L) {
          const TileStep st = tile_step(m, j, L);
          auto v = expand_values<kV>(p + st.before * vb, st.bits);
          if constexpr (kV == ValueType::kInt8) v = hn::Mul(v, hn::Set(df, scale));
#if LSGEMM_BS_RANK_EXPAND
          v = hn::IfThenElseZero(mask_of_bits(df, st.bits), v);  // the panel's zeros are real
#endif
          hn::StoreU(v, df, out + (t - t0) * kTileK + j);
        }
        p += int64_t(hwy::PopCount(m)) * vb;
      }
    }
    if (!any) return false;
    for (int64_t k = 0; k < kc; ++k)
      for (int64_t c = 0; c < R; ++c) panel[k * R + c] = tmp[c * kc + k];
    return true;
  }
};
static_assert(simd::HWY_NAMESPACE::kChunk % kChunkK == 0, "the skeleton's K chunks start at an offset chunk");

// Whether every element of X is finite (x * 0 is NaN exactly for Inf and NaN).
inline bool all_finite(HostView<const float> X) {
  const DF df;
  const int64_t L = int64_t(hn::Lanes(df));
  auto bad = hn::Zero(df);
  for (int64_t m = 0; m < X.rows; ++m) {
    const float* x = X.row(m);
    int64_t k = 0;
    for (; k + L <= X.cols; k += L) bad = hn::Add(bad, hn::Mul(hn::LoadU(df, x + k), hn::Zero(df)));
    if (k < X.cols) bad = hn::Add(bad, hn::Mul(hn::LoadN(df, x + k, size_t(X.cols - k)), hn::Zero(df)));
  }
  return hn::AllFalse(df, hn::IsNaN(bad));
}

template <ValueType kV>
void matmul_typed(HostView<const float> X, const BitmapSparseMatrix& w, HostView<float> Y, const Epilogue& epi) {
  // The dense panel multiplies every weight, zeros included, and a zero times an
  // infinite or NaN x is NaN where the format's definition (only stored values) has a
  // number: X with such a value takes the outer path (one pass over X to know).
  if (X.rows >= kGemmMinRows && w.sparsity() < kDensePanelBelow && all_finite(X)) {
    lsgemm::detail::note_path(Path::kBitmapSparseDensePanel);
    return simd::HWY_NAMESPACE::gemm_f32(DensePanelDecoder<kV>{w, int64_t(hn::Lanes(DF()))}, X, Y, epi);
  }
  if (X.rows >= kGemmMinRows) {
    lsgemm::detail::note_path(Path::kBitmapSparseOuter);
    const int64_t L = int64_t(hn::Lanes(DF()));
    if (X.rows <= L) return outer_rows<kV, 1>(X, w, Y, epi);
    if (X.rows <= 2 * L) return outer_rows<kV, 2>(X, w, Y, epi);
    return outer_rows<kV, 4>(X, w, Y, epi);
  }
  lsgemm::detail::note_path(Path::kBitmapSparseExpand);
  expand_rows<kV>(X, w, Y, epi);
}

#endif  // LSGEMM_SIMD_KERNELS

// This target's dispatch table (lsgemm::dispatch_table() lists it with the others).
inline std::vector<PathRule> path_rules() {
#if LSGEMM_SIMD_KERNELS
  std::vector<PathRule> r = {
      {Path::kBitmapSparseExpand, 1, kGemmMinRows, "few rows: values expanded by their masks, dense FMAs"},
      {Path::kBitmapSparseOuter, kGemmMinRows, kAnyRows,
       kDensePanelBelow > 0 ? "many rows, sparsity >= 40 %: per stored weight, FMAs over 1-4 L tokens"
                            : "many rows: per stored weight, FMAs over 1-4 L tokens"}};
  if (kDensePanelBelow > 0)
    r.push_back({Path::kBitmapSparseDensePanel, kGemmMinRows, kAnyRows,
                 "many rows, sparsity < 40 %: tiles expanded into dense panels, the shared dense tiles"});
  return r;
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

#undef LSGEMM_BS_RANK_EXPAND  // per target: the next target's pass decides anew

}  // namespace HWY_NAMESPACE
}  // namespace bitmap_sparse
}  // namespace lsgemm
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
