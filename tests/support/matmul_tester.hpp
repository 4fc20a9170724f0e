#pragma once
// The matmul tester shared by every weight family (int_quant, lut; block-FP or sparse
// next). A family plugs in with a traits struct F that names what differs:
//
//   using Options, Weights, Kernels      pack options, packed weights, the kernels of one
//                                        SIMD target with the constants shapes derive from
//                                        (Kernels::target: the target's name)
//   describe_options(Options), describe_tile(Kernels)      case descriptions
//   make_weights(Case, rng), make_activations(Case, ldx, rng)   data generators
//   pack(Problem), dequantize(Weights)
//   check_reference(Problem, Weights, Kernels, Epilogue, Checked&)
//        the family's kernel call(s) against its reference oracle, each with its own
//        tolerance (bit for bit in the exact data class), using compare_outputs() below;
//        false when it reported a failure
//   oracle_bounds(Problem, Weights, Checked, Xd, Wd) -> OracleBound
//        the bound of |kernel - second oracle| per output, and its terms in words
//   kExactSecondOracle                   exact data must equal float(double product)
//
// Written once here: the case and its description, the problem (X with a poisoned ld
// gap, bias, Y with ldy padding and a row past M), the checks that Y outside M x N is
// untouched, the guard that non-zero data gives a non-zero reference answer, the second
// oracle (dequantize_to_vector, then an Eigen product in double), the run loop, the
// path-coverage assertion, the rows derived from thresholds and path rules, and the
// bad-input helper (support/error_of.hpp: a throwing call leaves Y bit for bit).
#include <gtest/gtest.h>

#include <Eigen/Core>
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <limits>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "lsgemm/core/epilogue.hpp"
#include "lsgemm/core/matrix.hpp"
#include "lsgemm/core/path.hpp"
#include "support/error_of.hpp"

namespace lsgemm {
namespace test {

// Data classes of every family. "exact": values the format holds exactly and integer
// activations, so every intermediate is exact in f32 and kernels must agree bit for bit.
enum class Data { kNormal, kExact, kZeroX, kZeroW, kConstant, kOutliers };
inline const char* data_name(Data d) {
  switch (d) {
    case Data::kNormal: return "normal";
    case Data::kExact: return "exact";
    case Data::kZeroX: return "zero-X";
    case Data::kZeroW: return "zero-W";
    case Data::kConstant: return "constant";
    case Data::kOutliers: return "outliers";
  }
  return "?";
}

template <class Options>
struct MatmulCase {
  std::string cls;
  int64_t m = 1, n = 16, k = 128;
  Options opt;
  int64_t ldx_pad = 0, ldy_pad = 0;
  bool bias = false, accumulate = false;
  // Epilogue::alpha. Powers of two with |alpha| <= 1 only: alpha * sum is then exact in
  // float and in the reference's double, and scales the error as it scales the result,
  // so the families' bounds (and the exact class) hold unchanged.
  float alpha = 1.0f;
  Data data = Data::kNormal;
  uint64_t seed = 1;
};

template <class F>
std::string describe(const MatmulCase<typename F::Options>& c, const typename F::Kernels& kern) {
  std::ostringstream os;
  os << "[" << kern.target << "] class=" << c.cls << " M=" << c.m << " N=" << c.n << " K=" << c.k << " "
     << F::describe_options(c.opt) << " ldx=K+" << c.ldx_pad << " ldy=N+" << c.ldy_pad << (c.bias ? " bias" : "")
 << (c.accumulate ? " accumulate" : "") << (c.alpha != 1.0f ? " alpha=" + std::to_string(c.alpha) : std::string())
     << " data=" << data_name(c.data) << " seed=" << c.seed << " "
     << F::describe_tile(kern);
  return os.str();
}

// One case's inputs. Y0 holds one row past M and ldy - N columns past N: the kernel must
// leave both as they are.
template <class F>
struct Problem {
  MatmulCase<typename F::Options> c;
  int64_t ldx = 0, ldy = 0;
  std::vector<float> W, X, bias, Y0;
  HostView<const float> Xv() const { return HostView<const float>(X.data(), c.m, c.k, ldx); }
  HostView<float> Yv(std::vector<float>& y) const { return HostView<float>(y.data(), c.m, c.n, ldy); }
  Epilogue epilogue() const {
    Epilogue e;
    e.bias = c.bias ? bias.data() : nullptr;
    e.accumulate = c.accumulate;
    e.alpha = c.alpha;
    return e;
  }
  // |bias| + |Y_in|: the epilogue's share of an output's magnitude.
  double extra(int64_t m, int64_t n) const {
    return (c.bias ? std::fabs(double(bias[size_t(n)])) : 0.0) +
           (c.accumulate ? std::fabs(double(Y0[size_t(m * ldy + n)])) : 0.0);
  }
};

template <class F>
Problem<F> make_problem(const MatmulCase<typename F::Options>& c) {
  Problem<F> p;
  p.c = c;
  p.ldx = c.k + c.ldx_pad;
  p.ldy = c.n + c.ldy_pad;
  // Separate streams: X, bias and Y do not depend on the weights' options (so layouts
  // of one family can be compared on the same X).
  std::mt19937_64 rng(c.seed), rng_x(c.seed * 0x9E3779B97F4A7C15ull + 1), rng_e(c.seed + 0x5851F42D4C957F2Dull);
  p.W = F::make_weights(c, rng);
  p.X = F::make_activations(c, p.ldx, rng_x);
  // Exact class: multiples of 1/8, so the epilogue stays exact.
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::uniform_int_distribution<int> id(-64, 64);
  auto gen = [&] { return c.data == Data::kExact ? float(id(rng_e)) / 8.0f : nd(rng_e); };
  p.bias.resize(size_t(c.n));
  for (auto& b : p.bias) b = gen();
  p.Y0.resize(size_t((c.m + 1) * p.ldy));
  for (auto& v : p.Y0) v = gen();
  return p;
}

// What a family's check_reference hands on: the kernel's one-call output (ldy layout,
// M + 1 rows), the reference's, and family-specific data for its oracle bound.
template <class Extra>
struct Checked {
  std::vector<float> Y, Yr;
  Extra extra;
};

// X of a case, M x ldx, the ld gap poisoned with NaN, by data class: zero-X 0, constant
// 0.5, exact small integers in [-15, 15] (exact products and sums with the families'
// exact weights), otherwise normal. Families with their own exact or outlier rules
// write their own.
template <class Case>
std::vector<float> plain_activations(const Case& c, int64_t ldx, std::mt19937_64& rng) {
  std::vector<float> X(size_t(std::max<int64_t>(c.m, 1) * ldx), std::numeric_limits<float>::quiet_NaN());
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::uniform_int_distribution<int> id(-15, 15);
  for (int64_t r = 0; r < c.m; ++r)
    for (int64_t k = 0; k < c.k; ++k)
      X[size_t(r * ldx + k)] = c.data == Data::kZeroX      ? 0.0f
                               : c.data == Data::kConstant ? 0.5f
                               : c.data == Data::kExact    ? float(id(rng))
                                                           : nd(rng);
  return X;
}

// Result of one case: the kernel's output, the second oracle and its bound per (m, n).
struct Result {
  std::vector<float> Y;
  std::vector<double> expect, bound;
};

struct OracleBound {
  std::vector<double> tol;                                 // per (m, n), row-major M x N
  std::function<std::string(int64_t, int64_t)> explain;   // its terms in words
};

// A kernel's Y against the reference's: inside M x N within tol(m, n) (bit for bit when
// `exact`), outside (ldy padding, the row past M) bit for bit equal to Y0. Reports the
// first difference with explain(m, n) (the bound in words) and returns false.
template <class Tol, class Explain>
bool compare_outputs(const char* what, const std::vector<float>& Y, const std::vector<float>& Yr,
                     const std::vector<float>& Y0, int64_t M, int64_t N, int64_t ldy, bool exact, Tol tol,
                     Explain explain) {
  for (int64_t m = 0; m <= M; ++m)
    for (int64_t n = 0; n < ldy; ++n) {
      const size_t i = size_t(m * ldy + n);
      if (m == M || n >= N) {
        if (std::memcmp(&Y[i], &Y0[i], 4) != 0) {
          ADD_FAILURE() << what << " wrote outside Y (M x N) at row " << m << " col " << n;
          return false;
        }
        continue;
      }
      const double t = exact ? 0.0 : tol(m, n);
      if (!(std::fabs(double(Y[i]) - double(Yr[i])) <= t) || (exact && std::memcmp(&Y[i], &Yr[i], 4) != 0)) {
        ADD_FAILURE() << what << " at Y(" << m << "," << n << "): kernel " << Y[i] << " reference " << Yr[i]
                      << " diff " << double(Y[i]) - double(Yr[i]) << "; bound "
                      << (exact ? std::string("0 (exact data class: bit-exact)") : std::to_string(t) + " = " + explain(m, n));
        return false;
      }
    }
  return true;
}

// The usual check_reference comparison: the kernel's Y (chk.Y) against the reference's
// (chk.Yr) within chk.extra.terms * FLT_EPSILON * (chk.extra.mag + the epilogue's share)
// per output, recursive summation of that many float terms (Higham's gamma, first
// order); bit for bit when `exact`. Families whose Checked::Extra has `mag` and `terms`.
template <class F>
bool compare_within_rounding(const Problem<F>& p, const typename F::Checked& chk, bool exact) {
  const auto& c = p.c;
  const auto& e = chk.extra;
  return compare_outputs(
      "kernel vs reference::matmul", chk.Y, chk.Yr, p.Y0, c.m, c.n, p.ldy, exact,
      [&](int64_t m, int64_t n) {
        return e.terms * double(FLT_EPSILON) * (e.mag[size_t(m * c.n + n)] + p.extra(m, n)) + 1e-30;
      },
      [&](int64_t m, int64_t n) {
        return std::to_string(e.terms) + " terms * FLT_EPSILON * magnitude " +
               std::to_string(e.mag[size_t(m * c.n + n)] + p.extra(m, n));
      });
}

// Int8-activation modes, second oracle: the most X's quantization (nearest, per group of
// `group` columns, scale amax / 127) can move output (r, n) of the double product with
// the dequantized W: sum over groups of amax / 127 / 2 * sum |w| (+1e-5 relative slack),
// over the columns k < K with !skip(k) (e.g. LLM.int8() outliers, kept in float).
template <class Skip>
double int8_x_quantization_bound(const Eigen::MatrixXd& Xd, const Eigen::MatrixXd& Wd, int64_t r, int64_t n,
                                 int64_t K, int64_t group, const Skip& skip) {
  double q = 0.0;
  for (int64_t k0 = 0; k0 < K; k0 += group) {
    double amax = 0.0, wsum = 0.0;
    for (int64_t k = k0; k < std::min(K, k0 + group); ++k) {
      if (skip(k)) continue;
      amax = std::max(amax, std::fabs(Xd(r, k)));
      wsum += std::fabs(Wd(n, k));
    }
    q += amax / 127.0 / 2.0 * wsum * (1.0 + 1e-5);
  }
  return q;
}

// Runs the checks of one case on the packed `w` (which packs p.W with p.c.opt):
//  1. the family's kernel call(s) against its reference oracle (F::check_reference);
//  2. no vacuous pass: the product's terms (`magnitude`) and, without an epilogue that
//     adds its own non-zeros, the reference output are not all zero for non-zero data;
//  3. the second oracle: dequantize_to_vector(w), then an Eigen product in double, plus
//     the epilogue; within F::oracle_bounds (bit for bit, float(double product), in the
//     exact class when F::kExactSecondOracle).
template <class F>
Result check_problem(const Problem<F>& p, const typename F::Weights& w, const typename F::Kernels& kern) {
  const auto& c = p.c;
  Result res;
  typename F::Checked chk;
  if (!F::check_reference(p, w, kern, p.epilogue(), chk)) return res;
  if (c.m > 0 && c.data != Data::kZeroX && c.data != Data::kZeroW) {
    int64_t nonzero = 0, nonzero_mag = 0;
    for (double v : chk.extra.mag) nonzero_mag += v != 0.0;
    for (int64_t m = 0; m < c.m; ++m)
      for (int64_t n = 0; n < c.n; ++n) nonzero += chk.Yr[size_t(m * p.ldy + n)] != 0.0f;
    EXPECT_GT(nonzero_mag, 0) << "the product's terms are all zero for non-zero data";
    if (!c.bias && !c.accumulate) {
      EXPECT_GT(nonzero, 0) << "reference output is all zero for non-zero data";
    }
    if (::testing::Test::HasFailure()) return res;
  }
  res.Y = chk.Y;
  res.expect.assign(size_t(c.m * c.n), 0.0);
  res.bound.assign(size_t(c.m * c.n), 0.0);
  if (c.m == 0) return res;
  const std::vector<float> Wv = F::dequantize(w);
  Eigen::MatrixXd Xd(c.m, c.k), Wd(c.n, c.k);
  for (int64_t m = 0; m < c.m; ++m)
    for (int64_t k = 0; k < c.k; ++k) Xd(m, k) = double(p.X[size_t(m * p.ldx + k)]);
  for (int64_t n = 0; n < c.n; ++n)
    for (int64_t k = 0; k < c.k; ++k) Wd(n, k) = double(Wv[size_t(n * c.k + k)]);
  const Eigen::MatrixXd Yd = Xd * Wd.transpose();
  const bool exact = c.data == Data::kExact && F::kExactSecondOracle;
  const OracleBound ob = exact ? OracleBound{} : F::oracle_bounds(p, w, chk, Xd, Wd);
  for (int64_t m = 0; m < c.m; ++m)
    for (int64_t n = 0; n < c.n; ++n) {
      const size_t i = size_t(m * p.ldy + n), o = size_t(m * c.n + n);
      const double expect = double(c.alpha) * Yd(m, n) + (c.bias ? double(p.bias[size_t(n)]) : 0.0) +
                            (c.accumulate ? double(p.Y0[i]) : 0.0);
      res.expect[o] = expect;
      const float y = chk.Y[i];
      if (exact) {
        if (y != float(expect)) {
          ADD_FAILURE() << "second oracle (dequantize + double product), exact data class, at Y(" << m << "," << n
                        << "): kernel " << y << " expected " << float(expect) << " (bit-exact)";
          return res;
        }
        continue;
      }
      res.bound[o] = ob.tol[o];
      if (!(std::fabs(double(y) - expect) <= ob.tol[o])) {
        ADD_FAILURE() << "second oracle (dequantize + double product) at Y(" << m << "," << n << "): kernel " << y
                      << " expected " << expect << " diff " << double(y) - expect << "; bound " << ob.tol[o] << " = "
                      << ob.explain(m, n);
        return res;
      }
    }
  return res;
}

// Packs the case's W (the exact class must pack losslessly: a tester precondition) and
// runs check_problem.
template <class F>
Result run_case(const MatmulCase<typename F::Options>& c, const typename F::Kernels& kern) {
  SCOPED_TRACE(describe<F>(c, kern));
  const Problem<F> p = make_problem<F>(c);
  const typename F::Weights w = F::pack(p);
  if (c.data == Data::kExact) {
    const std::vector<float> Wd = F::dequantize(w);
    for (size_t i = 0; i < Wd.size(); ++i)
      if (Wd[i] != p.W[i]) {
        ADD_FAILURE() << "exact class: pack does not reproduce W at (" << int64_t(i) / c.k << "," << int64_t(i) % c.k
                      << "): " << p.W[i] << " -> " << Wd[i] << " (tester precondition)";
        return {};
      }
  }
  return check_problem<F>(p, w, kern);
}

// Runs every case, stopping at the first failure (one failure, one report).
template <class F>
void run_cases(const std::vector<MatmulCase<typename F::Options>>& cases, const typename F::Kernels& kern) {
  for (const auto& c : cases) {
    run_case<F>(c, kern);
    if (::testing::Test::HasFailure()) return;
  }
}

// ---------------------------------------------------------------------------------
// Shapes from the kernels' own constants.

// Rows of X next to each threshold t (t - 1, t, t + 1; none below 1), sorted, unique: a
// new threshold brings its own shapes.
inline std::vector<int64_t> rows_around(std::initializer_list<int64_t> thresholds) {
  std::set<int64_t> s;
  for (int64_t t : thresholds)
    for (int64_t m : {t - 1, t, t + 1})
      if (m >= 1) s.insert(m);
  return {s.begin(), s.end()};
}

// The edges of every rule's row range: min_rows, and max_rows - 1 when it is finite.
inline std::vector<int64_t> rule_edge_rows(const std::vector<PathRule>& rules) {
  std::set<int64_t> s;
  for (const PathRule& r : rules) {
    s.insert(std::max<int64_t>(1, r.min_rows));
    if (r.max_rows != kAnyRows && r.max_rows - 1 >= 1) s.insert(r.max_rows - 1);
  }
  return {s.begin(), s.end()};
}

// Sorted union of row lists.
inline std::vector<int64_t> merge_rows(std::initializer_list<std::vector<int64_t>> lists) {
  std::set<int64_t> s;
  for (const auto& l : lists) s.insert(l.begin(), l.end());
  return {s.begin(), s.end()};
}

// ---------------------------------------------------------------------------------
// Which paths ran (core/path.hpp). Call reset_paths_taken() before the shapes and this
// after them, in one test function: every rule of this target's `rules` whose path is
// one of `paths` (the mode under test, and the family's reference path for targets
// without kernels) must have been taken. A shape list that misses a path fails here,
// naming it.
inline void expect_paths_taken(const std::vector<PathRule>& rules, std::initializer_list<Path> paths,
                               const char* target) {
  int64_t wanted = 0;
  for (const PathRule& r : rules) {
    if (std::find(paths.begin(), paths.end(), r.path) == paths.end()) continue;
    ++wanted;
    EXPECT_TRUE(path_taken(r.path)) << "[" << target << "] path " << path_name(r.path)
                                    << " was not taken by any shape; its rule: rows ["
                                    << r.min_rows << ", "
                                    << (r.max_rows == kAnyRows ? std::string("any") : std::to_string(r.max_rows))
                                    << ") when " << r.when;
  }
  EXPECT_GT(wanted, 0) << "[" << target << "] no rule of this target's path_rules() belongs to the mode under test";
}

}  // namespace test
}  // namespace lsgemm
