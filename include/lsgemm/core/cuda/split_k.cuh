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

// How one call is cut into CTAs: row blocks (grid.x) x token blocks (grid.y), and K cut
// into `splits` slices of whole chunks (grid.z) when that grid alone would give the
// device fewer than target_ctas_per_sm CTAs per SM (decode shapes).
struct SplitKPlan {
  int tok_n8 = 1;           // n8 token columns per CTA
  int64_t row_blocks = 0;   // grid.x
  int64_t tok_blocks = 0;   // grid.y
  int splits = 1;           // grid.z
  int chunks_per_split = 0;
  size_t workspace = 0;     // bytes of fp32 partials (splits x M x N) when splits > 1
};

inline SplitKPlan plan_split_k(int tok_n8, int64_t row_blocks, int64_t M, int64_t N, int64_t chunks, int sm_count,
                               int target_ctas_per_sm, int max_splits, int min_chunks_per_split) {
  SplitKPlan p;
  p.tok_n8 = tok_n8;
  p.row_blocks = row_blocks;
  p.tok_blocks = (M + 8 * tok_n8 - 1) / (8 * tok_n8);
  const int64_t base = p.row_blocks * p.tok_blocks;
  const int64_t target = int64_t(std::max(sm_count, 1)) * target_ctas_per_sm;
  int64_t splits = 1;
  if (base > 0 && base < target) {
    splits = std::min<int64_t>({(target + base - 1) / base, int64_t(max_splits),
                                std::max<int64_t>(1, chunks / min_chunks_per_split)});
  }
  // Even slices, then as many slices as that needs: no slice is empty.
  const int64_t cps = (chunks + splits - 1) / splits;
  p.chunks_per_split = int(std::max<int64_t>(cps, 1));
  p.splits = int(std::max<int64_t>(1, (chunks + p.chunks_per_split - 1) / p.chunks_per_split));
  p.workspace = p.splits > 1 ? size_t(p.splits) * size_t(M) * size_t(N) * sizeof(float) : 0;
  return p;
}

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
