#pragma once
// Host-side helpers shared by the CUDA benchmark binaries: device check, cold rotation
// over >= 5x L2, random inputs, the cuBLAS fp16 peer as a linear layer, event timing and
// the counters (GB/s of packed weight, GFLOP/s, bits per weight).
#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "lsgemm/core/cuda/common.cuh"

namespace lsgemm_cuda_bench {

// "no CUDA device: <reason>" when there is none (benchmarks skip with it).
inline bool device_available(std::string* why) {
  if (lsgemm::detail::cuda_device_available(why)) return true;
  *why = "no CUDA device: " + *why;
  return false;
}

inline int64_t l2_bytes() {
  return lsgemm::detail::device_attribute(cudaDevAttrL2CacheSize, lsgemm::detail::current_device());
}

// Copies of a weight of `bytes` needed so that rotating through them streams >= 5x L2.
inline int cold_copies(int64_t bytes) {
  return int(std::clamp<int64_t>((5 * l2_bytes() + bytes - 1) / std::max<int64_t>(bytes, 1), 1, 64));
}

inline std::vector<float> random_weights(int64_t n, int64_t k, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<float> w(size_t(n * k));
  for (auto& v : w) v = normal(rng);
  return w;
}

inline std::vector<__half> random_half(int64_t count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<__half> x(static_cast<size_t>(count));
  for (auto& v : x) v = __float2half_rn(normal(rng));
  return x;
}

// Y (M x N, row-major, fp16) = X (M x K) * W^T with W (N x K) row-major fp16: in cuBLAS's
// column-major terms Y^T (N x M) = W^T' (op T on the K x N column-major W) * X^T.
inline cublasStatus_t cublas_linear(cublasHandle_t h, const __half* W, const __half* X, __half* Y, int64_t M, int64_t N,
                             int64_t K) {
  const float alpha = 1.0f, beta = 0.0f;
  return cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, int(N), int(M), int(K), &alpha, W, CUDA_R_16F, int(K), X,
                      CUDA_R_16F, int(K), &beta, Y, CUDA_R_16F, int(N), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
}

struct Events {
  cudaEvent_t start{}, stop{};
  Events() {
    LSGEMM_CUDA_CHECK(cudaEventCreate(&start));
    LSGEMM_CUDA_CHECK(cudaEventCreate(&stop));
  }
  ~Events() {
    (void)cudaEventDestroy(start);
    (void)cudaEventDestroy(stop);
  }
  double seconds() const {
    float ms = 0.0f;
    LSGEMM_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    return double(ms) * 1e-3;
  }
};

struct CublasHandle {
  cublasHandle_t h = nullptr;
  CublasHandle() { (void)cublasCreate(&h); }
  ~CublasHandle() {
    if (h) (void)cublasDestroy(h);
  }
};

inline void set_counters(benchmark::State& state, double weight_bytes, int64_t M, int64_t N, int64_t K) {
  using benchmark::Counter;
  state.counters["GB/s"] = Counter(weight_bytes * 1e-9, Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] =
      Counter(2.0 * double(M) * double(N) * double(K) * 1e-9, Counter::kIsIterationInvariantRate);
  state.counters["bpw"] = weight_bytes * 8.0 / (double(N) * double(K));
}

}  // namespace lsgemm_cuda_bench
