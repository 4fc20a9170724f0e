#pragma once
// lsgemm: low-bit and sparse GEMM kernels. All a user includes.
//   auto w = lsgemm::int_quant::pack(W, lsgemm::int_quant::PackOptions().with_bits(4));
//   lsgemm::matmul(X, w, Y);             // the path of this TU's static SIMD target
//   lsgemm::reference::matmul(X, w, Y);  // the oracle
//   auto Wd = lsgemm::dequantize(w);     // back to dense (Eigen when available)
#include "lsgemm/bitmap_sparse/format.hpp"
#include "lsgemm/bitmap_sparse/reference.hpp"
#include "lsgemm/block_fp/format.hpp"
#include "lsgemm/block_fp/reference.hpp"
#include "lsgemm/core/buffer.hpp"
#include "lsgemm/core/epilogue.hpp"
#include "lsgemm/core/error.hpp"
#include "lsgemm/core/matrix.hpp"
#include "lsgemm/core/numeric.hpp"
#include "lsgemm/core/parallel.hpp"
#include "lsgemm/dispatch.hpp"
#include "lsgemm/int_quant/format.hpp"
#include "lsgemm/int_quant/reference.hpp"
#include "lsgemm/lut/format.hpp"
#include "lsgemm/lut/reference.hpp"
#include "lsgemm/nm_sparse/format.hpp"
#include "lsgemm/nm_sparse/reference.hpp"

#if __has_include(<Eigen/Core>)
#include <Eigen/Core>
#include <new>
namespace lsgemm {
// Row-major N x K float copy of a packed weight (for checks and fallbacks).
using DenseMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
// The packed object is checked before the matrix is sized (a corrupt n or k must give
// lsgemm::Error, not an Eigen assertion or std::bad_alloc).
namespace detail {
inline DenseMatrix alloc_dense(int64_t n, int64_t k, const char* where) {
  try {
    return DenseMatrix(n, k);
  } catch (const std::bad_alloc&) {
    fail(where, ": cannot allocate a ", n, "x", k, " float matrix (out of memory)");
  }
}
}  // namespace detail
LSGEMM_ABI_BEGIN
inline DenseMatrix dequantize(const int_quant::QuantizedMatrix& w) {
  int_quant::detail::check_packed(w, "int_quant::dequantize");
  DenseMatrix d = lsgemm::detail::alloc_dense(w.n, w.k, "int_quant::dequantize");
  int_quant::dequantize(w, view(d.data(), w.n, w.k));
  return d;
}
inline DenseMatrix dequantize(const block_fp::BlockFpMatrix& w) {
  block_fp::detail::check_packed(w, "block_fp::dequantize");
  DenseMatrix d = lsgemm::detail::alloc_dense(w.n, w.k, "block_fp::dequantize");
  block_fp::dequantize(w, view(d.data(), w.n, w.k));
  return d;
}
inline DenseMatrix dequantize(const lut::LutMatrix& w) {
  lut::detail::check_packed(w, "lut::dequantize");
  DenseMatrix d = lsgemm::detail::alloc_dense(w.n, w.k, "lut::dequantize");
  lut::dequantize(w, view(d.data(), w.n, w.k));
  return d;
}
inline DenseMatrix dequantize(const nm_sparse::NmSparseMatrix& w) {
  nm_sparse::detail::check_packed(w, "nm_sparse::dequantize");
  DenseMatrix d = lsgemm::detail::alloc_dense(w.n, w.k, "nm_sparse::dequantize");
  nm_sparse::dequantize(w, view(d.data(), w.n, w.k));
  return d;
}
inline DenseMatrix dequantize(const bitmap_sparse::BitmapSparseMatrix& w) {
  bitmap_sparse::detail::check_packed(w, "bitmap_sparse::dequantize");
  DenseMatrix d = lsgemm::detail::alloc_dense(w.n, w.k, "bitmap_sparse::dequantize");
  bitmap_sparse::dequantize(w, view(d.data(), w.n, w.k));
  return d;
}
LSGEMM_ABI_END
}  // namespace lsgemm
#endif
