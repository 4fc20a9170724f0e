#pragma once
// int_quant oracle: the format's definition as plain loops. No SIMD, no tiling, no
// reordering tricks: double accumulation in float mode, exact int64 group sums in int8
// mode. Every optimized path is tested against this.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "lsgemm/core/act_quant.hpp"
#include "lsgemm/core/epilogue.hpp"
#include "lsgemm/core/error.hpp"
#include "lsgemm/core/matrix.hpp"
#include "lsgemm/int_quant/format.hpp"

namespace lsgemm {
namespace int_quant {
LSGEMM_ABI_BEGIN

// X quantized for int8 mode, exactly as every kernel must do it (this is the
// definition): per row m and weight group g over the columns that are not outliers,
//   amax = max |x|, then core/act_quant.hpp: a zero block below kTinyAmax, else
//   inv = 127.0f / amax (float division), xq = nearest-even(x * inv) (one float
//   multiply) clamped to [-127, 127], sx = amax / 127.0f;  qsum = sum xq.
// Columns at or beyond K and outlier columns get xq = 0. X must be finite with
// |x| <= kMaxAbsX everywhere, outlier columns included (matmul throws otherwise).
struct QuantizedActs {
  int64_t m = 0, kp = 0, groups = 0;
  std::vector<int8_t> q;       // m * kp
  std::vector<float> sx;       // m * groups
  std::vector<int32_t> qsum;   // m * groups
};

// Columns k where some |X[m][k]| > threshold (LLM.int8() outlier features).
inline std::vector<int64_t> outlier_columns(HostView<const float> X, float threshold) {
  std::vector<int64_t> cols;
  if (threshold <= 0.0f) return cols;
  for (int64_t c = 0; c < X.cols; ++c)
    for (int64_t r = 0; r < X.rows; ++r)
      if (std::fabs(X(r, c)) > threshold) {
        cols.push_back(c);
        break;
      }
  return cols;
}

inline QuantizedActs quantize_activations(HostView<const float> X, const QuantizedMatrix& w,
                                          const std::vector<int64_t>& outliers) {
  QuantizedActs a;
  a.m = X.rows;
  a.kp = w.kp;
  a.groups = w.groups();
  a.q.assign(size_t(a.m * a.kp), 0);
  a.sx.assign(size_t(a.m * a.groups), 0.0f);
  a.qsum.assign(size_t(a.m * a.groups), 0);
  std::vector<char> is_out(size_t(w.kp), 0);
  for (int64_t c : outliers) is_out[size_t(c)] = 1;
  for (int64_t r = 0; r < a.m; ++r)
    for (int64_t g = 0; g < a.groups; ++g) {
      const int64_t k0 = g * w.group, k1 = std::min<int64_t>(k0 + w.group, w.k);
      float amax = 0.0f;
      for (int64_t c = k0; c < k1; ++c)
        if (!is_out[size_t(c)]) amax = std::max(amax, std::fabs(X(r, c)));
      float inv, sx;
      if (!int8_block_scale(amax, inv, sx)) continue;
      int32_t sum = 0;
      for (int64_t c = k0; c < k1; ++c) {
        if (is_out[size_t(c)]) continue;
        const int q = quantize_int8(X(r, c), inv);
        a.q[size_t(r * a.kp + c)] = int8_t(q);
        sum += q;
      }
      a.sx[size_t(r * a.groups + g)] = sx;
      a.qsum[size_t(r * a.groups + g)] = sum;
    }
  return a;
}

LSGEMM_ABI_END
}  // namespace int_quant

namespace reference {
LSGEMM_ABI_BEGIN

// Y = X * W^T (+ bias) for int_quant weights, in the weights' activation mode.
inline void matmul(HostView<const float> X, const int_quant::QuantizedMatrix& w, HostView<float> Y,
                   const Epilogue& epi = {}) {
  using namespace int_quant;
  lsgemm::detail::check_matmul_shapes(X, w.n, w.k, Y);
  int_quant::detail::check_packed(w, "int_quant::matmul");
  const int64_t M = X.rows, N = w.n, K = w.k, G = w.groups();
  std::vector<double> acc(static_cast<size_t>(N));
  if (w.act == ActMode::kFloat) {
    for (int64_t m = 0; m < M; ++m) {
      for (int64_t n = 0; n < N; ++n) {
        double s = 0.0;
        for (int64_t c = 0; c < K; ++c) {
          const int64_t g = c / w.group;
          const double wd = double(w.scale(n, g)) * double(w.code(n, c) - w.zero(n, g));
          s += double(X(m, c)) * wd;
        }
        acc[size_t(n)] = s;
      }
      for (int64_t n = 0; n < N; ++n) {
        Y(m, n) = float(apply_epilogue(epi, acc[size_t(n)], n, Y(m, n)));
      }
    }
    return;
  }
  lsgemm::detail::require_acts_in_range(X, 0, M, "int_quant::matmul", "int8 activation mode");
  const std::vector<int64_t> outl = outlier_columns(X, w.outlier_threshold);
  const QuantizedActs a = quantize_activations(X, w, outl);
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < N; ++n) {
      double s = 0.0;
      for (int64_t g = 0; g < G; ++g) {
        int64_t isum = 0;
        for (int64_t c = g * w.group; c < std::min<int64_t>((g + 1) * w.group, K); ++c)
          isum += int64_t(w.code(n, c)) * a.q[size_t(m * a.kp + c)];
        isum -= int64_t(w.zero(n, g)) * a.qsum[size_t(m * G + g)];
        s += double(a.sx[size_t(m * G + g)]) * double(w.scale(n, g)) * double(isum);
      }
      for (int64_t c : outl) {
        const int64_t g = c / w.group;
        s += double(X(m, c)) * double(w.scale(n, g)) * double(w.code(n, c) - w.zero(n, g));
      }
      acc[size_t(n)] = s;
    }
    for (int64_t n = 0; n < N; ++n) {
      Y(m, n) = float(apply_epilogue(epi, acc[size_t(n)], n, Y(m, n)));
    }
  }
}

// Per output (m, n): the sum of |terms| that a float kernel adds up, the quantity its
// rounding error scales with: sum_k |x_k| * s * (q + z) (x quantized in int8 mode).
// Tests turn it into a tolerance: tol = c * eps_f32 * terms * magnitude.
inline std::vector<double> matmul_magnitude(HostView<const float> X, const int_quant::QuantizedMatrix& w) {
  using namespace int_quant;
  const int64_t M = X.rows, N = w.n, K = w.k;
  std::vector<double> mag(size_t(M * N), 0.0);
  QuantizedActs a;
  std::vector<int64_t> outl;
  if (w.act == ActMode::kInt8) {
    outl = outlier_columns(X, w.outlier_threshold);
    a = quantize_activations(X, w, outl);
  }
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double s = 0.0;
      for (int64_t c = 0; c < K; ++c) {
        const int64_t g = c / w.group;
        double x = std::fabs(double(X(m, c)));
        if (w.act == ActMode::kInt8 && a.q[size_t(m * a.kp + c)] != 0)
          x = std::fabs(double(a.q[size_t(m * a.kp + c)]) * a.sx[size_t(m * a.groups + g)]);
        s += x * double(w.scale(n, g)) * double(w.code(n, c) + w.zero(n, g));
      }
      mag[size_t(m * N + n)] = s;
    }
  return mag;
}

LSGEMM_ABI_END
}  // namespace reference
}  // namespace lsgemm
