// The OCP MX / NVFP4 element codecs (core/numeric.hpp) and the block quantizers
// (block_fp/quantize.hpp), bit for bit against the vectors in tests/vectors, which
// tests/vectors/make_block_fp_vectors.py makes from ml_dtypes casts and numpy f32
// arithmetic (the line formats are in its docstring); then hand-worked cases and
// properties that need no oracle.
//
// A missing or empty vector file, a line count other than its header's '# count' lines,
// or a file that leaves out a format, a block size or a partial last block fails the
// test: it cannot pass by reading nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "lsgemm/block_fp/quantize.hpp"
#include "lsgemm/core/error.hpp"
#include "lsgemm/core/numeric.hpp"

#ifndef LSGEMM_TEST_VECTORS_DIR
#error "LSGEMM_TEST_VECTORS_DIR must name tests/vectors (tests/CMakeLists.txt defines it)"
#endif

namespace {

using lsgemm::f32_bits;
using lsgemm::f32_from_bits;
using lsgemm::MiniFloat;
using lsgemm::block_fp::MxElement;

// ---------------------------------------------------------------------------------------
// Reading the vector files

struct VectorFile {
  std::string path;
  std::string error;                            // empty when the file was read
  std::map<std::string, long> counts;           // '# count <tag> <n>'
  std::vector<std::vector<std::string>> lines;  // the tokens of each non-comment line
};

VectorFile load(const std::string& name) {
  VectorFile f;
  f.path = std::string(LSGEMM_TEST_VECTORS_DIR) + "/" + name;
  std::ifstream in(f.path);
  if (!in) {
    f.error = "cannot open " + f.path + " (tests/vectors/make_block_fp_vectors.py writes it)";
    return f;
  }
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream ls(line);
    std::vector<std::string> tok;
    for (std::string t; ls >> t;) tok.push_back(t);
    if (tok.empty()) continue;
    if (tok[0] == "#") {
      if (tok.size() == 4 && tok[1] == "count") f.counts[tok[2]] = std::stol(tok[3]);
      continue;
    }
    f.lines.push_back(std::move(tok));
  }
  if (f.counts.empty()) f.error = f.path + " has no '# count' header lines";
  if (f.lines.empty()) f.error = f.path + (f.counts.empty() ? " is empty" : " has no data lines");
  return f;
}

// Lines per tag equal the header's counts (every tag counted, none missing).
void expect_counts(const VectorFile& f, const std::set<std::string>& line_tags) {
  std::map<std::string, long> seen;
  for (const auto& l : f.lines) {
    if (line_tags.count(l[0])) ++seen[l[0]];
  }
  for (const auto& tag : line_tags) {
    ASSERT_TRUE(f.counts.count(tag)) << f.path << ": no '# count " << tag << "' line";
    EXPECT_GT(f.counts.at(tag), 0) << f.path << ": tag " << tag;
    EXPECT_EQ(seen[tag], f.counts.at(tag)) << f.path << ": lines of tag '" << tag << "' vs its header count";
  }
}

// A hex number that must fill the whole token.
uint32_t hex(const std::string& s) {
  size_t used = 0;
  const unsigned long v = std::stoul(s, &used, 16);
  if (used != s.size() || s.empty()) throw std::runtime_error("not a hex number: '" + s + "'");
  return uint32_t(v);
}

// Two hex digits per byte, no separators.
std::vector<uint8_t> hex_bytes(const std::string& s) {
  if (s.size() % 2) throw std::runtime_error("odd-length byte string");
  std::vector<uint8_t> b(s.size() / 2);
  for (size_t i = 0; i < b.size(); ++i) b[i] = uint8_t(hex(s.substr(2 * i, 2)));
  return b;
}

// Reports the first kShown mismatches of a file in full, then only counts them.
struct Mismatches {
  static constexpr int kShown = 20;
  std::string file;
  long n = 0;
  explicit Mismatches(std::string f) : file(std::move(f)) {}
  template <class... Args>
  void add(const Args&... parts) {
    if (n++ < kShown) {
      std::ostringstream os;
      os << file << ": ";
      (os << ... << parts);
      ADD_FAILURE() << os.str();
    }
  }
  ~Mismatches() {
    if (n > kShown) ADD_FAILURE() << file << ": " << n << " mismatches in all";
  }
};

std::string h8(uint32_t u) {
  std::ostringstream os;
  os << std::hex << u;
  return os.str();
}

// ---------------------------------------------------------------------------------------
// Element codecs against ml_dtypes

const MiniFloat kFormats[] = {MiniFloat::kE4M3, MiniFloat::kE5M2, MiniFloat::kE3M2, MiniFloat::kE2M3, MiniFloat::kE2M1};

class MiniFloatVectors : public ::testing::TestWithParam<MiniFloat> {};

TEST_P(MiniFloatVectors, DecodeAndEncodeMatchMlDtypes) {
  const MiniFloat fmt = GetParam();
  const lsgemm::MiniFloatInfo fi = lsgemm::minifloat_info(fmt);
  const VectorFile f = load(std::string("minifloat_") + fi.name + ".txt");
  ASSERT_TRUE(f.error.empty()) << f.error;
  expect_counts(f, {"d", "e"});
  ASSERT_EQ(f.counts.at("d"), 1L << fi.bits) << "the decode lines must list every code";

  Mismatches bad(f.path);
  std::vector<int> seen(size_t(1) << fi.bits, 0);
  long encodes = 0;
  for (const auto& l : f.lines) {
    if (l[0] == "d") {
      ASSERT_EQ(l.size(), 3u);
      const uint32_t code = hex(l[1]);
      ASSERT_LT(code, seen.size());
      ++seen[code];
      const uint32_t want = hex(l[2]);
      const uint32_t got = f32_bits(lsgemm::minifloat_to_f32(fmt, code));
      if (got != want) bad.add("decode ", h8(code), ": got ", h8(got), ", want ", h8(want));
    } else if (l[0] == "e") {
      ASSERT_EQ(l.size(), 4u);
      ++encodes;
      const uint32_t x = hex(l[1]);
      const uint32_t want_sat = hex(l[2]);
      const uint32_t want_cast = hex(l[3]);
      const uint32_t sat = lsgemm::f32_to_minifloat_sat(fmt, f32_from_bits(x));
      const uint32_t cast = lsgemm::f32_to_minifloat(fmt, f32_from_bits(x));
      if (sat != want_sat) bad.add("sat encode of ", h8(x), ": got ", h8(sat), ", want ", h8(want_sat));
      if (cast != want_cast) bad.add("cast encode of ", h8(x), ": got ", h8(cast), ", want ", h8(want_cast));
    } else {
      ADD_FAILURE() << f.path << ": unknown line tag " << l[0];
    }
  }
  for (size_t c = 0; c < seen.size(); ++c) EXPECT_EQ(seen[c], 1) << "decode lines of code " << c;
  EXPECT_GE(encodes, 500) << "too few encode vectors";
}

INSTANTIATE_TEST_SUITE_P(Formats, MiniFloatVectors, ::testing::ValuesIn(kFormats),
                         [](const ::testing::TestParamInfo<MiniFloat>& p) {
                           return std::string(lsgemm::minifloat_info(p.param).name);
                         });

TEST(E8m0Vectors, DecodeAndExponentMatchMlDtypes) {
  const VectorFile f = load("e8m0.txt");
  ASSERT_TRUE(f.error.empty()) << f.error;
  expect_counts(f, {"d", "p"});
  ASSERT_EQ(f.counts.at("d"), 256);
  ASSERT_EQ(f.counts.at("p"), 255);  // se = -127 .. 127
  Mismatches bad(f.path);
  std::vector<int> seen(256, 0);
  for (const auto& l : f.lines) {
    ASSERT_EQ(l.size(), 3u);
    if (l[0] == "d") {
      const uint32_t code = hex(l[1]);
      ASSERT_LT(code, 256u);
      ++seen[code];
      const uint32_t got = f32_bits(lsgemm::e8m0_to_f32(uint8_t(code)));
      if (got != hex(l[2])) bad.add("decode ", h8(code), ": got ", h8(got), ", want ", l[2]);
    } else if (l[0] == "p") {
      const int se = std::stoi(l[1]);
      const uint32_t got = lsgemm::e8m0_from_exponent(se);
      if (got != hex(l[2])) bad.add("exponent ", se, ": got ", h8(got), ", want ", l[2]);
    } else {
      ADD_FAILURE() << f.path << ": unknown line tag " << l[0];
    }
  }
  for (int c = 0; c < 256; ++c) EXPECT_EQ(seen[size_t(c)], 1) << "decode lines of code " << c;
}

// ---------------------------------------------------------------------------------------
// Block quantizers against the numpy rules

// One row of a block file.
struct Row {
  std::string kind;
  int block = 0;
  int k = 0;
  uint32_t ts = 0;  // nvfp4
  std::vector<float> x;
  std::vector<uint8_t> scales, codes;
  std::vector<uint32_t> y;
};

// Rows of a block file, each checked for shape (K values, codes and decoded values, one
// scale byte per block).
std::vector<Row> parse_rows(const VectorFile& f, bool with_ts) {
  std::vector<Row> rows;
  const auto& L = f.lines;
  const size_t per_row = with_ts ? 6 : 5;
  if (L.size() % per_row != 0) {
    ADD_FAILURE() << f.path << ": " << L.size() << " lines is not a whole number of rows";
    return {};
  }
  for (size_t i = 0; i < L.size(); i += per_row) {
    Row r;
    size_t j = i;
    if (L[j][0] != "row" || L[j].size() != 4) {
      ADD_FAILURE() << f.path << ": expected a 'row' line, got '" << L[j][0] << "'";
      return {};
    }
    r.kind = L[j][1];
    r.block = std::stoi(L[j][2]);
    r.k = std::stoi(L[j][3]);
    ++j;
    if (with_ts) {
      if (L[j][0] != "t" || L[j].size() != 2) {
        ADD_FAILURE() << f.path << ": row " << rows.size() << ": expected 't'";
        return {};
      }
      r.ts = hex(L[j][1]);
      ++j;
    }
    const char* tags = "xscy";
    for (int t = 0; t < 4; ++t) {
      if (L[j + t][0] != std::string(1, tags[t])) {
        ADD_FAILURE() << f.path << ": row " << rows.size() << ": expected '" << tags[t] << "', got '" << L[j + t][0]
                      << "'";
        return {};
      }
    }
    for (size_t t = 1; t < L[j].size(); ++t) r.x.push_back(f32_from_bits(hex(L[j][t])));
    if (L[j + 1].size() == 2) r.scales = hex_bytes(L[j + 1][1]);
    if (L[j + 2].size() == 2) r.codes = hex_bytes(L[j + 2][1]);
    for (size_t t = 1; t < L[j + 3].size(); ++t) r.y.push_back(hex(L[j + 3][t]));
    const size_t blocks = r.block > 0 ? size_t((r.k + r.block - 1) / r.block) : 0;
    if (r.k <= 0 || r.block <= 0 || r.x.size() != size_t(r.k) || r.codes.size() != size_t(r.k) ||
        r.y.size() != size_t(r.k) || r.scales.size() != blocks) {
      ADD_FAILURE() << f.path << ": row " << rows.size() << " (" << r.kind << ", block " << r.block << ", K " << r.k
                    << ") has " << r.x.size() << " values, " << r.codes.size() << " codes, " << r.y.size()
                    << " decoded values and " << r.scales.size() << " scale bytes";
      return {};
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

// Quantizes each block of each row with `quant(values, n, codes) -> scale byte` and
// compares scale bytes, codes and `decoded(scale, code)` with the row.
template <class Quant, class Decoded>
void check_row(const Row& r, Mismatches& bad, size_t row_index, Quant quant, Decoded decoded) {
  std::vector<uint8_t> codes(size_t(r.block));
  for (int k0 = 0, g = 0; k0 < r.k; k0 += r.block, ++g) {
    const int n = std::min(r.block, r.k - k0);
    const uint8_t s = quant(r.x.data() + k0, n, codes.data());
    if (s != r.scales[size_t(g)]) {
      bad.add("row ", row_index, " (", r.kind, ") block ", g, ": scale ", h8(s), ", want ", h8(r.scales[size_t(g)]));
    }
    for (int i = 0; i < n; ++i) {
      const size_t k = size_t(k0 + i);
      if (codes[size_t(i)] != r.codes[k]) {
        bad.add("row ", row_index, " (", r.kind, ") k ", k, " x ", h8(f32_bits(r.x[k])), ": code ",
                h8(codes[size_t(i)]), ", want ", h8(r.codes[k]));
      }
      const uint32_t y = f32_bits(decoded(s, codes[size_t(i)]));
      if (y != r.y[k]) bad.add("row ", row_index, " (", r.kind, ") k ", k, ": decoded ", h8(y), ", want ", h8(r.y[k]));
    }
  }
}

float row_amax(const Row& r) {
  float a = 0.0f;
  for (float v : r.x) a = std::max(a, std::fabs(v));
  return a;
}

TEST(BlockVectors, Mx) {
  const VectorFile f = load("block_mx.txt");
  ASSERT_TRUE(f.error.empty()) << f.error;
  expect_counts(f, {"row"});
  const std::vector<Row> rows = parse_rows(f, false);
  ASSERT_EQ(long(rows.size()), f.counts.at("row"));
  Mismatches bad(f.path);
  std::set<std::string> kinds;
  bool partial = false;
  const MxElement all[] = {MxElement::kFp8E4M3, MxElement::kFp8E5M2, MxElement::kFp6E3M2,
                           MxElement::kFp6E2M3, MxElement::kFp4E2M1, MxElement::kInt8};
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    const MxElement* e = std::find_if(std::begin(all), std::end(all),
                                      [&](MxElement m) { return r.kind == lsgemm::block_fp::mx_name(m); });
    ASSERT_NE(e, std::end(all)) << "unknown MX element " << r.kind;
    EXPECT_EQ(r.block, 32);
    kinds.insert(r.kind);
    partial |= r.k % r.block != 0;
    check_row(
        r, bad, i, [&](const float* v, int n, uint8_t* c) { return lsgemm::block_fp::quantize_mx_block(*e, v, n, c); },
        [&](uint8_t s, uint8_t c) { return lsgemm::e8m0_to_f32(s) * lsgemm::block_fp::mx_element_to_f32(*e, c); });
  }
  EXPECT_EQ(kinds.size(), 6u) << "every MX element needs rows";
  EXPECT_TRUE(partial) << "no row ends in a partial block";
}

TEST(BlockVectors, Nvfp4) {
  const VectorFile f = load("block_nvfp4.txt");
  ASSERT_TRUE(f.error.empty()) << f.error;
  expect_counts(f, {"row"});
  const std::vector<Row> rows = parse_rows(f, true);
  ASSERT_EQ(long(rows.size()), f.counts.at("row"));
  Mismatches bad(f.path);
  bool partial = false;
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    ASSERT_EQ(r.kind, "nvfp4");
    EXPECT_EQ(r.block, 16);
    partial |= r.k % r.block != 0;
    const float ts = lsgemm::block_fp::nvfp4_tensor_scale(row_amax(r));
    if (f32_bits(ts) != r.ts) bad.add("row ", i, ": tensor scale ", h8(f32_bits(ts)), ", want ", h8(r.ts));
    check_row(
        r, bad, i,
        [&](const float* v, int n, uint8_t* c) { return lsgemm::block_fp::quantize_nvfp4_block(v, n, ts, c); },
        [&](uint8_t s, uint8_t c) {
          return (ts * lsgemm::minifloat_to_f32(MiniFloat::kE4M3, s)) * lsgemm::minifloat_to_f32(MiniFloat::kE2M1, c);
        });
  }
  EXPECT_TRUE(partial) << "no row ends in a partial block";
}

TEST(BlockVectors, Bfp) {
  const VectorFile f = load("block_bfp.txt");
  ASSERT_TRUE(f.error.empty()) << f.error;
  expect_counts(f, {"row"});
  const std::vector<Row> rows = parse_rows(f, false);
  ASSERT_EQ(long(rows.size()), f.counts.at("row"));
  Mismatches bad(f.path);
  std::set<std::pair<int, int>> combos;  // (m, block)
  bool partial = false;
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    ASSERT_EQ(r.kind.substr(0, 3), "bfp");
    const int m = std::stoi(r.kind.substr(3));
    combos.insert({m, r.block});
    partial |= r.k % r.block != 0;
    check_row(
        r, bad, i, [&](const float* v, int n, uint8_t* c) { return lsgemm::block_fp::quantize_bfp_block(m, v, n, c); },
        [&](uint8_t s, uint8_t c) { return lsgemm::e8m0_to_f32(s) * lsgemm::block_fp::bfp_mantissa_to_f32(m, c); });
  }
  for (int m = 3; m <= 8; ++m) {
    for (int b : {8, 16, 32, 64}) EXPECT_TRUE(combos.count({m, b})) << "no rows for bfp m=" << m << " block " << b;
  }
  EXPECT_TRUE(partial) << "no row ends in a partial block";
}

// ---------------------------------------------------------------------------------------
// Hand-worked cases

uint8_t sat(MiniFloat f, float x) { return lsgemm::f32_to_minifloat_sat(f, x); }
uint8_t cast(MiniFloat f, float x) { return lsgemm::f32_to_minifloat(f, x); }

TEST(MiniFloatByHand, E2M1) {
  // E2M1 magnitudes {0, 0.5, 1, 1.5, 2, 3, 4, 6} are codes 0..7.
  EXPECT_EQ(sat(MiniFloat::kE2M1, 2.5f), 0x4);    // tie 2 (0.10.0) / 3 (0.10.1): even mantissa, 2
  EXPECT_EQ(sat(MiniFloat::kE2M1, 5.0f), 0x6);    // tie 4 (0.11.0) / 6 (0.11.1): 4
  EXPECT_EQ(sat(MiniFloat::kE2M1, 0.25f), 0x0);   // tie 0 / 0.5 (0.00.1, odd): 0
  EXPECT_EQ(sat(MiniFloat::kE2M1, 0.75f), 0x2);   // tie 0.5 (M = 1) / 1.0 (0.01.0): 1.0
  EXPECT_EQ(sat(MiniFloat::kE2M1, 7.0f), 0x7);    // tie 6 / "8" past the top: saturates to 6
  EXPECT_EQ(sat(MiniFloat::kE2M1, -1e30f), 0xF);  // -6
  EXPECT_EQ(cast(MiniFloat::kE2M1, 1e30f), 0x7);  // FP4 has no Inf: astype clamps too
  EXPECT_EQ(sat(MiniFloat::kE2M1, -0.0f), 0x8);   // -0 keeps its sign
  EXPECT_EQ(sat(MiniFloat::kE2M1, -0.1f), 0x8);   // rounds to zero, sign kept
  // NaN: the zero of the opposite sign (ml_dtypes' stand-in), in both modes.
  EXPECT_EQ(sat(MiniFloat::kE2M1, f32_from_bits(0x7FC00000u)), 0x8);
  EXPECT_EQ(cast(MiniFloat::kE2M1, f32_from_bits(0xFFC00000u)), 0x0);
  EXPECT_EQ(lsgemm::minifloat_to_f32(MiniFloat::kE2M1, 0xD), -3.0f);  // 1.10.1 = -1.5 * 2
  EXPECT_EQ(lsgemm::minifloat_to_f32(MiniFloat::kE2M1, 0x1), 0.5f);   // subnormal 0.1b * 2^0
}

TEST(MiniFloatByHand, Fp8) {
  // E4M3: 448 = 1.110b * 2^8 (0x7E); 480 would be 0x7F, the NaN code; 464 is their midpoint.
  EXPECT_EQ(sat(MiniFloat::kE4M3, 464.0f), 0x7E);  // tie: 0x7E has the even mantissa
  EXPECT_EQ(cast(MiniFloat::kE4M3, 464.0f), 0x7E);
  const float above = f32_from_bits(f32_bits(464.0f) + 1);
  EXPECT_EQ(sat(MiniFloat::kE4M3, above), 0x7E);   // saturates
  EXPECT_EQ(cast(MiniFloat::kE4M3, above), 0x7F);  // ml_dtypes: overflow is NaN
  EXPECT_EQ(cast(MiniFloat::kE4M3, -INFINITY), 0xFF);
  EXPECT_EQ(sat(MiniFloat::kE4M3, -INFINITY), 0xFE);                   // -448
  EXPECT_EQ(sat(MiniFloat::kE4M3, 0x1p-10f), 0x00);                    // half the smallest subnormal 2^-9: tie to 0
  EXPECT_EQ(sat(MiniFloat::kE4M3, 3 * 0x1p-10f), 0x02);                // 1.5 steps of 2^-9: tie to 2
  EXPECT_EQ(sat(MiniFloat::kE4M3, 0x1p-149f), 0x00);                   // an f32 subnormal
  EXPECT_EQ(sat(MiniFloat::kE4M3, f32_from_bits(0xFFC00000u)), 0xFF);  // -NaN: S.1111.111
  // E5M2: 57344 = 1.11b * 2^15 (0x7B); 61440 ties 57344 with 65536 (0x7C, Inf): even wins.
  EXPECT_EQ(sat(MiniFloat::kE5M2, 61440.0f), 0x7B);
  EXPECT_EQ(cast(MiniFloat::kE5M2, 61440.0f), 0x7C);
  EXPECT_EQ(cast(MiniFloat::kE5M2, 61439.996f), 0x7B);
  EXPECT_EQ(sat(MiniFloat::kE5M2, f32_from_bits(0x7F800001u)), 0x7E);  // any NaN: S.11111.10
  EXPECT_EQ(sat(MiniFloat::kE5M2, 0x1p-17f), 0x00);                    // half of 2^-16: tie to 0
  EXPECT_TRUE(std::isinf(lsgemm::minifloat_to_f32(MiniFloat::kE5M2, 0xFC)));
  EXPECT_TRUE(std::isnan(lsgemm::minifloat_to_f32(MiniFloat::kE5M2, 0x7D)));
  EXPECT_TRUE(std::isnan(lsgemm::minifloat_to_f32(MiniFloat::kE4M3, 0x7F)));
  EXPECT_EQ(lsgemm::minifloat_to_f32(MiniFloat::kE4M3, 0x7E), 448.0f);
  EXPECT_EQ(lsgemm::minifloat_to_f32(MiniFloat::kE5M2, 0x01), 0x1p-16f);  // 0.01b * 2^-14
}

TEST(MiniFloatByHand, E8m0AndFloorLog2) {
  EXPECT_EQ(f32_bits(lsgemm::e8m0_to_f32(0)), 0x00400000u);  // 2^-127: 2^22 * 2^-149
  EXPECT_EQ(lsgemm::e8m0_to_f32(127), 1.0f);
  EXPECT_EQ(lsgemm::e8m0_to_f32(254), 0x1p127f);
  EXPECT_TRUE(std::isnan(lsgemm::e8m0_to_f32(255)));
  EXPECT_EQ(lsgemm::e8m0_from_exponent(-200), 0);
  EXPECT_EQ(lsgemm::e8m0_from_exponent(200), 254);  // never 0xFF
  EXPECT_EQ(lsgemm::e8m0_from_exponent(0), 127);
  EXPECT_EQ(lsgemm::e8m0_from_exponent(-2147483647 - 1), 0);  // no overflow in se + 127
  EXPECT_EQ(lsgemm::e8m0_from_exponent(2147483647), 254);
  EXPECT_EQ(lsgemm::floor_log2(1.0f), 0);
  EXPECT_EQ(lsgemm::floor_log2(0.75f), -1);
  EXPECT_EQ(lsgemm::floor_log2(-8.5f), 3);  // the sign is ignored
  EXPECT_EQ(lsgemm::floor_log2(0x1p-126f), -126);
  EXPECT_EQ(lsgemm::floor_log2(f32_from_bits(0x007FFFFFu)), -127);  // largest subnormal
  EXPECT_EQ(lsgemm::floor_log2(0x1p-149f), -149);
  EXPECT_EQ(lsgemm::floor_log2(f32_from_bits(0x7F7FFFFFu)), 127);
}

TEST(BlockByHand, MxFp4AndInt8) {
  uint8_t c[4];
  // amax 7.9: floor(log2 7.9) = 2, se = 2 - emax(2) = 0, scale byte 127 (2^0).
  const float fp4[4] = {7.9f, 0.1f, -5.0f, 2.5f};
  EXPECT_EQ(lsgemm::block_fp::quantize_mx_block(MxElement::kFp4E2M1, fp4, 4, c), 127);
  EXPECT_EQ(c[0], 0x7);  // 7.9 saturates to 6 (by design of the FLOOR rule)
  EXPECT_EQ(c[1], 0x0);  // 0.1 < 0.25: 0
  EXPECT_EQ(c[2], 0xE);  // -5: tie 4 / 6, -4 (1.11.0)
  EXPECT_EQ(c[3], 0x4);  // 2.5: tie 2 / 3, 2
  // amax 1.999: se = 0 - 0; 1.999 * 64 = 127.936 rounds to 128, clamped to 127.
  const float i8[3] = {1.999f, -1.999f, 0.5f};
  EXPECT_EQ(lsgemm::block_fp::quantize_mx_block(MxElement::kInt8, i8, 3, c), 127);
  EXPECT_EQ(c[0], 0x7F);
  EXPECT_EQ(c[1], 0x81);  // -127, never -128
  EXPECT_EQ(c[2], 0x20);  // 0.5 * 64 = 32
  EXPECT_EQ(lsgemm::block_fp::mx_element_to_f32(MxElement::kInt8, 0x81), -127.0f / 64.0f);
  // amax 1e-40 (an f32 subnormal, floor(log2) = -133): se = -133 - 8 clamps to -127;
  // 1e-40 * 2^127 = 0.0170..., in E4M3 steps of 2^-9: 8.71 -> 9 (0x09).
  const float tiny[2] = {1e-40f, -0.0f};
  EXPECT_EQ(lsgemm::block_fp::quantize_mx_block(MxElement::kFp8E4M3, tiny, 2, c), 0);
  EXPECT_EQ(c[0], 0x09);
  EXPECT_EQ(c[1], 0x80);  // -0 in a non-zero block keeps its sign
  // All zeros: scale byte 0, codes +0 whatever the sign.
  const float zeros[2] = {-0.0f, 0.0f};
  c[0] = c[1] = 0xAA;
  EXPECT_EQ(lsgemm::block_fp::quantize_mx_block(MxElement::kFp8E5M2, zeros, 2, c), 0);
  EXPECT_EQ(c[0], 0);
  EXPECT_EQ(c[1], 0);
  EXPECT_EQ(lsgemm::block_fp::mx_emax(MxElement::kFp6E3M2), 4);
  EXPECT_EQ(lsgemm::block_fp::mx_bits(MxElement::kFp6E2M3), 6);
}

TEST(BlockByHand, BfpAndNvfp4) {
  uint8_t c[5];
  // m = 4, amax 3: se = 1, unit 2^(1 - 2) = 0.5, |mant| <= 7.
  const float b[5] = {3.0f, 0.25f, -1.0f, 0.75f, -3.9f};
  // -3.9 is the amax then: floor(log2 3.9) = 1 too. 3 / 0.5 = 6; 0.5 ties to 0; -2 -> 0b1110;
  // 1.5 ties to 2; -7.8 rounds to -8 and clamps to -7 -> 0b1001.
  EXPECT_EQ(lsgemm::block_fp::quantize_bfp_block(4, b, 5, c), 128);
  EXPECT_EQ(c[0], 0x6);
  EXPECT_EQ(c[1], 0x0);
  EXPECT_EQ(c[2], 0xE);
  EXPECT_EQ(c[3], 0x2);
  EXPECT_EQ(c[4], 0x9);
  // -7 * 2^-(4 - 2) = -1.75, times the block's 2^(128 - 127) = 2: -3.5 = -7 * 0.5.
  EXPECT_EQ(lsgemm::block_fp::bfp_mantissa_to_f32(4, 0x9), -1.75f);
  EXPECT_EQ(lsgemm::e8m0_to_f32(128) * lsgemm::block_fp::bfp_mantissa_to_f32(4, 0x9), -3.5f);
  // NVFP4: amax_tensor 2688 gives ts = 1; block amax 6: bs = e4m3(1.0) = 0x38, dec = 1.
  const float ts = lsgemm::block_fp::nvfp4_tensor_scale(2688.0f);
  EXPECT_EQ(ts, 1.0f);
  const float nv[4] = {6.0f, 3.0f, -0.75f, 5.0f};
  EXPECT_EQ(lsgemm::block_fp::quantize_nvfp4_block(nv, 4, ts, c), 0x38);
  EXPECT_EQ(c[0], 0x7);
  EXPECT_EQ(c[1], 0x5);
  EXPECT_EQ(c[2], 0xA);  // -0.75: tie 0.5 / 1, -1
  EXPECT_EQ(c[3], 0x6);  // 5: tie 4 / 6, 4
  EXPECT_EQ(lsgemm::block_fp::nvfp4_tensor_scale(0.0f), 1.0f);
  EXPECT_EQ(lsgemm::block_fp::nvfp4_tensor_scale(0x1p-149f), 1.0f);  // 2^-149 / 2688 underflows
}

TEST(BlockByHand, BadArguments) {
  float v[2] = {1.0f, 2.0f};
  uint8_t c[2];
  EXPECT_THROW(lsgemm::block_fp::quantize_bfp_block(2, v, 2, c), lsgemm::Error);
  EXPECT_THROW(lsgemm::block_fp::quantize_bfp_block(9, v, 2, c), lsgemm::Error);
  EXPECT_THROW(lsgemm::block_fp::quantize_mx_block(MxElement::kInt8, v, -1, c), lsgemm::Error);
  EXPECT_THROW(lsgemm::block_fp::quantize_mx_block(MxElement(17), v, 2, c), lsgemm::Error);
  EXPECT_THROW(lsgemm::block_fp::quantize_nvfp4_block(v, 2, 0.0f, c), lsgemm::Error);
  EXPECT_THROW(lsgemm::block_fp::quantize_nvfp4_block(v, 2, INFINITY, c), lsgemm::Error);
  EXPECT_THROW(lsgemm::minifloat_info(MiniFloat(9)), lsgemm::Error);
  EXPECT_EQ(lsgemm::block_fp::quantize_mx_block(MxElement::kInt8, v, 0, c), 0);  // empty block
}

// ---------------------------------------------------------------------------------------
// Properties over many f32 values

// Every finite code decodes and encodes back to itself in both modes; NaN codes decode to
// NaN and encode to the format's NaN code.
TEST(MiniFloatProperties, RoundTripEveryCode) {
  for (MiniFloat f : kFormats) {
    const lsgemm::MiniFloatInfo fi = lsgemm::minifloat_info(f);
    for (uint32_t code = 0; code < (1u << fi.bits); ++code) {
      const float v = lsgemm::minifloat_to_f32(f, code);
      if (std::isnan(v)) {
        EXPECT_TRUE(fi.has_nan) << fi.name;
        EXPECT_EQ(sat(f, v) & 0x7F, fi.has_inf ? 0x7E : 0x7F) << fi.name << " code " << code;
        continue;
      }
      if (std::isinf(v)) {
        EXPECT_EQ(cast(f, v), code) << fi.name;
        continue;
      }
      EXPECT_EQ(sat(f, v), code) << fi.name << " code " << code;
      EXPECT_EQ(cast(f, v), code) << fi.name << " code " << code;
    }
  }
}

// Over every 1024th positive f32 (Inf excluded): the saturating code never decreases as
// x grows, and its value is a nearest one (no neighbouring code is closer).
TEST(MiniFloatProperties, MonotoneAndNearest) {
  for (MiniFloat f : kFormats) {
    const lsgemm::MiniFloatInfo fi = lsgemm::minifloat_info(f);
    const uint32_t max_code = lsgemm::detail::minifloat_max_code(fi);
    uint32_t prev = 0;
    long bad = 0;
    for (uint32_t u = 0; u < 0x7F800000u; u += 1024) {
      const float x = f32_from_bits(u);
      const uint32_t code = sat(f, x);
      if (code < prev) ++bad;
      prev = code;
      if (code < max_code && x <= fi.max_normal) {
        const double d = std::fabs(double(lsgemm::minifloat_to_f32(f, code)) - x);
        const double up = std::fabs(double(lsgemm::minifloat_to_f32(f, code + 1)) - x);
        const double down = code ? std::fabs(double(lsgemm::minifloat_to_f32(f, code - 1)) - x) : d;
        if (d > up || d > down) ++bad;
      }
    }
    EXPECT_EQ(bad, 0) << fi.name;
  }
}

}  // namespace
