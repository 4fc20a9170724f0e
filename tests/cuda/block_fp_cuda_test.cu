// block_fp CUDA path (lsgemm::matmul on DeviceBlockFpMatrix) against the host oracle
// lsgemm::reference::matmul (float mode: double sums of x times the f32 weights). X is
// drawn, rounded to the activation type, and the same rounded values (as float) go to the
// oracle, so the only differences are the kernel's own roundings, which the tolerance
// below bounds.
//
// The tests at the top run without a device: the device layout (codes and scale bytes at
// the positions the header's index expressions give), the decode (every element code
// with every scale byte through the header's own decode functions, T's arithmetic
// emulated exactly in double), and to_device's refusals, which come before any CUDA call.
//
// Includes the specific headers rather than lsgemm.hpp: the CUDA path needs no Highway.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "lsgemm/block_fp/cuda.cuh"
#include "lsgemm/block_fp/format.hpp"
#include "lsgemm/block_fp/reference.hpp"
#include "lsgemm/core/cuda/common.cuh"
#include "lsgemm/core/epilogue.hpp"
#include "lsgemm/core/error.hpp"
#include "lsgemm/core/matrix.hpp"
#include "lsgemm/core/numeric.hpp"

#include "cuda_test_support.cuh"

namespace {

using lsgemm::block_fp::BlockFpMatrix;
using lsgemm::block_fp::DeviceBlockFpMatrix;
using lsgemm::block_fp::MxElement;
using lsgemm::block_fp::PackOptions;
using lsgemm::block_fp::Scheme;
using namespace lsgemm_cuda_test;

// The formats the CUDA path takes.
enum class Format { kMxfp4, kNvfp4, kMxfp8E4M3, kMxfp8E5M2 };
constexpr Format kFormats[] = {Format::kMxfp4, Format::kNvfp4, Format::kMxfp8E4M3, Format::kMxfp8E5M2};

PackOptions options_of(Format f) {
  switch (f) {
    case Format::kMxfp4: return PackOptions::mx(MxElement::kFp4E2M1);
    case Format::kNvfp4: return PackOptions::nvfp4();
    case Format::kMxfp8E4M3: return PackOptions::mx(MxElement::kFp8E4M3);
    case Format::kMxfp8E5M2: return PackOptions::mx(MxElement::kFp8E5M2);
  }
  return {};
}

const char* format_label(Format f) {
  switch (f) {
    case Format::kMxfp4: return "mxfp4";
    case Format::kNvfp4: return "nvfp4";
    case Format::kMxfp8E4M3: return "mxfp8_e4m3";
    case Format::kMxfp8E5M2: return "mxfp8_e5m2";
  }
  return "?";
}

// W = scale * N(0, 1), packed.
BlockFpMatrix random_weight(int64_t n, int64_t k, const PackOptions& o, float scale, uint64_t seed) {
  const std::vector<float> W = random_weights(n, k, scale, seed);
  return lsgemm::block_fp::pack(lsgemm::view<const float>(W.data(), n, k), o);
}

// ---- device layout, checked on the host -------------------------------------------

// Every (tile, chunk, lane, k-step, register, half) of the code layout, read at the word
// and bits the header's index expressions give, against the host code at the (row, col)
// the PTX fragment layout of mma.m16n8k16's A operand assigns to it:
//   row = 16 t + lane / 4 + 8 (j % 2),  col = 64 c + 16 s + 2 (lane % 4) + h + 8 (j / 2).
TEST(BlockFpCudaLayout, CodesAtFragmentPositions) {
  const int64_t shapes[][2] = {{70, 300}, {16, 33}, {1, 100}, {130, 257}};
  for (Format f : kFormats)
    for (const auto& sh : shapes) {
      const BlockFpMatrix w = random_weight(sh[0], sh[1], options_of(f), 1.0f, uint64_t(sh[0] * 31 + sh[1]));
      const int bits = w.code_bits(), V = bits / 4;
      const int64_t np = (w.n + 63) / 64 * 64, kc = (w.kp + 63) / 64;
      const std::vector<uint32_t> words = lsgemm::block_fp::detail::repack_codes(w, np, kc);
      ASSERT_EQ(words.size(), size_t(np / 16 * kc * V * 128)) << format_label(f);
      int64_t checked = 0, bad = 0, nonzero = 0;
      std::string first;
      for (int64_t t = 0; t < np / 16; ++t)
        for (int64_t c = 0; c < kc; ++c)
          for (int lane = 0; lane < 32; ++lane)
            for (int s = 0; s < 4; ++s)
              for (int j = 0; j < 4; ++j)
                for (int h = 0; h < 2; ++h) {
                  const int64_t row = 16 * t + lane / 4 + 8 * (j % 2);
                  const int64_t col = 64 * c + 16 * s + 2 * (lane % 4) + h + 8 * (j / 2);
                  const int fw = bits == 4 ? s : 2 * s + j / 2;  // flat word f = s V + u
                  const int shift = bits == 4 ? 4 * j + 16 * h : 8 * (2 * (j % 2) + h);
                  const int64_t idx = (((t * kc + c) * V + fw / 4) * 32 + lane) * 4 + fw % 4;
                  const int got = int((words[size_t(idx)] >> shift) & ((1u << bits) - 1u));
                  const int want = row < w.n && col < w.kp ? w.code(row, col) : 0;
                  ++checked;
                  nonzero += want != 0;
                  if (got != want && bad++ == 0) {
                    std::ostringstream os;
                    os << "(" << row << "," << col << ") tile " << t << " chunk " << c << " lane " << lane
                       << " step " << s << " reg " << j << " half " << h << ": word " << idx << " bit " << shift
                       << " holds " << got << ", want " << want;
                    first = os.str();
                  }
                }
      EXPECT_EQ(bad, 0) << format_label(f) << " N=" << w.n << " K=" << w.k << ": " << bad << " of " << checked
                        << " codes misplaced; first " << first;
      // Every bit of the buffer is some position's: the positions cover it exactly.
      EXPECT_EQ(checked * bits, int64_t(words.size()) * 32);
      EXPECT_GT(nonzero, w.n * w.k / 4) << "vacuous: most codes are zero";
    }
}

// Scale bytes at [b * np + row]: the host's (row, b) for row < N and b < kp / block, else
// 0; blocks_alloc = 64 kc / block covers whole chunks.
TEST(BlockFpCudaLayout, ScaleBytesByBlockAndRow) {
  for (Format f : kFormats) {
    const BlockFpMatrix w = random_weight(70, 300, options_of(f), 1.0f, 5);
    const int64_t np = 128, kc = (w.kp + 63) / 64, blocks_alloc = kc * 64 / w.block;
    ASSERT_GE(blocks_alloc, w.groups());
    const std::vector<uint8_t> s = lsgemm::block_fp::detail::repack_scales(w, np, blocks_alloc);
    ASSERT_EQ(s.size(), size_t(blocks_alloc * np));
    int64_t bad = 0;
    for (int64_t b = 0; b < blocks_alloc; ++b)
      for (int64_t r = 0; r < np; ++r) {
        const uint8_t want = r < w.n && b < w.groups() ? w.scale_byte(r, b) : 0;
        if (s[size_t(b * np + r)] != want && bad++ < 5)
          ADD_FAILURE() << format_label(f) << " row " << r << " block " << b << ": " << int(s[size_t(b * np + r)])
                        << ", want " << int(want);
      }
    EXPECT_EQ(bad, 0) << format_label(f);
  }
}

// ---- the decode, on the host ------------------------------------------------------

// T's rounding (nearest, ties to even; beyond the largest finite value: Inf), exact in
// double for the values here: T's products of two T values, and f32 values.
template <class T>
double round_to(double x) {
  constexpr bool kHalf = std::is_same_v<T, __half>;
  constexpr int kMant = kHalf ? 10 : 7, kMinExp = kHalf ? -14 : -126;
  const double kMax = kHalf ? 65504.0 : std::ldexp(255.0, 120);
  if (x == 0.0 || !std::isfinite(x)) return x;
  int e;
  std::frexp(std::fabs(x), &e);  // |x| = f 2^e, f in [0.5, 1): floor(log2 |x|) = e - 1
  const double q = std::ldexp(1.0, std::max(e - 1, kMinExp) - kMant);
  const double r = std::nearbyint(std::fabs(x) / q) * q;
  return std::copysign(r > kMax ? HUGE_VAL : r, x);
}

template <class T>
double t_value(uint16_t bits) {
  return std::is_same_v<T, __half> ? double(lsgemm::f16_to_f32(bits)) : double(lsgemm::bf16_to_f32(bits));
}

// Every element code through element_pair (both halves, junk in the unused bits), and
// every scale byte through block_scale_f32 / block_factors, then the two products the
// decoder forms: a = T(T(v * P1) * P2). Checked against the f32 weight w = S * v:
//   MX, w normal in T:  a == w exactly (w has <= 4 significant bits);
//   otherwise |a - w| <= rel |w| + sub, rel = 0 (MX) or 2u + u^2 + 2^-23 (NVFP4: S and
//   the product rounded to T, u = 2^-11 / 2^-8; w itself an f32 product), sub = T's half
//   subnormal spacing (fp16 2^-25, plus 2^-38 for P1's product: file comment).
// Weights beyond T's range (and fp16 scales beyond it: the fp16 contract) are not checked.
template <class T>
void check_decode(MxElement e, bool nvfp4) {
  using lsgemm::block_fp::detail::block_factors;
  using lsgemm::block_fp::detail::block_scale_f32;
  using lsgemm::block_fp::detail::element_cast;
  using lsgemm::block_fp::detail::element_pair;
  constexpr bool kHalf = std::is_same_v<T, __half>;
  const char* tname = kHalf ? "fp16" : "bf16";
  const lsgemm::MiniFloat mf = lsgemm::block_fp::mx_minifloat(e);
  const int bits = lsgemm::minifloat_info(mf).bits;
  const auto cast = element_cast<T>(e);
  const double u = kHalf ? std::ldexp(1.0, -11) : std::ldexp(1.0, -8);
  const double sub = kHalf ? std::ldexp(1.0, -25) + std::ldexp(1.0, -38) : std::ldexp(1.0, -134);
  const double min_normal = kHalf ? std::ldexp(1.0, -14) : std::ldexp(1.0, -126);
  const double max_finite = kHalf ? 65504.0 : std::ldexp(255.0, 120);
  std::mt19937_64 rng(uint64_t(int(e) * 2 + nvfp4));

  // Element codes: v reads as value * 2^-c, both halves, whatever the other bits hold.
  std::vector<double> vt(size_t(1) << bits);  // v as T, per code
  std::vector<bool> finite(vt.size());
  const uint32_t junk_mask = ~((((1u << bits) - 1u) << 16) | ((1u << bits) - 1u));
  int64_t bad_codes = 0;
  for (uint32_t code = 0; code < vt.size(); ++code) {
    const float value = lsgemm::minifloat_to_f32(mf, code);
    finite[code] = std::isfinite(value);
    const uint32_t other = uint32_t(rng()) & ((1u << bits) - 1u);
    const uint32_t junk = bits == 4 ? uint32_t(rng()) & junk_mask : 0u;  // 8-bit: prmt zeroes them
    const uint32_t x = code | (other << 16) | junk;
    const uint32_t vv = bits == 4 ? element_pair<4>(x, cast.mag_shift, cast.mag_mask)
                                  : element_pair<8>(x, cast.mag_shift, cast.mag_mask);
    vt[code] = t_value<T>(uint16_t(vv & 0xFFFFu));
    const double hi = t_value<T>(uint16_t(vv >> 16));
    const double want_lo = std::ldexp(double(value), -cast.c);
    const double want_hi = std::ldexp(double(lsgemm::minifloat_to_f32(mf, other)), -cast.c);
    if (!finite[code]) continue;  // NaN/Inf codes: not decoded as such (header comment)
    const bool hi_ok = !std::isfinite(want_hi) || hi == want_hi;
    if ((vt[code] != want_lo || std::signbit(vt[code]) != std::signbit(want_lo) || !hi_ok) && bad_codes++ < 5)
      ADD_FAILURE() << tname << " " << lsgemm::block_fp::mx_name(e) << " code 0x" << std::hex << code << " (x 0x" << x
                    << std::dec << "): v = " << vt[code] << " / " << hi << ", want " << want_lo << " / " << want_hi
                    << " (value * 2^-" << cast.c << ")";
  }
  EXPECT_EQ(bad_codes, 0) << tname << " " << lsgemm::block_fp::mx_name(e);

  // Scale bytes: E8M0 0..254, UE4M3 0..126 with tensor scales from tiny to large.
  const std::vector<float> tensor_scales =
      nvfp4 ? std::vector<float>{1.0f, 1.0f / 2688.0f, 3.1e-7f, 0.37f, 1e-20f, 11.0f} : std::vector<float>{1.0f};
  int64_t bad = 0, checked = 0, exact_checked = 0;
  for (float ts : tensor_scales)
    for (uint32_t byte = 0; byte < (nvfp4 ? 0x7Fu : 0xFFu); ++byte) {
      const float S = block_scale_f32(byte, nvfp4, ts);
      const float S_ref = nvfp4 ? ts * lsgemm::minifloat_to_f32(lsgemm::MiniFloat::kE4M3, byte)
                                : lsgemm::e8m0_to_f32(uint8_t(byte));
      if (lsgemm::f32_bits(S) != lsgemm::f32_bits(S_ref) && bad++ < 5)
        ADD_FAILURE() << "scale byte " << byte << " ts " << ts << ": S = " << S << ", want " << S_ref;
      if (kHalf && !(S <= 65504.0f)) continue;  // the fp16 contract
      float p1f, p2f;
      block_factors<T>(S, cast.c, p1f, p2f);
      const double P1 = round_to<T>(p1f), P2 = round_to<T>(p2f);
      for (uint32_t code = 0; code < vt.size(); ++code) {
        if (!finite[code]) continue;
        const float w = S * lsgemm::minifloat_to_f32(mf, code);  // the reference's f32 weight
        if (!(std::fabs(double(w)) <= max_finite)) continue;  // beyond T: the fp16 contract, or f32/bf16 overflow
        const double a = round_to<T>(round_to<T>(vt[code] * P1) * P2);
        const bool exact = !nvfp4 && std::fabs(double(w)) >= min_normal;
        const double tol = exact ? 0.0 : (nvfp4 ? 2 * u + u * u + std::ldexp(1.0, -23) : 0.0) * std::fabs(w) + sub;
        ++checked;
        exact_checked += exact;
        if (!(std::fabs(a - double(w)) <= tol) && bad++ < 5)
          ADD_FAILURE() << tname << " " << (nvfp4 ? "nvfp4" : lsgemm::block_fp::mx_name(e)) << " scale byte " << byte
                        << " ts " << ts << " code 0x" << std::hex << code << std::dec << ": a = " << a << ", w = " << w
                        << " (S " << S << ", P1 " << P1 << ", P2 " << P2 << "), |diff| " << std::fabs(a - w)
                        << " > " << tol;
      }
    }
  EXPECT_EQ(bad, 0) << tname << " " << (nvfp4 ? "nvfp4" : lsgemm::block_fp::mx_name(e));
  EXPECT_GT(checked, int64_t(vt.size()) * 50) << "vacuous decode check";
  if (!nvfp4) EXPECT_GT(exact_checked, checked / 10) << "vacuous exactness check";
}

TEST(BlockFpCudaDecode, EveryCodeAndScaleByte) {
  for (int t = 0; t < 2; ++t) {
    auto run = t == 0 ? &check_decode<__half> : &check_decode<__nv_bfloat16>;
    run(MxElement::kFp4E2M1, false);
    run(MxElement::kFp4E2M1, true);
    run(MxElement::kFp8E4M3, false);
    run(MxElement::kFp8E5M2, false);
  }
}

// The padding of the layout (scale byte 0, code 0) decodes to +0: P1 and P2 of scale
// byte 0 are finite in T (0 * Inf would be NaN), so rows >= N and blocks past K add 0.
TEST(BlockFpCudaDecode, PaddingIsZero) {
  using lsgemm::block_fp::detail::block_factors;
  using lsgemm::block_fp::detail::block_scale_f32;
  using lsgemm::block_fp::detail::element_cast;
  for (bool nvfp4 : {false, true}) {
    float p1, p2;
    block_factors<__half>(block_scale_f32(0, nvfp4, 1.0f), element_cast<__half>(MxElement::kFp4E2M1).c, p1, p2);
    EXPECT_EQ(round_to<__half>(round_to<__half>(0.0 * round_to<__half>(p1)) * round_to<__half>(p2)), 0.0);
    EXPECT_TRUE(std::isfinite(round_to<__half>(p1)) && std::isfinite(round_to<__half>(p2)));
    block_factors<__nv_bfloat16>(block_scale_f32(0, nvfp4, 1.0f), element_cast<__nv_bfloat16>(MxElement::kFp4E2M1).c,
                                 p1, p2);
    EXPECT_TRUE(std::isfinite(round_to<__nv_bfloat16>(p1)) && std::isfinite(round_to<__nv_bfloat16>(p2)));
  }
}

// ---- bad input (no device needed) ---------------------------------------------------

// to_device throws an Error whose message contains `what`.
void expect_refused(const BlockFpMatrix& w, const std::string& what, const std::string& label) {
  try {
    (void)lsgemm::block_fp::to_device(w);
    ADD_FAILURE() << label << ": to_device accepted it";
  } catch (const lsgemm::Error& e) {
    EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << label << ": " << e.what();
  }
}

// These checks run before any CUDA call, so they hold on machines without a device.
TEST(BlockFpCudaBadInput, RejectedBeforeTouchingTheDevice) {
  struct Refused {
    PackOptions o;
    const char* name;
  };
  const Refused formats[] = {
      {PackOptions::mx(MxElement::kFp6E3M2), "mx fp6_e3m2"}, {PackOptions::mx(MxElement::kFp6E2M3), "mx fp6_e2m3"},
      {PackOptions::mx(MxElement::kInt8), "mx int8"},        {PackOptions::bfp(4), "bfp m=4 block=32"},
      {PackOptions::bfp(8, 16), "bfp m=8 block=16"},
  };
  for (const Refused& r : formats) {
    const BlockFpMatrix w = random_weight(16, 64, r.o, 1.0f, 1);
    expect_refused(w, std::string(r.name) + " weights are not supported on the CUDA path (allowed: mx fp4_e2m1, "
                                             "mx fp8_e4m3, mx fp8_e5m2, nvfp4)",
                   r.name);
  }
  // The W+A mode, and a channel order.
  expect_refused(random_weight(16, 64, PackOptions::mx(MxElement::kFp4E2M1).with_act(lsgemm::block_fp::ActMode::kInt8),
                               1.0f, 2),
                 "act=int8 is not supported on the CUDA path", "act=int8");
  expect_refused(
      random_weight(16, 64, PackOptions::nvfp4().with_order(lsgemm::block_fp::ChannelOrder::kByAmax), 1.0f, 3),
      "channel order", "by_amax");
  // Inconsistent packed sizes.
  BlockFpMatrix broken = random_weight(16, 64, PackOptions::mx(MxElement::kFp8E4M3), 1.0f, 4);
  broken.codes.resize(broken.codes.size() - 1);
  expect_refused(broken, "codes hold", "short codes");
  expect_empty_weight_rejected<DeviceBlockFpMatrix>();
}

// ---- the product on the device ------------------------------------------------------

struct Case {
  int64_t m, n, k;
  Format format;
  float wscale;      // W = wscale * N(0, 1)
  CallOptions call;  // last: the literal cases list its fields flat, after the weight's

  std::string describe() const {
    std::ostringstream os;
    os << "M=" << m << " N=" << n << " K=" << k << " " << format_label(format) << " W~" << wscale << "*N(0,1)"
       << call.describe();
    return os.str();
  }
};

template <class T>
void run_case(const Case& c, uint64_t seed) {
  SCOPED_TRACE(c.describe());
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);

  const BlockFpMatrix w = random_weight(c.n, c.k, options_of(c.format), c.wscale, seed ^ 0x9E3779B97F4A7C15ull);
  const HostOperands<T, T> h = draw_operands<T, T>(c.m, c.n, c.k, c.call, rng, normal);
  std::vector<float> Yref(h.y0f);  // Y's initial values: what an accumulating epilogue adds to
  lsgemm::reference::matmul(lsgemm::view<const float>(h.Xf.data(), c.m, c.k), w, lsgemm::view(Yref.data(), c.m, c.n),
                            h.host_epilogue());
  const std::vector<double> mag =
      lsgemm::reference::matmul_magnitude(lsgemm::view<const float>(h.Xf.data(), c.m, c.k), w);
  std::vector<double> xabs(size_t(c.m), 0.0);  // Sum_k |x|, per token
  for (int64_t r = 0; r < c.m; ++r)
    for (int64_t k = 0; k < c.k; ++k) xabs[size_t(r)] += std::fabs(h.Xf[size_t(r * c.k + k)]);

  // Device side.
  const DeviceBlockFpMatrix wd = lsgemm::block_fp::to_device(w);
  const size_t ws = c.call.split ? lsgemm::block_fp::workspace_bytes(wd, c.m) : 0;
  // <= 9 CTAs unsplit (N, M <= 130) and >= 8 chunks of K: any sm_80+ GPU (>= 4 x 14 CTA
  // slots) splits it, so a "split-K" pass of such a shape is not vacuous.
  const int64_t base_ctas = (wd.np / 64) * ((c.m + 63) / 64);
  if (c.call.split && base_ctas <= 9 && wd.kc >= 8) ASSERT_GT(ws, 0u) << "this shape must split K";
  const std::vector<T> Y = run_on_device(wd, h, ws);

  // Per-element bound (rigorous, worst case), from the roundings the kernel does:
  //   each weight decoded to T (header comment): MX at most 1 rounding (none where w is a
  //   normal T), NVFP4 2 (S, then S v), each <= u = eps_T / 2 relative, plus 2^-23 for the
  //   reference's own f32 weight; and, below T's normal range, <= sub = T's half
  //   subnormal spacing (fp16 2^-25 + 2^-38) absolute per weight: sub * Sum |x|
  //   fp32 accumulation over K terms (x2 for the tensor core's adder):  K * 2^-23 * |term|
  //   bias / accumulate / split-K additions in fp32:                     2^-21 * (|b| + |y0| + mag)
  //   the final rounding to T:                                           eps_T * |ref|
  // with sum |term| = mag = reference::matmul_magnitude (X is the same on both sides).
  const double eps = type_eps<T>(), u = eps / 2;
  const int roundings = c.format == Format::kNvfp4 ? 2 : 1;
  const double w_rel = roundings * u * (1 + u) + std::ldexp(1.0, -23);
  const double sub = std::is_same_v<T, __half> ? std::ldexp(1.0, -25) + std::ldexp(1.0, -38) : std::ldexp(1.0, -134);
  const double k_term = double(c.k) * std::ldexp(1.0, -23);
  OutputTally tally;
  double sub2 = 0.0;
  for_each_output(Y, h, Yref, [&](const Output& o) {
    const double m = mag[size_t(o.r * c.n + o.n)];
    const double floor_abs = sub * xabs[size_t(o.r)];
    const double tol =
        (w_rel + k_term) * m + floor_abs + std::ldexp(1.0, -21) * (o.extra + m) + eps * std::fabs(o.want) + 1e-30;
    sub2 += floor_abs * floor_abs;
    tally.add(o.got, o.want, tol, [&](double err) {
      std::ostringstream os;
      os << "Y(" << o.r << "," << o.n << ") = " << o.got << ", reference " << o.want << ", |diff| " << err << " > tol "
         << tol << " = (w_rel " << w_rel << " + K*2^-23 " << k_term << ") * magnitude " << m << " + sub * Sum|x| "
         << floor_abs << " + 2^-21 * (|bias| + |y0| + magnitude) + eps_T * |ref|";
      return os.str();
    });
  });
  ASSERT_NO_FATAL_FAILURE(expect_outputs_within_tolerance(Y, h, tally));
  // Aggregate check, sharper than the worst case: roundings are unbiased, so the RMS
  // error stays near eps_T / 2 of the RMS output (plus the subnormal floor, relative to
  // it). Two eps_T still catch a kernel that drops one 16-k step of K = 1000 (relative
  // RMS error ~ sqrt(16 / 1000) = 13 %) or one block's scale.
  const double rel_rms = tally.rel_rms();
  const double rms_bound = 2.0 * eps + std::sqrt(sub2 / std::max(tally.ref2, 1e-300));
  EXPECT_LE(rel_rms, rms_bound) << "relative RMS error " << rel_rms << " > 2 eps_T + subnormal floor = " << rms_bound;
}

// Every format x activation type on six shapes that cover M = 1, 3, 8 (one n8 column),
// 17 (the 32-token tile's tail), 64 and 130 (64-token tiles and a tail), N = 1, 61, 130
// (tails of the 64-row block) and K = 33, 100, 257, 1000 (K % 64 != 0, K % 32 != 0, a
// partial NVFP4 block); the options rotate. Then split-K with bias, accumulate and
// strides on shapes that must split, and small weights (scales below fp16's normal range).
std::vector<Case> make_cases() {
  const int64_t Ms[] = {1, 3, 8, 17, 64, 130};
  const int64_t Ns[] = {1, 61, 130};
  const int64_t Ks[] = {33, 100, 257, 1000};
  std::vector<Case> cases;
  int i = 0;
  for (Format f : kFormats)
    for (int t = 0; t < 2; ++t, ++i)
      for (int j = 0; j < 6; ++j) {
        Case c{};
        c.m = Ms[j];
        c.n = Ns[(i + j) % 3];
        c.k = Ks[(i + 3 * j) % 4];
        c.format = f;
        c.wscale = 1.0f;
        c.call.act = t == 0 ? Act::kF16 : Act::kBF16;
        c.call.split = (i + j) % 2 == 1;  // K = 1000 (the shapes that split) comes with i + j odd
        c.call.bias = (i + j) % 3 == 1;
        c.call.accumulate = (i * 7 + j) % 4 == 2;
        c.call.x_pad = (i + j) % 5 == 3 ? 3 : 0;  // odd: X not 16-byte addressable
        c.call.y_pad = (i + j) % 5 == 4 ? 5 : 0;
        cases.push_back(c);
      }
  //            M   N    K     format                   wscale  act   split bias  acc  xpad ypad
  cases.push_back({1, 130, 1000, Format::kMxfp4, 1.0f, {Act::kF16, true, true, true, 8, 8}});
  cases.push_back({8, 61, 2048, Format::kNvfp4, 1.0f, {Act::kBF16, true, true, true, 0, 3}});
  cases.push_back({17, 130, 1000, Format::kMxfp8E4M3, 1.0f, {Act::kF16, true, false, true, 1, 0}});
  cases.push_back({130, 61, 1000, Format::kMxfp8E5M2, 1.0f, {Act::kBF16, true, true, false, 0, 0}});
  cases.push_back({3, 1, 1000, Format::kNvfp4, 1.0f, {Act::kF16, true, true, true, 0, 0}});
  // Small weights: E5M2 block scales near 2^-26 (an fp16 S would be 0) and NVFP4 scales
  // below 2^-14, with most weights still normal fp16 values.
  cases.push_back({3, 130, 1000, Format::kMxfp8E5M2, 0x1p-11f, {Act::kF16, true, false, false, 0, 0}});
  cases.push_back({64, 61, 257, Format::kMxfp8E5M2, 0x1p-11f, {Act::kBF16, false, false, false, 0, 0}});
  cases.push_back({8, 130, 1000, Format::kNvfp4, 0x1p-13f, {Act::kF16, false, true, false, 0, 0}});
  cases.push_back({17, 61, 100, Format::kMxfp4, 0x1p-12f, {Act::kF16, false, false, false, 0, 0}});
  return cases;
}

class BlockFpCuda : public ::testing::TestWithParam<Case> {};

TEST_P(BlockFpCuda, MatchesReference) {
  LSGEMM_REQUIRE_DEVICE();
  const Case& c = GetParam();
  const uint64_t seed = uint64_t(c.m * 1000003 + c.n * 1009 + c.k * 17 + 5 * int(c.format)) + uint64_t(c.wscale < 1);
  if (c.call.act == Act::kF16)
    run_case<__half>(c, seed);
  else
    run_case<__nv_bfloat16>(c, seed);
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  std::ostringstream os;
  os << info.index << "_M" << c.m << "_N" << c.n << "_K" << c.k << "_" << format_label(c.format)
     << (c.wscale < 1.0f ? "_small" : "") << (c.call.act == Act::kF16 ? "_f16" : "_bf16")
     << (c.call.split ? "_splitk" : "") << (c.call.bias ? "_bias" : "") << (c.call.accumulate ? "_acc" : "")
     << (c.call.x_pad || c.call.y_pad ? "_strided" : "");
  return os.str();
}

INSTANTIATE_TEST_SUITE_P(Shapes, BlockFpCuda, ::testing::ValuesIn(make_cases()), case_name);

TEST(BlockFpCudaBadInput, RejectedArguments) {
  LSGEMM_REQUIRE_DEVICE();
  const int64_t M = 4, N = 64, K = 512;  // 8 chunks of 64 k: the plan splits (>= 4 per slice)
  const DeviceBlockFpMatrix w =
      lsgemm::block_fp::to_device(random_weight(N, K, PackOptions::mx(MxElement::kFp4E2M1), 1.0f, 3));
  const DeviceBlockFpMatrix sq =
      lsgemm::block_fp::to_device(random_weight(K, K, PackOptions::mx(MxElement::kFp8E4M3), 1.0f, 4));
  ASSERT_NO_FATAL_FAILURE(expect_arguments_checked(w, sq, M));
  // The bf16 overload checks the same way.
  EXPECT_THROW(lsgemm::matmul(lsgemm::device_view<const __nv_bfloat16>(nullptr, M, K), w,
                              lsgemm::device_view<__nv_bfloat16>(nullptr, M, N), nullptr, 0),
               lsgemm::Error);
  // A corrupted DeviceBlockFpMatrix (metadata that does not match its buffers or format).
  lsgemm::DeviceBuffer<__half> dX(size_t(M * K)), dY(size_t(M * K));
  auto call = [&](const DeviceBlockFpMatrix& bad) {
    lsgemm::matmul(lsgemm::device_view<const __half>(dX.data(), M, K, K), bad,
                   lsgemm::device_view<__half>(dY.data(), M, N, N), nullptr, 0);
  };
  DeviceBlockFpMatrix more_chunks = w.clone();
  more_chunks.kc += 1;
  EXPECT_THROW(call(more_chunks), lsgemm::Error);
  DeviceBlockFpMatrix nvfp4_block = w.clone();
  nvfp4_block.scheme = Scheme::kNvfp4;  // NVFP4 needs blocks of 16
  EXPECT_THROW(call(nvfp4_block), lsgemm::Error);
  DeviceBlockFpMatrix fp8_e2m1 = sq.clone();
  fp8_e2m1.element = MxElement::kFp4E2M1;  // 8-bit codes are E4M3 or E5M2
  EXPECT_THROW(lsgemm::matmul(lsgemm::device_view<const __half>(dX.data(), 1, K, K), fp8_e2m1,
                              lsgemm::device_view<__half>(dY.data(), 1, K, K), nullptr, 0),
               lsgemm::Error);
  LSGEMM_CUDA_CHECK(cudaDeviceSynchronize());
}

// M = 0 is a valid empty product: no launch, no error, Y untouched.
TEST(BlockFpCudaEdge, EmptyM) {
  LSGEMM_REQUIRE_DEVICE();
  expect_empty_product(
      lsgemm::block_fp::to_device(random_weight(64, 256, PackOptions::mx(MxElement::kFp4E2M1), 1.0f, 9)));
}

}  // namespace
