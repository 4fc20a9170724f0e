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
#include <vector>

#include "lsgemm/core/cuda/common.cuh"
#include "lsgemm/core/epilogue.hpp"
#include "lsgemm/core/error.hpp"
#include "lsgemm/core/matrix.hpp"
#include "lsgemm/int_quant/cuda.cuh"
#include "lsgemm/int_quant/format.hpp"
#include "lsgemm/int_quant/reference.hpp"

#include "cuda_test_support.cuh"

namespace {

using lsgemm::int_quant::DeviceQuantizedMatrix;
using lsgemm::int_quant::PackOptions;
using lsgemm::int_quant::QuantizedMatrix;
using namespace lsgemm_cuda_test;

struct Case {
  int64_t m, n, k;
  int bits, group;  // group 0: per-channel
  bool symmetric;
  CallOptions call;  // last: kCases lists its fields flat, after the weight's

  std::string describe() const {
    std::ostringstream os;
    os << "M=" << m << " N=" << n << " K=" << k << " bits=" << bits << " group="
       << (group ? std::to_string(group) : std::string("per-channel")) << (symmetric ? " sym" : " asym")
       << call.describe();
    return os.str();
  }
};

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

  const HostOperands<T, T> h = draw_operands<T, T>(c.m, c.n, c.k, c.call, rng, normal);
  std::vector<float> Yref(h.y0f);  // Y's initial values: what an accumulating epilogue adds to
  lsgemm::reference::matmul(lsgemm::view<const float>(h.Xf.data(), c.m, c.k), q,
                            lsgemm::view(Yref.data(), c.m, c.n), h.host_epilogue());
  const std::vector<double> mag =
      lsgemm::reference::matmul_magnitude(lsgemm::view<const float>(h.Xf.data(), c.m, c.k), q);

  // Device side.
  const DeviceQuantizedMatrix wd = lsgemm::int_quant::to_device(q);
  const size_t ws = c.call.split ? lsgemm::int_quant::workspace_bytes(wd, c.m) : 0;
  if (c.call.split) {
    // The split cases are chosen so that any sm_80+ GPU splits them (<= 5 row blocks
    // against a target of 4 CTAs per SM, K >= 512): no vacuous "split-K" pass.
    ASSERT_GT(ws, 0u) << "this shape was meant to exercise split-K but the plan does not split";
  }
  const std::vector<T> Y = run_on_device(wd, h, ws);

  // Per-element bound (rigorous, worst case), from the roundings the kernel does:
  //   weights rounded to T (bf16 4-bit: scale and product, 2 roundings): eps_T * |term|
  //   fp32 accumulation over K terms (x2 for the tensor core's adder):  K * 2^-23 * |term|
  //   bias / accumulate / split-K additions in fp32:                     2^-21 * (|b| + |y0| + mag)
  //   the final rounding to T:                                           eps_T * |ref|
  // with sum |term| = reference::matmul_magnitude.
  const double eps = type_eps<T>();
  const double k_term = double(c.k) * std::ldexp(1.0, -23);
  OutputTally tally;
  for_each_output(Y, h, Yref, [&](const Output& o) {
    const double m = mag[size_t(o.r * c.n + o.n)];
    const double tol = (eps + k_term) * m + std::ldexp(1.0, -21) * (o.extra + m) + eps * std::fabs(o.want) + 1e-30;
    tally.add(o.got, o.want, tol, [&](double err) {
      std::ostringstream os;
      os << "Y(" << o.r << "," << o.n << ") = " << o.got << ", reference " << o.want << ", |diff| " << err << " > tol "
         << tol << " = (eps_T " << eps << " + K*2^-23 " << k_term << ") * magnitude " << m
         << " + 2^-21 * (|bias| + |y0| + magnitude) + eps_T * |ref|";
      return os.str();
    });
  });
  ASSERT_NO_FATAL_FAILURE(expect_outputs_within_tolerance(Y, h, tally));
  // Aggregate check, sharper than the worst case: roundings are unbiased, so the RMS
  // error stays near eps_T / 2 of the RMS output. Two eps_T still catches a kernel that
  // drops one 16-k step out of K = 4096 (relative RMS error ~ sqrt(16 / 4096) = 6 %).
  const double rel_rms = tally.rel_rms();
  EXPECT_LE(rel_rms, 2.0 * eps) << "relative RMS error " << rel_rms << " > 2 eps_T = " << 2.0 * eps;
}

class IntQuantCuda : public ::testing::TestWithParam<Case> {};

TEST_P(IntQuantCuda, MatchesReference) {
  LSGEMM_REQUIRE_DEVICE();
  const Case& c = GetParam();
  const uint64_t seed = uint64_t(c.m * 1000003 + c.n * 1009 + c.k * 17 + c.bits + c.group);
  if (c.call.act == Act::kF16)
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
     << (c.call.act == Act::kF16 ? "_f16" : "_bf16") << (c.call.split ? "_splitk" : "") << (c.call.bias ? "_bias" : "")
     << (c.call.accumulate ? "_acc" : "") << (c.call.x_pad || c.call.y_pad ? "_strided" : "");
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
  expect_empty_weight_rejected<DeviceQuantizedMatrix>();
}

TEST(IntQuantCudaBadInput, RejectedArguments) {
  LSGEMM_REQUIRE_DEVICE();
  const int64_t M = 4, N = 64, K = 512;  // 8 chunks of 64 k: the plan splits (>= 4 per slice)
  const DeviceQuantizedMatrix w = lsgemm::int_quant::to_device(small_weight(4, N, K));
  const DeviceQuantizedMatrix sq = lsgemm::int_quant::to_device(small_weight(8, K, K));
  ASSERT_NO_FATAL_FAILURE(expect_arguments_checked(w, sq, M));
  // The bf16 overload checks the same way.
  EXPECT_THROW(lsgemm::matmul(lsgemm::device_view<const __nv_bfloat16>(nullptr, M, K), w,
                              lsgemm::device_view<__nv_bfloat16>(nullptr, M, N), nullptr, 0),
               lsgemm::Error);
  LSGEMM_CUDA_CHECK(cudaDeviceSynchronize());
}

// M = 0 is a valid empty product: no launch, no error, Y untouched.
TEST(IntQuantCudaEdge, EmptyM) {
  LSGEMM_REQUIRE_DEVICE();
  expect_empty_product(lsgemm::int_quant::to_device(small_weight(4)));
}

}  // namespace
