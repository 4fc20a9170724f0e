// bitmap_sparse's format and its oracle, for every value type: the packed layout read
// straight from the buffers with the index expressions of format.hpp's header comment,
// pack's pruning against a selection computed here, the storage per weight, validate()
// on malformed objects, bad options and shapes, reference::matmul against a plain double
// product, and the kernels on malformed objects validate() has not seen (no read out of
// bounds: the sanitizer stage runs this binary). Every rejected call throws lsgemm::Error
// naming what was wrong.
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
#include "support/error_of.hpp"

namespace {

namespace bs = lsgemm::bitmap_sparse;
using bs::PackOptions;
using bs::ValueType;
using lsgemm::HostView;
using lsgemm::test::error_keeping_y;
using lsgemm::test::error_of;

const ValueType kTypes[] = {ValueType::kF32, ValueType::kBf16, ValueType::kInt8};

HostView<const float> cview(const std::vector<float>& w, int64_t rows, int64_t cols) {
  return lsgemm::view<const float>(w.data(), rows, cols);
}

void expect_mentions(const std::string& msg, std::initializer_list<std::string> parts) {
  for (const std::string& p : parts)
    EXPECT_NE(msg.find(p), std::string::npos) << "message lacks '" << p << "': " << msg;
}

// N x K normal weights with a fraction `zeros` set to 0.
std::vector<float> sparse_weights(int64_t n, int64_t k, double zeros, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<float> w(size_t(n * k));
  for (float& v : w) v = u(rng) < zeros ? 0.0f : nd(rng);
  return w;
}

// The layout of the header comment, read from the buffers: every mask bit, offset and
// value, for each value type, at K with a partial last tile and a partial last chunk.
TEST(BitmapSparseFormat, LayoutFromTheHeaderComment) {
  const int64_t N = 5, K = 64 * 5 + 7;  // 6 tiles, 2 chunks (the second partial)
  const std::vector<float> W = sparse_weights(N, K, 0.6, 3);
  for (ValueType vt : kTypes) {
    const bs::BitmapSparseMatrix q = bs::pack(cview(W, N, K), PackOptions().with_values(vt));
    ASSERT_EQ(q.tiles(), 6);
    ASSERT_EQ(q.chunks(), 2);
    uint64_t i = 0;
    for (int64_t r = 0; r < N; ++r)
      for (int64_t t = 0; t < 6; ++t) {
        if (t % 4 == 0) {
          ASSERT_EQ(q.offsets[size_t(r * 2 + t / 4)], i) << "row " << r << " chunk " << t / 4;
        }
        const uint64_t m = q.masks[size_t(r * 6 + t)];
        for (int64_t b = 0; b < 64; ++b) {
          const int64_t c = t * 64 + b;
          const bool set = (m >> b) & 1;
          ASSERT_EQ(set, c < K && W[size_t(r * K + c)] != 0.0f) << "row " << r << " column " << c;
          if (!set) continue;
          const uint8_t* p = q.values.data() + i * size_t(q.vbytes());
          const float w = W[size_t(r * K + c)];
          if (vt == ValueType::kF32) {
            float v;
            std::memcpy(&v, p, 4);
            ASSERT_EQ(v, w);
          } else if (vt == ValueType::kBf16) {
            uint16_t b16;
            std::memcpy(&b16, p, 2);
            ASSERT_EQ(b16, lsgemm::f32_to_bf16(w));
          } else {
            const float s = q.scales[size_t(r)];  // one scale per row: G = 1
            ASSERT_EQ(int(int8_t(*p)), int(std::nearbyint(w / s)));
          }
          ++i;
        }
      }
    EXPECT_EQ(q.offsets[size_t(N * 2)], i);
    EXPECT_EQ(uint64_t(q.nnz()), i);
    EXPECT_EQ(q.values.size(), (i + bs::kValueSlackValues) * size_t(q.vbytes()));
    if (vt == ValueType::kInt8) {
      ASSERT_EQ(q.groups(), 1);
      for (int64_t r = 0; r < N; ++r) {
        float amax = 0.0f;
        for (int64_t c = 0; c < K; ++c) amax = std::max(amax, std::fabs(W[size_t(r * K + c)]));
        EXPECT_EQ(q.scales[size_t(r)], amax / 127.0f) << "row " << r;
      }
    }
    bs::validate(q);
  }
}

// Int8 group scales: per (row, group of 64 / 128 / 256 columns), amax / 127 of the group.
TEST(BitmapSparseFormat, Int8GroupScales) {
  const int64_t N = 3, K = 600;
  const std::vector<float> W = sparse_weights(N, K, 0.5, 4);
  for (int g : {64, 128, 256}) {
    const bs::BitmapSparseMatrix q = bs::pack(cview(W, N, K), PackOptions().with_values(ValueType::kInt8).with_group(g));
    ASSERT_EQ(q.groups(), (q.kp() + g - 1) / g);
    for (int64_t r = 0; r < N; ++r)
      for (int64_t gi = 0; gi < q.groups(); ++gi) {
        float amax = 0.0f;
        for (int64_t c = gi * g; c < std::min<int64_t>(K, (gi + 1) * g); ++c)
          amax = std::max(amax, std::fabs(W[size_t(r * K + c)]));
        EXPECT_EQ(q.scale(r, gi), amax / 127.0f) << "g" << g << " row " << r << " group " << gi;
      }
    // dequantize: s * q at the stored columns, 0 elsewhere.
    const std::vector<float> d = bs::dequantize_to_vector(q);
    for (int64_t r = 0; r < N; ++r)
      for (int64_t c = 0; c < K; ++c) {
        const float w = W[size_t(r * K + c)], s = q.scale(r, c / g);
        const float want = w == 0.0f ? 0.0f : s * std::nearbyint(w / s);
        ASSERT_EQ(d[size_t(r * K + c)], want) << "g" << g << " (" << r << "," << c << ")";
      }
  }
}

// Pruning keeps each row's ceil((1 - s) K) largest |w|, ties to the lower column, never a
// zero; sparsity 0 keeps every non-zero, 1 none.
TEST(BitmapSparseFormat, MagnitudePruning) {
  const int64_t N = 6, K = 333;
  std::vector<float> W = sparse_weights(N, K, 0.1, 5);
  for (int64_t c = 0; c < K; c += 10) W[size_t(2 * K + c)] = (c % 20) ? 0.5f : -0.5f;  // ties in row 2
  for (double s : {0.0, 0.3, 0.5, 0.8, 0.95, 1.0}) {
    const bs::BitmapSparseMatrix q = bs::pack(cview(W, N, K), PackOptions().with_sparsity(s));
    const std::vector<float> d = bs::dequantize_to_vector(q);
    for (int64_t r = 0; r < N; ++r) {
      std::vector<int64_t> order(static_cast<size_t>(K));
      for (int64_t c = 0; c < K; ++c) order[size_t(c)] = c;
      const float* w = &W[size_t(r * K)];
      std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return std::fabs(w[a]) > std::fabs(w[b]); });
      const int64_t keep = s == 0.0 ? K : int64_t(std::ceil((1.0 - s) * double(K) - 1e-9));
      std::vector<char> kept(size_t(K), 0);
      for (int64_t j = 0; j < keep; ++j)
        if (w[order[size_t(j)]] != 0.0f) kept[size_t(order[size_t(j)])] = 1;
      for (int64_t c = 0; c < K; ++c) {
        ASSERT_EQ(d[size_t(r * K + c)], kept[size_t(c)] ? w[c] : 0.0f) << "sparsity " << s << " (" << r << "," << c << ")";
      }
    }
    if (s == 1.0) {
      EXPECT_EQ(q.nnz(), 0);
    }
  }
}

// Bits per weight: values, one mask bit per weight (whole tiles), u32 offsets per chunk,
// the slack; at 80 % f32 about 7.5.
TEST(BitmapSparseFormat, BitsPerWeight) {
  const int64_t N = 256, K = 4096;
  const std::vector<float> W = sparse_weights(N, K, 0.0, 6);
  for (ValueType vt : kTypes) {
    const bs::BitmapSparseMatrix q = bs::pack(cview(W, N, K), PackOptions().with_values(vt).with_sparsity(0.8));
    const double density = double(q.nnz()) / double(N * K);
    EXPECT_NEAR(density, 0.2, 0.001);
    const double want = 8.0 * double(q.vbytes()) * density + 1.0 + 32.0 / 256.0 + (vt == ValueType::kInt8 ? 32.0 / K : 0.0);
    EXPECT_NEAR(q.bits_per_weight(), want, 0.01) << bs::value_type_name(vt);
    EXPECT_NEAR(q.sparsity(), 0.8, 0.001);
  }
}

TEST(BitmapSparseFormat, BadOptionsAndShapes) {
  const std::vector<float> W = sparse_weights(4, 100, 0.5, 7);
  expect_mentions(error_of([&] { bs::pack(cview(W, 4, 100), PackOptions().with_values(ValueType(7))); }),
                  {"unknown value type", "f32, bf16, int8"});
  expect_mentions(error_of([&] { bs::pack(cview(W, 4, 100), PackOptions().with_values(ValueType::kInt8).with_group(96)); }),
                  {"group=96", "64, 128 or 256"});
  expect_mentions(error_of([&] { bs::pack(cview(W, 4, 100), PackOptions().with_group(64)); }),
                  {"group=64", "f32 / bf16: 0"});
  expect_mentions(error_of([&] { bs::pack(cview(W, 4, 100), PackOptions().with_sparsity(1.5)); }),
                  {"sparsity=1.5", "0 to 1"});
  expect_mentions(error_of([&] { bs::pack(cview(W, 4, 100), PackOptions().with_sparsity(std::nan(""))); }),
                  {"sparsity=nan"});
  expect_mentions(error_of([&] { bs::pack(lsgemm::view<const float>(nullptr, 4, 100)); }), {"W"});
  expect_mentions(error_of([&] { bs::pack(cview(W, 0, 100)); }), {"must be non-empty"});
  std::vector<float> bad = W;
  bad[size_t(2 * 100 + 17)] = std::numeric_limits<float>::infinity();
  expect_mentions(error_of([&] { bs::pack(cview(bad, 4, 100)); }), {"W(2,17)", "not finite"});
  bad[size_t(2 * 100 + 17)] = 3.4e38f;  // finite in f32, rounds to infinity in bf16
  expect_mentions(error_of([&] { bs::pack(cview(bad, 4, 100), PackOptions().with_values(ValueType::kBf16)); }),
                  {"W(2,17)", "bf16"});
  // matmul: shapes and views.
  const bs::BitmapSparseMatrix q = bs::pack(cview(W, 4, 100));
  std::vector<float> X(3 * 100, 1.0f), Y(3 * 4, 7.0f);
  expect_mentions(error_keeping_y(Y, [&] { lsgemm::matmul(lsgemm::view<const float>(X.data(), 3, 99), q, lsgemm::view(Y.data(), 3, 4)); }),
                  {"K"});
  expect_mentions(error_keeping_y(Y, [&] { lsgemm::matmul(lsgemm::view<const float>(X.data(), 3, 100), q, lsgemm::view(Y.data(), 3, 5)); }),
                  {"Y"});
  expect_mentions(error_keeping_y(Y, [&] { lsgemm::matmul(lsgemm::view<const float>(nullptr, 3, 100), q, lsgemm::view(Y.data(), 3, 4)); }),
                  {"X"});
}

// A malformed object, built by `edit` from a valid one, throws from validate() with a
// message naming `what`; the kernels on it (validate() not run) read nothing out of
// bounds and leave outputs past N x M alone (the sanitizer stage checks the reads).
void expect_malformed(const std::function<void(bs::BitmapSparseMatrix&)>& edit,
                      std::initializer_list<std::string> what, bool check_only = false) {
  const int64_t N = 9, K = 300;
  const std::vector<float> W = sparse_weights(N, K, 0.7, 8);
  for (ValueType vt : kTypes) {
    bs::BitmapSparseMatrix q = bs::pack(cview(W, N, K), PackOptions().with_values(vt));
    edit(q);
    expect_mentions(error_of([&] { bs::validate(q); }), what);
    if (check_only) continue;
    for (int64_t M : {int64_t(1), int64_t(40)}) {
      std::vector<float> X(size_t(M * K), 1.0f), Y(size_t(M * N), 0.0f);
      try {
        lsgemm::matmul(lsgemm::view<const float>(X.data(), M, K), q, lsgemm::view(Y.data(), M, N));
      } catch (const lsgemm::Error&) {
      }
    }
  }
}

TEST(BitmapSparseFormat, ValidateRejectsMalformedObjects) {
  // A mask with one bit more than its values: every later offset is off by one.
  expect_malformed([](bs::BitmapSparseMatrix& q) { q.masks[3] |= ~q.masks[3] & (q.masks[3] + 1); },
                   {"offset of row", "popcount"});
  // Offsets out of order, and past the end.
  expect_malformed([](bs::BitmapSparseMatrix& q) { std::swap(q.offsets[3], q.offsets[5]); }, {"offset of row"});
  expect_malformed([](bs::BitmapSparseMatrix& q) { q.offsets[4] = 0xFFFFFFF0u; }, {"offset of row"});
  // Every mask full: far more values than stored (the kernels clamp each chunk's start).
  expect_malformed([](bs::BitmapSparseMatrix& q) { for (size_t i = 0; i < q.masks.size(); ++i) q.masks[i] = ~uint64_t(0) >> (i % 5 == 4 ? 20 : 0); },
                   {"validate"});
  // A bit at a column >= K.
  expect_malformed([](bs::BitmapSparseMatrix& q) { q.masks[4] |= uint64_t(1) << 60; }, {"columns >= K"});
  // Truncated values (check_packed, O(1)), a wrong offsets count, a nnz that disagrees.
  expect_malformed([](bs::BitmapSparseMatrix& q) { q.values.resize(q.values.size() - 1); }, {"values hold"}, true);
  expect_malformed([](bs::BitmapSparseMatrix& q) { q.offsets.resize(q.offsets.size() - 1); }, {"offsets hold"}, true);
  expect_malformed([](bs::BitmapSparseMatrix& q) { q.masks.resize(2); }, {"masks hold"}, true);
  expect_malformed([](bs::BitmapSparseMatrix& q) { q.offsets[0] = 1; }, {"offsets[0]"}, true);
  expect_malformed([](bs::BitmapSparseMatrix& q) { q.k = 0; }, {"packed shape"}, true);
  expect_malformed([](bs::BitmapSparseMatrix& q) { q.group = 32; }, {"group=32"}, true);
}

TEST(BitmapSparseFormat, ValidateRejectsBadValues) {
  const std::vector<float> W = sparse_weights(4, 130, 0.5, 9);
  bs::BitmapSparseMatrix f = bs::pack(cview(W, 4, 130));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(f.values.data() + 4 * 3, &nan, 4);
  expect_mentions(error_of([&] { bs::validate(f); }), {"value 3", "finite"});
  bs::BitmapSparseMatrix i8 = bs::pack(cview(W, 4, 130), PackOptions().with_values(ValueType::kInt8));
  i8.values[5] = 0x80;
  expect_mentions(error_of([&] { bs::validate(i8); }), {"value 5", "-128"});
  bs::BitmapSparseMatrix s8 = bs::pack(cview(W, 4, 130), PackOptions().with_values(ValueType::kInt8));
  s8.scales[2] = -1.0f;
  expect_mentions(error_of([&] { bs::validate(s8); }), {"scale of row 2", ">= 0"});
  // dequantize validates (its walk trusts the offsets), so does the reference.
  std::swap(s8.offsets[1], s8.offsets[2]);
  expect_mentions(error_of([&] { bs::dequantize_to_vector(s8); }), {"validate"});
}

// The reference against a plain double product over the dequantized matrix, with the
// epilogue (bias, alpha, accumulate).
TEST(BitmapSparseFormat, ReferenceIsTheDenseProduct) {
  const int64_t M = 3, N = 7, K = 200;
  const std::vector<float> W = sparse_weights(N, K, 0.75, 10);
  std::vector<float> X(static_cast<size_t>(M * K)), bias(static_cast<size_t>(N));
  std::mt19937_64 rng(11);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (float& v : X) v = nd(rng);
  for (float& v : bias) v = nd(rng);
  for (ValueType vt : kTypes) {
    const bs::BitmapSparseMatrix q = bs::pack(cview(W, N, K), PackOptions().with_values(vt).with_group(vt == ValueType::kInt8 ? 64 : 0));
    const std::vector<float> d = bs::dequantize_to_vector(q);
    std::vector<float> Y(size_t(M * N), 0.5f);
    lsgemm::reference::matmul(cview(X, M, K), q, lsgemm::view(Y.data(), M, N),
                              lsgemm::Epilogue().with_bias(bias.data()).with_alpha(0.5f).with_accumulate());
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double s = 0.0;
        for (int64_t k = 0; k < K; ++k) s += double(X[size_t(m * K + k)]) * double(d[size_t(n * K + k)]);
        EXPECT_EQ(Y[size_t(m * N + n)], float(0.5 * s + double(bias[size_t(n)]) + 0.5)) << bs::value_type_name(vt);
      }
    // The Eigen form equals dequantize_to_vector.
    const lsgemm::DenseMatrix e = lsgemm::dequantize(q);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) {
        ASSERT_EQ(e(n, k), d[size_t(n * K + k)]);
      }
  }
}

}  // namespace
