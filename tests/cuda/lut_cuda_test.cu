// lut CUDA path (lsgemm::matmul on DeviceLutMatrix) against two host oracles:
//   (1) the float oracle  y = Sum_k (S c_k + C) x_k  in double, from the packed codes and
//       group_consts (what the GPU computes before its own roundings): a tight bound;
//   (2) the family's oracle lsgemm::reference::matmul (tables: X quantized to int8 in
//       exact mode, int8 tables in fast mode): the same bound plus that table mode's
//       quantization error, derived below from the tables' scales.
// X is drawn, rounded to the activation type, and the same rounded values (as float) go
// to both oracles, so the only differences are the kernel's roundings (and, for (2), the
// reference's quantization).
//
// The layout tests at the top run without a device: they decode the device layout on the
// host with the kernel's own decode function and compare with the host format's codes.
//
// Includes the specific headers rather than lsgemm.hpp: the CUDA path needs no Highway.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "lsgemm/core/cuda/common.cuh"
#include "lsgemm/core/epilogue.hpp"
#include "lsgemm/core/error.hpp"
#include "lsgemm/core/matrix.hpp"
#include "lsgemm/core/numeric.hpp"
#include "lsgemm/lut/cuda.cuh"
#include "lsgemm/lut/format.hpp"
#include "lsgemm/lut/reference.hpp"

#include "cuda_test_support.cuh"

namespace {

using lsgemm::lut::DeviceLutMatrix;
using lsgemm::lut::LutMatrix;
using lsgemm::lut::PackOptions;
using lsgemm::lut::TableMode;
using lsgemm::lut::WeightKind;
using namespace lsgemm_cuda_test;

std::string group_name(int group) {
  return group == lsgemm::lut::kPerChannel  ? std::string("per-channel")
         : group == lsgemm::lut::kPerTensor ? std::string("per-tensor")
                                            : std::to_string(group);
}

PackOptions options_for(WeightKind kind, int bits, bool symmetric, int group, TableMode tables) {
  PackOptions o = kind == WeightKind::kUniform ? PackOptions().with_bits(bits).with_symmetric(symmetric)
                                               : PackOptions::ternary(kind, group);
  return o.with_group(group).with_tables(tables);
}

LutMatrix random_weight(int64_t n, int64_t k, const PackOptions& o, uint64_t seed) {
  const std::vector<float> W = random_weights(n, k, 1.0f, seed);
  return lsgemm::lut::pack(lsgemm::view<const float>(W.data(), n, k), o);
}

// ---- device layout, checked on the host -------------------------------------------

// Decodes every (tile, chunk, lane, k-step, register, half) of the device layout with the
// kernel's code_pair and compares with the host format's code at the (row, col) the PTX
// fragment layout of mma.m16n8k16's A operand assigns to it:
//   row = 16 t + lane / 4 + 8 (j % 2),  col = 128 c + 16 s + 2 (lane % 4) + h + 8 (j / 2).
template <int kBits>
void check_layout(const LutMatrix& w, const std::vector<uint32_t>& words, int64_t np, int64_t kc,
                  const std::string& what) {
  const int zero = w.kind == WeightKind::kUniform ? 0 : 1;
  int64_t checked = 0, bad = 0;
  std::string first;
  for (int64_t t = 0; t < np / 16; ++t)
    for (int64_t c = 0; c < kc; ++c)
      for (int lane = 0; lane < 32; ++lane) {
        uint32_t lw[2 * kBits];
        for (int f = 0; f < 2 * kBits; ++f) lw[f] = words[size_t(((t * kc + c) * (2 * kBits) + f) * 32 + lane)];
        for (int s = 0; s < 8; ++s)
          for (int j = 0; j < 4; ++j) {
            const uint32_t vh = lsgemm::lut::detail::code_pair<kBits>(lw, s, j, 0x64006400u);
            const uint32_t vb = lsgemm::lut::detail::code_pair<kBits>(lw, s, j, 0x43004300u);
            for (int h = 0; h < 2; ++h) {
              const int64_t row = 16 * t + lane / 4 + 8 * (j % 2);
              const int64_t col = 128 * c + 16 * s + 2 * (lane % 4) + h + 8 * (j / 2);
              int want = zero;
              if (row < w.n && col < w.k) want = w.triples() ? w.code(row, col) + 1 : w.code(row, col);
              else if (row < w.tiles() * 16 && col < w.kp) continue;  // host padding: any code, scale or X is 0
              const float got_h = lsgemm::f16_to_f32(uint16_t(vh >> (16 * h))) - 1024.0f;
              const float got_b = lsgemm::bf16_to_f32(uint16_t(vb >> (16 * h))) - 128.0f;
              ++checked;
              if (got_h != float(want) || got_b != float(want)) {
                if (bad++ == 0) {
                  std::ostringstream os;
                  os << "(" << row << "," << col << ") tile " << t << " chunk " << c << " lane " << lane << " step "
                     << s << " reg " << j << " half " << h << ": want " << want << ", fp16 decode " << got_h
                     << ", bf16 decode " << got_b;
                  first = os.str();
                }
              }
            }
          }
      }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << checked << " codes decode wrong; first " << first;
  EXPECT_GE(checked, w.n * w.k) << what << ": vacuous layout check";
}

struct LayoutCase {
  WeightKind kind;
  int bits;
  bool symmetric;
  int group;
  int64_t n, k;
};

TEST(LutCudaLayout, DeviceCodesDecodeToHostCodes) {
  const LayoutCase cases[] = {
      {WeightKind::kUniform, 1, false, 32, 72, 200},    {WeightKind::kUniform, 2, true, 64, 17, 300},
      {WeightKind::kUniform, 3, false, 128, 40, 520},   {WeightKind::kUniform, 4, true, 256, 65, 100},
      {WeightKind::kUniform, 3, true, 0, 3, 777},       {WeightKind::kTernaryPlanes, 2, true, 32, 33, 160},
      {WeightKind::kTernaryTriples, 2, true, lsgemm::lut::kPerTensor, 30, 301},
      {WeightKind::kTernaryTriples, 2, true, lsgemm::lut::kPerChannel, 64, 48},
  };
  for (const LayoutCase& lc : cases) {
    const LutMatrix w =
        random_weight(lc.n, lc.k, options_for(lc.kind, lc.bits, lc.symmetric, lc.group, TableMode::kExact),
                      uint64_t(lc.n * 31 + lc.k));
    const int bits = lsgemm::lut::detail::device_bits_of(w);
    const int64_t np = (w.n + 63) / 64 * 64, kc = (w.kp + 127) / 128;
    const std::vector<uint32_t> words = lsgemm::lut::detail::repack_codes(w, np, kc);
    ASSERT_EQ(words.size(), size_t(np / 16 * kc * 2 * bits * 32));
    std::ostringstream what;
    what << lsgemm::lut::weight_kind_name(lc.kind) << " bits=" << lc.bits << " group=" << group_name(lc.group)
         << " N=" << lc.n << " K=" << lc.k;
    switch (bits) {
      case 1: check_layout<1>(w, words, np, kc, what.str()); break;
      case 2: check_layout<2>(w, words, np, kc, what.str()); break;
      case 3: check_layout<3>(w, words, np, kc, what.str()); break;
      default: check_layout<4>(w, words, np, kc, what.str()); break;
    }
  }
}

// Scales and offsets land at [group][np] with rows r and r + 8 of each 16-row tile side by
// side: position 16 (r / 16) + 2 (r % 8) + (r % 16) / 8 of group g holds the host's (r, g).
TEST(LutCudaLayout, ConstantsByGroupAndRow) {
  const LutMatrix w = random_weight(70, 300, PackOptions().with_bits(2).with_group(64), 5);
  const int64_t np = 128, groups_alloc = ((3 * 128 - 1) >> 6) + 1;  // kc = 3
  std::vector<uint16_t> scales, offsets;
  lsgemm::lut::detail::repack_consts(w, np, groups_alloc, scales, offsets);
  ASSERT_EQ(scales.size(), size_t(groups_alloc * np));
  ASSERT_EQ(offsets.size(), scales.size());
  for (int64_t g = 0; g < groups_alloc; ++g)
    for (int64_t r = 0; r < np; ++r) {
      const bool real = r < w.n && g < w.groups();
      const size_t at = size_t(g * np + r / 16 * 16 + 2 * (r % 8) + (r % 16) / 8);
      EXPECT_EQ(scales[at], real ? w.scales[w.const_index(r, g)] : 0) << "row " << r << " group " << g;
      EXPECT_EQ(offsets[at], real ? w.offsets[w.const_index(r, g)] : 0) << "row " << r << " group " << g;
    }
}

// These checks run before any CUDA call, so they hold on machines without a device.
TEST(LutCudaBadInput, RejectedBeforeTouchingTheDevice) {
  // Inconsistent packed sizes.
  LutMatrix broken = random_weight(16, 64, PackOptions().with_bits(2), 1);
  broken.codes.resize(broken.codes.size() - 1);
  EXPECT_THROW(lsgemm::lut::to_device(broken), lsgemm::Error);
  // A symmetric 1-bit weight of scale 40000: S = 2 s = 80000 is beyond fp16.
  std::vector<float> big(16 * 64, 40000.0f);
  const LutMatrix huge = lsgemm::lut::pack(lsgemm::view<const float>(big.data(), 16, 64),
                                           PackOptions().with_bits(1).with_symmetric(true).with_group(64));
  EXPECT_THROW(lsgemm::lut::to_device(huge), lsgemm::Error);
  expect_empty_weight_rejected<DeviceLutMatrix>();
  // And with bf16 X and a float Y, an overload the other family does not have.
  const DeviceLutMatrix empty;
  EXPECT_THROW(
      lsgemm::matmul(lsgemm::DeviceView<const __nv_bfloat16>(), empty, lsgemm::DeviceView<float>(), nullptr, 0),
      lsgemm::Error);
}

// ---- the product on the device ------------------------------------------------------

struct Case {
  int64_t m, n, k;
  WeightKind kind;
  int bits;
  bool symmetric;
  int group;
  TableMode tables;  // of the reference only: the device ignores it
  bool y_f32;
  CallOptions call;  // last: the literal cases list its fields flat, after the others

  std::string describe() const {
    std::ostringstream os;
    os << "M=" << m << " N=" << n << " K=" << k << " " << lsgemm::lut::weight_kind_name(kind);
    if (kind == WeightKind::kUniform) os << " bits=" << bits << (symmetric ? " sym" : " asym");
    os << " group=" << group_name(group) << " ref-tables=" << lsgemm::lut::table_mode_name(tables)
       << (y_f32 ? " Y=f32" : "") << call.describe();
    return os.str();
  }
};

template <class T, class TY>
void run_case(const Case& c, uint64_t seed) {
  SCOPED_TRACE(c.describe());
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);

  const LutMatrix w = random_weight(c.n, c.k, options_for(c.kind, c.bits, c.symmetric, c.group, c.tables), seed);
  const HostOperands<T, TY> h = draw_operands<T, TY>(c.m, c.n, c.k, c.call, rng, normal);
  const std::vector<float>& Xf = h.Xf;
  const std::vector<float>& y0f = h.y0f;
  const std::vector<float>& bias = h.bias;

  // Oracle (2): the reference, from its own tables (kept for their scales).
  const lsgemm::lut::Tables tables =
      lsgemm::reference::make_tables(lsgemm::view<const float>(Xf.data(), c.m, c.k), w.table_spec());
  std::vector<float> Yref(y0f);
  lsgemm::reference::matmul(tables, w, lsgemm::view(Yref.data(), c.m, c.n), h.host_epilogue());

  // Oracle (1) and the magnitudes the bounds need, from the codes and group_consts.
  const int64_t G = w.groups(), kb = w.x_block(), B = w.kp / kb;
  std::vector<int> code(size_t(c.n * c.k));
  std::vector<double> S(size_t(c.n * G)), C(size_t(c.n * G));
  for (int64_t n = 0; n < c.n; ++n) {
    for (int64_t k = 0; k < c.k; ++k) code[size_t(n * c.k + k)] = w.code(n, k);
    for (int64_t g = 0; g < G; ++g) {
      float s, cc;
      w.group_consts(n, g, s, cc);
      S[size_t(n * G + g)] = s;
      C[size_t(n * G + g)] = cc;
    }
  }
  // Sub-table lookups per X block of the reference and the largest plane weight sum:
  // planes: kb / 4 sub-tables x (2^bits - 1); triples: kb / 3 lookups of weight 1.
  const double lookups = w.triples() ? double(kb / 3) : double(kb / 4) * double((1 << w.bits) - 1);
  const double eps = type_eps<T>();
  const double eps_y = std::is_same_v<TY, float> ? std::ldexp(1.0, -23) : eps;
  const double k_term = double(c.k) * std::ldexp(1.0, -22);
  std::vector<double> yor(size_t(c.m * c.n)), tol1(size_t(c.m * c.n)), qbound(size_t(c.m * c.n));
  for (int64_t r = 0; r < c.m; ++r)
    for (int64_t n = 0; n < c.n; ++n) {
      double y = 0.0, mag1 = 0.0, q = 0.0;
      for (int64_t b = 0; b < B; ++b) {
        const double tscale = tables.scale[size_t(r * B + b)];
        const int64_t g = b * kb / w.group;
        const double s = S[size_t(n * G + g)], cc = C[size_t(n * G + g)];
        double wabs = 0.0, xabs = 0.0, scx = 0.0;
        for (int64_t k = b * kb; k < std::min((b + 1) * kb, c.k); ++k) {
          const double x = Xf[size_t(r * c.k + k)], ck = code[size_t(n * c.k + k)];
          y += (s * ck + cc) * x;
          mag1 += (std::fabs(s * ck) + std::fabs(cc)) * std::fabs(x);
          wabs += std::fabs(s * ck + cc);
          xabs += std::fabs(x);
          scx += std::fabs(s * ck * x);
        }
        if (c.tables == TableMode::kExact) {
          // y_ref = Sum_k w_k sx xq_k with |sx xq - x| <= sx (1/2 + float roundings).
          q += 0.5001 * tscale * wabs;
        } else {
          // Each lookup's int8 entry is within tscale (1/2 + ...) of its float entry, the
          // float entries are 3 additions from X, and sum(x) is kb float additions.
          q += std::fabs(s) * tscale * 0.5001 * lookups + std::ldexp(1.0, -21) * scx +
               std::ldexp(1.0, -17) * std::fabs(cc) * xabs;
        }
      }
      const double extra = (c.call.bias ? std::fabs(bias[size_t(n)]) : 0.0) + std::fabs(y0f[size_t(r * c.n + n)]);
      if (c.call.bias) y += bias[size_t(n)];
      if (c.call.accumulate) y += y0f[size_t(r * c.n + n)];
      const size_t i = size_t(r * c.n + n);
      yor[i] = y;
      // Per weight, w = fma(c, S_T, C_T) with S_T, C_T rounded: |dw| <= 1.005 eps (|S c| + |C|);
      // fp32 accumulation (x2 for the tensor core's truncating adder), the bias / Y / split-K
      // additions, and the final rounding of Y.
      tol1[i] =
          1.01 * eps * mag1 + k_term * mag1 + std::ldexp(1.0, -21) * (extra + mag1) + eps_y * std::fabs(y) + 1e-30;
      qbound[i] = q + std::ldexp(1.0, -20) * (mag1 + std::fabs(y));
    }

  // Device side.
  const DeviceLutMatrix wd = lsgemm::lut::to_device(w);
  EXPECT_EQ(wd.n, c.n);
  const size_t ws = c.call.split ? lsgemm::lut::workspace_bytes(wd, c.m) : 0;
  // At most 5 CTAs without splitting and >= 8 chunks of K: any sm_80+ GPU (>= 4 x 14 CTA
  // slots) splits it, so a "split-K" pass of such a shape is not vacuous.
  const int64_t base_ctas = (wd.np / 64) * ((c.m + (c.m <= 8 ? 8 : 32) - 1) / (c.m <= 8 ? 8 : 32));
  if (c.call.split && base_ctas <= 5 && wd.kc >= 8) ASSERT_GT(ws, 0u) << "this shape must split K";
  const std::vector<TY> Y = run_on_device(wd, h, ws);

  OutputTally vs_float, vs_ref;  // against oracles (1) and (2)
  for_each_output(Y, h, Yref, [&](const Output& o) {
    const size_t i = size_t(o.r * c.n + o.n);
    const double t2 = tol1[i] + qbound[i] + std::ldexp(1.0, -23) * std::fabs(o.want);
    vs_float.add(o.got, yor[i], tol1[i], [&](double e1) {
      std::ostringstream os;
      os << "Y(" << o.r << "," << o.n << ") = " << o.got << ", float oracle " << yor[i] << ", |diff| " << e1
         << " > tol " << tol1[i] << " = (1.01 eps_T " << eps << " + K*2^-22 " << k_term
         << ") * Sum (|S c| + |C|)|x| + 2^-21 (|bias| + |y0| + that) + eps_Y |y|";
      return os.str();
    });
    vs_ref.add(o.got, o.want, t2, [&](double e2) {
      std::ostringstream os;
      os << "Y(" << o.r << "," << o.n << ") = " << o.got << ", reference::matmul " << Yref[i] << ", |diff| " << e2
         << " > tol " << t2 << " = the float-oracle tol " << tol1[i] << " + the reference's "
         << lsgemm::lut::table_mode_name(c.tables) << "-table quantization bound " << qbound[i];
      return os.str();
    });
  });
  ASSERT_NO_FATAL_FAILURE(expect_padding_kept(Y, h));
  ASSERT_GT(vs_ref.max_abs_ref, 0.0) << "vacuous: the reference output is all zero";
  EXPECT_EQ(vs_float.bad, 0) << vs_float.bad << " of " << c.m * c.n << " outputs off the float oracle; first: "
                             << vs_float.first_bad;
  EXPECT_EQ(vs_ref.bad, 0) << vs_ref.bad << " of " << c.m * c.n << " outputs off reference::matmul; first: "
                           << vs_ref.first_bad;
  // Aggregate check, sharper than the worst case: the roundings are unbiased, so the RMS
  // error stays near eps_T of the RMS output. Three eps_T still catch a kernel that drops
  // one 16-k step of K = 1000 (relative RMS error ~ sqrt(16 / 1000) = 13 %).
  const double rel_rms = vs_float.rel_rms();
  EXPECT_LE(rel_rms, 3.0 * eps) << "relative RMS error vs the float oracle " << rel_rms << " > 3 eps_T = " << 3.0 * eps;
}

// Every weight kind x bits x group of the format, each on one of ten shapes that cover
// M = 1, 3, 8 (one n8 column), 64 and 129 (32-token tiles and their tail), N tails of
// the 64-row block (200, 72, 264, 40) and K tails (100: one partial chunk; 8640: 68
// chunks, BitNet 3B's FFN width; 776, 520, 1000: K % 64 != 0). The other options rotate.
std::vector<Case> make_cases() {
  struct Shape {
    int64_t m, n, k;
  };
  const Shape shapes[] = {{1, 200, 8640}, {3, 72, 100},  {8, 264, 1000}, {64, 200, 776},  {129, 72, 520},
                          {1, 4096, 1024}, {3, 200, 2048}, {8, 40, 8640},  {64, 264, 256}, {129, 200, 100}};
  struct Kind {
    WeightKind kind;
    int bits;
    bool symmetric;
    int group;
  };
  std::vector<Kind> kinds;
  const int groups[] = {32, 64, 128, 256, lsgemm::lut::kPerChannel};
  for (int sym = 0; sym < 2; ++sym)
    for (int bits = 1; bits <= 4; ++bits)
      for (int g : groups) kinds.push_back({WeightKind::kUniform, bits, sym == 1, g});
  for (int g : groups) kinds.push_back({WeightKind::kTernaryPlanes, 2, true, g});
  kinds.push_back({WeightKind::kTernaryPlanes, 2, true, lsgemm::lut::kPerTensor});
  kinds.push_back({WeightKind::kTernaryTriples, 2, true, lsgemm::lut::kPerChannel});
  kinds.push_back({WeightKind::kTernaryTriples, 2, true, lsgemm::lut::kPerTensor});
  std::vector<Case> cases;
  for (size_t i = 0; i < kinds.size(); ++i) {
    const Shape& s = shapes[(i * 3) % 10];  // 3 is coprime to 10: every shape, every kind family
    Case c{};
    c.m = s.m;
    c.n = s.n;
    c.k = s.k;
    c.kind = kinds[i].kind;
    c.bits = kinds[i].bits;
    c.symmetric = kinds[i].symmetric;
    c.group = kinds[i].group;
    c.tables = i % 3 == 1 ? TableMode::kFast : TableMode::kExact;
    c.call.act = i % 2 ? Act::kBF16 : Act::kF16;
    c.y_f32 = i % 4 == 3;
    c.call.split = i % 5 != 4;
    c.call.bias = i % 5 == 1;
    c.call.accumulate = i % 7 == 2;
    c.call.x_pad = i % 6 == 4 ? 3 : 0;
    c.call.y_pad = i % 6 == 5 ? 5 : 0;
    cases.push_back(c);
  }
  // Split-K with bias, accumulate and strides on shapes that must split (<= 5 CTAs).
  cases.push_back({1, 264, 8640, WeightKind::kUniform, 2, false, 128, TableMode::kExact, false, Act::kF16, true,
                   true, true, 8, 8});
  cases.push_back({8, 72, 2048, WeightKind::kUniform, 4, true, 32, TableMode::kFast, true, Act::kBF16, true, true,
                   true, 0, 3});
  cases.push_back({3, 40, 1024, WeightKind::kTernaryTriples, 2, true, lsgemm::lut::kPerTensor, TableMode::kExact,
                   false, Act::kBF16, true, false, true, 1, 0});
  cases.push_back({129, 264, 520, WeightKind::kUniform, 3, false, 64, TableMode::kExact, true, Act::kF16, true, true,
                   true, 0, 0});
  return cases;
}

class LutCuda : public ::testing::TestWithParam<Case> {};

TEST_P(LutCuda, MatchesOracles) {
  LSGEMM_REQUIRE_DEVICE();
  const Case& c = GetParam();
  const uint64_t seed = uint64_t(c.m * 1000003 + c.n * 1009 + c.k * 17 + c.bits * 7 + c.group + 3 * int(c.kind));
  if (c.call.act == Act::kF16) {
    if (c.y_f32) run_case<__half, float>(c, seed);
    else run_case<__half, __half>(c, seed);
  } else {
    if (c.y_f32) run_case<__nv_bfloat16, float>(c, seed);
    else run_case<__nv_bfloat16, __nv_bfloat16>(c, seed);
  }
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  std::ostringstream os;
  os << info.index << "_M" << c.m << "_N" << c.n << "_K" << c.k << "_";
  if (c.kind == WeightKind::kUniform) os << "W" << c.bits << (c.symmetric ? "sym" : "asym");
  else os << (c.kind == WeightKind::kTernaryPlanes ? "ternplanes" : "terntriples");
  os << "_G" << (c.group >= 0 ? std::to_string(c.group) : std::string("tensor"))
     << (c.call.act == Act::kF16 ? "_f16" : "_bf16") << (c.y_f32 ? "_yf32" : "");
  return os.str();
}

INSTANTIATE_TEST_SUITE_P(Shapes, LutCuda, ::testing::ValuesIn(make_cases()), case_name);

TEST(LutCudaBadInput, RejectedArguments) {
  LSGEMM_REQUIRE_DEVICE();
  const int64_t M = 4, N = 64, K = 1024;  // 8 chunks of 128 k: the plan splits (>= 4 per slice)
  const DeviceLutMatrix w = lsgemm::lut::to_device(random_weight(N, K, PackOptions().with_bits(2), 3));
  const DeviceLutMatrix sq = lsgemm::lut::to_device(random_weight(K, K, PackOptions().with_bits(4), 4));
  ASSERT_NO_FATAL_FAILURE(expect_arguments_checked(w, sq, M));
  // A corrupted DeviceLutMatrix (metadata that does not match its buffers).
  DeviceLutMatrix moved = w.clone();
  moved.kc += 1;
  lsgemm::DeviceBuffer<__half> dX(size_t(M * K)), dY(size_t(M * N));
  EXPECT_THROW(lsgemm::matmul(lsgemm::device_view<const __half>(dX.data(), M, K, K), moved,
                              lsgemm::device_view<__half>(dY.data(), M, N, N), nullptr, 0),
               lsgemm::Error);
  LSGEMM_CUDA_CHECK(cudaDeviceSynchronize());
}

// M = 0 is a valid empty product: no launch, no error, Y untouched.
TEST(LutCudaEdge, EmptyM) {
  LSGEMM_REQUIRE_DEVICE();
  expect_empty_product(lsgemm::lut::to_device(random_weight(64, 256, PackOptions().with_bits(2), 9)));
}

}  // namespace
