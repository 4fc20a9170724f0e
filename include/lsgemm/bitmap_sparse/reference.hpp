#pragma once
// bitmap_sparse oracle: the format's definition as plain loops. Each output is the double
// sum of value * x over the row's stored values (format.hpp: int8 values are s * q, the
// f32 product), then the epilogue. The object is validated first (O(size), the order of
// the product itself): the walk trusts its offsets.
#include <cmath>
#include <cstdint>
#include <vector>

#include "lsgemm/bitmap_sparse/format.hpp"
#include "lsgemm/core/epilogue.hpp"
#include "lsgemm/core/matrix.hpp"

namespace lsgemm {
namespace reference {
LSGEMM_ABI_BEGIN

// Y = X * W^T (+ epilogue) for bitmap_sparse weights.
inline void matmul(HostView<const float> X, const bitmap_sparse::BitmapSparseMatrix& w, HostView<float> Y,
                   const Epilogue& epi = {}) {
  lsgemm::detail::check_matmul_shapes(X, w.n, w.k, Y);
  bitmap_sparse::validate(w);
  std::vector<double> acc(static_cast<size_t>(w.n));
  for (int64_t m = 0; m < X.rows; ++m) {
    for (int64_t n = 0; n < w.n; ++n) {
      double s = 0.0;
      w.for_each_stored(n, [&](int64_t c, int64_t i) { s += double(X(m, c)) * double(w.value(i, n, c)); });
      acc[size_t(n)] = s;
    }
    for (int64_t n = 0; n < w.n; ++n) Y(m, n) = float(apply_epilogue(epi, acc[size_t(n)], n, Y(m, n)));
  }
}

// Per output (m, n): the sum of |x| * |value| over the stored values, what a kernel's
// rounding error scales with.
inline std::vector<double> matmul_magnitude(HostView<const float> X, const bitmap_sparse::BitmapSparseMatrix& w) {
  bitmap_sparse::validate(w);
  std::vector<double> mag(static_cast<size_t>(X.rows * w.n), 0.0);
  for (int64_t m = 0; m < X.rows; ++m)
    for (int64_t n = 0; n < w.n; ++n) {
      double s = 0.0;
      w.for_each_stored(n, [&](int64_t c, int64_t i) { s += std::fabs(double(X(m, c)) * double(w.value(i, n, c))); });
      mag[size_t(m * w.n + n)] = s;
    }
  return mag;
}

LSGEMM_ABI_END
}  // namespace reference
}  // namespace lsgemm
