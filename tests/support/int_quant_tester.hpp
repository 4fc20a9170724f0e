#pragma once
// The int_quant family of the matmul tester (support/matmul_tester.hpp): its data
// generators, its tolerances and the shape classes derived from its kernels' constants.
// Plain header: the per-target test files pass their kernel and constants in.
#include <gtest/gtest.h>

#include <Eigen/Core>
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "lsgemm/core/path.hpp"
#include "lsgemm/int_quant/format.hpp"
#include "lsgemm/int_quant/reference.hpp"
#include "support/matmul_tester.hpp"

namespace lsgemm {
namespace test {

using int_quant::ActMode;
using int_quant::PackOptions;
using int_quant::QuantizedMatrix;

// The kernel of one SIMD target and the constants its shape classes derive from.
struct IntQuantKernels {
  const char* target = "";
  int64_t lanes = 16;       // f32 lanes (an N-block is 2 * lanes outputs)
  int64_t mr = 12;          // rows of X per register tile of the mode under test
  int64_t gemm_min_m = 4;   // first M on the GEMM-shaped path
  int64_t chunk = 256;      // K chunk of the GEMM path
  int64_t m_block = 240;    // rows per M block of the mode's GEMM skeleton (kMBlockF32 / kMBlockU8)
  std::vector<PathRule> rules;  // this target's path_rules()
  std::function<void(HostView<const float>, const QuantizedMatrix&, HostView<float>, const Epilogue&)> matmul;
};
// The kernels of the target under test, register tile and M block of `act`
// (tests/kernels/int_quant_kernels.cc).
IntQuantKernels int_quant_kernels(ActMode act);

struct IntQuantFamily {
  using Options = PackOptions;
  using Weights = QuantizedMatrix;
  using Kernels = IntQuantKernels;
  using Case = MatmulCase<Options>;
  struct Extra {
    std::vector<double> mag;  // reference::matmul_magnitude
    double terms = 0.0;       // rounded terms per output (see check_reference)
  };
  using Checked = test::Checked<Extra>;
  // The exact class is checked bit for bit against the reference; against the second
  // oracle it keeps the derived bound.
  static constexpr bool kExactSecondOracle = false;

  static std::string describe_options(const Options& o) {
    std::ostringstream os;
    os << "bits=" << o.bits << " group=" << (o.group ? std::to_string(o.group) : std::string("per-channel"))
       << (o.symmetric ? " sym" : " asym") << " act=" << int_quant::act_mode_name(o.act)
       << " outliers=" << o.outlier_threshold;
    return os.str();
  }
  static std::string describe_tile(const Kernels& t) {
    return "tile(lanes=" + std::to_string(t.lanes) + ", mr=" + std::to_string(t.mr) +
           ", gemm from M=" + std::to_string(t.gemm_min_m) + ")";
  }

  // W whose values are exactly representable in the format: per (row, group) a
  // power-of-two scale, codes spanning 0..qmax, and an integer zero point, so pack()
  // reproduces them exactly (see the exact data class).
  static std::vector<float> make_weights(const Case& c, std::mt19937_64& rng) {
    std::vector<float> W(size_t(c.n * c.k));
    std::normal_distribution<float> nd(0.0f, 1.0f);
    switch (c.data) {
      case Data::kZeroW: break;
      case Data::kConstant:
        for (auto& v : W) v = 0.25f;
        break;
      case Data::kExact: {
        const int qmax = (1 << c.opt.bits) - 1;
        const int64_t g = c.opt.group ? c.opt.group : c.k;
        std::uniform_int_distribution<int> qd(0, qmax);
        for (int64_t r = 0; r < c.n; ++r)
          for (int64_t g0 = 0; g0 < c.k; g0 += g) {
            const int z = c.opt.symmetric ? (1 << (c.opt.bits - 1)) : qd(rng);
            const float s = c.opt.symmetric ? 1.0f / 8 : 1.0f / 16;
            for (int64_t k = g0; k < std::min(c.k, g0 + g); ++k) {
              int q = qd(rng);
              if (c.opt.symmetric) q = std::max(q, 1);  // symmetric codes span 1..qmax
              if (k == g0) q = c.opt.symmetric ? 1 : 0;
              if (k == g0 + 1) q = qmax;
              W[size_t(r * c.k + k)] = s * float(q - z);
            }
          }
        break;
      }
      default:
        for (auto& v : W) v = nd(rng);
    }
    return W;
  }

  // X, M x ldx; the ld gap is poisoned with NaN (a kernel that reads it shows).
  static std::vector<float> make_activations(const Case& c, int64_t ldx, std::mt19937_64& rng) {
    std::vector<float> X(size_t(std::max<int64_t>(c.m, 1) * ldx), std::numeric_limits<float>::quiet_NaN());
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::uniform_int_distribution<int> id(-127, 127);
    const int64_t g = c.opt.group ? c.opt.group : c.k;
    for (int64_t r = 0; r < c.m; ++r)
      for (int64_t k = 0; k < c.k; ++k) {
        float v;
        switch (c.data) {
          case Data::kZeroX: v = 0.0f; break;
          case Data::kConstant: v = 0.5f; break;
          case Data::kExact: v = (k % g == 0) ? 127.0f : float(id(rng)); break;  // amax 127: sx = 1
          case Data::kOutliers: v = (k % 37 == 5) ? 20.0f * nd(rng) + 10.0f : nd(rng); break;
          default: v = nd(rng);
        }
        X[size_t(r * ldx + k)] = v;
      }
    return X;
  }

  static Weights pack(const Problem<IntQuantFamily>& p) {
    return int_quant::pack(view<const float>(p.W.data(), p.c.n, p.c.k), p.c.opt);
  }
  static std::vector<float> dequantize(const Weights& w) { return int_quant::dequantize_to_vector(w); }

  // Tolerance: every output is a sum of float terms whose absolute sum is `mag`;
  // recursive summation of T terms errs by at most T * eps * mag (Higham's gamma_T,
  // first order). Float mode sums Kp products plus 2 per group; int8 mode has exact
  // integer group sums, so only its 2 float terms per group round; +8 covers bias,
  // accumulate and the scale products; outlier columns add up to K float products.
  static bool check_reference(const Problem<IntQuantFamily>& p, const Weights& w, const Kernels& kern,
                              const Epilogue& epi, Checked& chk) {
    const Case& c = p.c;
    chk.Y = p.Y0;
    chk.Yr = p.Y0;
    kern.matmul(p.Xv(), w, p.Yv(chk.Y), epi);
    reference::matmul(p.Xv(), w, p.Yv(chk.Yr), epi);
    chk.extra.mag = reference::matmul_magnitude(p.Xv(), w);
    chk.extra.terms = (c.opt.act == ActMode::kFloat ? double(w.kp) : 0.0) + 2.0 * double(w.groups()) + 8.0 +
                      (c.opt.outlier_threshold > 0 ? double(c.k) : 0.0);
    return compare_within_rounding(p, chk, c.data == Data::kExact);
  }

  // Second oracle: float mode differs from the double product only by rounding; int8
  // mode also by X's quantization, at most sx/2 per element:
  // |err| <= sum_k (sx_g / 2) * |w_k| (+ the rounding bound). Outlier columns are
  // computed in float, not quantized.
  static OracleBound oracle_bounds(const Problem<IntQuantFamily>& p, const Weights& w, const Checked& chk,
                                   const Eigen::MatrixXd& Xd, const Eigen::MatrixXd& Wd) {
    const Case& c = p.c;
    auto qerr = std::make_shared<std::vector<double>>(size_t(c.m * c.n), 0.0);
    OracleBound b;
    b.tol.assign(size_t(c.m * c.n), 0.0);
    for (int64_t r = 0; r < c.m; ++r)
      for (int64_t n = 0; n < c.n; ++n) {
        const double q =
            c.opt.act != ActMode::kInt8
                ? 0.0
                : int8_x_quantization_bound(Xd, Wd, r, n, c.k, w.group, [&](int64_t k) {
                    return c.opt.outlier_threshold > 0 && c.data == Data::kOutliers && k % 37 == 5;
                  });
        const size_t o = size_t(r * c.n + n);
        (*qerr)[o] = q;
        b.tol[o] = q + chk.extra.terms * double(FLT_EPSILON) * (chk.extra.mag[o] + p.extra(r, n)) + 1e-30;
      }
    const int64_t N = c.n;
    b.explain = [qerr, N](int64_t m, int64_t n) {
      return "X-quantization " + std::to_string((*qerr)[size_t(m * N + n)]) + " + rounding (terms * FLT_EPSILON * magnitude)";
    };
    return b;
  }
};

using IqCase = IntQuantFamily::Case;

// Shape classes from the kernel's constants: M around 1, the GEMV/GEMM switch, the
// register tile of the mode under test (mr, then the 4- and 1-row remainders) and the
// edges of every path rule's row range; N tails around a tile (16) and an N-block
// (2 * lanes); K = one group, several groups, chunk tails, per-channel K that is not a
// multiple of 16. Int8 mode adds outlier columns on both sides of the GEMV/GEMM switch.
inline std::vector<IqCase> int_quant_shape_classes(const IntQuantKernels& t, ActMode act, int bits) {
  std::vector<IqCase> cs;
  auto add = [&](const std::string& cls, int64_t m, int64_t n, int64_t k, int group) {
    IqCase c;
    c.cls = cls;
    c.m = m;
    c.n = n;
    c.k = k;
    c.opt.bits = bits;
    c.opt.group = group;
    c.opt.act = act;
    c.seed = 1000 + cs.size();
    cs.push_back(c);
  };
  const int64_t nb = 2 * t.lanes, gm = t.gemm_min_m, mr = t.mr;
  // Rows, each named by where it comes from (the first name of a repeated M wins).
  std::vector<std::pair<int64_t, std::string>> rows = {
      {1, "M=1"},           {gm - 1, "M=gemm_min-1"}, {gm, "M=gemm_min"},       {gm + 1, "M=gemm_min+1"},
      {mr - 1, "M=mr-1"},   {mr, "M=mr"},             {mr + 1, "M=mr+1"},       {2 * mr + 7, "M=2mr+4+3"},
      {t.m_block + mr + 5, "M=m_block+mr+5"}};  // two M blocks, the second with remainder tiles
  for (int64_t m : rule_edge_rows(t.rules)) rows.push_back({m, "M=rule-edge"});
  struct Shape {
    int64_t n, k;
    int group;
  };
  const Shape shapes[] = {{64, 256, 128}, {33, 128, 64}, {nb + 1, 256, 32}, {nb, 256, 128}, {nb - 1, 128, 128},
                          {3 * 16 + 5, 512, 256}};
  std::vector<int64_t> seen;
  for (const auto& r : rows) {
    if (r.first < 1 || std::find(seen.begin(), seen.end(), r.first) != seen.end()) continue;
    const Shape& s = shapes[seen.size() % (sizeof(shapes) / sizeof(shapes[0]))];
    seen.push_back(r.first);
    add(r.second, r.first, s.n, s.k, s.group);
  }
  add("N=1", 5, 1, 64, 32);
  add("N=15", 1, 15, 64, 32);
  add("N=17", 9, 17, 64, 32);
  add("N=odd-tiles", 2, 16 * 3, 128, 128);
  add("K=one-group", 3, 20, 32, 32);
  add("K=chunk+group", 6, 24, t.chunk + 64, 64);
  add("K=per-channel-7", 2, 18, 7, 0);
  add("K=per-channel-odd", 7, 31, t.chunk + 16 + 3, 0);
  add("K=per-channel-1", 1, 5, 1, 0);
  add("M=0", 0, 16, 64, 32);
  if (act == ActMode::kInt8)
    for (int64_t m : {int64_t(1), gm + 1}) {
      add("outliers", m, 37, 384, 64);
      cs.back().opt.outlier_threshold = 6.0f;
      cs.back().data = Data::kOutliers;
    }
  return cs;
}

}  // namespace test
}  // namespace lsgemm
