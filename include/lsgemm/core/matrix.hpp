#pragma once
// Non-owning row-major matrix views, tagged with the memory space they live in.
// A view is (data, rows, cols, ld): element (r, c) is data[r * ld + c], ld >= cols.
// Host views feed the CPU paths; Device views (CUDA builds) feed the CUDA path, and
// dispatch.hpp chooses by the tag, at compile time.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "lsgemm/core/error.hpp"

namespace lsgemm {

struct Host {};
struct Device {};

template <class T, class Space = Host>
struct MatrixView {
  T* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t ld = 0;  // elements between consecutive rows; >= cols

  constexpr MatrixView() = default;
  constexpr MatrixView(T* d, int64_t r, int64_t c, int64_t l) : data(d), rows(r), cols(c), ld(l) {}
  constexpr MatrixView(T* d, int64_t r, int64_t c) : data(d), rows(r), cols(c), ld(c) {}
  // A view of T converts to a view of const T.
  template <class U, class = std::enable_if_t<std::is_same_v<const U, T>>>
  constexpr MatrixView(const MatrixView<U, Space>& o) : data(o.data), rows(o.rows), cols(o.cols), ld(o.ld) {}

  T* row(int64_t r) const { return data + r * ld; }
  T& operator()(int64_t r, int64_t c) const { return data[r * ld + c]; }
  bool empty() const { return rows == 0 || cols == 0; }
};

template <class T> using HostView = MatrixView<T, Host>;
template <class T> using DeviceView = MatrixView<T, Device>;

// Convenience constructors.
template <class T>
MatrixView<T, Host> view(T* data, int64_t rows, int64_t cols, int64_t ld = -1) {
  return {data, rows, cols, ld < 0 ? cols : ld};
}
template <class T>
MatrixView<T, Device> device_view(T* data, int64_t rows, int64_t cols, int64_t ld = -1) {
  return {data, rows, cols, ld < 0 ? cols : ld};
}

namespace detail {

// Checks one view: non-negative sizes, ld >= cols, non-null data when not empty.
template <class T, class S>
void check_view(const MatrixView<T, S>& v, const char* name) {
  require(v.rows >= 0 && v.cols >= 0, name, ": rows and cols must be >= 0, got ", v.rows, "x",
          v.cols);
  require(v.ld >= v.cols, name, ": leading dimension ld=", v.ld, " must be >= cols=", v.cols);
  require(v.rows == 0 || v.cols == 0 || v.data != nullptr, name,
          ": data is null for a non-empty ", v.rows, "x", v.cols, " view");
}

// Y[M x N] = X[M x K] * W^T with W of N x K: the shape checks shared by all families.
template <class TX, class TY, class S>
void check_matmul_shapes(const MatrixView<TX, S>& X, int64_t n, int64_t k,
                         const MatrixView<TY, S>& Y) {
  check_view(X, "X");
  check_view(Y, "Y");
  require(X.cols == k, "X has ", X.cols, " columns but the packed weight has K=", k,
          " (X must be M x K)");
  require(Y.rows == X.rows, "Y has ", Y.rows, " rows but X has M=", X.rows,
          " (Y must be M x N)");
  require(Y.cols == n, "Y has ", Y.cols, " columns but the packed weight has N=", n,
          " (Y must be M x N)");
}

// The dequantize(w, out) of every family: checks that out is a valid N x K view, then
// copies the row-major N x K matrix that make() returns (the family's
// dequantize_to_vector, called only once out has passed) into it.
template <class Make>
void dequantize_into(HostView<float> out, int64_t n, int64_t k, const char* where, const Make& make) {
  check_view(out, "out");
  require(out.rows == n && out.cols == k, where, ": out is ", out.rows, "x", out.cols, ", must be N x K = ", n, "x", k);
  const std::vector<float> d = make();
  for (int64_t r = 0; r < n; ++r) std::memcpy(out.row(r), &d[size_t(r * k)], size_t(k) * sizeof(float));
}

}  // namespace detail
}  // namespace lsgemm
