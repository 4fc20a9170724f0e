#pragma once
// The int_quant tester: shape classes derived from a kernel's tile constants, data
// generators, the derived tolerance, and the comparison against both oracles.
// Plain header: the per-target test files pass their kernel in as a callable.
#include <gtest/gtest.h>

#include <Eigen/Core>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "lsgemm/int_quant/format.hpp"
#include "lsgemm/int_quant/reference.hpp"

namespace lsgemm {
namespace test {

using int_quant::ActMode;
using int_quant::PackOptions;
using int_quant::QuantizedMatrix;
using Kernel = std::function<void(HostView<const float>, const QuantizedMatrix&, HostView<float>, const Epilogue&)>;

// The kernel's tile constants, from which the shape classes are derived.
struct TileInfo {
  const char* target;
  int64_t lanes;       // f32 lanes (an N-block is 2 * lanes outputs)
  int64_t mr;          // rows of X per register tile
  int64_t gemm_min_m;  // first M on the GEMM-shaped path
  int64_t chunk;       // K chunk of the GEMM path
};

enum class Data { kNormal, kExact, kZeroX, kZeroW, kConstant, kOutliers };
inline const char* data_name(Data d) {
  switch (d) {
    case Data::kNormal: return "normal";
    case Data::kExact: return "exact";
    case Data::kZeroX: return "zero-X";
    case Data::kZeroW: return "zero-W";
    case Data::kConstant: return "constant";
    default: return "outliers";
  }
}

struct Case {
  const char* cls = "";
  int64_t m = 1, n = 16, k = 128;
  PackOptions opt;
  int64_t ldx_pad = 0, ldy_pad = 0;
  bool bias = false, accumulate = false;
  Data data = Data::kNormal;
  uint64_t seed = 1;

  std::string describe(const TileInfo& t) const {
    std::ostringstream os;
    os << "[" << t.target << "] class=" << cls << " M=" << m << " N=" << n << " K=" << k << " bits=" << opt.bits
       << " group=" << (opt.group ? std::to_string(opt.group) : std::string("per-channel"))
       << (opt.symmetric ? " sym" : " asym") << " act=" << int_quant::act_mode_name(opt.act)
       << " outliers=" << opt.outlier_threshold << " ldx+" << ldx_pad << " ldy+" << ldy_pad
       << (bias ? " bias" : "") << (accumulate ? " accumulate" : "") << " data=" << data_name(data)
       << " seed=" << seed << " tile(lanes=" << t.lanes << ", mr=" << t.mr << ")";
    return os.str();
  }
};

// W whose values are exactly representable in the format: per (row, group) a
// power-of-two scale, codes spanning 0..qmax, and an integer zero point, so pack()
// reproduces them exactly (see the exact data class).
inline std::vector<float> make_weights(const Case& c, std::mt19937_64& rng) {
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

inline std::vector<float> make_activations(const Case& c, int64_t ldx, std::mt19937_64& rng) {
  std::vector<float> X(size_t(std::max<int64_t>(c.m, 1) * ldx), 1e30f);  // padding poisoned
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

// Runs one case: kernel vs reference (derived bound, or bit-exact for exact data) and
// vs the second oracle (dequantize, then an Eigen product in double).
inline void run_case(const Case& c, const TileInfo& t, const Kernel& kernel) {
  SCOPED_TRACE(c.describe(t));
  std::mt19937_64 rng(c.seed);
  const std::vector<float> W = make_weights(c, rng);
  const QuantizedMatrix w = int_quant::pack(view(W.data(), c.n, c.k), c.opt);
  const int64_t ldx = c.k + c.ldx_pad, ldy = c.n + c.ldy_pad;
  const std::vector<float> X = make_activations(c, ldx, rng);
  std::vector<float> bias(size_t(c.n));
  for (auto& b : bias) b = std::normal_distribution<float>(0.0f, 1.0f)(rng);
  std::vector<float> Y0(size_t(std::max<int64_t>(c.m, 1) * ldy));
  for (auto& v : Y0) v = std::normal_distribution<float>(0.0f, 1.0f)(rng);
  std::vector<float> Yk = Y0, Yr = Y0;
  const HostView<const float> Xv(X.data(), c.m, c.k, ldx);
  Epilogue epi;
  epi.bias = c.bias ? bias.data() : nullptr;
  epi.accumulate = c.accumulate;
  kernel(Xv, w, HostView<float>(Yk.data(), c.m, c.n, ldy), epi);
  reference::matmul(Xv, w, HostView<float>(Yr.data(), c.m, c.n, ldy), epi);

  // Tolerance: every output is a sum of float terms whose absolute sum is `mag`;
  // recursive summation of T terms errs by at most T * eps * mag (Higham's gamma_T,
  // first order). Float mode sums Kp products plus 2 per group; int8 mode has exact
  // integer group sums, so only its 2 float terms per group round; +8 covers bias,
  // accumulate and the scale products.
  const std::vector<double> mag = reference::matmul_magnitude(Xv, w);
  const double terms = (c.opt.act == ActMode::kFloat ? double(w.kp) : 0.0) + 2.0 * double(w.groups()) + 8.0 +
                       (c.opt.outlier_threshold > 0 ? double(c.k) : 0.0);
  const bool exact = c.data == Data::kExact;
  int64_t nonzero = 0;
  for (int64_t r = 0; r < c.m; ++r)
    for (int64_t n = 0; n < ldy; ++n) {
      const size_t i = size_t(r * ldy + n);
      if (n >= c.n) {  // columns past N belong to the caller: untouched
        ASSERT_EQ(Yk[i], Y0[i]) << "wrote past N at row " << r << " col " << n;
        continue;
      }
      const double extra = std::fabs(c.bias ? bias[size_t(n)] : 0.0) + std::fabs(c.accumulate ? Y0[i] : 0.0);
      const double tol = exact ? 0.0 : terms * double(FLT_EPSILON) * (mag[size_t(r * c.n + n)] + extra) + 1e-30;
      if (Yr[i] != 0.0f) ++nonzero;
      ASSERT_NEAR(Yk[i], Yr[i], tol) << "Y(" << r << "," << n << "): kernel " << Yk[i] << " reference " << Yr[i]
                                     << "; bound = " << terms << " terms * FLT_EPSILON * magnitude "
                                     << mag[size_t(r * c.n + n)] << (exact ? " (exact data: bit-exact)" : "");
    }
  for (size_t i = size_t(c.m * ldy); i < Yk.size(); ++i) ASSERT_EQ(Yk[i], Y0[i]);
  // Guard against vacuous passes: non-zero data must give a non-zero answer.
  if (c.m > 0 && c.data != Data::kZeroX && c.data != Data::kZeroW)
    ASSERT_GT(nonzero, 0) << "reference output is all zero for non-zero data";

  // Second oracle: dequantize, then an Eigen product in double. Float mode differs from
  // it only by rounding; int8 mode also by X's quantization, at most sx/2 per element:
  // |err| <= sum_k (sx_g / 2) * |w_k| (+ the rounding bound).
  if (c.m == 0) return;
  const std::vector<float> Wd = int_quant::dequantize_to_vector(w);
  Eigen::MatrixXd Xd(c.m, c.k), Wdd(c.n, c.k);
  for (int64_t r = 0; r < c.m; ++r)
    for (int64_t k = 0; k < c.k; ++k) Xd(r, k) = X[size_t(r * ldx + k)];
  for (int64_t r = 0; r < c.n; ++r)
    for (int64_t k = 0; k < c.k; ++k) Wdd(r, k) = Wd[size_t(r * c.k + k)];
  const Eigen::MatrixXd Yd = Xd * Wdd.transpose();
  const int64_t G = w.groups();
  for (int64_t r = 0; r < c.m; ++r)
    for (int64_t n = 0; n < c.n; ++n) {
      double qerr = 0.0;
      if (c.opt.act == ActMode::kInt8)
        for (int64_t g = 0; g < G; ++g) {
          double amax = 0.0, wsum = 0.0;
          for (int64_t k = g * w.group; k < std::min(c.k, (g + 1) * w.group); ++k) {
            if (c.opt.outlier_threshold > 0 && c.data == Data::kOutliers && k % 37 == 5) continue;
            amax = std::max(amax, std::fabs(Xd(r, k)));
            wsum += std::fabs(Wdd(n, k));
          }
          qerr += amax / 127.0 / 2.0 * wsum * (1.0 + 1e-5);
        }
      const size_t i = size_t(r * ldy + n);
      double expect = Yd(r, n) + (c.bias ? bias[size_t(n)] : 0.0) + (c.accumulate ? Y0[i] : 0.0);
      const double extra = std::fabs(c.bias ? bias[size_t(n)] : 0.0) + std::fabs(c.accumulate ? Y0[i] : 0.0);
      const double tol = qerr + terms * double(FLT_EPSILON) * (mag[size_t(r * c.n + n)] + extra) + 1e-30;
      ASSERT_NEAR(Yk[i], expect, tol) << "second oracle (dequantize + Eigen double) at Y(" << r << "," << n
                                      << "); X-quantization bound " << qerr;
    }
}

// Shape classes from the tile constants: M around 1, the GEMV/GEMM switch and the
// register tile (mr, then the 4- and 1-row remainders); N tails around a tile (16) and
// an N-block (2 * lanes); K = one group, several groups, chunk tails, per-channel K
// that is not a multiple of 16.
inline std::vector<Case> shape_classes(const TileInfo& t, ActMode act, int bits) {
  std::vector<Case> cs;
  auto add = [&](const char* cls, int64_t m, int64_t n, int64_t k, int group) {
    Case c;
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
  const int64_t nb = 2 * t.lanes;
  add("M=1", 1, 64, 256, 128);
  add("M=gemm_min-1", t.gemm_min_m - 1, 33, 128, 64);
  add("M=gemm_min", t.gemm_min_m, 33, 128, 64);
  add("M=mr-1", t.mr - 1, nb + 1, 256, 32);
  add("M=mr", t.mr, nb, 256, 128);
  add("M=mr+1", t.mr + 1, nb - 1, 128, 128);
  add("M=2mr+4+3", 2 * t.mr + 7, 3 * 16 + 5, 512, 256);
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
  return cs;
}

}  // namespace test
}  // namespace lsgemm
