// lut Highway kernels, one copy per SIMD target (re-includable: see DESIGN §4).
//
// Entries (namespace lsgemm::lut::HWY_NAMESPACE):
//   make_tables(X, spec, out)  X -> tables (format.hpp), rows x K-chunks in parallel
//   matmul(tables, w, Y, epi)  Y from prebuilt tables (shared by weights with one spec)
//   matmul(X, w, Y, epi)       both
//
// The inner step, per 64-byte vector of 4-bit indices (L rows x 4 sub-tables):
//   idx   = nibble | {0, 16, 32, 48}          one OrAnd (vpternlog) per vector
//   val   = 64-entry table[idx]               one byte permute (vpermb on AVX3_DL+)
//   acc  += quad(val x 2^plane)               one u8 x s8 quad dot (vpdpbusd): a row's 4
//                                             lookups summed in exact int32, the bit-plane
//                                             weight folded into the other operand
// Exact tables take two lookups and two quad dots (low bytes u8 x 2^i as s8, high bytes
// s8 x 2^i as u8); ternary triples negate through a mask loaded straight from the sign
// bits (AVX-512: a k-register). Once per X block (64 or 48 k) the int32 sums become
// float: y += S_g * scale_b * acc + C_g * xsum_b.
//
// Roofline, 4096 x 4096, M = 1, 2-bit: 4.2 MB of codes (+ 0.07 MB of f16 constants at
// g128). Per 64 bytes of codes: 1 load, 3 index ops, 2 permutes, 2 quad dots (fast) or
// 4 + 4 (exact), all shared by nothing at M = 1; at ~5 bytes per cycle of DRAM that
// leaves ~13 cycles per 64 bytes, against ~4-6 cycles of port-5/port-0 work. So the GEMV
// is DRAM-bound on one core in both modes. For M > 1 each index vector is reused by up
// to 4 rows of X (kMR), so a GEMM does 2 permutes + 2 quad dots per 16 rows x 16 k x
// plane x row of X: ~128 flops per cycle and port, about 2x the int8 multiply-add GEMM
// at 2 bits, 4x at 1 bit.
//
// Paths: M < kMR (kMRExact): one strip pair per task, all of K (GEMV). Larger M: tiles
// of kMR rows of X over K chunks whose tables stay in L2 (GEMM). Exact mode with bit
// planes and M >= min_rows_unpacked(bits): codes unpacked to u8 for the shared VNNI GEMM
// (same integer sums, see PlanesDecoder); the crossover was measured per target.
//
// Targets: vectors of up to 64 bytes (16 rows); 128/256-bit targets take a strip of 4/8
// rows of each 16-row tile and do the 64-entry lookup with two-table permutes; scalable
// ones (SVE, RVV) choose among those by the vector length, once per call (matmul_kind).
// HWY_SCALAR runs the reference.

#if defined(LSGEMM_LUT_SIMD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef LSGEMM_LUT_SIMD_INL_H_
#undef LSGEMM_LUT_SIMD_INL_H_
#else
#define LSGEMM_LUT_SIMD_INL_H_
#endif

#include <algorithm>
#include <atomic>
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
#include "lsgemm/core/prefetch.hpp"
#include "lsgemm/lut/format.hpp"
#include "lsgemm/lut/reference.hpp"
// Re-included per target together with this file:
#include "lsgemm/core/simd/gemm_tile-inl.h"
#include "lsgemm/core/simd/gemm_driver-inl.h"

HWY_BEFORE_NAMESPACE();
namespace lsgemm {
namespace lut {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using namespace simd::HWY_NAMESPACE::tags;  // NOLINT: DF, DI, DU, DU8, DI8 (core/simd)

// Rows of X sharing one load of each index vector (the GEMM reuse): fast tables need one
// int32 accumulator per (row of X, strip), 4 x 2 = 8 vectors; exact ones two, so 2 rows.
// (4 rows in exact mode measured no faster: 16 accumulators + 8 float sums spill.)
inline constexpr int kMR = 4;
inline constexpr int kMRExact = 2;
// GEMM: bytes of tables (all M rows) per K chunk (half of a 1-2 MB L2), and strip pairs
// per task sharing each chunk from L2 (without chunks every pair re-read all M x K
// tables from L3: 2-4 MB per pair at M = 128, K = 4096).
inline constexpr int64_t kTableChunkBytes = 512 * 1024;
inline constexpr int64_t kPairsPerTask = 8;
// Exact mode, planes layouts: from this many rows of X on, unpacking to u8 codes for the
// shared VNNI GEMM beats the lookups (4096 x 4096, AVX3_SPR, GFLOP/s unpacked vs LUT:
// 1-bit M=32 188 vs 217, M=128 263 vs 115; 2-bit M=8 142 vs 148, M=32 227 vs 145;
// 4-bit M=4 65 vs 67, M=8 103 vs 70; AVX3_ZEN4 with X blocks of 128: 1-bit M=8 284 vs
// 325, M=32 365 vs 351, M=128 392 vs 328; 2-bit M=8 221 vs 218, M=32 322 vs 245; 3-bit
// M=8 190 vs 152; 4-bit M=8 162 vs 115). Without a native 64-byte permute (x86 below
// AVX3_DL, 128/256-bit targets) each lookup is emulated by 3-8 shuffles: unpack from 4.
constexpr int64_t min_rows_unpacked(int bits) {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3_DL
  return bits == 1 ? 64 : bits == 2 ? 16 : 8;
#else
  return bits > 0 ? 4 : 4;
#endif
}
// The path of a call with M rows of X (the rules: path_rules()); `from_x`: matmul(X, w),
// which may skip the tables, rather than matmul(tables, w).
inline Path choose_path(const LutMatrix& w, int64_t M, bool from_x) {
  const bool exact = w.table_mode == TableMode::kExact;
  if (from_x && exact && !w.triples() && M >= min_rows_unpacked(w.bits)) return Path::kLutUnpacked;
  if (M < (exact ? kMRExact : kMR)) return exact ? Path::kLutGemvExact : Path::kLutGemvFast;
  return exact ? Path::kLutGemmExact : Path::kLutGemmFast;
}

// This target's dispatch table (lsgemm::dispatch_table() lists it with int_quant's).
inline std::vector<PathRule> path_rules() {
#if LSGEMM_SIMD_KERNELS
  return {
      {Path::kLutGemvFast, 1, kMR, "fast tables"},
      {Path::kLutGemmFast, kMR, kAnyRows, "fast tables"},
      {Path::kLutGemvExact, 1, kMRExact, "exact tables"},
      {Path::kLutGemmExact, kMRExact, kAnyRows,
       "exact tables: ternary triples, prebuilt tables, or bit planes below the unpacked threshold"},
      {Path::kLutUnpacked, min_rows_unpacked(1), kAnyRows, "matmul(X), exact tables, 1-bit planes"},
      {Path::kLutUnpacked, min_rows_unpacked(2), kAnyRows, "matmul(X), exact tables, 2-bit or ternary planes"},
      {Path::kLutUnpacked, min_rows_unpacked(3), kAnyRows, "matmul(X), exact tables, 3-bit planes"},
      {Path::kLutUnpacked, min_rows_unpacked(4), kAnyRows, "matmul(X), exact tables, 4-bit planes"},
  };
#else
  return {{Path::kLutReference, 1, kAnyRows, LSGEMM_NO_KERNELS_REASON}};
#endif
}

// GEMV prefetch distance per code stream (into L2, core/prefetch.hpp): ~DRAM latency x
// per-stream rate x slack; 2, 4, 8 and 16 KB measured, 4-8 KB best (lut_bench, M = 1).
inline constexpr int64_t kPrefetchBytes = 4096;
// K per table-build task (for M = 1 the build is split along K across threads).
inline constexpr int64_t kBuildChunk = 1024;

#if LSGEMM_SIMD_KERNELS
using simd::HWY_NAMESPACE::flush_group;

// ----------------------------------------------------------------------------------
// Table build.

// Per entry position p in [0, 16): the factor of activation u (planes: bit u of p;
// triples: balanced-ternary digit u of p, 0 for p > 13). Products with these are exact,
// so the sums below equal the reference's selected sums bit for bit.
struct EntryFactors {
  alignas(64) float f[2][4][16];  // [g == 3][u][p]
  EntryFactors() {
    for (int p = 0; p < 16; ++p) {
      int d[3] = {0, 0, 0};
      if (p <= 13) LutMatrix::triple_digits(p, d);
      for (int u = 0; u < 4; ++u) {
        f[0][u][p] = float((p >> u) & 1);
        f[1][u][p] = u < 3 ? float(d[u]) : 0.0f;
      }
    }
  }
};

inline const EntryFactors& entry_factors() {
  static const EntryFactors e;
  return e;
}

// The 64 entries of one segment from its 4 * g activations (float; exact integers in
// exact mode): e[16 j + p] = (x0 f0 + x1 f1) + (x2 f2 + x3 f3) of sub-table j.
template <int kG>
HWY_INLINE void segment_entries(const float* HWY_RESTRICT x, float* HWY_RESTRICT e) {
  const DF df;
  const size_t L = hn::Lanes(df);
  const auto& F = entry_factors().f[kG == 3 ? 1 : 0];
  for (size_t c = 0; c < 64; c += L) {
    const size_t j = c / 16, p0 = c % 16;
    const float* xs = x + j * kG;
    const auto a = hn::Mul(hn::Set(df, xs[0]), hn::Load(df, F[0] + p0));
    const auto b = hn::Mul(hn::Set(df, xs[1]), hn::Load(df, F[1] + p0));
    const auto c2 = hn::Mul(hn::Set(df, xs[2]), hn::Load(df, F[2] + p0));
    if constexpr (kG == 4) {
      const auto d = hn::Mul(hn::Set(df, xs[3]), hn::Load(df, F[3] + p0));
      hn::Store(hn::Add(hn::Add(a, b), hn::Add(c2, d)), df, e + c);
    } else {
      hn::Store(hn::Add(hn::Add(a, b), c2), df, e + c);
    }
  }
}

// Tables for row m of X, X blocks [b0, b1). x0: those blocks' activations, zero-padded
// past K.
// Returns false if the row has a value outside act_in_range (Inf, NaN, |x| > kMaxAbsX)
// in that range.
template <int kG>
inline bool build_blocks(const float* HWY_RESTRICT x0, const TableSpec& spec, int64_t m, int64_t b0, int64_t b1,
                         Tables& out) {
  const DF df;
  const DI di;
  const DU du;
  const hn::Rebind<uint8_t, DU> du8q;
  const size_t L = hn::Lanes(df);
  const int64_t kb = spec.block, B = spec.blocks(), spb = kb / (4 * kG);
  alignas(64) float xb[128];
  alignas(64) float e[8 * 64];  // entries of one block: <= 8 segments (block 128)
  for (int64_t b = b0; b < b1; ++b) {
    const float* xs = x0 + (b - b0) * kb;
    auto vmax = hn::Zero(df), vbad = hn::Zero(df), vsum = hn::Zero(df);
    for (int64_t c = 0; c < kb; c += int64_t(L)) {
      const auto v = hn::LoadU(df, xs + c);
      vmax = hn::Max(vmax, hn::Abs(v));
      vbad = hn::Add(vbad, hn::Mul(v, hn::Zero(df)));  // NaN exactly for Inf and NaN
      vsum = hn::Add(vsum, v);
    }
    if (!std::isfinite(hn::ReduceSum(df, vbad))) return false;
    const float amax = hn::ReduceMax(df, vmax);
    if (!(amax <= kMaxAbsX)) return false;
    uint8_t* lo = out.lo.data() + m * spec.row_bytes() + b * spb * kSegBytes;
    if (spec.mode == TableMode::kExact) {
      // X block -> int8 (the definition in reference.hpp), kept as exact floats.
      float inv, sx, qsum = 0.0f;
      if (int8_block_scale(amax, inv, sx)) {  // core/act_quant.hpp: a zero block below kTinyAmax
        const auto vinv = hn::Set(df, inv);
        const auto lim = hn::Set(df, 127.0f);
        auto vq = hn::Zero(df);
        for (int64_t c = 0; c < kb; c += int64_t(L)) {
          auto q = hn::ConvertTo(df, hn::NearestInt(hn::Mul(hn::LoadU(df, xs + c), vinv)));
          q = hn::Min(hn::Max(q, hn::Neg(lim)), lim);
          vq = hn::Add(vq, q);
          hn::Store(q, df, xb + c);
        }
        qsum = hn::ReduceSum(df, vq);  // integers below 2^24: exact in any order
      } else {
        std::memset(xb, 0, sizeof(float) * size_t(kb));
      }
      out.scale[size_t(m * B + b)] = sx;
      out.xsum[size_t(m * B + b)] = sx * qsum;
      uint8_t* hi = out.hi.data() + (lo - out.lo.data());
      for (int64_t s = 0; s < spb; ++s) {
        segment_entries<kG>(xb + s * 4 * kG, e);
        for (size_t c = 0; c < 64; c += L) {
          const auto v = hn::BitCast(du, hn::NearestInt(hn::Load(df, e + c)));
          hn::StoreU(hn::TruncateTo(du8q, v), du8q, lo + s * 64 + c);
          hn::StoreU(hn::TruncateTo(du8q, hn::ShiftRight<8>(v)), du8q, hi + s * 64 + c);
        }
      }
    } else {
      auto emax = hn::Zero(df);
      for (int64_t s = 0; s < spb; ++s) {
        segment_entries<kG>(xs + s * 4 * kG, e + s * 64);
        for (size_t c = 0; c < 64; c += L) emax = hn::Max(emax, hn::Abs(hn::Load(df, e + s * 64 + c)));
      }
      const float tmax = hn::ReduceMax(df, emax);
      float inv, ts;
      int8_block_scale(tmax, inv, ts);  // all-zero tables below kTinyAmax, as X blocks
      const auto vinv = hn::Set(df, inv);
      const auto lim = hn::Set(di, 127);
      for (int64_t c = 0; c < spb * 64; c += int64_t(L)) {
        auto q = hn::NearestInt(hn::Mul(hn::Load(df, e + c), vinv));
        q = hn::Min(hn::Max(q, hn::Neg(lim)), lim);
        hn::StoreU(hn::TruncateTo(du8q, hn::BitCast(du, q)), du8q, lo + c);
      }
      out.scale[size_t(m * B + b)] = ts;
      out.xsum[size_t(m * B + b)] = hn::ReduceSum(df, vsum);
    }
  }
  return true;
}

// X -> tables (the definition: reference.hpp make_tables_reference). Throws Error on a
// non-finite X before anything is written to a caller's Y.
inline void make_tables(HostView<const float> X, const TableSpec& spec, Tables& out) {
  lsgemm::detail::check_view(X, "X");
  detail::check_spec(spec, X.rows, X.cols, "lut::make_tables");
  const int64_t M = X.rows, B = spec.blocks();
  out.m = M;
  out.spec = spec;
  const size_t bytes = size_t(M * spec.row_bytes());
  if (out.lo.size() != bytes) out.lo.resize(bytes);
  if (spec.mode == TableMode::kExact) {
    if (out.hi.size() != bytes) out.hi.resize(bytes);
  } else if (out.hi.size()) {
    out.hi = AlignedBuffer<uint8_t>();
  }
  if (out.scale.size() != size_t(M * B)) out.scale.resize(size_t(M * B));
  if (out.xsum.size() != size_t(M * B)) out.xsum.resize(size_t(M * B));
  const int64_t per_chunk = std::max<int64_t>(1, kBuildChunk / spec.block);
  const int64_t chunks = (B + per_chunk - 1) / per_chunk;
  std::atomic<bool> bad{false};
  parallel_for(M * chunks, [&](int64_t task) {
    const int64_t m = task / chunks, ch = task % chunks;
    const int64_t b0 = ch * per_chunk, b1 = std::min(B, b0 + per_chunk);
    // The chunk's activations, zero-padded past K.
    thread_local AlignedBuffer<float> xbuf;
    const int64_t k0 = b0 * spec.block, k1 = b1 * spec.block;
    if (xbuf.size() < size_t(k1 - k0)) xbuf.resize(size_t(k1 - k0));
    float* x = xbuf.data();
    const int64_t kreal = std::max<int64_t>(0, std::min(spec.k, k1) - k0);
    std::memcpy(x, X.row(m) + k0, size_t(kreal) * sizeof(float));
    std::memset(x + kreal, 0, size_t(k1 - k0 - kreal) * sizeof(float));
    const bool ok = spec.g == 3 ? build_blocks<3>(x, spec, m, b0, b1, out) : build_blocks<4>(x, spec, m, b0, b1, out);
    if (!ok) bad = true;
  });
  if (bad) lsgemm::detail::fail_acts_out_of_range(X, detail::kTablesWhere, detail::kTablesMode);
}

// ----------------------------------------------------------------------------------
// Lookup of 64-entry tables (4 sub-tables of 16) with indices in [0, 64). kVB: the
// vector's byte count (matmul_kind), a template argument so that the scalable targets
// choose the lookup's shape once per call, not once per lookup. The general lookup is
// core's; x86 without VBMI uses the layout's slot order instead (7 ops, not 9).
template <int kVB>
HWY_INLINE hn::Vec<DU8> lookup64(const uint8_t* HWY_RESTRICT tab, hn::Vec<DU8> idx) {
#if HWY_ARCH_X86 && HWY_TARGET > HWY_AVX3_DL
  const DU8 d;
  // x86 without VBMI (AVX3 = Skylake-X, AVX2, SSE4): no byte permute over 64 entries, and
  // Highway's emulation of one (two 32-entry lookups of 2 shuffles + a lane swap each, and
  // a select) is ~12 ops. But an index's sub-table j is its byte's slot in the 32-bit lane
  // (format.hpp), so: 4 in-block shuffles (pshufb reads the low 4 bits; bits 4-5 = j are
  // ignored, bit 7 is clear), one per sub-table broadcast to every 16-byte block, then 2
  // selects by slot with constant masks: 7 ops.
  alignas(16) static constexpr uint8_t kSlotOdd[16] = {0, 0xFF, 0, 0xFF, 0, 0xFF, 0, 0xFF,
                                                       0, 0xFF, 0, 0xFF, 0, 0xFF, 0, 0xFF};  // j in {1, 3}
  alignas(16) static constexpr uint8_t kSlotHigh[16] = {0, 0, 0xFF, 0xFF, 0, 0, 0xFF, 0xFF,
                                                        0, 0, 0xFF, 0xFF, 0, 0, 0xFF, 0xFF};  // j in {2, 3}
  const auto odd = hn::MaskFromVec(hn::LoadDup128(d, kSlotOdd));
  const auto high = hn::MaskFromVec(hn::LoadDup128(d, kSlotHigh));
  const auto s0 = hn::TableLookupBytes(hn::LoadDup128(d, tab), idx);
  const auto s1 = hn::TableLookupBytes(hn::LoadDup128(d, tab + 16), idx);
  const auto s2 = hn::TableLookupBytes(hn::LoadDup128(d, tab + 32), idx);
  const auto s3 = hn::TableLookupBytes(hn::LoadDup128(d, tab + 48), idx);
  return hn::IfThenElse(high, hn::IfThenElse(odd, s3, s2), hn::IfThenElse(odd, s1, s0));
#else
  return simd::HWY_NAMESPACE::lookup_bytes64<kVB>(tab, idx);
#endif
}

// acc += quad sums of (u8 a) x (s8 b), a < 2^kABits: 8 for looked-up table bytes, 4 for
// the constant plane weights and ones (<= 8), which SVE then takes as s8 (one sdot, see
// quad_dot). All operands here keep |pair sums| < 2^15 (u8 <= 255 times |s8| <= 8, or
// |s8| <= 127 times u8 <= 8), so the vpmaddubsw path of x86 without VNNI is exact.
template <int kABits>
HWY_INLINE hn::Vec<DI> qdot(hn::Vec<DU8> a, hn::Vec<DI8> b, hn::Vec<DI> acc) {
  return simd::HWY_NAMESPACE::quad_dot<kABits, /*kPairsFitI16=*/true>(DI(), a, b, acc);
}

// qdot<8> for 0 < b <= 8 (exact tables' low bytes times the plane weight 2^p): both
// operands are u8, so SVE takes one udot and NEON umull + umull2 + addp + uadalp (pair
// sums <= 2 * 255 * 8); the u32 sums wrap to the same bits as the i32 ones.
HWY_INLINE hn::Vec<DI> qdot_pos(hn::Vec<DU8> a, hn::Vec<DI8> b, hn::Vec<DI> acc) {
#if HWY_TARGET_IS_SVE
  const DU du;
  return hn::BitCast(DI(), hn::SumOfMulQuadAccumulate(du, a, hn::BitCast(DU8(), b), hn::BitCast(du, acc)));
#elif HWY_ARCH_ARM_A64 && (HWY_TARGET & HWY_ALL_NEON)
  const uint8x16_t bu = vreinterpretq_u8_s8(b.raw);
  const uint16x8_t pairs = vpaddq_u16(vmull_u8(vget_low_u8(a.raw), vget_low_u8(bu)), vmull_high_u8(a.raw, bu));
  return hn::Vec<DI>{vreinterpretq_s32_u32(vpadalq_u16(vreinterpretq_u32_s32(acc.raw), pairs))};
#else
  return qdot<8>(a, b, acc);
#endif
}

// Where a strip of L rows lives in the packed weight.
struct Strip {
  const uint8_t* codes;    // + block * block_bytes
  const uint16_t* scales;  // group g: + g * 16
  const uint16_t* offsets; // group g: + g * 16 (null unless uniform asymmetric)
  int64_t sign_off;        // triples: from a block's index bytes of this strip to its sign bits
};

inline Strip strip_at(const LutMatrix& w, int64_t s, size_t L) {
  const StripPos p = strip_pos(s, int64_t(L));  // core/row_tiles.hpp
  Strip st;
  st.codes = strip_codes(w.codes.data(), p, w.tile_bytes());
  st.scales = strip_consts(w.scales.data(), p, w.groups());
  st.offsets = w.offsets.size() ? strip_consts(w.offsets.data(), p, w.groups()) : nullptr;
  // Sign bits 4v.. of a block's word are byte v/2 of it (v is a multiple of 4); codes
  // already point 4v bytes into the block.
  st.sign_off = 64 - 4 * p.row + p.row / 2;
  return st;
}

// (S, C) of format.hpp for the L rows of a strip, group g.
HWY_INLINE void group_consts(const LutMatrix& w, const Strip& st, int64_t g, hn::Vec<DF>& S, hn::Vec<DF>& C) {
  const DF df;
  const hn::Rebind<hwy::float16_t, DF> dh;
  const auto s = hn::PromoteTo(df, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(st.scales + g * kTileRows)));
  if (w.kind == WeightKind::kTernaryTriples) {
    S = s;
    C = hn::Zero(df);
  } else if (w.kind == WeightKind::kTernaryPlanes) {
    S = s;
    C = hn::Neg(s);
  } else if (w.symmetric) {
    S = hn::Add(s, s);
    C = hn::Mul(s, hn::Set(df, -float((1 << w.bits) - 1)));
  } else {
    S = s;
    C = hn::PromoteTo(df, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(st.offsets + g * kTileRows)));
  }
}

#if HWY_TARGET == HWY_AVX2
// AVX2 steps for bit planes (the GEMV, and the fast-table GEMM tile): the codes are
// regrouped in registers so that one pshufb serves two sub-tables, and lookup64's 4
// pshufb + 3 blends per index vector become 2 pshufb + 1 blend. A strip's 32 code bytes
// (8 rows x slots j, byte 4r + j) are shuffled to
//   [j0 r0, j2 r0, j0 r1, j2 r1, ... j0 r7, j2 r7 | j1 r0, j3 r0, ... j1 r7, j3 r7]
// (one in-block pshufb, one vpermq, shared by both nibbles and, in the tile, by MR rows
// of X). Tables [T0 | T1] then hit the even bytes and [T2 | T3] the odd ones; a constant
// blend merges the two lookups and vpmaddubsw with the plane weight sums each row's pair
// into int16: block 0 holds rows 0-7 of (j0 + j2), block 1 of (j1 + j3). The int16 sums
// of one step fold into the int32 chains (|sum| <= 2 * kBits index vectors x 2 x 255 x
// 2^(kBits-1) < 2^15). Exact high bytes: merged the same way and summed per plane in
// int8 as in gemv_step, widened by widen_pair_planes. (A layout stored in this order
// would save the regrouping; the packed format keeps one layout for every target.)

// A strip's 32 code bytes in pair order (in-block pshufb, then 64-bit quarters 0 2 1 3),
// split into the index vectors of the low and the high nibbles.
HWY_INLINE void pair_indices(const uint8_t* HWY_RESTRICT p, hn::Vec<DU8>& lo, hn::Vec<DU8>& hi) {
  const DU8 du8;
  const hn::Repartition<uint16_t, DU8> du16;
  alignas(16) static constexpr uint8_t kPairs[16] = {0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15};
  auto v = hn::TableLookupBytes(hn::LoadU(du8, p), hn::LoadDup128(du8, kPairs));
  v = hn::Vec<DU8>{_mm256_permute4x64_epi64(v.raw, 0xD8)};
  const auto nib = hn::Set(du8, uint8_t{0x0F});
  lo = hn::And(v, nib);
  hi = hn::And(hn::BitCast(du8, hn::ShiftRight<4>(hn::BitCast(du16, v))), nib);
}

// One segment's 64-entry table (T0 T1 T2 T3) at pair-order indices: T0 | T1 serve the
// even bytes, T2 | T3 the odd ones, merged by a constant blend.
HWY_INLINE hn::Vec<DU8> pair_lookup(const uint8_t* HWY_RESTRICT tab, hn::Vec<DU8> idx) {
  const DU8 du8;
  const auto odd = hn::MaskFromVec(hn::BitCast(du8, hn::Set(hn::Repartition<uint16_t, DU8>(), uint16_t{0xFF00})));
  return hn::IfThenElse(odd, hn::TableLookupBytes(hn::LoadU(du8, tab + 32), idx),
                        hn::TableLookupBytes(hn::LoadU(du8, tab), idx));
}

// int16 row sums of pair order (block 0: rows 0-7 of j0 + j2, block 1 of j1 + j3) -> int32.
HWY_INLINE hn::Vec<DI> fold_pairs(hn::Vec<hn::Repartition<int16_t, DU8>> a) {
  return hn::Add(hn::PromoteLowerTo(DI(), a), hn::PromoteUpperTo(DI(), a));
}

template <int kBits, TableMode kMode>
HWY_INLINE void gemv_step_pairs(const uint8_t* HWY_RESTRICT blk, const uint8_t* HWY_RESTRICT tlo,
                                const uint8_t* HWY_RESTRICT thi, hn::Vec<DI>& al, hn::Vec<DI8>& b0,
                                hn::Vec<DI8>& b1, hn::Vec<DI8>& b2, hn::Vec<DI8>& b3) {
  constexpr bool kExact = kMode == TableMode::kExact;
  const DU8 du8;
  const DI8 di8;
  const hn::Repartition<int16_t, DU8> di16;
  auto acc = hn::Zero(di16);
  for (int beta = 0; beta < kBits; ++beta) {
    hn::Vec<DU8> idx_lo, idx_hi;
    pair_indices(blk + beta * 64, idx_lo, idx_hi);
    for (int h = 0; h < 2; ++h) {
      const auto idx = h == 0 ? idx_lo : idx_hi;
      const int vec = 2 * beta + h;
      const int64_t seg = (vec / kBits) * kSegBytes;
      const int plane = vec % kBits;
      const auto r = pair_lookup(tlo + seg, idx);
      if constexpr (kExact) {
        acc = hn::Add(acc, hn::SatWidenMulPairwiseAdd(di16, r, hn::Set(di8, int8_t(1 << plane))));
        hn::Vec<DI8>& bp = plane == 0 ? b0 : plane == 1 ? b1 : plane == 2 ? b2 : b3;
        bp = hn::Add(bp, hn::BitCast(di8, pair_lookup(thi + seg, idx)));
      } else {
        acc = hn::Add(acc, hn::SatWidenMulPairwiseAdd(di16, hn::Set(du8, uint8_t(1u << plane)), hn::BitCast(di8, r)));
      }
    }
  }
  al = hn::Add(al, fold_pairs(acc));
}

// The fast-table GEMM tile's step (tile_strip_step) in pair order: MR rows of X share
// each regrouped index vector; one int16 sum per row and step, folded as in the GEMV.
template <int kBits, int MR, class VI>
HWY_INLINE void tile_strip_step_pairs(const uint8_t* HWY_RESTRICT blk, const uint8_t* const* tlo, int64_t stp,
                                      VI& lo0, VI& lo1, VI& lo2, VI& lo3) {
  const DU8 du8;
  const DI8 di8;
  const hn::Repartition<int16_t, DU8> di16;
  auto a0 = hn::Zero(di16), a1 = a0, a2 = a0, a3 = a0;
  for (int beta = 0; beta < kBits; ++beta) {
    hn::Vec<DU8> idx_lo, idx_hi;
    pair_indices(blk + beta * 64, idx_lo, idx_hi);
    for (int h = 0; h < 2; ++h) {
      const auto idx = h == 0 ? idx_lo : idx_hi;
      const int vec = 2 * beta + h;
      const int64_t tab_off = (2 * stp + vec / kBits) * kSegBytes;
      const auto w = hn::Set(du8, uint8_t(1u << (vec % kBits)));
#define LSGEMM_ROW(i) \
  if constexpr (MR > i) a##i = hn::Add(a##i, hn::SatWidenMulPairwiseAdd(di16, w, hn::BitCast(di8, pair_lookup(tlo[i] + tab_off, idx))));
      LSGEMM_ROW(0) LSGEMM_ROW(1) LSGEMM_ROW(2) LSGEMM_ROW(3)
#undef LSGEMM_ROW
    }
  }
  lo0 = hn::Add(lo0, fold_pairs(a0));
  if constexpr (MR > 1) lo1 = hn::Add(lo1, fold_pairs(a1));
  if constexpr (MR > 2) lo2 = hn::Add(lo2, fold_pairs(a2));
  if constexpr (MR > 3) lo3 = hn::Add(lo3, fold_pairs(a3));
}

// widen_planes for gemv_step_pairs' byte order: row r's pair in bytes 2r, 2r + 1 of both
// 16-byte blocks.
template <int kBits>
HWY_INLINE hn::Vec<DI> widen_pair_planes(hn::Vec<DI8> b0, hn::Vec<DI8> b1, hn::Vec<DI8> b2, hn::Vec<DI8> b3) {
  const DU8 du8;
  const hn::Repartition<int16_t, DU8> di16;
  auto acc = hn::SatWidenMulPairwiseAdd(di16, hn::Set(du8, uint8_t{1}), b0);
  if constexpr (kBits >= 2) acc = hn::Add(acc, hn::SatWidenMulPairwiseAdd(di16, hn::Set(du8, uint8_t{2}), b1));
  if constexpr (kBits >= 3) acc = hn::Add(acc, hn::SatWidenMulPairwiseAdd(di16, hn::Set(du8, uint8_t{4}), b2));
  if constexpr (kBits >= 4) acc = hn::Add(acc, hn::SatWidenMulPairwiseAdd(di16, hn::Set(du8, uint8_t{8}), b3));
  return fold_pairs(acc);
}
#endif  // HWY_TARGET == HWY_AVX2

// Whether gemv_pair takes gemv_step_pairs (AVX2, bit planes).
template <int kBits>
constexpr bool kPairSteps = HWY_TARGET == HWY_AVX2 && kBits > 0;

// ----------------------------------------------------------------------------------
// The tile: MR rows of X (m0..) x 2 strips (s0, s0 + 1), all of K. kBits = planes
// (1..4) or 0 for ternary triples. y[i * 2L + r * L + lane] = output (m0 + i, strip
// s0 + r). X blocks [b0, b1) only; with `load`, adds to the sums already in y (K chunks).
//
// Every accumulator is a named variable (row i, strip r), not an array element: sizeless
// (SVE) vectors cannot form arrays, and GCC kept arrays of vectors in memory.

// One lookup index vector of one strip against row i's tables: lo (+ hi, exact) int32
// quad sums. plane: the bit plane of the index vector (0 for triples); neg: triples'
// sign mask.
template <int kBits, TableMode kMode, int kVB, class VU8, class M8, class VI>
HWY_INLINE void lookup_row(const uint8_t* HWY_RESTRICT tlo, const uint8_t* HWY_RESTRICT thi, VU8 idx, int plane,
                           M8 neg, VI& lo, VI& hi) {
  constexpr bool kExact = kMode == TableMode::kExact;
  const DU8 du8;
  const DI8 di8;
  const auto ones_u8 = hn::Set(du8, uint8_t{1});
  if constexpr (kBits == 0) {  // triples
    if constexpr (kExact) {
      const auto sgn = hn::IfThenElse(neg, hn::Set(di8, int8_t{-1}), hn::Set(di8, int8_t{1}));
      const auto h = hn::BitCast(di8, lookup64<kVB>(thi, idx));
      lo = qdot<8>(lookup64<kVB>(tlo, idx), sgn, lo);
      hi = qdot<4>(ones_u8, hn::MaskedSubOr(h, neg, hn::Zero(di8), h), hi);
    } else {
      const auto e = hn::BitCast(di8, lookup64<kVB>(tlo, idx));
      lo = qdot<4>(ones_u8, hn::MaskedSubOr(e, neg, hn::Zero(di8), e), lo);
    }
  } else if constexpr (kExact) {
    lo = qdot_pos(lookup64<kVB>(tlo, idx), hn::Set(di8, int8_t(1 << plane)), lo);
    hi = qdot<4>(hn::Set(du8, uint8_t(1u << plane)), hn::BitCast(di8, lookup64<kVB>(thi, idx)), hi);
  } else {
    lo = qdot<4>(hn::Set(du8, uint8_t(1u << plane)), hn::BitCast(di8, lookup64<kVB>(tlo, idx)), lo);
  }
}

// One step (kBits packed blocks, or one triples block) of one strip for rows < MR.
template <int kBits, TableMode kMode, int MR, int kVB, class VI>
HWY_INLINE void tile_strip_step(const uint8_t* HWY_RESTRICT blk, int64_t sign_off, const uint8_t* const* tlo,
                                const uint8_t* const* thi, int64_t stp, VI& lo0, VI& hi0, VI& lo1, VI& hi1, VI& lo2,
                                VI& hi2, VI& lo3, VI& hi3) {
  constexpr bool kExact = kMode == TableMode::kExact;
  constexpr bool kTriples = kBits == 0;
  constexpr int kBlocksPerStep = kTriples ? 1 : kBits;  // packed blocks per step
  constexpr int64_t kBlockBytes = kTriples ? 80 : 64;
  const DU8 du8;
  const DI8 di8;
  const hn::Repartition<uint16_t, DU8> du16;
  const auto nib = hn::Set(du8, uint8_t{0x0F});
  const auto off = hn::BitCast(du8, hn::Set(hn::Repartition<uint32_t, DU8>(), 0x30201000u));  // sub-table j
  for (int beta = 0; beta < kBlocksPerStep; ++beta) {
    const auto v = hn::LoadU(du8, blk + beta * kBlockBytes);
    const auto idx_lo = hn::OrAnd(off, v, nib);
    const auto idx_hi = hn::OrAnd(off, hn::BitCast(du8, hn::ShiftRight<4>(hn::BitCast(du16, v))), nib);
    for (int h = 0; h < 2; ++h) {
      const auto idx = h == 0 ? idx_lo : idx_hi;
      const int vec = 2 * beta + h;                          // within the step
      const int seg = kTriples ? h : vec / kBits;             // segment within the step
      const int plane = kTriples ? 0 : vec % kBits;
      const int64_t tab_off = (2 * stp + seg) * kSegBytes;
      const auto neg = kTriples ? hn::RebindMask(di8, hn::LoadMaskBits(du8, blk + beta * kBlockBytes + sign_off + 8 * h))
                                : hn::MaskFalse(di8);
#define LSGEMM_ROW(i)                                                                                       \
  if constexpr (MR > i)                                                                                     \
    lookup_row<kBits, kMode, kVB>(tlo[i] + tab_off, kExact ? thi[i] + tab_off : nullptr, idx, plane, neg, lo##i, \
                             hi##i);
      LSGEMM_ROW(0) LSGEMM_ROW(1) LSGEMM_ROW(2) LSGEMM_ROW(3)
#undef LSGEMM_ROW
    }
  }
}

template <int kBits, TableMode kMode, int MR, int kVB>
HWY_NOINLINE void lut_tile(const LutMatrix& w, const Tables& t, int64_t m0, int64_t s0, int64_t b0, int64_t b1,
                           bool load, float* HWY_RESTRICT y) {
  static_assert(MR >= 1 && MR <= 4, "MR in [1, 4]");
  constexpr bool kExact = kMode == TableMode::kExact;
  constexpr bool kTriples = kBits == 0;
  constexpr int64_t kStepBytes = kTriples ? 80 : 64 * kBits;  // codes per step and strip
  const DF df;
  const DI di;
  const int64_t L = int64_t(hn::Lanes(df));
  const TableSpec& sp = t.spec;
  const int64_t B = sp.blocks(), row_bytes = sp.row_bytes();
  const int64_t steps_per_block = sp.block / (kTriples ? 24 : 32);

  // A strip past the last tile (odd tile count) re-reads the last strip; the caller
  // drops its outputs (they are beyond N).
  const int64_t strips = strip_count(w.tiles(), L);
  const Strip st0 = strip_at(w, std::min(s0, strips - 1), size_t(L));
  const Strip st1 = strip_at(w, std::min(s0 + 1, strips - 1), size_t(L));
  const uint8_t* tlo[MR];
  const uint8_t* thi[MR];
  for (int i = 0; i < MR; ++i) {
    tlo[i] = t.lo.data() + (m0 + i) * row_bytes;
    thi[i] = kExact ? t.hi.data() + (m0 + i) * row_bytes : nullptr;
  }

  // (row i, strip r) accumulators; rows >= MR compile away.
#define LSGEMM_IR(X) X(0, 0) X(0, 1) X(1, 0) X(1, 1) X(2, 0) X(2, 1) X(3, 0) X(3, 1)
#define LSGEMM_DECL(i, r) /* f32 running sums */ \
  auto yf##i##r = (MR > i && load) ? hn::LoadU(df, y + (i * 2 + r) * L) : hn::Zero(df);
  LSGEMM_IR(LSGEMM_DECL)
#undef LSGEMM_DECL
  auto S0 = hn::Zero(df), C0 = S0, S1 = S0, C1 = S0;  // the strips' group constants
  const int64_t bpg = w.group / sp.block;  // X blocks per weight group (group % block == 0)
  int64_t gcur = b0 / bpg - 1, gnext = b0;  // first block of the next group

  for (int64_t b = b0; b < b1; ++b) {
#define LSGEMM_DECL(i, r) /* int32 block sums; hi: exact high bytes */ \
  auto lo##i##r = hn::Zero(di), hi##i##r = hn::Zero(di);
    LSGEMM_IR(LSGEMM_DECL)
#undef LSGEMM_DECL
    for (int64_t stp = b * steps_per_block; stp < (b + 1) * steps_per_block; ++stp) {
#if HWY_TARGET == HWY_AVX2
      if constexpr (kPairSteps<kBits> && !kExact) {
        tile_strip_step_pairs<kBits, MR>(st0.codes + stp * kStepBytes, tlo, stp, lo00, lo10, lo20, lo30);
        tile_strip_step_pairs<kBits, MR>(st1.codes + stp * kStepBytes, tlo, stp, lo01, lo11, lo21, lo31);
        continue;
      }
#endif
      tile_strip_step<kBits, kMode, MR, kVB>(st0.codes + stp * kStepBytes, st0.sign_off, tlo, thi, stp, lo00, hi00, lo10,
                                        hi10, lo20, hi20, lo30, hi30);
      tile_strip_step<kBits, kMode, MR, kVB>(st1.codes + stp * kStepBytes, st1.sign_off, tlo, thi, stp, lo01, hi01, lo11,
                                        hi11, lo21, hi21, lo31, hi31);
    }
    // Block epilogue: y += S_g * scale_b * isum + C_g * xsum_b. (A division per block
    // here showed up as idiv in the GEMM's hot loop; the group advances by counting.)
    if (b == gnext) {
      ++gcur;
      gnext = (gcur + 1) * bpg;
      group_consts(w, st0, gcur, S0, C0);
      group_consts(w, st1, gcur, S1, C1);
    }
    // The order of the shared u8 x s8 tile (core/simd/gemm_tile-inl.h): the unpacked
    // path then gives bit-identical Y in exact mode.
#define LSGEMM_EPI(i, r)                                                          \
  if constexpr (MR > i) {                                                         \
    const auto sc = hn::Set(df, t.scale[size_t((m0 + i) * B + b)]);               \
    const auto xs = hn::Set(df, t.xsum[size_t((m0 + i) * B + b)]);                \
    const auto isum = kExact ? hn::Add(lo##i##r, hn::ShiftLeft<8>(hi##i##r)) : lo##i##r; \
    yf##i##r = hn::MulAdd(hn::ConvertTo(df, isum), hn::Mul(S##r, sc), yf##i##r);  \
    yf##i##r = hn::MulAdd(C##r, xs, yf##i##r);                                    \
  }
    LSGEMM_IR(LSGEMM_EPI)
#undef LSGEMM_EPI
  }
#define LSGEMM_STORE(i, r) \
  if constexpr (MR > i) hn::StoreU(yf##i##r, df, y + (i * 2 + r) * L);
  LSGEMM_IR(LSGEMM_STORE)
#undef LSGEMM_STORE
#undef LSGEMM_IR
}

// sum_i 2^i * (quad sums of b_i) over the planes of kBits (triples: one, weight 1).
// In the byte order of the step that summed them (gemv_step, or gemv_step_pairs).
template <int kBits>
HWY_INLINE hn::Vec<DI> widen_planes(hn::Vec<DI8> b0, hn::Vec<DI8> b1, hn::Vec<DI8> b2, hn::Vec<DI8> b3) {
#if HWY_TARGET == HWY_AVX2
  if constexpr (kPairSteps<kBits>) return widen_pair_planes<kBits>(b0, b1, b2, b3);
#endif
  const DU8 du8;
  auto acc = qdot<4>(hn::Set(du8, uint8_t{1}), b0, hn::Zero(DI()));
  if constexpr (kBits >= 2) acc = qdot<4>(hn::Set(du8, uint8_t{2}), b1, acc);
  if constexpr (kBits >= 3) acc = qdot<4>(hn::Set(du8, uint8_t{4}), b2, acc);
  if constexpr (kBits >= 4) acc = qdot<4>(hn::Set(du8, uint8_t{8}), b3, acc);
  return acc;
}

// ----------------------------------------------------------------------------------
// GEMV (M < kMR): one row of X against a strip pair (2 strips of L rows), all of K.
// The same lookups as lut_tile, organised for a stream of codes from DRAM:
//  - two int32 chains per strip (the nibble halves), named, not arrays: one chain did
//    2 * planes dependent quad dots per step (latency-bound), and GCC kept the arrays of
//    lut_tile in memory, storing every accumulator once per step;
//  - per X block 2 float ops per strip (g += float(isum) * scale_b), the group's
//    (S, C) applied once per weight group: y += S * g + C * sum_b xsum_b;
//  - software prefetch kPrefetchBytes ahead in each strip's stream, continuing past the
//    end of the tile into the next pair's tile of the same rank (parallel_for hands a
//    thread contiguous tasks), not into the next tile, which the other strip reads.
template <int kBits, TableMode kMode, int kVB>
HWY_INLINE void gemv_step(const uint8_t* HWY_RESTRICT blk, int64_t sign_off, const uint8_t* HWY_RESTRICT tlo,
                          const uint8_t* HWY_RESTRICT thi, hn::Vec<DI>& l0, hn::Vec<DI>& l1, hn::Vec<DI8>& b0,
                          hn::Vec<DI8>& b1, hn::Vec<DI8>& b2, hn::Vec<DI8>& b3) {
  constexpr bool kExact = kMode == TableMode::kExact;
  constexpr bool kTriples = kBits == 0;
  constexpr int kBlocks = kTriples ? 1 : kBits;  // 64-byte code blocks per step
  constexpr int64_t kBlockBytes = kTriples ? 80 : 64;
  const DU8 du8;
  const DI8 di8;
  const hn::Repartition<uint16_t, DU8> du16;
  const auto nib = hn::Set(du8, uint8_t{0x0F});
  const auto off = hn::BitCast(du8, hn::Set(hn::Repartition<uint32_t, DU8>(), 0x30201000u));  // sub-table j
  const auto ones_u8 = hn::Set(du8, uint8_t{1});
  for (int beta = 0; beta < kBlocks; ++beta) {
    const auto v = hn::LoadU(du8, blk + beta * kBlockBytes);
    const auto idx_lo = hn::OrAnd(off, v, nib);
    const auto idx_hi = hn::OrAnd(off, hn::BitCast(du8, hn::ShiftRight<4>(hn::BitCast(du16, v))), nib);
    for (int h = 0; h < 2; ++h) {
      const auto idx = h == 0 ? idx_lo : idx_hi;
      hn::Vec<DI>& al = h == 0 ? l0 : l1;
      const int vec = 2 * beta + h;
      const int64_t seg = (kTriples ? h : vec / kBits) * kSegBytes;
      const int plane = kTriples ? 0 : vec % kBits;
      // Exact high bytes, by plane, summed in int8 (see gemv_pair).
      hn::Vec<DI8>& hb = plane == 0 ? b0 : plane == 1 ? b1 : plane == 2 ? b2 : b3;
      if constexpr (kTriples) {
        const auto neg = hn::RebindMask(di8, hn::LoadMaskBits(du8, blk + sign_off + 8 * h));
        if constexpr (kExact) {
          const auto sgn = hn::IfThenElse(neg, hn::Set(di8, int8_t{-1}), hn::Set(di8, int8_t{1}));
          const auto hi = hn::BitCast(di8, lookup64<kVB>(thi + seg, idx));
          al = qdot<8>(lookup64<kVB>(tlo + seg, idx), sgn, al);
          hb = hn::Add(hb, hn::MaskedSubOr(hi, neg, hn::Zero(di8), hi));
        } else {
          const auto e = hn::BitCast(di8, lookup64<kVB>(tlo + seg, idx));
          al = qdot<4>(ones_u8, hn::MaskedSubOr(e, neg, hn::Zero(di8), e), al);
        }
      } else {
        if constexpr (kExact) {
          al = qdot_pos(lookup64<kVB>(tlo + seg, idx), hn::Set(di8, int8_t(1 << plane)), al);
          hb = hn::Add(hb, hn::BitCast(di8, lookup64<kVB>(thi + seg, idx)));
        } else {
          al = qdot<4>(hn::Set(du8, uint8_t(1u << plane)), hn::BitCast(di8, lookup64<kVB>(tlo + seg, idx)), al);
        }
      }
    }
  }
}

// y[r * L + lane] = row m of X times strip s0 + r (r < 2).
template <int kBits, TableMode kMode, int kVB>
HWY_NOINLINE void gemv_pair(const LutMatrix& w, const Tables& t, int64_t m, int64_t s0, float* HWY_RESTRICT y) {
  constexpr bool kExact = kMode == TableMode::kExact;
  constexpr bool kTriples = kBits == 0;
  constexpr int64_t kStepBytes = kTriples ? 80 : 64 * kBits;  // codes per step and strip
  const DF df;
  const DI di;
  const DI8 di8;
  const size_t L = hn::Lanes(df);
  const TableSpec& sp = t.spec;
  const int64_t B = sp.blocks();
  const int64_t spb = sp.block / (kTriples ? 24 : 32);  // steps per X block
  const int64_t strips = strip_count(w.tiles(), int64_t(L));
  // A strip past the last tile (odd tile count) re-reads the last one; the caller drops
  // its outputs.
  const Strip st0 = strip_at(w, std::min(s0, strips - 1), L);
  const Strip st1 = strip_at(w, std::min(s0 + 1, strips - 1), L);
  const uint8_t* tlo = t.lo.data() + m * sp.row_bytes();
  const uint8_t* thi = kExact ? t.hi.data() + m * sp.row_bytes() : nullptr;
  const float* scale = t.scale.data() + m * B;
  const float* xsum = t.xsum.data() + m * B;
  const int64_t tile_bytes = w.tile_bytes();
  const int64_t pf_skip_tiles = pair_skip_tiles(int64_t(L));  // core/row_tiles.hpp
  const int64_t G = w.groups();
  constexpr int64_t kConstAhead = 16;  // groups: 512 bytes of each constant stream

  auto y0 = hn::Zero(df), y1 = hn::Zero(df);  // (2) f32 outputs
  auto g0 = hn::Zero(df), g1 = hn::Zero(df);  // (2) f32 sums of the current weight group
  float xs_group = 0.0f;
  hn::Vec<DF> S0, C0, S1, C1;
  const int64_t bpg = w.group / sp.block;  // X blocks per weight group
  int64_t gcur = 0;
  group_consts(w, st0, 0, S0, C0);
  group_consts(w, st1, 0, S1, C1);
  // (A lambda for the two flushes below, capturing the vectors by reference, measured
  // 30 % slower at 4-bit exact: flush_group takes and returns values.)
  for (int64_t b = 0; b < B; ++b) {
    if (b == (gcur + 1) * bpg) {  // a new weight group: y += S * g + C * sum_b xsum_b
      y0 = flush_group(y0, S0, g0, C0, hn::Set(df, xs_group));
      y1 = flush_group(y1, S1, g1, C1, hn::Set(df, xs_group));
      g0 = g1 = hn::Zero(df);
      xs_group = 0.0f;
      ++gcur;
      group_consts(w, st0, gcur, S0, C0);
      group_consts(w, st1, gcur, S1, C1);
      // The constants are streams of their own (32 bytes per group and strip):
      // kConstAhead groups ahead, continuing into the next pair's tiles as the codes do.
      const int64_t ga = gcur + kConstAhead;
      const int64_t coff = (ga < G ? ga : ga + pf_skip_tiles * G) * kTileRows;
      lsgemm::detail::prefetch_l2(st0.scales + coff);
      lsgemm::detail::prefetch_l2(st1.scales + coff);
      if (st0.offsets) {
        lsgemm::detail::prefetch_l2(st0.offsets + coff);
        lsgemm::detail::prefetch_l2(st1.offsets + coff);
      }
    }
    auto l00 = hn::Zero(di), l01 = hn::Zero(di), l10 = hn::Zero(di), l11 = hn::Zero(di);  // (2 strips, 2)
    // Exact high bytes per (strip, plane), summed in int8 and widened once per X block:
    // |hi| <= 2 (|T| <= 508, T = lo + 256 hi) and a block has <= 8 index vectors per plane
    // (128 k / 16), so |sum| <= 16. One quad dot per plane and block instead of one per
    // lookup (measured: 4-bit exact GEMV, cold, 438 -> 348 us; hot and 2-bit unchanged).
    auto b00 = hn::Zero(di8), b01 = hn::Zero(di8), b02 = hn::Zero(di8), b03 = hn::Zero(di8);
    auto b10 = hn::Zero(di8), b11 = hn::Zero(di8), b12 = hn::Zero(di8), b13 = hn::Zero(di8);
    for (int64_t stp = b * spb; stp < (b + 1) * spb; ++stp) {
      const int64_t pos = stp * kStepBytes;
      const int64_t ahead = pair_stream_ahead(pos, kPrefetchBytes, tile_bytes, int64_t(L));  // core/row_tiles.hpp
      for (int64_t c = 0; c < kStepBytes; c += 64) {
        lsgemm::detail::prefetch_l2(st0.codes + ahead + c);
        lsgemm::detail::prefetch_l2(st1.codes + ahead + c);
      }
      const uint8_t* tl = tlo + 2 * stp * kSegBytes;
      const uint8_t* th = kExact ? thi + 2 * stp * kSegBytes : nullptr;
#if HWY_TARGET == HWY_AVX2
      if constexpr (kPairSteps<kBits>) {
        gemv_step_pairs<kBits, kMode>(st0.codes + pos, tl, th, l00, b00, b01, b02, b03);
        gemv_step_pairs<kBits, kMode>(st1.codes + pos, tl, th, l10, b10, b11, b12, b13);
        continue;
      }
#endif
      gemv_step<kBits, kMode, kVB>(st0.codes + pos, st0.sign_off, tl, th, l00, l01, b00, b01, b02, b03);
      gemv_step<kBits, kMode, kVB>(st1.codes + pos, st1.sign_off, tl, th, l10, l11, b10, b11, b12, b13);
    }
    auto i0 = hn::Add(l00, l01), i1 = hn::Add(l10, l11);
    if constexpr (kExact) {
      i0 = hn::Add(i0, hn::ShiftLeft<8>(widen_planes<kBits>(b00, b01, b02, b03)));
      i1 = hn::Add(i1, hn::ShiftLeft<8>(widen_planes<kBits>(b10, b11, b12, b13)));
    }
    const auto sc = hn::Set(df, scale[b]);
    g0 = hn::MulAdd(hn::ConvertTo(df, i0), sc, g0);
    g1 = hn::MulAdd(hn::ConvertTo(df, i1), sc, g1);
    xs_group += xsum[b];
  }
  y0 = flush_group(y0, S0, g0, C0, hn::Set(df, xs_group));
  y1 = flush_group(y1, S1, g1, C1, hn::Set(df, xs_group));
  hn::StoreU(y0, df, y);
  hn::StoreU(y1, df, y + L);
}

template <int kBits, TableMode kMode, int kVB>
void matmul_vb(const Tables& t, const LutMatrix& w, HostView<float> Y, const Epilogue& epi) {
  constexpr int R = 2;  // strips per tile
  constexpr int MR = kMode == TableMode::kExact ? kMRExact : kMR;
  const int64_t L = int64_t(hn::Lanes(DF()));
  const int64_t M = t.m, N = w.n, B = t.spec.blocks();
  const int64_t pairs = strip_pairs(w.tiles(), L);  // core/row_tiles.hpp (R = 2)
  if (M < MR) {  // choose_path's GEMV rule
    // GEMV-shaped (core/simd/gemm_driver-inl.h): the M rows' tables (16-32 KB each at
    // K = 4096) stay in L1/L2 while the codes stream from DRAM.
    simd::HWY_NAMESPACE::gemv_pairs(pairs, M, Y, epi,
                                    [&](int64_t m, int64_t pr, float* y) { gemv_pair<kBits, kMode, kVB>(w, t, m, pr * R, y); });
    return;
  }
  // GEMM-shaped: every table entry is read once per strip pair, so the M x K tables
  // (2-4 MB at M = 128, K = 4096) would stream from L3 once per pair. Instead each
  // task owns P pairs and walks K in chunks whose tables for all M rows fit in half
  // of L2; within a chunk the P pairs re-read them from L2.
  const int64_t bytes_per_k = kMode == TableMode::kExact ? 8 : 4;
  const int64_t chunk_blocks =
      std::max<int64_t>(1, (kTableChunkBytes / (M * bytes_per_k)) / t.spec.block);
  const int64_t P = std::max<int64_t>(1, std::min<int64_t>(kPairsPerTask, pairs / (4 * max_threads())));
  const int64_t tasks = (pairs + P - 1) / P;
  parallel_for(tasks, [&](int64_t task) {
    const int64_t p0 = task * P, p1 = std::min(pairs, p0 + P);
    thread_local AlignedBuffer<float> ybuf;  // (pair, M, R*L) f32 sums across chunks
    if (ybuf.size() < size_t(P * M * R * L)) ybuf.resize(size_t(P * M * R * L));
    float* yb = ybuf.data();
    for (int64_t b0 = 0; b0 < B; b0 += chunk_blocks) {
      const int64_t b1 = std::min(B, b0 + chunk_blocks);
      for (int64_t pr = p0; pr < p1; ++pr) {
        float* yp = yb + (pr - p0) * M * R * L;
        int64_t m = 0;
        for (; m + MR <= M; m += MR) lut_tile<kBits, kMode, MR, kVB>(w, t, m, pr * R, b0, b1, b0 > 0, yp + m * R * L);
        for (; m < M; ++m) lut_tile<kBits, kMode, 1, kVB>(w, t, m, pr * R, b0, b1, b0 > 0, yp + m * R * L);
      }
    }
    for (int64_t pr = p0; pr < p1; ++pr) {
      const int64_t n0 = pr * R * L;
      if (n0 < N) simd::HWY_NAMESPACE::store_tile(yb + (pr - p0) * M * R * L, R * L, 0, M, n0, std::min(R * L, N - n0), Y, epi);
    }
  });
}

// The vector's byte count as a template argument: fixed per target, except on the
// scalable ones (SVE, RVV), read once per call. Highway's scalable vectors hold a power
// of two of lanes, DU8 at most 64: 16, 32 or 64 bytes.
template <int kBits, TableMode kMode>
void matmul_kind(const Tables& t, const LutMatrix& w, HostView<float> Y, const Epilogue& epi) {
#if HWY_HAVE_SCALABLE
  const size_t bytes = hn::Lanes(DU8());
  if (bytes >= 64) return matmul_vb<kBits, kMode, 64>(t, w, Y, epi);
  if (bytes == 32) return matmul_vb<kBits, kMode, 32>(t, w, Y, epi);
  return matmul_vb<kBits, kMode, 16>(t, w, Y, epi);
#else
  matmul_vb<kBits, kMode, int(hn::MaxLanes(DU8()))>(t, w, Y, epi);
#endif
}

// ----------------------------------------------------------------------------------
// Exact mode, large M: unpack the bit planes to u8 codes and run the shared u8 x s8 GEMM
// (core/simd/gemm_driver-inl.h). Exact tables hold exact sums of the int8 X, so
// sum_b of the table lookups == sum_k q_k * xq_k: both paths give the same integer
// block sums, and the same epilogue with X blocks as the skeleton's "groups".
// Per 16 rows x 16 k x row of X, the lookups cost 2b permutes + 2b quad dots (b planes,
// exact = two byte planes), the unpacked GEMM 4 quad dots: from 2 bits on it is cheaper
// once the unpack is shared by enough rows (min_rows_unpacked, measured).
template <int kBits>
struct PlanesDecoder {
  const LutMatrix& w;
  int64_t n() const { return w.n; }
  int64_t k() const { return w.k; }
  int64_t kp() const { return w.kp; }
  int64_t blocks() const {
    const int64_t L = int64_t(hn::Lanes(DF()));
    return strip_pairs(w.tiles(), L);
  }
  int64_t group() const { return w.x_block(); }

  // Quads of k in [k0, k0 + kc) (kc a multiple of 16) for the 2L outputs of pair nb:
  // byte u of lane r of quad q = q[row][k0 + 4q + u] = sum_i 2^i bit u of nibble_i.
  simd::HWY_NAMESPACE::U8Panel decode_u8(int64_t nb, int64_t k0, int64_t kc, uint8_t* HWY_RESTRICT out) const {
    const DU8 du8;
    const size_t L = hn::Lanes(DF());
    const int64_t strips = strip_count(w.tiles(), int64_t(L));
    const int64_t nq = kc / 4;
    alignas(64) static constexpr uint8_t kSpread[16] = {0, 0, 0, 0, 4, 4, 4, 4, 8, 8, 8, 8, 12, 12, 12, 12};
    alignas(64) static constexpr uint8_t kBit[16] = {1, 2, 4, 8, 1, 2, 4, 8, 1, 2, 4, 8, 1, 2, 4, 8};
    const auto spread = hn::LoadDup128(du8, kSpread), bitsel = hn::LoadDup128(du8, kBit);
    const auto nibm = hn::Set(du8, uint8_t{0x0F});
    for (int h = 0; h < 2; ++h) {
      const Strip st = strip_at(w, std::min(2 * nb + h, strips - 1), L);
      uint8_t* o = out + h * nq * 4 * int64_t(L);
      for (int64_t s = k0 / 16; s < (k0 + kc) / 16; ++s) {
        // Nibble vector i (plane i of these 16 k), named: no arrays of sizeless vectors.
        auto nibble = [&](int i) {
          const int64_t v = s * kBits + i;
          const auto raw = hn::LoadU(du8, st.codes + (v / 2) * 64);
          return (v % 2) ? hn::And(hn::ShiftRight<4>(raw), nibm) : hn::And(raw, nibm);
        };
        const auto nib0 = nibble(0);
        const auto nib1 = kBits > 1 ? nibble(1) : nib0;
        const auto nib2 = kBits > 2 ? nibble(2) : nib0;
        const auto nib3 = kBits > 3 ? nibble(3) : nib0;
        for (int j = 0; j < 4; ++j) {
          const auto sel = hn::Add(spread, hn::Set(du8, uint8_t(j)));
          // bit j of each row's nibble in plane i -> bit i of its code
          auto bit = [&](hn::Vec<DU8> n, int i) {
            return hn::IfThenElseZero(hn::TestBit(hn::TableLookupBytes(n, sel), bitsel), hn::Set(du8, uint8_t(1u << i)));
          };
          auto q = bit(nib0, 0);
          if constexpr (kBits > 1) q = hn::Or(q, bit(nib1, 1));
          if constexpr (kBits > 2) q = hn::Or(q, bit(nib2, 2));
          if constexpr (kBits > 3) q = hn::Or(q, bit(nib3, 3));
          hn::StoreU(q, du8, o + ((s * 16 - k0) / 4 + j) * 4 * int64_t(L));
        }
      }
    }
    return {out, out + nq * 4 * int64_t(L), 4 * int64_t(L)};
  }

  // Per output c < 2L of pair nb, X block g: y += S * sx * isum + C * xs.
  void group_consts(int64_t nb, int64_t g, float* S, float* C) const {
    const DF df;
    const size_t L = hn::Lanes(df);
    const int64_t strips = strip_count(w.tiles(), int64_t(L));
    const int64_t wg = g * w.x_block() / w.group;
    for (int h = 0; h < 2; ++h) {
      hn::Vec<DF> vs, vc;
      HWY_NAMESPACE::group_consts(w, strip_at(w, std::min(2 * nb + h, strips - 1), L), wg, vs, vc);
      hn::StoreU(vs, df, S + h * L);
      hn::StoreU(vc, df, C + h * L);
    }
  }
};

template <int kBits>
void matmul_unpacked(HostView<const float> X, const LutMatrix& w, HostView<float> Y, const Epilogue& epi) {
  thread_local simd::HWY_NAMESPACE::QuantizedX xq;
  if (!simd::HWY_NAMESPACE::quantize_x_int8(X, w.x_block(), w.kp, xq))
    lsgemm::detail::fail_acts_out_of_range(X, detail::kTablesWhere, detail::kTablesMode);
  simd::HWY_NAMESPACE::gemm_u8s8<kBits>(PlanesDecoder<kBits>{w}, xq, Y, epi);
}

#endif  // LSGEMM_SIMD_KERNELS

// Y = X * W^T (+ epilogue) from prebuilt tables.
inline void matmul(const Tables& t, const LutMatrix& w, HostView<float> Y, const Epilogue& epi = {}) {
  detail::check_packed(w, "lut::matmul");
  lsgemm::detail::check_view(Y, "Y");
  lsgemm::detail::require(Y.cols == w.n, "Y has ", Y.cols, " columns but the packed weight has N=", w.n,
                          " (Y must be M x N)");
  detail::check_tables_for(t, w, Y.rows, "lut::matmul");
  if (t.m == 0) return;
#if !LSGEMM_SIMD_KERNELS
  lsgemm::detail::note_path(Path::kLutReference);  // core/simd/kernels.hpp
  reference::matmul(t, w, Y, epi);
#else
  lsgemm::detail::note_path(choose_path(w, t.m, false));  // matmul_kind takes the same branch
  const bool fast = w.table_mode == TableMode::kFast;
  switch (w.kind == WeightKind::kTernaryTriples ? 0 : w.bits) {
    case 0: return fast ? matmul_kind<0, TableMode::kFast>(t, w, Y, epi) : matmul_kind<0, TableMode::kExact>(t, w, Y, epi);
    case 1: return fast ? matmul_kind<1, TableMode::kFast>(t, w, Y, epi) : matmul_kind<1, TableMode::kExact>(t, w, Y, epi);
    case 2: return fast ? matmul_kind<2, TableMode::kFast>(t, w, Y, epi) : matmul_kind<2, TableMode::kExact>(t, w, Y, epi);
    case 3: return fast ? matmul_kind<3, TableMode::kFast>(t, w, Y, epi) : matmul_kind<3, TableMode::kExact>(t, w, Y, epi);
    default: return fast ? matmul_kind<4, TableMode::kFast>(t, w, Y, epi) : matmul_kind<4, TableMode::kExact>(t, w, Y, epi);
  }
#endif
}

#if !LSGEMM_SIMD_KERNELS
inline void make_tables(HostView<const float> X, const TableSpec& spec, Tables& out) {
  out = make_tables_reference(X, spec);
}
#endif

// Y = X * W^T (+ epilogue): builds the tables (per-thread buffer, reused across calls).
inline void matmul(HostView<const float> X, const LutMatrix& w, HostView<float> Y, const Epilogue& epi = {}) {
  lsgemm::detail::check_matmul_shapes(X, w.n, w.k, Y);
  detail::check_packed(w, "lut::matmul");
  if (X.rows == 0) return;
#if LSGEMM_SIMD_KERNELS
  if (choose_path(w, X.rows, true) == Path::kLutUnpacked) {
    lsgemm::detail::note_path(Path::kLutUnpacked);
    switch (w.bits) {
      case 1: return matmul_unpacked<1>(X, w, Y, epi);
      case 2: return matmul_unpacked<2>(X, w, Y, epi);
      case 3: return matmul_unpacked<3>(X, w, Y, epi);
      default: return matmul_unpacked<4>(X, w, Y, epi);
    }
  }
#endif
  thread_local Tables t;
  make_tables(X, w.table_spec(), t);
  matmul(t, w, Y, epi);
}

}  // namespace HWY_NAMESPACE
}  // namespace lut
}  // namespace lsgemm
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
