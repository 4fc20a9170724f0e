#pragma once
// block_fp: block floating point weights. OCP Microscaling v1.0 (MXFP8 E4M3/E5M2, MXFP6
// E3M2/E2M3, MXFP4, MXINT8), NVIDIA's NVFP4, and plain BFP (shared exponent, m-bit
// two's-complement mantissas).
//
// What it is. Each row of W (N x K) is cut along K into blocks of `block` weights that
// share one 8-bit scale; each weight is a small element code. Every scheme is one formula
//
//     w[n][k] = S[n][g] * v(code[n][k])          g = k / block      (f32 product)
//
// with the block scale S (f32, units folded in) and the element value v:
//   kMx, FP elements   S = 2^(e - 127)  (E8M0 byte e)           v = the element's float
//   kMx, kInt8         S = 2^(e - 127) * 2^-6                   v = q (two's complement)
//   kBfp, m bits       S = 2^(e - 127) * 2^-(m - 2)             v = q (m-bit two's complement)
//   kNvfp4             S = ts * e4m3(b)  (UE4M3 byte b, f32 ts) v = the E2M1 float
// Codes and scales come from block_fp/quantize.hpp (the OCP FLOOR rule, NVFP4's two-level
// rule; round to nearest even, saturating); MX fixes block = 32, NVFP4 16, BFP takes 8,
// 16, 32 or 64.
//
// Packed layout (host). Rows in tiles of kTileRows = 16 (core/row_tiles.hpp; N padded
// with zero codes and zero scale bytes); K padded with zero codes to Kp, a multiple of
// kKUnit = 32 and of the block. Codes sit in containers of b = 4, 6 or 8 bits (4: FP4,
// NVFP4, BFP m <= 4; 6: FP6, BFP m = 5, 6; 8: FP8, INT8, BFP m = 7, 8). A tile is Kp / 32
// segments of 64 * b bytes; segment s holds k in [32 s, 32 s + 32), kk = k - 32 s:
//
//   b = 8:  byte [seg + 64 (kk / 4) + 4 r + kk % 4]                     the code
//   b = 4:  byte [seg + 64 (kk / 8) + 4 r + kk % 4], nibble (kk % 8) / 4 the code
//   b = 6:  the low 4 bits as b = 4 (blocks 0..3 of the segment), the high 2 bits at
//           byte [seg + 64 (4 + kk / 16) + 4 r + kk % 4], bits 2 ((kk % 16) / 4) + {0, 1}
//   seg = t * tile_bytes + s * 64 b,  tile_bytes = Kp * 16 * b / 8,  r = row in the tile
//
// so each 32-bit lane of a 64-byte block holds 4 consecutive k of one row (one u8 quad
// for a quad dot, one f32 lane per byte for a float decode), as in int_quant. Scale bytes
// in their own stream: scale[(t * G + g) * 16 + r], G = Kp / block (padding blocks 0).
//
// Channel order (PackOptions::order, chosen at pack time): kByAmax packs the K channels
// sorted by max_n |W(n, c)| (descending) so that outlier channels share blocks; channels
// (K int32) records it: packed column c is channel channels[c] of W, and the layout above
// and every formula below index packed columns. Kernels and reference read
// X[m][channels[c]] as they go (the GEMV's padded row, the GEMM's packed X, the W+A
// quantizer's row); dequantize() returns W in its own order. Empty: the natural order.
//
// Activation modes (chosen at pack time, a property of the layer):
//   kFloat: X fp32; W decoded in registers to f32 (W-only).
//   kInt8 : W+A, for the elements whose values are integers times a power of two (E2M1,
//           i.e. MX FP4 and NVFP4 (v * 2 in [-12, 12]), MXFP6 E2M3 (v * 8 in [-60, 60]),
//           MXINT8, BFP): each row of X is
//           quantized per weight block to MXINT8 (xq = nearest-even(x * 2^(6 - floor(log2
//           amax))) in [-127, 127], sx = 2^(floor(log2 amax) - 6); zero block below
//           kTinyAmax), the block's integer dot product is exact, and the definition of
//           the result is
//             y = 0;  for each block g in order:  y = y + float(isum_g) * (Sq_g * sx_g)
//           in f32, then the epilogue with alpha * tensor_scale (one f32 product; NVFP4
//           only, 1 elsewhere). Sq is the block scale without the tensor scale, times the
//           unit of the integer elements. Every term is exact, so FMA or not gives the
//           same bits and the kernels are bit-exact against block_fp/reference.hpp: MX
//           and BFP scales and sx are powers of two; NVFP4's Sq is a UE4M3 (4 significant
//           bits) times 1/2 and |isum| <= 16 * 12 * 127 < 2^15, so each product has at
//           most 19 significant bits (subnormal products included: 2^-149 divides them).
//           With NVFP4, bias or accumulate, a kernel may fuse the multiply by alpha *
//           tensor_scale with the add: one rounding where the reference rounds twice.
//
// Limits: any N, K >= 1. Weights must be finite (pack names the first that is not).
// Scale bytes 0xFF (NaN) and element codes that are NaN or Inf are rejected by
// validate(): this format stores no NaN blocks.
// Oracle: block_fp/reference.hpp. Kernels: block_fp/simd-inl.h.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "lsgemm/block_fp/quantize.hpp"
#include "lsgemm/core/abi.hpp"
#include "lsgemm/core/act_quant.hpp"
#include "lsgemm/core/buffer.hpp"
#include "lsgemm/core/error.hpp"
#include "lsgemm/core/matrix.hpp"
#include "lsgemm/core/numeric.hpp"
#include "lsgemm/core/row_tiles.hpp"

namespace lsgemm {
namespace block_fp {

using lsgemm::kTileRows;  // core/row_tiles.hpp
inline constexpr int kKUnit = 32;       // K is padded to a multiple of this (one segment)
inline constexpr int kBlockBytes = 64;  // one vector of codes: 16 rows x 4 k (x planes)

enum class Scheme : uint8_t { kMx, kNvfp4, kBfp };
using lsgemm::ActMode;  // core/act_quant.hpp
// Outlier-aware channel order (PackOptions::order): kNatural keeps K as it is; kByAmax
// sorts the K channels by their largest |w| over all rows, descending (ties: lower
// channel first), so that the outlier channels share blocks and no longer set the shared
// scale of blocks of ordinary channels, which then keep their precision.
enum class ChannelOrder : uint8_t { kNatural, kByAmax };

inline const char* scheme_name(Scheme s) {
  return s == Scheme::kMx ? "mx" : s == Scheme::kNvfp4 ? "nvfp4" : s == Scheme::kBfp ? "bfp" : "?";
}
using lsgemm::act_mode_name;

struct PackOptions {
  Scheme scheme = Scheme::kMx;
  MxElement element = MxElement::kFp4E2M1;  // kMx
  int block = 0;          // 0: the scheme's own (MX 32, NVFP4 16, BFP 32); BFP: 8, 16, 32, 64
  int mantissa_bits = 8;  // kBfp: 3..8
  ActMode act = ActMode::kFloat;
  ChannelOrder order = ChannelOrder::kNatural;

  static PackOptions mx(MxElement e) { PackOptions o; o.element = e; return o; }
  static PackOptions nvfp4() { PackOptions o; o.scheme = Scheme::kNvfp4; return o; }
  static PackOptions bfp(int m, int block = 32) {
    PackOptions o;
    o.scheme = Scheme::kBfp;
    o.mantissa_bits = m;
    o.block = block;
    return o;
  }
  PackOptions& with_act(ActMode a) { act = a; return *this; }
  PackOptions& with_block(int b) { block = b; return *this; }
  PackOptions& with_order(ChannelOrder o) { order = o; return *this; }
};

// The scheme's block length, an element's code bits, the container they are stored in,
// and whether the elements are integers (times the unit folded into S) or integers
// times 1/2 (E2M1: MX FP4, NVFP4) or 1/8 (E2M3): the W+A mode multiplies integers.
inline int default_block(Scheme s) { return s == Scheme::kNvfp4 ? 16 : 32; }
inline int value_bits(Scheme s, MxElement e, int m) {
  return s == Scheme::kMx ? mx_bits(e) : s == Scheme::kNvfp4 ? 4 : m;
}
inline int container_bits(int value_bits) { return value_bits <= 4 ? 4 : value_bits <= 6 ? 6 : 8; }
inline bool int_elements(Scheme s, MxElement e) {
  return s == Scheme::kBfp || s == Scheme::kNvfp4 ||
         (s == Scheme::kMx && (e == MxElement::kInt8 || e == MxElement::kFp4E2M1 || e == MxElement::kFp6E2M3));
}

// The packed weight (host memory). Movable; clone() copies.
struct BlockFpMatrix {
  int64_t n = 0, k = 0;  // logical shape of W
  int64_t kp = 0;        // K padded to a multiple of kKUnit and of block
  Scheme scheme = Scheme::kMx;
  MxElement element = MxElement::kFp4E2M1;  // kMx (kNvfp4: E2M1 elements; kBfp: unused)
  int block = 32;
  int mantissa_bits = 8;  // kBfp
  ActMode act = ActMode::kFloat;
  float tensor_scale = 1.0f;  // kNvfp4: ts (f32); 1 otherwise
  AlignedBuffer<uint8_t> codes;   // tiles() * tile_bytes()
  AlignedBuffer<uint8_t> scales;  // tiles() * groups() * 16 scale bytes
  // Channel order: empty for the natural one, else K channels: packed column c holds
  // channel channels[c] of W, and multiplies X[m][channels[c]] (a permutation of [0, K)).
  AlignedBuffer<int32_t> channels;

  int64_t channel(int64_t c) const { return channels.size() ? int64_t(channels[size_t(c)]) : c; }

  int64_t tiles() const { return row_tiles(n); }
  int64_t groups() const { return kp / block; }
  int value_bits() const { return block_fp::value_bits(scheme, element, mantissa_bits); }
  int code_bits() const { return container_bits(value_bits()); }
  int64_t segment_bytes() const { return int64_t(kBlockBytes) * code_bits(); }
  int64_t tile_bytes() const { return kp / kKUnit * segment_bytes(); }
  int64_t packed_bytes() const { return int64_t(codes.bytes() + scales.bytes() + channels.bytes()); }

  // Where the code of W[r][c] lives (the layout above): the byte of its low bits (and
  // the nibble / 2-bit field), and for b = 6 the byte and field of its high bits.
  struct CodePos {
    size_t lo;
    int lo_shift, lo_bits;
    size_t hi;
    int hi_shift;  // b = 6 only
  };
  CodePos code_pos(int64_t r, int64_t c) const {
    const int b = code_bits();
    const int64_t t = r / kTileRows, rr = r % kTileRows, s = c / kKUnit, kk = c % kKUnit;
    const int64_t seg = t * tile_bytes() + s * segment_bytes();
    CodePos p{};
    if (b == 8) {
      p.lo = size_t(seg + kBlockBytes * (kk / 4) + 4 * rr + kk % 4);
      p.lo_shift = 0;
      p.lo_bits = 8;
      return p;
    }
    p.lo = size_t(seg + kBlockBytes * (kk / 8) + 4 * rr + kk % 4);
    p.lo_shift = int(4 * ((kk % 8) / 4));
    p.lo_bits = 4;
    if (b == 6) {
      p.hi = size_t(seg + kBlockBytes * (4 + kk / 16) + 4 * rr + kk % 4);
      p.hi_shift = int(2 * ((kk % 16) / 4));
    }
    return p;
  }
  int code(int64_t r, int64_t c) const {
    const CodePos p = code_pos(r, c);
    int v = (codes[p.lo] >> p.lo_shift) & ((1 << p.lo_bits) - 1);
    if (code_bits() == 6) v |= ((codes[p.hi] >> p.hi_shift) & 3) << 4;
    return v;
  }
  uint8_t scale_byte(int64_t r, int64_t g) const { return scales[tile_const_index(r, g, groups())]; }

  // S of block g of row r (f32, the table in the header comment).
  float block_scale(int64_t r, int64_t g) const {
    return scheme == Scheme::kNvfp4 ? tensor_scale * block_scale_byte_value(r, g) : block_scale_byte_value(r, g);
  }
  // S without NVFP4's tensor scale: what the scale byte says, times scale_unit(). The W+A
  // mode multiplies by this per block and by tensor_scale once per output.
  float block_scale_byte_value(int64_t r, int64_t g) const {
    const uint8_t b = scale_byte(r, g);
    return (scheme == Scheme::kNvfp4 ? minifloat_to_f32(MiniFloat::kE4M3, b) : e8m0_to_f32(b)) * scale_unit();
  }
  // What S carries beyond its byte (the table above): 2^-6 for MXINT8, 2^-(m-2) for BFP.
  float scale_unit() const {
    if (scheme == Scheme::kBfp) return std::ldexp(1.0f, -(mantissa_bits - 2));
    if (scheme == Scheme::kMx && element == MxElement::kInt8) return 0x1p-6f;
    return 1.0f;
  }
  // v(code): the element's value in the units of block_scale (exact in f32).
  float element_value(int c) const {
    switch (scheme) {
      case Scheme::kMx:
        if (element == MxElement::kInt8) return float(int8_t(uint8_t(c)));
        return mx_element_to_f32(element, uint8_t(c));
      case Scheme::kNvfp4: return minifloat_to_f32(MiniFloat::kE2M1, uint32_t(c));
      case Scheme::kBfp: {
        const int m = mantissa_bits;  // sign-extend the m-bit two's complement code
        return float(c >= (1 << (m - 1)) ? c - (1 << m) : c);
      }
    }
    return 0.0f;
  }
  float weight(int64_t r, int64_t c) const { return block_scale(r, c / block) * element_value(code(r, c)); }

  // Writers for importers (other formats' blocks, e.g. ggml's MXFP4/NVFP4, re-laid out):
  // set every code and scale byte of an allocate()d object, then validate() it.
  void set_code(int64_t r, int64_t c, int code) {
    const CodePos p = code_pos(r, c);
    const int lo_mask = ((1 << p.lo_bits) - 1) << p.lo_shift;
    codes[p.lo] = uint8_t((codes[p.lo] & ~lo_mask) | ((code << p.lo_shift) & lo_mask));
    if (code_bits() == 6)
      codes[p.hi] = uint8_t((codes[p.hi] & ~(3 << p.hi_shift)) | (((code >> 4) & 3) << p.hi_shift));
  }
  void set_scale_byte(int64_t r, int64_t g, uint8_t b) { scales[tile_const_index(r, g, groups())] = b; }

  BlockFpMatrix clone() const {
    BlockFpMatrix o;
    o.n = n; o.k = k; o.kp = kp; o.scheme = scheme; o.element = element; o.block = block;
    o.mantissa_bits = mantissa_bits; o.act = act; o.tensor_scale = tensor_scale;
    o.codes = codes.clone();
    o.scales = scales.clone();
    o.channels = channels.clone();
    return o;
  }
};

LSGEMM_ABI_BEGIN

namespace detail {

inline bool block_ok(Scheme s, int b) {
  if (s == Scheme::kBfp) return b == 8 || b == 16 || b == 32 || b == 64;
  return b == default_block(s);
}

inline void check_options(const PackOptions& o) {
  using lsgemm::detail::require;
  require(o.scheme == Scheme::kMx || o.scheme == Scheme::kNvfp4 || o.scheme == Scheme::kBfp,
          "block_fp: unknown scheme ", int(o.scheme));
  require(o.scheme != Scheme::kMx || int(o.element) <= int(MxElement::kInt8), "block_fp: unknown MX element ",
          int(o.element));
  const int b = o.block ? o.block : default_block(o.scheme);
  require(block_ok(o.scheme, b), "block_fp: block=", o.block, " is not supported by ", scheme_name(o.scheme),
          " (allowed: mx 32, nvfp4 16, bfp 8/16/32/64; 0 picks the scheme's own)");
  require(o.scheme != Scheme::kBfp || (o.mantissa_bits >= 3 && o.mantissa_bits <= 8), "block_fp: mantissa_bits=",
          o.mantissa_bits, " is not supported (bfp: 3..8)");
  require(o.act == ActMode::kFloat || o.act == ActMode::kInt8, "block_fp: unknown activation mode ", int(o.act));
  require(o.order == ChannelOrder::kNatural || o.order == ChannelOrder::kByAmax, "block_fp: unknown channel order ",
          int(o.order), " (allowed: natural, by_amax)");
  require(o.act == ActMode::kFloat || int_elements(o.scheme, o.element), "block_fp: act=int8 needs integer elements (",
          "mx fp4, mx fp6 e2m3, mx int8, nvfp4 or bfp), not ", scheme_name(o.scheme),
          o.scheme == Scheme::kMx ? std::string(" ") + mx_name(o.element) : std::string());
}

// O(1) checks of a packed object's fields and buffer sizes (see int_quant's): enough that
// nothing reading the object can go out of bounds. validate() adds the contents.
inline void check_packed(const BlockFpMatrix& w, const char* where) {
  using lsgemm::detail::require;
  lsgemm::detail::require_packed_shape(w.n, w.k, w.kp, where);
  require(w.scheme == Scheme::kMx || w.scheme == Scheme::kNvfp4 || w.scheme == Scheme::kBfp, where,
          ": bad scheme ", int(w.scheme));
  require(w.scheme != Scheme::kMx || int(w.element) <= int(MxElement::kInt8), where, ": bad MX element ",
          int(w.element));
  require(w.scheme != Scheme::kBfp || (w.mantissa_bits >= 3 && w.mantissa_bits <= 8), where, ": mantissa_bits=",
          w.mantissa_bits, " (allowed 3..8)");
  require(block_ok(w.scheme, w.block), where, ": block=", w.block, " is not valid for ", scheme_name(w.scheme));
  const int64_t unit = std::max<int64_t>(kKUnit, w.block);
  require(w.kp >= w.k && w.kp % unit == 0 && w.kp - w.k < unit, where, ": kp=", w.kp, " must be K=", w.k,
          " rounded up to a multiple of ", unit);
  require(w.act == ActMode::kFloat || (w.act == ActMode::kInt8 && int_elements(w.scheme, w.element)), where,
          ": act mode ", int(w.act), " is not valid for these elements");
  require(std::isfinite(w.tensor_scale) && w.tensor_scale > 0.0f, where, ": tensor_scale=", w.tensor_scale,
          " (must be finite and > 0)");
  // n, kp < 2^31: T * tile_bytes < 2^31 / 16 * 2^31 * 16 = 2^62, T * G * 16 < 2^62.
  const size_t T = size_t(w.tiles());
  const size_t codes = T * size_t(w.tile_bytes()), consts = T * size_t(w.groups()) * kTileRows;
  require(w.codes.size() == codes, where, ": codes hold ", w.codes.size(), " bytes, expected ", codes);
  require(w.scales.size() == consts, where, ": scales hold ", w.scales.size(), " bytes, expected ", consts);
  require(w.channels.size() == 0 || w.channels.size() == size_t(w.k), where, ": channels hold ", w.channels.size(),
          " entries, expected 0 (natural order) or K=", w.k);
}

// O(K): a channel order must be a permutation of [0, K) (the kernels read X[m][channels[c]]).
// Every reader of X through it runs this first.
inline void check_channels(const BlockFpMatrix& w, const char* where) {
  if (!w.channels.size()) return;
  std::vector<uint8_t> seen(size_t(w.k), 0);
  for (int64_t c = 0; c < w.k; ++c) {
    const int32_t ch = w.channels[size_t(c)];
    lsgemm::detail::require(ch >= 0 && ch < w.k && !seen[size_t(ch)], where, ": channels[", c, "]=", ch,
                            ch >= 0 && ch < w.k ? " repeats an earlier entry" : " is outside [0, K)",
                            " (the channel order must be a permutation of [0, K=", w.k, "))");
    seen[size_t(ch)] = 1;
  }
}

}  // namespace detail

namespace detail {
// kByAmax: channels sorted by max_n |W(n, c)|, descending, ties by channel (stable).
inline AlignedBuffer<int32_t> channels_by_amax(HostView<const float> W) {
  std::vector<float> amax(size_t(W.cols), 0.0f);
  for (int64_t r = 0; r < W.rows; ++r)
    for (int64_t c = 0; c < W.cols; ++c) amax[size_t(c)] = std::max(amax[size_t(c)], std::fabs(W(r, c)));
  std::vector<int32_t> order(size_t(W.cols));
  for (size_t c = 0; c < order.size(); ++c) order[c] = int32_t(c);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return amax[size_t(a)] > amax[size_t(b)]; });
  AlignedBuffer<int32_t> ch(order.size());
  std::memcpy(ch.data(), order.data(), order.size() * sizeof(int32_t));
  return ch;
}
}  // namespace detail

// An object of shape N x K for the options, every code and scale byte 0 (the values
// 0): importers fill it with set_code / set_scale_byte (NVFP4: and tensor_scale).
inline BlockFpMatrix allocate(int64_t n, int64_t k, const PackOptions& opt = {}) {
  lsgemm::detail::require_pack_shape(n, k, "block_fp::allocate");
  detail::check_options(opt);
  BlockFpMatrix q;
  q.n = n;
  q.k = k;
  q.scheme = opt.scheme;
  q.element = opt.scheme == Scheme::kMx ? opt.element : MxElement::kFp4E2M1;
  q.block = opt.block ? opt.block : default_block(opt.scheme);
  q.mantissa_bits = opt.scheme == Scheme::kBfp ? opt.mantissa_bits : 8;
  q.act = opt.act;
  const int64_t unit = std::max(kKUnit, q.block);
  q.kp = (q.k + unit - 1) / unit * unit;
  q.codes.resize(size_t(q.tiles() * q.tile_bytes()));
  q.scales.resize(size_t(q.tiles() * q.groups() * kTileRows));
  return q;
}

// Quantizes W (N x K, float) into the packed format. Throws Error on bad options, bad
// shapes, or a non-finite weight (named).
inline BlockFpMatrix pack(HostView<const float> W, const PackOptions& opt = {}) {
  using lsgemm::detail::require;
  lsgemm::detail::check_view(W, "W");
  lsgemm::detail::require_pack_shape(W.rows, W.cols, "block_fp::pack");
  BlockFpMatrix q = allocate(W.rows, W.cols, opt);
  float amax = 0.0f;
  for (int64_t r = 0; r < q.n; ++r)
    for (int64_t c = 0; c < q.k; ++c) {
      require(std::isfinite(W(r, c)), "block_fp::pack: W(", r, ",", c, ")=", W(r, c),
              " is not finite (the format stores no NaN/Inf blocks)");
      amax = std::max(amax, std::fabs(W(r, c)));
    }
  if (q.scheme == Scheme::kNvfp4) q.tensor_scale = nvfp4_tensor_scale(amax);
  if (opt.order == ChannelOrder::kByAmax) q.channels = detail::channels_by_amax(W);
  const int64_t G = q.groups();
  std::vector<uint8_t> cb(size_t(q.block));
  std::vector<float> row(size_t(q.k));
  for (int64_t r = 0; r < q.n; ++r) {
    for (int64_t c = 0; c < q.k; ++c) row[size_t(c)] = W(r, q.channel(c));
    const float* w = row.data();
    for (int64_t g = 0; g < G; ++g) {
      const int64_t k0 = g * q.block, len = std::min<int64_t>(q.block, q.k - k0);
      if (len <= 0) break;  // padding blocks keep scale byte 0 and zero codes
      uint8_t s = 0;
      switch (q.scheme) {
        case Scheme::kMx: s = quantize_mx_block(q.element, w + k0, int(len), cb.data()); break;
        case Scheme::kNvfp4: s = quantize_nvfp4_block(w + k0, int(len), q.tensor_scale, cb.data()); break;
        case Scheme::kBfp: s = quantize_bfp_block(q.mantissa_bits, w + k0, int(len), cb.data()); break;
      }
      q.scales[tile_const_index(r, g, G)] = s;
      for (int64_t i = 0; i < len; ++i) q.set_code(r, k0 + i, cb[size_t(i)]);
    }
  }
  return q;
}

// Checks a packed object's invariants in O(size): run it on anything that did not come
// out of pack(). Throws Error naming the first violation.
inline void validate(const BlockFpMatrix& q) {
  using lsgemm::detail::require;
  detail::check_packed(q, "block_fp::validate");
  detail::check_channels(q, "block_fp::validate");
  const int64_t G = q.groups();
  for (int64_t r = 0; r < q.tiles() * kTileRows; ++r)
    for (int64_t g = 0; g < G; ++g) {
      const uint8_t s = q.scale_byte(r, g);
      if (q.scheme == Scheme::kNvfp4) {
        require(s < 0x7F, "block_fp::validate: NVFP4 scale byte of row ", r, " block ", g, " is 0x", std::hex,
                int(s), std::dec, " (must be a non-negative, non-NaN E4M3: 0x00..0x7E)");
      } else {
        require(s != 0xFF, "block_fp::validate: scale byte of row ", r, " block ", g,
                " is 0xFF (NaN): this format stores no NaN blocks");
      }
      require(r < q.n || s == 0, "block_fp::validate: padding row ", r, " has scale byte ", int(s), ", must be 0");
    }
  const bool fp8 = q.scheme == Scheme::kMx &&
                   (q.element == MxElement::kFp8E4M3 || q.element == MxElement::kFp8E5M2);
  for (int64_t r = 0; r < q.tiles() * kTileRows; ++r)
    for (int64_t c = 0; c < q.kp; ++c) {
      const int code = q.code(r, c);
      if (r >= q.n || c >= q.k) {
        require(code == 0, "block_fp::validate: padding code at (", r, ",", c, ") is ", code, ", must be 0");
        continue;
      }
      if (fp8)
        require(std::isfinite(q.element_value(code)), "block_fp::validate: element code 0x", std::hex, code,
                std::dec, " at (", r, ",", c, ") is ", q.element_value(code), " (", mx_name(q.element),
                " NaN/Inf codes are not stored)");
    }
}

// Back to a dense N x K float matrix: w = S * v, the f32 product the kernels use.
// Checks the object's sizes first (O(1)); validate() it first if it came from outside.
inline std::vector<float> dequantize_to_vector(const BlockFpMatrix& q) {
  detail::check_packed(q, "block_fp::dequantize");
  detail::check_channels(q, "block_fp::dequantize");
  std::vector<float> out = lsgemm::detail::alloc_floats(q.n * q.k, "block_fp::dequantize");
  for (int64_t r = 0; r < q.n; ++r)
    for (int64_t c = 0; c < q.k; ++c) out[size_t(r * q.k + q.channel(c))] = q.weight(r, c);
  return out;
}

inline void dequantize(const BlockFpMatrix& q, HostView<float> out) {
  detail::check_packed(q, "block_fp::dequantize");
  lsgemm::detail::dequantize_into(out, q.n, q.k, "block_fp::dequantize", [&] { return dequantize_to_vector(q); });
}

LSGEMM_ABI_END
}  // namespace block_fp
}  // namespace lsgemm
