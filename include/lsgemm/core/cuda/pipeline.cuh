#pragma once
// A kStages-deep cp.async ring in shared memory, for a CTA that walks a sequence of
// tiles (K chunks): tile i is loaded into stage i % kStages while tiles i-kStages+1 ..
// i-1 are still in flight, so kStages-1 loads overlap every computation.
//
// Why kStages-1 in flight: DRAM latency is ~600-800 ns on A100/H100; with a few CTAs per
// SM each holding (kStages-1) x (bytes of one stage) in flight, Little's law
// (bandwidth x latency = 3.35 TB/s x 0.7 us / 132 SMs ~ 18 KB per SM) tells how deep the
// ring must be. The kernels size their stages from that (core/cuda/cta_launch.cuh).
//
// The protocol, per thread (cp.async groups are per thread; the barrier makes them CTA-wide):
//   prologue   load tiles 0 .. kStages-2, one commit group each (empty groups too)
//   iteration i:
//     wait_group<kStages-2>  -> this thread's copies of tile i have landed
//     __syncthreads          -> everyone's copies of tile i have landed and are visible,
//                               and everyone finished computing tile i-1, whose stage
//                               ((i-1) % kStages == (i+kStages-1) % kStages) is reused now
//     load tile i+kStages-1 into that stage, commit (an empty group past the end keeps
//                               the group count, and so the wait arithmetic, uniform)
//     compute tile i from stage i % kStages
//   epilogue   wait_group<0>: no copy may still target shared memory when the CTA exits.
// A loader may also fill a stage with ordinary st.shared (e.g. unaligned tails): those
// stores precede the barrier of the iteration that consumes them, so they are visible.
#include "lsgemm/core/cuda/mma.cuh"

namespace lsgemm {
namespace detail {

// load(stage, tile) issues the copies of one tile; compute(stage, tile) consumes it.
// Both are called by every thread of the CTA with the same arguments.
template <int kStages, class Load, class Compute>
__device__ __forceinline__ void cp_async_pipeline(int num_tiles, Load&& load, Compute&& compute) {
  static_assert(kStages >= 2, "a pipeline needs at least two stages");
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < num_tiles) load(s, s);
    cp_async_commit();
  }
  for (int i = 0; i < num_tiles; ++i) {
    cp_async_wait<kStages - 2>();
    __syncthreads();
    const int next = i + kStages - 1;
    if (next < num_tiles) load(next % kStages, next);
    cp_async_commit();
    compute(i % kStages, i);
  }
  cp_async_wait<0>();
}

}  // namespace detail
}  // namespace lsgemm
