#pragma once
// Software prefetch into the second-level cache, for kernels that stream weights from
// DRAM. Highway's hwy::Prefetch asks for L1 (prefetcht0); a GEMV that streams two code
// arrays keeps ~8 KB in flight, more than L1 should hold beside its tables, and on the
// development machine (Zen 5) the L1 hint left the LUT GEMV at 50-70 % of the streaming
// probe where the L2 hint reaches ~90 % (lut_bench, 4096 x 4096, M = 1, T = 1: 2-bit
// 268 -> 206 us, ternary triples 247 -> 149 us).
namespace lsgemm {
namespace detail {

inline void prefetch_l2(const void* p) {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p, /*rw=*/0, /*locality=*/2);  // x86: prefetcht1; Arm: PRFM PLDL2KEEP
#else
  (void)p;  // no portable spelling: rely on the hardware prefetcher
#endif
}

}  // namespace detail
}  // namespace lsgemm
