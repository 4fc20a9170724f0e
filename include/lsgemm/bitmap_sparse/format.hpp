#pragma once
// bitmap_sparse: unstructured sparse weights (30-95 % zeros, magnitude / Wanda /
// SparseGPT pruning), stored as a bitmask per tile of 64 weights along K plus the tile's
// non-zeros packed in order. Kernels load sparse and compute dense (expand a tile's
// values into registers with its mask) for few rows of X, and skip the zeros for many
// (simd-inl.h).
//
//     w[n][k] = the stored value of bit b = k % 64 of mask (n, t = k / 64), 0 if unset
//
// Layout (host). T = ceil(K / 64) tiles per row, C = ceil(T / kChunkTiles) chunks of
// kChunkTiles = 4 tiles (256 k) per row:
//
//   masks:   [n][t]       u64, bit b set: w[n][64 t + b] is stored; bits of k >= K are 0
//   values:  [i]          the stored values of row 0, tile 0, 1, ..., then row 1, ...,
//                         each tile's in bit order (f32: 4 bytes, bf16: 2, int8: 1)
//   offsets: [n * C + c]  u32: index in values of the first value of chunk c of row n;
//                         offsets[n * C] = nnz, the number of stored values
//   scales:  [n][g]       int8 only: f32 scale of row n, group g of `group` columns
//                         (G = ceil(K / group) groups; group = 0 in the options: one per
//                         row, stored as group = 64 T)
//
// so the values of tile t of row n start at offsets[n C + t / 4] + the popcount of the
// masks of tiles 4 (t / 4) .. t - 1 of the row: a task can start at any chunk (the
// GEMM's K chunks, a split of K), and a row's values are one contiguous stream (the
// GEMV reads two streams, masks and values, front to back). values is followed by
// kValueSlackValues zero values: a kernel may load a whole vector at any value, and a
// kernel that starts each chunk at min(offset, nnz) reads inside the buffer whatever the
// masks hold (an object not checked by validate() gives wrong sums, never a read out of
// bounds).
//
// Values: f32; bf16 (rounded to nearest even from the f32 weight); int8 codes q with a
// scale s per (row, group): value = s * q (f32 product), s = amax / 127 over the group's
// kept weights (0 for an all-zero group), q = nearest-even(w / s) in [-127, 127]. A mask
// bit marks a weight that was non-zero after pruning; its stored value may round to 0
// (bf16 underflow, a small int8 code): harmless, the bit costs only its FMA.
//
// Storage per weight: value_bits * density + 1 (mask) + 32 / 256 (offsets) bits, e.g. at
// 80 % sparsity f32 7.5, bf16 4.3, int8 2.7 (+ 32 / group for int8 group scales).
// Limits: nnz < 2^32 (u32 offsets: 16 GB of f32 values). Pruning (PackOptions::sparsity):
// each row keeps its ceil((1 - sparsity) K) largest |w| (ties: the lower column).
// Oracle: bitmap_sparse/reference.hpp; kernels: bitmap_sparse/simd-inl.h.
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
#include "lsgemm/core/parallel.hpp"

namespace lsgemm {
namespace bitmap_sparse {
LSGEMM_ABI_BEGIN

inline constexpr int64_t kTileK = 64;       // weights per mask
inline constexpr int64_t kChunkTiles = 4;   // tiles per offset
inline constexpr int64_t kChunkK = kTileK * kChunkTiles;
// Zero values after the last one: a chunk's worth (kChunkK, what a kernel reading from a
// bad offset may walk) plus the widest vector (64 f32 lanes: SVE at 2048 bits).
inline constexpr int64_t kValueSlackValues = kChunkK + 64;

enum class ValueType : uint8_t { kF32, kBf16, kInt8 };
inline const char* value_type_name(ValueType v) {
  switch (v) {
    case ValueType::kF32: return "f32";
    case ValueType::kBf16: return "bf16";
    case ValueType::kInt8: return "int8";
  }
  return "?";
}
inline bool value_type_ok(ValueType v) { return int(v) <= int(ValueType::kInt8); }
inline int value_bytes(ValueType v) { return v == ValueType::kF32 ? 4 : v == ValueType::kBf16 ? 2 : 1; }

struct PackOptions {
  ValueType values = ValueType::kF32;
  int group = 0;         // int8: columns per scale, 64, 128 or 256; 0: one scale per row
  double sparsity = 0.0;  // > 0: prune each row to this fraction of zeros (file comment)

  PackOptions& with_values(ValueType v) {
    values = v;
    return *this;
  }
  PackOptions& with_group(int g) {
    group = g;
    return *this;
  }
  PackOptions& with_sparsity(double s) {
    sparsity = s;
    return *this;
  }
};

inline bool group_ok(int g) { return g == 0 || g == 64 || g == 128 || g == 256; }

struct BitmapSparseMatrix {
  int64_t n = 0, k = 0;
  ValueType values_type = ValueType::kF32;
  int group = 0;                    // int8: columns per scale (a multiple of 64); else 0
  AlignedBuffer<uint64_t> masks;    // n * tiles()
  AlignedBuffer<uint32_t> offsets;  // n * chunks() + 1
  AlignedBuffer<uint8_t> values;    // (nnz() + kValueSlackValues) * vbytes()
  AlignedBuffer<float> scales;      // int8: n * groups(); else empty

  int64_t tiles() const { return (k + kTileK - 1) / kTileK; }  // per row
  int64_t chunks() const { return (tiles() + kChunkTiles - 1) / kChunkTiles; }
  int64_t kp() const { return tiles() * kTileK; }  // K padded to whole tiles
  int vbytes() const { return value_bytes(values_type); }
  bool ints() const { return values_type == ValueType::kInt8; }
  int64_t groups() const { return ints() ? (kp() + group - 1) / group : 0; }
  int64_t nnz() const { return offsets.size() ? int64_t(offsets[offsets.size() - 1]) : 0; }
  uint64_t mask(int64_t r, int64_t t) const { return masks[size_t(r * tiles() + t)]; }
  uint32_t offset(int64_t r, int64_t c) const { return offsets[size_t(r * chunks() + c)]; }
  float scale(int64_t r, int64_t g) const { return scales[size_t(r * groups() + g)]; }
  int64_t packed_bytes() const { return int64_t(masks.bytes() + offsets.bytes() + values.bytes() + scales.bytes()); }
  // Bits per logical weight of the packed object (the slack included).
  double bits_per_weight() const { return n && k ? 8.0 * double(packed_bytes()) / (double(n) * double(k)) : 0.0; }
  // Fraction of weights with no mask bit.
  double sparsity() const { return n && k ? 1.0 - double(nnz()) / (double(n) * double(k)) : 0.0; }

  // Stored value i as f32 (int8: s * q with the scale of row r, column c).
  int code(int64_t i) const { return int(int8_t(values[size_t(i)])); }
  float value(int64_t i, int64_t r, int64_t c) const {
    const uint8_t* p = values.data() + size_t(i) * size_t(vbytes());
    if (values_type == ValueType::kInt8) return scale(r, c / group) * float(code(i));
    if (values_type == ValueType::kBf16) {
      uint16_t b;
      std::memcpy(&b, p, 2);
      return bf16_to_f32(b);
    }
    float f;
    std::memcpy(&f, p, 4);
    return f;
  }

  // Calls fn(column, value index) for every stored value of row r, in column order
  // (the format's definition: what the reference and dequantize walk).
  template <class Fn>
  void for_each_stored(int64_t r, const Fn& fn) const {
    for (int64_t c = 0; c < chunks(); ++c) {
      int64_t i = offset(r, c);
      for (int64_t t = c * kChunkTiles; t < std::min(tiles(), (c + 1) * kChunkTiles); ++t)
        for (uint64_t m = mask(r, t); m; m &= m - 1) fn(t * kTileK + __builtin_ctzll(m), i++);
    }
  }

  BitmapSparseMatrix clone() const {
    BitmapSparseMatrix o;
    o.n = n;
    o.k = k;
    o.values_type = values_type;
    o.group = group;
    o.masks = masks.clone();
    o.offsets = offsets.clone();
    o.values = values.clone();
    o.scales = scales.clone();
    return o;
  }
};

namespace detail {

inline void check_options(const PackOptions& o) {
  using lsgemm::detail::require;
  require(value_type_ok(o.values), "bitmap_sparse: unknown value type ", int(o.values), " (allowed: f32, bf16, int8)");
  require(group_ok(o.group) && (o.group == 0 || o.values == ValueType::kInt8), "bitmap_sparse: group=", o.group,
          " with ", value_type_name(o.values), " values is not supported (int8: 0 for one scale per row, 64, 128 "
          "or 256; f32 / bf16: 0)");
  require(o.sparsity >= 0.0 && o.sparsity <= 1.0, "bitmap_sparse: sparsity=", o.sparsity,
          " is out of range (allowed: 0 to 1, the fraction of each row pruned; 0 keeps every non-zero)");
}

// O(1) checks of a packed object's fields and buffer sizes. Together with the kernels'
// clamp of each chunk's offset (file comment), enough that nothing reading the object
// goes out of bounds; validate() adds the contents.
inline void check_packed(const BitmapSparseMatrix& w, const char* where) {
  using lsgemm::detail::require;
  lsgemm::detail::require_packed_shape(w.n, w.k, w.k, where);
  require(value_type_ok(w.values_type), where, ": bad value type ", int(w.values_type));
  require(w.ints() ? (w.group > 0 && w.group % kTileK == 0) : w.group == 0, where, ": group=", w.group,
          " is not valid for ", value_type_name(w.values_type), " values (int8: a multiple of 64; f32 / bf16: 0)");
  const size_t masks = size_t(w.n * w.tiles()), offs = size_t(w.n * w.chunks() + 1),
               sc = size_t(w.n * w.groups());
  require(w.masks.size() == masks, where, ": masks hold ", w.masks.size(), " words, expected N x tiles = ", masks);
  require(w.offsets.size() == offs, where, ": offsets hold ", w.offsets.size(), " entries, expected N x chunks + 1 = ",
          offs);
  require(w.scales.size() == sc, where, ": scales hold ", w.scales.size(), " entries, expected ", sc);
  require(w.offsets[0] == 0, where, ": offsets[0] = ", w.offsets[0], ", must be 0");
  const size_t vals = size_t(w.nnz() + kValueSlackValues) * size_t(w.vbytes());
  require(w.values.size() == vals, where, ": values hold ", w.values.size(), " bytes, expected (nnz ", w.nnz(), " + ",
          kValueSlackValues, " slack) x ", w.vbytes(), " = ", vals);
}

// Per row, the columns that pruning keeps: the ceil((1 - s) K) largest |w| (ties: the
// lower column), zeros never. One selection (nth_element, linear) on a u64 key per weight,
// (bits of |w| complemented) << 32 | column: ascending keys are descending |w| (the bits
// of non-negative floats order as their values), then ascending columns. A stable sort
// of each row took seconds for a 4096 x 11008 layer.
inline void prune_row(const float* w, int64_t k, double s, std::vector<char>& keep, std::vector<uint64_t>& key) {
  keep.assign(size_t(k), 0);
  const int64_t want = std::min<int64_t>(k, int64_t(std::ceil((1.0 - s) * double(k) - 1e-9)));
  key.resize(size_t(k));
  for (int64_t c = 0; c < k; ++c) {
    const float a = std::fabs(w[c]);
    uint32_t bits;
    std::memcpy(&bits, &a, 4);
    key[size_t(c)] = uint64_t(~bits) << 32 | uint64_t(c);
  }
  if (want < k) std::nth_element(key.begin(), key.begin() + want, key.end());
  for (int64_t j = 0; j < want; ++j) {
    const int64_t c = int64_t(key[size_t(j)] & 0xFFFFFFFFu);
    if (w[c] != 0.0f) keep[size_t(c)] = 1;
  }
}

}  // namespace detail

// Packs W (N x K, float): the non-zeros of each row (after pruning to opt.sparsity, if
// set) with their masks. Throws Error on bad options or shapes, a non-finite weight
// (named), more than 2^32 - 1 non-zeros, or a bf16 rounding that overflows.
inline BitmapSparseMatrix pack(HostView<const float> W, const PackOptions& opt = {}) {
  using lsgemm::detail::require;
  lsgemm::detail::check_view(W, "W");
  lsgemm::detail::require_pack_shape(W.rows, W.cols, "bitmap_sparse::pack");
  detail::check_options(opt);
  BitmapSparseMatrix q;
  q.n = W.rows;
  q.k = W.cols;
  q.values_type = opt.values;
  q.group = opt.values == ValueType::kInt8 ? (opt.group ? opt.group : int(q.kp())) : 0;
  const int64_t T = q.tiles(), C = q.chunks(), K = q.k;
  q.masks.resize(size_t(lsgemm::detail::checked_mul(q.n, T, "bitmap_sparse::pack", "masks")));
  q.offsets.resize(size_t(q.n * C + 1));
  q.scales.resize(size_t(q.n * q.groups()));
  // Per row the masks (the pruning, rows in parallel), then the offsets (the count of
  // values), then the values.
  for (int64_t r = 0; r < q.n; ++r)
    for (int64_t c = 0; c < K; ++c)
      require(std::isfinite(W(r, c)), "bitmap_sparse::pack: W(", r, ",", c, ")=", W(r, c), " is not finite");
  std::vector<uint8_t> kept_bits(size_t(q.n * K));  // 1: w[r][c] stored
  parallel_for(q.n, [&](int64_t r) {
    const float* w = W.row(r);
    uint8_t* kb = &kept_bits[size_t(r * K)];
    if (opt.sparsity > 0.0) {
      std::vector<char> keep;
      std::vector<uint64_t> key;
      detail::prune_row(w, K, opt.sparsity, keep, key);
      std::memcpy(kb, keep.data(), size_t(K));
    } else {
      for (int64_t c = 0; c < K; ++c) kb[c] = w[c] != 0.0f;
    }
    for (int64_t t = 0; t < T; ++t) {
      uint64_t m = 0;
      for (int64_t b = 0; b < kTileK && t * kTileK + b < K; ++b)
        if (kb[t * kTileK + b]) m |= uint64_t(1) << b;
      q.masks[size_t(r * T + t)] = m;
    }
  });
  uint64_t count = 0;
  for (int64_t r = 0; r < q.n; ++r)
    for (int64_t t = 0; t < T; ++t) {
      if (t % kChunkTiles == 0) q.offsets[size_t(r * C + t / kChunkTiles)] = uint32_t(count);
      count += uint64_t(__builtin_popcountll(q.masks[size_t(r * T + t)]));
      require(count <= UINT32_MAX, "bitmap_sparse::pack: W holds more than 2^32 - 1 non-zeros (u32 offsets); "
                                   "split it by rows");
    }
  q.offsets[size_t(q.n * C)] = uint32_t(count);
  q.values.resize(size_t((count + kValueSlackValues) * uint64_t(q.vbytes())));
  for (int64_t r = 0; r < q.n; ++r) {
    const float* w = W.row(r);
    const uint8_t* kb = &kept_bits[size_t(r * K)];
    if (q.ints()) {  // per group: s = amax / 127 over the kept weights
      for (int64_t g = 0; g < q.groups(); ++g) {
        float amax = 0.0f;
        for (int64_t c = g * q.group; c < std::min<int64_t>(K, (g + 1) * q.group); ++c)
          if (kb[c]) amax = std::max(amax, std::fabs(w[c]));
        q.scales[size_t(r * q.groups() + g)] = amax / 127.0f;
      }
    }
    q.for_each_stored(r, [&](int64_t c, int64_t i) {
      uint8_t* p = q.values.data() + size_t(i) * size_t(q.vbytes());
      if (q.values_type == ValueType::kF32) {
        std::memcpy(p, &w[c], 4);
      } else if (q.values_type == ValueType::kBf16) {
        const uint16_t b = f32_to_bf16(w[c]);
        require(std::isfinite(bf16_to_f32(b)), "bitmap_sparse::pack: W(", r, ",", c, ")=", w[c],
                " rounds to infinity in bf16 (bf16 holds |w| < 0x1.FFp127)");
        std::memcpy(p, &b, 2);
      } else {
        const float s = q.scale(r, c / q.group);
        const float v = s > 0.0f ? std::nearbyint(w[c] / s) : 0.0f;
        *p = uint8_t(int8_t(std::min(127.0f, std::max(-127.0f, v))));
      }
    });
  }
  return q;
}

// Checks a packed object's invariants in O(size): run it on anything that did not come
// out of pack(). Throws Error naming the first violation: offsets out of order or not
// matching the masks' popcounts, a mask bit at a column >= K, a non-finite value or
// scale, an int8 code of -128.
inline void validate(const BitmapSparseMatrix& q) {
  using lsgemm::detail::require;
  detail::check_packed(q, "bitmap_sparse::validate");
  const int64_t T = q.tiles();
  uint64_t count = 0;
  for (int64_t r = 0; r < q.n; ++r)
    for (int64_t t = 0; t < T; ++t) {
      if (t % kChunkTiles == 0)
        require(q.offset(r, t / kChunkTiles) == count, "bitmap_sparse::validate: offset of row ", r, " chunk ",
                t / kChunkTiles, " is ", q.offset(r, t / kChunkTiles), ", but the masks before it hold ", count,
                " values (offsets[n * chunks + c] = the popcount of every earlier mask)");
      const uint64_t m = q.mask(r, t);
      const int64_t valid = std::min<int64_t>(kTileK, q.k - t * kTileK);
      require(valid == kTileK || (m >> valid) == 0, "bitmap_sparse::validate: mask of row ", r, " tile ", t,
              " has bits at columns >= K=", q.k, " (bits of the padding must be 0)");
      count += uint64_t(__builtin_popcountll(m));
    }
  require(uint64_t(q.nnz()) == count, "bitmap_sparse::validate: offsets end at nnz=", q.nnz(), ", but the masks hold ",
          count, " values");
  for (int64_t r = 0; r < q.n; ++r)
    for (int64_t g = 0; g < q.groups(); ++g) {
      const float s = q.scale(r, g);
      require(std::isfinite(s) && !std::signbit(s), "bitmap_sparse::validate: scale of row ", r, " group ", g, " is ",
              s, " (scales are finite and >= 0)");
    }
  for (int64_t r = 0; r < q.n; ++r)
    q.for_each_stored(r, [&](int64_t c, int64_t i) {
      if (q.ints()) {
        require(q.code(i) != -128, "bitmap_sparse::validate: value ", i, " (row ", r, ", column ", c,
                ") holds code -128 (int8 codes lie in [-127, 127])");
      } else {
        const float v = q.value(i, r, c);
        require(std::isfinite(v), "bitmap_sparse::validate: value ", i, " (row ", r, ", column ", c, ") is ", v,
                " (values are finite)");
      }
    });
}

// Back to a dense N x K float matrix (the values as stored, bf16 widened exactly, int8
// as s * q).
inline std::vector<float> dequantize_to_vector(const BitmapSparseMatrix& q) {
  detail::check_packed(q, "bitmap_sparse::dequantize");
  validate(q);  // O(size), as the dequantization itself: the walk trusts the offsets
  std::vector<float> out = lsgemm::detail::alloc_floats(q.n * q.k, "bitmap_sparse::dequantize");
  for (int64_t r = 0; r < q.n; ++r)
    q.for_each_stored(r, [&](int64_t c, int64_t i) { out[size_t(r * q.k + c)] = q.value(i, r, c); });
  return out;
}

inline void dequantize(const BitmapSparseMatrix& q, HostView<float> out) {
  detail::check_packed(q, "bitmap_sparse::dequantize");
  lsgemm::detail::dequantize_into(out, q.n, q.k, "bitmap_sparse::dequantize", [&] { return dequantize_to_vector(q); });
}

LSGEMM_ABI_END
}  // namespace bitmap_sparse
}  // namespace lsgemm
