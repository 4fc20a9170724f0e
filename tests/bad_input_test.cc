// Bad input: every argument check throws lsgemm::Error with a message that names the
// argument, the value and what is allowed (DESIGN §8), and a throwing call loses
// nothing (Y keeps its contents). Both lsgemm::matmul (this TU's static SIMD target)
// and lsgemm::reference::matmul are checked, since each is a public entry point.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "lsgemm/lsgemm.hpp"
#include "support/error_of.hpp"

namespace {

namespace iq = lsgemm::int_quant;
using lsgemm::HostView;

constexpr float kSentinel = -12345.5f;

std::vector<float> random_matrix(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> v(size_t(rows * cols));
  for (float& x : v) x = nd(rng);
  return v;
}

using lsgemm::test::error_of;

// The two public matmul entry points under test.
using MatmulFn = std::function<void(HostView<const float>, const iq::QuantizedMatrix&, HostView<float>,
                                    const lsgemm::Epilogue&)>;
struct Entry {
  const char* name;
  MatmulFn fn;
};
std::vector<Entry> entries() {
  return {
      {"lsgemm::matmul",
       [](HostView<const float> X, const iq::QuantizedMatrix& w, HostView<float> Y, const lsgemm::Epilogue& e) {
         lsgemm::matmul(X, w, Y, e);
       }},
      {"lsgemm::reference::matmul",
       [](HostView<const float> X, const iq::QuantizedMatrix& w, HostView<float> Y, const lsgemm::Epilogue& e) {
         lsgemm::reference::matmul(X, w, Y, e);
       }},
  };
}

// ---------------------------------------------------------------------------------
// pack: options and W

class PackErrors : public ::testing::Test {
 protected:
  static constexpr int64_t kN = 8, kK = 256;
  std::vector<float> w = random_matrix(kN, kK, 1);
  HostView<const float> W() const { return lsgemm::view<const float>(w.data(), kN, kK); }
};

TEST_F(PackErrors, UnsupportedBits) {
  for (int bits : {3, 5, 16, 0, -4}) {
    SCOPED_TRACE(bits);
    const std::string b = "bits=" + std::to_string(bits);
    EXPECT_ERROR_MENTIONS(iq::pack(W(), iq::PackOptions().with_bits(bits)), b.c_str(), "allowed: 2, 4, 8");
  }
}

TEST_F(PackErrors, UnsupportedGroup) {
  for (int group : {48, 512, 16, -32, 1}) {
    SCOPED_TRACE(group);
    const std::string g = "group=" + std::to_string(group);
    EXPECT_ERROR_MENTIONS(iq::pack(W(), iq::PackOptions().with_group(group)), g.c_str(), "32, 64, 128, 256",
                          "per-channel");
  }
}

TEST_F(PackErrors, KNotAMultipleOfGroup) {
  std::vector<float> w2 = random_matrix(4, 96, 2);
  EXPECT_ERROR_MENTIONS(iq::pack(lsgemm::view<const float>(w2.data(), 4, 96), iq::PackOptions().with_group(64)),
                        "K=96", "not a multiple of group=64");
  std::vector<float> w3 = random_matrix(4, 100, 3);
  EXPECT_ERROR_MENTIONS(iq::pack(lsgemm::view<const float>(w3.data(), 4, 100), iq::PackOptions().with_group(32)),
                        "K=100", "group=32");
  // Per-channel accepts any K (padded to 16 inside).
  EXPECT_NO_THROW(iq::pack(lsgemm::view<const float>(w3.data(), 4, 100), iq::PackOptions().with_group(0)));
}

TEST_F(PackErrors, NonFiniteWeights) {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    std::vector<float> w2 = w;
    w2[size_t(5 * kK + 77)] = bad;
    EXPECT_ERROR_MENTIONS(iq::pack(lsgemm::view<const float>(w2.data(), kN, kK)), "W(5,77)", "not finite");
  }
}

TEST_F(PackErrors, EmptyOrNullW) {
  EXPECT_ERROR_MENTIONS(iq::pack(lsgemm::view<const float>(w.data(), 0, kK)), "W must be non-empty", "0x256");
  EXPECT_ERROR_MENTIONS(iq::pack(lsgemm::view<const float>(w.data(), kN, 0)), "W must be non-empty", "8x0");
  EXPECT_ERROR_MENTIONS(iq::pack(lsgemm::view<const float>(nullptr, kN, kK)), "W: data is null", "8x256");
  EXPECT_ERROR_MENTIONS(iq::pack(HostView<const float>(w.data(), -1, kK, kK)), "W: rows and cols must be >= 0");
}

TEST_F(PackErrors, LeadingDimensionBelowCols) {
  EXPECT_ERROR_MENTIONS(iq::pack(lsgemm::view<const float>(w.data(), 4, kK, kK - 1)), "W: leading dimension",
                        "ld=255", "cols=256");
}

TEST_F(PackErrors, OutlierThreshold) {
  EXPECT_ERROR_MENTIONS(iq::pack(W(), iq::PackOptions().with_outliers(6.0f)), "outlier_threshold needs act=int8");
  const auto int8 = iq::PackOptions().with_act(iq::ActMode::kInt8);
  EXPECT_ERROR_MENTIONS(iq::pack(W(), iq::PackOptions(int8).with_outliers(-1.0f)), "outlier_threshold=-1",
                        "finite and >= 0");
  EXPECT_ERROR_MENTIONS(iq::pack(W(), iq::PackOptions(int8).with_outliers(std::nanf(""))), "outlier_threshold=",
                        "nan", "finite and >= 0");
  EXPECT_ERROR_MENTIONS(iq::pack(W(), iq::PackOptions(int8).with_outliers(INFINITY)), "outlier_threshold=inf");
  EXPECT_NO_THROW(iq::pack(W(), iq::PackOptions(int8).with_outliers(6.0f)));
}

TEST(PackErrorsInt8, KBeyondInt32Headroom) {
  // 255 * 127 * K must stay below 2^31: K = 65536 is the last one allowed.
  const int64_t K = iq::kMaxK + 128;
  std::vector<float> w(size_t(K), 0.5f);
  EXPECT_ERROR_MENTIONS(
      iq::pack(lsgemm::view<const float>(w.data(), 1, K), iq::PackOptions().with_act(iq::ActMode::kInt8)),
      "K=65664", "exceeds 65536", "int8");
  // Float mode has no such limit.
  EXPECT_NO_THROW(iq::pack(lsgemm::view<const float>(w.data(), 1, K), iq::PackOptions()));
}

TEST(PackErrorsScale, ScaleBeyondF16) {
  // 4-bit asymmetric: scale = range / 15; a range of 2e6 needs a scale above 65504.
  std::vector<float> w(128, 0.0f);
  w[3] = 2e6f;
  EXPECT_ERROR_MENTIONS(iq::pack(lsgemm::view<const float>(w.data(), 1, 128)), "row 0 group 0", "65504");
}

TEST(DequantizeErrors, OutShape) {
  std::vector<float> w = random_matrix(16, 64, 4), out(16 * 64, kSentinel);
  const auto q = iq::pack(lsgemm::view<const float>(w.data(), 16, 64), iq::PackOptions().with_group(32));
  EXPECT_ERROR_KEEPING(out, iq::dequantize(q, lsgemm::view(out.data(), 16, 63)), "out is 16x63", "16x64");
  EXPECT_ERROR_KEEPING(out, iq::dequantize(q, lsgemm::view(out.data(), 16, 64, 32)), "out: leading dimension");
}

// ---------------------------------------------------------------------------------
// matmul: shapes, strides, null pointers; Y is untouched when a call throws

class MatmulErrors : public ::testing::TestWithParam<iq::ActMode> {
 protected:
  static constexpr int64_t kM = 5, kN = 24, kK = 128;
  std::vector<float> w = random_matrix(kN, kK, 5);
  iq::QuantizedMatrix q = iq::pack(lsgemm::view<const float>(w.data(), kN, kK),
                                   iq::PackOptions().with_group(64).with_act(GetParam()));
  std::vector<float> x = random_matrix(kM, 2 * kK, 6);  // room for ld up to 2K
  std::vector<float> y = std::vector<float>(size_t(2 * kM * 2 * kN), kSentinel);
};

TEST_P(MatmulErrors, ShapesStridesAndNulls) {
  const lsgemm::Epilogue plain, acc = lsgemm::Epilogue().with_accumulate();
  for (const Entry& e : entries()) {
    for (const lsgemm::Epilogue* epi : {&plain, &acc}) {
      SCOPED_TRACE(std::string(e.name) + (epi->accumulate ? " accumulate" : ""));
      lsgemm::test::expect_matmul_shape_errors(e.fn, q, x, y, *epi);
    }
  }
}

TEST_P(MatmulErrors, ZeroRowsIsNotAnError) {
  for (const Entry& e : entries()) {
    SCOPED_TRACE(e.name);
    EXPECT_NO_THROW(e.fn(lsgemm::view<const float>(nullptr, 0, kK), q, lsgemm::view<float>(nullptr, 0, kN), {}));
  }
}

TEST_P(MatmulErrors, NonFiniteXInInt8Mode) {
  if (GetParam() != iq::ActMode::kInt8) GTEST_SKIP() << "float mode defines NaN/Inf in X (IEEE propagation)";
  // Every lane position of a vector and of a tail, and each kind of non-finite value:
  // a max-reduction that drops NaN operands would miss some of these.
  for (int64_t col : {int64_t(0), int64_t(10), int64_t(63), kK - 1}) {
    for (float bad : {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                      std::numeric_limits<float>::quiet_NaN()}) {
      const size_t at = size_t(3 * kK + col);
      const float keep = x[at];
      x[at] = bad;
      for (const Entry& e : entries()) {
        SCOPED_TRACE(std::string(e.name) + ": X(3," + std::to_string(col) + ")=" + std::to_string(bad));
        EXPECT_ERROR_KEEPING(y, e.fn(lsgemm::view<const float>(x.data(), kM, kK), q, lsgemm::view(y.data(), kM, kN),
                                   lsgemm::Epilogue().with_accumulate()),
                              "X", "finite", "int8");
      }
      x[at] = keep;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Acts, MatmulErrors, ::testing::Values(iq::ActMode::kFloat, iq::ActMode::kInt8),
                         [](const ::testing::TestParamInfo<iq::ActMode>& i) {
                           return std::string(iq::act_mode_name(i.param));
                         });

// ---------------------------------------------------------------------------------
// Malformed packed objects: validate() finds each one; matmul() rejects every one that
// could make a kernel read out of bounds (its O(1) size checks) and leaves Y alone.

struct Corruption {
  const char* name;
  std::function<void(iq::QuantizedMatrix&)> apply;
  std::vector<const char*> validate_mentions;  // substrings of validate()'s message
  bool breaks_sizes;  // matmul must reject it too (else a kernel could read out of bounds)
};

// N = 20 (rows 20..31 of the second tile are padding), K = 128, group 32, 4-bit,
// asymmetric; or per-channel with K = 40 (columns 40..47 are padding).
iq::QuantizedMatrix packed_sample(bool per_channel, bool symmetric = false) {
  const int64_t n = 20, k = per_channel ? 40 : 128;
  std::vector<float> w = random_matrix(n, k, 11);
  return iq::pack(lsgemm::view<const float>(w.data(), n, k),
                  iq::PackOptions().with_group(per_channel ? 0 : 32).with_symmetric(symmetric));
}

// Sets code (r, c) of a packed matrix to v, by the layout of format.hpp.
void set_code(iq::QuantizedMatrix& q, int64_t r, int64_t c, int v) {
  const int e = q.codes_per_byte();
  const int64_t t = r / iq::kTileRows, rr = r % iq::kTileRows;
  const int64_t blk = c / (4 * e), within = c % (4 * e);
  const int p = int(within / 4), j = int(within % 4);
  uint8_t& byte = q.codes[size_t(t * q.tile_bytes() + blk * iq::kBlockBytes + 4 * rr + j)];
  const int mask = ((1 << q.bits) - 1) << (p * q.bits);
  byte = uint8_t((byte & ~mask) | (v << (p * q.bits)));
}

template <class T>
void resize_keep(lsgemm::AlignedBuffer<T>& b, size_t n) {
  lsgemm::AlignedBuffer<T> nb(n);
  if (b.size() && n) std::memcpy(nb.data(), b.data(), std::min(n, b.size()) * sizeof(T));
  b = std::move(nb);
}

std::vector<Corruption> corruptions() {
  return {
      {"truncated codes", [](iq::QuantizedMatrix& q) { resize_keep(q.codes, q.codes.size() - 64); },
       {"codes hold", "expected"}, true},
      {"codes buffer missing", [](iq::QuantizedMatrix& q) { q.codes = lsgemm::AlignedBuffer<uint8_t>(); },
       {"codes hold 0 bytes"}, true},
      {"too many codes", [](iq::QuantizedMatrix& q) { resize_keep(q.codes, q.codes.size() + 64); },
       {"codes hold"}, true},
      {"scales count short", [](iq::QuantizedMatrix& q) { resize_keep(q.scales, q.scales.size() - 1); },
       {"scales hold", "expected"}, true},
      {"scales count long", [](iq::QuantizedMatrix& q) { resize_keep(q.scales, q.scales.size() + 16); },
       {"scales hold"}, true},
      {"zero points missing", [](iq::QuantizedMatrix& q) { q.zeros = lsgemm::AlignedBuffer<uint8_t>(); },
       {"zero points hold 0"}, true},
      {"zero points short", [](iq::QuantizedMatrix& q) { resize_keep(q.zeros, q.zeros.size() / 2); },
       {"zero points hold"}, true},
      {"zero point out of range", [](iq::QuantizedMatrix& q) { q.zeros[7] = 16; },
       {"zero point #7 is 16", "allowed 0..15"}, false},
      {"scale is Inf", [](iq::QuantizedMatrix& q) { q.scales[3] = 0x7C00; }, {"scale #3 is inf", "finite"}, false},
      {"scale is NaN", [](iq::QuantizedMatrix& q) { q.scales[5] = 0x7E00; }, {"scale #5 is", "nan", "finite"},
       false},
      {"scale is negative", [](iq::QuantizedMatrix& q) { q.scales[9] = 0xBC00; }, {"scale #9 is -1", ">= 0"},
       false},
      {"padding row holds a code", [](iq::QuantizedMatrix& q) { set_code(q, 21, 5, 3); },
       {"padding code at (21,5) is 3", "must be 0"}, false},
      {"bits field 3", [](iq::QuantizedMatrix& q) { q.bits = 3; }, {"bits=3", "allowed: 2, 4, 8"}, true},
      {"bits field 2 (half the codes)", [](iq::QuantizedMatrix& q) { q.bits = 2; }, {"codes hold"}, true},
      {"bits field 8 (twice the codes)", [](iq::QuantizedMatrix& q) { q.bits = 8; }, {"codes hold"}, true},
      {"kp not K", [](iq::QuantizedMatrix& q) { q.kp = q.k + 16; }, {"kp=144", "K=128"}, true},
      {"kp not a multiple of 16", [](iq::QuantizedMatrix& q) { q.kp = q.k + 8; }, {"kp=136"}, true},
      {"n grown by a tile", [](iq::QuantizedMatrix& q) { q.n += 16; }, {"codes hold"}, true},
      {"k grown by a group", [](iq::QuantizedMatrix& q) { q.k += 32; q.kp += 32; }, {"codes hold"}, true},
      {"group corrupted", [](iq::QuantizedMatrix& q) { q.group = 48; }, {"group=48"}, true},
      {"group zero", [](iq::QuantizedMatrix& q) { q.group = 0; }, {"group=0"}, true},
      {"int8 mode with K > kMaxK", [](iq::QuantizedMatrix& q) { q.act = iq::ActMode::kInt8; q.k = q.kp = 65536 + 128; },
       {"K=65664", "65536"}, true},
      {"negative n", [](iq::QuantizedMatrix& q) { q.n = -4; }, {"shape -4x128"}, true},
  };
}

TEST(MalformedPacked, ValidateAcceptsWhatPackMakes) {
  for (bool pc : {false, true})
    for (bool sym : {false, true}) {
      EXPECT_NO_THROW(iq::validate(packed_sample(pc, sym))) << "per_channel=" << pc << " symmetric=" << sym;
    }
}

TEST(MalformedPacked, ValidateAndMatmulReject) {
  for (const Corruption& c : corruptions()) {
    SCOPED_TRACE(c.name);
    iq::QuantizedMatrix q = packed_sample(false);
    c.apply(q);
    const std::string msg = error_of([&] { iq::validate(q); });
    EXPECT_NE(msg.find("int_quant::validate"), std::string::npos) << msg;
    for (const char* part : c.validate_mentions)
      EXPECT_NE(msg.find(part), std::string::npos) << "validate's message lacks \"" << part << "\": " << msg;
    if (!c.breaks_sizes) continue;
    // The O(1) checks must stop the call before any kernel touches the buffers; X and Y
    // match the object's claimed shape so only the packed object is wrong.
    const int64_t M = 3, n = std::max<int64_t>(q.n, 1), k = std::max<int64_t>(q.k, 1);
    std::vector<float> x = random_matrix(M, k, 12), y(size_t(M * n), kSentinel);
    for (const Entry& e : entries()) {
      SCOPED_TRACE(e.name);
      const std::string m = lsgemm::test::error_keeping_y(
          y, [&] { e.fn(lsgemm::view<const float>(x.data(), M, k), q, lsgemm::view(y.data(), M, n), {}); });
      // With a non-positive shape the view checks speak first; otherwise check_packed.
      if (q.n > 0 && q.k > 0) {
        EXPECT_NE(m.find("int_quant::matmul"), std::string::npos) << e.name << ": " << m;
      }
    }
  }
}

TEST(MalformedPacked, PerChannelPaddingColumns) {
  iq::QuantizedMatrix q = packed_sample(true);
  ASSERT_EQ(q.k, 40);
  ASSERT_EQ(q.kp, 48);
  set_code(q, 2, 45, 1);  // column 45 of a real row is padding (K = 40)
  EXPECT_ERROR_MENTIONS(iq::validate(q), "padding code at (2,45) is 1");
  q = packed_sample(true);
  q.group = 32;  // per-channel must have group == kp
  EXPECT_ERROR_MENTIONS(iq::validate(q), "per-channel group=32", "kp=48");
}

TEST(MalformedPacked, SymmetricWithZeroPoints) {
  iq::QuantizedMatrix q = packed_sample(false, true);
  q.zeros = lsgemm::AlignedBuffer<uint8_t>(q.scales.size());
  EXPECT_ERROR_MENTIONS(iq::validate(q), "zero points hold", "expected 0");
}

TEST(MalformedPacked, OutlierThresholdField) {
  iq::QuantizedMatrix q = packed_sample(false);
  q.act = iq::ActMode::kInt8;
  q.outlier_threshold = std::nanf("");
  EXPECT_ERROR_MENTIONS(iq::validate(q), "outlier_threshold=");
  std::vector<float> x = random_matrix(2, q.k, 13), y(size_t(2 * q.n), kSentinel);
  for (const Entry& e : entries()) {
    SCOPED_TRACE(e.name);
    EXPECT_ERROR_KEEPING(y, e.fn(lsgemm::view<const float>(x.data(), 2, q.k), q, lsgemm::view(y.data(), 2, q.n), {}),
                          "outlier_threshold=");
  }
}

// ---------------------------------------------------------------------------------
// Regressions on packed objects (the kernel ones are in regress_test.cc, per target).

std::vector<float> normal_vec(int64_t n, float sd, uint64_t seed) {
  std::vector<float> v = random_matrix(1, n, uint32_t(seed));
  for (float& x : v) x *= sd;
  return v;
}

void expect_mentions(const std::string& msg, std::initializer_list<const char*> parts) {
  for (const char* p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "message lacks \"" << p << "\": " << msg;
}

using lsgemm::view;
using lsgemm::AlignedBuffer;
using lsgemm::kMaxDim;
namespace lut = lsgemm::lut;
namespace reference = lsgemm::reference;

iq::QuantizedMatrix small_int_quant() {
  const std::vector<float> W = normal_vec(20 * 128, 1.0f, 7);
  return iq::pack(view<const float>(W.data(), 20, 128), iq::PackOptions().with_group(32));
}

// Defect 1: dequantize trusted its input: codes 64 bytes short read out of bounds, codes
// or zeros emptied crashed, bits = 16 or group = 0 divided by zero; the Eigen wrapper
// sized its matrix first (n = -4: Eigen assertion; lut n = 2^40: std::bad_alloc).
TEST(Regress, regress_dequantize_trusts_input) {
  struct Bad {
    const char* name;
    void (*apply)(iq::QuantizedMatrix&);
    const char* mention;
  };
  const Bad bads[] = {
      {"codes 64 bytes short",
       [](iq::QuantizedMatrix& q) {
         AlignedBuffer<uint8_t> c(q.codes.size() - 64);
         std::memcpy(c.data(), q.codes.data(), c.size());
         q.codes = std::move(c);
       },
       "codes hold"},
      {"codes emptied", [](iq::QuantizedMatrix& q) { q.codes = AlignedBuffer<uint8_t>(); }, "codes hold 0"},
      {"zeros emptied", [](iq::QuantizedMatrix& q) { q.zeros = AlignedBuffer<uint8_t>(); }, "zero points hold 0"},
      {"bits = 16", [](iq::QuantizedMatrix& q) { q.bits = 16; }, "bits=16"},
      {"group = 0", [](iq::QuantizedMatrix& q) { q.group = 0; }, "group=0"},
      {"n = -4", [](iq::QuantizedMatrix& q) { q.n = -4; }, "shape -4x128"},
  };
  for (const Bad& b : bads) {
    SCOPED_TRACE(b.name);
    iq::QuantizedMatrix q = small_int_quant();
    b.apply(q);
    std::vector<float> out(size_t(20 * 128));
    expect_mentions(error_of([&] { iq::dequantize_to_vector(q); }), {"int_quant::dequantize", b.mention});
    expect_mentions(error_of([&] { iq::dequantize(q, view(out.data(), 20, 128)); }), {b.mention});
    expect_mentions(error_of([&] { lsgemm::dequantize(q); }), {b.mention});
  }
  const std::vector<float> W = normal_vec(20 * 100, 1.0f, 8);
  lut::LutMatrix l = lut::pack(view<const float>(W.data(), 20, 100));
  l.n = int64_t(1) << 40;
  expect_mentions(error_of([&] { lsgemm::dequantize(l); }), {"lut::dequantize", "out of range"});
  l.n = -4;
  expect_mentions(error_of([&] { lsgemm::dequantize(l); }), {"lut::dequantize", "packed shape -4x100"});
  // nm_sparse: the Eigen form equals dequantize_to_vector, and a malformed object throws.
  lsgemm::nm_sparse::NmSparseMatrix s = lsgemm::nm_sparse::pack(view<const float>(W.data(), 20, 100));
  const std::vector<float> d = lsgemm::nm_sparse::dequantize_to_vector(s);
  const auto D = lsgemm::dequantize(s);
  for (int64_t r = 0; r < 20; ++r)
    for (int64_t c = 0; c < 100; ++c) ASSERT_EQ(D(r, c), d[size_t(r * 100 + c)]) << r << "," << c;
  s.n = -4;
  expect_mentions(error_of([&] { lsgemm::dequantize(s); }), {"nm_sparse::dequantize", "packed shape -4x100"});
}

// Defect 5: signed overflow in the size checks: tiles() formed n + 15 with n = INT64_MAX;
// tile_bytes() / blocks_per_tile() multiplied k = kp ~ 2^60. (UBSan flags the overflow
// in the sanitizer build; here the checks must reject the object with a clear error.)
TEST(Regress, regress_size_checks_overflow) {
  const int64_t huge[] = {std::numeric_limits<int64_t>::max(), int64_t(1) << 60, kMaxDim + 1};
  for (int64_t v : huge) {
    SCOPED_TRACE(v);
    iq::QuantizedMatrix q = small_int_quant();
    q.n = v;
    expect_mentions(error_of([&] { iq::validate(q); }), {"n=", "out of range"});
    q = small_int_quant();
    q.k = q.kp = v & ~int64_t(255);
    expect_mentions(error_of([&] { iq::validate(q); }), {"out of range"});
    std::vector<float> x(4), y(4);
    expect_mentions(error_of([&] { reference::matmul(view<const float>(x.data(), 0, q.k), q, view(y.data(), 0, 20)); }),
                    {"int_quant::matmul", "out of range"});

    const std::vector<float> W = normal_vec(20 * 100, 1.0f, 9);
    lut::LutMatrix l = lut::pack(view<const float>(W.data(), 20, 100));
    l.n = v;
    expect_mentions(error_of([&] { lut::validate(l); }), {"lut::validate", "out of range"});
    l = lut::pack(view<const float>(W.data(), 20, 100));
    l.k = l.kp = v & ~int64_t(255);
    expect_mentions(error_of([&] { lut::validate(l); }), {"lut::validate", "out of range"});
  }
}

// Found by fuzz_lut: make_tables trusted a spec's K. With k = kp = 2^62 an empty X made
// row_bytes() * M overflow (UB); with k = kp near 2^31 the reference allocated two K-long
// row buffers (12 GB) for an empty X, and beyond that std::bad_alloc escaped.
TEST(Regress, regress_make_tables_huge_spec) {
  lut::TableSpec s;
  s.g = 4;
  s.block = 128;
  s.k = s.kp = int64_t(1) << 62;
  for (int impl = 0; impl < 2; ++impl) {
    auto build = [&](const lut::TableSpec& sp) {
      const auto X = view<const float>(nullptr, 0, sp.k);
      return impl ? reference::make_tables(X, sp) : lsgemm::make_tables(X, sp);
    };
    expect_mentions(error_of([&] { build(s); }), {"lut::make_tables", "table spec K", "out of range"});
    lut::TableSpec big = s;
    big.k = big.kp = (int64_t(1) << 31) - 128;  // in range: an empty X builds empty tables
    lut::Tables t = build(big);
    EXPECT_EQ(t.m, 0);
    EXPECT_EQ(t.lo.size(), 0u);
  }
}

}  // namespace
