#pragma once
// What the families' CUDA tests share: the device guard, the activation types and their
// conversions, random weights, the host operands of one product (X, Y's initial contents
// and a bias, with the ld padding holding a sentinel), the device run of that product, the
// check that the padding kept its sentinel, the tally of the outputs against an oracle, and
// the checks every family's matmul makes on its arguments.
//
// The matmul calls below are unqualified on purpose: argument-dependent lookup at the
// point of instantiation finds the overload of whichever family header the test included,
// so this header does not need to include (and compile) both families' kernels.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "lsgemm/core/cuda/common.cuh"
#include "lsgemm/core/cuda/cta_launch.cuh"
#include "lsgemm/core/epilogue.hpp"
#include "lsgemm/core/error.hpp"
#include "lsgemm/core/matrix.hpp"

// Skips the test on a machine without a usable device; ctest reports it as skipped, and
// the reason the runtime gave is in the skip message.
#define LSGEMM_REQUIRE_DEVICE()                                                                      \
  do {                                                                                               \
    std::string why_;                                                                                \
    if (!::lsgemm::detail::cuda_device_available(&why_)) GTEST_SKIP() << "no CUDA device: " << why_; \
  } while (0)

namespace lsgemm_cuda_test {

enum class Act { kF16, kBF16 };

template <class T>
T to_t(float v) {
  return lsgemm::detail::from_f32<T>(v);
}
template <class T>
float from_t(T v) {
  return lsgemm::detail::to_f32(v);
}

// Machine epsilon of the activation / output type: 2^-10 (fp16), 2^-7 (bf16).
template <class T>
double type_eps() {
  return std::is_same_v<T, __half> ? std::ldexp(1.0, -10) : std::ldexp(1.0, -7);
}

// An n x k weight, scale * N(0, 1), drawn with `seed` row by row.
inline std::vector<float> random_weights(int64_t n, int64_t k, float scale, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> W(size_t(n * k));
  for (auto& v : W) v = scale * normal(rng);
  return W;
}

// Rows of X and Y beyond the logical columns (ld padding) hold this and must keep it.
constexpr float kSentinel = 12345.0f;

// How a case calls matmul: what both families' cases vary in the same way.
struct CallOptions {
  Act act;
  bool split;            // pass the workspace workspace_bytes() asks for (else none)
  bool bias, accumulate;  // the epilogue
  int64_t x_pad, y_pad;  // ld = cols + pad (an odd pad makes X not 16-byte addressable)

  // The tail of a case's description: " fp16 split-K bias accumulate ldx=K+3 ldy=N+5".
  std::string describe() const {
    std::ostringstream os;
    os << (act == Act::kF16 ? " fp16" : " bf16") << (split ? " split-K" : " no-split") << (bias ? " bias" : "")
       << (accumulate ? " accumulate" : "") << " ldx=K+" << x_pad << " ldy=N+" << y_pad;
    return os.str();
  }
};

// The host side of one product: X (m x k in rows of ldx) rounded to T and Y's initial
// contents (m x n in rows of ldy) rounded to TY, both with kSentinel in the ld padding;
// the same rounded values as dense float arrays (Xf: m x k, y0f: m x n) for the oracles,
// so that the only differences left are the kernel's own roundings; and n bias values.
template <class T, class TY>
struct HostOperands {
  int64_t m = 0, n = 0, k = 0, ldx = 0, ldy = 0;
  bool use_bias = false, accumulate = false;
  std::vector<T> X;
  std::vector<float> Xf;
  std::vector<TY> Y0;
  std::vector<float> y0f;
  std::vector<float> bias;

  // The epilogue of the host oracles, over the host bias.
  lsgemm::Epilogue host_epilogue() const {
    lsgemm::Epilogue epi;
    epi.bias = use_bias ? bias.data() : nullptr;
    epi.accumulate = accumulate;
    return epi;
  }
};

// Draws the operands from `normal` in a fixed order: X row by row, then Y (only when
// accumulating; otherwise Y starts at zero and draws nothing), then the bias. Each test's
// cases are seeded, so this order is part of what a case computes. The distribution is
// passed by reference because it caches values between calls.
template <class T, class TY>
HostOperands<T, TY> draw_operands(int64_t m, int64_t n, int64_t k, const CallOptions& call, std::mt19937_64& rng,
                                  std::normal_distribution<float>& normal) {
  HostOperands<T, TY> h;
  h.m = m;
  h.n = n;
  h.k = k;
  h.ldx = k + call.x_pad;
  h.ldy = n + call.y_pad;
  h.use_bias = call.bias;
  h.accumulate = call.accumulate;
  const bool accumulate = call.accumulate;
  h.X.assign(size_t(m * h.ldx), to_t<T>(kSentinel));
  h.Xf.assign(size_t(m * k), 0.0f);
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 0; c < k; ++c) {
      const T v = to_t<T>(normal(rng));
      h.X[size_t(r * h.ldx + c)] = v;
      h.Xf[size_t(r * k + c)] = from_t(v);
    }
  h.Y0.assign(size_t(m * h.ldy), to_t<TY>(kSentinel));
  h.y0f.assign(size_t(m * n), 0.0f);
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 0; c < n; ++c) {
      const TY v = to_t<TY>(accumulate ? normal(rng) : 0.0f);
      h.Y0[size_t(r * h.ldy + c)] = v;
      h.y0f[size_t(r * n + c)] = from_t(v);
    }
  h.bias.resize(size_t(n));
  for (auto& v : h.bias) v = normal(rng);
  return h;
}

// Runs matmul(X, wd, Y) on the device from h's X and initial Y, with h's bias and
// accumulate flag and a workspace of ws bytes (none when 0), and returns Y as it came
// back, ld padding included.
template <class T, class TY, class W>
std::vector<TY> run_on_device(const W& wd, const HostOperands<T, TY>& h, size_t ws) {
  lsgemm::DeviceBuffer<T> dX(h.X.size());
  lsgemm::DeviceBuffer<TY> dY(h.Y0.size());
  lsgemm::DeviceBuffer<float> dBias(h.bias.size());
  dX.upload(h.X.data(), h.X.size());
  dY.upload(h.Y0.data(), h.Y0.size());
  dBias.upload(h.bias.data(), h.bias.size());
  lsgemm::DeviceBuffer<unsigned char> dWs(ws);
  lsgemm::Epilogue epi;
  epi.bias = h.use_bias ? dBias.data() : nullptr;
  epi.accumulate = h.accumulate;
  matmul(lsgemm::device_view<const T>(dX.data(), h.m, h.k, h.ldx), wd,
         lsgemm::device_view<TY>(dY.data(), h.m, h.n, h.ldy), ws ? dWs.data() : nullptr, ws, 0, epi);
  LSGEMM_CUDA_CHECK(cudaDeviceSynchronize());
  std::vector<TY> Y(h.Y0.size());
  dY.download(Y.data(), Y.size());
  return Y;
}

// Y's ld padding (columns n .. ldy - 1 of each row) must still hold the sentinel: the
// kernel writes nothing outside the view. Fatal at the first cell that changed; callers
// wrap it in ASSERT_NO_FATAL_FAILURE so that the case stops there.
template <class T, class TY>
void expect_padding_kept(const std::vector<TY>& Y, const HostOperands<T, TY>& h) {
  for (int64_t r = 0; r < h.m; ++r)
    for (int64_t c = h.n; c < h.ldy; ++c)
      ASSERT_EQ(from_t(Y[size_t(r * h.ldy + c)]), from_t(to_t<TY>(kSentinel)))
          << "the kernel wrote Y(" << r << "," << c << ") in the ld padding (N=" << h.n << ")";
}

// One output of a case: Y(r, n) as the device left it (got), the oracle's value (want),
// and |bias| + |y0|, the magnitude the epilogue added to it (extra).
struct Output {
  int64_t r, n;
  double got, want, extra;
};

// Calls f(Output) for every output of Y (rows of h.ldy) against the oracle's Yref (m x n),
// row by row.
template <class T, class TY, class F>
void for_each_output(const std::vector<TY>& Y, const HostOperands<T, TY>& h, const std::vector<float>& Yref, F&& f) {
  for (int64_t r = 0; r < h.m; ++r)
    for (int64_t n = 0; n < h.n; ++n) {
      const size_t i = size_t(r * h.n + n);
      const double extra = (h.use_bias ? std::fabs(h.bias[size_t(n)]) : 0.0) + std::fabs(h.y0f[i]);
      f(Output{r, n, from_t(Y[size_t(r * h.ldy + n)]), Yref[i], extra});
    }
}

// The outputs of a case against one oracle: how many are out of tolerance (the first one
// described), the worst ratio of error to tolerance among them, the largest |oracle
// value|, and the sums of squares of the errors and oracle values for the RMS check.
struct OutputTally {
  int64_t bad = 0;
  double max_excess = 0.0, err2 = 0.0, ref2 = 0.0, max_abs_ref = 0.0;
  std::string first_bad;

  // Tallies one output, got against want within tol; describe(|got - want|) gives the
  // first bad output's description (it is called for that one only).
  template <class Describe>
  void add(double got, double want, double tol, Describe&& describe) {
    const double err = std::fabs(got - want);
    err2 += err * err;
    ref2 += want * want;
    max_abs_ref = std::max(max_abs_ref, std::fabs(want));
    if (!(err <= tol)) {
      if (bad++ == 0) first_bad = describe(err);
      max_excess = std::max(max_excess, err / tol);
    }
  }

  // The RMS error relative to the RMS oracle value.
  double rel_rms() const { return std::sqrt(err2 / std::max(ref2, 1e-300)); }
};

// The per-element verdict on a case's Y tallied in t: the ld padding kept its sentinel and
// the oracle's output is not all zero (fatal: callers wrap it in ASSERT_NO_FATAL_FAILURE
// so that the case stops there), then no output out of tolerance.
template <class T, class TY>
void expect_outputs_within_tolerance(const std::vector<TY>& Y, const HostOperands<T, TY>& h, const OutputTally& t) {
  ASSERT_NO_FATAL_FAILURE(expect_padding_kept(Y, h));
  ASSERT_GT(t.max_abs_ref, 0.0) << "vacuous: the reference output is all zero";
  EXPECT_EQ(t.bad, 0) << t.bad << " of " << h.m * h.n << " outputs out of tolerance (worst at " << t.max_excess
                      << "x tol); first: " << t.first_bad;
}

// ---- bad input ---------------------------------------------------------------------

// A default-constructed (empty) weight is rejected by matmul and by workspace_bytes with
// a negative M, before any CUDA call: this holds on machines without a device.
template <class W>
void expect_empty_weight_rejected() {
  const W empty;
  EXPECT_THROW(matmul(lsgemm::DeviceView<const __half>(), empty, lsgemm::DeviceView<__half>(), nullptr, 0),
               lsgemm::Error);
  EXPECT_THROW(lsgemm::workspace_bytes(empty, -1), lsgemm::Error);
}

// The argument checks every family's matmul makes before it launches: shapes, strides
// and null data, the workspace (w must be a weight the plan splits at M rows, so that a
// short workspace is a real error), and X overlapping Y (`square`: a K x K weight, so
// that one buffer can be both). Fatal when w does not split.
template <class W>
void expect_arguments_checked(const W& w, const W& square, int64_t M) {
  const int64_t N = w.n, K = w.k;
  lsgemm::DeviceBuffer<__half> dX(size_t(M * K)), dY(size_t(M * N)), dBig(size_t(K * K));
  auto X = [&](int64_t rows, int64_t cols, int64_t ld) {
    return lsgemm::device_view<const __half>(dX.data(), rows, cols, ld);
  };
  auto Y = [&](int64_t rows, int64_t cols, int64_t ld) {
    return lsgemm::device_view<__half>(dY.data(), rows, cols, ld);
  };
  // Shapes.
  EXPECT_THROW(matmul(X(M, K - 16, K), w, Y(M, N, N), nullptr, 0), lsgemm::Error);  // X cols != K
  EXPECT_THROW(matmul(X(M, K, K), w, Y(M + 1, N, N), nullptr, 0), lsgemm::Error);   // Y rows != M
  EXPECT_THROW(matmul(X(M, K, K), w, Y(M, N - 1, N), nullptr, 0), lsgemm::Error);   // Y cols != N
  // Strides and null data.
  EXPECT_THROW(matmul(X(M, K, K - 1), w, Y(M, N, N), nullptr, 0), lsgemm::Error);  // ldx < cols
  EXPECT_THROW(matmul(X(M, K, K), w, Y(M, N, N - 1), nullptr, 0), lsgemm::Error);  // ldy < cols
  EXPECT_THROW(matmul(lsgemm::device_view<const __half>(nullptr, M, K), w, Y(M, N, N), nullptr, 0), lsgemm::Error);
  EXPECT_THROW(matmul(X(M, K, K), w, lsgemm::device_view<__half>(nullptr, M, N), nullptr, 0), lsgemm::Error);
  // Workspace: null with a size, too small for the split the plan wants.
  EXPECT_THROW(matmul(X(M, K, K), w, Y(M, N, N), nullptr, 1024), lsgemm::Error);
  const size_t need = lsgemm::workspace_bytes(w, M);
  ASSERT_GT(need, 0u) << "N=" << N << " K=" << K << " M=" << M << " should split (1 row block, 8 chunks)";
  lsgemm::DeviceBuffer<float> ws(need / sizeof(float));
  EXPECT_THROW(matmul(X(M, K, K), w, Y(M, N, N), ws.data(), need - 16), lsgemm::Error);
  EXPECT_NO_THROW(matmul(X(M, K, K), w, Y(M, N, N), ws.data(), need));
  EXPECT_NO_THROW(matmul(X(M, K, K), w, Y(M, N, N), nullptr, 0));
  // X and Y overlapping (the same buffer used as both, N == K).
  EXPECT_THROW(matmul(lsgemm::device_view<const __half>(dBig.data(), 8, K), square,
                      lsgemm::device_view<__half>(dBig.data(), 8, K), nullptr, 0),
               lsgemm::Error);
}

// M = 0 is a valid empty product: no workspace, no launch, no error, Y untouched.
template <class W>
void expect_empty_product(const W& w) {
  lsgemm::DeviceBuffer<__half> dX(size_t(w.k)), dY(size_t(w.n));
  EXPECT_EQ(lsgemm::workspace_bytes(w, 0), 0u);
  EXPECT_NO_THROW(matmul(lsgemm::device_view<const __half>(dX.data(), 0, w.k), w,
                         lsgemm::device_view<__half>(dY.data(), 0, w.n), nullptr, 0));
}

}  // namespace lsgemm_cuda_test
