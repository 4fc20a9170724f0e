// int_quant CUDA path (lsgemm::matmul on DeviceQuantizedMatrix) against the host oracle
// lsgemm::reference::matmul. X is drawn, rounded to the activation type, and the same
// rounded values (as float) go to the oracle, so the only differences are the kernel's
// own roundings, which the tolerance below bounds.
//
// Includes the specific headers rather than lsgemm.hpp: the CUDA path needs no Highway.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

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
#include "lsgemm/int_quant/cuda.cuh"
#include "lsgemm/int_quant/format.hpp"
#include "lsgemm/int_quant/reference.hpp"

namespace {

using lsgemm::DeviceBuffer;
using lsgemm::Epilogue;
using lsgemm::int_quant::DeviceQuantizedMatrix;
using lsgemm::int_quant::PackOptions;
using lsgemm::int_quant::QuantizedMatrix;

using lsgemm::detail::cuda_device_available;

#define LSGEMM_REQUIRE_DEVICE()                                    \
  do {                                                             \
    std::string why_;                                              \
    if (!cuda_device_available(&why_)) GTEST_SKIP() << "no CUDA device: " << why_; \
  } while (0)

enum class Act { kF16, kBF16 };

struct Case {
  int64_t m, n, k;
  int bits, group;  // group 0: per-channel
  bool symmetric;
  Act act;
  bool split;       // pass the workspace workspace_bytes() asks for (else none)
  bool bias, accumulate;
  int64_t x_pad, y_pad;  // ld = cols + pad (an odd pad makes X not 16-byte addressable)

  std::string describe() const {
    std::ostringstream os;
    os << "M=" << m << " N=" << n << " K=" << k << " bits=" << bits << " group="
       << (group ? std::to_string(group) : std::string("per-channel")) << (symmetric ? " sym" : " asym")
       << (act == Act::kF16 ? " fp16" : " bf16") << (split ? " split-K" : " no-split") << (bias ? " bias" : "")
       << (accumulate ? " accumulate" : "") << " ldx=K+" << x_pad << " ldy=N+" << y_pad;
    return os.str();
  }
};

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

// Rows of X and Y beyond the logical columns (ld padding) hold this and must keep it.
constexpr float kSentinel = 12345.0f;

template <class T>
void run_case(const Case& c, uint64_t seed) {
  SCOPED_TRACE(c.describe());
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);

  std::vector<float> W(size_t(c.n * c.k));
  for (auto& v : W) v = normal(rng);
  const QuantizedMatrix q = lsgemm::int_quant::pack(
      lsgemm::view<const float>(W.data(), c.n, c.k),
      PackOptions().with_bits(c.bits).with_group(c.group).with_symmetric(c.symmetric));

  const int64_t ldx = c.k + c.x_pad, ldy = c.n + c.y_pad;
  std::vector<T> X(size_t(c.m * ldx), to_t<T>(kSentinel));
  std::vector<float> Xf(size_t(c.m * c.k));
  for (int64_t r = 0; r < c.m; ++r)
    for (int64_t k = 0; k < c.k; ++k) {
      const T v = to_t<T>(normal(rng));
      X[size_t(r * ldx + k)] = v;
      Xf[size_t(r * c.k + k)] = from_t(v);
    }
  std::vector<T> Y0(size_t(c.m * ldy), to_t<T>(kSentinel));
  std::vector<float> Yref(size_t(c.m * c.n), 0.0f), y0f(size_t(c.m * c.n), 0.0f);
  for (int64_t r = 0; r < c.m; ++r)
    for (int64_t n = 0; n < c.n; ++n) {
      const T v = to_t<T>(c.accumulate ? normal(rng) : 0.0f);
      Y0[size_t(r * ldy + n)] = v;
      y0f[size_t(r * c.n + n)] = Yref[size_t(r * c.n + n)] = from_t(v);
    }
  std::vector<float> bias(size_t(c.n));
  for (auto& v : bias) v = normal(rng);

  Epilogue host_epi;
  host_epi.bias = c.bias ? bias.data() : nullptr;
  host_epi.accumulate = c.accumulate;
  lsgemm::reference::matmul(lsgemm::view<const float>(Xf.data(), c.m, c.k), q,
                            lsgemm::view(Yref.data(), c.m, c.n), host_epi);
  const std::vector<double> mag =
      lsgemm::reference::matmul_magnitude(lsgemm::view<const float>(Xf.data(), c.m, c.k), q);

  // Device side.
  const DeviceQuantizedMatrix wd = lsgemm::int_quant::to_device(q);
  DeviceBuffer<T> dX(X.size()), dY(Y0.size());
  DeviceBuffer<float> dBias(bias.size());
  dX.upload(X.data(), X.size());
  dY.upload(Y0.data(), Y0.size());
  dBias.upload(bias.data(), bias.size());
  const size_t ws = c.split ? lsgemm::int_quant::workspace_bytes(wd, c.m) : 0;
  if (c.split) {
    // The split cases are chosen so that any sm_80+ GPU splits them (<= 5 row blocks
    // against a target of 4 CTAs per SM, K >= 512): no vacuous "split-K" pass.
    ASSERT_GT(ws, 0u) << "this shape was meant to exercise split-K but the plan does not split";
  }
  DeviceBuffer<unsigned char> dWs(ws);
  Epilogue dev_epi;
  dev_epi.bias = c.bias ? dBias.data() : nullptr;
  dev_epi.accumulate = c.accumulate;
  lsgemm::matmul(lsgemm::device_view<const T>(dX.data(), c.m, c.k, ldx), wd,
                 lsgemm::device_view<T>(dY.data(), c.m, c.n, ldy), ws ? dWs.data() : nullptr, ws, 0, dev_epi);
  LSGEMM_CUDA_CHECK(cudaDeviceSynchronize());
  std::vector<T> Y(Y0.size());
  dY.download(Y.data(), Y.size());

  // Per-element bound (rigorous, worst case), from the roundings the kernel does:
  //   weights rounded to T (bf16 4-bit: scale and product, 2 roundings): eps_T * |term|
  //   fp32 accumulation over K terms (x2 for the tensor core's adder):  K * 2^-23 * |term|
  //   bias / accumulate / split-K additions in fp32:                     2^-21 * (|b| + |y0| + mag)
  //   the final rounding to T:                                           eps_T * |ref|
  // with sum |term| = reference::matmul_magnitude.
  const double eps = type_eps<T>();
  const double k_term = double(c.k) * std::ldexp(1.0, -23);
  double max_excess = 0.0, err2 = 0.0, ref2 = 0.0, max_abs_ref = 0.0;
  int64_t bad = 0;
  std::string first_bad;
  for (int64_t r = 0; r < c.m; ++r) {
    for (int64_t n = 0; n < c.n; ++n) {
      const double got = from_t(Y[size_t(r * ldy + n)]);
      const double want = Yref[size_t(r * c.n + n)];
      const double extra = (c.bias ? std::fabs(bias[size_t(n)]) : 0.0) + std::fabs(y0f[size_t(r * c.n + n)]);
      const double m = mag[size_t(r * c.n + n)];
      const double tol = (eps + k_term) * m + std::ldexp(1.0, -21) * (extra + m) + eps * std::fabs(want) + 1e-30;
      const double err = std::fabs(got - want);
      err2 += err * err;
      ref2 += want * want;
      max_abs_ref = std::max(max_abs_ref, std::fabs(want));
      if (!(err <= tol)) {
        if (bad++ == 0) {
          std::ostringstream os;
          os << "Y(" << r << "," << n << ") = " << got << ", reference " << want << ", |diff| " << err
             << " > tol " << tol << " = (eps_T " << eps << " + K*2^-23 " << k_term << ") * magnitude " << m
             << " + 2^-21 * (|bias| + |y0| + magnitude) + eps_T * |ref|";
          first_bad = os.str();
        }
        max_excess = std::max(max_excess, err / tol);
      }
    }
    for (int64_t n = c.n; n < ldy; ++n)
      ASSERT_EQ(from_t(Y[size_t(r * ldy + n)]), from_t(to_t<T>(kSentinel)))
          << "the kernel wrote Y(" << r << "," << n << ") in the ld padding (N=" << c.n << ")";
  }
  ASSERT_GT(max_abs_ref, 0.0) << "vacuous: the reference output is all zero";
  EXPECT_EQ(bad, 0) << bad << " of " << c.m * c.n << " outputs out of tolerance (worst at " << max_excess
                    << "x tol); first: " << first_bad;
  // Aggregate check, sharper than the worst case: roundings are unbiased, so the RMS
  // error stays near eps_T / 2 of the RMS output. Two eps_T still catches a kernel that
  // drops one 16-k step out of K = 4096 (relative RMS error ~ sqrt(16 / 4096) = 6 %).
  const double rel_rms = std::sqrt(err2 / std::max(ref2, 1e-300));
  EXPECT_LE(rel_rms, 2.0 * eps) << "relative RMS error " << rel_rms << " > 2 eps_T = " << 2.0 * eps;
}

class IntQuantCuda : public ::testing::TestWithParam<Case> {};

TEST_P(IntQuantCuda, MatchesReference) {
  LSGEMM_REQUIRE_DEVICE();
  const Case& c = GetParam();
  const uint64_t seed = uint64_t(c.m * 1000003 + c.n * 1009 + c.k * 17 + c.bits + c.group);
  if (c.act == Act::kF16)
    run_case<__half>(c, seed);
  else
    run_case<__nv_bfloat16>(c, seed);
}

constexpr Act F16 = Act::kF16, BF16 = Act::kBF16;
// M covers 1..8 (one n8 column), 16 (two), 17 (tail of the 32-token tile), 64 and 256
// (64-token tiles); N covers the 64-row block and its tails (200, 264, 72); K covers
// groups 32..256, per-channel with K % 16 != 0 (1000, 776, 1003: K padding) and with
// an odd ld (X not 16-byte addressable: the element-wise load path).
const Case kCases[] = {
    // M    N     K    bits grp  sym    act   split  bias   acc    xpad ypad
    {1, 4096, 4096, 4, 128, true, F16, false, false, false, 0, 0},
    {1, 4096, 4096, 8, 128, false, BF16, false, true, false, 0, 0},
    {1, 200, 4096, 4, 32, false, BF16, true, false, false, 0, 0},
    {1, 200, 1003, 8, 0, false, F16, true, false, false, 0, 0},
    {1, 264, 2048, 4, 256, false, F16, true, true, true, 8, 8},
    {3, 200, 1024, 4, 128, false, BF16, true, true, false, 0, 0},
    {3, 4096, 512, 8, 64, true, F16, false, false, true, 0, 0},
    {3, 72, 776, 4, 0, true, F16, true, false, false, 3, 5},
    {3, 264, 2048, 8, 32, false, BF16, true, false, true, 0, 0},
    {16, 200, 1024, 4, 64, false, F16, true, true, true, 0, 0},
    {16, 4096, 1024, 8, 128, false, BF16, false, true, false, 0, 0},
    {16, 264, 512, 4, 32, true, BF16, true, false, true, 0, 0},
    {16, 200, 1000, 8, 0, true, F16, true, false, false, 0, 0},
    {17, 4096, 512, 4, 128, false, F16, false, true, true, 0, 0},
    {17, 200, 2048, 8, 256, false, BF16, true, false, false, 0, 0},
    {17, 72, 1024, 4, 0, false, BF16, false, false, false, 0, 0},
    {17, 264, 1003, 4, 0, true, F16, false, false, false, 1, 0},
    {64, 200, 1024, 4, 128, false, F16, false, true, false, 0, 0},
    {64, 264, 512, 8, 32, false, BF16, true, false, true, 0, 0},
    {64, 72, 1000, 4, 0, true, BF16, false, false, false, 0, 0},
    {64, 200, 512, 8, 64, true, F16, false, false, false, 8, 0},
    {256, 200, 512, 4, 128, false, BF16, false, true, true, 0, 0},
    {256, 264, 256, 8, 256, false, F16, false, false, false, 0, 0},
    {256, 72, 1024, 4, 32, true, F16, true, false, false, 0, 0},
    {256, 200, 776, 8, 0, false, BF16, false, false, false, 8, 3},
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  std::ostringstream os;
  os << "M" << c.m << "_N" << c.n << "_K" << c.k << "_W" << c.bits << "_G" << c.group << (c.symmetric ? "_sym" : "_asym")
     << (c.act == Act::kF16 ? "_f16" : "_bf16") << (c.split ? "_splitk" : "") << (c.bias ? "_bias" : "")
     << (c.accumulate ? "_acc" : "") << (c.x_pad || c.y_pad ? "_strided" : "");
  return os.str();
}

INSTANTIATE_TEST_SUITE_P(Shapes, IntQuantCuda, ::testing::ValuesIn(kCases), case_name);

// ---- bad input -------------------------------------------------------------------

QuantizedMatrix small_weight(int bits, int64_t n = 64, int64_t k = 256) {
  std::vector<float> W(size_t(n * k));
  for (size_t i = 0; i < W.size(); ++i) W[i] = float(int(i % 13) - 6) * 0.25f;
  return lsgemm::int_quant::pack(lsgemm::view<const float>(W.data(), n, k), PackOptions().with_bits(bits).with_group(64));
}

// These checks run before any CUDA call, so they hold on machines without a device.
TEST(IntQuantCudaBadInput, RejectedBeforeTouchingTheDevice) {
  EXPECT_THROW(lsgemm::int_quant::to_device(small_weight(2)), lsgemm::Error);  // 2-bit: not on CUDA
  QuantizedMatrix q8 = small_weight(4);
  q8.act = lsgemm::int_quant::ActMode::kInt8;
  EXPECT_THROW(lsgemm::int_quant::to_device(q8), lsgemm::Error);  // int8 activation mode
  const DeviceQuantizedMatrix empty;
  EXPECT_THROW(lsgemm::matmul(lsgemm::DeviceView<const __half>(), empty, lsgemm::DeviceView<__half>(), nullptr, 0),
               lsgemm::Error);
  EXPECT_THROW(lsgemm::int_quant::workspace_bytes(empty, -1), lsgemm::Error);
}

TEST(IntQuantCudaBadInput, RejectedArguments) {
  LSGEMM_REQUIRE_DEVICE();
  const int64_t M = 4, N = 64, K = 512;  // 8 chunks of 64 k: the plan splits (>= 4 per slice)
  const DeviceQuantizedMatrix w = lsgemm::int_quant::to_device(small_weight(4, N, K));
  DeviceBuffer<__half> dX(size_t(M * K)), dY(size_t(M * N)), dBig(size_t(K * K));
  auto X = [&](int64_t rows, int64_t cols, int64_t ld) {
    return lsgemm::device_view<const __half>(dX.data(), rows, cols, ld);
  };
  auto Y = [&](int64_t rows, int64_t cols, int64_t ld) { return lsgemm::device_view<__half>(dY.data(), rows, cols, ld); };
  using lsgemm::matmul;
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
  const size_t need = lsgemm::int_quant::workspace_bytes(w, M);
  ASSERT_GT(need, 0u) << "N=64 K=512 M=4 should split (1 row block, 8 chunks)";
  DeviceBuffer<float> ws(need / sizeof(float));
  EXPECT_THROW(matmul(X(M, K, K), w, Y(M, N, N), ws.data(), need - 16), lsgemm::Error);
  EXPECT_NO_THROW(matmul(X(M, K, K), w, Y(M, N, N), ws.data(), need));
  EXPECT_NO_THROW(matmul(X(M, K, K), w, Y(M, N, N), nullptr, 0));
  // X and Y overlapping (the same buffer used as both, N == K).
  const DeviceQuantizedMatrix sq = lsgemm::int_quant::to_device(small_weight(8, K, K));
  EXPECT_THROW(matmul(lsgemm::device_view<const __half>(dBig.data(), 8, K), sq,
                      lsgemm::device_view<__half>(dBig.data(), 8, K), nullptr, 0),
               lsgemm::Error);
  // The bf16 overload checks the same way.
  EXPECT_THROW(matmul(lsgemm::device_view<const __nv_bfloat16>(nullptr, M, K), w,
                      lsgemm::device_view<__nv_bfloat16>(nullptr, M, N), nullptr, 0),
               lsgemm::Error);
  LSGEMM_CUDA_CHECK(cudaDeviceSynchronize());
}

// M = 0 is a valid empty product: no launch, no error, Y untouched.
TEST(IntQuantCudaEdge, EmptyM) {
  LSGEMM_REQUIRE_DEVICE();
  const DeviceQuantizedMatrix w = lsgemm::int_quant::to_device(small_weight(4));
  DeviceBuffer<__half> dX(256), dY(64);
  EXPECT_EQ(lsgemm::int_quant::workspace_bytes(w, 0), 0u);
  EXPECT_NO_THROW(lsgemm::matmul(lsgemm::device_view<const __half>(dX.data(), 0, 256), w,
                                 lsgemm::device_view<__half>(dY.data(), 0, 64), nullptr, 0));
}

}  // namespace
