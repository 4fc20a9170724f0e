#pragma once
// nm_sparse: N:M structured sparse weights. Along K, each row of W (N x K) is cut into
// runs of M consecutive weights; a run holds at most N non-zeros (2:4, 1:4, 2:8, 4:8,
// 1:8, ...). The format stores, per run, exactly N slots: a value and its position in
// the run (log2 M bits).
//
//     w[n][k] = value of the slot of run k / M whose position is k % M, 0 if none
//
// Patterns: M in {4, 8}, 1 <= N < M. Values: f32, bf16 (rounded to nearest even from the
// f32 weight), or int8 / int4 codes q with a scale s per (row, group of `group` columns
// along K; 64, 128 or 256), sparse + quantized as Sparse-Marlin and GQSA:
//
//     value = s * q  (f32 product; s an f16, q in [-127, 127] or [-7, 7])
//
// s = amax / qmax over the group's kept weights (rounded to f16; 0 for an all-zero
// group), q = nearest-even(w / s). The kernels multiply the same f32 product.
//
// Slots. A run's N positions are distinct and ascending. pack() keeps the N largest |w|
// of each run (ties: the lower position) and, in a run with fewer non-zeros, fills the
// remaining slots with the lowest unused positions and value 0. So the layout of a
// matrix is a function of its values, and a slot with value 0 is harmless wherever it
// points. K is padded with zero weights to Kp, a multiple of the index word's span
// (below) and of the group: the last run may be partial, its positions >= K hold 0.
//
// Packed layout (host). Rows in tiles of kTileRows = 16 (core/row_tiles.hpp; N padded
// with zero rows). Slot s of a row (s = run * N + j, j < N the slot within the run):
//
//   values:  [t][s][r]   value of slot s of row 16 t + r     (f32: 4 bytes, bf16: 2)
//            tile t at values + t * S * 16 * vb,  S = (Kp / M) * N slots per row
//            int8: byte [t][s / 4][r][s % 4], the code (two's complement); tile t at
//            values + t * S * 16
//            int4: byte [t][s / 8][r][s % 4], slot s in its low (s % 8 < 4) or high
//            nibble (two's complement); tile t at values + t * S * 8
//   scales:  [t][g][r]   f16 bits, s of row 16 t + r, group g < Kp / group (ints only)
//   indices: [t][i][r]   u32 index word i of row 16 t + r, i < Kp / (R * M);
//            word i holds the positions of runs [R i, R i + R): run R i + u, slot j at
//            bits [b (u N + j), + b), b = log2 M
//
// with R = the largest power of two with R * N * b <= 32 runs per word (2:4: 8, 1:4: 16,
// 2:8: 4, 4:8: 2, 1:8: 8; so a word spans R * M = 16 to 64 k). Each 64-byte block of
// values or indices holds one 32-bit word per row of a tile, as the other families'
// codes: a kernel reads strips of L rows (core/row_tiles.hpp) and broadcasts nothing per
// row. Int codes come in quads, 4 slots of a row per 32-bit word (S is a multiple of 8
// for ints: Kp is a multiple of the group, >= 64), the operand of a u8 x s8 quad dot
// (vpdpbusd); int4 keeps two quads per word, one per nibble, as int_quant's planes.
//
// Activations (int values only, PackOptions::act, core/act_quant.hpp): kFloat multiplies
// x by s * q in f32; kInt8 quantizes each row of X per weight group (amax / 127, as
// int_quant's int8 mode), sums q * xq exactly in int32 per group and adds
// sx * s * sum once per group.
//
// Storage per weight: (N * value_bits + 32 / R) / M bits, e.g. 2:4 f32 17, 2:4 bf16 9,
// 1:4 f32 8.5, 2:8 f32 9, 4:8 f32 18 (index words of 4:8 and 2:8 use 24 of 32 bits).
// Oracle: nm_sparse/reference.hpp.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "lsgemm/core/abi.hpp"
#include "lsgemm/core/act_quant.hpp"
#include "lsgemm/core/buffer.hpp"
#include "lsgemm/core/error.hpp"
#include "lsgemm/core/matrix.hpp"
#include "lsgemm/core/numeric.hpp"
#include "lsgemm/core/row_tiles.hpp"

namespace lsgemm {
namespace nm_sparse {
LSGEMM_ABI_BEGIN

using lsgemm::kTileRows;  // core/row_tiles.hpp

enum class ValueType : uint8_t { kF32, kBf16, kInt8, kInt4 };
inline const char* value_type_name(ValueType v) {
  switch (v) {
    case ValueType::kF32: return "f32";
    case ValueType::kBf16: return "bf16";
    case ValueType::kInt8: return "int8";
    case ValueType::kInt4: return "int4";
  }
  return "?";
}
inline bool value_type_ok(ValueType v) { return int(v) <= int(ValueType::kInt4); }
inline bool int_values(ValueType v) { return v == ValueType::kInt8 || v == ValueType::kInt4; }
inline int value_bits(ValueType v) {
  switch (v) {
    case ValueType::kF32: return 32;
    case ValueType::kBf16: return 16;
    case ValueType::kInt8: return 8;
    default: return 4;
  }
}
inline int code_max(ValueType v) { return v == ValueType::kInt8 ? 127 : 7; }  // ints: |q| <= qmax
using lsgemm::ActMode;  // core/act_quant.hpp
using lsgemm::act_mode_name;

// How pack() treats a matrix that is not already N:M.
enum class Prune : uint8_t {
  kMagnitude,  // keep the N largest |w| of each run (ties: lower position)
  kCheck,      // the input must already be N:M: throw naming the first run that is not
};

struct PackOptions {
  int nnz = 2;  // N: non-zeros kept per run
  int run = 4;  // M: run length along K
  ValueType values = ValueType::kF32;
  int group = 128;  // int8 / int4: columns per scale (64, 128 or 256)
  Prune prune = Prune::kMagnitude;
  ActMode act = ActMode::kFloat;  // int values: kInt8 quantizes X per group (file comment)

  PackOptions& with_pattern(int n, int m) {
    nnz = n;
    run = m;
    return *this;
  }
  PackOptions& with_values(ValueType v) {
    values = v;
    return *this;
  }
  PackOptions& with_group(int g) {
    group = g;
    return *this;
  }
  PackOptions& with_prune(Prune p) {
    prune = p;
    return *this;
  }
  PackOptions& with_act(ActMode a) {
    act = a;
    return *this;
  }
};

inline bool pattern_ok(int nnz, int run) { return (run == 4 || run == 8) && nnz >= 1 && nnz < run; }
inline bool group_ok(int g) { return g == 64 || g == 128 || g == 256; }
inline int index_bits(int run) { return run == 8 ? 3 : 2; }
// Runs per index word (file comment): the largest power of two with R * N * b <= 32.
inline int runs_per_word(int nnz, int run) {
  if (nnz < 1 || nnz > 32) return 1;  // not a pattern (check_packed says so): no endless loop
  int r = 1;
  while (2 * r * nnz * index_bits(run) <= 32) r *= 2;
  return r;
}

struct NmSparseMatrix {
  int64_t n = 0, k = 0, kp = 0;  // logical shape, K padded (file comment)
  int nnz = 2, run = 4;          // the N:M pattern
  ValueType values_type = ValueType::kF32;
  int group = 0;                    // int values: columns per scale; 0 for f32 / bf16
  ActMode act = ActMode::kFloat;    // int values: how X meets the codes
  AlignedBuffer<uint8_t> values;    // tiles() * tile_value_bytes()
  AlignedBuffer<uint32_t> indices;  // tiles() * words() * 16
  AlignedBuffer<uint16_t> scales;   // ints: tiles() * groups() * 16 f16 bits; else empty

  int64_t tiles() const { return row_tiles(n); }
  int64_t runs() const { return kp / run; }                  // per row, padding included
  int64_t slots() const { return runs() * nnz; }             // per row
  int rpw() const { return runs_per_word(nnz, run); }        // runs per index word
  int64_t words() const { return runs() / rpw(); }           // index words per row
  int64_t word_span() const { return int64_t(rpw()) * run; }  // k per index word
  // Kp is K rounded up to a multiple of this: whole index words (and, ints, whole groups).
  int64_t k_unit() const { return ints() ? std::max<int64_t>(word_span(), group) : word_span(); }
  bool ints() const { return int_values(values_type); }
  int64_t groups() const { return ints() ? kp / group : 0; }
  // Value bytes of a row in one 64-byte block: f32 and bf16 one slot (4 or 2 bytes),
  // ints a quad word (4 bytes: 4 int8 or 8 int4 slots).
  int vbytes() const { return ints() ? 4 : value_bits(values_type) / 8; }
  int64_t tile_value_bytes() const { return slots() * kTileRows * value_bits(values_type) / 8; }
  int64_t packed_bytes() const { return int64_t(values.bytes() + indices.bytes() + scales.bytes()); }
  // Bits per logical weight of the packed object (padding included).
  double bits_per_weight() const { return n && k ? 8.0 * double(packed_bytes()) / (double(n) * double(k)) : 0.0; }

  // The byte of slot s of row r (int4: its nibble's byte).
  size_t value_offset(int64_t r, int64_t s) const {
    const int64_t per_block = ints() ? 32 / value_bits(values_type) : 1;  // slots per row word
    const int64_t sub = ints() ? s % 4 : 0;
    return size_t((r / kTileRows) * tile_value_bytes() +
                  ((s / per_block) * kTileRows + r % kTileRows) * vbytes() + sub);
  }
  size_t word_index(int64_t r, int64_t i) const {
    return size_t(((r / kTileRows) * words() + i) * kTileRows + r % kTileRows);
  }
  // Int values: the code of slot s of row r, and the scale of its group.
  int code(int64_t r, int64_t s) const {
    const uint8_t byte = values[value_offset(r, s)];
    if (values_type == ValueType::kInt8) return int(int8_t(byte));
    const int nib = (s % 8 >= 4) ? byte >> 4 : byte & 15;
    return nib >= 8 ? nib - 16 : nib;
  }
  float scale(int64_t r, int64_t g) const { return f16_to_f32(scales[tile_const_index(r, g, groups())]); }
  // Slot s of row r: its value (f32; ints: s * q, the f32 product) and its position.
  float value(int64_t r, int64_t s) const {
    if (ints()) return scale(r, column_of_run(s) / group) * float(code(r, s));
    const uint8_t* p = values.data() + value_offset(r, s);
    if (values_type == ValueType::kBf16) {
      uint16_t b;
      std::memcpy(&b, p, 2);
      return bf16_to_f32(b);
    }
    float f;
    std::memcpy(&f, p, 4);
    return f;
  }
  int64_t column_of_run(int64_t s) const { return (s / nnz) * run; }  // the first column of s's run
  int position(int64_t r, int64_t s) const {
    const int64_t run_i = s / nnz, j = s % nnz, R = rpw(), b = index_bits(run);
    const uint32_t w = indices[word_index(r, run_i / R)];
    return int((w >> (b * ((run_i % R) * nnz + j))) & uint32_t((1 << b) - 1));
  }
  // The column of W that slot s of row r stands for (may be >= k in the padding).
  int64_t column(int64_t r, int64_t s) const { return (s / nnz) * run + position(r, s); }

  // Writers (pack, importers). set_value: f32 / bf16 (stored as the type rounds it);
  // set_code / set_scale: int values.
  void set_code(int64_t r, int64_t s, int q) {
    uint8_t& byte = values[value_offset(r, s)];
    if (values_type == ValueType::kInt8) {
      byte = uint8_t(int8_t(q));
    } else {
      const int sh = (s % 8 >= 4) ? 4 : 0;
      byte = uint8_t((byte & ~(15 << sh)) | ((q & 15) << sh));
    }
  }
  void set_scale(int64_t r, int64_t g, float sc) { scales[tile_const_index(r, g, groups())] = f32_to_f16(sc); }
  void set_value(int64_t r, int64_t s, float v) {
    uint8_t* p = values.data() + value_offset(r, s);
    if (values_type == ValueType::kBf16) {
      const uint16_t b = f32_to_bf16(v);
      std::memcpy(p, &b, 2);
    } else {
      std::memcpy(p, &v, 4);
    }
  }
  NmSparseMatrix clone() const {
    NmSparseMatrix o;
    o.n = n;
    o.k = k;
    o.kp = kp;
    o.nnz = nnz;
    o.run = run;
    o.values_type = values_type;
    o.group = group;
    o.act = act;
    o.values = values.clone();
    o.indices = indices.clone();
    o.scales = scales.clone();
    return o;
  }
  void set_position(int64_t r, int64_t s, int pos) {
    const int64_t run_i = s / nnz, j = s % nnz, R = rpw(), b = index_bits(run);
    uint32_t& w = indices[word_index(r, run_i / R)];
    const int shift = int(b * ((run_i % R) * nnz + j));
    w = (w & ~(uint32_t((1 << b) - 1) << shift)) | (uint32_t(pos) << shift);
  }
};

namespace detail {

inline void check_options(const PackOptions& o) {
  lsgemm::detail::require(pattern_ok(o.nnz, o.run), "nm_sparse: pattern ", o.nnz, ":", o.run,
                          " is not supported (allowed: N:M with M = 4 or 8 and 1 <= N < M)");
  lsgemm::detail::require(value_type_ok(o.values), "nm_sparse: unknown value type ", int(o.values),
                          " (allowed: f32, bf16, int8, int4)");
  lsgemm::detail::require(!int_values(o.values) || group_ok(o.group), "nm_sparse: group=", o.group,
                          " is not supported for ", value_type_name(o.values), " values (allowed: 64, 128, 256)");
  lsgemm::detail::require(o.prune == Prune::kMagnitude || o.prune == Prune::kCheck, "nm_sparse: unknown prune mode ",
                          int(o.prune), " (allowed: magnitude, check)");
  lsgemm::detail::require(o.act == ActMode::kFloat || (o.act == ActMode::kInt8 && int_values(o.values)),
                          "nm_sparse: act=", int(o.act), " with ", value_type_name(o.values),
                          " values is not supported (allowed: float; int8 for int8 / int4 values)");
}

// O(1) checks of a packed object's fields and buffer sizes: enough that nothing reading
// the object can go out of bounds. validate() adds the contents.
inline void check_packed(const NmSparseMatrix& w, const char* where) {
  using lsgemm::detail::require;
  lsgemm::detail::require_packed_shape(w.n, w.k, w.kp, where);
  require(pattern_ok(w.nnz, w.run), where, ": pattern ", w.nnz, ":", w.run, " is not valid (M = 4 or 8, 1 <= N < M)");
  require(value_type_ok(w.values_type), where, ": bad value type ", int(w.values_type));
  require(w.ints() ? group_ok(w.group) : w.group == 0, where, ": group=", w.group, " is not valid for ",
          value_type_name(w.values_type), " values (ints: 64, 128, 256; f32 / bf16: 0)");
  require(w.act == ActMode::kFloat || (w.act == ActMode::kInt8 && w.ints()), where, ": act=", int(w.act),
          " is not valid for ", value_type_name(w.values_type), " values (float; int8 for int values)");
  const int64_t span = w.k_unit();
  require(w.kp >= w.k && w.kp % span == 0 && w.kp - w.k < span, where, ": kp=", w.kp, " must be K=", w.k,
          " rounded up to a multiple of ", span);
  const size_t T = size_t(w.tiles());
  const size_t vals = T * size_t(w.tile_value_bytes()), idx = T * size_t(w.words()) * kTileRows,
               sc = T * size_t(w.groups()) * kTileRows;
  require(w.values.size() == vals, where, ": values hold ", w.values.size(), " bytes, expected ", vals);
  require(w.indices.size() == idx, where, ": indices hold ", w.indices.size(), " words, expected ", idx);
  require(w.scales.size() == sc, where, ": scales hold ", w.scales.size(), " entries, expected ", sc);
}

}  // namespace detail

namespace detail {
// Int values of row r from its kept weights (one per slot): per group, s = amax / qmax
// rounded to f16, q = nearest-even(w / s) clamped to [-qmax, qmax] (the file comment).
inline void quantize_row(NmSparseMatrix& q, int64_t r, const std::vector<float>& kept) {
  const int qmax = code_max(q.values_type);
  const int64_t per_group = q.group / q.run * q.nnz;  // slots per group
  for (int64_t g = 0; g < q.groups(); ++g) {
    float amax = 0.0f;
    for (int64_t s = g * per_group; s < (g + 1) * per_group; ++s) amax = std::max(amax, std::fabs(kept[size_t(s)]));
    const float sc = f16_to_f32(f32_to_f16(amax / float(qmax)));
    lsgemm::detail::require(std::isfinite(sc), "nm_sparse::pack: row ", r, ", columns [", g * q.group, ", ",
                            (g + 1) * q.group, "): the largest kept |w| = ", amax, " needs a scale of ", amax / float(qmax),
                            ", beyond f16 (65504)");
    q.set_scale(r, g, sc);
    for (int64_t s = g * per_group; s < (g + 1) * per_group; ++s) {
      const float v = sc > 0.0f ? std::nearbyint(kept[size_t(s)] / sc) : 0.0f;
      q.set_code(r, s, int(std::min(float(qmax), std::max(float(-qmax), v))));
    }
  }
}
}  // namespace detail

// An all-zero object of shape N x K for the options (every slot value 0, positions
// 0, 1, ..., N-1): importers fill it with set_value / set_position.
inline NmSparseMatrix allocate(int64_t n, int64_t k, const PackOptions& opt = {}) {
  lsgemm::detail::require_pack_shape(n, k, "nm_sparse::allocate");
  detail::check_options(opt);
  NmSparseMatrix q;
  q.n = n;
  q.k = k;
  q.nnz = opt.nnz;
  q.run = opt.run;
  q.values_type = opt.values;
  q.group = int_values(opt.values) ? opt.group : 0;
  q.act = opt.act;
  const int64_t span = q.k_unit();
  q.kp = (k + span - 1) / span * span;
  // N, K < 2^31 (require_pack_shape) leave rows * slots * 4 bytes up to 2^64: refuse
  // what int64 sizes cannot hold before computing them.
  const double bytes = double(q.tiles() * kTileRows) * double(q.slots()) * 4.0;
  lsgemm::detail::require(bytes < 0x1p62, "nm_sparse::allocate: N x K = ", n, " x ", k, " with ", opt.nnz, ":",
                          opt.run, " ", value_type_name(opt.values), " needs ", bytes,
                          " bytes of values, more than this library addresses (2^62)");
  q.values.resize(size_t(q.tiles() * q.tile_value_bytes()));
  q.indices.resize(size_t(q.tiles() * q.words() * kTileRows));
  q.scales.resize(size_t(q.tiles() * q.groups() * kTileRows));
  for (int64_t r = 0; r < q.tiles() * kTileRows; ++r)
    for (int64_t s = 0; s < q.slots(); ++s) q.set_position(r, s, int(s % q.nnz));
  return q;
}

// Packs W (N x K, float): prunes each run to its N largest |w| (Prune::kMagnitude) or
// checks that it already is N:M (Prune::kCheck). Throws Error on bad options or shapes,
// a non-finite weight (named), or with kCheck the first run (row, first column) that
// holds more than N non-zeros.
inline NmSparseMatrix pack(HostView<const float> W, const PackOptions& opt = {}) {
  using lsgemm::detail::require;
  lsgemm::detail::check_view(W, "W");
  lsgemm::detail::require_pack_shape(W.rows, W.cols, "nm_sparse::pack");
  NmSparseMatrix q = allocate(W.rows, W.cols, opt);
  const int M = q.run, Nz = q.nnz;
  std::vector<int> order(static_cast<size_t>(M)), keep(static_cast<size_t>(Nz));
  std::vector<float> w(static_cast<size_t>(M));
  std::vector<float> kept(q.ints() ? static_cast<size_t>(q.slots()) : 0);  // ints: the row's kept weights
  for (int64_t r = 0; r < q.n; ++r) {
    for (int64_t run_i = 0; run_i < q.runs(); ++run_i) {
      const int64_t c0 = run_i * M;
      int nonzero = 0;
      for (int p = 0; p < M; ++p) {
        const int64_t c = c0 + p;
        w[size_t(p)] = c < q.k ? W(r, c) : 0.0f;
        require(std::isfinite(w[size_t(p)]), "nm_sparse::pack: W(", r, ",", c, ")=", w[size_t(p)], " is not finite");
        nonzero += w[size_t(p)] != 0.0f;
      }
      require(opt.prune != Prune::kCheck || nonzero <= Nz, "nm_sparse::pack: row ", r, ", run of columns [", c0, ", ",
              std::min<int64_t>(c0 + M, q.k), ") holds ", nonzero, " non-zeros; the ", Nz, ":", M,
              " pattern allows at most ", Nz, " (Prune::kCheck: the input must already be ", Nz, ":", M, ")");
      // The N largest |w|, ties by lower position; zeros only where there are fewer.
      for (int p = 0; p < M; ++p) order[size_t(p)] = p;
      std::stable_sort(order.begin(), order.end(),
                       [&](int a, int b) { return std::fabs(w[size_t(a)]) > std::fabs(w[size_t(b)]); });
      for (int j = 0; j < Nz; ++j) keep[size_t(j)] = order[size_t(j)];
      std::sort(keep.begin(), keep.end());  // ascending positions
      for (int j = 0; j < Nz; ++j) {
        const int p = keep[size_t(j)];
        q.set_position(r, run_i * Nz + j, p);
        if (q.ints()) {
          kept[size_t(run_i * Nz + j)] = w[size_t(p)];
          continue;
        }
        q.set_value(r, run_i * Nz + j, w[size_t(p)]);
        require(std::isfinite(q.value(r, run_i * Nz + j)), "nm_sparse::pack: W(", r, ",", c0 + p, ")=", w[size_t(p)],
                " rounds to ", q.value(r, run_i * Nz + j), " in ", value_type_name(q.values_type),
                " (bf16 holds |w| < 0x1.FFp127)");
      }
    }
    if (q.ints()) detail::quantize_row(q, r, kept);
  }
  return q;
}

// Checks a packed object's invariants in O(size): run it on anything that did not come
// out of pack(). Throws Error naming the first violation: positions not ascending (a
// repeat) within a run, a non-finite value, a non-zero value in a padding row or at a
// padding column (>= K).
inline void validate(const NmSparseMatrix& q) {
  using lsgemm::detail::require;
  detail::check_packed(q, "nm_sparse::validate");
  for (int64_t r = 0; r < q.tiles() * kTileRows; ++r)
    for (int64_t g = 0; g < q.groups(); ++g) {
      const float sc = q.scale(r, g);
      require(std::isfinite(sc) && !std::signbit(sc), "nm_sparse::validate: scale of row ", r, " group ", g, " is ",
              sc, " (scales are finite and >= 0)");
      require(r < q.n || sc == 0.0f, "nm_sparse::validate: padding row ", r, " has scale ", sc, ", must be 0");
    }
  const int qmax = q.ints() ? code_max(q.values_type) : 0;
  for (int64_t r = 0; r < q.tiles() * kTileRows; ++r)
    for (int64_t s = 0; s < q.slots(); ++s) {
      if (q.ints()) {
        const int c = q.code(r, s);
        require(c >= -qmax && c <= qmax, "nm_sparse::validate: row ", r, " slot ", s, " holds code ", c, " (",
                value_type_name(q.values_type), " codes lie in [", -qmax, ", ", qmax, "])");
        require(c == 0 || (r < q.n && q.column(r, s) < q.k), "nm_sparse::validate: row ", r, " slot ", s,
                " holds code ", c, " at column ", q.column(r, s), " in the padding (N=", q.n, ", K=", q.k,
                "): must be 0");
      }
      const int p = q.position(r, s);
      const int prev = s % q.nnz ? q.position(r, s - 1) : -1;  // the run's first slot has none
      require(p > prev, "nm_sparse::validate: row ", r, " run ", s / q.nnz, ": slot ", s % q.nnz, " has position ", p,
              ", not above the previous slot's ", prev, " (positions in a run are distinct and ascending)");
      const float v = q.value(r, s);
      require(std::isfinite(v), "nm_sparse::validate: row ", r, " slot ", s, " holds ", v, " (values are finite)");
      require(v == 0.0f || (r < q.n && q.column(r, s) < q.k), "nm_sparse::validate: row ", r, " slot ", s,
              " holds ", v, " at column ", q.column(r, s), " in the padding (N=", q.n, ", K=", q.k, "): must be 0");
    }
}

// Back to a dense N x K float matrix (the values as stored, bf16 widened exactly).
inline std::vector<float> dequantize_to_vector(const NmSparseMatrix& q) {
  detail::check_packed(q, "nm_sparse::dequantize");
  std::vector<float> out = lsgemm::detail::alloc_floats(q.n * q.k, "nm_sparse::dequantize");
  for (int64_t r = 0; r < q.n; ++r)
    for (int64_t s = 0; s < q.slots(); ++s) {
      const int64_t c = q.column(r, s);
      const float v = q.value(r, s);
      if (c < q.k && v != 0.0f) out[size_t(r * q.k + c)] = v;
    }
  return out;
}

inline void dequantize(const NmSparseMatrix& q, HostView<float> out) {
  detail::check_packed(q, "nm_sparse::dequantize");
  lsgemm::detail::dequantize_into(out, q.n, q.k, "nm_sparse::dequantize", [&] { return dequantize_to_vector(q); });
}

LSGEMM_ABI_END
}  // namespace nm_sparse
}  // namespace lsgemm
