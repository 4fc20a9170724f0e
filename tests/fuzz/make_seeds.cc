// Writes the fuzz targets' seed corpus: weights made by pack() (every bit width, group
// kind, weight kind, N:M pattern kind, value type, sparsity, table and activation mode),
// encoded in the targets' input layout with an X that reaches each kernel path (GEMV and
// GEMM row counts, edge values, X that must be rejected), plus hand-made hostile headers
// (huge, negative, unsupported fields, short buffers, inconsistent offsets) that a
// checker must turn into lsgemm::Error.
//
//   make_seeds <dir>    writes <dir>/<family>/<name>, family int_quant, lut, nm_sparse,
//                       bitmap_sparse
//
// The seeds are committed (tests/fuzz/corpus); rerun this after changing the layout in
// fuzz_input.hpp or the fuzz targets' read_weight().
#include <sys/stat.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <lsgemm/bitmap_sparse/format.hpp>
#include <lsgemm/int_quant/format.hpp>
#include <lsgemm/lut/format.hpp>
#include <lsgemm/nm_sparse/format.hpp>

#define LSGEMM_FUZZ_SEEDS_ONLY  // the encodings, not the targets' checks (those need the kernels)
#include "fuzz_input.hpp"

namespace iq = lsgemm::int_quant;
namespace lut = lsgemm::lut;
namespace nm = lsgemm::nm_sparse;
namespace bs = lsgemm::bitmap_sparse;
using namespace lsgemm_fuzz;

namespace {

// The inverse of FuzzInput: appends fields in its encodings.
class Writer {
 public:
  void u8(uint8_t v) { b_.push_back(v); }
  void u16(uint16_t v) { u8(uint8_t(v)); u8(uint8_t(v >> 8)); }
  void u32(uint32_t v) { u16(uint16_t(v)); u16(uint16_t(v >> 16)); }
  void u64(uint64_t v) { u32(uint32_t(v)); u32(uint32_t(v >> 32)); }
  void raw(const void* p, size_t n) {
    const auto* s = static_cast<const uint8_t*>(p);
    b_.insert(b_.end(), s, s + n);
  }

  void i64(int64_t v) {
    if (v >= 0 && v <= 65535) {
      u8(kSmall); u16(uint16_t(v));
    } else if (v < 0 && v >= -65535) {
      u8(kNegative); u16(uint16_t(-v));
    } else {
      u8(kRaw); u64(uint64_t(v));
    }
  }
  void derived() { u8(kDerived); }
  void f32(float v) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    u8(kFloatRaw); u32(bits);
  }
  // A buffer of the length the header implies, its bytes verbatim.
  void buffer(const void* p, size_t bytes) {
    u8(kImplied); u16(0);
    u8(kBytes); raw(p, bytes);
  }
  // A buffer of `length` elements of one repeated pattern.
  void pattern_buffer(LengthTag tag, uint16_t length, const std::vector<uint8_t>& pat) {
    u8(tag); u16(length);
    u8(kPattern); u8(uint8_t(pat.size())); raw(pat.data(), pat.size());
  }
  void empty_buffer() { u8(kEmpty); u16(0); u8(kZeros); }
  // A buffer of exactly these bytes, whatever the header implies (an explicit length of
  // `count` elements).
  void explicit_buffer(const void* p, uint16_t count, size_t bytes) {
    u8(kExplicit); u16(count);
    u8(kBytes); raw(p, bytes);
  }

  const std::vector<uint8_t>& bytes() const { return b_; }

 private:
  std::vector<uint8_t> b_;
};

// X, Y and the epilogue, in Activations::read / the targets' order.
struct Call {
  int rows = 1;
  bool wrong_k = false;          // X gets a small wrong K (k_small) instead of the weight's
  int k_small = 0;
  int ld_pad = 0;                // 0..3
  int exp = 0;                   // values * 2^exp, -20..20
  uint8_t seed = 1;
  bool everywhere = false;       // every X value is `fill`
  float fill = 0.0f;
  std::vector<std::pair<uint16_t, float>> edges;  // up to 15 (position mod M*K, value)
  int wrong_n = -1;              // >= 0: Y gets this many columns (0..15)
  uint8_t y_seed = 7, bias_seed = 3;
  bool bias = false, accumulate = false;
  uint8_t spec_tamper = 0, tables_tamper = 0;  // lut only (see tamper_spec, tamper_tables)
  int64_t spec_value = 0;                      // the replacement, for spec_tamper 12 or 13

  void write(Writer& o, bool lut_target) const {
    o.u8(uint8_t(rows));
    o.u8(uint8_t((wrong_k ? 1 : 0) | (ld_pad << 1)));
    if (wrong_k) o.u8(uint8_t(k_small));
    o.u8(uint8_t(exp + 20));
    o.u8(seed);
    o.u8(uint8_t((everywhere ? 0x80 : 0) | edges.size()));
    if (everywhere) o.f32(fill);
    for (const auto& e : edges) {
      o.u16(e.first);
      o.f32(e.second);
    }
    o.u8(wrong_n >= 0 ? uint8_t(0xF0 | wrong_n) : 0);
    o.u8(y_seed);
    o.u8(uint8_t((bias ? 1 : 0) | (accumulate ? 2 : 0)));
    o.u8(bias_seed);
    if (lut_target) {
      o.u8(spec_tamper);
      if (spec_tamper % 16 == 12 || spec_tamper % 16 == 13) o.i64(spec_value);
      o.u8(tables_tamper);
    }
  }
};

// Smooth-ish weights with a few large entries, reproducible.
std::vector<float> weights(int64_t n, int64_t k, uint32_t seed) {
  std::vector<float> w(size_t(n * k));
  Lcg lcg(seed);
  for (size_t i = 0; i < w.size(); ++i) w[i] = lcg.next() * (i % 37 == 5 ? 8.0f : 0.25f);
  return w;
}

std::vector<uint8_t> encode(const iq::QuantizedMatrix& w, const Call& c) {
  Writer o;
  o.u8(uint8_t((w.per_channel ? 1 : 0) | (w.symmetric ? 2 : 0) | (w.per_channel ? 4 : 0)));
  o.i64(w.bits);
  o.u8(uint8_t(w.act));
  o.f32(w.outlier_threshold);
  if (!w.per_channel) o.i64(w.group);
  o.i64(w.n);
  o.i64(w.k);
  o.derived();  // kp follows K, so that a mutated K keeps a consistent header
  o.buffer(w.codes.data(), w.codes.bytes());
  o.buffer(w.scales.data(), w.scales.bytes());
  o.buffer(w.zeros.data(), w.zeros.bytes());
  c.write(o, false);
  return o.bytes();
}

std::vector<uint8_t> encode(const lut::LutMatrix& w, const Call& c) {
  Writer o;
  o.u8(uint8_t((w.per_channel ? 1 : 0) | (w.symmetric ? 2 : 0) | (w.per_channel ? 4 : 0)));
  o.u8(uint8_t(w.kind));
  o.u8(uint8_t(w.table_mode));
  o.i64(w.bits);
  if (!w.per_channel) o.i64(w.group);
  o.i64(w.n);
  o.i64(w.k);
  o.derived();
  o.buffer(w.codes.data(), w.codes.bytes());
  o.buffer(w.scales.data(), w.scales.bytes());
  o.buffer(w.offsets.data(), w.offsets.bytes());
  c.write(o, true);
  return o.bytes();
}

std::vector<uint8_t> encode(const nm::NmSparseMatrix& w, const Call& c) {
  Writer o;
  o.u8(uint8_t(w.values_type));
  o.u8(uint8_t(w.act));
  o.i64(w.nnz);
  o.i64(w.run);
  o.i64(w.group);
  o.i64(w.n);
  o.i64(w.k);
  o.derived();
  o.buffer(w.values.data(), w.values.bytes());
  o.buffer(w.indices.data(), w.indices.bytes());
  o.buffer(w.scales.data(), w.scales.bytes());
  c.write(o, false);
  return o.bytes();
}

// bitmap_sparse: the group as pack() stores it is derived (kp for one int8 scale per row,
// 0 for f32 and bf16), so that a mutated K keeps the header consistent; the offsets are
// derived from the masks (see fuzz_bitmap_sparse.cc), or given verbatim (raw_offsets).
std::vector<uint8_t> encode(const bs::BitmapSparseMatrix& w, const Call& c, bool raw_offsets = false) {
  Writer o;
  o.u8(uint8_t(w.values_type));
  o.i64(w.n);
  o.i64(w.k);
  if ((w.ints() && w.group == w.kp()) || (!w.ints() && w.group == 0))
    o.derived();
  else
    o.i64(w.group);
  o.buffer(w.masks.data(), w.masks.bytes());
  if (raw_offsets) {
    o.u8(kOffsetsRead);
    o.buffer(w.offsets.data(), w.offsets.bytes());
  } else {
    o.u8(kOffsetsDerived);
  }
  o.buffer(w.values.data(), w.values.bytes());
  o.buffer(w.scales.data(), w.scales.bytes());
  c.write(o, false);
  return o.bytes();
}

// A hand-made header: every field explicit, buffers as given (patterns, lengths as tagged).
struct Hostile {
  uint8_t flags = 0;
  int64_t bits = 4, group = 128, n = 16, k = 128, kp = 128;
  uint8_t act_or_kind = 0, table_mode = 0;
  LengthTag lengths = kImplied;
  std::vector<uint8_t> code_pattern = {0};
  std::vector<uint8_t> scale_pattern = {0x00, 0x3C};  // f16 1.0

  std::vector<uint8_t> encode(bool lut_target, const Call& c) const {
    Writer o;
    o.u8(flags);
    if (lut_target) {
      o.u8(act_or_kind);
      o.u8(table_mode);
      o.i64(bits);
    } else {
      o.i64(bits);
      o.u8(act_or_kind);
      o.f32(0.0f);
    }
    if (!(flags & 4)) o.i64(group);
    o.i64(n);
    o.i64(k);
    o.i64(kp);
    o.pattern_buffer(lengths, 64, code_pattern);
    o.pattern_buffer(lengths, 16, scale_pattern);
    o.pattern_buffer(lengths, 16, {0});
    c.write(o, lut_target);
    return o.bytes();
  }
};

// The same for nm_sparse's header (its own fields; no flags byte).
struct NmHostile {
  nm::ValueType values = nm::ValueType::kF32;
  lsgemm::ActMode act = lsgemm::ActMode::kFloat;
  int64_t nnz = 2, run = 4, group = 0, n = 16, k = 128, kp = 128;
  LengthTag lengths = kImplied;
  std::vector<uint8_t> value_pattern = {0x00, 0x00, 0x80, 0x3F};  // f32 1.0
  std::vector<uint8_t> index_pattern = {0x44};                    // 2:4, every run at positions 0, 1
  std::vector<uint8_t> scale_pattern = {0x00, 0x3C};              // f16 1.0

  std::vector<uint8_t> encode(const Call& c) const {
    Writer o;
    o.u8(uint8_t(values));
    o.u8(uint8_t(act));
    o.i64(nnz);
    o.i64(run);
    o.i64(group);
    o.i64(n);
    o.i64(k);
    o.i64(kp);
    o.pattern_buffer(lengths, 64, value_pattern);
    o.pattern_buffer(lengths, 16, index_pattern);
    o.pattern_buffer(lengths, 16, scale_pattern);
    c.write(o, false);
    return o.bytes();
  }
};

// The same for bitmap_sparse: masks, values and scales as patterns (lengths as tagged),
// offsets derived from the masks, derived and then one entry replaced, or a verbatim list.
struct BsHostile {
  bs::ValueType values = bs::ValueType::kF32;
  int64_t n = 16, k = 128, group = 0;
  LengthTag mask_length = kImplied, value_length = kImplied, scale_length = kImplied;
  std::vector<uint8_t> mask_pattern = {0x55};                      // every other column
  OffsetsTag offsets = kOffsetsDerived;
  uint16_t tamper_at = 0;                                          // kOffsetsTampered
  uint32_t tamper_value = 0;
  std::vector<uint32_t> offset_list;                               // kOffsetsRead: verbatim
  std::vector<uint8_t> value_pattern = {0x00, 0x00, 0x80, 0x3F};   // f32 1.0
  std::vector<uint8_t> scale_pattern = {0x00, 0x00, 0x80, 0x3F};   // f32 1.0

  std::vector<uint8_t> encode(const Call& c) const {
    Writer o;
    o.u8(uint8_t(values));
    o.i64(n);
    o.i64(k);
    o.i64(group);
    o.pattern_buffer(mask_length, 64, mask_pattern);
    o.u8(offsets);
    if (offsets == kOffsetsTampered) {
      o.u16(tamper_at);
      o.u32(tamper_value);
    } else if (offsets == kOffsetsRead) {
      o.explicit_buffer(offset_list.data(), uint16_t(offset_list.size()), offset_list.size() * 4);
    }
    o.pattern_buffer(value_length, 64, value_pattern);
    o.pattern_buffer(scale_length, 16, scale_pattern);
    c.write(o, false);
    return o.bytes();
  }
};

std::string g_dir;
int g_written = 0;

void save(const char* family, const std::string& name, const std::vector<uint8_t>& bytes) {
  const std::string path = g_dir + "/" + family + "/" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() || std::fclose(f) != 0) {
    std::fprintf(stderr, "make_seeds: cannot write %s\n", path.c_str());
    std::exit(1);
  }
  ++g_written;
}

void int_quant_seed(const char* name, int64_t n, int64_t k, const iq::PackOptions& o, const Call& c) {
  const std::vector<float> w = weights(n, k, uint32_t(n * 131 + k));
  save("int_quant", name, encode(iq::pack(lsgemm::view<const float>(w.data(), n, k), o), c));
}

void lut_seed(const char* name, int64_t n, int64_t k, const lut::PackOptions& o, const Call& c) {
  const std::vector<float> w = weights(n, k, uint32_t(n * 137 + k));
  save("lut", name, encode(lut::pack(lsgemm::view<const float>(w.data(), n, k), o), c));
}

void nm_sparse_seed(const char* name, int64_t n, int64_t k, const nm::PackOptions& o, const Call& c) {
  const std::vector<float> w = weights(n, k, uint32_t(n * 139 + k));
  save("nm_sparse", name, encode(nm::pack(lsgemm::view<const float>(w.data(), n, k), o), c));
}

void bitmap_sparse_seed(const std::string& name, int64_t n, int64_t k, const bs::PackOptions& o, const Call& c,
                        bool raw_offsets = false) {
  const std::vector<float> w = weights(n, k, uint32_t(n * 149 + k));
  save("bitmap_sparse", name, encode(bs::pack(lsgemm::view<const float>(w.data(), n, k), o), c, raw_offsets));
}

Call rows(int m) {
  Call c;
  c.rows = m;
  return c;
}

void int_quant_seeds() {
  using iq::ActMode;
  const auto opt = [] { return iq::PackOptions(); };
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  int_quant_seed("w4_g128_float_gemv", 17, 256, opt().with_bits(4).with_group(128), rows(3));
  int_quant_seed("w4_g32_sym_int8_m1", 16, 64, opt().with_bits(4).with_group(32).with_symmetric(true)
                                                   .with_act(ActMode::kInt8), rows(1));
  int_quant_seed("w8_g64_int8_gemm", 5, 128, opt().with_bits(8).with_group(64).with_act(ActMode::kInt8), rows(4));
  int_quant_seed("w2_g32_float", 33, 96, opt().with_bits(2).with_group(32), rows(2));
  int_quant_seed("w8_pc_sym_int8_k45", 7, 45, opt().with_bits(8).with_group(iq::kPerChannel).with_symmetric(true)
                                                  .with_act(ActMode::kInt8), rows(5));
  int_quant_seed("w4_pc_float_gemm_m17", 20, 20, opt().with_bits(4).with_group(iq::kPerChannel), rows(17));
  int_quant_seed("w2_pc_int8_1x1", 1, 1, opt().with_bits(2).with_group(iq::kPerChannel).with_act(ActMode::kInt8),
                 rows(1));
  int_quant_seed("w8_g128_float_m0", 3, 128, opt().with_bits(8).with_group(128), rows(0));
  int_quant_seed("w4_g64_int8_m20", 16, 64, opt().with_bits(4).with_group(64).with_act(ActMode::kInt8), rows(20));
  int_quant_seed("w2_g256_sym_float_m64", 2, 256, opt().with_bits(2).with_group(256).with_symmetric(true), rows(64));

  Call outl = rows(3);
  outl.edges = {{5, 10.0f}, {40, -7.5f}, {300, 31.0f}};
  int_quant_seed("w4_g256_int8_outliers", 9, 256, opt().with_bits(4).with_group(256).with_act(ActMode::kInt8)
                                                     .with_outliers(6.0f), outl);
  Call outl_gemm = outl;
  outl_gemm.rows = 8;
  int_quant_seed("w8_g32_int8_outliers_gemm", 4, 64, opt().with_bits(8).with_group(32).with_act(ActMode::kInt8)
                                                        .with_outliers(6.0f), outl_gemm);

  Call bad_x = rows(2);
  bad_x.edges = {{3, nan}, {70, inf}};
  int_quant_seed("w4_g32_int8_nan_x", 16, 64, opt().with_bits(4).with_group(32).with_act(ActMode::kInt8), bad_x);
  Call extreme = rows(5);
  extreme.edges = {{0, 1e37f}, {9, -1e37f}, {17, 1e-38f}, {33, std::numeric_limits<float>::denorm_min()},
                   {60, -0.0f}, {100, 3e38f}};
  int_quant_seed("w4_g32_float_extreme_x", 16, 64, opt().with_bits(4).with_group(32), extreme);
  extreme.rows = 2;
  int_quant_seed("w8_g32_float_extreme_x_gemv", 16, 64, opt().with_bits(8).with_group(32), extreme);
  Call tiny = rows(4);
  tiny.everywhere = true;
  tiny.fill = 1e-38f;  // 127 / amax overflows to Inf
  tiny.edges = {{1, 0.0f}};
  int_quant_seed("w4_g64_int8_tiny_x", 16, 64, opt().with_bits(4).with_group(64).with_act(ActMode::kInt8), tiny);

  Call epi = rows(3);
  epi.bias = epi.accumulate = true;
  epi.ld_pad = 3;
  epi.exp = 6;
  int_quant_seed("w4_g128_int8_bias_acc_ld", 24, 128, opt().with_bits(4).with_group(128)
                                                        .with_act(ActMode::kInt8), epi);
  Call wrong = rows(2);
  wrong.wrong_n = 3;
  int_quant_seed("w4_g32_wrong_n", 16, 64, opt().with_bits(4).with_group(32), wrong);
  wrong = rows(2);
  wrong.wrong_k = true;
  wrong.k_small = 63;
  int_quant_seed("w4_g32_wrong_k", 16, 64, opt().with_bits(4).with_group(32), wrong);

  // Hostile headers: each must end in lsgemm::Error from every entry point.
  Hostile h;
  const int64_t huge = std::numeric_limits<int64_t>::max();
  h.n = huge; h.k = int64_t(1) << 60; h.kp = int64_t(1) << 60;
  save("int_quant", "hostile_huge_n_kp", h.encode(false, rows(0)));
  h = Hostile();
  h.bits = 16;
  save("int_quant", "hostile_bits16", h.encode(false, rows(1)));
  h = Hostile();
  h.group = 0;
  save("int_quant", "hostile_group0", h.encode(false, rows(1)));
  h = Hostile();
  h.n = -4;
  save("int_quant", "hostile_negative_n", h.encode(false, rows(0)));
  h = Hostile();
  h.n = int64_t(1) << 40; h.k = 16; h.kp = 16; h.group = 16;
  save("int_quant", "hostile_n_2pow40", h.encode(false, rows(0)));
  h = Hostile();
  h.lengths = kEmpty;
  save("int_quant", "hostile_empty_buffers", h.encode(false, rows(2)));
  h = Hostile();
  h.lengths = kImpliedNear;  // the implied lengths plus (p % 5) - 2: codes 2 long, scales 1 short
  save("int_quant", "hostile_short_buffers", h.encode(false, rows(2)));
  h = Hostile();
  h.act_or_kind = 7;
  save("int_quant", "hostile_act_mode", h.encode(false, rows(1)));
}

void lut_seeds() {
  using lut::TableMode;
  using lut::WeightKind;
  const auto opt = [] { return lut::PackOptions(); };
  const float nan = std::numeric_limits<float>::quiet_NaN();
  lut_seed("u2_g128_exact_gemv", 17, 256, opt().with_bits(2).with_group(128), rows(3));
  lut_seed("u1_g32_sym_exact_m1", 16, 64, opt().with_bits(1).with_group(32).with_symmetric(true), rows(1));
  lut_seed("u3_g64_fast", 5, 128, opt().with_bits(3).with_group(64).with_tables(TableMode::kFast), rows(4));
  lut_seed("u4_pc_exact_unpacked_m17", 20, 100, opt().with_bits(4).with_group(lut::kPerChannel), rows(17));
  lut_seed("u2_g64_exact_unpacked_m16", 18, 64, opt().with_bits(2).with_group(64), rows(16));
  lut_seed("u1_g128_exact_unpacked_m64", 3, 128, opt().with_bits(1).with_group(128), rows(64));
  lut_seed("u4_g256_sym_fast", 9, 256, opt().with_bits(4).with_group(256).with_symmetric(true)
                                            .with_tables(TableMode::kFast), rows(2));
  lut_seed("tern_planes_g64_exact", 16, 128, lut::PackOptions::ternary(WeightKind::kTernaryPlanes, 64), rows(1));
  lut_seed("tern_planes_tensor_fast", 3, 200, lut::PackOptions::ternary(WeightKind::kTernaryPlanes)
                                                  .with_tables(TableMode::kFast), rows(5));
  lut_seed("tern_triples_tensor_exact", 17, 96, lut::PackOptions::ternary(), rows(1));
  lut_seed("tern_triples_pc_fast_gemm", 4, 50, lut::PackOptions::ternary(WeightKind::kTernaryTriples,
                                                                         lut::kPerChannel)
                                                   .with_tables(TableMode::kFast), rows(6));
  lut_seed("u2_pc_exact_1x1", 1, 1, opt().with_bits(2).with_group(lut::kPerChannel), rows(1));
  lut_seed("u2_g32_exact_m0", 2, 32, opt().with_bits(2).with_group(32), rows(0));

  Call bad_x = rows(2);
  bad_x.edges = {{3, nan}, {70, -std::numeric_limits<float>::infinity()}};
  lut_seed("u2_g128_nan_x", 16, 128, opt().with_bits(2), bad_x);
  Call tiny = rows(3);
  tiny.everywhere = true;
  tiny.fill = 1e-38f;  // 127 / amax overflows to Inf
  tiny.edges = {{2, 0.0f}, {9, -1e-38f}};
  lut_seed("u2_g64_exact_tiny_x", 16, 64, opt().with_bits(2).with_group(64), tiny);
  Call big = rows(2);
  big.edges = {{0, 1e37f}, {1, 3e38f}, {2, 3e38f}, {5, std::numeric_limits<float>::denorm_min()}, {6, -0.0f}};
  lut_seed("u2_g32_fast_huge_x", 16, 64, opt().with_bits(2).with_group(32).with_tables(TableMode::kFast), big);
  lut_seed("u3_g32_exact_huge_x", 16, 64, opt().with_bits(3).with_group(32), big);

  Call epi = rows(4);
  epi.bias = epi.accumulate = true;
  epi.ld_pad = 2;
  epi.exp = -8;
  lut_seed("u4_g128_fast_bias_acc_ld", 24, 256, opt().with_bits(4).with_tables(TableMode::kFast), epi);
  Call spec = rows(2);
  spec.spec_tamper = 13;  // X block 64 instead of the weight's 128: tables that matmul must refuse
  spec.spec_value = 64;
  lut_seed("u2_g128_spec_block", 16, 128, opt().with_bits(2), spec);
  for (uint8_t how : {4, 5, 6, 7}) {
    Call t = rows(2);
    t.tables_tamper = how;
    const std::string name = "u2_g64_tables_tamper" + std::to_string(how);
    lut_seed(name.c_str(), 16, 64, opt().with_bits(2).with_group(64), t);
  }
  Call wrong = rows(2);
  wrong.wrong_n = 5;
  lut_seed("u2_g128_wrong_n", 16, 128, opt().with_bits(2), wrong);

  Hostile h;
  h.bits = 2;
  const int64_t huge = std::numeric_limits<int64_t>::max();
  h.n = huge; h.k = int64_t(1) << 60; h.kp = int64_t(1) << 60;
  save("lut", "hostile_huge_n_kp", h.encode(true, rows(0)));
  h = Hostile();
  h.bits = 2; h.n = 1; h.k = int64_t(1) << 62; h.kp = int64_t(1) << 62;
  save("lut", "hostile_huge_k_tables", h.encode(true, rows(0)));
  h = Hostile();
  h.bits = 16;
  save("lut", "hostile_bits16", h.encode(true, rows(1)));
  h = Hostile();
  h.bits = 2; h.n = -4;
  save("lut", "hostile_negative_n", h.encode(true, rows(0)));
  h = Hostile();
  h.bits = 2; h.n = int64_t(1) << 40; h.k = 128; h.kp = 128;
  save("lut", "hostile_n_2pow40", h.encode(true, rows(0)));
  h = Hostile();
  h.bits = 2; h.lengths = kEmpty;
  save("lut", "hostile_empty_buffers", h.encode(true, rows(2)));
  h = Hostile();
  h.bits = 0; h.act_or_kind = 2; h.flags = 1 | 2 | 4; h.k = 48; h.kp = 48;  // triples
  h.code_pattern = {0xFF};  // magnitude 15 > 13, and sign bits on zero magnitudes
  save("lut", "hostile_triples_bad_codes", h.encode(true, rows(1)));
  h = Hostile();
  h.act_or_kind = 9; h.table_mode = 5;
  save("lut", "hostile_enums", h.encode(true, rows(1)));
}

void nm_sparse_seeds() {
  using lsgemm::ActMode;
  using nm::ValueType;
  const auto opt = [] { return nm::PackOptions(); };
  nm_sparse_seed("p2_4_f32_gemm", 17, 100, opt(), rows(7));
  nm_sparse_seed("p1_8_bf16_gemv", 16, 200, opt().with_pattern(1, 8).with_values(ValueType::kBf16), rows(1));
  nm_sparse_seed("p2_4_int4_g128_int8", 16, 256, opt().with_values(ValueType::kInt4).with_group(128)
                                                    .with_act(ActMode::kInt8), rows(5));
  nm_sparse_seed("p4_8_int8_g64_float", 5, 64, opt().with_pattern(4, 8).with_values(ValueType::kInt8).with_group(64),
                 rows(3));
  // 3:8 packs whole quads in no index word: the int8 mode's gather kernel, not the quad dot.
  nm_sparse_seed("p3_8_int8_g64_int8_m13", 3, 120, opt().with_pattern(3, 8).with_values(ValueType::kInt8)
                                                      .with_group(64).with_act(ActMode::kInt8), rows(13));
  nm_sparse_seed("p1_4_f32_1x1", 1, 1, opt().with_pattern(1, 4), rows(1));

  Call bad_x = rows(2);
  bad_x.edges = {{71, 0x1p64f}, {70, 0x1.000002p64f}};  // the largest |x| int8 mode takes, the float above
  nm_sparse_seed("p2_4_int4_g64_int8_bad_x", 16, 64, opt().with_values(ValueType::kInt4).with_group(64)
                                                        .with_act(ActMode::kInt8), bad_x);
  Call epi = rows(4);
  epi.bias = epi.accumulate = true;
  epi.ld_pad = 3;
  epi.exp = -6;
  epi.edges = {{1, 1e37f}, {20, -0.0f}, {33, std::numeric_limits<float>::denorm_min()}};
  nm_sparse_seed("p2_8_bf16_bias_acc_ld", 20, 96, opt().with_pattern(2, 8).with_values(ValueType::kBf16), epi);

  NmHostile h;
  const int64_t huge = std::numeric_limits<int64_t>::max();
  h.n = huge; h.k = int64_t(1) << 60; h.kp = int64_t(1) << 60;
  save("nm_sparse", "hostile_huge_n_kp", h.encode(rows(0)));
  h = NmHostile();
  h.n = int64_t(1) << 40;
  save("nm_sparse", "hostile_n_2pow40", h.encode(rows(0)));
  h = NmHostile();
  h.nnz = 0;  // no pattern: R * N * b never exceeds 32
  save("nm_sparse", "hostile_pattern_0_4", h.encode(rows(1)));
  h = NmHostile();
  h.nnz = 4; h.run = 4;
  save("nm_sparse", "hostile_pattern_4_4", h.encode(rows(1)));
  h = NmHostile();
  h.values = static_cast<ValueType>(9);
  save("nm_sparse", "hostile_value_type", h.encode(rows(1)));
  h = NmHostile();
  h.act = ActMode::kInt8;  // int8 activations with f32 values
  save("nm_sparse", "hostile_act_f32", h.encode(rows(1)));
  h = NmHostile();
  h.group = 128;  // f32 values take no group
  save("nm_sparse", "hostile_f32_group", h.encode(rows(1)));
  h = NmHostile();
  h.values = ValueType::kInt8; h.group = 32;
  save("nm_sparse", "hostile_int8_group32", h.encode(rows(1)));
  h = NmHostile();
  h.k = 100; h.kp = 100;  // not a multiple of the index word's span (32)
  save("nm_sparse", "hostile_kp_unrounded", h.encode(rows(1)));
  h = NmHostile();
  h.lengths = kEmpty;
  save("nm_sparse", "hostile_empty_buffers", h.encode(rows(2)));
  h = NmHostile();
  h.lengths = kImpliedNear;
  save("nm_sparse", "hostile_short_buffers", h.encode(rows(2)));
  // Sizes right, contents not: validate() must reject them, matmul may run on them.
  h = NmHostile();
  h.index_pattern = {0x00};  // both slots of every run at position 0
  save("nm_sparse", "hostile_positions_repeat", h.encode(rows(3)));
  h = NmHostile();
  h.value_pattern = {0x00, 0x00, 0xC0, 0x7F};  // NaN
  save("nm_sparse", "hostile_nan_values", h.encode(rows(2)));
  h = NmHostile();
  h.k = 97;  // kp 128: the values 1.0 in columns >= K sit in the padding
  save("nm_sparse", "hostile_padding_values", h.encode(rows(2)));
  h = NmHostile();
  h.values = ValueType::kInt4; h.group = 128; h.act = ActMode::kInt8;
  h.value_pattern = {0x88};  // code -8, outside int4's [-7, 7]
  save("nm_sparse", "hostile_int4_code_minus8", h.encode(rows(2)));
}

// Shapes with K = 1, 63, 65 and 300: a tile's tail, one tile, a tile and a column, and
// two chunks with a tail (kp 320). Row counts: M < 12 the expand path (its row tiles of
// 4, 2 and 1), M >= 12 the outer path (1, 2 and 4 vectors of tokens: M up to 16, 32, 72
// at 16 lanes), and at sparsity < 0.4 on AVX-512 the dense-panel path. Kept small enough
// that M x N x K stays within the targets' bound for the reference (2^15).
void bitmap_sparse_seeds() {
  using bs::ValueType;
  const auto opt = [] { return bs::PackOptions(); };
  const auto f32 = [&](double s) { return opt().with_sparsity(s); };
  const auto bf16 = [&](double s) { return opt().with_sparsity(s).with_values(ValueType::kBf16); };
  const auto int8 = [&](double s, int g) { return opt().with_sparsity(s).with_values(ValueType::kInt8).with_group(g); };
  // The expand path.
  bitmap_sparse_seed("f32_s0_k300_m1", 5, 300, f32(0.0), rows(1));
  bitmap_sparse_seed("f32_s50_k65_m3", 17, 65, f32(0.5), rows(3));
  bitmap_sparse_seed("f32_s80_k300_m7", 9, 300, f32(0.8), rows(7));
  bitmap_sparse_seed("f32_s100_k65_m2", 8, 65, f32(1.0), rows(2));
  bitmap_sparse_seed("f32_s0_k1_1x1", 1, 1, f32(0.0), rows(1));
  bitmap_sparse_seed("bf16_s95_k1_m5", 3, 1, bf16(0.95), rows(5));
  bitmap_sparse_seed("bf16_s80_k63_m11", 20, 63, bf16(0.8), rows(11));
  bitmap_sparse_seed("int8_row_s80_k300_m4", 6, 300, int8(0.8, 0), rows(4));
  bitmap_sparse_seed("int8_g64_s50_k63_m2", 16, 63, int8(0.5, 64), rows(2));
  bitmap_sparse_seed("int8_g256_s0_k300_m1", 4, 300, int8(0.0, 256), rows(1));
  bitmap_sparse_seed("f32_s50_k65_m0", 4, 65, f32(0.5), rows(0));
  // The outer path.
  bitmap_sparse_seed("f32_s95_k63_m12", 20, 63, f32(0.95), rows(12));
  bitmap_sparse_seed("f32_s50_k300_m72", 1, 300, f32(0.5), rows(72));  // two token blocks
  bitmap_sparse_seed("bf16_s50_k300_m20", 5, 300, bf16(0.5), rows(20));
  bitmap_sparse_seed("int8_g64_s50_k65_m13", 16, 65, int8(0.5, 64), rows(13));
  bitmap_sparse_seed("int8_g256_s95_k300_m40", 2, 300, int8(0.95, 256), rows(40));
  bitmap_sparse_seed("int8_row_s100_k63_m12", 8, 63, int8(1.0, 0), rows(12));
  bitmap_sparse_seed("f32_s80_k65_m33", 9, 65, f32(0.8), rows(33));
  // The dense-panel path (AVX-512; elsewhere these run the outer path).
  bitmap_sparse_seed("bf16_s0_k65_m12_panel", 33, 65, bf16(0.0), rows(12));  // two panel blocks
  bitmap_sparse_seed("f32_s30_k65_m24_panel", 16, 65, f32(0.3), rows(24));
  bitmap_sparse_seed("int8_g128_s0_k300_m12_panel", 8, 300, int8(0.0, 128), rows(12));
  bitmap_sparse_seed("int8_row_s0_k63_m16_panel", 12, 63, int8(0.0, 0), rows(16));
  // The offsets verbatim rather than derived.
  bitmap_sparse_seed("f32_s80_k300_m3_raw_offsets", 4, 300, f32(0.8), rows(3), true);
  bitmap_sparse_seed("int8_g128_s50_k300_m12_raw_offsets", 3, 300, int8(0.5, 128), rows(12), true);

  // X with edge values: a non-finite X skips the dense panel (the outer path instead).
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  Call bad_x = rows(12);
  bad_x.edges = {{3, nan}, {70, inf}};
  bitmap_sparse_seed("f32_s0_k65_m12_nan_x", 16, 65, f32(0.0), bad_x);
  bad_x.rows = 3;
  bitmap_sparse_seed("bf16_s80_k65_m3_inf_x", 16, 65, bf16(0.8), bad_x);
  Call extreme = rows(5);
  extreme.edges = {{0, 1e37f}, {9, -1e37f}, {17, 1e-38f}, {33, std::numeric_limits<float>::denorm_min()},
                   {60, -0.0f}, {100, 3e38f}};
  bitmap_sparse_seed("int8_g64_s50_k65_m5_extreme_x", 16, 65, int8(0.5, 64), extreme);
  extreme.rows = 14;
  bitmap_sparse_seed("f32_s80_k65_m14_extreme_x", 16, 65, f32(0.8), extreme);
  Call epi = rows(3);
  epi.bias = epi.accumulate = true;
  epi.ld_pad = 3;
  epi.exp = -6;
  bitmap_sparse_seed("f32_s80_k65_m3_bias_acc_ld", 20, 65, f32(0.8), epi);
  epi.rows = 13;
  epi.ld_pad = 1;
  bitmap_sparse_seed("bf16_s0_k65_m13_bias_acc_ld_panel", 20, 65, bf16(0.0), epi);
  Call wrong = rows(2);
  wrong.wrong_n = 3;
  bitmap_sparse_seed("f32_s50_k65_wrong_n", 16, 65, f32(0.5), wrong);
  wrong = rows(2);
  wrong.wrong_k = true;
  wrong.k_small = 63;
  bitmap_sparse_seed("f32_s50_k65_wrong_k", 16, 65, f32(0.5), wrong);

  // Hostile headers: each must end in lsgemm::Error from every entry point that checks
  // the object (check_packed or validate()).
  const int64_t huge = std::numeric_limits<int64_t>::max();
  BsHostile h;
  h.n = huge; h.k = int64_t(1) << 60;
  save("bitmap_sparse", "hostile_huge_n_k", h.encode(rows(0)));
  h = BsHostile();
  h.n = 1; h.k = huge;  // K + 63 overflows where tiles are computed unchecked
  save("bitmap_sparse", "hostile_huge_k", h.encode(rows(0)));
  h = BsHostile();
  h.n = int64_t(1) << 40;
  save("bitmap_sparse", "hostile_n_2pow40", h.encode(rows(0)));
  h = BsHostile();
  h.k = int64_t(1) << 31;  // one past the largest dimension
  save("bitmap_sparse", "hostile_k_2pow31", h.encode(rows(0)));
  h = BsHostile();
  h.n = -4;
  save("bitmap_sparse", "hostile_negative_n", h.encode(rows(0)));
  h = BsHostile();
  h.k = -65;
  save("bitmap_sparse", "hostile_negative_k", h.encode(rows(1)));
  h = BsHostile();
  h.values = static_cast<ValueType>(7);
  save("bitmap_sparse", "hostile_value_type", h.encode(rows(1)));
  for (int64_t g : {int64_t(0), int64_t(32), int64_t(100), int64_t(-64), int64_t(1) << 31}) {
    h = BsHostile();
    h.values = ValueType::kInt8; h.group = g; h.value_pattern = {0x05};
    save("bitmap_sparse", "hostile_int8_group" + std::to_string(g), h.encode(rows(2)));
  }
  h = BsHostile();
  h.group = 128;  // f32 values take no group
  save("bitmap_sparse", "hostile_f32_group128", h.encode(rows(1)));
  // Truncated buffers.
  h = BsHostile();
  h.mask_length = h.value_length = h.scale_length = kEmpty;
  save("bitmap_sparse", "hostile_empty_buffers", h.encode(rows(2)));
  h = BsHostile();
  h.values = ValueType::kInt8; h.group = 64;
  h.mask_length = h.value_length = h.scale_length = kImpliedNear;  // codes 2 long, scales 1 short
  h.value_pattern = {0x05};
  save("bitmap_sparse", "hostile_short_buffers", h.encode(rows(2)));
  h = BsHostile();
  h.value_length = kExplicit;  // 64 values where nnz + slack are asked
  save("bitmap_sparse", "hostile_values_truncated", h.encode(rows(2)));
  h = BsHostile();
  h.k = 320; h.offsets = kOffsetsRead; h.offset_list = {0, 0, 0, 0};  // 16 x 2 + 1 asked
  save("bitmap_sparse", "hostile_offsets_truncated", h.encode(rows(2)));
  // Offsets inconsistent with the masks, sizes right: validate() rejects them, matmul runs
  // (each chunk's offset clamped to nnz, the reads inside the values' slack).
  h = BsHostile();
  h.k = 320; h.n = 4;  // 2 chunks per row, 32 bits per tile: offsets 0, 128, 160, 288, ..., nnz 640
  h.offsets = kOffsetsTampered; h.tamper_at = 1; h.tamper_value = 600;  // row 0's chunk 1 after row 1's
  save("bitmap_sparse", "hostile_offsets_out_of_order", h.encode(rows(3)));
  h.tamper_value = 0xFFFFFFF0u;  // far past nnz
  save("bitmap_sparse", "hostile_offset_past_end", h.encode(rows(2)));
  save("bitmap_sparse", "hostile_offset_past_end_outer", h.encode(rows(12)));
  h.tamper_at = 0; h.tamper_value = 5;  // offsets[0] != 0
  save("bitmap_sparse", "hostile_offset0", h.encode(rows(2)));
  h.tamper_at = 8; h.tamper_value = 900;  // nnz past the masks' popcounts, values sized for it
  save("bitmap_sparse", "hostile_nnz_too_large", h.encode(rows(2)));
  h.tamper_value = 100;  // nnz below: every chunk past it reads the slack
  save("bitmap_sparse", "hostile_nnz_too_small", h.encode(rows(12)));
  h = BsHostile();
  h.k = 320; h.n = 4; h.mask_pattern = {0xFF};  // every column stored
  h.offsets = kOffsetsRead; h.offset_list = {0, 0, 0, 0, 0, 0, 0, 0, 0};  // nnz 0: all in the slack
  save("bitmap_sparse", "hostile_masks_without_values", h.encode(rows(2)));
  save("bitmap_sparse", "hostile_masks_without_values_outer", h.encode(rows(12)));
  h.offset_list = {0, 1280, 1280, 1280, 1280, 1280, 1280, 1280, 1280};  // nnz 4 x 320: the dense panel
  save("bitmap_sparse", "hostile_offsets_at_nnz_panel", h.encode(rows(12)));
  // Masks with bits at columns >= K (offsets derived: they count them).
  h = BsHostile();
  h.k = 65; h.mask_pattern = {0xFF};
  save("bitmap_sparse", "hostile_mask_bits_past_k", h.encode(rows(2)));
  save("bitmap_sparse", "hostile_mask_bits_past_k_panel", h.encode(rows(12)));
  h.k = 1;
  save("bitmap_sparse", "hostile_mask_bits_past_k1", h.encode(rows(3)));
  // Contents validate() rejects.
  h = BsHostile();
  h.value_pattern = {0x00, 0x00, 0xC0, 0x7F};  // NaN
  save("bitmap_sparse", "hostile_nan_values", h.encode(rows(2)));
  h = BsHostile();
  h.values = ValueType::kBf16; h.value_pattern = {0x80, 0x7F};  // +Inf
  save("bitmap_sparse", "hostile_bf16_inf_values", h.encode(rows(12)));
  h = BsHostile();
  h.values = ValueType::kInt8; h.group = 128; h.value_pattern = {0x80};  // code -128
  save("bitmap_sparse", "hostile_int8_code_minus128", h.encode(rows(2)));
  h.value_pattern = {0x7F};
  h.scale_pattern = {0x00, 0x00, 0x80, 0xBF};  // -1.0
  save("bitmap_sparse", "hostile_negative_scales", h.encode(rows(2)));
  h.scale_pattern = {0x00, 0x00, 0x80, 0x7F};  // +Inf
  save("bitmap_sparse", "hostile_inf_scales", h.encode(rows(13)));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>  (writes <dir>/int_quant/*, <dir>/lut/*, <dir>/nm_sparse/*, "
                 "<dir>/bitmap_sparse/*)\n",
                 argv[0]);
    return 2;
  }
  g_dir = argv[1];
  for (const char* sub : {"", "/int_quant", "/lut", "/nm_sparse", "/bitmap_sparse"}) mkdir((g_dir + sub).c_str(), 0755);
  int_quant_seeds();
  lut_seeds();
  nm_sparse_seeds();
  bitmap_sparse_seeds();
  std::printf("make_seeds: wrote %d seeds under %s\n", g_written, g_dir.c_str());
  return 0;
}
