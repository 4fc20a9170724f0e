// nm_sparse's format and its oracle, for every N:M pattern and both value types:
// pack's magnitude pruning against a brute-force selection computed here, the
// dequantized matrix, Prune::kCheck, the packed layout read straight from the buffers
// with the index expressions of format.hpp's header comment, the storage per weight,
// validate() on malformed objects, bad options and shapes, and reference::matmul
// against a plain double product. Every rejected call throws lsgemm::Error naming what
// was wrong.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "lsgemm/core/epilogue.hpp"
#include "lsgemm/core/matrix.hpp"
#include "lsgemm/core/numeric.hpp"
#include "lsgemm/nm_sparse/format.hpp"
#include "lsgemm/nm_sparse/reference.hpp"
#include "support/error_of.hpp"

namespace {

namespace nm = lsgemm::nm_sparse;
using lsgemm::HostView;
using lsgemm::test::error_keeping_y;
using lsgemm::test::error_of;
using nm::PackOptions;
using nm::Prune;
using nm::ValueType;

struct Pattern {
  int n, m;  // N non-zeros per run of M
};
const Pattern kPatterns[] = {{1, 4}, {2, 4}, {3, 4}, {1, 8}, {2, 8}, {4, 8}, {7, 8}};
const ValueType kTypes[] = {ValueType::kF32, ValueType::kBf16};

std::string label(Pattern p, ValueType v) {
  return std::to_string(p.n) + ":" + std::to_string(p.m) + " " + nm::value_type_name(v);
}

PackOptions options(Pattern p, ValueType v, Prune prune = Prune::kMagnitude) {
  return PackOptions().with_pattern(p.n, p.m).with_values(v).with_prune(prune);
}

HostView<const float> cview(const std::vector<float>& w, int64_t rows, int64_t cols) {
  return lsgemm::view<const float>(w.data(), rows, cols);
}

void expect_mentions(const std::string& msg, std::initializer_list<std::string> parts) {
  for (const std::string& p : parts)
    EXPECT_NE(msg.find(p), std::string::npos) << "message lacks '" << p << "': " << msg;
}

// ---------------------------------------------------------------------------------------
// The layout of the header comment, derived here from the pattern and K alone (not from
// the object's accessors).
struct Layout {
  int n = 0, m = 0, b = 0, R = 0;  // pattern, position bits, runs per index word
  int64_t k = 0, kp = 0, runs = 0, slots = 0, words = 0, vb = 0;

  Layout(Pattern p, int64_t k_, ValueType v) : n(p.n), m(p.m), k(k_) {
    b = p.m == 8 ? 3 : 2;
    R = 32;  // the largest power of two with R * N * b <= 32
    while (R * n * b > 32) R /= 2;
    const int64_t span = int64_t(R) * m;
    kp = (k + span - 1) / span * span;
    runs = kp / m;
    slots = runs * n;
    words = runs / R;
    vb = v == ValueType::kBf16 ? 2 : 4;
  }
  // values: [t][s][r]; indices: [t][i][r].
  size_t value_byte(int64_t r, int64_t s) const { return size_t((((r / 16) * slots + s) * 16 + r % 16) * vb); }
  size_t word(int64_t r, int64_t run) const { return size_t(((r / 16) * words + run / R) * 16 + r % 16); }
  int shift(int64_t s) const { return b * (int((s / n) % R) * n + int(s % n)); }
};

// The stored bits of a slot's value: the f32 bits, or the bf16 bits in the low half.
uint32_t raw_value_bits(const nm::NmSparseMatrix& q, const Layout& L, int64_t r, int64_t s) {
  const uint8_t* p = q.values.data() + L.value_byte(r, s);
  if (L.vb == 2) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return h;
  }
  uint32_t u;
  std::memcpy(&u, p, 4);
  return u;
}
float raw_value(const nm::NmSparseMatrix& q, const Layout& L, int64_t r, int64_t s) {
  const uint32_t u = raw_value_bits(q, L, r, s);
  if (L.vb == 2) return lsgemm::bf16_to_f32(uint16_t(u));
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
void raw_set_value_bits(nm::NmSparseMatrix& q, const Layout& L, int64_t r, int64_t s, uint32_t bits) {
  uint8_t* p = q.values.data() + L.value_byte(r, s);
  if (L.vb == 2) {
    const uint16_t h = uint16_t(bits);
    std::memcpy(p, &h, 2);
  } else {
    std::memcpy(p, &bits, 4);
  }
}
int raw_position(const nm::NmSparseMatrix& q, const Layout& L, int64_t r, int64_t s) {
  return int((q.indices[L.word(r, s / L.n)] >> L.shift(s)) & uint32_t(L.m - 1));
}
void raw_set_position(nm::NmSparseMatrix& q, const Layout& L, int64_t r, int64_t s, int pos) {
  uint32_t& w = q.indices[L.word(r, s / L.n)];
  w = (w & ~(uint32_t(L.m - 1) << L.shift(s))) | (uint32_t(pos) << L.shift(s));
}

uint32_t f32_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
// What a weight is stored as (bits, as raw_value_bits) and what it dequantizes to.
uint32_t stored_bits(float w, ValueType v) { return v == ValueType::kBf16 ? lsgemm::f32_to_bf16(w) : f32_bits(w); }
float stored(float w, ValueType v) { return v == ValueType::kBf16 ? lsgemm::bf16_to_f32(lsgemm::f32_to_bf16(w)) : w; }

nm::NmSparseMatrix clone(const nm::NmSparseMatrix& q) {
  nm::NmSparseMatrix c;
  c.n = q.n;
  c.k = q.k;
  c.kp = q.kp;
  c.nnz = q.nnz;
  c.run = q.run;
  c.values_type = q.values_type;
  c.values = q.values.clone();
  c.indices = q.indices.clone();
  return c;
}

bool same_bytes(const nm::NmSparseMatrix& a, const nm::NmSparseMatrix& b) {
  return a.values.size() == b.values.size() && a.indices.size() == b.indices.size() &&
         std::memcmp(a.values.data(), b.values.data(), a.values.bytes()) == 0 &&
         std::memcmp(a.indices.data(), b.indices.data(), a.indices.bytes()) == 0;
}

// ---------------------------------------------------------------------------------------
// Brute force: in a run (weights w[0..M), the padding as 0) position p is kept when fewer
// than N positions rank above it, ranking by |w| and then by lower position.
std::vector<int> kept_positions(const float* w, int m, int n) {
  std::vector<int> kept;
  for (int p = 0; p < m; ++p) {
    int above = 0;
    for (int o = 0; o < m; ++o)
      above += std::fabs(w[o]) > std::fabs(w[p]) || (std::fabs(w[o]) == std::fabs(w[p]) && o < p);
    if (above < n) kept.push_back(p);
  }
  return kept;
}

struct Pruned {
  std::vector<int> positions;  // [row][slot], slots of every run including the K padding
  std::vector<float> weights;  // [row][slot]: the f32 weight a slot keeps (0 in the padding)
  std::vector<float> dense;    // W with the dropped weights zeroed
};

Pruned brute_force_prune(const std::vector<float>& W, int64_t rows, int64_t cols, const Layout& L) {
  Pruned out;
  out.positions.resize(size_t(rows * L.slots));
  out.weights.resize(size_t(rows * L.slots));
  out.dense.assign(size_t(rows * cols), 0.0f);
  std::vector<float> run(size_t(L.m));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t u = 0; u < L.runs; ++u) {
      for (int p = 0; p < L.m; ++p) {
        const int64_t c = u * L.m + p;
        run[size_t(p)] = c < cols ? W[size_t(r * cols + c)] : 0.0f;
      }
      const std::vector<int> kept = kept_positions(run.data(), L.m, L.n);
      EXPECT_EQ(int(kept.size()), L.n);
      for (int j = 0; j < L.n; ++j) {
        const int p = kept[size_t(j)];
        const size_t s = size_t(r * L.slots + u * L.n + j);
        out.positions[s] = p;
        out.weights[s] = run[size_t(p)];
        if (u * L.m + p < cols) out.dense[size_t(r * cols + u * L.m + p)] = run[size_t(p)];
      }
    }
  return out;
}

// Random weights whose runs mix: generic values; ties (equal magnitudes, +x and -x) from a
// small set; fewer than N non-zeros; one magnitude with random signs. Every 7th row (3,
// 10, ...) is zero.
std::vector<float> test_weights(int64_t rows, int64_t cols, Pattern pat, uint32_t seed) {
  static const float kTies[] = {-2.0f, -1.0f, -0.5f, 0.5f, 1.0f, 2.0f, 0.0f};
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> W(size_t(rows * cols), 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    if (r % 7 == 3) continue;
    for (int64_t c0 = 0; c0 < cols; c0 += pat.m) {
      const int len = int(std::min<int64_t>(pat.m, cols - c0));
      float* w = &W[size_t(r * cols + c0)];
      switch (rng() % 5) {
        case 0:
        case 1:
          for (int i = 0; i < len; ++i) w[i] = nd(rng);
          break;
        case 2:
          for (int i = 0; i < len; ++i) w[i] = kTies[rng() % 7];
          break;
        case 3:  // at most N - 1 non-zeros (a position drawn twice: fewer)
          for (int t = int(rng() % unsigned(pat.n)); t > 0; --t) w[rng() % unsigned(len)] = nd(rng);
          break;
        default: {
          const float x = std::fabs(nd(rng)) + 0.25f;
          for (int i = 0; i < len; ++i) w[i] = (rng() & 1) ? x : -x;
        }
      }
    }
  }
  return W;
}

// q is pack(W) with magnitude pruning: fields, buffer sizes, every slot of every row
// (padding rows too) read from the raw buffers, and the dequantized matrix.
void expect_packed_as_brute_force(const nm::NmSparseMatrix& q, const std::vector<float>& W, int64_t rows,
                                  int64_t cols, Pattern pat, ValueType v) {
  const Layout L(pat, cols, v);
  ASSERT_EQ(q.n, rows);
  ASSERT_EQ(q.k, cols);
  ASSERT_EQ(q.kp, L.kp);
  ASSERT_EQ(q.nnz, pat.n);
  ASSERT_EQ(q.run, pat.m);
  ASSERT_EQ(q.values_type, v);
  const int64_t tiles = (rows + 15) / 16;
  ASSERT_EQ(q.values.size(), size_t(tiles * 16 * L.slots * L.vb));
  ASSERT_EQ(q.indices.size(), size_t(tiles * 16 * L.words));
  EXPECT_NO_THROW(nm::validate(q));
  const Pruned want = brute_force_prune(W, rows, cols, L);
  for (int64_t r = 0; r < tiles * 16; ++r)
    for (int64_t s = 0; s < L.slots; ++s) {
      const int pos = raw_position(q, L, r, s);
      const uint32_t bits = raw_value_bits(q, L, r, s);
      if (s % L.n) {
        ASSERT_GT(pos, raw_position(q, L, r, s - 1)) << "row " << r << " slot " << s << ": not ascending";
      }
      if (r >= rows) {  // padding row: value 0 at positions 0, 1, ..., N-1
        ASSERT_EQ(bits, 0u) << "padding row " << r << " slot " << s;
        ASSERT_EQ(pos, int(s % L.n)) << "padding row " << r << " slot " << s;
        continue;
      }
      const size_t i = size_t(r * L.slots + s);
      ASSERT_EQ(pos, want.positions[i]) << "row " << r << " run " << s / L.n << " slot " << s % L.n;
      ASSERT_EQ(bits, stored_bits(want.weights[i], v))
          << "row " << r << " run " << s / L.n << " slot " << s % L.n << ": w=" << want.weights[i];
    }
  std::vector<float> expect(want.dense.size());
  for (size_t i = 0; i < expect.size(); ++i) expect[i] = stored(want.dense[i], v);
  const std::vector<float> d = nm::dequantize_to_vector(q);
  ASSERT_EQ(d.size(), expect.size());
  for (size_t i = 0; i < d.size(); ++i)
    ASSERT_EQ(d[i], expect[i]) << "W(" << i / size_t(cols) << "," << i % size_t(cols) << ")=" << W[i];
  std::vector<float> out(size_t(rows * cols), -3.0f);
  nm::dequantize(q, lsgemm::view(out.data(), rows, cols));
  EXPECT_EQ(out, d);
}

// ---------------------------------------------------------------------------------------

TEST(NmSparsePack, KeepsTheNLargestOfEachRun) {
  uint32_t seed = 100;
  for (Pattern p : kPatterns)
    for (ValueType v : kTypes)
      for (int64_t rows : {1, 17, 61})
        for (int64_t cols : {int64_t(1), int64_t(3), int64_t(p.m - 1), int64_t(p.m + 1), int64_t(33), int64_t(100)}) {
          SCOPED_TRACE(label(p, v) + " N=" + std::to_string(rows) + " K=" + std::to_string(cols));
          const std::vector<float> W = test_weights(rows, cols, p, ++seed);
          const nm::NmSparseMatrix q = nm::pack(cview(W, rows, cols), options(p, v));
          expect_packed_as_brute_force(q, W, rows, cols, p, v);
          if (HasFatalFailure()) return;
        }
}

TEST(NmSparsePack, LongRows) {
  const Pattern p{2, 4};
  const int64_t rows = 17, cols = 8640;
  const std::vector<float> W = test_weights(rows, cols, p, 7);
  for (ValueType v : kTypes) {
    SCOPED_TRACE(label(p, v));
    expect_packed_as_brute_force(nm::pack(cview(W, rows, cols), options(p, v)), W, rows, cols, p, v);
  }
}

// An all-zero W: every slot holds 0, at the lowest positions 0, 1, ..., N-1.
TEST(NmSparsePack, ZeroMatrix) {
  for (Pattern p : kPatterns)
    for (ValueType v : kTypes) {
      SCOPED_TRACE(label(p, v));
      const std::vector<float> W(size_t(5 * 21), 0.0f);
      const nm::NmSparseMatrix q = nm::pack(cview(W, 5, 21), options(p, v));
      const Layout L(p, 21, v);
      for (int64_t r = 0; r < 16; ++r)
        for (int64_t s = 0; s < L.slots; ++s) {
          ASSERT_EQ(raw_value_bits(q, L, r, s), 0u);
          ASSERT_EQ(raw_position(q, L, r, s), int(s % p.n));
        }
      EXPECT_EQ(nm::dequantize_to_vector(q), W);
    }
}

// Prune::kCheck: an exact N:M matrix packs to the same bytes as with kMagnitude (and as W
// before pruning); one run over N non-zeros is rejected, naming the first such run.
TEST(NmSparsePack, CheckAcceptsExactAndNamesTheFirstBadRun) {
  for (Pattern p : kPatterns)
    for (ValueType v : kTypes) {
      SCOPED_TRACE(label(p, v));
      const int64_t rows = 20, cols = 33;
      const std::vector<float> W = test_weights(rows, cols, p, 40 + uint32_t(p.n * p.m));
      const std::vector<float> exact = brute_force_prune(W, rows, cols, Layout(p, cols, v)).dense;
      const nm::NmSparseMatrix checked = nm::pack(cview(exact, rows, cols), options(p, v, Prune::kCheck));
      EXPECT_TRUE(same_bytes(checked, nm::pack(cview(exact, rows, cols), options(p, v))));
      EXPECT_TRUE(same_bytes(checked, nm::pack(cview(W, rows, cols), options(p, v))));
      nm::validate(checked);

      // Row 5, run 2 (columns [2M, 3M)) gets N + 1 non-zeros; row 5 run 3 and row 7 run
      // 0 too, later in row-major order.
      std::vector<float> bad = exact;
      auto overfill = [&](int64_t r, int64_t c0) {
        for (int i = 0; i < p.m; ++i) bad[size_t(r * cols + c0 + i)] = i <= p.n ? 0.5f + float(i) : 0.0f;
      };
      overfill(5, 2 * p.m);
      overfill(5, 3 * p.m);
      overfill(7, 0);
      const std::string msg = error_of([&] { nm::pack(cview(bad, rows, cols), options(p, v, Prune::kCheck)); });
      const std::string pat = std::to_string(p.n) + ":" + std::to_string(p.m);
      expect_mentions(msg, {"row 5, run of columns [" + std::to_string(2 * p.m) + ", " + std::to_string(3 * p.m) + ")",
                            "holds " + std::to_string(p.n + 1) + " non-zeros", pat});
      // kMagnitude prunes the same matrix without complaint.
      EXPECT_NO_THROW(nm::validate(nm::pack(cview(bad, rows, cols), options(p, v))));

      // A partial last run [2M, K) with N + 1 non-zeros (possible where N + 1 < M).
      if (p.n + 1 < p.m) {
        const int64_t k2 = 2 * p.m + p.n + 1;
        std::vector<float> w2(size_t(6 * k2), 0.0f);
        for (int i = 0; i <= p.n; ++i) w2[size_t(5 * k2 + 2 * p.m + i)] = -1.0f;
        expect_mentions(error_of([&] { nm::pack(cview(w2, 6, k2), options(p, v, Prune::kCheck)); }),
                        {"row 5, run of columns [" + std::to_string(2 * p.m) + ", " + std::to_string(k2) + ")"});
      }
    }
}

// ---------------------------------------------------------------------------------------
// The layout: hand-computed offsets and words for two small matrices, the words allocate()
// starts from, and the accessors against the raw reads on a random matrix.

TEST(NmSparseFormat, LayoutByHand2of4F32) {
  // N=18, K=40: kp=64 (a word spans 8 runs = 32 k), 16 runs and 32 slots per row, 2 words.
  const int64_t rows = 18, cols = 40;
  std::vector<float> W(size_t(rows * cols), 0.0f);
  const float r17[4] = {0.0f, 5.0f, 0.0f, -7.0f};  // row 17, run 9 (columns 36..39)
  for (int i = 0; i < 4; ++i) W[size_t(17 * cols + 36 + i)] = r17[i];
  W[0] = 3.0f;  // row 0, run 0: one non-zero
  const nm::NmSparseMatrix q = nm::pack(cview(W, rows, cols), PackOptions().with_pattern(2, 4));
  ASSERT_EQ(q.kp, 64);
  ASSERT_EQ(q.values.size(), size_t(2 * 32 * 16 * 4));
  ASSERT_EQ(q.indices.size(), size_t(2 * 2 * 16));
  auto f32_at = [&](size_t byte) {
    float f;
    std::memcpy(&f, q.values.data() + byte, 4);
    return f;
  };
  // Row 17 = tile 1, row 1 of it: slot 18 at ((1 * 32 + 18) * 16 + 1) * 4, slot 19 next block.
  EXPECT_EQ(f32_at(3204), 5.0f);
  EXPECT_EQ(f32_at(3268), -7.0f);
  // Its word 1 (runs 8..15) at (1 * 2 + 1) * 16 + 1 = 49: run 9 at bits [4, 8) holds
  // positions 1 and 3; runs 8, 10..15 (zero, or the K padding) positions 0 and 1.
  EXPECT_EQ(q.indices[49], 0x444444D4u);
  // Row 0, run 0: 3 at position 0, then 0 at the lowest unused position 1.
  EXPECT_EQ(f32_at(0), 3.0f);
  EXPECT_EQ(f32_at(64), 0.0f);
  EXPECT_EQ(q.indices[0], 0x44444444u);
  EXPECT_EQ(q.value(17, 18), 5.0f);
  EXPECT_EQ(q.column(17, 19), 39);
}

TEST(NmSparseFormat, LayoutByHand7of8Bf16) {
  // N=3, K=16: one run per word (7 * 3 = 21 bits), kp=16, 2 runs and 14 slots per row.
  const int64_t rows = 3, cols = 16;
  std::vector<float> W(size_t(rows * cols), 0.0f);
  const float run0[8] = {0.5f, -0.5f, 0.5f, 0.5f, -0.5f, 0.5f, -0.5f, 0.5f};  // ties: position 7 goes
  const float run1[8] = {1.0f, -9.0f, 0.0f, 4.0f, 2.0f, 6.0f, -5.0f, 3.0f};   // the zero goes
  for (int i = 0; i < 8; ++i) {
    W[size_t(2 * cols + i)] = run0[i];
    W[size_t(2 * cols + 8 + i)] = run1[i];
  }
  const nm::NmSparseMatrix q =
      nm::pack(cview(W, rows, cols), PackOptions().with_pattern(7, 8).with_values(ValueType::kBf16));
  ASSERT_EQ(q.kp, 16);
  ASSERT_EQ(q.values.size(), size_t(14 * 16 * 2));
  ASSERT_EQ(q.indices.size(), size_t(2 * 16));
  auto bf16_at = [&](size_t byte) {
    uint16_t h;
    std::memcpy(&h, q.values.data() + byte, 2);
    return h;
  };
  // Row 2, word i at i * 16 + 2; 3-bit positions, slot j at bits [3 j, 3 j + 3).
  EXPECT_EQ(q.indices[2], 06543210u);   // positions 0..6
  EXPECT_EQ(q.indices[18], 07654310u);  // positions 0, 1, 3..7
  // Slot s of row 2 at (s * 16 + 2) * 2: slot 7 (run 1, position 0) = 1, slot 8 = -9,
  // slot 9 (position 3) = 4; slot 6 (run 0, position 6) = -0.5.
  EXPECT_EQ(bf16_at(228), 0x3F80);
  EXPECT_EQ(bf16_at(260), 0xC110);
  EXPECT_EQ(bf16_at(292), 0x4080);
  EXPECT_EQ(bf16_at(196), 0xBF00);
  // Row 0 (all zero): positions 0..6 in both words, values 0.
  EXPECT_EQ(q.indices[0], 06543210u);
  EXPECT_EQ(q.indices[16], 06543210u);
}

TEST(NmSparseFormat, RunsPerWordAndAllocatedWords) {
  // R from the header comment's list, and 3:4 / 7:8 by its rule.
  struct Want {
    Pattern p;
    int R;
    uint32_t word;  // allocate(): positions 0, 1, ..., N-1 in every run of the word
  };
  for (const Want& w : {Want{{1, 4}, 16, 0u}, Want{{2, 4}, 8, 0x44444444u}, Want{{3, 4}, 4, 0x924924u},
                        Want{{1, 8}, 8, 0u}, Want{{2, 8}, 4, 0x00208208u}, Want{{4, 8}, 2, 0x00688688u},
                        Want{{7, 8}, 1, 0x001AC688u}}) {
    SCOPED_TRACE(label(w.p, ValueType::kF32));
    EXPECT_EQ(nm::runs_per_word(w.p.n, w.p.m), w.R);
    EXPECT_EQ(Layout(w.p, 1, ValueType::kF32).R, w.R);
    const nm::NmSparseMatrix q = nm::allocate(3, 50, options(w.p, ValueType::kF32));
    EXPECT_EQ(q.word_span(), int64_t(w.R) * w.p.m);
    for (size_t i = 0; i < q.indices.size(); ++i) ASSERT_EQ(q.indices[i], w.word) << "word " << i;
    for (size_t i = 0; i < q.values.size(); ++i) ASSERT_EQ(q.values[i], 0) << "value byte " << i;
    nm::validate(q);
  }
}

TEST(NmSparseFormat, AccessorsMatchTheRawLayout) {
  for (Pattern p : kPatterns)
    for (ValueType v : kTypes) {
      SCOPED_TRACE(label(p, v));
      const int64_t rows = 37, cols = 45;
      const std::vector<float> W = test_weights(rows, cols, p, 9);
      nm::NmSparseMatrix q = nm::pack(cview(W, rows, cols), options(p, v));
      const Layout L(p, cols, v);
      ASSERT_EQ(q.slots(), L.slots);
      ASSERT_EQ(q.words(), L.words);
      for (int64_t r = 0; r < 48; ++r)
        for (int64_t s = 0; s < L.slots; ++s) {
          ASSERT_EQ(q.position(r, s), raw_position(q, L, r, s));
          ASSERT_EQ(f32_bits(q.value(r, s)), f32_bits(raw_value(q, L, r, s)));
          ASSERT_EQ(q.column(r, s), (s / p.n) * p.m + raw_position(q, L, r, s));
          ASSERT_EQ(q.value_offset(r, s), L.value_byte(r, s));
          ASSERT_EQ(q.word_index(r, s / p.n / L.R), L.word(r, s / p.n));
        }
      // The writers put a value and a position where the raw reads find them and leave
      // the other slots' positions alone.
      const int64_t r = 35, s = L.slots - 1 - p.n;  // tile 2, a run before the last
      const std::vector<int> before = [&] {
        std::vector<int> b;
        for (int64_t t = 0; t < L.slots; ++t) b.push_back(raw_position(q, L, r, t));
        return b;
      }();
      q.set_position(r, s, p.m - 1);
      q.set_value(r, s, -1.25f);
      EXPECT_EQ(raw_position(q, L, r, s), p.m - 1);
      EXPECT_EQ(raw_value(q, L, r, s), -1.25f);
      for (int64_t t = 0; t < L.slots; ++t)
        if (t != s) {
          ASSERT_EQ(raw_position(q, L, r, t), before[size_t(t)]) << "slot " << t;
        }
    }
}

// Storage per weight (file comment): (N * value_bits + 32 / R) / M, from packed_bytes().
TEST(NmSparseFormat, BitsPerWeight) {
  auto formula = [](Pattern p, ValueType v) {
    const Layout L(p, 1, v);
    return (double(p.n) * 8.0 * double(L.vb) + 32.0 / L.R) / p.m;
  };
  // The header's examples, at N = K = 4096. 4:8: (4 * 32 + 32 / 2) / 8 = 18, two runs use
  // 24 of a word's 32 bits and the unused 8 are stored too.
  struct Want {
    Pattern p;
    ValueType v;
    double bits;
  };
  for (const Want& w : {Want{{2, 4}, ValueType::kF32, 17.0}, Want{{2, 4}, ValueType::kBf16, 9.0},
                        Want{{1, 4}, ValueType::kF32, 8.5}, Want{{2, 8}, ValueType::kF32, 9.0},
                        Want{{4, 8}, ValueType::kF32, 18.0}}) {
    SCOPED_TRACE(label(w.p, w.v));
    const nm::NmSparseMatrix q = nm::allocate(4096, 4096, options(w.p, w.v));
    EXPECT_EQ(q.bits_per_weight(), w.bits);
    EXPECT_EQ(q.bits_per_weight(), formula(w.p, w.v));
    EXPECT_EQ(q.bits_per_weight(), 8.0 * double(q.packed_bytes()) / (4096.0 * 4096.0));
  }
  // Every pattern and type where no padding is stored (N = 64, K = 128, a multiple of
  // every word span).
  for (Pattern p : kPatterns)
    for (ValueType v : kTypes) {
      const nm::NmSparseMatrix q = nm::allocate(64, 128, options(p, v));
      EXPECT_EQ(q.bits_per_weight(), formula(p, v)) << label(p, v);
    }
}

// ---------------------------------------------------------------------------------------
// validate(): each malformed field or content names itself; the O(1) checks of
// dequantize and reference::matmul catch the size ones too.
TEST(NmSparseValidate, RejectsMalformedObjects) {
  for (Pattern p : kPatterns)
    for (ValueType v : kTypes) {
      SCOPED_TRACE(label(p, v));
      const Layout L(p, 1, v);
      const int64_t rows = 20, cols = 2 * int64_t(L.R) * p.m + 1;  // the last word mostly K padding
      const Layout G(p, cols, v);
      const std::vector<float> W = test_weights(rows, cols, p, 77);
      const nm::NmSparseMatrix good = nm::pack(cview(W, rows, cols), options(p, v));
      nm::validate(good);
      auto bad = [&](const nm::NmSparseMatrix& q, std::initializer_list<std::string> parts) {
        expect_mentions(error_of([&] { nm::validate(q); }), parts);
      };
      if (p.n >= 2) {  // a repeat, then a descent, of slot 1 in row 3 run 2
        nm::NmSparseMatrix q = clone(good);
        const int64_t s0 = 2 * p.n;
        raw_set_position(q, G, 3, s0 + 1, raw_position(q, G, 3, s0));
        bad(q, {"row 3 run 2", "slot 1", "ascending"});
        q = clone(good);
        raw_set_position(q, G, 3, s0, p.m - 1);
        bad(q, {"row 3 run 2", "slot 1", "ascending"});
      }
      const uint32_t nan_bits = v == ValueType::kBf16 ? 0x7FC0u : 0x7FC00000u;
      const uint32_t ninf_bits = v == ValueType::kBf16 ? 0xFF80u : 0xFF800000u;
      for (uint32_t bits : {nan_bits, ninf_bits}) {
        nm::NmSparseMatrix q = clone(good);
        raw_set_value_bits(q, G, 4, 5 % G.slots, bits);
        bad(q, {"row 4 slot " + std::to_string(5 % G.slots), "finite"});
      }
      {  // a non-zero value at a column >= K: the row's last slot
        nm::NmSparseMatrix q = clone(good);
        const int64_t s = G.slots - 1, c = (s / p.n) * p.m + raw_position(q, G, 2, s);
        ASSERT_GE(c, cols);
        raw_set_value_bits(q, G, 2, s, stored_bits(1.5f, v));
        bad(q, {"row 2 slot " + std::to_string(s), "column " + std::to_string(c), "padding"});
      }
      {  // a non-zero value in a padding row (rows 20..31)
        nm::NmSparseMatrix q = clone(good);
        raw_set_value_bits(q, G, 20, 0, stored_bits(2.5f, v));
        bad(q, {"row 20 slot 0", "padding", "N=20"});
        q = clone(good);
        raw_set_value_bits(q, G, 31, G.slots - 1, stored_bits(-1.0f, v));
        bad(q, {"row 31 slot " + std::to_string(G.slots - 1), "padding"});
      }
      {  // truncated buffers
        std::vector<float> X(size_t(2 * cols), 1.0f), Y(size_t(2 * rows), 6.5f);
        nm::NmSparseMatrix q = clone(good);
        q.values.resize(q.values.size() - size_t(G.vb));
        bad(q, {"values hold", std::to_string(good.values.size())});
        expect_mentions(error_of([&] { nm::dequantize_to_vector(q); }), {"values hold"});
        expect_mentions(error_keeping_y(Y, [&] {
                          lsgemm::reference::matmul(cview(X, 2, cols), q, lsgemm::view(Y.data(), 2, rows));
                        }),
                        {"values hold"});
        q = clone(good);
        q.indices.resize(q.indices.size() - 1);
        bad(q, {"indices hold", std::to_string(good.indices.size())});
        expect_mentions(error_keeping_y(Y, [&] {
                          lsgemm::reference::matmul(cview(X, 2, cols), q, lsgemm::view(Y.data(), 2, rows));
                        }),
                        {"indices hold"});
      }
      {  // pattern fields
        nm::NmSparseMatrix q = clone(good);
        q.nnz = 0;
        bad(q, {"pattern 0:" + std::to_string(p.m)});
        q.nnz = p.m;
        bad(q, {"pattern " + std::to_string(p.m) + ":" + std::to_string(p.m)});
        q = clone(good);
        q.run = 5;
        bad(q, {"pattern " + std::to_string(p.n) + ":5"});
        q.run = 16;
        bad(q, {":16"});
        q = clone(good);
        q.values_type = ValueType(7);
        bad(q, {"bad value type 7"});
      }
      {  // kp: one span too many, K itself (not a multiple of the span), one span short
        const int64_t span = int64_t(G.R) * p.m;
        for (int64_t kp : {good.kp + span, int64_t(cols), good.kp - span}) {
          nm::NmSparseMatrix q = clone(good);
          q.kp = kp;
          bad(q, {"kp=" + std::to_string(kp)});
        }
      }
      {  // shape fields
        nm::NmSparseMatrix q = clone(good);
        q.n = 0;
        bad(q, {"must be positive"});
        q = clone(good);
        q.k = -1;
        bad(q, {"must be positive"});
      }
    }
}

// pack() never returns an object its own validate() rejects: a finite f32 weight of
// magnitude >= 0x1.FFp127 rounds (to nearest even) to bf16 infinity, and pack throws
// naming it instead of storing it.
TEST(NmSparsePack, Bf16OverflowIsAnErrorNamingTheWeight) {
  for (float big : {0x1.FFp127f, std::numeric_limits<float>::max()}) {
    const std::vector<float> W = {big, 0.0f, -1.0f, 0.0f};
    std::string msg;
    try {
      nm::validate(nm::pack(cview(W, 1, 4), PackOptions().with_values(ValueType::kBf16)));
    } catch (const lsgemm::Error& e) {
      msg = e.what();
    }
    EXPECT_NE(msg.find("W(0,0)"), std::string::npos) << big << ": " << msg;
    EXPECT_NE(msg.find("bf16"), std::string::npos) << big << ": " << msg;
  }
  // The largest weight that stays finite packs and validates.
  const std::vector<float> W = {0x1.FEp127f, 0.0f, -1.0f, 0.0f};
  nm::validate(nm::pack(cview(W, 1, 4), PackOptions().with_values(ValueType::kBf16)));
}

// ---------------------------------------------------------------------------------------
// Int values: per (row, group) s = f16(amax / qmax) over the kept weights, q =
// nearest-even(w / s) clamped, value = s * q; int4 codes two per byte (even slot low).
TEST(NmSparseInts, QuantizeLayoutAndValidate) {
  const int64_t rows = 19, cols = 300;  // K padded to the group; a partial last group
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> W(size_t(rows * cols));
  for (float& v : W) v = nd(rng);
  for (ValueType vt : {ValueType::kInt8, ValueType::kInt4})
    for (int g : {64, 128, 256})
      for (Pattern p : {Pattern{2, 4}, Pattern{1, 8}, Pattern{7, 8}}) {
        SCOPED_TRACE(label(p, vt) + " g" + std::to_string(g));
        const nm::NmSparseMatrix pruned = nm::pack(cview(W, rows, cols), options(p, ValueType::kF32));
        const nm::NmSparseMatrix q = nm::pack(cview(W, rows, cols), options(p, vt).with_group(g));
        ASSERT_EQ(q.kp % g, 0);
        ASSERT_EQ(q.groups(), q.kp / g);
        nm::validate(q);
        const int qmax = vt == ValueType::kInt8 ? 127 : 7;
        const int64_t per_group = g / p.m * p.n;
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t gi = 0; gi < q.groups(); ++gi) {
            // Slots past the f32 object's (its K padding is shorter) are padding: 0.
            auto kept = [&](int64_t sl) { return sl < pruned.slots() ? pruned.value(r, sl) : 0.0f; };
            float amax = 0.0f;
            for (int64_t sl = gi * per_group; sl < (gi + 1) * per_group; ++sl) amax = std::max(amax, std::fabs(kept(sl)));
            const float sc = lsgemm::f16_to_f32(lsgemm::f32_to_f16(amax / float(qmax)));
            ASSERT_EQ(q.scale(r, gi), sc) << "row " << r << " group " << gi;
            for (int64_t sl = gi * per_group; sl < (gi + 1) * per_group; ++sl) {
              if (sl < pruned.slots()) {
                ASSERT_EQ(q.position(r, sl), pruned.position(r, sl));
              }
              const float want = sc > 0 ? std::min(float(qmax), std::max(float(-qmax), std::nearbyint(kept(sl) / sc))) : 0.0f;
              ASSERT_EQ(q.code(r, sl), int(want)) << "row " << r << " slot " << sl;
              ASSERT_EQ(q.value(r, sl), sc * want);
              // The raw byte [t][s / 4][r][s % 4] (int8) or [t][s / 8][r][s % 4] (int4,
              // the high nibble for s % 8 >= 4): the code, two's complement.
              const int64_t S = q.slots(), per_word = vt == ValueType::kInt4 ? 8 : 4;
              const int64_t tile_bytes = S * 16 / (per_word / 4);
              const uint8_t byte =
                  q.values[size_t((r / 16) * tile_bytes + ((sl / per_word) * 16 + r % 16) * 4 + sl % 4)];
              const int raw = vt == ValueType::kInt8 ? int(int8_t(byte))
                                                     : (((sl % 8 >= 4 ? byte >> 4 : byte & 15) ^ 8) - 8);
              ASSERT_EQ(raw, int(want));
            }
          }
        // Dequantize: s * q at each kept column.
        const std::vector<float> d = nm::dequantize_to_vector(q);
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t sl = 0; sl < q.slots(); ++sl) {
            if (q.column(r, sl) < cols && q.value(r, sl) != 0.0f) {
              ASSERT_EQ(d[size_t(r * cols + q.column(r, sl))], q.value(r, sl));
            }
          }
        // Malformed: a code out of range, a negative or NaN scale, a scale in a padding row.
        auto bad = [&](const std::function<void(nm::NmSparseMatrix&)>& edit, std::initializer_list<std::string> parts) {
          nm::NmSparseMatrix m = nm::allocate(rows, cols, options(p, vt).with_group(g));
          std::memcpy(m.values.data(), q.values.data(), q.values.bytes());
          std::memcpy(m.indices.data(), q.indices.data(), q.indices.bytes());
          std::memcpy(m.scales.data(), q.scales.data(), q.scales.bytes());
          edit(m);
          expect_mentions(error_of([&] { nm::validate(m); }), parts);
        };
        bad([&](nm::NmSparseMatrix& m) { m.set_code(3, 1, -qmax - 1); }, {"code " + std::to_string(-qmax - 1)});
        bad([&](nm::NmSparseMatrix& m) { m.set_scale(4, 0, -1.0f); }, {"scale of row 4 group 0"});
        bad([&](nm::NmSparseMatrix& m) { m.set_scale(4, 0, std::nanf("")); }, {"scale of row 4 group 0"});
        bad([&](nm::NmSparseMatrix& m) { m.set_scale(rows + 2, 0, 1.0f); }, {"padding row " + std::to_string(rows + 2)});
      }
  // A scale beyond f16 is an error naming the row and group.
  std::vector<float> big(size_t(4 * 128), 0.0f);
  big[size_t(128 + 70)] = 1e6f;  // row 1, column 70: int4 scale 1e6 / 7 > 65504
  expect_mentions(error_of([&] { nm::pack(cview(big, 4, 128), PackOptions().with_values(ValueType::kInt4).with_group(64)); }),
                  {"row 1, columns [64, 128)", "beyond f16"});
}

// ---------------------------------------------------------------------------------------
// pack()'s options and shapes.
TEST(NmSparsePack, RejectsBadOptionsAndWeights) {
  const int64_t rows = 8, cols = 64;
  std::vector<float> W = test_weights(rows, cols, {2, 4}, 5);
  const auto Wv = cview(W, rows, cols);
  for (Pattern p : {Pattern{0, 4}, Pattern{4, 4}, Pattern{2, 5}, Pattern{2, 16}, Pattern{8, 8}, Pattern{-1, 4},
                    Pattern{1, 2}}) {
    const std::string pat = "pattern " + std::to_string(p.n) + ":" + std::to_string(p.m);
    expect_mentions(error_of([&] { nm::pack(Wv, PackOptions().with_pattern(p.n, p.m)); }), {pat, "not supported"});
    expect_mentions(error_of([&] { nm::allocate(rows, cols, PackOptions().with_pattern(p.n, p.m)); }), {pat});
  }
  expect_mentions(error_of([&] { nm::pack(Wv, PackOptions().with_values(ValueType(7))); }),
                  {"unknown value type 7"});
  for (int g : {0, 32, 96, 512})
    expect_mentions(error_of([&] { nm::pack(Wv, PackOptions().with_values(ValueType::kInt4).with_group(g)); }),
                    {"group=" + std::to_string(g), "64, 128, 256"});
  expect_mentions(error_of([&] { nm::pack(Wv, PackOptions().with_prune(Prune(9))); }), {"unknown prune mode 9"});
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()})
    for (Prune prune : {Prune::kMagnitude, Prune::kCheck}) {
      std::vector<float> Wn(size_t(rows * cols), 0.0f);
      Wn[size_t(3 * cols + 17)] = bad;
      expect_mentions(error_of([&] { nm::pack(cview(Wn, rows, cols), PackOptions().with_prune(prune)); }),
                      {"W(3,17)", "not finite"});
      // Also among other weights (a NaN has no magnitude to be pruned by); W is not 2:4, so
      // with kMagnitude only.
      Wn = W;
      Wn[size_t(6 * cols + 41)] = bad;
      expect_mentions(error_of([&] { nm::pack(cview(Wn, rows, cols)); }), {"W(6,41)", "not finite"});
    }
  expect_mentions(error_of([&] { nm::pack(cview(W, 0, cols)); }), {"W must be non-empty", "0x64"});
  expect_mentions(error_of([&] { nm::pack(cview(W, rows, 0)); }), {"W must be non-empty", "8x0"});
  expect_mentions(error_of([&] { nm::allocate(rows, 0); }), {"W must be non-empty", "8x0"});
  expect_mentions(error_of([&] { nm::pack(lsgemm::view<const float>(nullptr, rows, cols)); }), {"W", "null"});
  expect_mentions(error_of([&] { nm::pack(HostView<const float>(W.data(), rows, cols, cols - 1)); }), {"ld"});
  expect_mentions(error_of([&] { nm::pack(HostView<const float>(W.data(), -1, cols)); }), {"W", ">= 0"});
  expect_mentions(error_of([&] { nm::allocate(lsgemm::kMaxDim + 1, 8); }), {"beyond the largest"});
  // dequantize into a view of the wrong shape.
  const nm::NmSparseMatrix q = nm::pack(Wv);
  std::vector<float> out(size_t(rows * cols), 1.0f);
  expect_mentions(error_keeping_y(out, [&] { nm::dequantize(q, lsgemm::view(out.data(), rows, cols - 1)); }),
                  {"N x K = 8x64"});
}

// ---------------------------------------------------------------------------------------
// reference::matmul: the plain double product of X with the dequantized W.

// sum_k X(m, k) * D(n, k) in double, ascending k; |X| * |D| likewise.
void plain_product(const std::vector<float>& X, const std::vector<float>& D, int64_t M, int64_t N, int64_t K,
                   std::vector<double>& y, std::vector<double>& mag) {
  y.assign(size_t(M * N), 0.0);
  mag.assign(size_t(M * N), 0.0);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) {
        const double x = X[size_t(m * K + k)], d = D[size_t(n * K + k)];
        y[size_t(m * N + n)] += x * d;
        mag[size_t(m * N + n)] += std::fabs(x) * std::fabs(d);
      }
}

TEST(NmSparseReference, EqualsThePlainProduct) {
  const int64_t M = 5, N = 21, K = 70;
  std::mt19937 rng(31);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> X(size_t(M * K));
  for (float& x : X) x = nd(rng);
  for (Pattern p : kPatterns)
    for (ValueType v : kTypes) {
      SCOPED_TRACE(label(p, v));
      const std::vector<float> W = test_weights(N, K, p, 50 + uint32_t(p.n + p.m));
      const nm::NmSparseMatrix q = nm::pack(cview(W, N, K), options(p, v));
      std::vector<double> want, want_mag;
      plain_product(X, nm::dequantize_to_vector(q), M, N, K, want, want_mag);
      // The same sum over the same non-zero terms in the same order: equal.
      std::vector<float> Y(size_t(M * N), 99.0f);
      lsgemm::reference::matmul(cview(X, M, K), q, lsgemm::view(Y.data(), M, N));
      for (size_t i = 0; i < Y.size(); ++i) {
        ASSERT_EQ(Y[i], float(want[i])) << "Y(" << i / N << "," << i % N << ")";
        ASSERT_LE(std::fabs(double(Y[i]) - want[i]), 1e-12 * want_mag[i] + std::fabs(want[i]) * 0x1p-24);
      }
      const std::vector<double> mag = lsgemm::reference::matmul_magnitude(cview(X, M, K), q);
      for (size_t i = 0; i < mag.size(); ++i) ASSERT_NEAR(mag[i], want_mag[i], 1e-12 * want_mag[i]);
    }
  // The epilogue, once: Y = alpha * XW^T + bias + Y.
  const Pattern p{2, 8};
  const std::vector<float> W = test_weights(N, K, p, 3);
  const nm::NmSparseMatrix q = nm::pack(cview(W, N, K), options(p, ValueType::kBf16));
  std::vector<double> want, want_mag;
  plain_product(X, nm::dequantize_to_vector(q), M, N, K, want, want_mag);
  std::vector<float> bias(static_cast<size_t>(N)), Y(static_cast<size_t>(M * N));
  for (float& b : bias) b = nd(rng);
  for (float& y : Y) y = nd(rng);
  const std::vector<float> y0 = Y;
  lsgemm::reference::matmul(cview(X, M, K), q, lsgemm::view(Y.data(), M, N),
                            lsgemm::Epilogue().with_bias(bias.data()).with_accumulate().with_alpha(0.75f));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      const size_t i = size_t(m * N + n);
      ASSERT_EQ(Y[i], float(0.75 * want[i] + double(bias[size_t(n)]) + double(y0[i]))) << "Y(" << m << "," << n << ")";
    }
  // Shapes are checked before Y is touched.
  std::vector<float> Yk(size_t(M * N), -2.0f);
  expect_mentions(error_keeping_y(Yk, [&] {
                    lsgemm::reference::matmul(lsgemm::view<const float>(X.data(), M, K - 1), q,
                                              lsgemm::view(Yk.data(), M, N));
                  }),
                  {"K=70"});
  expect_mentions(error_keeping_y(Yk, [&] {
                    lsgemm::reference::matmul(cview(X, M, K), q, lsgemm::view(Yk.data(), M, N - 1));
                  }),
                  {"N=21"});
}

// Small integers: X and W exact in f32 and bf16, every partial sum exact, so Y is the
// integer product of X with W pruned by the brute force, exactly.
TEST(NmSparseReference, SmallIntegersAreExact) {
  const int64_t M = 4, N = 19, K = 75;
  std::mt19937 rng(17);
  std::vector<float> X(size_t(M * K)), W(size_t(N * K));
  for (float& x : X) x = float(int(rng() % 15) - 7);
  for (float& w : W) w = rng() % 3 == 0 ? 0.0f : float(int(rng() % 17) - 8);
  for (Pattern p : kPatterns)
    for (ValueType v : kTypes) {
      SCOPED_TRACE(label(p, v));
      const std::vector<float> D = brute_force_prune(W, N, K, Layout(p, K, v)).dense;
      const nm::NmSparseMatrix q = nm::pack(cview(W, N, K), options(p, v));
      EXPECT_EQ(nm::dequantize_to_vector(q), D);
      std::vector<float> Y(size_t(M * N), 0.0f);
      lsgemm::reference::matmul(cview(X, M, K), q, lsgemm::view(Y.data(), M, N));
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          int64_t s = 0;
          for (int64_t k = 0; k < K; ++k) s += int64_t(X[size_t(m * K + k)]) * int64_t(D[size_t(n * K + k)]);
          ASSERT_EQ(Y[size_t(m * N + n)], float(s)) << "Y(" << m << "," << n << ")";
        }
    }
}

}  // namespace
