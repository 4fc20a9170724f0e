#pragma once
// nm_sparse oracle: the format's definition as plain loops. Each output is the double sum
// of value * x over the row's slots (a slot's column: format.hpp), then the epilogue;
// int8 activation mode: per group the exact int sum of code * xq, times sx * s.
// Slots pointing into the K padding hold 0 (validate()) and are skipped.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "lsgemm/core/act_quant.hpp"
#include "lsgemm/core/epilogue.hpp"
#include "lsgemm/core/matrix.hpp"
#include "lsgemm/nm_sparse/format.hpp"

namespace lsgemm {
namespace nm_sparse {
namespace detail {
// Int8 activation mode: row m of X quantized per weight group as every kernel must
// (core/act_quant.hpp): xq (kp entries, 0 past K) and sx (a scale per group).
inline void quantize_x_row(HostView<const float> X, int64_t m, const NmSparseMatrix& w, std::vector<int>& xq,
                           std::vector<float>& sx) {
  xq.assign(static_cast<size_t>(w.kp), 0);
  sx.assign(static_cast<size_t>(w.groups()), 0.0f);
  for (int64_t g = 0; g < w.groups(); ++g) {
    const int64_t k0 = g * w.group, k1 = std::min<int64_t>(k0 + w.group, w.k);
    float amax = 0.0f, inv;
    for (int64_t c = k0; c < k1; ++c) amax = std::max(amax, std::fabs(X(m, c)));
    if (!int8_block_scale(amax, inv, sx[size_t(g)])) continue;
    for (int64_t c = k0; c < k1; ++c) xq[size_t(c)] = quantize_int8(X(m, c), inv);
  }
}
}  // namespace detail
}  // namespace nm_sparse

namespace reference {
LSGEMM_ABI_BEGIN

// Y = X * W^T (+ epilogue) for nm_sparse weights, in the weights' activation mode.
inline void matmul(HostView<const float> X, const nm_sparse::NmSparseMatrix& w, HostView<float> Y,
                   const Epilogue& epi = {}) {
  lsgemm::detail::check_matmul_shapes(X, w.n, w.k, Y);
  nm_sparse::detail::check_packed(w, "nm_sparse::matmul");
  const int64_t M = X.rows, N = w.n, S = w.slots();
  std::vector<double> acc(static_cast<size_t>(N));
  if (w.act == ActMode::kInt8) {
    // X per row and weight group (core/act_quant.hpp), then per group the exact integer
    // sum of code * xq over the row's slots, times sx * s.
    lsgemm::detail::require_acts_in_range(X, 0, M, "nm_sparse::matmul", "int8 activation mode");
    const int64_t G = w.groups(), per_group = w.group / w.run * w.nnz;
    std::vector<int> xq;
    std::vector<float> sx;
    for (int64_t m = 0; m < M; ++m) {
      nm_sparse::detail::quantize_x_row(X, m, w, xq, sx);
      for (int64_t n = 0; n < N; ++n) {
        double s = 0.0;
        for (int64_t g = 0; g < G; ++g) {
          int64_t isum = 0;
          for (int64_t j = g * per_group; j < (g + 1) * per_group; ++j)
            isum += int64_t(w.code(n, j)) * xq[size_t(w.column(n, j))];
          s += double(sx[size_t(g)]) * double(w.scale(n, g)) * double(isum);
        }
        acc[size_t(n)] = s;
      }
      for (int64_t n = 0; n < N; ++n) Y(m, n) = float(apply_epilogue(epi, acc[size_t(n)], n, Y(m, n)));
    }
    return;
  }
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < N; ++n) {
      double s = 0.0;
      for (int64_t j = 0; j < S; ++j) {
        const int64_t c = w.column(n, j);
        if (c < w.k) s += double(X(m, c)) * double(w.value(n, j));
      }
      acc[size_t(n)] = s;
    }
    for (int64_t n = 0; n < N; ++n) Y(m, n) = float(apply_epilogue(epi, acc[size_t(n)], n, Y(m, n)));
  }
}

// Per output (m, n): what a kernel's rounding error scales with. Float activations: the
// sum over slots of |x| * |value|. Int8 mode (exact int sums): sum over groups of
// |sx| * |s| * sum |code * xq|, the terms of the per-group f32 epilogue.
inline std::vector<double> matmul_magnitude(HostView<const float> X, const nm_sparse::NmSparseMatrix& w) {
  const int64_t M = X.rows, N = w.n, S = w.slots();
  std::vector<double> mag(static_cast<size_t>(M * N), 0.0);
  std::vector<int> xq;
  std::vector<float> sx;
  for (int64_t m = 0; m < M; ++m) {
    if (w.act == ActMode::kInt8) nm_sparse::detail::quantize_x_row(X, m, w, xq, sx);
    for (int64_t n = 0; n < N; ++n) {
      double s = 0.0;
      for (int64_t j = 0; j < S; ++j) {
        const int64_t c = w.column(n, j);
        if (c >= w.k) continue;
        if (w.act == ActMode::kInt8) {
          const int64_t g = c / w.group;
          s += double(sx[size_t(g)]) * double(w.scale(n, g)) * std::fabs(double(w.code(n, j)) * xq[size_t(c)]);
        } else {
          s += std::fabs(double(X(m, c))) * std::fabs(double(w.value(n, j)));
        }
      }
      mag[size_t(m * N + n)] = s;
    }
  }
  return mag;
}

LSGEMM_ABI_END
}  // namespace reference
}  // namespace lsgemm
