#pragma once
// nm_sparse oracle: the format's definition as plain loops. Each output is the double sum
// of value * x over the row's slots (a slot's column: format.hpp), then the epilogue.
// Slots pointing into the K padding hold 0 (validate()) and are skipped.
#include <cmath>
#include <cstdint>
#include <vector>

#include "lsgemm/core/epilogue.hpp"
#include "lsgemm/core/matrix.hpp"
#include "lsgemm/nm_sparse/format.hpp"

namespace lsgemm {
namespace reference {
LSGEMM_ABI_BEGIN

// Y = X * W^T (+ epilogue) for nm_sparse weights.
inline void matmul(HostView<const float> X, const nm_sparse::NmSparseMatrix& w, HostView<float> Y,
                   const Epilogue& epi = {}) {
  lsgemm::detail::check_matmul_shapes(X, w.n, w.k, Y);
  nm_sparse::detail::check_packed(w, "nm_sparse::matmul");
  const int64_t M = X.rows, N = w.n, S = w.slots();
  std::vector<double> acc(static_cast<size_t>(N));
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

// Per output (m, n): sum over slots of |x| * |value|, what a float kernel's rounding
// error scales with.
inline std::vector<double> matmul_magnitude(HostView<const float> X, const nm_sparse::NmSparseMatrix& w) {
  const int64_t M = X.rows, N = w.n, S = w.slots();
  std::vector<double> mag(static_cast<size_t>(M * N), 0.0);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double s = 0.0;
      for (int64_t j = 0; j < S; ++j) {
        const int64_t c = w.column(n, j);
        if (c < w.k) s += std::fabs(double(X(m, c))) * std::fabs(double(w.value(n, j)));
      }
      mag[size_t(m * N + n)] = s;
    }
  return mag;
}

LSGEMM_ABI_END
}  // namespace reference
}  // namespace lsgemm
