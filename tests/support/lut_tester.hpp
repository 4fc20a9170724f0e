#pragma once
// The lut tester: data generators, shape classes derived from the kernels' tile
// constants, the derived tolerances, and the checks against both oracles.
// Plain header (compiled once per test binary): the per-target test bodies
// (tests/lut_test-inl.h) pass their kernels in as callables.
//
// Checks of one case (check_problem):
//  1. tables: the kernel's make_tables against lut::make_tables_reference, lo / hi /
//     scale bit for bit, xsum within the float-summation bound kb * eps * sum|x| (bit for
//     bit in the exact data class, where every xsum is an integer);
//  2. same tables, float epilogue only: the kernel's matmul(tables) against
//     reference::matmul on the reference's tables. Both sum the same exact integer block
//     sums; the kernel adds 2 float terms per block (S*scale*isum and C*xsum) plus bias and
//     accumulate, each with a couple of roundings, where the reference accumulates in
//     double and rounds once. Recursive summation of T terms errs by at most
//     T * eps/2 * sum|terms| (Higham's gamma_T, first order), so
//        |Y - Y_ref| <= 2 * (blocks + 4) * FLT_EPSILON * magnitude,
//     magnitude = reference::matmul_magnitude + |bias| + |Y_in| (accumulate). The exact
//     data class must match bit for bit;
//  3. one call: matmul(X) equals matmul(make_tables(X)) of the same kernel bit for bit,
//     and the reference within bound 2 plus sum_b |C| * |xsum_kernel - xsum_ref| (the
//     measured table difference);
//  4. second oracle: dequantize_to_vector(w), then a double product with X. The LUT
//     formula differs from it by the activation rounding, bounded per output by
//       exact mode: |x - sx * xq| <= sx * (1/2 + 1e-4) per element (sx = amax/127 per X
//                   block; 1e-4 covers the float rounding of 127/amax, x*inv and sx), and
//                   <= |x| < kTinyAmax in a zero block (sx = 0, core/act_quant.hpp), so
//                   sum_k |w_k| * (sx_b(k) * (1/2 + 1e-4) + kTinyAmax), plus |C| * eps *
//                   |xsum| per block;
//       fast mode:  each looked-up entry e of a table with scale ts is off the float sum
//                   T by <= ts * (1/2 + 1e-4) (entry 0 is exactly 0), and T off the exact
//                   sum by <= eps * sum|x| over its 4 (3) activations; a block adds S *
//                   sum over lookups of 2^i e (planes) or +-e (triples), so
//                   |S| * sum_{lookups, index != 0} 2^i * (ts/2 (1 + 2e-4) + kTinyAmax + eps *
//                   sum|x|) (all-zero tables, ts = 0, when max |T| < kTinyAmax),
//                   plus |C| * kb * eps * sum|x| for xsum's float sum;
//     plus the weights' float rounding in dequantize, eps * sum_k (|S c_k| + |C|) |x_k|,
//     plus bound 2. The exact data class must equal float(double product) bit for bit.
//  Y outside the M x N view (ldy padding, rows past M) must be untouched, and the
//  reference output of non-zero data must not be all zero.
#include <gtest/gtest.h>

#include <Eigen/Core>
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "lsgemm/core/act_quant.hpp"
#include "lsgemm/core/epilogue.hpp"
#include "lsgemm/core/matrix.hpp"
#include "lsgemm/lut/format.hpp"
#include "lsgemm/lut/reference.hpp"

namespace lsgemm {
namespace test {

// The kernels under test (one SIMD target) and the tile constants that shape classes
// are derived from.
struct LutKernels {
  const char* target = "";
  int64_t lanes = 16;  // L = min(16, f32 lanes): rows per strip; tasks own 2L rows
  std::function<void(HostView<const float>, const lut::TableSpec&, lut::Tables&)> make_tables;
  std::function<void(const lut::Tables&, const lut::LutMatrix&, HostView<float>, const Epilogue&)> matmul_tables;
  std::function<void(HostView<const float>, const lut::LutMatrix&, HostView<float>, const Epilogue&)> matmul;
};

enum class LutData { kNormal, kExact, kZeroX, kZeroW, kConstant, kOutliers };
inline const char* lut_data_name(LutData d) {
  switch (d) {
    case LutData::kNormal: return "normal";
    case LutData::kExact: return "exact";
    case LutData::kZeroX: return "zero-X";
    case LutData::kZeroW: return "zero-W";
    case LutData::kConstant: return "constant";
    case LutData::kOutliers: return "outliers";
  }
  return "?";
}

inline std::string lut_group_name(int g) {
  if (g == lut::kPerChannel) return "per-channel";
  if (g == lut::kPerTensor) return "per-tensor";
  return std::to_string(g);
}

inline std::string describe_options(const lut::PackOptions& o) {
  std::ostringstream os;
  os << lut::weight_kind_name(o.kind);
  if (o.kind == lut::WeightKind::kUniform) os << " bits=" << o.bits << (o.symmetric ? " sym" : " asym");
  os << " group=" << lut_group_name(o.group) << " tables=" << lut::table_mode_name(o.tables);
  return os.str();
}

struct LutCase {
  std::string cls = "";
  int64_t m = 1, n = 16, k = 128;
  lut::PackOptions opt;
  int64_t ldx_pad = 0, ldy_pad = 0;
  bool bias = false, accumulate = false;
  LutData data = LutData::kNormal;
  uint64_t seed = 1;

  std::string describe(const LutKernels& kern) const {
    std::ostringstream os;
    os << "[" << kern.target << "] class=" << cls << " M=" << m << " N=" << n << " K=" << k << " "
       << describe_options(opt) << " ldx=K+" << ldx_pad << " ldy=N+" << ldy_pad << (bias ? " bias" : "")
       << (accumulate ? " accumulate" : "") << " data=" << lut_data_name(data) << " seed=" << seed
       << " tile(L=" << kern.lanes << ", strip pair=" << 2 * kern.lanes << " rows, X rows 4 then 1)";
    return os.str();
  }
};

// Every weight kind the format has, with each of its groups.
inline std::vector<lut::PackOptions> all_weight_kinds(lut::TableMode mode) {
  std::vector<lut::PackOptions> v;
  for (int bits : {1, 2, 3, 4})
    for (bool sym : {false, true})
      for (int g : {32, 64, 128, 256, lut::kPerChannel})
        v.push_back(lut::PackOptions().with_bits(bits).with_symmetric(sym).with_group(g).with_tables(mode));
  for (int g : {32, 64, 128, 256, lut::kPerChannel, lut::kPerTensor})
    v.push_back(lut::PackOptions::ternary(lut::WeightKind::kTernaryPlanes, g).with_tables(mode));
  for (int g : {lut::kPerChannel, lut::kPerTensor})
    v.push_back(lut::PackOptions::ternary(lut::WeightKind::kTernaryTriples, g).with_tables(mode));
  return v;
}

// A few kinds that cover the three table layouts (g=4 block 64, g=4 block 32, g=3 block
// 48), both offsets, 1..4 planes and both ternary layouts: the shape classes run these.
inline std::vector<lut::PackOptions> layout_kinds(lut::TableMode mode) {
  return {
      lut::PackOptions().with_bits(2).with_group(64).with_tables(mode),
      lut::PackOptions().with_bits(3).with_group(32).with_symmetric(true).with_tables(mode),
      lut::PackOptions::ternary(lut::WeightKind::kTernaryTriples, lut::kPerTensor).with_tables(mode),
      lut::PackOptions().with_bits(4).with_group(lut::kPerChannel).with_tables(mode),
      lut::PackOptions::ternary(lut::WeightKind::kTernaryPlanes, 128).with_tables(mode),
      lut::PackOptions().with_bits(1).with_group(256).with_symmetric(true).with_tables(mode),
  };
}

// ---------------------------------------------------------------------------------
// Data generators.

// Length of the scale groups pack() will use along K (per-channel / per-tensor: all of K).
inline int64_t group_len(const lut::PackOptions& o, int64_t k) { return o.group > 0 ? o.group : k; }

// The exact class: every weight is representable (pack reproduces W bit for bit), every
// scale a power of two (2^-5 or 2^-4), every offset a multiple of 2^-5, so every product
// and partial sum of the epilogue is a multiple of kExactUnit; with X exact as well
// (make_activations) the kernels must agree bit for bit. check_problem asserts the
// precondition that every output's term magnitude stays below 2^24 units.
inline constexpr double kExactUnit = 1.0 / 32;

inline std::vector<float> make_lut_weights(const LutCase& c, std::mt19937_64& rng) {
  std::vector<float> W(size_t(c.n * c.k), 0.0f);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const lut::PackOptions& o = c.opt;
  switch (c.data) {
    case LutData::kZeroW: return W;
    case LutData::kConstant:
      std::fill(W.begin(), W.end(), 0.25f);
      return W;
    case LutData::kExact: break;
    default:
      for (auto& v : W) v = nd(rng);
      return W;
  }
  const int64_t G = group_len(o, c.k);
  std::uniform_int_distribution<int> coin(0, 1), tri(-1, 1), off(-16, 16);
  const float tensor_scale = coin(rng) ? 1.0f / 32 : 1.0f / 16;
  for (int64_t r = 0; r < c.n; ++r) {
    const float row_scale = coin(rng) ? 1.0f / 32 : 1.0f / 16;
    for (int64_t g0 = 0; g0 < c.k; g0 += G) {
      const int64_t g1 = std::min(c.k, g0 + G);
      float s = coin(rng) ? 1.0f / 32 : 1.0f / 16;
      if (o.group == lut::kPerTensor) s = tensor_scale;
      if (o.group == lut::kPerChannel) s = row_scale;
      if (o.kind == lut::WeightKind::kUniform) {
        const int qmax = (1 << o.bits) - 1;
        std::uniform_int_distribution<int> qd(0, qmax);
        const float m = float(off(rng)) / 32.0f;
        for (int64_t k = g0; k < g1; ++k) {
          int q = qd(rng);
          if (k == g0) q = o.symmetric ? qmax * coin(rng) : 0;  // pins the scale
          if (k == g0 + 1) q = qmax;                            // pins the range (asym)
          W[size_t(r * c.k + k)] = o.symmetric ? s * float(2 * q - qmax) : s * float(q) + m;
        }
      } else {
        for (int64_t k = g0; k < g1; ++k) {
          int t = tri(rng);
          if (k == g0) t = coin(rng) ? 1 : -1;  // a non-zero per group pins the scale
          W[size_t(r * c.k + k)] = s * float(t);
        }
      }
    }
  }
  return W;
}

// Activations, M x ldx; the ld gap is poisoned with NaN (a kernel that reads it shows).
//  outliers: a few columns (k % 97 == 3) 100x larger;
//  exact:    integers with +-127 at every k % 16 == 0 (every X block of 32, 48 or 64 holds
//            one). Exact mode: the rest uniform in [-127, 127], so amax = 127, sx = 1 and the
//            int8 quantization is lossless. Fast mode: the rest in [-31, 31] and zero next
//            to each 127 (k % 16 in {1, 2, 3, 14, 15}, its sub-table of 4 and its triple),
//            so every table block's max |T| is 127, the table scale 1 and every entry exact.
inline std::vector<float> make_lut_activations(const LutCase& c, int64_t ldx, std::mt19937_64& rng) {
  std::vector<float> X(size_t(std::max<int64_t>(c.m, 1) * ldx), std::numeric_limits<float>::quiet_NaN());
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const bool fast = c.opt.tables == lut::TableMode::kFast;
  std::uniform_int_distribution<int> id(fast ? -31 : -127, fast ? 31 : 127), coin(0, 1);
  for (int64_t r = 0; r < c.m; ++r)
    for (int64_t k = 0; k < c.k; ++k) {
      float v;
      switch (c.data) {
        case LutData::kZeroX: v = 0.0f; break;
        case LutData::kConstant: v = 0.5f; break;
        case LutData::kOutliers: v = (k % 97 == 3) ? 100.0f * nd(rng) : nd(rng); break;
        case LutData::kExact: {
          const int64_t p = k % 16;
          if (p == 0) v = coin(rng) ? 127.0f : -127.0f;
          else if (fast && (p <= 3 || p >= 14)) v = 0.0f;
          else v = float(id(rng));
          break;
        }
        default: v = nd(rng);
      }
      X[size_t(r * ldx + k)] = v;
    }
  return X;
}

// One case's inputs.
struct LutProblem {
  LutCase c;
  int64_t ldx = 0, ldy = 0;
  std::vector<float> W, X, bias, Y0;
  HostView<const float> Xv() const { return HostView<const float>(X.data(), c.m, c.k, ldx); }
};

inline LutProblem make_problem(const LutCase& c) {
  LutProblem p;
  p.c = c;
  p.ldx = c.k + c.ldx_pad;
  p.ldy = c.n + c.ldy_pad;
  // Separate streams: X, bias and Y do not depend on the weight kind (so layouts can be
  // compared on the same X).
  std::mt19937_64 rng(c.seed), rng_x(c.seed * 0x9E3779B97F4A7C15ull + 1), rng_e(c.seed + 0x5851F42D4C957F2Dull);
  p.W = make_lut_weights(c, rng);
  p.X = make_lut_activations(c, p.ldx, rng_x);
  // Bias and the initial Y (kept by accumulate; a sentinel otherwise). Exact class:
  // multiples of 1/8, so the epilogue stays exact.
  rng = rng_e;
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::uniform_int_distribution<int> id(-64, 64);
  auto gen = [&] { return c.data == LutData::kExact ? float(id(rng)) / 8.0f : nd(rng); };
  p.bias.resize(size_t(c.n));
  for (auto& b : p.bias) b = gen();
  p.Y0.resize(size_t((c.m + 1) * p.ldy));  // one row past M: must stay untouched
  for (auto& v : p.Y0) v = gen();
  return p;
}

// ---------------------------------------------------------------------------------
// Tables.

// The xsum bound of one block of one row: the kernel may sum in another order.
inline double xsum_tolerance(const lut::Tables& ref, HostView<const float> X, int64_t m, int64_t b) {
  const int64_t kb = ref.spec.block;
  double a = 0.0;
  for (int64_t c = b * kb; c < std::min(ref.spec.k, (b + 1) * kb); ++c) a += std::fabs(double(X(m, c)));
  return double(kb) * double(FLT_EPSILON) * a;
}

// The kernel's tables against the reference's: lo, hi, scale bit for bit; xsum within
// xsum_tolerance (bit for bit when `exact_xsum`). Reports the first difference.
inline ::testing::AssertionResult tables_match(const lut::Tables& got, const lut::Tables& ref, HostView<const float> X,
                                               bool exact_xsum) {
  const lut::TableSpec& s = ref.spec;
  std::ostringstream where;
  where << " (tables g=" << s.g << " block=" << s.block << " mode=" << lut::table_mode_name(s.mode) << " K=" << s.k
        << " kp=" << s.kp << " M=" << ref.m << ")";
  if (got.m != ref.m || got.spec != ref.spec)
    return ::testing::AssertionFailure() << "tables m/spec differ: m=" << got.m << " g=" << got.spec.g
                                         << " block=" << got.spec.block << " kp=" << got.spec.kp << where.str();
  if (got.lo.size() != ref.lo.size() || got.hi.size() != ref.hi.size() || got.scale.size() != ref.scale.size() ||
      got.xsum.size() != ref.xsum.size())
    return ::testing::AssertionFailure() << "tables sizes differ: lo " << got.lo.size() << " vs " << ref.lo.size()
                                         << ", hi " << got.hi.size() << " vs " << ref.hi.size() << ", scale "
                                         << got.scale.size() << " vs " << ref.scale.size() << ", xsum "
                                         << got.xsum.size() << " vs " << ref.xsum.size() << where.str();
  const int64_t rb = s.row_bytes(), B = s.blocks();
  auto entry = [&](size_t i) {
    std::ostringstream os;
    const int64_t m = int64_t(i) / rb, r = int64_t(i) % rb;
    os << "row " << m << " segment " << r / 64 << " sub-table " << (r % 64) / 16 << " index " << r % 16 << " (X block "
       << (r / 64) * 4 * s.g / s.block << ")";
    return os.str();
  };
  for (size_t i = 0; i < ref.lo.size(); ++i)
    if (got.lo[i] != ref.lo[i])
      return ::testing::AssertionFailure() << "table lo byte differs at " << entry(i) << ": kernel " << int(got.lo[i])
                                           << " reference " << int(ref.lo[i]) << " (bit-exact required)" << where.str();
  for (size_t i = 0; i < ref.hi.size(); ++i)
    if (got.hi[i] != ref.hi[i])
      return ::testing::AssertionFailure() << "table hi byte differs at " << entry(i) << ": kernel " << int(got.hi[i])
                                           << " reference " << int(ref.hi[i]) << " (bit-exact required)" << where.str();
  for (size_t i = 0; i < ref.scale.size(); ++i) {
    uint32_t a, b;
    std::memcpy(&a, &got.scale[i], 4);
    std::memcpy(&b, &ref.scale[i], 4);
    if (a != b)
      return ::testing::AssertionFailure() << "table scale differs at row " << int64_t(i) / B << " block "
                                           << int64_t(i) % B << ": kernel " << got.scale[i] << " reference "
                                           << ref.scale[i] << " (bit-exact required)" << where.str();
  }
  for (size_t i = 0; i < ref.xsum.size(); ++i) {
    const int64_t m = int64_t(i) / B, b = int64_t(i) % B;
    const double tol = exact_xsum ? 0.0 : xsum_tolerance(ref, X, m, b);
    if (!(std::fabs(double(got.xsum[i]) - double(ref.xsum[i])) <= tol))
      return ::testing::AssertionFailure() << "table xsum differs at row " << m << " block " << b << ": kernel "
                                           << got.xsum[i] << " reference " << ref.xsum[i] << ", bound " << tol
                                           << (exact_xsum ? " (exact data: bit-exact)" : " = block * FLT_EPSILON * sum|x|")
                                           << where.str();
  }
  return ::testing::AssertionSuccess();
}

// ---------------------------------------------------------------------------------
// Bounds.

// Per (m, n): the second oracle's bound on |LUT formula - dequantized product| from the
// activation / table rounding (see the header comment), without the epilogue term.
inline std::vector<double> rounding_bound(const lut::Tables& t, const lut::LutMatrix& w, HostView<const float> X) {
  const lut::TableSpec& s = t.spec;
  const int64_t B = s.blocks(), kb = s.block, g = s.g;
  const double eps = double(FLT_EPSILON);
  std::vector<double> out(size_t(t.m * w.n), 0.0);
  for (int64_t n = 0; n < w.n; ++n) {
    // Per block: (S, C), and per sub-table the weight of its non-zero lookups.
    for (int64_t m = 0; m < t.m; ++m) {
      double bound = 0.0;
      for (int64_t b = 0; b < B; ++b) {
        float S, C;
        w.group_consts(n, b * kb / w.group, S, C);
        const double sc = double(t.scale[size_t(m * B + b)]);
        double asum = 0.0;
        for (int64_t c = b * kb; c < std::min(s.k, (b + 1) * kb); ++c) asum += std::fabs(double(X(m, c)));
        if (s.mode == lut::TableMode::kExact) {
          double wsum = 0.0;
          for (int64_t c = b * kb; c < std::min(s.k, (b + 1) * kb); ++c) wsum += std::fabs(double(w.weight(n, c)));
          // + kTinyAmax: a block with amax below it is a zero block (core/act_quant.hpp),
          // off by |x| < kTinyAmax per element, not by sx/2 (sx = 0 there).
          bound += wsum * (sc * (0.5 + 1e-4) + double(kTinyAmax)) + std::fabs(double(C)) * eps * std::fabs(double(t.xsum[size_t(m * B + b)]));
        } else {
          double blk = 0.0;
          for (int64_t c0 = b * kb; c0 < (b + 1) * kb; c0 += g) {
            double a = 0.0;
            for (int64_t c = c0; c < std::min(s.k, c0 + g); ++c) a += std::fabs(double(X(m, c)));
            double lookups = 0.0;
            if (g == 3) {
              const int v = 9 * w.code(n, c0) + 3 * w.code(n, c0 + 1) + w.code(n, c0 + 2);
              lookups = v != 0 ? 1.0 : 0.0;
            } else {
              for (int i = 0; i < w.bits; ++i) {
                int p = 0;
                for (int u = 0; u < 4; ++u) p |= ((w.code(n, c0 + u) >> i) & 1) << u;
                if (p) lookups += double(1 << i);
              }
            }
            blk += lookups * (sc * (0.5 + 1e-4) + double(kTinyAmax) + eps * a);  // zero tables: |T| < kTinyAmax
          }
          bound += std::fabs(double(S)) * blk + std::fabs(double(C)) * double(kb) * eps * asum;
        }
      }
      out[size_t(m * w.n + n)] = bound;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------
// One case.

struct LutResult {
  std::vector<float> Y;         // the kernel's one-call output (ldy layout, M + 1 rows)
  std::vector<double> expect;   // the second oracle per (m, n): dequantized product in double + epilogue
  std::vector<double> bound;    // |Y - expect| bound per (m, n)
};

// Runs `p` against the packed `w` (which must pack p.W with p.c.opt); see the header.
inline LutResult check_problem(const LutProblem& p, const lut::LutMatrix& w, const LutKernels& kern) {
  const LutCase& c = p.c;
  LutResult res;
  const HostView<const float> Xv = p.Xv();
  const bool exact = c.data == LutData::kExact;
  const double eps = double(FLT_EPSILON);
  const lut::TableSpec spec = w.table_spec();
  const int64_t B = spec.blocks(), ldy = p.ldy;
  Epilogue epi;
  epi.bias = c.bias ? p.bias.data() : nullptr;
  epi.accumulate = c.accumulate;
  auto Yview = [&](std::vector<float>& y) { return HostView<float>(y.data(), c.m, c.n, ldy); };

  // 1. Tables.
  const lut::Tables tr = lut::make_tables_reference(Xv, spec);
  lut::Tables tk;
  kern.make_tables(Xv, spec, tk);
  EXPECT_TRUE(tables_match(tk, tr, Xv, exact));
  if (::testing::Test::HasFailure()) return res;

  // 2. Same (reference) tables: only the float epilogue differs.
  std::vector<float> Yt = p.Y0, Yr = p.Y0, Yx = p.Y0, Ykt = p.Y0;
  kern.matmul_tables(tr, w, Yview(Yt), epi);
  reference::matmul(tr, w, Yview(Yr), epi);
  const std::vector<double> mag = reference::matmul_magnitude(tr, w);
  const double terms = 2.0 * (double(B) + 4.0);
  auto extra = [&](int64_t m, int64_t n) {
    return (c.bias ? std::fabs(double(p.bias[size_t(n)])) : 0.0) +
           (c.accumulate ? std::fabs(double(p.Y0[size_t(m * ldy + n)])) : 0.0);
  };
  auto epi_tol = [&](int64_t m, int64_t n) { return terms * eps * (mag[size_t(m * c.n + n)] + extra(m, n)); };
  if (exact)  // precondition of the exact class (a tester bug if it fails)
    for (int64_t m = 0; m < c.m; ++m)
      for (int64_t n = 0; n < c.n; ++n)
        if (!((mag[size_t(m * c.n + n)] + extra(m, n)) / kExactUnit < 16777216.0)) {
          ADD_FAILURE() << "exact-class precondition violated at Y(" << m << "," << n << "): magnitude "
                        << mag[size_t(m * c.n + n)] << " is not below 2^24 units of " << kExactUnit;
          return res;
        }
  int64_t nonzero = 0, nonzero_mag = 0;
  for (double v : mag) nonzero_mag += v != 0.0;
  for (int64_t m = 0; m <= c.m; ++m)
    for (int64_t n = 0; n < ldy; ++n) {
      const size_t i = size_t(m * ldy + n);
      if (m == c.m || n >= c.n) {
        if (std::memcmp(&Yt[i], &p.Y0[i], 4) != 0) {
          ADD_FAILURE() << "matmul(tables) wrote outside Y (M x N) at row " << m << " col " << n;
          return res;
        }
        continue;
      }
      if (Yr[i] != 0.0f) ++nonzero;
      const double tol = exact ? 0.0 : epi_tol(m, n);
      if (!(std::fabs(double(Yt[i]) - double(Yr[i])) <= tol) || (exact && std::memcmp(&Yt[i], &Yr[i], 4) != 0)) {
        ADD_FAILURE() << "matmul(reference tables) vs reference::matmul at Y(" << m << "," << n << "): kernel "
                      << Yt[i] << " reference " << Yr[i] << " diff " << double(Yt[i]) - double(Yr[i]) << "; bound "
                      << (exact ? std::string("0 (exact data class: bit-exact)")
                                : std::to_string(tol) + " = 2*(blocks " + std::to_string(B) +
                                      " + 4) * FLT_EPSILON * magnitude " +
                                      std::to_string(mag[size_t(m * c.n + n)] + extra(m, n)));
        return res;
      }
    }
  // No vacuous passes: non-zero data gives a non-zero reference answer.
  if (c.m > 0 && c.data != LutData::kZeroX && c.data != LutData::kZeroW) {
    EXPECT_GT(nonzero_mag, 0) << "the product's terms are all zero for non-zero data";
    if (!c.bias && !c.accumulate) EXPECT_GT(nonzero, 0) << "reference output is all zero for non-zero data";
  }

  // 3. One call, and the kernel's own tables.
  kern.matmul(Xv, w, Yview(Yx), epi);
  kern.matmul_tables(tk, w, Yview(Ykt), epi);
  for (size_t i = 0; i < Yx.size(); ++i)
    if (std::memcmp(&Yx[i], &Ykt[i], 4) != 0) {
      ADD_FAILURE() << "matmul(X) and matmul(make_tables(X)) differ at Y(" << int64_t(i) / ldy << ","
                    << int64_t(i) % ldy << "): " << Yx[i] << " vs " << Ykt[i] << " (must be bit-identical)";
      return res;
    }
  for (int64_t m = 0; m <= c.m; ++m)
    for (int64_t n = 0; n < ldy; ++n) {
      const size_t i = size_t(m * ldy + n);
      if (m == c.m || n >= c.n) {
        if (std::memcmp(&Yx[i], &p.Y0[i], 4) != 0) {
          ADD_FAILURE() << "matmul(X) wrote outside Y (M x N) at row " << m << " col " << n;
          return res;
        }
        continue;
      }
      double xdiff = 0.0;  // the kernel's xsum may differ by summation order
      for (int64_t b = 0; b < B; ++b) {
        float S, C;
        w.group_consts(n, b * spec.block / w.group, S, C);
        xdiff += std::fabs(double(C)) * std::fabs(double(tk.xsum[size_t(m * B + b)]) - double(tr.xsum[size_t(m * B + b)]));
      }
      const double tol = exact ? 0.0 : epi_tol(m, n) + 2.0 * xdiff;
      if (!(std::fabs(double(Yx[i]) - double(Yr[i])) <= tol) || (exact && std::memcmp(&Yx[i], &Yr[i], 4) != 0)) {
        ADD_FAILURE() << "matmul(X) vs reference::matmul at Y(" << m << "," << n << "): kernel " << Yx[i]
                      << " reference " << Yr[i] << " diff " << double(Yx[i]) - double(Yr[i]) << "; bound "
                      << (exact ? std::string("0 (exact data class: bit-exact)")
                                : std::to_string(tol) + " = 2*(blocks + 4) * FLT_EPSILON * magnitude + 2 * sum|C dxsum|");
        return res;
      }
    }

  // 4. Second oracle: dequantize, then a double product.
  res.Y = Yx;
  res.expect.assign(size_t(c.m * c.n), 0.0);
  res.bound.assign(size_t(c.m * c.n), 0.0);
  if (c.m == 0) return res;
  const std::vector<float> Wd = lut::dequantize_to_vector(w);
  Eigen::MatrixXd Xd(c.m, c.k), Wdd(c.n, c.k), Wround(c.n, c.k);
  for (int64_t m = 0; m < c.m; ++m)
    for (int64_t k = 0; k < c.k; ++k) Xd(m, k) = double(Xv(m, k));
  for (int64_t n = 0; n < c.n; ++n)
    for (int64_t k = 0; k < c.k; ++k) {
      Wdd(n, k) = double(Wd[size_t(n * c.k + k)]);
      float S, C;
      w.group_consts(n, k / w.group, S, C);
      Wround(n, k) = eps * (std::fabs(double(S) * double(w.code(n, k))) + std::fabs(double(C)));
    }
  const Eigen::MatrixXd Yd = Xd * Wdd.transpose();
  const Eigen::MatrixXd Ywr = Xd.cwiseAbs() * Wround.transpose();
  const std::vector<double> rb = rounding_bound(tr, w, Xv);
  for (int64_t m = 0; m < c.m; ++m)
    for (int64_t n = 0; n < c.n; ++n) {
      const size_t i = size_t(m * ldy + n), o = size_t(m * c.n + n);
      const double expect = Yd(m, n) + (c.bias ? double(p.bias[size_t(n)]) : 0.0) +
                            (c.accumulate ? double(p.Y0[i]) : 0.0);
      res.expect[o] = expect;
      if (exact) {
        res.bound[o] = 0.0;
        if (std::memcmp(&Yx[i], &Yr[i], 4) != 0 || Yx[i] != float(expect)) {
          ADD_FAILURE() << "second oracle (dequantize + double product), exact data class, at Y(" << m << "," << n
                        << "): kernel " << Yx[i] << " expected " << float(expect) << " (bit-exact)";
          return res;
        }
        continue;
      }
      const double tol = rb[o] + Ywr(m, n) + 2.0 * epi_tol(m, n) + 1e-12 * mag[o] + 1e-30;
      res.bound[o] = tol;
      if (!(std::fabs(double(Yx[i]) - expect) <= tol)) {
        ADD_FAILURE() << "second oracle (dequantize + double product) at Y(" << m << "," << n << "): kernel "
                      << Yx[i] << " expected " << expect << " diff " << double(Yx[i]) - expect << "; bound " << tol
                      << " = " << (spec.mode == lut::TableMode::kExact ? "X-quantization " : "table-rounding ")
                      << rb[o] << " + weight rounding " << Ywr(m, n) << " + 2 * epilogue " << epi_tol(m, n);
        return res;
      }
    }
  return res;
}

// Packs the case's W (checking that the exact class packs losslessly) and runs it.
inline LutResult run_case(const LutCase& c, const LutKernels& kern) {
  SCOPED_TRACE(c.describe(kern));
  const LutProblem p = make_problem(c);
  const lut::LutMatrix w = lut::pack(view<const float>(p.W.data(), c.n, c.k), c.opt);
  if (c.data == LutData::kExact) {
    const std::vector<float> Wd = lut::dequantize_to_vector(w);
    for (size_t i = 0; i < Wd.size(); ++i)
      if (Wd[i] != p.W[i]) {
        ADD_FAILURE() << "exact class: pack does not reproduce W at (" << int64_t(i) / c.k << "," << int64_t(i) % c.k
                      << "): " << p.W[i] << " -> " << Wd[i] << " (tester precondition)";
        return {};
      }
  }
  return check_problem(p, w, kern);
}

// ---------------------------------------------------------------------------------
// Shape classes from the tile constants: strips of L rows and task pairs of 2L, X row
// tiles of 4 then 1, X blocks of 128 / 64 / 32 / 48 and K padded to them.

inline std::vector<LutCase> lut_shape_classes(const LutKernels& kern, lut::TableMode mode) {
  std::vector<LutCase> cs;
  const std::vector<lut::PackOptions> kinds = layout_kinds(mode);
  const int64_t L = kern.lanes;
  uint64_t seed = 5000;
  auto add = [&](const std::string& cls, int64_t m, int64_t n, int64_t k, const lut::PackOptions& o) {
    LutCase c;
    c.cls = cls;
    c.m = m;
    c.n = n;
    c.k = k;
    c.opt = o;
    c.seed = seed++;
    cs.push_back(c);
  };
  size_t ki = 0;
  auto next_kind = [&] { return kinds[ki++ % kinds.size()]; };
  // M around the row tiles (4, then 1): every remainder, one and two full tiles, 17.
  for (int64_t m : {1, 2, 3, 4, 5, 8, 9, 17})
    for (int r = 0; r < 2; ++r) add("M=" + std::to_string(m), m, 2 * L + 1, 200, next_kind());
  // N tails around a tile (16), a strip (L) and a strip pair (2L).
  for (int64_t n : {int64_t(1), int64_t(15), int64_t(16), int64_t(17), L - 1, L + 1, 2 * L - 1, 2 * L, 2 * L + 1,
                    int64_t(33), int64_t(47)})
    for (int64_t m : {1, 5})
      if (n >= 1) add("N=" + std::to_string(n), m, n, 129, next_kind());
  // K tails: not a multiple of 3, 4, 16, 24, 32, 48, 64, 128 or the group.
  for (int64_t k : {1, 5, 7, 31, 100, 129, 200})
    for (const auto& o : kinds) add("K=" + std::to_string(k), 3, 17, k, o);
  // K = one X block and one group, exactly.
  for (const auto& o : kinds) {
    const int64_t kb = o.kind == lut::WeightKind::kTernaryTriples ? 48
                       : o.group == 32 || o.group == 64           ? o.group
                                                                   : 128;  // LutMatrix::x_block()
    add("K=block", 4, 2 * L - 1, kb, o);
    add("K=group", 2, 2 * L + 1, o.group > 0 ? o.group : 256, o);
  }
  // BitNet b1.58 FFN-down (K = 8640, a multiple of 48 and 64), decode shape.
  add("K=8640", 1, 33, 8640, lut::PackOptions::ternary(lut::WeightKind::kTernaryTriples).with_tables(mode));
  add("K=8640", 1, 33, 8640, lut::PackOptions::ternary(lut::WeightKind::kTernaryPlanes).with_tables(mode));
  add("K=8640", 1, 33, 8640, lut::PackOptions().with_bits(2).with_group(128).with_tables(mode));
  // Strided views, and the epilogues.
  for (int64_t m : {1, 4, 9}) {
    add("strided", m, 2 * L + 3, 100, next_kind());
    cs.back().ldx_pad = 5 + m;
    cs.back().ldy_pad = 3;
  }
  for (int e = 0; e < 3; ++e)
    for (int64_t m : {1, 5}) {
      const char* names[] = {"bias", "accumulate", "bias+accumulate"};
      add(names[e], m, 2 * L + 1, 200, next_kind());
      cs.back().bias = e != 1;
      cs.back().accumulate = e != 0;
      cs.back().ldy_pad = e;
    }
  // Zero rows: a no-op that must not touch Y.
  for (const auto& o : kinds) add("M=0", 0, 17, 100, o);
  return cs;
}

// Counts the cases run per class: every class of a list must have run.
struct ClassCounter {
  std::map<std::string, int> ran;
  void add(const LutCase& c) { ++ran[c.cls]; }
  void expect_all_ran(const std::vector<LutCase>& cs) const {
    for (const LutCase& c : cs) {
      const auto it = ran.find(c.cls);
      EXPECT_TRUE(it != ran.end() && it->second > 0) << "shape class " << c.cls << " did not run";
    }
  }
};

// Normalized mean squared error of the kernel's output against the second oracle.
inline double nmse(const LutResult& r, int64_t m, int64_t n, int64_t ldy) {
  double num = 0.0, den = 0.0;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const double e = r.expect[size_t(i * n + j)];
      const double d = double(r.Y[size_t(i * ldy + j)]) - e;
      num += d * d;
      den += e * e;
    }
  return den > 0.0 ? num / den : 0.0;
}

}  // namespace test
}  // namespace lsgemm
