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
#include <cuda_fp16.h>

#include <cstdint>
#include <vector>

#include "cuda_bench_common.cuh"
#include "lsgemm/core/cuda/common.cuh"
#include "lsgemm/int_quant/cuda.cuh"
#include "lsgemm/int_quant/format.hpp"

namespace {

using lsgemm::DeviceBuffer;
using namespace lsgemm_cuda_bench;

template <int kBits>
void BM_wNa16(benchmark::State& state) {
  if (!device_or_skip(state)) return;
  const int64_t N = state.range(0), K = state.range(1), M = state.range(2);
  const std::vector<float> W = random_weights(N, K, 42);
  const auto q = lsgemm::int_quant::pack(lsgemm::view<const float>(W.data(), N, K),
                                         lsgemm::int_quant::PackOptions().with_bits(kBits).with_group(128));
  const std::vector<lsgemm::int_quant::DeviceQuantizedMatrix> copies =
      with_cold_copies(lsgemm::int_quant::to_device(q));
  MatmulBench<__half> bench(M, N, K, lsgemm::int_quant::workspace_bytes(copies[0], M));

  // Check once against cuBLAS on the dequantized weight (the same fp16 weights: s*(q-z)
  // is exact in fp32 and rounds once to fp16 on both sides), a different fp32 summation
  // order plus one fp16 output rounding each: a few fp16 ulps of the largest output.
  {
    const DeviceBuffer<__half> dW = device_copy(to_type<__half>(lsgemm::int_quant::dequantize_to_vector(q)));
    if (!bench.matches_cublas(state, copies[0], dW.data())) return;
  }
  bench.time(state, copies, double(q.packed_bytes()));
}

// The dense peer's weight is drawn from N(0, 1).
void BM_peer_cublas_f16(benchmark::State& state) { peer_cublas<__half>(state, 1.0f); }

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
