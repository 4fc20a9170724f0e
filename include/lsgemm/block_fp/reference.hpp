#pragma once
// block_fp oracle: the format's definition as plain loops. Float mode: double sums of
// x * w (w = the f32 weight, format.hpp). Int8 (W+A) mode: X quantized per weight block
// to MXINT8, exact integer block sums, and the f32 accumulation that defines the result
// (format.hpp), so that the kernels must match it bit for bit.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "lsgemm/block_fp/format.hpp"
#include "lsgemm/core/act_quant.hpp"
#include "lsgemm/core/epilogue.hpp"
#include "lsgemm/core/error.hpp"
#include "lsgemm/core/matrix.hpp"
#include "lsgemm/core/numeric.hpp"

namespace lsgemm {
namespace block_fp {
LSGEMM_ABI_BEGIN

// The MXINT8 scale of a block of X (the W+A mode): a zero block below kTinyAmax (as every
// int8 activation path, core/act_quant.hpp); else se = floor(log2 amax), inv = 2^(6 - se)
// and sx = 2^(se - 6), so xq = nearest-even(x * inv) has |xq| <= 128 before the clamp to
// [-127, 127] (OCP MXINT8: elements of 2^-6, the shared exponent of amax). Both are
// powers of two within f32's normal range for kTinyAmax <= amax <= kMaxAbsX.
inline bool mx_x_scale(float amax, float& inv, float& sx) {
  if (!(amax >= kTinyAmax)) {
    inv = sx = 0.0f;
    return false;
  }
  const int se = floor_log2(amax);
  inv = std::ldexp(1.0f, 6 - se);
  sx = std::ldexp(1.0f, se - 6);
  return true;
}

// The W+A integer element of a code: v / int_unit(), with int_unit() = 1/2 for E2M1 (MX
// FP4, NVFP4), 1/8 for MXFP6 E2M3, 1 for MXINT8 and BFP (Sq = S * int_unit()).
inline float int_unit(const BlockFpMatrix& w) {
  if (w.scheme == Scheme::kNvfp4 || (w.scheme == Scheme::kMx && w.element == MxElement::kFp4E2M1)) return 0.5f;
  if (w.scheme == Scheme::kMx && w.element == MxElement::kFp6E2M3) return 0.125f;
  return 1.0f;
}
inline int int_element(const BlockFpMatrix& w, int code) { return int(w.element_value(code) / int_unit(w)); }

// The epilogue the W+A result goes through: NVFP4's tensor scale joins alpha (format.hpp).
inline Epilogue w_plus_a_epilogue(const BlockFpMatrix& w, Epilogue e) {
  if (w.scheme == Scheme::kNvfp4) e.alpha *= w.tensor_scale;
  return e;
}

// The epilogue of the W+A mode in f32, in the order the kernels apply it (the result is
// defined in f32 there, core/epilogue.hpp's double version rounds differently).
inline float apply_epilogue_f32(const Epilogue& e, float acc, int64_t n, float y_old) {
  float v = e.alpha != 1.0f ? acc * e.alpha : acc;
  if (e.bias) v += e.bias[n];
  if (e.accumulate) v += y_old;
  return v;
}

LSGEMM_ABI_END
}  // namespace block_fp

namespace reference {
LSGEMM_ABI_BEGIN

// Y = X * W^T (+ epilogue) for block_fp weights, in the weights' activation mode.
inline void matmul(HostView<const float> X, const block_fp::BlockFpMatrix& w, HostView<float> Y,
                   const Epilogue& epi = {}) {
  using namespace block_fp;
  lsgemm::detail::check_matmul_shapes(X, w.n, w.k, Y);
  block_fp::detail::check_packed(w, "block_fp::matmul");
  block_fp::detail::check_channels(w, "block_fp::matmul");
  const int64_t M = X.rows, N = w.n, K = w.k, G = w.groups(), B = w.block;
  if (w.act == ActMode::kFloat) {
    std::vector<double> acc(static_cast<size_t>(N));
    for (int64_t m = 0; m < M; ++m) {
      for (int64_t n = 0; n < N; ++n) {
        double s = 0.0;
        for (int64_t c = 0; c < K; ++c) s += double(X(m, w.channel(c))) * double(w.weight(n, c));
        acc[size_t(n)] = s;
      }
      for (int64_t n = 0; n < N; ++n) Y(m, n) = float(apply_epilogue(epi, acc[size_t(n)], n, Y(m, n)));
    }
    return;
  }
  lsgemm::detail::require_acts_in_range(X, 0, M, "block_fp::matmul", "int8 (W+A) activation mode");
  const Epilogue wa_epi = w_plus_a_epilogue(w, epi);
  std::vector<int> xq(static_cast<size_t>(G * B));
  std::vector<float> sx(static_cast<size_t>(G)), y(static_cast<size_t>(N));
  for (int64_t m = 0; m < M; ++m) {
    std::fill(xq.begin(), xq.end(), 0);
    for (int64_t g = 0; g < G; ++g) {
      const int64_t k0 = g * B, k1 = std::min(k0 + B, K);
      float amax = 0.0f;
      for (int64_t c = k0; c < k1; ++c) amax = std::max(amax, std::fabs(X(m, w.channel(c))));
      float inv;
      if (!mx_x_scale(amax, inv, sx[size_t(g)])) continue;
      for (int64_t c = k0; c < k1; ++c) xq[size_t(c)] = quantize_int8(X(m, w.channel(c)), inv);
    }
    for (int64_t n = 0; n < N; ++n) {
      float acc = 0.0f;
      for (int64_t g = 0; g < G; ++g) {
        int64_t isum = 0;
        for (int64_t c = g * B; c < std::min((g + 1) * B, K); ++c)
          isum += int64_t(int_element(w, w.code(n, c))) * xq[size_t(c)];
        const float s = (w.block_scale_byte_value(n, g) * int_unit(w)) * sx[size_t(g)];
        acc = acc + float(isum) * s;  // float(isum) * s is exact (format.hpp)
      }
      y[size_t(n)] = acc;
    }
    for (int64_t n = 0; n < N; ++n) Y(m, n) = apply_epilogue_f32(wa_epi, y[size_t(n)], n, Y(m, n));
  }
}

// Per output (m, n): sum_k |x_k| * |w_k|, what a float kernel's rounding error scales with.
inline std::vector<double> matmul_magnitude(HostView<const float> X, const block_fp::BlockFpMatrix& w) {
  const int64_t M = X.rows, N = w.n, K = w.k;
  std::vector<double> mag(static_cast<size_t>(M * N), 0.0);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double s = 0.0;
      for (int64_t c = 0; c < K; ++c)
        s += std::fabs(double(X(m, w.channel(c)))) * std::fabs(double(w.weight(n, c)));
      mag[size_t(m * N + n)] = s;
    }
  return mag;
}

LSGEMM_ABI_END
}  // namespace reference
}  // namespace lsgemm
