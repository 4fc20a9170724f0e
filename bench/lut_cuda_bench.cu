// lut CUDA benchmarks: 1/2/3/4-bit (asymmetric, group 128) and ternary (BitNet b1.58,
// per-tensor scale) weights x fp16 activations, against cuBLAS fp16 (cublasGemmEx on the
// dense weight) in the same binary, so every figure is a ratio taken in one run.
//
//   BM_lut_w2a16/N:8192/K:8192/M:1     lsgemm::matmul on lut::to_device(pack(W, 2-bit g128))
//   BM_lut_ternary_a16/...             ternary triples (stored on the device as 2-bit codes)
//   BM_peer_cublas_f16/...             dense fp16 weight, cublasGemmEx, fp32 accumulation
//
// Shapes: 4096x4096, 8192x8192 and BitNet b1.58 3B's layers (3200x3200 attention,
// 8640x3200 gate/up, 3200x8640 down; N x K), M = 1 (decode), 16, 4096 (prefill).
// Kernel time from cudaEvents around each call (UseManualTime). Weights are cold, as in
// decode: calls rotate through copies of W totalling >= 5x the L2 size, so each call
// reads its weight from DRAM. Counters (kIsIterationInvariantRate): GB/s of the packed
// weight bytes the call streams (device layout: codes + scales + offsets; for the peer
// its fp16 bytes) and GFLOP/s (2 M N K); bpw is the device bits per weight. Each
// benchmark checks its output once against cuBLAS on the dequantized weight (rounded to
// fp16, which is what the kernel's decode produces) before timing. Without a device
// every benchmark reports SkipWithError and the binary exits 0.
#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "cuda_bench_common.cuh"
#include "lsgemm/core/cuda/common.cuh"
#include "lsgemm/lut/cuda.cuh"
#include "lsgemm/lut/format.hpp"

namespace {

using lsgemm::DeviceBuffer;
using namespace lsgemm_cuda_bench;
using lsgemm::lut::PackOptions;
using lsgemm::lut::WeightKind;


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

enum Kind { kW1, kW2, kW3, kW4, kTernary };

PackOptions options_of(Kind kind) {
  if (kind == kTernary) return PackOptions::ternary(WeightKind::kTernaryTriples, lsgemm::lut::kPerTensor);
  return PackOptions().with_bits(int(kind) + 1).with_group(128);
}

// One packed weight per (kind, N, K), shared by the M values of a shape (packing and
// repacking 8192 x 8192 takes seconds): its cold copies on the device, and the fp16
// dequantized weight for the check.
struct Prepared {
  std::vector<lsgemm::lut::DeviceLutMatrix> copies;
  DeviceBuffer<__half> dense;
};

Prepared& prepared(Kind kind, int64_t N, int64_t K) {
  static std::map<std::tuple<int, int64_t, int64_t>, std::unique_ptr<Prepared>> cache;
  auto& slot = cache[{int(kind), N, K}];
  if (!slot) {
    slot = std::make_unique<Prepared>();
    const std::vector<float> W = random_weights(N, K, 42);
    const auto q = lsgemm::lut::pack(lsgemm::view<const float>(W.data(), N, K), options_of(kind));
    slot->copies.push_back(lsgemm::lut::to_device(q));
    const int n_copies = cold_copies(slot->copies[0].packed_bytes());
    for (int i = 1; i < n_copies; ++i) slot->copies.push_back(slot->copies[0].clone());
    const std::vector<float> wdq = lsgemm::lut::dequantize_to_vector(q);
    std::vector<__half> wh(wdq.size());
    for (size_t i = 0; i < wdq.size(); ++i) wh[i] = __float2half_rn(wdq[i]);
    slot->dense.resize(wh.size());
    slot->dense.upload(wh.data(), wh.size());
  }
  return *slot;
}

template <Kind kKind>
void BM_lut(benchmark::State& state) {
  std::string why;
  if (!device_available(&why)) {
    state.SkipWithError(why.c_str());
    return;
  }
  const int64_t N = state.range(0), K = state.range(1), M = state.range(2);
  Prepared& w = prepared(kKind, N, K);

  const std::vector<__half> hx = random_half(M * K, 7);
  DeviceBuffer<__half> dX(hx.size()), dY(size_t(M * N)), dYc(size_t(M * N));
  dX.upload(hx.data(), hx.size());
  const size_t ws_bytes = lsgemm::lut::workspace_bytes(w.copies[0], M);
  DeviceBuffer<unsigned char> ws(ws_bytes);
  const auto X = lsgemm::device_view<const __half>(dX.data(), M, K);
  const auto Y = lsgemm::device_view<__half>(dY.data(), M, N);
  cudaStream_t stream = nullptr;
  LSGEMM_CUDA_CHECK(cudaStreamCreate(&stream));

  // Check once against cuBLAS on the dequantized weight: the kernel's w = fma(c, S, C)
  // is the exact weight rounded once to fp16, as on the cuBLAS side, so the two differ by
  // their fp32 summation order and the output rounding: a few fp16 ulps of the largest output.
  {
    CublasHandle cb;
    if (!cb.h || cublas_linear(cb.h, w.dense.data(), dX.data(), dYc.data(), M, N, K) != CUBLAS_STATUS_SUCCESS) {
      state.SkipWithError("cuBLAS check GEMM failed");
      (void)cudaStreamDestroy(stream);
      return;
    }
    lsgemm::matmul(X, w.copies[0], Y, ws.data(), ws_bytes, stream);
    LSGEMM_CUDA_CHECK(cudaStreamSynchronize(stream));
    std::vector<__half> got(size_t(M * N)), want(size_t(M * N));
    dY.download(got.data(), got.size());
    dYc.download(want.data(), want.size());
    const double rel = max_rel_diff(got, want);
    if (!(rel <= 8.0 * std::ldexp(1.0, -10))) {
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
  const int64_t nk[][2] = {{4096, 4096}, {8192, 8192}, {3200, 3200}, {8640, 3200}, {3200, 8640}};
  for (const auto& s : nk)
    for (int64_t m : {1, 16, 4096}) b->Args({s[0], s[1], m});
  b->UseManualTime()->Unit(benchmark::kMicrosecond);
}

}  // namespace

BENCHMARK(BM_lut<kW1>)->Name("BM_lut_w1a16")->Apply(shapes);
BENCHMARK(BM_lut<kW2>)->Name("BM_lut_w2a16")->Apply(shapes);
BENCHMARK(BM_lut<kW3>)->Name("BM_lut_w3a16")->Apply(shapes);
BENCHMARK(BM_lut<kW4>)->Name("BM_lut_w4a16")->Apply(shapes);
BENCHMARK(BM_lut<kTernary>)->Name("BM_lut_ternary_a16")->Apply(shapes);
BENCHMARK(BM_peer_cublas_f16)->Apply(shapes);

BENCHMARK_MAIN();
