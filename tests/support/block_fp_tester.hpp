#pragma once
// The block_fp family of the matmul tester (support/matmul_tester.hpp): data generators,
// tolerances and shape classes. Plain header: the per-target test files pass their
// kernel and constants in.
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

#include "lsgemm/block_fp/format.hpp"
#include "lsgemm/block_fp/reference.hpp"
#include "lsgemm/core/path.hpp"
#include "support/matmul_tester.hpp"

namespace lsgemm {
namespace test {

using block_fp::BlockFpMatrix;
using BfOptions = block_fp::PackOptions;
using block_fp::MxElement;
using block_fp::Scheme;

struct BlockFpKernels {
  const char* target = "";
  int64_t lanes = 16;
  int64_t mr = 12;
  int64_t gemm_min_m = 4;
  int64_t m_block = 240;
  std::vector<PathRule> rules;
  std::function<void(HostView<const float>, const BlockFpMatrix&, HostView<float>, const Epilogue&)> matmul;
};
// The kernels of the target under test, register tile and M block of `act`
// (tests/kernels/block_fp_kernels.cc).
BlockFpKernels block_fp_kernels(ActMode act);

// The element values (in block-scale units) a code can take, and the code count: the
// generators draw from them.
inline int bf_value_bits(const BfOptions& o) {
  return block_fp::value_bits(o.scheme, o.element, o.mantissa_bits);
}
inline float bf_value(const BfOptions& o, int code) {
  switch (o.scheme) {
    case Scheme::kMx:
      return o.element == MxElement::kInt8 ? float(int8_t(uint8_t(code))) : block_fp::mx_element_to_f32(o.element, uint8_t(code));
    case Scheme::kNvfp4: return minifloat_to_f32(MiniFloat::kE2M1, uint32_t(code));
    case Scheme::kBfp: {
      const int m = o.mantissa_bits;
      return float(code >= (1 << (m - 1)) ? code - (1 << m) : code);
    }
  }
  return 0.0f;
}

struct BlockFpFamily {
  using Options = BfOptions;
  using Weights = BlockFpMatrix;
  using Kernels = BlockFpKernels;
  using Case = MatmulCase<Options>;
  struct Extra {
    std::vector<double> mag;
    double terms = 0.0;
  };
  using Checked = test::Checked<Extra>;
  static constexpr bool kExactSecondOracle = false;

  static std::string describe_options(const Options& o) {
    std::ostringstream os;
    os << block_fp::scheme_name(o.scheme);
    if (o.scheme == Scheme::kMx) os << " " << block_fp::mx_name(o.element);
    if (o.scheme == Scheme::kBfp) os << " m=" << o.mantissa_bits;
    os << " block=" << (o.block ? o.block : block_fp::default_block(o.scheme))
       << " act=" << block_fp::act_mode_name(o.act);
    if (o.order == block_fp::ChannelOrder::kByAmax) os << " order=by_amax";
    return os.str();
  }
  static std::string describe_tile(const Kernels& t) {
    return "tile(lanes=" + std::to_string(t.lanes) + ", mr=" + std::to_string(t.mr) +
           ", gemm from M=" + std::to_string(t.gemm_min_m) + ")";
  }

  // Normal data mixes in the blocks the format treats specially: all-zero blocks,
  // subnormal-only blocks (|w| ~ 1e-40), and blocks with one huge outlier (kOutliers: in
  // every block). Exact data: per block a power-of-two scale and element values of at
  // least 1/8 of the element maximum with the maximum at the block's start, so pack()
  // reproduces W and, with X small integers (make_activations), every sum is exact.
  static std::vector<float> make_weights(const Case& c, std::mt19937_64& rng) {
    std::vector<float> W(size_t(c.n * c.k));
    std::normal_distribution<float> nd(0.0f, 1.0f);
    const int64_t B = c.opt.block ? c.opt.block : block_fp::default_block(c.opt.scheme);
    switch (c.data) {
      case Data::kZeroW: break;
      case Data::kConstant:
        for (auto& v : W) v = 0.25f;
        break;
      case Data::kExact: {
        const int codes = 1 << bf_value_bits(c.opt);
        float vmax = 0.0f;
        for (int q = 0; q < codes; ++q)
          if (std::isfinite(bf_value(c.opt, q))) vmax = std::max(vmax, bf_value(c.opt, q));
        if (c.opt.scheme == Scheme::kBfp) vmax = float((1 << (c.opt.mantissa_bits - 1)) - 1);
        std::vector<float> vals;  // allowed magnitudes
        for (int q = 0; q < codes; ++q) {
          const float v = bf_value(c.opt, q);
          if (std::isfinite(v) && v >= vmax / 8 && v <= vmax) vals.push_back(v);
        }
        std::uniform_int_distribution<size_t> vd(0, vals.size() - 1);
        std::uniform_int_distribution<int> sd(0, 3);
        // max * 2^e in [1, 8): e = -floor(log2 vmax) + [0, 2]
        const int e0 = -int(std::floor(std::log2(vmax)));
        for (int64_t r = 0; r < c.n; ++r)
          for (int64_t b0 = 0; b0 < c.k; b0 += B) {
            const float s = std::ldexp(1.0f, e0 + sd(rng) % 3);
            for (int64_t k = b0; k < std::min(c.k, b0 + B); ++k) {
              const float v = k == b0 ? vmax : vals[vd(rng)];
              const int z = sd(rng);
              W[size_t(r * c.k + k)] = (k != b0 && z == 0) ? 0.0f : ((sd(rng) & 1) ? -v : v) * s;
            }
          }
        break;
      }
      default:
        for (int64_t r = 0; r < c.n; ++r)
          for (int64_t k = 0; k < c.k; ++k) {
            const int64_t blk = k / B + r * 7;
            float v = nd(rng);
            if (c.data == Data::kOutliers && k % B == (r % B)) v *= 1000.0f;
            if (c.data == Data::kNormal && blk % 11 == 3) v = 0.0f;           // all-zero block
            if (c.data == Data::kNormal && blk % 11 == 7) v *= 1e-40f;        // subnormal-only block
            W[size_t(r * c.k + k)] = v;
          }
    }
    return W;
  }

  // X, M x ldx; the ld gap is poisoned with NaN.
  static std::vector<float> make_activations(const Case& c, int64_t ldx, std::mt19937_64& rng) {
    std::vector<float> X(size_t(std::max<int64_t>(c.m, 1) * ldx), std::numeric_limits<float>::quiet_NaN());
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::uniform_int_distribution<int> id(-15, 15);
    for (int64_t r = 0; r < c.m; ++r)
      for (int64_t k = 0; k < c.k; ++k) {
        float v;
        switch (c.data) {
          case Data::kZeroX: v = 0.0f; break;
          case Data::kConstant: v = 0.5f; break;
          case Data::kExact: v = float(id(rng)); break;
          case Data::kOutliers: v = (k % 37 == 5) ? 20.0f * nd(rng) + 10.0f : nd(rng); break;
          default: v = nd(rng);
        }
        X[size_t(r * ldx + k)] = v;
      }
    return X;
  }

  static Weights pack(const Problem<BlockFpFamily>& p) {
    return block_fp::pack(view<const float>(p.W.data(), p.c.n, p.c.k), p.c.opt);
  }
  static std::vector<float> dequantize(const Weights& w) { return block_fp::dequantize_to_vector(w); }

  // Float mode: kernels and reference sum the same f32 products w * x (w = S * v exactly
  // as dequantize) in different orders: recursive summation of Kp terms errs by at most
  // Kp * eps * magnitude (Higham's gamma, first order); +8 for the epilogue. Int8 (W+A)
  // mode is bit-exact by definition (format.hpp): tolerance 0, except NVFP4 with a bias or
  // accumulate, where the multiply by alpha * tensor_scale may fuse with the add (the
  // float bound then).
  static bool check_reference(const Problem<BlockFpFamily>& p, const Weights& w, const Kernels& kern,
                              const Epilogue& epi, Checked& chk) {
    const Case& c = p.c;
    chk.Y = p.Y0;
    chk.Yr = p.Y0;
    kern.matmul(p.Xv(), w, p.Yv(chk.Y), epi);
    reference::matmul(p.Xv(), w, p.Yv(chk.Yr), epi);
    chk.extra.mag = reference::matmul_magnitude(p.Xv(), w);
    chk.extra.terms = double(w.kp) + 8.0;
    const bool fused_epilogue = c.opt.scheme == block_fp::Scheme::kNvfp4 && (epi.bias || epi.accumulate);
    const bool exact = c.data == Data::kExact || (c.opt.act == block_fp::ActMode::kInt8 && !fused_epilogue);
    return compare_within_rounding(p, chk, exact);
  }

  // Second oracle (dequantize, double product): float mode differs by rounding only; the
  // W+A mode also by X's MXINT8 quantization: half a step 2^(se - 6) per element (se =
  // floor(log2 amax) of the block), but a whole step for |x| within half a step of 2^(se+1),
  // which rounds to 128 and is clamped to 127; times sum |w| of the block, plus the f32
  // sum of one term per block.
  static OracleBound oracle_bounds(const Problem<BlockFpFamily>& p, const Weights& w, const Checked& chk,
                                   const Eigen::MatrixXd& Xd, const Eigen::MatrixXd& Wd) {
    const Case& c = p.c;
    const int64_t G = w.groups(), B = w.block;
    auto qerr = std::make_shared<std::vector<double>>(size_t(c.m * c.n), 0.0);
    OracleBound b;
    b.tol.assign(size_t(c.m * c.n), 0.0);
    for (int64_t r = 0; r < c.m; ++r)
      for (int64_t n = 0; n < c.n; ++n) {
        double q = 0.0;
        if (c.opt.act == block_fp::ActMode::kInt8)
          for (int64_t g = 0; g < G; ++g) {
            double amax = 0.0, wsum = 0.0;
            for (int64_t k = g * B; k < std::min(c.k, (g + 1) * B); ++k) {
              amax = std::max(amax, std::fabs(Xd(r, k)));
              wsum += std::fabs(Wd(n, k));
            }
            if (amax > 0) q += std::ldexp(1.0, int(std::floor(std::log2(amax))) - 6) * wsum * (1.0 + 1e-6);
          }
        const size_t o = size_t(r * c.n + n);
        (*qerr)[o] = q;
        b.tol[o] = q + chk.extra.terms * double(FLT_EPSILON) * (chk.extra.mag[o] + p.extra(r, n)) + 1e-30;
      }
    const int64_t N = c.n;
    b.explain = [qerr, N](int64_t m, int64_t n) {
      return "X-quantization " + std::to_string((*qerr)[size_t(m * N + n)]) +
             " + rounding (terms * FLT_EPSILON * magnitude)";
    };
    return b;
  }
};

using BfCase = BlockFpFamily::Case;

// Every format the family packs: each MX element, NVFP4, BFP m = 3..8 with each block,
// and two with the channel order.
inline std::vector<BfOptions> block_fp_all_options(block_fp::ActMode act) {
  std::vector<BfOptions> v;
  for (MxElement e : {MxElement::kFp8E4M3, MxElement::kFp8E5M2, MxElement::kFp6E3M2, MxElement::kFp6E2M3,
                      MxElement::kFp4E2M1, MxElement::kInt8})
    v.push_back(BfOptions::mx(e));
  v.push_back(BfOptions::nvfp4());
  for (int m = 3; m <= 8; ++m) v.push_back(BfOptions::bfp(m, m % 2 ? 16 : 64));
  v.push_back(BfOptions::bfp(4, 8));
  v.push_back(BfOptions::bfp(8, 32));
  // The outlier-aware channel order: X gathered in the GEMV row, the GEMM's packed X and
  // the W+A quantizer.
  v.push_back(BfOptions::mx(MxElement::kFp4E2M1).with_order(block_fp::ChannelOrder::kByAmax));
  v.push_back(BfOptions::bfp(6, 16).with_order(block_fp::ChannelOrder::kByAmax));
  std::vector<BfOptions> out;
  for (BfOptions o : v) {
    if (act == block_fp::ActMode::kInt8 && !block_fp::int_elements(o.scheme, o.element)) continue;
    out.push_back(o.with_act(act));
  }
  return out;
}

// Shape classes from the kernel's constants: M around 1, the GEMV/GEMM switch, the
// register tile and the edges of every path rule; N tails around a tile (16) and an
// N-block (2 * lanes); K = 1, 33 (a partial last block), a block tail past a 256 chunk.
inline std::vector<BfCase> block_fp_shape_classes(const BlockFpKernels& t, const BfOptions& opt, uint64_t seed0) {
  std::vector<BfCase> cs;
  auto add = [&](const std::string& cls, int64_t m, int64_t n, int64_t k) {
    BfCase c;
    c.cls = cls;
    c.m = m;
    c.n = n;
    c.k = k;
    c.opt = opt;
    c.seed = seed0 + cs.size();
    cs.push_back(c);
  };
  const int64_t nb = 2 * t.lanes, gm = t.gemm_min_m, mr = t.mr;
  std::vector<std::pair<int64_t, std::string>> rows = {
      {1, "M=1"}, {gm - 1, "M=gemm_min-1"}, {gm, "M=gemm_min"}, {gm + 1, "M=gemm_min+1"},
      {mr - 1, "M=mr-1"}, {mr, "M=mr"}, {mr + 1, "M=mr+1"}, {2 * mr + 7, "M=2mr+4+3"}};
  for (int64_t m : rule_edge_rows(t.rules)) rows.push_back({m, "M=rule-edge"});
  struct Shape {
    int64_t n, k;
  };
  const Shape shapes[] = {{64, 256}, {33, 128}, {nb + 1, 320}, {nb, 64}, {nb - 1, 96}, {3 * 16 + 5, 512}};
  std::vector<int64_t> seen;
  for (const auto& r : rows) {
    if (r.first < 1 || std::find(seen.begin(), seen.end(), r.first) != seen.end()) continue;
    const Shape& s = shapes[seen.size() % (sizeof(shapes) / sizeof(shapes[0]))];
    seen.push_back(r.first);
    add(r.second, r.first, s.n, s.k);
  }
  add("N=1", 5, 1, 64);
  add("N=15", 1, 15, 64);
  add("N=17", 9, 17, 64);
  add("K=1", 2, 18, 1);
  add("K=33", 1, 20, 33);
  add("K=33", gm + 2, 20, 33);
  add("K=chunk+tail", 6, 24, 256 + 64 + 7);
  add("M=0", 0, 16, 64);
  return cs;
}

}  // namespace test
}  // namespace lsgemm
