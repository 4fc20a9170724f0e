#pragma once
// int_quant: group-quantized integer weights (GPTQ/AWQ/ggml-Q4 family).
//
// What it is. W (N x K, out x in) is cut along K into groups of `group` weights
// (32, 64, 128, 256, or one group per row: per-channel). Each (row n, group g) has a
// scale s (stored f16) and an integer zero point z; a weight is stored as an unsigned
// code q in [0, 2^bits) and means
//
//     w[n][k] = s[n][g] * (q[n][k] - z[n][g])            g = k / group
//
// Symmetric formats fix z = 2^(bits-1) and store no zero points; asymmetric ones store
// z per (row, group) as one byte. All codes are unsigned so that one integer dot product
// (u8 weights x s8 activations, VNNI vpdpbusd / NEON sdot) serves both, and the zero
// point becomes one correction per group: sum_k q*x - z * sum_k x.
//
// Packed layout (bits b in {2, 4, 8}; e = 8/b codes per byte). Rows are cut into tiles
// of kTileRows = 16 (N is padded with zero codes to Np = 16*ceil(N/16)); K is padded
// to Kp = a multiple of kKUnit = 16 (only per-channel groups allow K % 16 != 0; padded
// codes are 0 and the kernels pad X with zeros, so padding adds nothing).
// Within a tile, K is cut into blocks of 4*e consecutive k, each stored as 64 bytes:
//
//     byte  [t*tile_bytes + blk*64 + 4*r + j]            r in [0,16), j in [0,4)
//     bits  [p*b, p*b + b) of that byte = q[16*t + r][blk*4*e + 4*p + j]   p in [0,e)
//     tile_bytes = Kp * 16 * b / 8
//
// So each 32-bit lane of a 64-byte block holds 4 consecutive k of one row: a
// (16 rows x 4 k) u8 tile for one vpdpbusd after shifting out plane p. Scales follow
// the same tiling: scale[(t*G + g)*16 + r] (f16 bits), zero[(t*G + g)*16 + r] (u8,
// asymmetric only), G = Kp / group (per-channel: G = 1, group = Kp).
//
// Activation modes (how X meets W; a property of the layer, chosen at pack time and
// overridable per call):
//   kFloat: X stays fp32; W decoded in registers; fp32 FMA.
//   kInt8 : each row of X is quantized per weight group to int8 with a symmetric scale
//           sx = amax/127 (per-channel weights: one scale per token, i.e. W8A8's
//           per-token scale), dotted with the codes in exact int32, then
//           y += sx * s * (sum q*xq - z * sum xq) once per group.
//           Optional LLM.int8() outliers: columns of X where any |x| > threshold are
//           taken out of the int8 product and multiplied in fp32 against the
//           dequantized W columns.
//
// Limits: K <= kMaxK in int8 mode (so the int32 group sums cannot wrap: 255*127*K <
// 2^31). Scales must be finite in f16 (|w| up to about 65504 * 2^(b-1)).
// Oracle: int_quant/reference.hpp. Kernels: int_quant/simd-inl.h, int_quant/cuda.cuh.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "lsgemm/core/abi.hpp"
#include "lsgemm/core/act_quant.hpp"
#include "lsgemm/core/buffer.hpp"
#include "lsgemm/core/error.hpp"
#include "lsgemm/core/matrix.hpp"
#include "lsgemm/core/numeric.hpp"
#include "lsgemm/core/row_tiles.hpp"

namespace lsgemm {
namespace int_quant {

using lsgemm::kTileRows;  // core/row_tiles.hpp
inline constexpr int kKUnit = 16;        // K is padded to a multiple of this
inline constexpr int kBlockBytes = 64;   // one packed block: 16 rows x 4 k x e planes
inline constexpr int64_t kMaxK = 65536;  // int8 mode: 255 * 127 * 65536 < 2^31
inline constexpr int kPerChannel = 0;    // group value that means "one group per row"

using lsgemm::ActMode;  // core/act_quant.hpp
using lsgemm::act_mode_name;

struct PackOptions {
  int bits = 4;             // 2, 4 or 8
  int group = 128;          // 32, 64, 128, 256 or kPerChannel
  bool symmetric = false;   // true: z = 2^(bits-1), no zero points stored
  ActMode act = ActMode::kFloat;
  float outlier_threshold = 0.0f;  // int8 mode: > 0 enables LLM.int8() outliers (paper: 6.0)

  PackOptions& with_bits(int b) { bits = b; return *this; }
  PackOptions& with_group(int g) { group = g; return *this; }
  PackOptions& with_symmetric(bool s) { symmetric = s; return *this; }
  PackOptions& with_act(ActMode a) { act = a; return *this; }
  PackOptions& with_outliers(float t = 6.0f) { outlier_threshold = t; return *this; }
};

// The packed weight (host memory). Movable; clone() copies.
struct QuantizedMatrix {
  int64_t n = 0, k = 0;     // logical shape of W
  int bits = 4;
  int group = 128;          // actual group length (per-channel: == kp)
  bool per_channel = false;
  bool symmetric = false;
  ActMode act = ActMode::kFloat;
  float outlier_threshold = 0.0f;
  int64_t kp = 0;           // K padded to kKUnit (== k unless per-channel)
  AlignedBuffer<uint8_t> codes;    // tiles() * tile_bytes()
  AlignedBuffer<uint16_t> scales;  // tiles() * groups() * 16, f16 bits
  AlignedBuffer<uint8_t> zeros;    // same count, asymmetric only

  int64_t tiles() const { return row_tiles(n); }
  int64_t groups() const { return group > 0 ? kp / group : 0; }
  int codes_per_byte() const { return 8 / bits; }
  int64_t k_per_block() const { return 4 * codes_per_byte(); }
  int64_t tile_bytes() const { return kp * kTileRows * bits / 8; }
  // Bytes a kernel streams per call: codes, scales and zero points.
  int64_t packed_bytes() const {
    return int64_t(codes.bytes() + scales.bytes() + zeros.bytes());
  }
  int zero_point_default() const { return 1 << (bits - 1); }

  // Code q of W[r][c] (r < tiles()*16, c < kp), straight from the layout above.
  int code(int64_t r, int64_t c) const {
    const int e = codes_per_byte();
    const int64_t t = r / kTileRows, rr = r % kTileRows;
    const int64_t blk = c / (4 * e), within = c % (4 * e);
    const int p = int(within / 4), j = int(within % 4);
    const uint8_t byte = codes[size_t(t * tile_bytes() + blk * kBlockBytes + 4 * rr + j)];
    return (byte >> (p * bits)) & ((1 << bits) - 1);
  }
  float scale(int64_t r, int64_t g) const {
    return f16_to_f32(scales[tile_const_index(r, g, groups())]);
  }
  int zero(int64_t r, int64_t g) const {
    if (symmetric) return zero_point_default();
    return zeros[tile_const_index(r, g, groups())];
  }

  QuantizedMatrix clone() const {
    QuantizedMatrix c;
    c.n = n; c.k = k; c.bits = bits; c.group = group; c.per_channel = per_channel;
    c.symmetric = symmetric; c.act = act; c.outlier_threshold = outlier_threshold; c.kp = kp;
    c.codes = codes.clone(); c.scales = scales.clone(); c.zeros = zeros.clone();
    return c;
  }
};

LSGEMM_ABI_BEGIN

namespace detail {

inline void check_options(const PackOptions& o, int64_t k) {
  using lsgemm::detail::require;
  require(o.bits == 2 || o.bits == 4 || o.bits == 8, "int_quant: bits=", o.bits,
          " is not supported (allowed: 2, 4, 8)");
  require(o.group == kPerChannel || o.group == 32 || o.group == 64 || o.group == 128 ||
              o.group == 256,
          "int_quant: group=", o.group, " is not supported (allowed: 32, 64, 128, 256, or 0 for per-channel)");
  require(o.group == kPerChannel || k % o.group == 0, "int_quant: K=", k,
          " is not a multiple of group=", o.group, " (use a group dividing K, or group=0 for per-channel)");
  require(o.act == ActMode::kFloat || o.act == ActMode::kInt8, "int_quant: unknown activation mode");
  require(std::isfinite(o.outlier_threshold) && o.outlier_threshold >= 0.0f,
          "int_quant: outlier_threshold=", o.outlier_threshold, " must be finite and >= 0 (0 disables)");
  require(o.outlier_threshold == 0.0f || o.act == ActMode::kInt8,
          "int_quant: outlier_threshold needs act=int8 (float mode has no int8 product to protect)");
  require(o.act != ActMode::kInt8 || k <= kMaxK, "int_quant: K=", k, " exceeds ", kMaxK,
          " in int8 mode (the int32 group sums could wrap)");
}

inline int64_t round_up(int64_t a, int64_t b) { return (a + b - 1) / b * b; }

}  // namespace detail

// Quantizes W (N x K, float) into the packed format. Throws Error on bad options,
// bad shapes, or non-finite weights.
inline QuantizedMatrix pack(HostView<const float> W, const PackOptions& opt = {}) {
  using lsgemm::detail::require;
  lsgemm::detail::check_view(W, "W");
  lsgemm::detail::require_pack_shape(W.rows, W.cols, "int_quant::pack");
  detail::check_options(opt, W.cols);
  QuantizedMatrix q;
  q.n = W.rows;
  q.k = W.cols;
  q.bits = opt.bits;
  q.per_channel = opt.group == kPerChannel;
  q.kp = q.per_channel ? detail::round_up(q.k, kKUnit) : q.k;
  q.group = q.per_channel ? int(q.kp) : opt.group;
  require(q.kp % kKUnit == 0, "int_quant: internal: K padding");
  q.symmetric = opt.symmetric;
  q.act = opt.act;
  q.outlier_threshold = opt.outlier_threshold;
  const int64_t T = q.tiles(), G = q.groups();
  q.codes.resize(size_t(T * q.tile_bytes()));
  q.scales.resize(size_t(T * G * kTileRows));
  if (!q.symmetric) q.zeros.resize(size_t(T * G * kTileRows));

  const int qmax = (1 << q.bits) - 1;
  const int e = q.codes_per_byte();
  for (int64_t r = 0; r < q.n; ++r) {
    const float* w = W.row(r);
    for (int64_t g = 0; g < G; ++g) {
      const int64_t k0 = g * q.group, k1 = std::min<int64_t>(k0 + q.group, q.k);
      float lo = 0.0f, hi = 0.0f, amax = 0.0f;  // the range always includes 0
      for (int64_t c = k0; c < k1; ++c) {
        require(std::isfinite(w[c]), "int_quant::pack: W(", r, ",", c, ")=", w[c], " is not finite");
        lo = std::min(lo, w[c]);
        hi = std::max(hi, w[c]);
        amax = std::max(amax, std::fabs(w[c]));
      }
      int z;
      float s;
      if (q.symmetric) {
        z = q.zero_point_default();
        s = amax / float(z - 1 > 0 ? z - 1 : 1);
      } else {
        s = (hi - lo) / float(qmax);
      }
      uint16_t sh = f32_to_f16(s);
      if (s > 0.0f && f16_to_f32(sh) == 0.0f) sh = 1;  // keep a tiny non-zero scale non-zero
      require(f16_to_f32(sh) <= 65504.0f, "int_quant::pack: row ", r, " group ", g,
              " needs scale ", s, ", beyond f16's 65504");
      const float sq = f16_to_f32(sh);  // quantize against the scale that is stored
      if (!q.symmetric) {
        z = sq > 0.0f ? int(std::nearbyint(-lo / sq)) : 0;
        z = std::clamp(z, 0, qmax);
      }
      const size_t si = tile_const_index(r, g, G);
      q.scales[si] = sh;
      if (!q.symmetric) q.zeros[si] = uint8_t(z);
      for (int64_t c = k0; c < k1; ++c) {
        int code = sq > 0.0f ? int(std::nearbyint(w[c] / sq)) + z : z;
        code = std::clamp(code, 0, qmax);
        const int64_t t = r / kTileRows, rr = r % kTileRows;
        const int64_t blk = c / (4 * e), within = c % (4 * e);
        const int p = int(within / 4), j = int(within % 4);
        q.codes[size_t(t * q.tile_bytes() + blk * kBlockBytes + 4 * rr + j)] |=
            uint8_t(code << (p * q.bits));
      }
    }
  }
  return q;
}

namespace detail {
// O(1) checks of a packed object's fields and buffer sizes, in an order that never lets
// a corrupt field reach arithmetic that could overflow or divide by zero: enough that no
// function reading the object (kernels, reference, dequantize) can go out of bounds.
// validate() adds the O(size) checks of the contents.
inline void check_packed(const QuantizedMatrix& w, const char* where) {
  using lsgemm::detail::require;
  lsgemm::detail::require_packed_shape(w.n, w.k, w.kp, where);
  require(w.bits == 2 || w.bits == 4 || w.bits == 8, where, ": bits=", w.bits, " (allowed: 2, 4, 8)");
  require(w.kp >= w.k && w.kp % kKUnit == 0 && w.kp - w.k < kKUnit, where, ": kp=", w.kp, " must be K=", w.k,
          " rounded up to a multiple of ", kKUnit);
  if (w.per_channel) {
    require(w.group == w.kp, where, ": per-channel group=", w.group, " must equal kp=", w.kp);
  } else {
    require(w.group == 32 || w.group == 64 || w.group == 128 || w.group == 256, where, ": group=", w.group,
            " (allowed: 32, 64, 128, 256)");
    require(w.kp == w.k && w.k % w.group == 0, where, ": K=", w.k, " is not a multiple of group=", w.group);
  }
  require(w.act == ActMode::kFloat || w.act == ActMode::kInt8, where, ": bad act mode ", int(w.act));
  require(w.act != ActMode::kInt8 || w.k <= kMaxK, where, ": K=", w.k, " > ", kMaxK, " in int8 mode");
  require(std::isfinite(w.outlier_threshold) && w.outlier_threshold >= 0.0f, where, ": outlier_threshold=",
          w.outlier_threshold, " (must be finite and >= 0)");
  // n, kp < 2^31 (above): T * tile_bytes < 2^63 and T * G * 16 < 2^58.
  const size_t T = size_t(w.tiles()), G = size_t(w.groups());
  const size_t codes = T * size_t(w.tile_bytes()), consts = T * G * kTileRows;
  require(w.codes.size() == codes, where, ": codes hold ", w.codes.size(), " bytes, expected ", codes);
  require(w.scales.size() == consts, where, ": scales hold ", w.scales.size(), " entries, expected ", consts);
  require(w.zeros.size() == (w.symmetric ? 0 : consts), where, ": zero points hold ", w.zeros.size(),
          " entries, expected ", w.symmetric ? 0 : consts);
}
}  // namespace detail

// Checks a packed object's invariants in O(size): run it on anything that did not come
// out of pack() (deserialized, hand-built). Throws Error naming the first violation.
inline void validate(const QuantizedMatrix& q) {
  using lsgemm::detail::require;
  detail::check_packed(q, "int_quant::validate");
  const int qmax = (1 << q.bits) - 1;
  for (size_t i = 0; i < q.scales.size(); ++i) {
    const float s = f16_to_f32(q.scales[i]);
    require(std::isfinite(s) && s >= 0.0f, "int_quant::validate: scale #", i, " is ", s,
            " (must be finite and >= 0)");
  }
  for (size_t i = 0; i < q.zeros.size(); ++i)
    require(q.zeros[i] <= qmax, "int_quant::validate: zero point #", i, " is ", int(q.zeros[i]),
            " (allowed 0..", qmax, ")");
  // Padding (rows >= n, columns >= k) must hold code 0, or the kernels would add it in.
  for (int64_t r = 0; r < q.tiles() * kTileRows; ++r) {
    const int64_t c0 = r < q.n ? q.k : 0;
    for (int64_t c = c0; c < q.kp; ++c)
      require(q.code(r, c) == 0, "int_quant::validate: padding code at (", r, ",", c, ") is ",
              q.code(r, c), ", must be 0");
  }
}

// Back to a dense N x K float matrix: w = s * (q - z), exact in float.
// Checks the object's sizes first (O(1)); validate() it first if it came from outside.
inline std::vector<float> dequantize_to_vector(const QuantizedMatrix& q) {
  detail::check_packed(q, "int_quant::dequantize");
  std::vector<float> out = lsgemm::detail::alloc_floats(q.n * q.k, "int_quant::dequantize");
  for (int64_t r = 0; r < q.n; ++r)
    for (int64_t c = 0; c < q.k; ++c) {
      const int64_t g = c / q.group;
      out[size_t(r * q.k + c)] = q.scale(r, g) * float(q.code(r, c) - q.zero(r, g));
    }
  return out;
}

inline void dequantize(const QuantizedMatrix& q, HostView<float> out) {
  detail::check_packed(q, "int_quant::dequantize");
  lsgemm::detail::dequantize_into(out, q.n, q.k, "int_quant::dequantize", [&] { return dequantize_to_vector(q); });
}

LSGEMM_ABI_END
}  // namespace int_quant
}  // namespace lsgemm
