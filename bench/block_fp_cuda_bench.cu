// block_fp CUDA benchmarks: MXFP4, NVFP4 and MXFP8 E4M3 weights x fp16 / bf16
// activations, against cuBLAS (cublasGemmEx on the dense weight of the same type) in the
// same binary, so every figure is a ratio taken in one run.
//
//   BM_mxfp4_f16/N:4096/K:4096/M:1     lsgemm::matmul on block_fp::to_device(pack(W, MXFP4))
//   BM_nvfp4_bf16/...                  NVFP4 weight, bf16 activations
//   BM_mxfp8_e4m3_f16/...              MXFP8 E4M3
//   BM_peer_cublas_f16/... , _bf16     dense fp16 / bf16 weight, fp32 accumulation
//
// Shapes: N = K = 4096, M = 1 (decode), 16, 128. Kernel time from cudaEvents around each
// call (UseManualTime). Weights are cold, as in decode: calls rotate through copies of W
// totalling >= 5x the L2 size, so each call reads its weight from DRAM. Counters
// (kIsIterationInvariantRate): GB/s of the weight bytes a call streams (device layout:
// codes + scale bytes; for the peer its 2-byte elements) and GFLOP/s (2 M N K); bpw is
// those bytes in bits per weight. Each benchmark checks its output once against cuBLAS on
// the dequantized weight rounded to the activation type (what the decode gives: exactly
// for MX, within two roundings for NVFP4) before timing. Without a device every benchmark
// reports SkipWithError and the binary exits 0.
#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "cuda_bench_common.cuh"
#include "lsgemm/block_fp/cuda.cuh"
#include "lsgemm/block_fp/format.hpp"
#include "lsgemm/core/cuda/common.cuh"

namespace {

using lsgemm::DeviceBuffer;
using lsgemm::block_fp::MxElement;
using lsgemm::block_fp::PackOptions;
using namespace lsgemm_cuda_bench;

enum Format { kMxfp4, kNvfp4, kMxfp8E4M3 };

PackOptions options_of(Format f) {
  return f == kNvfp4 ? PackOptions::nvfp4() : PackOptions::mx(f == kMxfp4 ? MxElement::kFp4E2M1 : MxElement::kFp8E4M3);
}

template <class T>
cudaDataType_t cuda_type() {
  return std::is_same_v<T, __half> ? CUDA_R_16F : CUDA_R_16BF;
}

// Y (M x N) = X (M x K) * W^T, all row-major in T, as cuBLAS column-major Y^T = W^T' X^T:
// cuda_bench_common.cuh's cublas_linear, which is fp16 only, for either 16-bit type.
template <class T>
cublasStatus_t cublas_linear_t(cublasHandle_t h, const T* W, const T* X, T* Y, int64_t M, int64_t N, int64_t K) {
  const float alpha = 1.0f, beta = 0.0f;
  const cudaDataType_t t = cuda_type<T>();
  return cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, int(N), int(M), int(K), &alpha, W, t, int(K), X, t, int(K), &beta,
                      Y, t, int(N), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
}

template <class T>
std::vector<T> to_type(const std::vector<float>& v) {
  std::vector<T> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = lsgemm::detail::from_f32<T>(v[i]);
  return out;
}

template <class T>
std::vector<T> random_act(int64_t count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(count));
  for (auto& v : x) v = normal(rng);
  return to_type<T>(x);
}

// Largest |a - b| relative to the largest |b|.
template <class T>
double max_rel_diff(const std::vector<T>& a, const std::vector<T>& b) {
  double diff = 0.0, ref = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double x = lsgemm::detail::to_f32(a[i]), y = lsgemm::detail::to_f32(b[i]);
    diff = std::max(diff, std::fabs(x - y));
    ref = std::max(ref, std::fabs(y));
  }
  return diff / std::max(ref, 1e-30);
}

// One packed weight per (format, N, K), shared by the M values and activation types of a
// shape: its cold copies on the device, and the dequantized weight for the check.
struct Prepared {
  std::vector<lsgemm::block_fp::DeviceBlockFpMatrix> copies;
  std::vector<float> dense;
};

Prepared& prepared(Format f, int64_t N, int64_t K) {
  static std::map<std::tuple<int, int64_t, int64_t>, std::unique_ptr<Prepared>> cache;
  auto& slot = cache[{int(f), N, K}];
  if (!slot) {
    slot = std::make_unique<Prepared>();
    const std::vector<float> W = random_weights(N, K, 42);
    const auto q = lsgemm::block_fp::pack(lsgemm::view<const float>(W.data(), N, K), options_of(f));
    slot->copies.push_back(lsgemm::block_fp::to_device(q));
    const int n_copies = cold_copies(slot->copies[0].packed_bytes());
    for (int i = 1; i < n_copies; ++i) slot->copies.push_back(slot->copies[0].clone());
    slot->dense = lsgemm::block_fp::dequantize_to_vector(q);
  }
  return *slot;
}

template <Format kFormat, class T>
void BM_block_fp(benchmark::State& state) {
  std::string why;
  if (!device_available(&why)) {
    state.SkipWithError(why.c_str());
    return;
  }
  const int64_t N = state.range(0), K = state.range(1), M = state.range(2);
  Prepared& w = prepared(kFormat, N, K);

  const std::vector<T> hx = random_act<T>(M * K, 7);
  DeviceBuffer<T> dX(hx.size()), dY(size_t(M * N)), dYc(size_t(M * N));
  dX.upload(hx.data(), hx.size());
  const size_t ws_bytes = lsgemm::block_fp::workspace_bytes(w.copies[0], M);
  DeviceBuffer<unsigned char> ws(ws_bytes);
  const auto X = lsgemm::device_view<const T>(dX.data(), M, K);
  const auto Y = lsgemm::device_view<T>(dY.data(), M, N);
  cudaStream_t stream = nullptr;
  LSGEMM_CUDA_CHECK(cudaStreamCreate(&stream));

  // Check once against cuBLAS on the dequantized weight rounded to T: the same weights
  // (NVFP4: within the decode's two roundings), a different fp32 summation order, one
  // output rounding each: a few ulps of T of the largest output.
  {
    const std::vector<T> wt = to_type<T>(w.dense);
    DeviceBuffer<T> dW(wt.size());
    dW.upload(wt.data(), wt.size());
    CublasHandle cb;
    if (!cb.h || cublas_linear_t<T>(cb.h, dW.data(), dX.data(), dYc.data(), M, N, K) != CUBLAS_STATUS_SUCCESS) {
      state.SkipWithError("cuBLAS check GEMM failed");
      (void)cudaStreamDestroy(stream);
      return;
    }
    lsgemm::matmul(X, w.copies[0], Y, ws.data(), ws_bytes, stream);
    LSGEMM_CUDA_CHECK(cudaStreamSynchronize(stream));
    std::vector<T> got(size_t(M * N)), want(size_t(M * N));
    dY.download(got.data(), got.size());
    dYc.download(want.data(), want.size());
    const double rel = max_rel_diff(got, want);
    const double ulp = std::is_same_v<T, __half> ? std::ldexp(1.0, -10) : std::ldexp(1.0, -7);
    if (!(rel <= 8.0 * ulp)) {
      state.SkipWithError(("output differs from cuBLAS: max |diff| / max |ref| = " + std::to_string(rel)).c_str());
      (void)cudaStreamDestroy(stream);
      return;
    }
  }

  Events ev;
  size_t i = 0;
  for (auto _ : state) {
    LSGEMM_CUDA_CHECK(cudaEventRecord(ev.start, stream));
    lsgemm::matmul(X, w.copies[i++ % w.copies.size()], Y, ws.data(), ws_bytes, stream);
    LSGEMM_CUDA_CHECK(cudaEventRecord(ev.stop, stream));
    LSGEMM_CUDA_CHECK(cudaEventSynchronize(ev.stop));
    state.SetIterationTime(ev.seconds());
  }
  set_counters(state, double(w.copies[0].packed_bytes()), M, N, K);
  state.counters["copies"] = double(w.copies.size());
  state.counters["split_k_ws_KB"] = double(ws_bytes) / 1024.0;
  (void)cudaStreamDestroy(stream);
}

template <class T>
void BM_peer_cublas(benchmark::State& state) {
  std::string why;
  if (!device_available(&why)) {
    state.SkipWithError(why.c_str());
    return;
  }
  const int64_t N = state.range(0), K = state.range(1), M = state.range(2);
  const std::vector<T> hw = to_type<T>(random_weights(N, K, 42)), hx = random_act<T>(M * K, 7);
  const int n_copies = cold_copies(int64_t(hw.size() * sizeof(T)));
  std::vector<DeviceBuffer<T>> copies;
  for (int i = 0; i < n_copies; ++i) {
    copies.emplace_back(hw.size());
    copies.back().upload(hw.data(), hw.size());
  }
  DeviceBuffer<T> dX(hx.size()), dY(size_t(M * N));
  dX.upload(hx.data(), hx.size());
  CublasHandle cb;
  cudaStream_t stream = nullptr;
  LSGEMM_CUDA_CHECK(cudaStreamCreate(&stream));
  if (!cb.h || cublasSetStream(cb.h, stream) != CUBLAS_STATUS_SUCCESS ||
      cublas_linear_t<T>(cb.h, copies[0].data(), dX.data(), dY.data(), M, N, K) != CUBLAS_STATUS_SUCCESS) {
    state.SkipWithError("cuBLAS GEMM failed");
    (void)cudaStreamDestroy(stream);
    return;
  }
  LSGEMM_CUDA_CHECK(cudaStreamSynchronize(stream));

  Events ev;
  size_t i = 0;
  for (auto _ : state) {
    LSGEMM_CUDA_CHECK(cudaEventRecord(ev.start, stream));
    (void)cublas_linear_t<T>(cb.h, copies[i++ % copies.size()].data(), dX.data(), dY.data(), M, N, K);
    LSGEMM_CUDA_CHECK(cudaEventRecord(ev.stop, stream));
    LSGEMM_CUDA_CHECK(cudaEventSynchronize(ev.stop));
    state.SetIterationTime(ev.seconds());
  }
  set_counters(state, double(N) * double(K) * sizeof(T), M, N, K);
  state.counters["copies"] = double(copies.size());
  (void)cudaStreamDestroy(stream);
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"N", "K", "M"});
  for (int64_t m : {1, 16, 128}) b->Args({4096, 4096, m});
  b->UseManualTime()->Unit(benchmark::kMicrosecond);
}

}  // namespace

BENCHMARK(BM_block_fp<kMxfp4, __half>)->Name("BM_mxfp4_f16")->Apply(shapes);
BENCHMARK(BM_block_fp<kNvfp4, __half>)->Name("BM_nvfp4_f16")->Apply(shapes);
BENCHMARK(BM_block_fp<kMxfp8E4M3, __half>)->Name("BM_mxfp8_e4m3_f16")->Apply(shapes);
BENCHMARK(BM_peer_cublas<__half>)->Name("BM_peer_cublas_f16")->Apply(shapes);
BENCHMARK(BM_block_fp<kMxfp4, __nv_bfloat16>)->Name("BM_mxfp4_bf16")->Apply(shapes);
BENCHMARK(BM_block_fp<kNvfp4, __nv_bfloat16>)->Name("BM_nvfp4_bf16")->Apply(shapes);
BENCHMARK(BM_block_fp<kMxfp8E4M3, __nv_bfloat16>)->Name("BM_mxfp8_e4m3_bf16")->Apply(shapes);
BENCHMARK(BM_peer_cublas<__nv_bfloat16>)->Name("BM_peer_cublas_bf16")->Apply(shapes);

BENCHMARK_MAIN();
