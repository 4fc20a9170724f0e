#pragma once
// lut: low-bit weights multiplied by table lookup (T-MAC, LUT Tensor Core, BitNet b1.58).
//
// What it is. W (N x K) holds 1-, 2-, 3- or 4-bit codes q, or ternary values t, with a
// scale per (row, group) (and an offset for asymmetric codes). The product never
// dequantizes W: X is turned into *tables* (every signed sum of a few activations) and
// the packed codes are used as table indices.
//
// Weight kinds (WeightKind) and what a code means, per (row n, group g), s = scale:
//   kUniform, asymmetric  w = s * q + m                  q in [0, 2^b), m = offset (f16)
//   kUniform, symmetric   w = s * (2q - (2^b - 1))       the odd grid +-s, +-3s, ...
//                                                        (bit planes read as +-1: T-MAC/BCQ)
//   kTernaryPlanes        w = s * t,  stored as q = t + 1 in the 2-bit uniform layout
//   kTernaryTriples       w = s * t,  3 trits -> 4-bit magnitude index + 1 sign bit
//                                     (5 bits per 3 weights = 1.67 bpw; bitnet.cpp's TL2 code)
// All are one formula, used by the kernels and the reference alike:
//   sum_k w x = sum_g [ S * sum_{k in g} c_k x_k  +  C * sum_{k in g} x_k ]
// with c = q (uniform, planes) or t (triples) and (S, C) = (s, m) asymmetric,
// (2s, -(2^b - 1) s) symmetric, (s, -s) ternary planes, (s, 0) ternary triples.
//
// Tables (Tables, built by make_tables from one row of X):
//   planes layouts:  per group of g = 4 consecutive activations x0..x3, the 16 subset sums
//                    T[p] = sum_{j: bit j of p} x_j. A code's bit plane i over 4 k is a
//                    4-bit index p, and sum_k q_k x_k = sum_i 2^i sum_groups T[p_i].
//                    (Subset sums rather than T-MAC's +-1 sums: entry 0 is exactly 0, so
//                    zero padding costs nothing, and the range is no wider.)
//   triples layout:  per 3 activations, the 14 sums T[v] = d0 x0 + d1 x1 + d2 x2 for the
//                    balanced-ternary digits of v = 9 d0 + 3 d1 + d2 in [0, 13]; a triple with
//                    value v < 0 reads T[-v] and negates it.
//   exact mode:      X is quantized to int8 per block of kb activations (kb = x_block():
//                    48 triples, the group at groups 32 and 64, else 128; sx = amax/127,
//                    xq = nearest(x * 127/amax)); entries are exact int16, stored as a low
//                    byte plane (u8) and a high byte plane (s8): T = lo + 256 hi. The
//                    integer sums are exact; y += S sx acc + C sx sum(xq) once per block.
//   fast mode:       entries are computed in float from X and rounded to int8 with one
//                    scale per block of kb (max |T| / 127): half the table bytes and lookups, a
//                    stated error (the tests bound it; T-MAC's int8 tables reach NMSE ~4e-5).
// Table memory, per row of X: segments of 4 sub-tables, 64 bytes each:
//   entry p of sub-table j of segment s at byte [s * 64 + 16 j + p]
//   (planes: sub-table j of segment s belongs to k in [16 s + 4 j, 16 s + 4 j + 4);
//    triples: to k in [12 s + 3 j, 12 s + 3 j + 3)).
//
// Packed layout (host). Rows in tiles of kTileRows = 16 (N padded with zero codes and
// zero scales); K padded with zero codes to Kp = a multiple of the block of X (kb):
//
//   planes, b bits: a tile is Kp * b / 32 blocks of 64 bytes,
//     byte [t * tile_bytes + 64 * beta + 4 r + j]      r in [0, 16) row in tile, j in [0, 4)
//       low nibble  = index vector v = 2 beta,  high nibble = index vector v = 2 beta + 1;
//       index vector v = (segment s = v / b, plane i = v % b), and bit u of its nibble is
//       bit i of q[16 t + r][16 s + 4 j + u].
//   triples: a tile is Kp / 24 blocks of 80 bytes,
//     bytes [0, 64):  byte 4 r + j, low nibble = |v| of triple j of segment 2 beta for row r,
//                     high nibble = the same in segment 2 beta + 1;
//     bytes [64, 72): bit (4 r + j) (little-endian 64-bit word) = sign of that triple in
//                     segment 2 beta; bytes [72, 80): segment 2 beta + 1.
//     Triple j of segment s is (t[k], t[k+1], t[k+2]) at k = 12 s + 3 j, v = 9 t[k] + 3 t[k+1]
//     + t[k+2]; magnitude 0 has sign bit 0.
//   Each 32-bit lane (4 r .. 4 r + 3) of a 64-byte vector of indices is one row's 4 sub-
//   tables of one segment, in the order of a table segment: one byte permute (vpermb)
//   looks all 64 up at once, and one u8 x s8 quad dot (vpdpbusd) sums a row's 4 lookups
//   into int32 with the plane weight 2^i as the other operand.
//   Scales (f16 bits) at scale[(t * G + g) * 16 + r], offsets likewise (asymmetric only),
//   G = ceil(K / group) (per-channel: G = 1). The last group may be partial.
//
// Limits: K >= 1, N >= 1, any values (tails of K and N are handled by the padding, never
// by shape-specific code). Groups 32/64/128/256 or per-channel for planes layouts; the
// triples layout takes per-channel scales only (per-tensor: pack with kPerTensor, which
// stores the one scale on every row). Scales and offsets must be finite in f16.
// Oracle: lut/reference.hpp. Kernels: lut/simd-inl.h (Highway), lut/cuda.cuh.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "lsgemm/core/abi.hpp"
#include "lsgemm/core/buffer.hpp"
#include "lsgemm/core/error.hpp"
#include "lsgemm/core/matrix.hpp"
#include "lsgemm/core/numeric.hpp"
#include "lsgemm/core/row_tiles.hpp"

namespace lsgemm {
namespace lut {

using lsgemm::kTileRows;  // core/row_tiles.hpp
inline constexpr int kSegBytes = 64;    // one segment of tables / one vector of indices
inline constexpr int kPerChannel = 0;   // group value: one scale per row
inline constexpr int kPerTensor = -1;   // pack option: one scale for W (stored per row)

enum class WeightKind { kUniform, kTernaryPlanes, kTernaryTriples };
enum class TableMode { kExact, kFast };

inline const char* weight_kind_name(WeightKind k) {
  switch (k) {
    case WeightKind::kUniform: return "uniform";
    case WeightKind::kTernaryPlanes: return "ternary-planes";
    case WeightKind::kTernaryTriples: return "ternary-triples";
  }
  return "?";
}
inline const char* table_mode_name(TableMode m) { return m == TableMode::kFast ? "fast" : "exact"; }

struct PackOptions {
  WeightKind kind = WeightKind::kUniform;
  int bits = 2;              // uniform: 1, 2, 3 or 4 (ternary kinds ignore it)
  int group = 128;           // 32, 64, 128, 256, kPerChannel, kPerTensor (ternary only)
  bool symmetric = false;    // uniform: the odd grid, no offsets stored
  TableMode tables = TableMode::kExact;

  PackOptions& with_kind(WeightKind k) { kind = k; return *this; }
  PackOptions& with_bits(int b) { bits = b; return *this; }
  PackOptions& with_group(int g) { group = g; return *this; }
  PackOptions& with_symmetric(bool s) { symmetric = s; return *this; }
  PackOptions& with_tables(TableMode m) { tables = m; return *this; }
  // BitNet b1.58: ternary weights, one absmean scale per tensor.
  static PackOptions ternary(WeightKind layout = WeightKind::kTernaryTriples, int group = kPerTensor) {
    PackOptions o;
    o.kind = layout;
    o.bits = 2;
    o.group = group;
    o.symmetric = true;
    return o;
  }
};

// What a table build depends on: weights with equal specs (and equal K) can share one
// build (Q/K/V or gate/up projections of the same X).
struct TableSpec {
  int g = 4;                 // activations per sub-table: 4 (planes) or 3 (triples)
  int block = 64;            // activations per X block (one int8 / table scale each)
  TableMode mode = TableMode::kExact;
  int64_t k = 0, kp = 0;     // logical and padded K
  int64_t segments() const { return kp / (4 * g); }
  int64_t blocks() const { return kp / block; }
  int64_t row_bytes() const { return segments() * kSegBytes; }
  bool operator==(const TableSpec& o) const {
    return g == o.g && block == o.block && mode == o.mode && k == o.k && kp == o.kp;
  }
  bool operator!=(const TableSpec& o) const { return !(*this == o); }
};

// X turned into tables (make_tables). lo holds the int8 entries (fast mode) or the low
// bytes (exact mode); hi the high bytes (exact mode only, else empty).
struct Tables {
  int64_t m = 0;
  TableSpec spec;
  AlignedBuffer<uint8_t> lo, hi;  // m * spec.row_bytes()
  AlignedBuffer<float> scale;     // m * blocks: sx (exact) or the table scale (fast)
  AlignedBuffer<float> xsum;      // m * blocks: sx * sum(xq) (exact) or sum(x) (fast)
};

// The packed weight (host memory). Movable; clone() copies.
struct LutMatrix {
  int64_t n = 0, k = 0, kp = 0;   // logical shape; K padded to a multiple of the X block
  WeightKind kind = WeightKind::kUniform;
  int bits = 2;                   // planes per code (triples: 0)
  int group = 128;                // actual group length (per-channel: == kp)
  bool per_channel = false;
  bool symmetric = false;         // uniform only
  TableMode table_mode = TableMode::kExact;
  AlignedBuffer<uint8_t> codes;   // tiles() * tile_bytes()
  AlignedBuffer<uint16_t> scales; // tiles() * groups() * 16, f16 bits
  AlignedBuffer<uint16_t> offsets;  // same count, uniform asymmetric only (f16 bits)

  bool triples() const { return kind == WeightKind::kTernaryTriples; }
  int table_g() const { return triples() ? 3 : 4; }
  // Activations per X block (one int8 scale in exact mode, one table scale in fast mode):
  // triples 48; planes: the group where it is 32 or 64, else 128 (one block epilogue per
  // 128 k: at 64 the epilogue was a fifth of the LUT GEMM's vector work, and the unpacked
  // exact GEMM paid a group fix-up per 64 k). The weight group is a multiple of it.
  int x_block() const {
    if (triples()) return 48;
    return group == 32 || group == 64 ? group : 128;
  }
  int64_t tiles() const { return row_tiles(n); }
  int64_t groups() const { return (kp + group - 1) / group; }
  int64_t block_bytes() const { return triples() ? 80 : 64; }
  int64_t blocks_per_tile() const { return triples() ? kp / 24 : kp * bits / 32; }
  int64_t tile_bytes() const { return blocks_per_tile() * block_bytes(); }
  int64_t packed_bytes() const { return int64_t(codes.bytes() + scales.bytes() + offsets.bytes()); }
  double bits_per_weight() const { return double(packed_bytes()) * 8.0 / double(n * k); }
  TableSpec table_spec() const {
    TableSpec s;
    s.g = table_g();
    s.block = x_block();
    s.mode = table_mode;
    s.k = k;
    s.kp = kp;
    return s;
  }

  // Code of W[r][c] (r < tiles()*16, c < kp): q for planes layouts, t for triples.
  int code(int64_t r, int64_t c) const {
    const int64_t t = r / kTileRows, rr = r % kTileRows;
    const uint8_t* tile = codes.data() + t * tile_bytes();
    if (triples()) {
      const int64_t s = c / 12, j = (c % 12) / 3, e = c % 3;
      const uint8_t* blk = tile + (s / 2) * 80;
      const int mag = (blk[4 * rr + j] >> (4 * (s % 2))) & 15;
      const int64_t bit = 4 * rr + j;
      const bool neg = (blk[64 + 8 * (s % 2) + bit / 8] >> (bit % 8)) & 1;
      int d[3];
      triple_digits(mag, d);
      return neg ? -d[e] : d[e];
    }
    const int64_t s = c / 16, j = (c % 16) / 4, u = c % 4;
    int q = 0;
    for (int i = 0; i < bits; ++i) {
      const int64_t v = s * bits + i;
      const uint8_t byte = tile[(v / 2) * 64 + 4 * rr + j];
      q |= ((byte >> (4 * (v % 2) + u)) & 1) << i;
    }
    return q;
  }
  float scale(int64_t r, int64_t g) const { return f16_to_f32(scales[const_index(r, g)]); }
  float offset(int64_t r, int64_t g) const {
    return offsets.size() ? f16_to_f32(offsets[const_index(r, g)]) : 0.0f;
  }
  // (S, C) of the header's formula for row r, group g.
  void group_consts(int64_t r, int64_t g, float& S, float& C) const {
    const float s = scale(r, g);
    if (kind == WeightKind::kTernaryTriples) { S = s; C = 0.0f; }
    else if (kind == WeightKind::kTernaryPlanes) { S = s; C = -s; }
    else if (symmetric) { S = 2.0f * s; C = -float((1 << bits) - 1) * s; }
    else { S = s; C = offset(r, g); }
  }
  // The weight a code stands for (dequantized value).
  float weight(int64_t r, int64_t c) const {
    const int64_t g = c / group;
    const float s = scale(r, g);
    const int q = code(r, c);
    if (kind == WeightKind::kUniform && !symmetric) return s * float(q) + offset(r, g);
    if (kind == WeightKind::kUniform) return s * float(2 * q - ((1 << bits) - 1));
    if (kind == WeightKind::kTernaryPlanes) return s * float(q - 1);
    return s * float(q);
  }
  size_t const_index(int64_t r, int64_t g) const { return tile_const_index(r, g, groups()); }

  // Balanced-ternary digits (d0, d1, d2) of v in [0, 13]: v = 9 d0 + 3 d1 + d2.
  static void triple_digits(int v, int d[3]) {
    for (int e = 2; e >= 0; --e) {
      const int r = ((v % 3) + 3) % 3;
      d[e] = r == 2 ? -1 : r;
      v = (v - d[e]) / 3;
    }
  }

  LutMatrix clone() const {
    LutMatrix c;
    c.n = n; c.k = k; c.kp = kp; c.kind = kind; c.bits = bits; c.group = group;
    c.per_channel = per_channel; c.symmetric = symmetric; c.table_mode = table_mode;
    c.codes = codes.clone(); c.scales = scales.clone(); c.offsets = offsets.clone();
    return c;
  }
};

LSGEMM_ABI_BEGIN
namespace detail {

inline int64_t round_up(int64_t a, int64_t b) { return (a + b - 1) / b * b; }

inline bool group_ok(int g) { return g == 32 || g == 64 || g == 128 || g == 256; }

inline void check_options(const PackOptions& o) {
  using lsgemm::detail::require;
  require(o.kind == WeightKind::kUniform || o.kind == WeightKind::kTernaryPlanes ||
              o.kind == WeightKind::kTernaryTriples,
          "lut: unknown weight kind");
  require(o.tables == TableMode::kExact || o.tables == TableMode::kFast, "lut: unknown table mode");
  if (o.kind == WeightKind::kUniform) {
    require(o.bits >= 1 && o.bits <= 4, "lut: bits=", o.bits, " is not supported (allowed: 1, 2, 3, 4)");
    require(group_ok(o.group) || o.group == kPerChannel, "lut: group=", o.group,
            " is not supported for uniform weights (allowed: 32, 64, 128, 256, or 0 for per-channel)");
  } else if (o.kind == WeightKind::kTernaryPlanes) {
    require(group_ok(o.group) || o.group == kPerChannel || o.group == kPerTensor, "lut: group=", o.group,
            " is not supported for ternary weights (allowed: 32, 64, 128, 256, 0 per-channel, -1 per-tensor)");
  } else {
    require(o.group == kPerChannel || o.group == kPerTensor, "lut: group=", o.group,
            " is not supported by the ternary triples layout (allowed: 0 per-channel, -1 per-tensor;"
            " use WeightKind::kTernaryPlanes for group scales)");
  }
}

inline uint16_t to_f16_checked(float s, int64_t r, int64_t g, const char* what) {
  uint16_t h = f32_to_f16(s);
  if (s != 0.0f && f16_to_f32(h) == 0.0f) h = s > 0.0f ? uint16_t(1) : uint16_t(0x8001);
  lsgemm::detail::require(std::isfinite(f16_to_f32(h)), "lut::pack: row ", r, " group ", g, " needs ",
                          what, " ", s, ", beyond f16's 65504");
  return h;
}

}  // namespace detail

// Quantizes W (N x K, float) into the packed format. Throws Error on bad options,
// bad shapes or non-finite weights.
//   uniform asymmetric: s = (max - min) / (2^b - 1), m = min, q = round((w - m) / s);
//   uniform symmetric:  s = amax / (2^b - 1), q = round((w / s + 2^b - 1) / 2);
//   ternary (BitNet b1.58 absmean): gamma = mean |w| over the scale's range,
//                       t = clamp(round(w / gamma), -1, 1), and the stored scale is the mean
//                       |w| over the non-zero t (so s * t reproduces a ternary input exactly).
// q and t are clamped to their range; scales use the f16 value that is stored.
inline LutMatrix pack(HostView<const float> W, const PackOptions& opt = {}) {
  using lsgemm::detail::require;
  lsgemm::detail::check_view(W, "W");
  lsgemm::detail::require_pack_shape(W.rows, W.cols, "lut::pack");
  detail::check_options(opt);
  for (int64_t r = 0; r < W.rows; ++r)
    for (int64_t c = 0; c < W.cols; ++c)
      require(std::isfinite(W(r, c)), "lut::pack: W(", r, ",", c, ")=", W(r, c), " is not finite");
  LutMatrix q;
  q.n = W.rows;
  q.k = W.cols;
  q.kind = opt.kind;
  q.bits = opt.kind == WeightKind::kTernaryTriples ? 0 : opt.kind == WeightKind::kTernaryPlanes ? 2 : opt.bits;
  q.symmetric = opt.kind == WeightKind::kUniform ? opt.symmetric : true;
  q.table_mode = opt.tables;
  q.per_channel = opt.group == kPerChannel || opt.group == kPerTensor;
  q.group = q.per_channel ? 0 : opt.group;
  q.kp = detail::round_up(q.k, q.x_block());  // per-channel: group is still 0 here
  if (q.per_channel) q.group = int(q.kp);
  const int64_t T = q.tiles(), G = q.groups();
  q.codes.resize(size_t(T * q.tile_bytes()));
  std::memset(q.codes.data(), 0, q.codes.bytes());
  q.scales.resize(size_t(T * G * kTileRows));
  std::memset(q.scales.data(), 0, q.scales.bytes());
  if (q.kind == WeightKind::kUniform && !q.symmetric) {
    q.offsets.resize(size_t(T * G * kTileRows));
    std::memset(q.offsets.data(), 0, q.offsets.bytes());
  }

  // Per-tensor ternary: gamma over all of W.
  double gamma_all = 0.0;
  if (opt.group == kPerTensor) {
    for (int64_t r = 0; r < q.n; ++r)
      for (int64_t c = 0; c < q.k; ++c) gamma_all += std::fabs(double(W(r, c)));
    gamma_all /= double(q.n * q.k);
  }
  std::vector<int> code(size_t(q.kp));
  for (int64_t r = 0; r < q.n; ++r) {
    std::fill(code.begin(), code.end(), 0);
    for (int64_t g = 0; g < G; ++g) {
      const int64_t k0 = g * q.group, k1 = std::min<int64_t>(k0 + q.group, q.k);
      const size_t ci = q.const_index(r, g);
      if (q.kind == WeightKind::kUniform) {
        const int qmax = (1 << q.bits) - 1;
        float lo = W(r, k0), hi = W(r, k0), amax = 0.0f;
        for (int64_t c = k0; c < k1; ++c) {
          lo = std::min(lo, W(r, c));
          hi = std::max(hi, W(r, c));
          amax = std::max(amax, std::fabs(W(r, c)));
        }
        if (q.symmetric) {
          q.scales[ci] = detail::to_f16_checked(amax / float(qmax), r, g, "scale");
          const float s = f16_to_f32(q.scales[ci]);
          for (int64_t c = k0; c < k1; ++c) {
            const int v = s > 0.0f ? int(std::nearbyint((W(r, c) / s + float(qmax)) * 0.5f)) : 0;
            code[size_t(c)] = std::clamp(v, 0, qmax);
          }
        } else {
          q.offsets[ci] = detail::to_f16_checked(lo, r, g, "offset");
          const float m = f16_to_f32(q.offsets[ci]);
          // The stored offset is rounded: widen the step so that max still maps in range.
          q.scales[ci] = detail::to_f16_checked(std::max(hi - m, 0.0f) / float(qmax), r, g, "scale");
          const float s = f16_to_f32(q.scales[ci]);
          for (int64_t c = k0; c < k1; ++c) {
            const int v = s > 0.0f ? int(std::nearbyint((W(r, c) - m) / s)) : 0;
            code[size_t(c)] = std::clamp(v, 0, qmax);
          }
        }
      } else {
        double gamma = gamma_all;
        if (opt.group != kPerTensor) {
          gamma = 0.0;
          for (int64_t c = k0; c < k1; ++c) gamma += std::fabs(double(W(r, c)));
          gamma /= double(k1 - k0);
        }
        double nz_sum = 0.0;
        int64_t nz = 0;
        for (int64_t c = k0; c < k1; ++c) {
          const int t = gamma > 0.0 ? std::clamp(int(std::nearbyint(double(W(r, c)) / gamma)), -1, 1) : 0;
          code[size_t(c)] = t;
          if (t != 0) { nz_sum += std::fabs(double(W(r, c))); ++nz; }
        }
        q.scales[ci] = detail::to_f16_checked(nz ? float(nz_sum / double(nz)) : 0.0f, r, g, "scale");
        if (q.kind == WeightKind::kTernaryPlanes)
          for (int64_t c = k0; c < k1; ++c) code[size_t(c)] += 1;
      }
    }
    // Scatter the row's codes into the layout.
    const int64_t t = r / kTileRows, rr = r % kTileRows;
    uint8_t* tile = q.codes.data() + t * q.tile_bytes();
    if (q.triples()) {
      for (int64_t s = 0; s < q.kp / 12; ++s)
        for (int j = 0; j < 4; ++j) {
          const int64_t c = 12 * s + 3 * j;
          const int v = 9 * code[size_t(c)] + 3 * code[size_t(c + 1)] + code[size_t(c + 2)];
          uint8_t* blk = tile + (s / 2) * 80;
          blk[4 * rr + j] |= uint8_t(std::abs(v) << (4 * (s % 2)));
          if (v < 0) {
            const int64_t bit = 4 * rr + j;
            blk[64 + 8 * (s % 2) + bit / 8] |= uint8_t(1u << (bit % 8));
          }
        }
    } else {
      for (int64_t c = 0; c < q.k; ++c) {
        const int64_t s = c / 16, j = (c % 16) / 4, u = c % 4;
        for (int i = 0; i < q.bits; ++i)
          if ((code[size_t(c)] >> i) & 1) {
            const int64_t v = s * q.bits + i;
            tile[(v / 2) * 64 + 4 * rr + j] |= uint8_t(1u << (4 * (v % 2) + u));
          }
      }
    }
  }
  return q;
}

namespace detail {
// O(1) checks of a packed object's sizes and fields, in an order that never lets a
// corrupt field reach arithmetic that could overflow or divide by zero: enough that the
// kernels, the reference and dequantize cannot read out of bounds (validate() is the
// O(size) check for untrusted data).
inline void check_packed(const LutMatrix& w, const char* where) {
  using lsgemm::detail::require;
  lsgemm::detail::require_packed_shape(w.n, w.k, w.kp, where);
  require(w.kind == WeightKind::kUniform || w.kind == WeightKind::kTernaryPlanes ||
              w.kind == WeightKind::kTernaryTriples,
          where, ": packed weight kind is invalid");
  require(w.table_mode == TableMode::kExact || w.table_mode == TableMode::kFast, where,
          ": packed table mode is invalid");
  if (w.kind == WeightKind::kUniform)
    require(w.bits >= 1 && w.bits <= 4, where, ": packed bits=", w.bits, " (allowed: 1, 2, 3, 4)");
  else if (w.kind == WeightKind::kTernaryPlanes)
    require(w.bits == 2 && w.symmetric, where, ": ternary planes need bits=2, got ", w.bits);
  else
    require(w.bits == 0 && w.per_channel, where, ": ternary triples need bits=0 and per-channel scales");
  const int kb = w.x_block();
  require(w.kp >= w.k && w.kp % kb == 0 && w.kp - w.k < kb, where, ": packed kp=", w.kp,
          " must be K=", w.k, " rounded up to a multiple of ", kb);
  if (w.per_channel)
    require(w.group == w.kp, where, ": per-channel group=", w.group, " must equal kp=", w.kp);
  else
    require(group_ok(w.group), where, ": packed group=", w.group, " (allowed: 32, 64, 128, 256)");
  // n, kp < 2^31 (above): T * tile_bytes < 2^62 and T * G * 16 < 2^58.
  const size_t T = size_t(w.tiles()), G = size_t(w.groups());
  require(w.codes.size() == T * size_t(w.tile_bytes()), where, ": packed codes hold ", w.codes.size(),
          " bytes, expected ", T * size_t(w.tile_bytes()));
  require(w.scales.size() == T * G * kTileRows, where, ": packed scales hold ", w.scales.size(),
          ", expected ", T * G * kTileRows);
  const bool has_off = w.kind == WeightKind::kUniform && !w.symmetric;
  require(w.offsets.size() == (has_off ? T * G * kTileRows : 0), where, ": packed offsets hold ",
          w.offsets.size(), ", expected ", has_off ? T * G * kTileRows : 0);
}
}  // namespace detail

// Checks a packed object's invariants in O(size): run it on anything that did not come
// out of pack(). Throws Error naming the first violation.
inline void validate(const LutMatrix& w) {
  using lsgemm::detail::require;
  detail::check_packed(w, "lut::validate");
  for (size_t i = 0; i < w.scales.size(); ++i) {
    const float s = f16_to_f32(w.scales[i]);
    require(std::isfinite(s) && s >= 0.0f, "lut::validate: scale #", i, " is ", s, " (must be finite and >= 0)");
  }
  for (size_t i = 0; i < w.offsets.size(); ++i)
    require(std::isfinite(f16_to_f32(w.offsets[i])), "lut::validate: offset #", i, " is not finite");
  const int64_t R = w.tiles() * kTileRows;
  if (w.triples()) {
    for (int64_t t = 0; t < w.tiles(); ++t)
      for (int64_t b = 0; b < w.blocks_per_tile(); ++b) {
        const uint8_t* blk = w.codes.data() + t * w.tile_bytes() + b * 80;
        for (int half = 0; half < 2; ++half)
          for (int i = 0; i < 64; ++i) {
            const int mag = (blk[i] >> (4 * half)) & 15;
            const bool neg = (blk[64 + 8 * half + i / 8] >> (i % 8)) & 1;
            require(mag <= 13, "lut::validate: triple magnitude ", mag, " at tile ", t, " block ", b,
                    " (allowed 0..13)");
            require(mag != 0 || !neg, "lut::validate: negative zero triple at tile ", t, " block ", b);
          }
      }
  }
  // Padding (rows >= n, columns >= k) must hold code 0 (ternary planes: zero rows have
  // scale 0, so only columns matter), and ternary planes codes are at most 2.
  for (int64_t r = 0; r < R; ++r) {
    for (int64_t c = 0; c < w.kp; ++c) {
      const int q = w.code(r, c);
      if (w.kind == WeightKind::kTernaryPlanes)
        require(q <= 2, "lut::validate: ternary code ", q, " at (", r, ",", c, ") (allowed 0..2)");
      if (r >= w.n || c >= w.k)
        require(q == 0, "lut::validate: padding code at (", r, ",", c, ") is ", q, ", must be 0");
    }
  }
  for (int64_t r = w.n; r < R; ++r)
    for (int64_t g = 0; g < w.groups(); ++g)
      require(w.scales[w.const_index(r, g)] == 0, "lut::validate: padding row ", r, " has a non-zero scale");
}

// Back to a dense N x K float matrix (LutMatrix::weight per element).
inline std::vector<float> dequantize_to_vector(const LutMatrix& w) {
  detail::check_packed(w, "lut::dequantize");
  std::vector<float> out = lsgemm::detail::alloc_floats(w.n * w.k, "lut::dequantize");
  for (int64_t r = 0; r < w.n; ++r)
    for (int64_t c = 0; c < w.k; ++c) out[size_t(r * w.k + c)] = w.weight(r, c);
  return out;
}

inline void dequantize(const LutMatrix& w, HostView<float> out) {
  detail::check_packed(w, "lut::dequantize");
  lsgemm::detail::dequantize_into(out, w.n, w.k, "lut::dequantize", [&] { return dequantize_to_vector(w); });
}

LSGEMM_ABI_END
}  // namespace lut
}  // namespace lsgemm
