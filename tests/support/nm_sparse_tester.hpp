#pragma once
// The nm_sparse family of the matmul tester (support/matmul_tester.hpp): data generators,
// tolerances and shape classes. Plain header: the per-target test file passes its kernel
// and constants in.
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

#include "lsgemm/core/path.hpp"
#include "lsgemm/nm_sparse/format.hpp"
#include "lsgemm/nm_sparse/reference.hpp"
#include "support/matmul_tester.hpp"

namespace lsgemm {
namespace test {

using nm_sparse::NmSparseMatrix;
using NmOptions = nm_sparse::PackOptions;

struct NmSparseKernels {
  const char* target = "";
  int64_t lanes = 16;
  int64_t mr = 12;
  int64_t m_block = 240;
  std::vector<PathRule> rules;
  std::function<void(HostView<const float>, const NmSparseMatrix&, HostView<float>, const Epilogue&)> matmul;
};
// The kernels of the target under test (tests/kernels/nm_sparse_kernels.cc).
NmSparseKernels nm_sparse_kernels();

struct NmSparseFamily {
  using Options = NmOptions;
  using Weights = NmSparseMatrix;
  using Kernels = NmSparseKernels;
  using Case = MatmulCase<Options>;
  struct Extra {
    std::vector<double> mag;
    double terms = 0.0;
  };
  using Checked = test::Checked<Extra>;
  static constexpr bool kExactSecondOracle = false;

  static std::string describe_options(const Options& o) {
    std::ostringstream os;
    os << o.nnz << ":" << o.run << " " << nm_sparse::value_type_name(o.values);
    if (nm_sparse::int_values(o.values)) os << " g" << o.group << " act=" << nm_sparse::act_mode_name(o.act);
    return os.str();
  }
  static std::string describe_tile(const Kernels& t) {
    return "tile(lanes=" + std::to_string(t.lanes) + ", mr=" + std::to_string(t.mr) + ")";
  }

  // Normal data mixes in what pruning treats specially: all-zero rows, runs with fewer
  // non-zeros than N, and ties (equal magnitudes of both signs). Exact data: small
  // integers (exact in bf16 too), so with integer X every sum is exact.
  static std::vector<float> make_weights(const Case& c, std::mt19937_64& rng) {
    std::vector<float> W(size_t(c.n * c.k));
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::uniform_int_distribution<int> id(-8, 8), pick(0, 9);
    for (int64_t r = 0; r < c.n; ++r)
      for (int64_t k = 0; k < c.k; ++k) {
        float v = 0.0f;
        switch (c.data) {
          case Data::kZeroW: break;
          case Data::kConstant: v = 0.25f; break;
          case Data::kExact: v = float(id(rng)); break;
          case Data::kOutliers: v = pick(rng) == 0 ? 1000.0f * nd(rng) : nd(rng); break;
          default: {
            const int p = pick(rng);
            v = r % 7 == 3 ? 0.0f : p == 0 ? 0.0f : p == 1 ? ((k & 1) ? -0.75f : 0.75f) : nd(rng);
          }
        }
        W[size_t(r * c.k + k)] = v;
      }
    if (c.data == Data::kExact && nm_sparse::int_values(c.opt.values)) {
      // Int values: codes in [-qmax, qmax] with a +-qmax in every (row, group), so that
      // the scale is 1 and the codes are W itself.
      const int qmax = nm_sparse::code_max(c.opt.values);
      std::uniform_int_distribution<int> qd(-qmax, qmax);
      for (int64_t r = 0; r < c.n; ++r)
        for (int64_t k = 0; k < c.k; ++k)
          W[size_t(r * c.k + k)] = k % c.opt.group == 0 ? float((r + k) % 2 ? qmax : -qmax) : float(qd(rng));
    }
    if (c.data == Data::kExact) {  // already N:M (pack must reproduce it): N random survivors per run
      std::vector<int> pos(static_cast<size_t>(c.opt.run));
      for (int64_t r = 0; r < c.n; ++r)
        for (int64_t k0 = 0; k0 < c.k; k0 += c.opt.run) {
          for (int i = 0; i < c.opt.run; ++i) pos[size_t(i)] = i;
          std::shuffle(pos.begin(), pos.end(), rng);
          if (k0 % c.opt.group == 0)  // ints: keep the group's +-qmax (it sits at the group's start)
            std::iter_swap(pos.begin(), std::find(pos.begin(), pos.end(), 0));
          for (int i = c.opt.nnz; i < c.opt.run; ++i)
            if (k0 + pos[size_t(i)] < c.k) W[size_t(r * c.k + k0 + pos[size_t(i)])] = 0.0f;
        }
    }
    return W;
  }

  static std::vector<float> make_activations(const Case& c, int64_t ldx, std::mt19937_64& rng) {
    return plain_activations(c, ldx, rng);
  }

  static Weights pack(const Problem<NmSparseFamily>& p) {
    return nm_sparse::pack(view<const float>(p.W.data(), p.c.n, p.c.k), p.c.opt);
  }
  static std::vector<float> dequantize(const Weights& w) { return nm_sparse::dequantize_to_vector(w); }

  // Kernels and reference sum the same f32 products value * x (bf16 values widened
  // exactly) in different orders, and a kernel may add up to Kp terms (zeros included):
  // recursive summation errs by at most Kp * eps * magnitude (Higham's gamma, first
  // order); +8 for the epilogue. Exact data: bit for bit. Int8 activations: the group
  // sums are exact integers and only the per-group f32 terms isum * (s * sx) round (one
  // product, one fused add per group): G + 8 terms over their magnitude, tight enough
  // that a group sum off by one code product fails.
  static bool check_reference(const Problem<NmSparseFamily>& p, const Weights& w, const Kernels& kern,
                              const Epilogue& epi, Checked& chk) {
    const Case& c = p.c;
    chk.Y = p.Y0;
    chk.Yr = p.Y0;
    kern.matmul(p.Xv(), w, p.Yv(chk.Y), epi);
    reference::matmul(p.Xv(), w, p.Yv(chk.Yr), epi);
    chk.extra.mag = reference::matmul_magnitude(p.Xv(), w);
    const bool act8 = w.act == nm_sparse::ActMode::kInt8;
    chk.extra.terms = double(act8 ? w.groups() : w.kp) + 8.0;
    return compare_within_rounding(p, chk, c.data == Data::kExact && !act8);
  }

  // Second oracle (dequantize, double product): rounding, the bound above; int8
  // activations also X's quantization, at most sx / 2 per element:
  // |err| <= sum_g amax_g / 127 / 2 * sum_{k in g} |w_k|.
  static OracleBound oracle_bounds(const Problem<NmSparseFamily>& p, const Weights& w, const Checked& chk,
                                   const Eigen::MatrixXd& Xd, const Eigen::MatrixXd& Wd) {
    const Case& c = p.c;
    OracleBound b;
    b.tol.assign(size_t(c.m * c.n), 0.0);
    for (int64_t r = 0; r < c.m; ++r)
      for (int64_t n = 0; n < c.n; ++n) {
        const double q = w.act != nm_sparse::ActMode::kInt8
                             ? 0.0
                             : int8_x_quantization_bound(Xd, Wd, r, n, c.k, w.group, [](int64_t) { return false; });
        b.tol[size_t(r * c.n + n)] =
            q + chk.extra.terms * double(FLT_EPSILON) * (chk.extra.mag[size_t(r * c.n + n)] + p.extra(r, n)) + 1e-30;
      }
    b.explain = [](int64_t, int64_t) {
      return std::string("X-quantization (int8 activations) + rounding (terms * FLT_EPSILON * magnitude)");
    };
    return b;
  }
};

using NmCase = NmSparseFamily::Case;

// Every pattern the family packs with every value type (ints: groups 64, 128, 256 in
// turn, each with float and with int8 activations).
inline std::vector<NmOptions> nm_sparse_all_options() {
  std::vector<NmOptions> v;
  int g = 0;
  for (auto nm : {std::pair<int, int>{2, 4}, {1, 4}, {3, 4}, {1, 8}, {2, 8}, {4, 8}, {3, 8}, {7, 8}})
    for (auto vt : {nm_sparse::ValueType::kF32, nm_sparse::ValueType::kBf16, nm_sparse::ValueType::kInt8,
                    nm_sparse::ValueType::kInt4}) {
      const NmOptions o = NmOptions{}.with_pattern(nm.first, nm.second).with_values(vt).with_group(64 << (g++ % 3));
      v.push_back(o);
      if (nm_sparse::int_values(vt)) v.push_back(NmOptions(o).with_act(nm_sparse::ActMode::kInt8));
    }
  return v;
}

// Shape classes from the kernel's constants: M = 1, around the register tile, past an M
// block; N tails around a tile (16) and an N-block (2 * lanes); K = 1, 3, M - 1, M + 1,
// a partial index word, a 256 chunk plus a tail.
inline std::vector<NmCase> nm_sparse_shape_classes(const NmSparseKernels& t, const NmOptions& opt, uint64_t seed0) {
  std::vector<NmCase> cs;
  auto add = [&](const std::string& cls, int64_t m, int64_t n, int64_t k) {
    NmCase c;
    c.cls = cls;
    c.m = m;
    c.n = n;
    c.k = k;
    c.opt = opt;
    c.seed = seed0 + cs.size();
    cs.push_back(c);
  };
  const int64_t nb = 2 * t.lanes, mr = t.mr, M = opt.run;
  add("M=1", 1, 64, 256);
  add("M=2", 2, nb + 1, 320);
  add("M=mr-1", mr - 1, nb, 64);
  add("M=mr", mr, nb - 1, 96);
  add("M=mr+1", mr + 1, 3 * 16 + 5, 512);
  add("M=2mr+7", 2 * mr + 7, 33, 128);
  for (int64_t m : rule_edge_rows(t.rules)) add("M=rule-edge", m, 24, 64);
  add("N=1", 5, 1, 64);
  add("N=15", 1, 15, 64);
  add("N=17", 9, 17, 64);
  add("K=1", 2, 18, 1);
  add("K=3", 1, 18, 3);
  add("K=run-1", 3, 20, M - 1);
  add("K=run+1", 1, 20, M + 1);
  add("K=33", 7, 20, 33);
  add("K=chunk+tail", 6, 24, 256 + 64 + 7);
  add("M=0", 0, 16, 64);
  return cs;
}

}  // namespace test
}  // namespace lsgemm
