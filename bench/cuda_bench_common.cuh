#pragma once
// Host-side helpers shared by the CUDA benchmark binaries: device check, cold rotation
// over >= 5x L2, random inputs, the cuBLAS peer (fp16 or bf16) as a linear layer and as a
// whole benchmark, event timing, the one-off check of a kernel's output against cuBLAS,
// and the counters (GB/s of packed weight, GFLOP/s, bits per weight, copies).
//
// MatmulBench calls matmul unqualified on purpose: argument-dependent lookup at the point
// of instantiation finds the overload of whichever family header the benchmark included,
// so this header does not need to include (and compile) every family's kernels.
#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "lsgemm/core/cuda/common.cuh"
#include "lsgemm/core/matrix.hpp"

namespace lsgemm_cuda_bench {

using lsgemm::DeviceBuffer;

// "no CUDA device: <reason>" when there is none (benchmarks skip with it).
inline bool device_available(std::string* why) {
  if (lsgemm::detail::cuda_device_available(why)) return true;
  *why = "no CUDA device: " + *why;
  return false;
}

// True when there is a device; otherwise SkipWithError with device_available's reason.
inline bool device_or_skip(benchmark::State& state) {
  std::string why;
  if (device_available(&why)) return true;
  state.SkipWithError(why.c_str());
  return false;
}

inline int64_t l2_bytes() {
  return lsgemm::detail::device_attribute(cudaDevAttrL2CacheSize, lsgemm::detail::current_device());
}

// Copies of a weight of `bytes` needed so that rotating through them streams >= 5x L2.
inline int cold_copies(int64_t bytes) {
  return int(std::clamp<int64_t>((5 * l2_bytes() + bytes - 1) / std::max<int64_t>(bytes, 1), 1, 64));
}

// The value make() returns for `key`, made on the first call with that key and kept for
// the rest of the process (shared by the M values of a shape: packing takes seconds).
template <class V, class Key, class Make>
V& cached(const Key& key, Make&& make) {
  static std::map<Key, std::unique_ptr<V>> cache;
  std::unique_ptr<V>& slot = cache[key];
  if (!slot) slot = std::make_unique<V>(make());
  return *slot;
}

// `first` and clones of it: cold_copies(first.packed_bytes()) device weights in all.
template <class W>
std::vector<W> with_cold_copies(W first) {
  std::vector<W> copies;
  copies.push_back(std::move(first));
  const int n_copies = cold_copies(copies[0].packed_bytes());
  for (int i = 1; i < n_copies; ++i) copies.push_back(copies[0].clone());
  return copies;
}

// `count` values drawn from N(0, sigma) with `seed`, each rounded to T (float, __half or
// __nv_bfloat16).
template <class T>
std::vector<T> random_values(int64_t count, uint64_t seed, float sigma = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, sigma);
  std::vector<T> x(static_cast<size_t>(count));
  for (auto& v : x) v = lsgemm::detail::from_f32<T>(normal(rng));
  return x;
}

// An n x k weight drawn from N(0, 0.02).
inline std::vector<float> random_weights(int64_t n, int64_t k, uint64_t seed) {
  return random_values<float>(n * k, seed, 0.02f);
}

// v rounded element by element to T.
template <class T>
std::vector<T> to_type(const std::vector<float>& v) {
  std::vector<T> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = lsgemm::detail::from_f32<T>(v[i]);
  return out;
}

// A device buffer holding a copy of v.
template <class T>
DeviceBuffer<T> device_copy(const std::vector<T>& v) {
  DeviceBuffer<T> d(v.size());
  d.upload(v.data(), v.size());
  return d;
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

// Y (M x N) = X (M x K) * W^T, all row-major in T (__half or __nv_bfloat16), with fp32
// accumulation: in cuBLAS's column-major terms Y^T (N x M) = W^T' (op T on the K x N
// column-major W) * X^T.
template <class T>
cublasStatus_t cublas_linear(cublasHandle_t h, const T* W, const T* X, T* Y, int64_t M, int64_t N, int64_t K) {
  static_assert(std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>, "cublas_linear: fp16 or bf16");
  const float alpha = 1.0f, beta = 0.0f;
  const cudaDataType_t t = std::is_same_v<T, __half> ? CUDA_R_16F : CUDA_R_16BF;
  return cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, int(N), int(M), int(K), &alpha, W, t, int(K), X, t, int(K), &beta,
                      Y, t, int(N), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
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

// A CUDA stream, destroyed at scope exit.
struct Stream {
  cudaStream_t s = nullptr;
  Stream() { LSGEMM_CUDA_CHECK(cudaStreamCreate(&s)); }
  ~Stream() { (void)cudaStreamDestroy(s); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
};

// Runs call(i) for the i-th iteration (i = 0, 1, ...) between two cudaEvents on `stream`
// and reports the time between them as the iteration's (manual) time.
template <class Call>
void time_calls(benchmark::State& state, cudaStream_t stream, Call&& call) {
  Events ev;
  size_t i = 0;
  for (auto _ : state) {
    LSGEMM_CUDA_CHECK(cudaEventRecord(ev.start, stream));
    call(i++);
    LSGEMM_CUDA_CHECK(cudaEventRecord(ev.stop, stream));
    LSGEMM_CUDA_CHECK(cudaEventSynchronize(ev.stop));
    state.SetIterationTime(ev.seconds());
  }
}

// The counters of an M x N x K call that streams weight_bytes, rotating over `copies`.
inline void set_counters(benchmark::State& state, double weight_bytes, int64_t M, int64_t N, int64_t K,
                         size_t copies) {
  using benchmark::Counter;
  state.counters["GB/s"] = Counter(weight_bytes * 1e-9, Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] =
      Counter(2.0 * double(M) * double(N) * double(K) * 1e-9, Counter::kIsIterationInvariantRate);
  state.counters["bpw"] = weight_bytes * 8.0 / (double(N) * double(K));
  state.counters["copies"] = double(copies);
}

// The cuBLAS peer benchmark on the shape (N, K, M) of state.range(0..2): a dense T weight
// drawn from N(0, weight_sigma) (seed 42) in cold copies, X from N(0, 1) (seed 7), and
// cublas_linear on the copies in turn; skips without a device or when cuBLAS fails.
template <class T>
void peer_cublas(benchmark::State& state, float weight_sigma) {
  if (!device_or_skip(state)) return;
  const int64_t N = state.range(0), K = state.range(1), M = state.range(2);
  const std::vector<T> hw = random_values<T>(N * K, 42, weight_sigma), hx = random_values<T>(M * K, 7);
  const int n_copies = cold_copies(int64_t(hw.size() * sizeof(T)));
  std::vector<DeviceBuffer<T>> copies;
  for (int i = 0; i < n_copies; ++i) copies.push_back(device_copy(hw));
  DeviceBuffer<T> dX = device_copy(hx), dY(size_t(M * N));
  CublasHandle cb;
  Stream stream;
  if (!cb.h || cublasSetStream(cb.h, stream.s) != CUBLAS_STATUS_SUCCESS ||
      cublas_linear(cb.h, copies[0].data(), dX.data(), dY.data(), M, N, K) != CUBLAS_STATUS_SUCCESS) {
    state.SkipWithError("cuBLAS GEMM failed");
    return;
  }
  LSGEMM_CUDA_CHECK(cudaStreamSynchronize(stream.s));
  time_calls(state, stream.s, [&](size_t i) {
    (void)cublas_linear(cb.h, copies[i % copies.size()].data(), dX.data(), dY.data(), M, N, K);
  });
  set_counters(state, double(N) * double(K) * sizeof(T), M, N, K, copies.size());
}

// One benchmarked product Y (M x N) = X (M x K) W^T on a family's device weight: X drawn
// from N(0, 1) (seed 7) rounded to T, Y, cuBLAS's Y for the check, a split-K workspace of
// ws_bytes and a stream.
template <class T>
class MatmulBench {
 public:
  MatmulBench(int64_t M, int64_t N, int64_t K, size_t ws_bytes)
      : M_(M), N_(N), K_(K), dX_(device_copy(random_values<T>(M * K, 7))), dY_(size_t(M * N)),
        dYc_(size_t(M * N)), ws_bytes_(ws_bytes), ws_(ws_bytes) {}

  // Runs matmul on w once and compares Y with cuBLAS on dW, the dense N x K weight in T (on
  // the device) that w decodes to. False, after SkipWithError, when cuBLAS fails or the
  // largest |diff| exceeds 8 ulps of T of the largest output (a few roundings apart).
  template <class W>
  bool matches_cublas(benchmark::State& state, const W& w, const T* dW) {
    CublasHandle cb;
    if (!cb.h || cublas_linear(cb.h, dW, dX_.data(), dYc_.data(), M_, N_, K_) != CUBLAS_STATUS_SUCCESS) {
      state.SkipWithError("cuBLAS check GEMM failed");
      return false;
    }
    matmul(X(), w, Y(), ws_.data(), ws_bytes_, stream_.s);
    LSGEMM_CUDA_CHECK(cudaStreamSynchronize(stream_.s));
    std::vector<T> got(size_t(M_ * N_)), want(size_t(M_ * N_));
    dY_.download(got.data(), got.size());
    dYc_.download(want.data(), want.size());
    const double rel = max_rel_diff(got, want);
    const double ulp = std::is_same_v<T, __half> ? std::ldexp(1.0, -10) : std::ldexp(1.0, -7);
    if (!(rel <= 8.0 * ulp)) {
      state.SkipWithError(("output differs from cuBLAS: max |diff| / max |ref| = " + std::to_string(rel)).c_str());
      return false;
    }
    return true;
  }

  // Times matmul on the cold copies in turn, then sets the counters for weight_bytes
  // streamed per call and the split-K workspace size.
  template <class W>
  void time(benchmark::State& state, const std::vector<W>& copies, double weight_bytes) {
    time_calls(state, stream_.s,
               [&](size_t i) { matmul(X(), copies[i % copies.size()], Y(), ws_.data(), ws_bytes_, stream_.s); });
    set_counters(state, weight_bytes, M_, N_, K_, copies.size());
    state.counters["split_k_ws_KB"] = double(ws_bytes_) / 1024.0;
  }

 private:
  lsgemm::DeviceView<const T> X() const { return lsgemm::device_view<const T>(dX_.data(), M_, K_); }
  lsgemm::DeviceView<T> Y() { return lsgemm::device_view<T>(dY_.data(), M_, N_); }

  int64_t M_, N_, K_;
  DeviceBuffer<T> dX_, dY_, dYc_;
  size_t ws_bytes_;
  DeviceBuffer<unsigned char> ws_;
  Stream stream_;
};

}  // namespace lsgemm_cuda_bench
