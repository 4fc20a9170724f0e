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
#include <cuda_fp16.h>

#include <cstdint>
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
  return cached<Prepared>(std::make_tuple(int(kind), N, K), [&] {
    const std::vector<float> W = random_weights(N, K, 42);
    const auto q = lsgemm::lut::pack(lsgemm::view<const float>(W.data(), N, K), options_of(kind));
    return Prepared{with_cold_copies(lsgemm::lut::to_device(q)),
                    device_copy(to_type<__half>(lsgemm::lut::dequantize_to_vector(q)))};
  });
}

template <Kind kKind>
void BM_lut(benchmark::State& state) {
  if (!device_or_skip(state)) return;
  const int64_t N = state.range(0), K = state.range(1), M = state.range(2);
  Prepared& w = prepared(kKind, N, K);
  MatmulBench<__half> bench(M, N, K, lsgemm::lut::workspace_bytes(w.copies[0], M));

  // Check once against cuBLAS on the dequantized weight: the kernel's w = fma(c, S, C)
  // is the exact weight rounded once to fp16, as on the cuBLAS side, so the two differ by
  // their fp32 summation order and the output rounding: a few fp16 ulps of the largest output.
  if (!bench.matches_cublas(state, w.copies[0], w.dense.data())) return;
  bench.time(state, w.copies, double(w.copies[0].packed_bytes()));
}

// The dense peer's weight is drawn from N(0, 1).
void BM_peer_cublas_f16(benchmark::State& state) { peer_cublas<__half>(state, 1.0f); }

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
