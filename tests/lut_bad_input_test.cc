// lut bad input: every argument check of lut::pack, matmul (from X and from prebuilt
// tables), make_tables and validate throws lsgemm::Error with a message that names the
// problem (DESIGN §8), and a call that throws leaves Y as it was. Both lsgemm::matmul /
// lsgemm::make_tables (dispatch.hpp: this TU's static SIMD target) and the reference
// entry points are checked, since each is public.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "lsgemm/lsgemm.hpp"
#include "lsgemm/lut/format.hpp"
#include "lsgemm/lut/reference.hpp"
#include "support/error_of.hpp"

namespace {

namespace lut = lsgemm::lut;
using lsgemm::HostView;
using lsgemm::test::error_of;
using O = lut::PackOptions;
using lut::WeightKind;

constexpr float kSentinel = -12345.5f;

std::vector<float> random_matrix(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> v(size_t(rows * cols));
  for (float& x : v) x = nd(rng);
  return v;
}

// The public entry points under test.
struct Entry {
  const char* name;
  std::function<void(HostView<const float>, const lut::LutMatrix&, HostView<float>, const lsgemm::Epilogue&)> matmul;
  std::function<void(const lut::Tables&, const lut::LutMatrix&, HostView<float>, const lsgemm::Epilogue&)> matmul_t;
  std::function<lut::Tables(HostView<const float>, const lut::TableSpec&)> make_tables;
};
std::vector<Entry> entries() {
  return {
      {"lsgemm::matmul",
       [](HostView<const float> X, const lut::LutMatrix& w, HostView<float> Y, const lsgemm::Epilogue& e) {
         lsgemm::matmul(X, w, Y, e);
       },
       [](const lut::Tables& t, const lut::LutMatrix& w, HostView<float> Y, const lsgemm::Epilogue& e) {
         lsgemm::matmul(t, w, Y, e);
       },
       [](HostView<const float> X, const lut::TableSpec& s) { return lsgemm::make_tables(X, s); }},
      {"lsgemm::reference::matmul",
       [](HostView<const float> X, const lut::LutMatrix& w, HostView<float> Y, const lsgemm::Epilogue& e) {
         lsgemm::reference::matmul(X, w, Y, e);
       },
       [](const lut::Tables& t, const lut::LutMatrix& w, HostView<float> Y, const lsgemm::Epilogue& e) {
         lsgemm::reference::matmul(t, w, Y, e);
       },
       [](HostView<const float> X, const lut::TableSpec& s) { return lsgemm::reference::make_tables(X, s); }},
  };
}

// ---------------------------------------------------------------------------------
// pack: options and W

class LutPackErrors : public ::testing::Test {
 protected:
  static constexpr int64_t kN = 8, kK = 256;
  std::vector<float> w = random_matrix(kN, kK, 1);
  HostView<const float> W() const { return lsgemm::view<const float>(w.data(), kN, kK); }
};

TEST_F(LutPackErrors, UnsupportedBits) {
  for (int bits : {0, 5, 8, -1}) {
    SCOPED_TRACE(bits);
    const std::string b = "bits=" + std::to_string(bits);
    EXPECT_ERROR_MENTIONS(lut::pack(W(), O().with_bits(bits)), b.c_str(), "allowed: 1, 2, 3, 4");
  }
  for (int bits : {1, 2, 3, 4}) EXPECT_NO_THROW(lut::pack(W(), O().with_bits(bits)));
  // Ternary kinds ignore bits.
  EXPECT_NO_THROW(lut::pack(W(), O::ternary(WeightKind::kTernaryPlanes, 64).with_bits(7)));
}

TEST_F(LutPackErrors, UnsupportedGroup) {
  for (int group : {48, 512, 16, 1, -2}) {
    SCOPED_TRACE(group);
    const std::string g = "group=" + std::to_string(group);
    EXPECT_ERROR_MENTIONS(lut::pack(W(), O().with_group(group)), g.c_str(), "not supported for uniform weights",
                          "32, 64, 128, 256");
    EXPECT_ERROR_MENTIONS(lut::pack(W(), O::ternary(WeightKind::kTernaryPlanes, group)), g.c_str(),
                          "not supported for ternary weights");
  }
  // Per-tensor is for ternary weights only.
  EXPECT_ERROR_MENTIONS(lut::pack(W(), O().with_group(lut::kPerTensor)), "group=-1", "uniform");
}

TEST_F(LutPackErrors, TriplesTakePerChannelOrPerTensorOnly) {
  for (int group : {32, 64, 128, 256}) {
    SCOPED_TRACE(group);
    const std::string g = "group=" + std::to_string(group);
    EXPECT_ERROR_MENTIONS(lut::pack(W(), O::ternary(WeightKind::kTernaryTriples, group)), g.c_str(),
                          "ternary triples layout", "kTernaryPlanes");
  }
  EXPECT_NO_THROW(lut::pack(W(), O::ternary(WeightKind::kTernaryTriples, lut::kPerChannel)));
  EXPECT_NO_THROW(lut::pack(W(), O::ternary(WeightKind::kTernaryTriples, lut::kPerTensor)));
}

TEST_F(LutPackErrors, UnknownKindOrMode) {
  EXPECT_ERROR_MENTIONS(lut::pack(W(), O().with_kind(static_cast<WeightKind>(7))), "unknown weight kind");
  EXPECT_ERROR_MENTIONS(lut::pack(W(), O().with_tables(static_cast<lut::TableMode>(9))), "unknown table mode");
}

TEST_F(LutPackErrors, NonFiniteWeights) {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()})
    for (const O& o : {O(), O::ternary(), O::ternary(WeightKind::kTernaryPlanes, 32)}) {
      std::vector<float> w2 = w;
      w2[size_t(5 * kK + 77)] = bad;
      EXPECT_ERROR_MENTIONS(lut::pack(lsgemm::view<const float>(w2.data(), kN, kK), o), "lut::pack", "W(5,77)",
                            "not finite");
    }
}

TEST_F(LutPackErrors, EmptyOrNullW) {
  EXPECT_ERROR_MENTIONS(lut::pack(lsgemm::view<const float>(w.data(), 0, kK)), "W must be non-empty", "0x256");
  EXPECT_ERROR_MENTIONS(lut::pack(lsgemm::view<const float>(w.data(), kN, 0)), "W must be non-empty", "8x0");
  EXPECT_ERROR_MENTIONS(lut::pack(lsgemm::view<const float>(nullptr, kN, kK)), "W: data is null", "8x256");
  EXPECT_ERROR_MENTIONS(lut::pack(HostView<const float>(w.data(), -1, kK, kK)), "W: rows and cols must be >= 0");
  EXPECT_ERROR_MENTIONS(lut::pack(lsgemm::view<const float>(w.data(), 4, kK, kK - 1)), "W: leading dimension",
                        "ld=255", "cols=256");
}

TEST(LutPackErrorsF16, ScaleOrOffsetBeyondF16) {
  // 4-bit asymmetric: scale = range / 15; a range of 2e6 needs a scale above 65504.
  std::vector<float> w(128, 0.0f);
  w[3] = 2e6f;
  EXPECT_ERROR_MENTIONS(lut::pack(lsgemm::view<const float>(w.data(), 1, 128), O().with_bits(4).with_group(64)),
                        "row 0 group 0", "scale", "65504");
  // The offset (the group minimum) must fit too.
  std::vector<float> w2(128, 0.0f);
  w2[70] = -1e6f;
  EXPECT_ERROR_MENTIONS(lut::pack(lsgemm::view<const float>(w2.data(), 1, 128), O().with_bits(2).with_group(64)),
                        "row 0 group 1", "offset", "65504");
  // Ternary: the absmean scale.
  std::vector<float> w3(64, 1e5f);
  EXPECT_ERROR_MENTIONS(lut::pack(lsgemm::view<const float>(w3.data(), 1, 64), O::ternary()), "scale", "65504");
}

TEST(LutDequantizeErrors, OutShape) {
  std::vector<float> w = random_matrix(16, 64, 4), out(16 * 64, kSentinel);
  const auto q = lut::pack(lsgemm::view<const float>(w.data(), 16, 64), O().with_group(32));
  EXPECT_ERROR_KEEPING(out, lut::dequantize(q, lsgemm::view(out.data(), 16, 63)), "out is 16x63", "16x64");
  EXPECT_ERROR_KEEPING(out, lut::dequantize(q, lsgemm::view(out.data(), 16, 64, 32)), "out: leading dimension");
}

// ---------------------------------------------------------------------------------
// matmul from X and from tables, make_tables: shapes, strides, nulls, specs

struct KindParam {
  const char* name;
  O opt;
};

class LutMatmulErrors : public ::testing::TestWithParam<KindParam> {
 protected:
  static constexpr int64_t kM = 5, kN = 24, kK = 128;
  std::vector<float> w = random_matrix(kN, kK, 5);
  lut::LutMatrix q = lut::pack(lsgemm::view<const float>(w.data(), kN, kK), GetParam().opt);
  std::vector<float> x = random_matrix(kM, 2 * kK, 6);  // room for ld up to 2K
  std::vector<float> y = std::vector<float>(size_t(2 * kM * 2 * kN), kSentinel);

  HostView<const float> X(int64_t m, int64_t k, int64_t ld) { return lsgemm::view<const float>(x.data(), m, k, ld); }
  HostView<float> Y(int64_t m, int64_t n, int64_t ld) { return lsgemm::view(y.data(), m, n, ld); }
};

TEST_P(LutMatmulErrors, ShapesStridesAndNulls) {
  const lsgemm::Epilogue plain, acc = lsgemm::Epilogue().with_accumulate();
  for (const Entry& e : entries())
    for (const lsgemm::Epilogue* epi : {&plain, &acc}) {
      SCOPED_TRACE(std::string(e.name) + (epi->accumulate ? " accumulate" : ""));
      lsgemm::test::expect_matmul_shape_errors(e.matmul, q, x, y, *epi);
    }
}

TEST_P(LutMatmulErrors, NonFiniteX) {
  for (int64_t col : {int64_t(0), int64_t(10), int64_t(63), int64_t(64), kK - 1})
    for (float bad : {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                      std::numeric_limits<float>::quiet_NaN()}) {
      const size_t at = size_t(3 * kK + col);
      const float keep = x[at];
      x[at] = bad;
      for (const Entry& e : entries()) {
        SCOPED_TRACE(std::string(e.name) + ": X(3," + std::to_string(col) + ")=" + std::to_string(bad));
        EXPECT_ERROR_KEEPING(y, e.matmul(X(kM, kK, kK), q, Y(kM, kN, kN), lsgemm::Epilogue().with_accumulate()), "X",
                              "not finite");
        EXPECT_ERROR_MENTIONS(e.make_tables(X(kM, kK, kK), q.table_spec()), "X(3,", "not finite");
      }
      x[at] = keep;
    }
}

TEST_P(LutMatmulErrors, ZeroRowsIsNotAnError) {
  for (const Entry& e : entries()) {
    SCOPED_TRACE(e.name);
    EXPECT_NO_THROW(e.matmul(lsgemm::view<const float>(nullptr, 0, kK), q, lsgemm::view<float>(nullptr, 0, kN), {}));
    lut::Tables t;
    EXPECT_NO_THROW(t = e.make_tables(lsgemm::view<const float>(nullptr, 0, kK), q.table_spec()));
    EXPECT_EQ(t.m, 0);
    EXPECT_NO_THROW(e.matmul_t(t, q, lsgemm::view<float>(nullptr, 0, kN), {}));
  }
}

// Tables built for another spec (K, mode, g, block) or another number of rows, or
// inconsistent with their own spec, are rejected before anything is written.
TEST_P(LutMatmulErrors, TablesForAnotherSpecOrRowCount) {
  const lut::TableSpec spec = q.table_spec();
  for (const Entry& e : entries()) {
    SCOPED_TRACE(e.name);
    const lut::Tables good = e.make_tables(X(kM, kK, kK), spec);
    {
      std::vector<float> yy(size_t(kM * kN), 0.0f);
      EXPECT_NO_THROW(e.matmul_t(good, q, lsgemm::view(yy.data(), kM, kN), {}));
    }
    // Another K (same padded K: 100 -> 128 too): the logical K must agree.
    lut::TableSpec other = spec;
    other.k = 100;
    const lut::Tables t_k = e.make_tables(X(kM, 100, kK), other);
    EXPECT_ERROR_KEEPING(y, e.matmul_t(t_k, q, Y(kM, kN, kN), {}), "tables were built for K=100", "needs K=128");
    // Another mode.
    other = spec;
    other.mode = spec.mode == lut::TableMode::kExact ? lut::TableMode::kFast : lut::TableMode::kExact;
    const lut::Tables t_mode = e.make_tables(X(kM, kK, kK), other);
    EXPECT_ERROR_KEEPING(y, e.matmul_t(t_mode, q, Y(kM, kN, kN), {}), "tables were built for", "mode=",
                          lut::table_mode_name(other.mode));
    // Another layout: g = 3 (triples) for a planes weight, or g = 4 for triples.
    other = spec;
    if (spec.g == 4) {
      other.g = 3, other.block = 48, other.kp = 144;
    } else {
      other.g = 4, other.block = 64, other.kp = 128;
    }
    const lut::Tables t_g = e.make_tables(X(kM, kK, kK), other);
    EXPECT_ERROR_KEEPING(y, e.matmul_t(t_g, q, Y(kM, kN, kN), {}), "tables were built for", "g=");
    // Another X block (32 vs 64) for a planes weight.
    if (spec.g == 4) {
      other = spec;
      other.block = spec.block == 64 ? 32 : 64;
      const lut::Tables t_b = e.make_tables(X(kM, kK, kK), other);
      EXPECT_ERROR_KEEPING(y, e.matmul_t(t_b, q, Y(kM, kN, kN), {}), "tables were built for", "block=");
    }
    // Another row count.
    const lut::Tables t_m = e.make_tables(X(3, kK, kK), spec);
    EXPECT_ERROR_KEEPING(y, e.matmul_t(t_m, q, Y(kM, kN, kN), {}), "tables hold 3 rows of X but Y has 5 rows");
    // Y shape and stride against the weight.
    EXPECT_ERROR_KEEPING(y, e.matmul_t(good, q, Y(kM, kN - 1, kN), {}), "Y has 23 columns", "N=24");
    EXPECT_ERROR_KEEPING(y, e.matmul_t(good, q, Y(kM, kN, kN - 1), {}), "Y: leading dimension ld=23");
    EXPECT_ERROR_KEEPING(y, e.matmul_t(good, q, lsgemm::view<float>(nullptr, kM, kN), {}), "Y: data is null");
    // Tables inconsistent with their own spec (sizes).
    for (int which = 0; which < 4; ++which) {
      lut::Tables bad = e.make_tables(X(kM, kK, kK), spec);
      if (which == 0) bad.lo = lsgemm::AlignedBuffer<uint8_t>(bad.lo.size() - 64);
      if (which == 1) bad.hi = lsgemm::AlignedBuffer<uint8_t>(bad.hi.size() ? 0 : bad.lo.size());
      if (which == 2) bad.scale = lsgemm::AlignedBuffer<float>(bad.scale.size() + 1);
      if (which == 3) bad.xsum = lsgemm::AlignedBuffer<float>(0);
      SCOPED_TRACE("tables corruption #" + std::to_string(which));
      EXPECT_ERROR_KEEPING(y, e.matmul_t(bad, q, Y(kM, kN, kN), lsgemm::Epilogue().with_accumulate()),
                            "inconsistent with its spec");
    }
  }
}

TEST_P(LutMatmulErrors, MakeTablesSpecChecks) {
  const lut::TableSpec spec = q.table_spec();
  for (const Entry& e : entries()) {
    SCOPED_TRACE(e.name);
    lut::TableSpec s = spec;
    s.g = 5;
    EXPECT_ERROR_MENTIONS(e.make_tables(X(kM, kK, kK), s), "table spec g=5", "allowed");
    s = spec;
    s.g = 4, s.block = 48, s.kp = 144;
    EXPECT_ERROR_MENTIONS(e.make_tables(X(kM, kK, kK), s), "table spec g=4 block=48");
    s = spec;
    s.kp = s.k + 1;
    EXPECT_ERROR_MENTIONS(e.make_tables(X(kM, kK, kK), s), "kp=", "rounded up");
    s = spec;
    s.kp += s.block;  // one block too many
    EXPECT_ERROR_MENTIONS(e.make_tables(X(kM, kK, kK), s), "kp=", "rounded up");
    s = spec;
    s.mode = static_cast<lut::TableMode>(4);
    EXPECT_ERROR_MENTIONS(e.make_tables(X(kM, kK, kK), s), "unknown table mode");
    EXPECT_ERROR_MENTIONS(e.make_tables(X(kM, kK - 8, kK), spec), "X has 120 columns", "K=128");
    EXPECT_ERROR_MENTIONS(e.make_tables(X(kM, kK, kK - 1), spec), "X: leading dimension");
    EXPECT_ERROR_MENTIONS(e.make_tables(lsgemm::view<const float>(nullptr, kM, kK), spec), "X: data is null");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, LutMatmulErrors,
    ::testing::Values(KindParam{"uniform2_g64_exact", O().with_bits(2).with_group(64)},
                      KindParam{"uniform4_g32_fast", O().with_bits(4).with_group(32).with_tables(lut::TableMode::kFast)},
                      KindParam{"planes_pc_exact", O::ternary(WeightKind::kTernaryPlanes, lut::kPerChannel)},
                      KindParam{"triples_pt_exact", O::ternary()},
                      KindParam{"triples_pc_fast", O::ternary(WeightKind::kTernaryTriples, lut::kPerChannel)
                                                       .with_tables(lut::TableMode::kFast)}),
    [](const ::testing::TestParamInfo<KindParam>& i) { return std::string(i.param.name); });

// ---------------------------------------------------------------------------------
// Malformed packed objects: validate() finds each one; matmul() rejects every one that
// could make a kernel read out of bounds (its O(1) checks) and leaves Y alone.

// Sets bit i of code (r, c) of a planes layout (format.hpp) to `bit`.
void set_plane_bit(lut::LutMatrix& q, int64_t r, int64_t c, int i, bool bit) {
  const int64_t t = r / lut::kTileRows, rr = r % lut::kTileRows;
  const int64_t s = c / 16, j = (c % 16) / 4, u = c % 4, v = s * q.bits + i;
  uint8_t& byte = q.codes[size_t(t * q.tile_bytes() + (v / 2) * 64 + 4 * rr + j)];
  const uint8_t m = uint8_t(1u << (4 * (v % 2) + u));
  byte = bit ? uint8_t(byte | m) : uint8_t(byte & ~m);
}
void set_plane_code(lut::LutMatrix& q, int64_t r, int64_t c, int code) {
  for (int i = 0; i < q.bits; ++i) set_plane_bit(q, r, c, i, (code >> i) & 1);
}
// Sets the magnitude (0..15) and sign of triple j of segment s of row r (triples layout).
void set_triple(lut::LutMatrix& q, int64_t r, int64_t s, int j, int mag, bool neg) {
  const int64_t t = r / lut::kTileRows, rr = r % lut::kTileRows, bit = 4 * rr + j;
  uint8_t* blk = q.codes.data() + t * q.tile_bytes() + (s / 2) * 80;
  uint8_t& b = blk[4 * rr + j];
  b = uint8_t((b & ~(15 << (4 * (s % 2)))) | (mag << (4 * (s % 2))));
  uint8_t& sb = blk[64 + 8 * (s % 2) + bit / 8];
  sb = neg ? uint8_t(sb | (1u << (bit % 8))) : uint8_t(sb & ~(1u << (bit % 8)));
}

template <class T>
void resize_keep(lsgemm::AlignedBuffer<T>& b, size_t n) {
  lsgemm::AlignedBuffer<T> nb(n);
  if (b.size() && n) std::memcpy(nb.data(), b.data(), std::min(n, b.size()) * sizeof(T));
  b = std::move(nb);
}

// N = 20 (rows 20..31 of the second tile are padding), K = 100 (columns 100..127 are
// padding), 2-bit asymmetric group 32; or ternary planes per-channel; or ternary triples
// per-tensor (kp = 144).
enum class Sample { kUniform, kUniformSym, kPlanes, kTriples };
lut::LutMatrix packed_sample(Sample s) {
  const int64_t n = 20, k = 100;
  std::vector<float> w = random_matrix(n, k, 11);
  O o = O().with_bits(2).with_group(32);
  if (s == Sample::kUniformSym) o = O().with_bits(3).with_group(64).with_symmetric(true);
  if (s == Sample::kPlanes) o = O::ternary(WeightKind::kTernaryPlanes, lut::kPerChannel);
  if (s == Sample::kTriples) o = O::ternary(WeightKind::kTernaryTriples, lut::kPerTensor);
  return lut::pack(lsgemm::view<const float>(w.data(), n, k), o);
}

struct Corruption {
  const char* name;
  Sample sample;
  std::function<void(lut::LutMatrix&)> apply;
  std::vector<const char*> validate_mentions;  // substrings of validate()'s message
  bool breaks_sizes;  // matmul must reject it too (else a kernel could read out of bounds)
};

std::vector<Corruption> corruptions() {
  using L = lut::LutMatrix;
  const Sample U = Sample::kUniform, US = Sample::kUniformSym, P = Sample::kPlanes, T = Sample::kTriples;
  return {
      // Buffer sizes.
      {"truncated codes", U, [](L& q) { resize_keep(q.codes, q.codes.size() - 64); }, {"codes hold", "expected"}, true},
      {"codes missing", U, [](L& q) { q.codes = lsgemm::AlignedBuffer<uint8_t>(); }, {"codes hold 0 bytes"}, true},
      {"too many codes", T, [](L& q) { resize_keep(q.codes, q.codes.size() + 80); }, {"codes hold"}, true},
      {"scales short", U, [](L& q) { resize_keep(q.scales, q.scales.size() - 1); }, {"scales hold", "expected"}, true},
      {"scales long", P, [](L& q) { resize_keep(q.scales, q.scales.size() + 16); }, {"scales hold"}, true},
      {"offsets missing", U, [](L& q) { q.offsets = lsgemm::AlignedBuffer<uint16_t>(); }, {"offsets hold 0"}, true},
      {"offsets short", U, [](L& q) { resize_keep(q.offsets, q.offsets.size() / 2); }, {"offsets hold"}, true},
      {"offsets on a symmetric weight", US,
       [](L& q) { q.offsets = lsgemm::AlignedBuffer<uint16_t>(q.scales.size()); }, {"offsets hold", "expected 0"},
       true},
      // Fields.
      {"kind out of range", U, [](L& q) { q.kind = static_cast<WeightKind>(5); }, {"packed weight kind is invalid"},
       true},
      {"table mode out of range", U, [](L& q) { q.table_mode = static_cast<lut::TableMode>(3); },
       {"packed table mode is invalid"}, true},
      {"bits 5", U, [](L& q) { q.bits = 5; }, {"packed bits=5", "allowed: 1, 2, 3, 4"}, true},
      {"bits 0", U, [](L& q) { q.bits = 0; }, {"packed bits=0"}, true},
      {"bits 3 (codes for 2)", U, [](L& q) { q.bits = 3; }, {"codes hold"}, true},
      {"bits 1 (codes for 2)", U, [](L& q) { q.bits = 1; }, {"codes hold"}, true},
      {"ternary planes with bits 3", P, [](L& q) { q.bits = 3; }, {"ternary planes need bits=2", "got 3"}, true},
      {"ternary planes not symmetric", P, [](L& q) { q.symmetric = false; }, {"ternary planes need bits=2"}, true},
      {"triples with bits 2", T, [](L& q) { q.bits = 2; }, {"ternary triples need bits=0"}, true},
      {"triples not per-channel", T, [](L& q) { q.per_channel = false; q.group = 64; },
       {"ternary triples need bits=0 and per-channel"}, true},
      {"kp one block too many", U, [](L& q) { q.kp += 32; }, {"packed kp=160", "K=100"}, true},
      {"kp not a multiple of the block", U, [](L& q) { q.kp = 112; }, {"packed kp=112"}, true},
      {"kp below K", P, [](L& q) { q.kp = 64; }, {"packed kp=64"}, true},
      {"k grown past kp", U, [](L& q) { q.k = 129; }, {"packed kp=128", "K=129"}, true},
      {"triples kp not a multiple of 48", T, [](L& q) { q.kp = 128; }, {"packed kp=128", "multiple of 48"}, true},
      {"group 48", U, [](L& q) { q.group = 48; }, {"packed group=48"}, true},
      {"group 0 (not per-channel)", U, [](L& q) { q.group = 0; }, {"packed group=0"}, true},
      {"per-channel group not kp", P, [](L& q) { q.group = 64; }, {"per-channel group=64", "kp=128"}, true},
      {"n grown by a tile", U, [](L& q) { q.n += 16; }, {"codes hold"}, true},
      {"negative n", U, [](L& q) { q.n = -4; }, {"packed shape -4x100", "positive"}, true},
      {"zero k", U, [](L& q) { q.k = 0; }, {"packed shape 20x0"}, true},
      // Values (validate only: the kernels cannot read out of bounds).
      {"scale negative", U, [](L& q) { q.scales[9] = 0xBC00; }, {"scale #9 is -1", ">= 0"}, false},
      {"scale NaN", P, [](L& q) { q.scales[5] = 0x7E00; }, {"scale #5 is", "nan", "finite"}, false},
      {"scale Inf", T, [](L& q) { q.scales[3] = 0x7C00; }, {"scale #3 is inf", "finite"}, false},
      {"offset NaN", U, [](L& q) { q.offsets[3] = 0x7E00; }, {"offset #3 is not finite"}, false},
      {"offset Inf", U, [](L& q) { q.offsets[7] = 0xFC00; }, {"offset #7 is not finite"}, false},
      {"padding row holds a code", U, [](L& q) { set_plane_code(q, 21, 5, 3); },
       {"padding code at (21,5) is 3", "must be 0"}, false},
      {"padding column holds a code", US, [](L& q) { set_plane_code(q, 2, 110, 5); },
       {"padding code at (2,110) is 5", "must be 0"}, false},
      {"padding row has a scale", U, [](L& q) { q.scales[q.const_index(25, 1)] = 0x3C00; },
       {"padding row 25 has a non-zero scale"}, false},
      {"ternary planes code 3", P, [](L& q) { set_plane_code(q, 4, 17, 3); }, {"ternary code 3 at (4,17)", "0..2"},
       false},
      {"ternary planes padding column code 1", P, [](L& q) { set_plane_code(q, 4, 120, 1); },
       {"padding code at (4,120) is 1"}, false},
      {"triples magnitude 14", T, [](L& q) { set_triple(q, 3, 1, 2, 14, false); },
       {"triple magnitude 14", "allowed 0..13"}, false},
      {"triples magnitude 15", T, [](L& q) { set_triple(q, 19, 4, 0, 15, true); }, {"triple magnitude 15"}, false},
      {"triples negative zero", T, [](L& q) { set_triple(q, 7, 2, 3, 0, true); }, {"negative zero triple"}, false},
      {"triples padding column", T, [](L& q) { set_triple(q, 7, 11, 3, 1, false); },  // k = 12*11+9 = 141 >= 100
       {"padding code at (7,143)"}, false},
      {"triples padding row", T, [](L& q) { set_triple(q, 22, 0, 0, 13, true); }, {"padding code at (22,0)"}, false},
  };
}

TEST(LutMalformedPacked, ValidateAcceptsWhatPackMakes) {
  for (Sample s : {Sample::kUniform, Sample::kUniformSym, Sample::kPlanes, Sample::kTriples})
    EXPECT_NO_THROW(lut::validate(packed_sample(s))) << "sample " << int(s);
  // And every kind / group on a few shapes.
  std::vector<float> w = random_matrix(33, 300, 12);
  for (int64_t k : {1, 47, 300})
    for (const O& o : {O().with_bits(1).with_group(32), O().with_bits(4).with_group(256).with_symmetric(true),
                       O().with_bits(3).with_group(0), O::ternary(), O::ternary(WeightKind::kTernaryPlanes, 128),
                       O::ternary(WeightKind::kTernaryPlanes, lut::kPerTensor)})
      EXPECT_NO_THROW(lut::validate(lut::pack(lsgemm::view<const float>(w.data(), 33, k, 300), o)))
          << "K=" << k << " " << lut::weight_kind_name(o.kind) << " group=" << o.group;
}

TEST(LutMalformedPacked, SettersHitTheCodesFormatHppDefines) {
  lut::LutMatrix q = packed_sample(Sample::kUniformSym);
  set_plane_code(q, 2, 110, 5);
  EXPECT_EQ(q.code(2, 110), 5);
  lut::LutMatrix t = packed_sample(Sample::kTriples);
  set_triple(t, 7, 2, 3, 13, true);  // v = -13: digits (-1, -1, -1) at k = 24 + 9
  EXPECT_EQ(t.code(7, 33), -1);
  EXPECT_EQ(t.code(7, 34), -1);
  EXPECT_EQ(t.code(7, 35), -1);
}

TEST(LutMalformedPacked, ValidateAndMatmulReject) {
  for (const Corruption& c : corruptions()) {
    SCOPED_TRACE(c.name);
    lut::LutMatrix q = packed_sample(c.sample);
    c.apply(q);
    const std::string msg = error_of([&] { lut::validate(q); });
    EXPECT_NE(msg.find("lut::validate"), std::string::npos) << msg;
    for (const char* part : c.validate_mentions)
      EXPECT_NE(msg.find(part), std::string::npos) << "validate's message lacks \"" << part << "\": " << msg;
    if (!c.breaks_sizes) continue;
    // The O(1) checks stop the call before a kernel touches the buffers; X and Y match
    // the object's claimed shape so that only the packed object is wrong.
    const int64_t M = 3, n = std::max<int64_t>(q.n, 1), k = std::max<int64_t>(q.k, 1);
    std::vector<float> x = random_matrix(M, k, 12), y(size_t(M * n), kSentinel);
    for (const Entry& e : entries()) {
      SCOPED_TRACE(e.name);
      const std::string m = lsgemm::test::error_keeping_y(
          y, [&] { e.matmul(lsgemm::view<const float>(x.data(), M, k), q, lsgemm::view(y.data(), M, n), {}); });
      if (q.n > 0 && q.k > 0) {  // else the shape checks may speak first
        EXPECT_NE(m.find("lut::matmul"), std::string::npos) << e.name << ": " << m;
        EXPECT_NE(m.find(c.validate_mentions[0]), std::string::npos) << e.name << ": " << m;
      }
      // From prebuilt tables: tables of a sane spec, the weight is what is wrong.
      if (q.n > 0 && q.k > 0) {
        lut::TableSpec s;
        s.g = c.sample == Sample::kTriples ? 3 : 4;
        s.block = c.sample == Sample::kTriples ? 48 : c.sample == Sample::kUniform ? 32 : 64;
        s.mode = lut::TableMode::kExact;
        s.k = k;
        s.kp = lut::detail::round_up(k, s.block);
        const lut::Tables t = lut::make_tables_reference(lsgemm::view<const float>(x.data(), M, k), s);
        const std::string mt =
            lsgemm::test::error_keeping_y(y, [&] { e.matmul_t(t, q, lsgemm::view(y.data(), M, n), {}); });
        EXPECT_NE(mt.find("lut::matmul"), std::string::npos) << e.name << " (tables): " << mt;
      }
    }
  }
}

}  // namespace
