#pragma once
// Split-K reduction: a GEMM whose K was cut into `splits` slices wrote one fp32 partial
// product per slice into a caller-provided workspace laid out as
//
//     partial[(z * M + m) * N + n]        z in [0, splits), m in [0, M), n in [0, N)
//
// and this kernel folds them into Y: Y[m][n] = sum_z partial (in order z = 0, 1, ...,
// so the result is deterministic) + bias[n] (+ Y[m][n] when accumulating), rounded once
// to Y's type. Partials stay fp32 between slices (no intermediate rounding to half).
//
// Cost: (splits + 1) x 4 bytes read and one element written per output: for decode
// shapes (M <= 16) that is < 1 % of the weight bytes the GEMM itself streams.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "lsgemm/core/cuda/common.cuh"

namespace lsgemm {
namespace detail {

inline constexpr int kSplitKReduceThreads = 256;

// One thread per output element (grid-stride), consecutive threads on consecutive n,
// so every partial read and Y write is coalesced.
template <class T>
__global__ void __launch_bounds__(kSplitKReduceThreads)
    split_k_reduce(const float* __restrict__ partial, int splits, int64_t M, int64_t N, T* __restrict__ Y,
                   int64_t ldy, const float* __restrict__ bias, bool accumulate) {
  const int64_t total = M * N;
  for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
       idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t m = idx / N, n = idx % N;
    float v = 0.0f;
    for (int z = 0; z < splits; ++z) v += partial[z * total + idx];
    if (bias) v += bias[n];
    T* y = Y + m * ldy + n;
    if (accumulate) v += to_f32(*y);
    *y = from_f32<T>(v);
  }
}

template <class T>
void launch_split_k_reduce(const float* partial, int splits, int64_t M, int64_t N, T* Y, int64_t ldy,
                           const float* bias, bool accumulate, cudaStream_t stream) {
  const int64_t total = M * N;
  if (total == 0) return;
  // Enough blocks to cover the outputs once, capped so the grid stays a legal size;
  // the grid-stride loop covers the rest.
  const int64_t blocks = std::min<int64_t>((total + kSplitKReduceThreads - 1) / kSplitKReduceThreads, 1 << 20);
  split_k_reduce<T><<<unsigned(blocks), kSplitKReduceThreads, 0, stream>>>(partial, splits, M, N, Y, ldy,
                                                                            bias, accumulate);
  LSGEMM_CUDA_CHECK(cudaGetLastError());
}

}  // namespace detail
}  // namespace lsgemm
