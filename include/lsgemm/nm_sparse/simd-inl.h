// nm_sparse Highway kernels, one copy per SIMD target (re-includable: see DESIGN §4).
//
// Entry: lsgemm::nm_sparse::HWY_NAMESPACE::matmul(X, w, Y, epi). One path for every M
// (path_rules()): nothing is decoded to dense form, so the bytes read are the packed
// ones and the FMAs are the non-zeros' (N/M of a dense product's). Each task owns a strip
// pair (2L rows of W) and sweeps register tiles of rows of X over all of K: per run,
// each row's M x values are one vector (its table; two on 128-bit targets with M = 8),
// each slot's L positions come out of the index words with a shift and a mask (once for
// the tile's rows) and pick every row's x from its table (TableLookupLanes: vpermps),
// one FMA with the L values per row. Tiles of 1 row (the GEMV, which prefetches its
// DRAM stream) up to kMRGather rows; the pair's packed bytes stay in L2 across them.
//
// Measured against the alternative of scattering the slots into dense f32 panels for
// the shared GEMM skeleton (4096^2, T = 1, f32 values): the gather was faster at every
// M from 1 to 512 and every pattern, on AVX3 (2:4 M = 128 18.7 vs 36.1 ms, M = 512 65 vs
// 111 ms) and AVX2 (2:4 M = 128 57 vs 77 ms, 4:8 38 vs 55 ms), so there is no crossover
// to record and no dense path. Tried too and not kept: outer products over tokens
// (XNNPACK's SpMM direction: X of 64 tokens transposed once, per non-zero a broadcast and
// 4 FMAs on whole token vectors, no lookup): 1.5-2x slower than the gather at M = 64 to
// 512 (4096^2, AVX3, a first version with K chunks of 1024 in L2).
//
// Roofline, 4096 x 4096 2:4 f32. M = 1: 35.7 MB of values and index words per call, ~1.4
// ms at the ~25 GB/s one Zen 4 core streams; per slot and L rows ~5 ops (shift, mask,
// lookup, FMA, the value load) for 4L bytes of values. M = 128: 2^26 16-lane FMAs (half a
// dense product's) and as many lookups, the register tile's only other work being MR
// table loads per run and two index extractions per slot.
// Int values (int8 / int4 with f16 group scales): the codes converted to f32 and
// multiplied by the group's scale, the same f32 product as the format's value, so the
// results differ from the reference by summation order only. Not here yet: the u8 x s8
// quad-dot path with X quantized to int8.

#if defined(LSGEMM_NM_SPARSE_SIMD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LSGEMM_NM_SPARSE_SIMD_INL_H_
#undef LSGEMM_NM_SPARSE_SIMD_INL_H_
#else
#define LSGEMM_NM_SPARSE_SIMD_INL_H_
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "lsgemm/core/hwy_config.hpp"  // before Highway
#include <hwy/cache_control.h>
#include <hwy/highway.h>

#include "lsgemm/core/epilogue.hpp"
#include "lsgemm/core/error.hpp"
#include "lsgemm/core/matrix.hpp"
#include "lsgemm/core/numeric.hpp"
#include "lsgemm/core/parallel.hpp"
#include "lsgemm/core/path.hpp"
#include "lsgemm/core/row_tiles.hpp"
#include "lsgemm/nm_sparse/format.hpp"
#include "lsgemm/nm_sparse/reference.hpp"
// Re-included per target together with this file:
#include "lsgemm/core/simd/gemm_tile-inl.h"
#include "lsgemm/core/simd/gemm_driver-inl.h"

HWY_BEFORE_NAMESPACE();
namespace lsgemm {
namespace nm_sparse {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using namespace simd::HWY_NAMESPACE::tags;  // NOLINT: DF, DI, DU, DU8, DI8 (core/simd)

// GEMV prefetch distance per stream, in bytes (block_fp's: 32 lines of 64 bytes).
inline constexpr int64_t kPrefetchBytes = 2048;

// Rows of X per gather tile: 2 MR accumulators and MR (kTwo: 2 MR) tables in registers.
#if (HWY_ARCH_X86 && HWY_TARGET > HWY_AVX3) || HWY_TARGET == HWY_EMU128 || HWY_TARGET == HWY_SCALAR
inline constexpr int kMRGather = 3;  // 16 registers
#else
inline constexpr int kMRGather = 6;  // 32 registers
#endif

#if LSGEMM_SIMD_KERNELS

// L values of one slot (f32, bf16 widened exactly, int codes converted; int4: the low
// nibbles for an even slot, the high ones for an odd slot).
template <ValueType kV>
HWY_INLINE hn::Vec<DF> load_values(const uint8_t* p, int64_t slot) {
  const DF df;
  if constexpr (kV == ValueType::kInt8 || kV == ValueType::kInt4) {
    const hn::Rebind<int8_t, DF> d8;
    const auto i = hn::PromoteTo(DI(), hn::LoadU(d8, reinterpret_cast<const int8_t*>(p)));
    if constexpr (kV == ValueType::kInt8) return hn::ConvertTo(df, i);
    return hn::ConvertTo(df, (slot & 1) ? hn::ShiftRight<4>(i) : hn::ShiftRight<28>(hn::ShiftLeft<28>(i)));
  } else if constexpr (kV == ValueType::kBf16) {
    const hn::Rebind<uint16_t, DF> d16;
    const auto u = hn::PromoteTo(DU(), hn::LoadU(d16, reinterpret_cast<const uint16_t*>(p)));
    return hn::BitCast(df, hn::ShiftLeft<16>(u));
  } else {
    return hn::LoadU(df, reinterpret_cast<const float*>(p));
  }
}

// One strip of L rows: its values (slot s at + s * 16 * vb; int4: slot pair s / 2 at
// + (s / 2) * 16), index words (word i at + i * 16) and int scales (group g at + g * 16).
struct Strip {
  const uint8_t* values;
  const uint32_t* words;
  const uint16_t* scales;
};

inline Strip strip_at(const NmSparseMatrix& w, int64_t s, int64_t L) {
  const StripPos p = strip_pos(s, L);
  return {w.values.data() + size_t(p.tile * w.tile_value_bytes() + p.row * w.vbytes()),
          w.indices.data() + size_t(p.tile * w.words() * kTileRows + p.row),
          w.ints() ? strip_consts(w.scales.data(), p, w.groups()) : nullptr};
}

// The byte offset of slot s's L values from a strip's first value byte.
template <ValueType kV>
HWY_INLINE int64_t slot_offset(int64_t s) {
  if constexpr (kV == ValueType::kInt4) return (s / 2) * kTileRows;
  return s * kTileRows * (kV == ValueType::kF32 ? 4 : kV == ValueType::kBf16 ? 2 : 1);
}

// Int values: the f32 scales of group g of a strip (f16 in the format); others: unused.
template <ValueType kV>
HWY_INLINE hn::Vec<DF> group_scales(const Strip& st, int64_t g) {
  const DF df;
  if constexpr (kV == ValueType::kInt8 || kV == ValueType::kInt4) {
    const hn::Rebind<hwy::float16_t, DF> dh;
    return hn::PromoteTo(df, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(st.scales + g * kTileRows)));
  } else {
    (void)st;
    (void)g;
    return hn::Set(df, 1.0f);
  }
}

// Expands X(i) for the tile's rows i = 0..5 (each guarded by MR > i where used).
#define LSGEMM_NM_ROWS6(X) X(0) X(1) X(2) X(3) X(4) X(5)

// Register tile: MR rows of X x one strip pair (2L rows of W), all of K. Per run, each
// row's M x values are one vector (kTwo: two, L < M), the table of that row; per slot,
// the strips' L positions come out of the index words with a shift and a mask (once for
// all MR rows) and pick each row's x from its table, one FMA with the L values. x: row i
// at x + i * ldx, padded with zeros to kp + 2L; y: row i at y + i * ldy, 2L outputs.
template <int MR, ValueType kV, bool kTwo>
HWY_INLINE void gather_tile(const NmSparseMatrix& w, const Strip& s0, const Strip& s1, const float* HWY_RESTRICT x,
                            int64_t ldx, float* HWY_RESTRICT y, int64_t ldy) {
  static_assert(MR >= 1 && MR <= 6, "MR in [1, 6]");
  const DF df;
  const DU du;
  const DI di;
  const size_t L = hn::Lanes(df);
  const int M = w.run, Nz = w.nnz, R = w.rpw(), b = index_bits(M);
  constexpr bool kInts = kV == ValueType::kInt8 || kV == ValueType::kInt4;
  const int64_t word_bytes = slot_offset<kV>(int64_t(R) * Nz), runs_per_group = kInts ? w.group / M : 1;
  const auto mask = hn::Set(du, (1u << b) - 1u);
  using V = hn::Vec<DF>;
  V sc0 = hn::Set(df, 1.0f), sc1 = sc0;  // int values: the group's scales
  // Per row i of the tile: accumulators a0_i, a1_i (the two strips) and the run's tables
  // tl_i (th_i: the second one, kTwo). Named variables, not arrays: SVE vectors are
  // sizeless and cannot be array elements (and GCC kept x86 arrays on the stack).
#define LSGEMM_NM_DECL(i) V a0_##i = hn::Zero(df), a1_##i = a0_##i, tl_##i = a0_##i, th_##i = a0_##i;
  LSGEMM_NM_ROWS6(LSGEMM_NM_DECL)
#undef LSGEMM_NM_DECL
  for (int64_t wi = 0; wi < w.words(); ++wi) {
    if constexpr (MR == 1) {  // the GEMV streams the weights from DRAM: prefetch them
      const int64_t ahead = (wi + 1) * word_bytes + kPrefetchBytes;
      for (int64_t o = 0; o < word_bytes; o += 64) {
        hwy::Prefetch(s0.values + ahead + o);
        hwy::Prefetch(s1.values + ahead + o);
      }
    }
    const auto w0 = hn::LoadU(du, s0.words + wi * kTileRows), w1 = hn::LoadU(du, s1.words + wi * kTileRows);
    for (int u = 0; u < R; ++u) {
      const int64_t run = wi * R + u;
      if (kInts && run % runs_per_group == 0) {
        sc0 = group_scales<kV>(s0, run / runs_per_group);
        sc1 = group_scales<kV>(s1, run / runs_per_group);
      }
#define LSGEMM_NM_TABLES(i)                                                  \
  if constexpr (MR > i) {                                                    \
    tl_##i = hn::LoadU(df, x + i * ldx + run * M);                           \
    if constexpr (kTwo) th_##i = hn::LoadU(df, x + i * ldx + run * M + L);   \
  }
      LSGEMM_NM_ROWS6(LSGEMM_NM_TABLES)
#undef LSGEMM_NM_TABLES
      for (int j = 0; j < Nz; ++j) {
        const int sh = b * (u * Nz + j);
        const auto q0 = hn::IndicesFromVec(df, hn::BitCast(di, hn::And(hn::ShiftRightSame(w0, sh), mask)));
        const auto q1 = hn::IndicesFromVec(df, hn::BitCast(di, hn::And(hn::ShiftRightSame(w1, sh), mask)));
        const int64_t slot = run * Nz + j, off = slot_offset<kV>(slot);
        V v0 = load_values<kV>(s0.values + off, slot), v1 = load_values<kV>(s1.values + off, slot);
        if constexpr (kInts) {  // w = s * q, the f32 product of the format
          v0 = hn::Mul(sc0, v0);
          v1 = hn::Mul(sc1, v1);
        }
#define LSGEMM_NM_FMA(i)                                                                      \
  if constexpr (MR > i) {                                                                     \
    if constexpr (kTwo) {                                                                     \
      a0_##i = hn::MulAdd(v0, hn::TwoTablesLookupLanes(df, tl_##i, th_##i, q0), a0_##i);     \
      a1_##i = hn::MulAdd(v1, hn::TwoTablesLookupLanes(df, tl_##i, th_##i, q1), a1_##i);     \
    } else {                                                                                  \
      a0_##i = hn::MulAdd(v0, hn::TableLookupLanes(tl_##i, q0), a0_##i);                     \
      a1_##i = hn::MulAdd(v1, hn::TableLookupLanes(tl_##i, q1), a1_##i);                     \
    }                                                                                         \
  }
        LSGEMM_NM_ROWS6(LSGEMM_NM_FMA)
#undef LSGEMM_NM_FMA
      }
    }
  }
#define LSGEMM_NM_STORE(i)                      \
  if constexpr (MR > i) {                       \
    hn::StoreU(a0_##i, df, y + i * ldy);        \
    hn::StoreU(a1_##i, df, y + i * ldy + L);    \
  }
  LSGEMM_NM_ROWS6(LSGEMM_NM_STORE)
#undef LSGEMM_NM_STORE
}

// The gather path, every M: X padded once (rows of kp + 2L: the last run's table reads
// past kp), then one task per strip pair, register tiles of kMRGather rows over all of K
// (the pair's packed bytes stay in L2 across a task's row tiles).
template <ValueType kV, bool kTwo>
void gather_rows(HostView<const float> X, const NmSparseMatrix& w, HostView<float> Y, const Epilogue& epi) {
  const int64_t M = X.rows, L = int64_t(hn::Lanes(DF())), KP = w.kp, ld = KP + 2 * L;
  const int64_t strips = strip_count(w.tiles(), L);
  thread_local AlignedBuffer<float> xpad_buf;
  float* xpad = simd::HWY_NAMESPACE::scratch(xpad_buf, size_t(M * ld));
  parallel_for(M, [&](int64_t m) {
    std::memcpy(xpad + m * ld, X.row(m), size_t(X.cols) * sizeof(float));
    std::fill(xpad + m * ld + X.cols, xpad + (m + 1) * ld, 0.0f);
  });
  const float* xp = xpad;  // a thread_local is not captured: workers need the pointer
  parallel_for(strip_pairs(w.tiles(), L), [&](int64_t pr) {
    const int64_t n0 = pr * 2 * L, ncols = std::min<int64_t>(2 * L, w.n - n0);
    if (ncols <= 0) return;
    // An odd strip count: the last pair reads its strip twice, outputs past N dropped.
    const Strip s0 = strip_at(w, 2 * pr, L), s1 = strip_at(w, std::min(2 * pr + 1, strips - 1), L);
    HWY_ALIGN float yt[kMRGather * 2 * 16];
    simd::HWY_NAMESPACE::for_row_tiles<kMRGather>(M, [&](int64_t m, auto mr) {
      constexpr int h = decltype(mr)::value;
      gather_tile<h, kV, kTwo>(w, s0, s1, xp + m * ld, ld, yt, 2 * L);
      simd::HWY_NAMESPACE::store_tile(yt, 2 * L, m, h, n0, ncols, Y, epi);
    });
  });
}

template <ValueType kV>
void gather(HostView<const float> X, const NmSparseMatrix& w, HostView<float> Y, const Epilogue& epi) {
  if (int64_t(hn::Lanes(DF())) >= w.run) return gather_rows<kV, false>(X, w, Y, epi);
  gather_rows<kV, true>(X, w, Y, epi);
}

#undef LSGEMM_NM_ROWS6
#endif  // LSGEMM_SIMD_KERNELS

// This target's dispatch table (lsgemm::dispatch_table() lists it with the others).
inline std::vector<PathRule> path_rules() {
#if LSGEMM_SIMD_KERNELS
  return {{Path::kNmSparseGather, 1, kAnyRows, "every pattern and value type"}};
#else
  return {{Path::kNmSparseReference, 1, kAnyRows, LSGEMM_NO_KERNELS_REASON}};
#endif
}

// Y = X * W^T (+ epilogue).
inline void matmul(HostView<const float> X, const NmSparseMatrix& w, HostView<float> Y, const Epilogue& epi = {}) {
  lsgemm::detail::check_matmul_shapes(X, w.n, w.k, Y);
  detail::check_packed(w, "nm_sparse::matmul");
  if (X.rows == 0) return;
#if !LSGEMM_SIMD_KERNELS
  lsgemm::detail::note_path(Path::kNmSparseReference);  // core/simd/kernels.hpp
  reference::matmul(X, w, Y, epi);
#else
  lsgemm::detail::note_path(Path::kNmSparseGather);
  switch (w.values_type) {
    case ValueType::kBf16: return gather<ValueType::kBf16>(X, w, Y, epi);
    case ValueType::kInt8: return gather<ValueType::kInt8>(X, w, Y, epi);
    case ValueType::kInt4: return gather<ValueType::kInt4>(X, w, Y, epi);
    default: return gather<ValueType::kF32>(X, w, Y, epi);
  }
#endif
}

}  // namespace HWY_NAMESPACE
}  // namespace nm_sparse
}  // namespace lsgemm
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
