#pragma once
// The bitmap_sparse family of the matmul tester (support/matmul_tester.hpp): data
// generators, tolerances and shape classes. Plain header: the per-target test file passes
// its kernel and constants in.
#include <gtest/gtest.h>

#include <Eigen/Core>
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "lsgemm/bitmap_sparse/format.hpp"
#include "lsgemm/bitmap_sparse/reference.hpp"
#include "lsgemm/core/path.hpp"
#include "support/matmul_tester.hpp"

namespace lsgemm {
namespace test {

using bitmap_sparse::BitmapSparseMatrix;

// A case's options: the pack options and the fraction of W's entries made zero before
// packing (the sparsity the case tests; pack's own pruning is tested with opt.sparsity).
struct BsOptions {
  bitmap_sparse::PackOptions pack;
  double zeros = 0.8;
};

struct BitmapSparseKernels {
  const char* target = "";
  int64_t lanes = 16;
  int64_t gemm_min_rows = 8;
  std::vector<PathRule> rules;
  std::function<void(HostView<const float>, const BitmapSparseMatrix&, HostView<float>, const Epilogue&)> matmul;
};
// The kernels of the target under test (tests/kernels/bitmap_sparse_kernels.cc).
BitmapSparseKernels bitmap_sparse_kernels();

struct BitmapSparseFamily {
  using Options = BsOptions;
  using Weights = BitmapSparseMatrix;
  using Kernels = BitmapSparseKernels;
  using Case = MatmulCase<Options>;
  struct Extra {
    std::vector<double> mag;
    double terms = 0.0;
  };
  using Checked = test::Checked<Extra>;
  static constexpr bool kExactSecondOracle = false;

  static std::string describe_options(const Options& o) {
    std::ostringstream os;
    os << bitmap_sparse::value_type_name(o.pack.values) << " zeros=" << o.zeros;
    if (o.pack.values == bitmap_sparse::ValueType::kInt8) os << " g" << o.pack.group;
    if (o.pack.sparsity > 0) os << " prune=" << o.pack.sparsity;
    return os.str();
  }
  static std::string describe_tile(const Kernels& t) {
    return "tile(lanes=" + std::to_string(t.lanes) + ", outer from " + std::to_string(t.gemm_min_rows) + " rows)";
  }

  // A fraction `zeros` of W zero (1: every entry), mixed with what the layout treats
  // specially: all-zero rows (r % 7 == 3), an all-zero tile, a full tile (row 1, columns
  // 64..127), a row with only the first and last column of each tile (row 2). Exact
  // data: small integers (exact in bf16), int8: codes with a +-127 per (row, group) so the
  // scale is 1 and the codes are W itself.
  static std::vector<float> make_weights(const Case& c, std::mt19937_64& rng) {
    std::vector<float> W(size_t(c.n * c.k));
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    const bool ints = c.opt.pack.values == bitmap_sparse::ValueType::kInt8;
    std::uniform_int_distribution<int> id(ints ? -127 : -8, ints ? 127 : 8);
    const int64_t group = ints && c.opt.pack.group ? c.opt.pack.group : (c.k + 63) / 64 * 64;
    for (int64_t r = 0; r < c.n; ++r)
      for (int64_t k = 0; k < c.k; ++k) {
        float v = 0.0f;
        switch (c.data) {
          case Data::kZeroW: break;
          case Data::kConstant: v = 0.25f; break;
          case Data::kExact: v = float(id(rng)); break;
          case Data::kOutliers: v = u(rng) < 0.1 ? 1000.0f * nd(rng) : nd(rng); break;
          default: v = nd(rng);
        }
        bool zero = u(rng) < c.opt.zeros || r % 7 == 3 || (k / 64 == 2 && r % 5 == 0);
        if (r == 1 && k / 64 == 1) zero = false;
        if (r == 2) zero = k % 64 != 0 && k % 64 != 63;
        if (c.data == Data::kExact && ints && k % group == 0 && !zero) v = (r + k) % 2 ? 127.0f : -127.0f;
        if (c.data == Data::kExact && v == 0.0f) v = 1.0f;  // a stored value is non-zero
        W[size_t(r * c.k + k)] = zero ? 0.0f : v;
      }
    if (c.data == Data::kExact && ints)  // every (row, group) with a stored value holds a +-127
      for (int64_t r = 0; r < c.n; ++r)
        for (int64_t g0 = 0; g0 < c.k; g0 += group) {
          int64_t first = -1;
          bool has = false;
          for (int64_t k = g0; k < std::min(c.k, g0 + group); ++k) {
            const float a = std::fabs(W[size_t(r * c.k + k)]);
            if (a != 0.0f && first < 0) first = k;
            has |= a == 127.0f;
          }
          if (first >= 0 && !has) W[size_t(r * c.k + first)] = 127.0f;
        }
    return W;
  }

  static std::vector<float> make_activations(const Case& c, int64_t ldx, std::mt19937_64& rng) {
    return plain_activations(c, ldx, rng);
  }

  static Weights pack(const Problem<BitmapSparseFamily>& p) {
    return bitmap_sparse::pack(view<const float>(p.W.data(), p.c.n, p.c.k), p.c.opt.pack);
  }
  static std::vector<float> dequantize(const Weights& w) { return bitmap_sparse::dequantize_to_vector(w); }

  // Kernels and reference sum the same f32 products value * x (bf16 widened exactly; int8:
  // the f32 product s * q) in different orders over at most Kp terms: recursive summation
  // errs by at most Kp * eps * magnitude (Higham's gamma, first order); +9 for the
  // epilogue and the value's own product. Exact data: bit for bit.
  static bool check_reference(const Problem<BitmapSparseFamily>& p, const Weights& w, const Kernels& kern,
                              const Epilogue& epi, Checked& chk) {
    chk.Y = p.Y0;
    chk.Yr = p.Y0;
    kern.matmul(p.Xv(), w, p.Yv(chk.Y), epi);
    reference::matmul(p.Xv(), w, p.Yv(chk.Yr), epi);
    chk.extra.mag = reference::matmul_magnitude(p.Xv(), w);
    chk.extra.terms = double(w.kp()) + 9.0;
    return compare_within_rounding(p, chk, p.c.data == Data::kExact);
  }

  // Second oracle (dequantize, double product): rounding only, the bound above.
  static OracleBound oracle_bounds(const Problem<BitmapSparseFamily>& p, const Weights&, const Checked& chk,
                                   const Eigen::MatrixXd&, const Eigen::MatrixXd&) {
    const Case& c = p.c;
    OracleBound b;
    b.tol.assign(size_t(c.m * c.n), 0.0);
    for (int64_t r = 0; r < c.m; ++r)
      for (int64_t n = 0; n < c.n; ++n)
        b.tol[size_t(r * c.n + n)] =
            chk.extra.terms * double(FLT_EPSILON) * (chk.extra.mag[size_t(r * c.n + n)] + p.extra(r, n)) + 1e-30;
    b.explain = [](int64_t, int64_t) { return std::string("rounding (terms * FLT_EPSILON * magnitude)"); };
    return b;
  }
};

using BsCase = BitmapSparseFamily::Case;

inline BsOptions bs_options(bitmap_sparse::ValueType v, double zeros, int group = 0) {
  BsOptions o;
  o.pack.values = v;
  o.pack.group = group;
  o.zeros = zeros;
  return o;
}

// Shape classes from the kernel's constants: M = 1, below and at the outer path's first
// row count, a partial, two and three token blocks (4 L tokens); N = 1, odd N (the outer tile's
// row pairs), N past a task (16 rows; 2 L); K = 1, 63, 64, 65, a partial chunk, a chunk
// (256) plus a tail, odd K steps (128).
inline std::vector<BsCase> bitmap_sparse_shape_classes(const BitmapSparseKernels& t, const BsOptions& opt,
                                                       uint64_t seed0) {
  std::vector<BsCase> cs;
  auto add = [&](const std::string& cls, int64_t m, int64_t n, int64_t k) {
    BsCase c;
    c.cls = cls;
    c.m = m;
    c.n = n;
    c.k = k;
    c.opt = opt;
    c.seed = seed0 + cs.size();
    cs.push_back(c);
  };
  const int64_t g = t.gemm_min_rows, tb = 4 * t.lanes;
  add("M=1", 1, 64, 256);
  add("M=2", 2, 2 * t.lanes + 1, 320);
  add("M=outer-1", g - 1, 33, 200);
  add("M=outer", g, 34, 130);
  add("M=tokens+3", tb + 3, 3 * 16 + 5, 512);
  add("M=2tokens", 2 * tb, 17, 192);
  add("M=2tokens+1", 2 * tb + 1, 19, 136);  // 3 blocks: the block-outer loop order
  for (int64_t m : rule_edge_rows(t.rules)) add("M=rule-edge", m, 24, 64);
  add("N=1", 5, 1, 64);
  add("N=1,M=outer", g + 1, 1, 100);
  add("N=15", 1, 15, 64);
  add("N=17", 9, 17, 64);
  add("K=1", 2, 18, 1);
  add("K=1,M=outer", g, 18, 1);
  add("K=63", 1, 20, 63);
  add("K=64", 3, 20, 64);
  add("K=65", g + 2, 20, 65);
  add("K=chunk+tail", 6, 24, 256 + 64 + 7);
  add("K=chunk+tail,M=outer", g + 5, 24, 256 + 64 + 7);
  add("K=3 steps", 1, 21, 3 * 128);
  add("M=0", 0, 16, 64);
  return cs;
}

}  // namespace test
}  // namespace lsgemm
