#pragma once
// The lut family of the matmul tester (support/matmul_tester.hpp): data generators,
// the table checks, the derived tolerances, and the shape classes derived from the
// kernels' constants. Plain header (compiled once per test binary): the per-target test
// bodies (tests/lut_test_cases.hpp) pass their kernels and constants in.
//
// Checks of one case (check_problem; 1-3 here, LutFamily::check_reference, the rest shared):
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
//  reference output of non-zero data must not be all zero (both shared).
#include <gtest/gtest.h>

#include <Eigen/Core>
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "lsgemm/core/act_quant.hpp"
#include "lsgemm/core/epilogue.hpp"
#include "lsgemm/core/matrix.hpp"
#include "lsgemm/core/path.hpp"
#include "lsgemm/lut/format.hpp"
#include "lsgemm/lut/reference.hpp"
#include "support/matmul_tester.hpp"

namespace lsgemm {
namespace test {

// The kernels of one SIMD target and the constants their shape classes derive from.
struct LutKernels {
  const char* target = "";
  int64_t lanes = 16;  // L = min(16, f32 lanes): rows per strip; tasks own 2L rows
  int64_t mr = 4;      // kMR: fast-table row tile, and the GEMV/GEMM switch
  int64_t mr_exact = 2;                  // kMRExact: the same for exact tables
  int64_t unpacked_rows[5] = {0, 4, 4, 4, 4};  // min_rows_unpacked(bits), bits 1..4
  int64_t table_chunk_bytes = 512 * 1024;      // kTableChunkBytes: GEMM K chunk of tables
  int64_t m_block = 960;                       // rows per M block of the u8 GEMM skeleton (kMBlockU8)
  std::vector<PathRule> rules;                 // this target's path_rules()
  std::function<void(HostView<const float>, const lut::TableSpec&, lut::Tables&)> make_tables;
  std::function<void(const lut::Tables&, const lut::LutMatrix&, HostView<float>, const Epilogue&)> matmul_tables;
  std::function<void(HostView<const float>, const lut::LutMatrix&, HostView<float>, const Epilogue&)> matmul;
};
// The kernels of the target under test (tests/kernels/lut_kernels.cc).
LutKernels lut_kernels();

using LutData = Data;
using LutCase = MatmulCase<lut::PackOptions>;

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
// The family's traits for the matmul tester.

struct LutFamily {
  using Options = lut::PackOptions;
  using Weights = lut::LutMatrix;
  using Kernels = LutKernels;
  using Case = LutCase;
  struct Extra {
    lut::Tables tr;            // the reference's tables
    std::vector<double> mag;   // reference::matmul_magnitude on them
    double terms = 0.0;        // 2 * (blocks + 4)
  };
  using Checked = test::Checked<Extra>;
  static constexpr bool kExactSecondOracle = true;

  static std::string describe_options(const Options& o) { return test::describe_options(o); }
  static std::string describe_tile(const Kernels& k) {
    return "tile(L=" + std::to_string(k.lanes) + ", strip pair=" + std::to_string(2 * k.lanes) + " rows, X rows " +
           std::to_string(k.mr) + " (exact " + std::to_string(k.mr_exact) + ") then 1)";
  }
  static std::vector<float> make_weights(const Case& c, std::mt19937_64& rng) { return make_lut_weights(c, rng); }
  static std::vector<float> make_activations(const Case& c, int64_t ldx, std::mt19937_64& rng) {
    return make_lut_activations(c, ldx, rng);
  }
  static Weights pack(const Problem<LutFamily>& p) {
    return lut::pack(view<const float>(p.W.data(), p.c.n, p.c.k), p.c.opt);
  }
  static std::vector<float> dequantize(const Weights& w) { return lut::dequantize_to_vector(w); }

  // Checks 1-3 of the header: tables, the same tables through the float epilogue, one
  // call against the kernel's own tables and the reference.
  static bool check_reference(const Problem<LutFamily>& p, const Weights& w, const Kernels& kern,
                              const Epilogue& epi, Checked& chk) {
    const LutCase& c = p.c;
    const HostView<const float> Xv = p.Xv();
    const bool exact = c.data == LutData::kExact;
    const double eps = double(FLT_EPSILON);
    const lut::TableSpec spec = w.table_spec();
    const int64_t B = spec.blocks();
    Extra& e = chk.extra;

    // 1. Tables.
    e.tr = lut::make_tables_reference(Xv, spec);
    lut::Tables tk;
    kern.make_tables(Xv, spec, tk);
    EXPECT_TRUE(tables_match(tk, e.tr, Xv, exact));
    if (::testing::Test::HasFailure()) return false;

    // 2. Same (reference) tables: only the float epilogue differs.
    std::vector<float> Yt = p.Y0, Ykt = p.Y0;
    chk.Yr = p.Y0;
    chk.Y = p.Y0;
    kern.matmul_tables(e.tr, w, p.Yv(Yt), epi);
    reference::matmul(e.tr, w, p.Yv(chk.Yr), epi);
    e.mag = reference::matmul_magnitude(e.tr, w);
    e.terms = 2.0 * (double(B) + 4.0);
    auto epi_tol = [&](int64_t m, int64_t n) { return e.terms * eps * (e.mag[size_t(m * c.n + n)] + p.extra(m, n)); };
    if (exact)  // precondition of the exact class (a tester bug if it fails)
      for (int64_t m = 0; m < c.m; ++m)
        for (int64_t n = 0; n < c.n; ++n)
          if (!((e.mag[size_t(m * c.n + n)] + p.extra(m, n)) / kExactUnit < 16777216.0)) {
            ADD_FAILURE() << "exact-class precondition violated at Y(" << m << "," << n << "): magnitude "
                          << e.mag[size_t(m * c.n + n)] << " is not below 2^24 units of " << kExactUnit;
            return false;
          }
    if (!compare_outputs("matmul(reference tables) vs reference::matmul", Yt, chk.Yr, p.Y0, c.m, c.n, p.ldy, exact,
                         epi_tol, [&](int64_t m, int64_t n) {
                           return "2*(blocks " + std::to_string(B) + " + 4) * FLT_EPSILON * magnitude " +
                                  std::to_string(e.mag[size_t(m * c.n + n)] + p.extra(m, n));
                         }))
      return false;

    // 3. One call, and the kernel's own tables: bit-identical to each other; against
    // the reference within bound 2 plus 2 * sum_b |C| * |xsum_kernel - xsum_ref| (the
    // kernel's xsum may differ by summation order).
    kern.matmul(Xv, w, p.Yv(chk.Y), epi);
    kern.matmul_tables(tk, w, p.Yv(Ykt), epi);
    for (size_t i = 0; i < chk.Y.size(); ++i)
      if (std::memcmp(&chk.Y[i], &Ykt[i], 4) != 0) {
        ADD_FAILURE() << "matmul(X) and matmul(make_tables(X)) differ at Y(" << int64_t(i) / p.ldy << ","
                      << int64_t(i) % p.ldy << "): " << chk.Y[i] << " vs " << Ykt[i] << " (must be bit-identical)";
        return false;
      }
    auto xdiff = [&](int64_t m, int64_t n) {
      double d = 0.0;
      for (int64_t b = 0; b < B; ++b) {
        float S, C;
        w.group_consts(n, b * spec.block / w.group, S, C);
        d += std::fabs(double(C)) * std::fabs(double(tk.xsum[size_t(m * B + b)]) - double(e.tr.xsum[size_t(m * B + b)]));
      }
      return d;
    };
    return compare_outputs(
        "matmul(X) vs reference::matmul", chk.Y, chk.Yr, p.Y0, c.m, c.n, p.ldy, exact,
        [&](int64_t m, int64_t n) { return epi_tol(m, n) + 2.0 * xdiff(m, n); },
        [&](int64_t, int64_t) { return std::string("2*(blocks + 4) * FLT_EPSILON * magnitude + 2 * sum|C dxsum|"); });
  }

  // Check 4's bound: activation / table rounding + the weights' float rounding in
  // dequantize + twice the epilogue bound.
  static OracleBound oracle_bounds(const Problem<LutFamily>& p, const Weights& w, const Checked& chk,
                                   const Eigen::MatrixXd& Xd, const Eigen::MatrixXd&) {
    const LutCase& c = p.c;
    const double eps = double(FLT_EPSILON);
    Eigen::MatrixXd Wround(c.n, c.k);
    for (int64_t n = 0; n < c.n; ++n)
      for (int64_t k = 0; k < c.k; ++k) {
        float S, C;
        w.group_consts(n, k / w.group, S, C);
        Wround(n, k) = eps * (std::fabs(double(S) * double(w.code(n, k))) + std::fabs(double(C)));
      }
    auto Ywr = std::make_shared<Eigen::MatrixXd>(Xd.cwiseAbs() * Wround.transpose());
    auto rb = std::make_shared<std::vector<double>>(rounding_bound(chk.extra.tr, w, p.Xv()));
    auto epi = std::make_shared<std::vector<double>>(size_t(c.m * c.n));
    OracleBound b;
    b.tol.resize(size_t(c.m * c.n));
    for (int64_t m = 0; m < c.m; ++m)
      for (int64_t n = 0; n < c.n; ++n) {
        const size_t o = size_t(m * c.n + n);
        (*epi)[o] = chk.extra.terms * eps * (chk.extra.mag[o] + p.extra(m, n));
        b.tol[o] = (*rb)[o] + (*Ywr)(m, n) + 2.0 * (*epi)[o] + 1e-12 * chk.extra.mag[o] + 1e-30;
      }
    const char* what = c.opt.tables == lut::TableMode::kExact ? "X-quantization " : "table-rounding ";
    const int64_t N = c.n;
    b.explain = [=](int64_t m, int64_t n) {
      const size_t o = size_t(m * N + n);
      return what + std::to_string((*rb)[o]) + " + weight rounding " + std::to_string((*Ywr)(m, n)) +
             " + 2 * epilogue " + std::to_string((*epi)[o]);
    };
    return b;
  }
};

using LutProblem = Problem<LutFamily>;
using LutResult = Result;

inline LutResult run_case(const LutCase& c, const LutKernels& kern) { return run_case<LutFamily>(c, kern); }
inline LutResult check_problem(const LutProblem& p, const lut::LutMatrix& w, const LutKernels& kern) {
  return check_problem<LutFamily>(p, w, kern);
}
inline std::string describe(const LutCase& c, const LutKernels& kern) { return describe<LutFamily>(c, kern); }

// ---------------------------------------------------------------------------------
// Shapes from the kernels' constants.

// Rows of X for this target: 1, around each row tile (kMRExact, kMR: the GEMV/GEMM
// switches), two tiles and two plus the 1-row remainder, four plus one, and the edges
// of every path rule's row range (which bring min_rows_unpacked of each bit width).
inline std::vector<int64_t> lut_rows(const LutKernels& k) {
  return merge_rows({{1}, rows_around({k.mr_exact, k.mr}), {2 * k.mr, 2 * k.mr + 1, 4 * k.mr + 1}, rule_edge_rows(k.rules)});
}

// Shape classes: the rows above, each on two weight kinds; per bit width (and ternary
// planes) the rows around its min_rows_unpacked with a planes weight of that width, so
// the exact-mode unpacked GEMM and the lookups just below it both run; N tails around a
// tile (16), a strip (L) and a strip pair (2L); K tails and K = one X block or group; a
// K long enough that the GEMM's table chunk loop (kTableChunkBytes / (M * bytes per k))
// runs three chunks, the last one partial; strides and epilogues; M = 0.
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
  for (int64_t m : lut_rows(kern))
    for (int r = 0; r < 2; ++r) add("M=" + std::to_string(m), m, 2 * L + 1, 200, next_kind());
  using O = lut::PackOptions;
  for (int bits = 1; bits <= 4; ++bits)
    for (int64_t m : rows_around({kern.unpacked_rows[bits]}))
      add("M=unpacked(" + std::to_string(bits) + "-bit)" + std::to_string(m - kern.unpacked_rows[bits]), m, 2 * L + 1,
          200, O().with_bits(bits).with_group(bits % 2 ? 64 : 32).with_symmetric(bits > 2).with_tables(mode));
  for (int64_t m : rows_around({kern.unpacked_rows[2]}))
    add("M=unpacked(ternary planes)", m, 2 * L + 1, 200, O::ternary(lut::WeightKind::kTernaryPlanes, 128).with_tables(mode));
  // Two M blocks of the skeleton the unpacked path runs on (exact planes; in fast mode
  // the same rows take the LUT GEMM), the second with remainder tiles.
  add("M=m_block+13", kern.m_block + 13, 2 * L + 1, 136, O().with_bits(2).with_group(64).with_tables(mode));
  // N tails around a tile (16), a strip (L) and a strip pair (2L).
  for (int64_t n : {int64_t(1), int64_t(15), int64_t(16), int64_t(17), L - 1, L + 1, 2 * L - 1, 2 * L, 2 * L + 1,
                    int64_t(33), int64_t(47)})
    for (int64_t m : {int64_t(1), kern.mr + 1})
      if (n >= 1) add("N=" + std::to_string(n), m, n, 129, next_kind());
  // K tails: not a multiple of 3, 4, 16, 24, 32, 48, 64, 128 or the group.
  for (int64_t k : {1, 5, 7, 31, 100, 129, 200})
    for (const auto& o : kinds) add("K=" + std::to_string(k), 3, 17, k, o);
  // K = one X block and one group, exactly.
  for (const auto& o : kinds) {
    const int64_t kb = o.kind == lut::WeightKind::kTernaryTriples ? 48
                       : o.group == 32 || o.group == 64           ? o.group
                                                                   : 128;  // LutMatrix::x_block()
    add("K=block", kern.mr, 2 * L - 1, kb, o);
    add("K=group", 2, 2 * L + 1, o.group > 0 ? o.group : 256, o);
  }
  // The GEMM's K chunks: at M rows a chunk holds (kTableChunkBytes / (M * bytes per k)) /
  // block X blocks (bytes per k: 8 exact, 4 fast); K = two chunks and a partial third.
  {
    const int64_t M = 64, bpk = mode == lut::TableMode::kExact ? 8 : 4;
    for (const O& o : {O().with_bits(4).with_group(lut::kPerChannel).with_tables(mode),
                       O::ternary(lut::WeightKind::kTernaryTriples, lut::kPerTensor).with_tables(mode)}) {
      const int64_t block = o.kind == lut::WeightKind::kTernaryTriples ? 48 : 128;
      const int64_t chunk_k = std::max<int64_t>(1, (kern.table_chunk_bytes / (M * bpk)) / block) * block;
      add("K=table-chunks", M, 2 * L + 1, 2 * chunk_k + block / 2 + 1, o);
    }
  }
  // BitNet b1.58 FFN-down (K = 8640, a multiple of 48 and 64), decode shape.
  add("K=8640", 1, 33, 8640, O::ternary(lut::WeightKind::kTernaryTriples).with_tables(mode));
  add("K=8640", 1, 33, 8640, O::ternary(lut::WeightKind::kTernaryPlanes).with_tables(mode));
  add("K=8640", 1, 33, 8640, O().with_bits(2).with_group(128).with_tables(mode));
  // Strided views, and the epilogues.
  for (int64_t m : {int64_t(1), kern.mr, 2 * kern.mr + 1}) {
    add("strided", m, 2 * L + 3, 100, next_kind());
    cs.back().ldx_pad = 5 + m;
    cs.back().ldy_pad = 3;
  }
  for (int e = 0; e < 4; ++e)
    for (int64_t m : {int64_t(1), kern.mr + 1}) {
      const char* names[] = {"bias", "accumulate", "bias+accumulate", "alpha+bias+accumulate"};
      add(names[e], m, 2 * L + 1, 200, next_kind());
      cs.back().bias = e != 1;
      cs.back().accumulate = e != 0;
      cs.back().ldy_pad = e;
      if (e == 3) cs.back().alpha = -0.5f;  // a power of two: see MatmulCase::alpha
    }
  // Zero rows: a no-op that must not touch Y.
  for (const auto& o : kinds) add("M=0", 0, 17, 100, o);
  return cs;
}

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
