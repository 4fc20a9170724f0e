// int_quant CUDA benchmarks: W4A16 / W8A16 (fp16 activations) against cuBLAS fp16
// (cublasGemmEx on the dense, dequantized weight) in the same binary, so every figure
// is a ratio taken in one run.
//
//   BM_w4a16/N:8192/K:8192/M:1      lsgemm::matmul, 4-bit, group 128, asymmetric
//   BM_w8a16/...                    8-bit
//   BM_peer_cublas_f16/...          dense fp16 weight, cublasGemmEx, fp32 accumulation
//
// Kernel time from cudaEvents around each call (UseManualTime). Weights are cold, as in
// decode: calls rotate through copies of W totalling >= 5x the L2 size, so each call
// reads its weight from DRAM. Counters (kIsIterationInvariantRate): GB/s of weight bytes
// per call (the packed bytes of the host format, for the peer its fp16 bytes) and
// GFLOP/s (2 M N K). Each benchmark checks its output once against cuBLAS on the
// dequantized weight before timing. Without a device every benchmark reports
// SkipWithError and the binary exits 0.
#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "cuda_bench_common.cuh"
#include "lsgemm/core/cuda/common.cuh"
#include "lsgemm/int_quant/cuda.cuh"
#include "lsgemm/int_quant/format.hpp"

namespace {

using lsgemm::DeviceBuffer;
using namespace lsgemm_cuda_bench;


// Largest |a - b| relative to the largest |b|.
double max_rel_diff(const std::vector<__half>& a, const std::vector<__half>& b) {
  double diff = 0.0, ref = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double x = __half2float(a[i]), y = __half2float(b[i]);
    diff = std::max(diff, std::fabs(x - y));
    ref = std::max(ref, std::fabs(y));
  }
  return diff / std::max(ref, 1e-30);
}

template <int kBits>
void BM_wNa16(benchmark::State& state) {
  std::string why;
  if (!device_available(&why)) {
    state.SkipWithError(why.c_str());
    return;
  }
  const int64_t N = state.range(0), K = state.range(1), M = state.range(2);
  const std::vector<float> W = random_weights(N, K, 42);
  const auto q = lsgemm::int_quant::pack(lsgemm::view<const float>(W.data(), N, K),
                                         lsgemm::int_quant::PackOptions().with_bits(kBits).with_group(128));
  std::vector<lsgemm::int_quant::DeviceQuantizedMatrix> copies;
  copies.push_back(lsgemm::int_quant::to_device(q));
  const int n_copies = cold_copies(copies[0].packed_bytes());
  for (int i = 1; i < n_copies; ++i) copies.push_back(copies[0].clone());

  const std::vector<__half> hx = random_half(M * K, 7);
  DeviceBuffer<__half> dX(hx.size()), dY(size_t(M * N)), dYc(size_t(M * N));
  dX.upload(hx.data(), hx.size());
  const size_t ws_bytes = lsgemm::int_quant::workspace_bytes(copies[0], M);
  DeviceBuffer<unsigned char> ws(ws_bytes);
  const auto X = lsgemm::device_view<const __half>(dX.data(), M, K);
  const auto Y = lsgemm::device_view<__half>(dY.data(), M, N);
  cudaStream_t stream = nullptr;
  LSGEMM_CUDA_CHECK(cudaStreamCreate(&stream));

  // Check once against cuBLAS on the dequantized weight (the same fp16 weights: s*(q-z)
  // is exact in fp32 and rounds once to fp16 on both sides).
  {
    const std::vector<float> wdq = lsgemm::int_quant::dequantize_to_vector(q);
    std::vector<__half> wh(wdq.size());
    for (size_t i = 0; i < wdq.size(); ++i) wh[i] = __float2half_rn(wdq[i]);
    DeviceBuffer<__half> dW(wh.size());
    dW.upload(wh.data(), wh.size());
    CublasHandle cb;
    if (!cb.h || cublas_linear(cb.h, dW.data(), dX.data(), dYc.data(), M, N, K) != CUBLAS_STATUS_SUCCESS) {
      state.SkipWithError("cuBLAS check GEMM failed");
      return;
    }
    lsgemm::matmul(X, copies[0], Y, ws.data(), ws_bytes, stream);
    LSGEMM_CUDA_CHECK(cudaStreamSynchronize(stream));
    std::vector<__half> got(size_t(M * N)), want(size_t(M * N));
    dY.download(got.data(), got.size());
    dYc.download(want.data(), want.size());
    const double rel = max_rel_diff(got, want);
    // Same weights, different fp32 summation order plus one fp16 output rounding each:
    // a few fp16 ulps of the largest output.
    if (!(rel <= 8.0 * std::ldexp(1.0, -10))) {
      state.SkipWithError(("output differs from cuBLAS: max |diff| / max |ref| = " + std::to_string(rel)).c_str());
      return;
    }
  }

  Events ev;
  size_t i = 0;
  for (auto _ : state) {
    LSGEMM_CUDA_CHECK(cudaEventRecord(ev.start, stream));
    lsgemm::matmul(X, copies[i++ % copies.size()], Y, ws.data(), ws_bytes, stream);
    LSGEMM_CUDA_CHECK(cudaEventRecord(ev.stop, stream));
    LSGEMM_CUDA_CHECK(cudaEventSynchronize(ev.stop));
    state.SetIterationTime(ev.seconds());
  }
  set_counters(state, double(q.packed_bytes()), M, N, K);
  state.counters["copies"] = double(copies.size());
  state.counters["split_k_ws_KB"] = double(ws_bytes) / 1024.0;
  (void)cudaStreamDestroy(stream);
}

void BM_peer_cublas_f16(benchmark::State& state) {
  std::string why;
  if (!device_available(&why)) {
    state.SkipWithError(why.c_str());
    return;
  }
  const int64_t N = state.range(0), K = state.range(1), M = state.range(2);
  const std::vector<__half> hw = random_half(N * K, 42), hx = random_half(M * K, 7);
  const int n_copies = cold_copies(int64_t(hw.size() * sizeof(__half)));
  std::vector<DeviceBuffer<__half>> copies;
  for (int i = 0; i < n_copies; ++i) {
    copies.emplace_back(hw.size());
    copies.back().upload(hw.data(), hw.size());
  }
  DeviceBuffer<__half> dX(hx.size()), dY(size_t(M * N));
  dX.upload(hx.data(), hx.size());
  CublasHandle cb;
  cudaStream_t stream = nullptr;
  LSGEMM_CUDA_CHECK(cudaStreamCreate(&stream));
  if (!cb.h || cublasSetStream(cb.h, stream) != CUBLAS_STATUS_SUCCESS ||
      cublas_linear(cb.h, copies[0].data(), dX.data(), dY.data(), M, N, K) != CUBLAS_STATUS_SUCCESS) {
    state.SkipWithError("cuBLAS GEMM failed");
    (void)cudaStreamDestroy(stream);
    return;
  }
  LSGEMM_CUDA_CHECK(cudaStreamSynchronize(stream));

  Events ev;
  size_t i = 0;
  for (auto _ : state) {
    LSGEMM_CUDA_CHECK(cudaEventRecord(ev.start, stream));
    (void)cublas_linear(cb.h, copies[i++ % copies.size()].data(), dX.data(), dY.data(), M, N, K);
    LSGEMM_CUDA_CHECK(cudaEventRecord(ev.stop, stream));
    LSGEMM_CUDA_CHECK(cudaEventSynchronize(ev.stop));
    state.SetIterationTime(ev.seconds());
  }
  set_counters(state, double(N) * double(K) * sizeof(__half), M, N, K);
  state.counters["copies"] = double(copies.size());
  (void)cudaStreamDestroy(stream);
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"N", "K", "M"});
  for (int64_t m : {1, 16, 4096}) b->Args({8192, 8192, m});
  for (int64_t m : {1, 16}) b->Args({4096, 4096, m});
  b->UseManualTime()->Unit(benchmark::kMicrosecond);
}

}  // namespace

BENCHMARK(BM_wNa16<4>)->Name("BM_w4a16")->Apply(shapes);
BENCHMARK(BM_wNa16<8>)->Name("BM_w8a16")->Apply(shapes);
BENCHMARK(BM_peer_cublas_f16)->Apply(shapes);

BENCHMARK_MAIN();
