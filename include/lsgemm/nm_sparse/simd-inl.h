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
// Int values (int8 / int4 with f16 group scales), float activations: the codes converted
// to f32 and multiplied by the group's scale, the same f32 product as the format's
// value, so the results differ from the reference by summation order only.
//
// Int values, int8 activations (act = kInt8): X quantized once per call per weight group
// (core quantize_x_int8), then per group an exact int32 sum of code * xq and one f32
// term y += isum * (s * sx). Two kernels, with the same group sums and the same f32
// epilogue, so they agree bit for bit:
//   quad dot (x86 with AVX-512 VBMI + VNNI, patterns whose index word holds whole quads
//     of slots, R * N % 4 == 0: all but 3:8, 5:8, 6:8, 7:8): per quad of slots the
//     positions of 16 rows become byte indices in one vpmultishiftqb (+ and, + the runs'
//     offsets), which pick each row's 4 x bytes from the word's 64 x bytes (vpermb;
//     x as u8 = xq + 128), one vpdpbusd with the 4 codes (s8); the 128 * sum(codes) that
//     the u8 offset adds is one more vpdpbusd per quad and strip, shared by the tile's
//     rows. 64 products in 2 ops per row of X (the lookup and the dot) where the f32
//     gather needs 8. AVX2, AVX-512 without VBMI, NEON and SVE, N:4 patterns: 16-byte x
//     windows and pshufb (tbl), x kept signed; x86 vpsignb + vpmaddubsw, NEON smull +
//     sadalp, SVE sdot (kVbmi, kOffsetX below). A task with several row tiles makes its strip
//     pair's indices and codes once (QuadOps).
//   elsewhere the f32 gather above with xq and the codes as floats: products and group
//     sums are integers below 2^24 (224 slots * 127 * 127 at most), exact in f32.

#if defined(LSGEMM_NM_SPARSE_SIMD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LSGEMM_NM_SPARSE_SIMD_INL_H_
#undef LSGEMM_NM_SPARSE_SIMD_INL_H_
#else
#define LSGEMM_NM_SPARSE_SIMD_INL_H_
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>
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

// L values of one slot (f32, bf16 widened exactly, int codes converted). Ints: p holds
// the strip's quad words (4 bytes per row); the slot's code is byte slot % 4 of each, in
// the low (int4: slot % 8 < 4) or high nibble, sign-extended by two shifts.
template <ValueType kV>
HWY_INLINE hn::Vec<DF> load_values(const uint8_t* p, int64_t slot) {
  const DF df;
  if constexpr (kV == ValueType::kInt8 || kV == ValueType::kInt4) {
    constexpr int kBits = kV == ValueType::kInt8 ? 8 : 4;
    const int lsb = 8 * int(slot & 3) + (kV == ValueType::kInt4 ? 4 * int((slot >> 2) & 1) : 0);
    const auto v = hn::LoadU(DI(), reinterpret_cast<const int32_t*>(p));
    return hn::ConvertTo(df, hn::ShiftRightSame(hn::ShiftLeftSame(v, 32 - kBits - lsb), 32 - kBits));
  } else if constexpr (kV == ValueType::kBf16) {
    const hn::Rebind<uint16_t, DF> d16;
    const auto u = hn::PromoteTo(DU(), hn::LoadU(d16, reinterpret_cast<const uint16_t*>(p)));
    return hn::BitCast(df, hn::ShiftLeft<16>(u));
  } else {
    return hn::LoadU(df, reinterpret_cast<const float*>(p));
  }
}

// One strip of L rows: its values (slot s at + slot_offset(s)), index words (word i at +
// i * 16) and int scales (group g at + g * 16).
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

// The byte offset of slot s's L values from a strip's first value byte (ints: of the
// 64-byte block of the slot's quad words).
template <ValueType kV>
HWY_INLINE int64_t slot_offset(int64_t s) {
  if constexpr (kV == ValueType::kInt8) return (s / 4) * kTileRows * 4;
  if constexpr (kV == ValueType::kInt4) return (s / 8) * kTileRows * 4;
  return s * kTileRows * (kV == ValueType::kF32 ? 4 : 2);
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

// Int8 activations, the end of a group: y += isum * (s * sx) for L outputs at y (isum:
// the group's exact sums as f32, s: the strips' scales, sx: the row's X scale).
HWY_INLINE void flush_group_sums(hn::Vec<DF> isum, hn::Vec<DF> s, float sx, float* y) {
  const DF df;
  hn::StoreU(hn::MulAdd(isum, hn::Mul(s, hn::Set(df, sx)), hn::LoadU(df, y)), df, y);
}

// The GEMV's software prefetch: the values of word wi + 1, kPrefetchBytes further ahead.
HWY_INLINE void prefetch_next_word(const Strip& s0, const Strip& s1, int64_t wi, int64_t word_bytes) {
  const int64_t ahead = (wi + 1) * word_bytes + kPrefetchBytes;
  for (int64_t o = 0; o < word_bytes; o += 64) {
    hwy::Prefetch(s0.values + ahead + o);
    hwy::Prefetch(s1.values + ahead + o);
  }
  // The index words, a third of an int4 weight's bytes: one line per word, as far ahead.
  const int64_t words_ahead = 1 + kPrefetchBytes / std::max<int64_t>(word_bytes, 64);
  hwy::Prefetch(s0.words + (wi + words_ahead) * kTileRows);
  hwy::Prefetch(s1.words + (wi + words_ahead) * kTileRows);
}

// Rows [0, mr) of a tile's output (2L floats at y + i * ldy) set to 0.
HWY_INLINE void zero_rows(int mr, float* y, int64_t ldy) {
  const DF df;
  for (int i = 0; i < mr; ++i) {
    hn::StoreU(hn::Zero(df), df, y + i * ldy);
    hn::StoreU(hn::Zero(df), df, y + i * ldy + hn::Lanes(df));
  }
}

// Expands X(i) for the tile's rows i = 0..5 (each guarded by MR > i where used).
#define LSGEMM_NM_ROWS6(X) X(0) X(1) X(2) X(3) X(4) X(5)

// Register tile: MR rows of X x one strip pair (2L rows of W), all of K. Per run, each
// row's M x values are one vector (kTwo: two, L < M), the table of that row; per slot,
// the strips' L positions come out of the index words with a shift and a mask (once for
// all MR rows) and pick each row's x from its table, one FMA with the L values. x: row i
// at x + i * ldx, padded with zeros to kp + 2L; y: row i at y + i * ldy, 2L outputs.
// kAct8 (int8 activations): x holds xq as floats, the codes stay unscaled, and at the end
// of each group the exact sums go to y as y += isum * (s * sx) (sx: row i's group g at
// sx[i * ldsx + g]), the quad-dot tile's epilogue. kDecoded (with kAct8): the strips'
// values are the codes as f32 (decode_strip_values), their scales still the format's.
template <int MR, ValueType kV, bool kTwo, bool kAct8 = false, bool kDecoded = false>
HWY_INLINE void gather_tile(const NmSparseMatrix& w, const Strip& s0, const Strip& s1, const float* HWY_RESTRICT x,
                            int64_t ldx, float* HWY_RESTRICT y, int64_t ldy, const float* sx = nullptr,
                            int64_t ldsx = 0) {
  static_assert(MR >= 1 && MR <= 6, "MR in [1, 6]");
  const DF df;
  const DU du;
  const DI di;
  const size_t L = hn::Lanes(df);
  const int M = w.run, Nz = w.nnz, R = w.rpw(), b = index_bits(M);
  constexpr bool kInts = kV == ValueType::kInt8 || kV == ValueType::kInt4;
  static_assert(kInts || !kAct8, "int8 activations need int values");
  static_assert(kAct8 || !kDecoded, "decoded values: the int8-activation tile only");
  constexpr ValueType kLoad = kDecoded ? ValueType::kF32 : kV;  // how the values are stored
  const int64_t word_bytes = slot_offset<kLoad>(int64_t(R) * Nz);
  // Runs per group, a power of two (group and M are): the tests below are masks, not
  // divisions (a 64-bit idiv per word cost the GEMV a sixth of its time).
  const int64_t group_runs_mask = kInts ? w.group / M - 1 : 0;
  const int group_runs_log2 = kInts ? hwy::FloorLog2(uint32_t(w.group / M)) : 0;
  const auto mask = hn::Set(du, (1u << b) - 1u);
  using V = hn::Vec<DF>;
  V sc0 = hn::Set(df, 1.0f), sc1 = sc0;  // int values: the group's scales
  // Per row i of the tile: accumulators a0_i, a1_i (the two strips) and the run's tables
  // tl_i (th_i: the second one, kTwo). Named variables, not arrays: SVE vectors are
  // sizeless and cannot be array elements (and GCC kept x86 arrays on the stack).
#define LSGEMM_NM_DECL(i) V a0_##i = hn::Zero(df), a1_##i = a0_##i, tl_##i = a0_##i, th_##i = a0_##i;
  LSGEMM_NM_ROWS6(LSGEMM_NM_DECL)
#undef LSGEMM_NM_DECL
  if constexpr (kAct8) {
    zero_rows(MR, y, ldy);
  }
  for (int64_t wi = 0, words = w.words(); wi < words; ++wi) {  // words(): two divisions
    if constexpr (MR == 1) prefetch_next_word(s0, s1, wi, word_bytes);  // the GEMV streams W from DRAM
    const auto w0 = hn::LoadU(du, s0.words + wi * kTileRows), w1 = hn::LoadU(du, s1.words + wi * kTileRows);
    for (int u = 0; u < R; ++u) {
      const int64_t run = wi * R + u;
      if (kInts && !kAct8 && (run & group_runs_mask) == 0) {
        sc0 = group_scales<kV>(s0, run >> group_runs_log2);
        sc1 = group_scales<kV>(s1, run >> group_runs_log2);
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
        const int64_t slot = run * Nz + j, off = slot_offset<kLoad>(slot);
        V v0 = load_values<kLoad>(s0.values + off, slot), v1 = load_values<kLoad>(s1.values + off, slot);
        if constexpr (kInts && !kAct8) {  // w = s * q, the f32 product of the format
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
    if constexpr (kAct8) {
      if ((((wi + 1) * R) & group_runs_mask) == 0) {  // a group ends with this word
        const int64_t g = (((wi + 1) * R) >> group_runs_log2) - 1;
        sc0 = group_scales<kV>(s0, g);
        sc1 = group_scales<kV>(s1, g);
#define LSGEMM_NM_FLUSH(i)                                                \
  if constexpr (MR > i) {                                                 \
    flush_group_sums(a0_##i, sc0, sx[i * ldsx + g], y + i * ldy);         \
    flush_group_sums(a1_##i, sc1, sx[i * ldsx + g], y + i * ldy + L);     \
    a0_##i = hn::Zero(df);                                                \
    a1_##i = a0_##i;                                                      \
  }
        LSGEMM_NM_ROWS6(LSGEMM_NM_FLUSH)
#undef LSGEMM_NM_FLUSH
      }
    }
  }
  if constexpr (!kAct8) {
#define LSGEMM_NM_STORE(i)                      \
  if constexpr (MR > i) {                       \
    hn::StoreU(a0_##i, df, y + i * ldy);        \
    hn::StoreU(a1_##i, df, y + i * ldy + L);    \
  }
    LSGEMM_NM_ROWS6(LSGEMM_NM_STORE)
#undef LSGEMM_NM_STORE
  }
}

#if (HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2) || (HWY_ARCH_ARM_A64 && ((HWY_TARGET & HWY_ALL_NEON) || HWY_TARGET_IS_SVE))
#define LSGEMM_NM_QUAD_DOT 1
// Two flavours of the quad gather (file comment). kVbmi (AVX-512 VBMI + VNNI): a word's
// 64 x bytes are each row's table, indices by vpmultishiftqb, lookups by vpermb, dots
// by vpdpbusd with x as u8 (xq + 128) and the 128 * sum(codes) it adds subtracted per
// group (kOffsetX). Otherwise (AVX2, AVX-512 without VBMI, NEON, SVE), the N:4 patterns (2:4,
// 1:4, 3:4): a quad's x lie within 16 bytes, so each row's table is that window
// broadcast to every 128-bit block and the lookup is a pshufb (tbl); the quad's four
// 2-bit fields (one byte of the index word) are spread to bytes by pshufb, and,
// vpmaddubsw, vpmaddwd (5 ops; Arm: tbl, ushl / lsr, and); x stays s8. x86: the dot is
// vpmaddubsw(|code|, x with the code's sign: vpsignb) + vpmaddwd, exact for int8 codes
// too (pairs: 2 * 127 * 127 < 2^15), no correction; Arm multiplies s8 by s8 directly
// (NEON smull + sadalp, SVE sdot).
inline constexpr bool kVbmi = HWY_TARGET <= HWY_AVX3_DL;
inline constexpr bool kOffsetX = kVbmi;  // x bytes as xq + 128 (else xq)

// Rows of X per quad-dot tile: 2 MR accumulators and MR x tables in registers, beside
// the two strips' codes, byte indices, corrections and the quad's constants.
inline constexpr int kMRQuad = kVbmi ? 4 : 3;

// Per quad q of an index word's slots (4q .. 4q + 3) and 16 rows (byte i: row i / 4,
// slot 4q + i % 4):
//   ctl  kVbmi: the vpmultishiftqb control that moves the slot's position field to the
//        low bits of its byte (row r's word is half r % 2 of a 64-bit lane: bit offset
//        32 (r % 2) + b (4q + j)); else the pshufb control that copies byte q of the
//        row's word (the quad's 4 fields) into each of its 4 bytes
//   off  the byte offset of the slot's run from the row's table start: the word's first
//        k (kVbmi) or the quad's window, win[q] = M * (4q / N) from the word's first k
struct QuadConsts {
  HWY_ALIGN uint8_t ctl[4][64];
  HWY_ALIGN uint8_t off[4][64];
  int64_t win[4];
  int quads = 0;           // per index word: R * N / 4
  uint8_t field_mask = 3;  // 2^b - 1
};

inline bool quad_dot_ok(const NmSparseMatrix& w) {
  if ((w.rpw() * w.nnz) % 4 != 0) return false;
  if (hn::Lanes(DU8()) > 64) return false;  // scalable vectors past 512 bits: QuadOps' slots hold 64 bytes
  return kVbmi || w.run == 4;
}

inline void make_quad_consts(const NmSparseMatrix& w, QuadConsts& c) {
  const int b = index_bits(w.run);
  c.quads = w.rpw() * w.nnz / 4;
  c.field_mask = uint8_t((1 << b) - 1);
  for (int q = 0; q < c.quads; ++q) {
    c.win[q] = kVbmi ? 0 : w.run * (4 * q / w.nnz);
    for (int i = 0; i < 64; ++i) {
      const int t = 4 * q + i % 4;  // the slot within the word
      c.ctl[q][i] = uint8_t(kVbmi ? 32 * ((i / 4) % 2) + b * t : 4 * ((i / 4) % 4) + q);
      c.off[q][i] = uint8_t(w.run * (t / w.nnz) - c.win[q]);
    }
  }
}

// Quad q's byte indices for the rows of index words iw (u32 lanes): position + offset.
HWY_INLINE hn::Vec<DU8> quad_byte_indices(hn::Vec<DU8> iw, const QuadConsts& c, int q) {
  const DU8 du8;
#if HWY_TARGET <= HWY_AVX3_DL
  const hn::Vec<DU8> f{_mm512_multishift_epi64_epi8(hn::Load(du8, c.ctl[q]).raw, iw.raw)};
  // The run offsets are multiples of M = 2^b, so or-ing them in adds them: one vpternlogd
  // for the mask and the offset.
  return hn::OrAnd(hn::Load(du8, c.off[q]), f, hn::Set(du8, c.field_mask));
#elif HWY_ARCH_ARM_A64
  // b = 2: the quad's byte (fields f0..f3) in each of the row's 4 bytes, byte j shifted
  // right by 2j (NEON ushl by a negative count, SVE lsr) and masked: f_j. Both constants
  // repeat every 16 bytes, so any vector length reads them from their first block.
  alignas(16) static constexpr uint8_t kFieldShift[16] = {0, 2, 4, 6, 0, 2, 4, 6, 0, 2, 4, 6, 0, 2, 4, 6};
  const auto rep = hn::TableLookupBytes(iw, hn::LoadDup128(du8, c.ctl[q]));
  const auto fields = hn::And(hn::Shr(rep, hn::LoadDup128(du8, kFieldShift)), hn::Set(du8, c.field_mask));
  return hn::Add(fields, hn::LoadDup128(du8, c.off[q]));
#else
  // b = 2: the fields f0..f3 of the quad's byte, in each of the row's 4 bytes, masked to
  // f_j << 2j in byte j; vpmaddubsw by (1, 64) makes 16-bit f0 + 256 f1 and 16 (f2 +
  // 256 f3), vpmaddwd by (1, 4096) the 32-bit f0 + 2^8 f1 + 2^16 f2 + 2^24 f3.
  const DI8 di8;
  const hn::Repartition<int16_t, DU8> di16;
  const DI di;
  const auto rep = hn::TableLookupBytes(iw, hn::Load(du8, c.ctl[q]));
  const auto fields = hn::And(rep, hn::BitCast(du8, hn::Set(di, int32_t(0xC0300C03u))));
  const auto pairs = hn::SatWidenMulPairwiseAdd(di16, fields, hn::BitCast(di8, hn::Set(di16, int16_t(64 << 8 | 1))));
  const auto spread = hn::WidenMulPairwiseAdd(di, pairs, hn::BitCast(di16, hn::Set(di, int32_t(4096 << 16 | 1))));
  return hn::Add(hn::BitCast(du8, spread), hn::Load(du8, c.off[q]));
#endif
}

// Quad gq's codes of a strip as s8. kVbmi int4: 16 q, the nibble moved to the byte's top
// (high nibble: an and; low nibble: a 16-bit shift by 4, then the and) is 16 q in two's
// complement, one or two ops where a sign extension through a byte table takes three;
// the sums are then 16 times the codes' (exact: |16 * isum| < 2^23), and the group's
// flush divides by 16 exactly (kCodeScale). Otherwise int4 as q (vpmaddubsw's int16
// pair sums hold 2 * 127 * 7, not 16 times that): the nibble through a sign table.
template <ValueType kV>
inline constexpr float kCodeScale = kV == ValueType::kInt4 && kVbmi ? 16.0f : 1.0f;

template <ValueType kV>
HWY_INLINE hn::Vec<DI8> quad_codes(const uint8_t* values, int64_t gq) {
  const DI8 di8;
  const DU8 du8;
  const hn::Repartition<uint16_t, DU8> du16;
  if constexpr (kV == ValueType::kInt8) {
    return hn::LoadU(di8, reinterpret_cast<const int8_t*>(values + gq * 64));
  } else if constexpr (kVbmi) {
    auto v = hn::LoadU(du8, values + (gq / 2) * 64);
    if (!(gq & 1)) v = hn::BitCast(du8, hn::ShiftLeft<4>(hn::BitCast(du16, v)));
    return hn::BitCast(di8, hn::And(v, hn::Set(du8, uint8_t{0xF0})));
  } else {
    auto v = hn::LoadU(du8, values + (gq / 2) * 64);
    if (gq & 1) v = hn::BitCast(du8, hn::ShiftRight<4>(hn::BitCast(du16, v)));
    alignas(16) static constexpr int8_t kSext[16] = {0, 1, 2, 3, 4, 5, 6, 7, -8, -7, -6, -5, -4, -3, -2, -1};
    return hn::TableLookupBytes(hn::LoadDup128(di8, kSext), hn::BitCast(di8, hn::And(v, hn::Set(du8, uint8_t{15}))));
  }
}

// The row's x bytes for one quad: its table (kVbmi: a word's 64 bytes; else the quad's
// 16-byte window in every block) looked up at the byte indices.
HWY_INLINE hn::Vec<DU8> lookup_x(hn::Vec<DU8> table, hn::Vec<DU8> ix) {
#if HWY_TARGET <= HWY_AVX3_DL
  return hn::TableLookupLanes(table, hn::IndicesFromVec(DU8(), ix));
#else
  return hn::TableLookupBytes(table, ix);
#endif
}

// The quad dot of x bytes and codes: kOffsetX, u8 x s8 (vpdpbusd); else |code| as u8
// times x with the code's sign (vpsignb; where the code is 0 the product is 0 whatever
// the sign gives), vpmaddubsw + vpmaddwd, exact: |x|, |code| <= 127.
template <ValueType kV>
HWY_INLINE hn::Vec<DI> dot_x_codes(hn::Vec<DU8> x, hn::Vec<DI8> codes, hn::Vec<DI> acc) {
  if constexpr (kOffsetX) {
    return simd::HWY_NAMESPACE::quad_dot<8, false>(DI(), x, codes, acc);
  } else if constexpr (HWY_ARCH_ARM_A64) {
    // quad_dot of operands below 2^7 multiplies them as s8 on Arm (smull / sdot): the
    // codes' own bits times x, no sign trick.
    return simd::HWY_NAMESPACE::quad_dot<7, true>(DI(), hn::BitCast(DU8(), codes), hn::BitCast(DI8(), x), acc);
  } else {
    const auto signed_x = hn::IfNegativeThenNegOrUndefIfZero(codes, hn::BitCast(DI8(), x));
    return simd::HWY_NAMESPACE::quad_dot<7, true>(DI(), hn::BitCast(DU8(), hn::Abs(codes)), signed_x, acc);
  }
}

// Row tiles of the pre-pass (QuadOps): it leaves the tile only its lookups and dots, so
// more rows fit (3 registers per row).
inline constexpr int kMRQuadPre = kVbmi ? 6 : 3;

// A strip pair's quad operands, made once per task by prepare_quads when the task has
// several row tiles: per strip, quad gq's byte indices at q + gq * 128 and its codes at
// + 64 (one vector each, 64-byte slots), and group g's correction 128 * sum(codes) at
// c + g * 16 (int32 lanes).
struct QuadOps {
  uint8_t* q0 = nullptr;
  uint8_t* q1 = nullptr;
  int32_t* c0 = nullptr;
  int32_t* c1 = nullptr;

  static int64_t quads(const NmSparseMatrix& w) { return w.words() * (w.rpw() * w.nnz / 4); }
  static size_t bytes(const NmSparseMatrix& w) { return size_t(2 * (quads(w) * 128 + w.groups() * 64)); }
  static QuadOps at(uint8_t* base, const NmSparseMatrix& w) {
    const int64_t qb = quads(w) * 128, cb = w.groups() * 64;
    return {base, base + qb, reinterpret_cast<int32_t*>(base + 2 * qb), reinterpret_cast<int32_t*>(base + 2 * qb + cb)};
  }
};

// The pre-pass: byte indices, codes and group corrections of both strips (QuadOps).
template <ValueType kV>
HWY_NOINLINE void prepare_quads(const NmSparseMatrix& w, const QuadConsts& qc, const Strip& s0, const Strip& s1,
                                const QuadOps& ops) {
  const DI di;
  const DU du;
  const DU8 du8;
  const int64_t Q = qc.quads, words_per_group = w.group / w.word_span();
  const auto c128 = hn::Set(du8, uint8_t{128});
  for (int j = 0; j < 2; ++j) {
    const Strip& st = j ? s1 : s0;
    uint8_t* o = j ? ops.q1 : ops.q0;
    int32_t* c = j ? ops.c1 : ops.c0;
    auto corr = hn::Zero(di);
    for (int64_t wi = 0, words = w.words(); wi < words; ++wi) {  // words(): two divisions
      const auto iw = hn::BitCast(du8, hn::LoadU(du, st.words + wi * kTileRows));
      for (int q = 0; q < Q; ++q) {
        const int64_t gq = wi * Q + q;
        const auto codes = quad_codes<kV>(st.values, gq);
        hn::Store(quad_byte_indices(iw, qc, q), du8, o + gq * 128);
        hn::Store(hn::BitCast(du8, codes), du8, o + gq * 128 + 64);
        if constexpr (kOffsetX) corr = dot_x_codes<kV>(c128, codes, corr);
      }
      if ((wi + 1) % words_per_group == 0) {  // once per group: the division is cheap here
        hn::Store(corr, di, c + ((wi + 1) / words_per_group - 1) * 16);
        corr = hn::Zero(di);
      }
    }
  }
}

// The quad tile's lambdas take vectors by reference: GCC 12 did not inline them for SVE
// (sizeless vectors), and the GEMV's accumulators went through memory on every quad.
#if HWY_COMPILER_GCC || HWY_COMPILER_CLANG
#define LSGEMM_NM_LAMBDA_INLINE __attribute__((always_inline))
#else
#define LSGEMM_NM_LAMBDA_INLINE
#endif

// Quad-dot tile: MR rows of X x one strip pair (2L rows of W), all of K, int8
// activations. xu: row i at xu + i * ldx, xq (+ 128 with kOffsetX) as bytes, padded
// with a zero to kp + 64 (a word's table is the 64 bytes from its first k). y, sx: as
// gather_tile.
// kPre: the strips' indices, codes and corrections come from the pre-pass (ops); s0, s1
// give the scales.
template <int MR, ValueType kV, bool kPre = false>
HWY_INLINE void quad_tile(const NmSparseMatrix& w, const QuadConsts& qc, const Strip& s0, const Strip& s1,
                          const uint8_t* HWY_RESTRICT xu, int64_t ldx, float* HWY_RESTRICT y, int64_t ldy,
                          const float* sx, int64_t ldsx, const QuadOps& ops = {}) {
  static_assert(MR >= 1 && MR <= 6, "MR in [1, 6]");
  const DF df;
  const DI di;
  const DU du;
  const DU8 du8;
  const size_t L = hn::Lanes(df);
  const int64_t span = w.word_span(), Q = qc.quads;
  const int64_t group_words_mask = w.group / span - 1;  // a power of two: a mask, no idiv
  const int group_words_log2 = hwy::FloorLog2(uint32_t(w.group / span));
  const int64_t word_bytes = Q * (kV == ValueType::kInt8 ? 64 : 32);
  const auto c128 = hn::Set(du8, uint8_t{128});
  using VI = hn::Vec<DI>;
  using VI8 = hn::Vec<DI8>;
  using VU8 = hn::Vec<DU8>;
  VI c0 = hn::Zero(di), c1 = c0, e0 = c0, e1 = c0;  // kOffsetX: 128 * sum of the group's codes, per strip
#define LSGEMM_NM_DECL(i) VI a0_##i = hn::Zero(di), a1_##i = a0_##i; VU8 tb_##i = hn::Zero(du8);
  LSGEMM_NM_ROWS6(LSGEMM_NM_DECL)
#undef LSGEMM_NM_DECL
  zero_rows(MR, y, ldy);
  for (int64_t wi = 0, words = w.words(); wi < words; ++wi) {  // words(): two divisions
    VU8 iw0 = hn::Zero(du8), iw1 = iw0;
    if constexpr (!kPre) {
      if constexpr (MR == 1) prefetch_next_word(s0, s1, wi, word_bytes);  // the GEMV streams W from DRAM
      iw0 = hn::BitCast(du8, hn::LoadU(du, s0.words + wi * kTileRows));
      iw1 = hn::BitCast(du8, hn::LoadU(du, s1.words + wi * kTileRows));
    }
    const uint8_t* xw = xu + wi * span;  // row 0's x at the word's first k
    // Row i's table for quad q (kVbmi: once per word, at q = 0).
#define LSGEMM_NM_TABLES(i)                                                                       \
  if constexpr (MR > i) {                                                                         \
    if constexpr (kVbmi) {                                                                        \
      if (q == 0) tb_##i = hn::LoadU(du8, xw + i * ldx);                                          \
    } else {                                                                                      \
      tb_##i = hn::LoadDup128(du8, xw + i * ldx + qc.win[q]);                                     \
    }                                                                                             \
  }
    // Quad q's operands of both strips: byte indices and codes, from the pre-pass (kPre)
    // or made here, with the corrections C0, C1 (kOffsetX).
    const auto operands = [&](int q, VU8& ix0, VU8& ix1, VI8& q0, VI8& q1, VI& C0, VI& C1) LSGEMM_NM_LAMBDA_INLINE {
      const int64_t gq = wi * Q + q;
      if constexpr (kPre) {
        ix0 = hn::Load(du8, ops.q0 + gq * 128);
        ix1 = hn::Load(du8, ops.q1 + gq * 128);
        q0 = hn::BitCast(DI8(), hn::Load(du8, ops.q0 + gq * 128 + 64));
        q1 = hn::BitCast(DI8(), hn::Load(du8, ops.q1 + gq * 128 + 64));
      } else {
        ix0 = quad_byte_indices(iw0, qc, q);
        ix1 = quad_byte_indices(iw1, qc, q);
        q0 = quad_codes<kV>(s0.values, gq);
        q1 = quad_codes<kV>(s1.values, gq);
        if constexpr (kOffsetX) {
          C0 = dot_x_codes<kV>(c128, q0, C0);
          C1 = dot_x_codes<kV>(c128, q1, C1);
        }
      }
    };
    // Quad q into the accumulators A0, A1 (row 0's, the GEMV's) and corrections C0, C1.
    const auto gemv_quad = [&](int q, VI& A0, VI& A1, VI& C0, VI& C1) LSGEMM_NM_LAMBDA_INLINE {
      LSGEMM_NM_TABLES(0)
      VU8 ix0, ix1;
      VI8 q0, q1;
      operands(q, ix0, ix1, q0, q1, C0, C1);
      A0 = dot_x_codes<kV>(lookup_x(tb_0, ix0), q0, A0);
      A1 = dot_x_codes<kV>(lookup_x(tb_0, ix1), q1, A1);
    };
    if constexpr (MR == 1 && !kPre) {
      // The GEMV: a quad's dots extend chains of dependent vpdpbusd, which bounded it;
      // odd quads go to second chains (the idle a0_1, a1_1 and e0, e1).
      int q = 0;
      for (; q + 2 <= Q; q += 2) {
        gemv_quad(q, a0_0, a1_0, c0, c1);
        gemv_quad(q + 1, a0_1, a1_1, e0, e1);
      }
      if (q < Q) gemv_quad(q, a0_0, a1_0, c0, c1);
    } else {
      for (int q = 0; q < Q; ++q) {
        LSGEMM_NM_ROWS6(LSGEMM_NM_TABLES)
        VU8 ix0, ix1;
        VI8 q0, q1;
        operands(q, ix0, ix1, q0, q1, c0, c1);
#define LSGEMM_NM_DOT(i)                                                 \
  if constexpr (MR > i) {                                                \
    a0_##i = dot_x_codes<kV>(lookup_x(tb_##i, ix0), q0, a0_##i);         \
    a1_##i = dot_x_codes<kV>(lookup_x(tb_##i, ix1), q1, a1_##i);         \
  }
        LSGEMM_NM_ROWS6(LSGEMM_NM_DOT)
#undef LSGEMM_NM_DOT
      }
    }
#undef LSGEMM_NM_TABLES
    if (((wi + 1) & group_words_mask) == 0) {  // a group ends with this word
      const int64_t g = ((wi + 1) >> group_words_log2) - 1;
      if constexpr (kPre) {
        c0 = hn::Load(di, ops.c0 + g * 16);
        c1 = hn::Load(di, ops.c1 + g * 16);
      } else if constexpr (MR == 1) {  // the GEMV's second chains
        a0_0 = hn::Add(a0_0, a0_1);
        a1_0 = hn::Add(a1_0, a1_1);
        c0 = hn::Add(c0, e0);
        c1 = hn::Add(c1, e1);
        a0_1 = a1_1 = e0 = e1 = hn::Zero(di);
      }
      const auto sc0 = group_scales<kV>(s0, g), sc1 = group_scales<kV>(s1, g);
      const auto unscale = hn::Set(df, 1.0f / kCodeScale<kV>);
#define LSGEMM_NM_FLUSH(i)                                                                                         \
  if constexpr (MR > i) {                                                                                          \
    flush_group_sums(hn::Mul(hn::ConvertTo(df, hn::Sub(a0_##i, c0)), unscale), sc0, sx[i * ldsx + g], y + i * ldy); \
    flush_group_sums(hn::Mul(hn::ConvertTo(df, hn::Sub(a1_##i, c1)), unscale), sc1, sx[i * ldsx + g],               \
                     y + i * ldy + L);                                                                             \
    a0_##i = hn::Zero(di);                                                                                         \
    a1_##i = a0_##i;                                                                                               \
  }
      LSGEMM_NM_ROWS6(LSGEMM_NM_FLUSH)
#undef LSGEMM_NM_FLUSH
      c0 = hn::Zero(di);
      c1 = c0;
    }
  }
}
#endif  // quad dot

// X padded once per call into rows of `ld` entries (the last word's or run's table reads
// past kp), then one task per strip pair, register tiles of up to kMR rows over all of K
// (the pair's packed bytes stay in L2 across a task's row tiles). prepare(strip0, strip1)
// runs once per task before its tiles (a pre-pass of the pair's operands); tile(h,
// strip0, strip1, row m, x, ldx, yt, ldy) computes rows [m, m + h) into yt (rows of 2L).
struct NoPrepare {
  void operator()(const Strip&, const Strip&) const {}
};

template <int kMR, class T, class Fill, class Tile, class Prepare = NoPrepare>
void strip_pair_tasks(HostView<const float> X, const NmSparseMatrix& w, HostView<float> Y, const Epilogue& epi,
                      AlignedBuffer<T>& pad_buf, int64_t ld, const Fill& fill, const Tile& tile,
                      const Prepare& prepare = {}) {
  const int64_t M = X.rows, L = int64_t(hn::Lanes(DF()));
  const int64_t strips = strip_count(w.tiles(), L);
  T* xpad = simd::HWY_NAMESPACE::scratch(pad_buf, size_t(M * ld));
  parallel_for(M, [&](int64_t m) { fill(m, xpad + m * ld); });
  const T* xp = xpad;  // a thread_local is not captured: workers need the pointer
  parallel_for(strip_pairs(w.tiles(), L), [&](int64_t pr) {
    const int64_t n0 = pr * 2 * L, ncols = std::min<int64_t>(2 * L, w.n - n0);
    if (ncols <= 0) return;
    // An odd strip count: the last pair reads its strip twice, outputs past N dropped.
    const Strip s0 = strip_at(w, 2 * pr, L), s1 = strip_at(w, std::min(2 * pr + 1, strips - 1), L);
    static_assert(kMR <= 6, "tiles of at most 6 rows");
    HWY_ALIGN float yt[6 * 2 * 16];
    prepare(s0, s1);
    simd::HWY_NAMESPACE::for_row_tiles<kMR>(M, [&](int64_t m, auto mr) {
      constexpr int h = decltype(mr)::value;
      tile(mr, s0, s1, m, xp + m * ld, ld, yt, 2 * L);
      simd::HWY_NAMESPACE::store_tile(yt, 2 * L, m, h, n0, ncols, Y, epi);
    });
  });
}

// Int values, several row tiles per task: a strip's values decoded once per task into
// f32 slots (slot s at out + s * 16, the f32 layout), the tiles then spend their ops on
// lookups and FMAs only. kScale (float activations): s * q, the same f32 products the
// gather tile forms, so the f32 tile on them gives the same results; else the codes
// (int8 activations: the kDecoded tile applies the scales per group).
template <ValueType kV, bool kScale>
HWY_NOINLINE void decode_strip_values(const NmSparseMatrix& w, const Strip& st, float* out) {
  const DF df;
  const int64_t slots_per_group = w.group / w.run * w.nnz;
  for (int64_t g = 0, s = 0; g < w.groups(); ++g) {
    const auto sc = kScale ? group_scales<kV>(st, g) : hn::Set(df, 1.0f);
    for (int64_t end = s + slots_per_group; s < end; ++s) {
      const auto v = load_values<kV>(st.values + slot_offset<kV>(s), s);
      hn::Store(kScale ? hn::Mul(sc, v) : v, df, out + s * kTileRows);
    }
  }
}

// The per-task decode of a strip pair (decode_strip_values) into a thread's buffer;
// returns the pair's decoded strips (values: the f32 slots; words, scales: the format's).
template <ValueType kV, bool kScale>
HWY_INLINE std::pair<Strip, Strip> decode_pair(const NmSparseMatrix& w, const Strip& s0, const Strip& s1,
                                               AlignedBuffer<float>& buf) {
  const int64_t S = w.slots() * kTileRows;  // floats per decoded strip
  float* d = simd::HWY_NAMESPACE::scratch(buf, size_t(2 * S));
  decode_strip_values<kV, kScale>(w, s0, d);
  decode_strip_values<kV, kScale>(w, s1, d + S);
  return {Strip{reinterpret_cast<const uint8_t*>(d), s0.words, s0.scales},
          Strip{reinterpret_cast<const uint8_t*>(d + S), s1.words, s1.scales}};
}

// Float activations: the gather tile on X as it is, padded with zeros to kp + 2L.
template <ValueType kV, bool kTwo>
void gather_rows(HostView<const float> X, const NmSparseMatrix& w, HostView<float> Y, const Epilogue& epi) {
  const int64_t L = int64_t(hn::Lanes(DF())), ld = w.kp + 2 * L;
  thread_local AlignedBuffer<float> xpad_buf;
  const auto fill = [&](int64_t m, float* row) {
    std::memcpy(row, X.row(m), size_t(X.cols) * sizeof(float));
    std::fill(row + X.cols, row + ld, 0.0f);
  };
  if constexpr (kV == ValueType::kInt8 || kV == ValueType::kInt4) {
    if (X.rows > kMRGather) {  // decode the pair's values once per task (decode_strip_values)
      thread_local AlignedBuffer<float> dec_buf;
      thread_local std::pair<Strip, Strip> dec;  // this worker's task's pair (prepare, then its tiles)
      strip_pair_tasks<kMRGather>(
          X, w, Y, epi, xpad_buf, ld, fill,
          [&](auto mr, const Strip&, const Strip&, int64_t, const float* x, int64_t ldx, float* yt, int64_t ldy) {
            gather_tile<decltype(mr)::value, ValueType::kF32, kTwo>(w, dec.first, dec.second, x, ldx, yt, ldy);
          },
          [&](const Strip& s0, const Strip& s1) { dec = decode_pair<kV, true>(w, s0, s1, dec_buf); });
      return;
    }
  }
  strip_pair_tasks<kMRGather>(
      X, w, Y, epi, xpad_buf, ld, fill,
      [&](auto mr, const Strip& s0, const Strip& s1, int64_t, const float* x, int64_t ldx, float* yt, int64_t ldy) {
        gather_tile<decltype(mr)::value, kV, kTwo>(w, s0, s1, x, ldx, yt, ldy);
      });
}

// Int8 activations: X quantized once (the library's int8 definition), then the quad-dot
// tile where it runs, else the gather tile on xq as floats.
template <ValueType kV, bool kTwo>
void int8_act_rows(HostView<const float> X, const NmSparseMatrix& w, HostView<float> Y, const Epilogue& epi) {
  thread_local simd::HWY_NAMESPACE::QuantizedX xq;
  if (!simd::HWY_NAMESPACE::quantize_x_int8(X, w.group, w.kp, xq))
    lsgemm::detail::fail_acts_out_of_range(X, "nm_sparse::matmul", "int8 activation mode");
  const int64_t L = int64_t(hn::Lanes(DF())), G = xq.groups, kp = w.kp;
  const int8_t* q = xq.q.data();
  const float* sx = xq.sx.data();
#ifdef LSGEMM_NM_QUAD_DOT
  if (quad_dot_ok(w)) {
    lsgemm::detail::note_path(Path::kNmSparseQuadDot);
    QuadConsts qc;
    make_quad_consts(w, qc);
    thread_local AlignedBuffer<uint8_t> xu_buf;
    const auto fill = [&](int64_t m, uint8_t* row) {
      const int offset = kOffsetX ? 128 : 0;  // xq + 128 or xq's own bits; the padding is a zero
      for (int64_t k = 0; k < kp; ++k) row[k] = uint8_t(q[m * kp + k] + offset);
      std::fill(row + kp, row + kp + 64, uint8_t(offset));
    };
    if (X.rows <= kMRQuad) {  // one row tile per task: the tile decodes as it goes
      strip_pair_tasks<kMRQuad>(
          X, w, Y, epi, xu_buf, kp + 64, fill,
          [&](auto mr, const Strip& s0, const Strip& s1, int64_t m, const uint8_t* x, int64_t ldx, float* yt,
              int64_t ldy) { quad_tile<decltype(mr)::value, kV>(w, qc, s0, s1, x, ldx, yt, ldy, sx + m * G, G); });
      return;
    }
    // Several row tiles per task: the pair's byte indices, codes and corrections once
    // per task (L2-resident: 256 bytes per quad of slots), the tiles only load them.
    thread_local AlignedBuffer<uint8_t> ops_buf;
    strip_pair_tasks<kMRQuadPre>(
        X, w, Y, epi, xu_buf, kp + 64, fill,
        [&](auto mr, const Strip& s0, const Strip& s1, int64_t m, const uint8_t* x, int64_t ldx, float* yt,
            int64_t ldy) {
          quad_tile<decltype(mr)::value, kV, true>(w, qc, s0, s1, x, ldx, yt, ldy, sx + m * G, G,
                                                   QuadOps::at(ops_buf.data(), w));
        },
        [&](const Strip& s0, const Strip& s1) {
          prepare_quads<kV>(w, qc, s0, s1, QuadOps::at(simd::HWY_NAMESPACE::scratch(ops_buf, QuadOps::bytes(w)), w));
        });
    return;
  }
#endif
  lsgemm::detail::note_path(Path::kNmSparseGather);
  thread_local AlignedBuffer<float> xf_buf;
  const int64_t ld = kp + 2 * L;
  const auto fill = [&](int64_t m, float* row) {
    for (int64_t k = 0; k < kp; ++k) row[k] = float(q[m * kp + k]);
    std::fill(row + kp, row + ld, 0.0f);
  };
  if (X.rows > kMRGather) {  // the codes as f32 once per task (decode_strip_values)
    thread_local AlignedBuffer<float> dec_buf;
    thread_local std::pair<Strip, Strip> dec;  // this worker's task's pair (prepare, then its tiles)
    strip_pair_tasks<kMRGather>(
        X, w, Y, epi, xf_buf, ld, fill,
        [&](auto mr, const Strip&, const Strip&, int64_t m, const float* x, int64_t ldx, float* yt, int64_t ldy) {
          gather_tile<decltype(mr)::value, kV, kTwo, true, true>(w, dec.first, dec.second, x, ldx, yt, ldy,
                                                                  sx + m * G, G);
        },
        [&](const Strip& s0, const Strip& s1) { dec = decode_pair<kV, false>(w, s0, s1, dec_buf); });
    return;
  }
  strip_pair_tasks<kMRGather>(
      X, w, Y, epi, xf_buf, ld, fill,
      [&](auto mr, const Strip& s0, const Strip& s1, int64_t m, const float* x, int64_t ldx, float* yt, int64_t ldy) {
        gather_tile<decltype(mr)::value, kV, kTwo, true>(w, s0, s1, x, ldx, yt, ldy, sx + m * G, G);
      });
}

template <ValueType kV>
void gather(HostView<const float> X, const NmSparseMatrix& w, HostView<float> Y, const Epilogue& epi) {
  // Two tables per run only where a vector holds fewer than M = 8 floats: fixed vectors
  // of 8 or more never need them, and then those tiles are not compiled at all.
  constexpr bool kMayNeedTwo = HWY_HAVE_SCALABLE || hn::MaxLanes(DF()) < 8;
  const bool two = int64_t(hn::Lanes(DF())) < w.run;
  if constexpr (kV == ValueType::kInt8 || kV == ValueType::kInt4) {
    if (w.act == ActMode::kInt8) {
      if constexpr (kMayNeedTwo) {
        if (two) return int8_act_rows<kV, true>(X, w, Y, epi);
      }
      return int8_act_rows<kV, false>(X, w, Y, epi);
    }
  }
  lsgemm::detail::note_path(Path::kNmSparseGather);
  if constexpr (kMayNeedTwo) {
    if (two) return gather_rows<kV, true>(X, w, Y, epi);
  }
  gather_rows<kV, false>(X, w, Y, epi);
}

#undef LSGEMM_NM_ROWS6
#endif  // LSGEMM_SIMD_KERNELS

// This target's dispatch table (lsgemm::dispatch_table() lists it with the others).
inline std::vector<PathRule> path_rules() {
#if LSGEMM_SIMD_KERNELS
  return {
#ifdef LSGEMM_NM_QUAD_DOT
      {Path::kNmSparseQuadDot, 1, kAnyRows,
       kVbmi ? "int values with act=int8, patterns with R * N % 4 == 0 (all but 3:8, 5:8, 6:8, 7:8)"
             : "int values with act=int8, patterns N:4 (2:4, 1:4, 3:4)"},
#endif
      {Path::kNmSparseGather, 1, kAnyRows, "every other pattern, value type and activation mode"}};
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
  switch (w.values_type) {
    case ValueType::kBf16: return gather<ValueType::kBf16>(X, w, Y, epi);
    case ValueType::kInt8: return gather<ValueType::kInt8>(X, w, Y, epi);
    case ValueType::kInt4: return gather<ValueType::kInt4>(X, w, Y, epi);
    default: return gather<ValueType::kF32>(X, w, Y, epi);
  }
#endif
}

#undef LSGEMM_NM_QUAD_DOT  // per target: the next target's pass decides anew
#undef LSGEMM_NM_LAMBDA_INLINE

}  // namespace HWY_NAMESPACE
}  // namespace nm_sparse
}  // namespace lsgemm
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
