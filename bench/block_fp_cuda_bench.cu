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
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <tuple>
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

// One packed weight per (format, N, K), shared by the M values and activation types of a
// shape: its cold copies on the device, and the dequantized weight for the check.
struct Prepared {
  std::vector<lsgemm::block_fp::DeviceBlockFpMatrix> copies;
  std::vector<float> dense;
};

Prepared& prepared(Format f, int64_t N, int64_t K) {
  return cached<Prepared>(std::make_tuple(int(f), N, K), [&] {
    const std::vector<float> W = random_weights(N, K, 42);
    const auto q = lsgemm::block_fp::pack(lsgemm::view<const float>(W.data(), N, K), options_of(f));
    return Prepared{with_cold_copies(lsgemm::block_fp::to_device(q)), lsgemm::block_fp::dequantize_to_vector(q)};
  });
}

template <Format kFormat, class T>
void BM_block_fp(benchmark::State& state) {
  if (!device_or_skip(state)) return;
  const int64_t N = state.range(0), K = state.range(1), M = state.range(2);
  Prepared& w = prepared(kFormat, N, K);
  MatmulBench<T> bench(M, N, K, lsgemm::block_fp::workspace_bytes(w.copies[0], M));

  // Check once against cuBLAS on the dequantized weight rounded to T: the same weights
  // (NVFP4: within the decode's two roundings), a different fp32 summation order, one
  // output rounding each: a few ulps of T of the largest output.
  {
    const DeviceBuffer<T> dW = device_copy(to_type<T>(w.dense));
    if (!bench.matches_cublas(state, w.copies[0], dW.data())) return;
  }
  bench.time(state, w.copies, double(w.copies[0].packed_bytes()));
}

// The dense peer's weight has the packed weights' spread, N(0, 0.02).
template <class T>
void BM_peer_cublas(benchmark::State& state) {
  peer_cublas<T>(state, 0.02f);
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
