#pragma once
// Thin wrappers over the sm_80 instructions the CUDA kernels are built from:
// mma.sync m16n8k16 (f16 / bf16 in, f32 accumulate), ldmatrix, cp.async (with an L2
// evict-first policy for data read once) and lop3. One PTX instruction each, so the
// kernels read as algorithms and the PTX is in one reviewed place.
//
// Fragment layouts of mma.sync.m16n8k16 (PTX ISA, "Matrix Fragments for mma.m16n8k16"),
// for lane l: group g = l / 4, thread-in-group t = l % 4; each 32-bit register holds two
// 16-bit elements, the lower column index in the low half:
//   A (16x16, row-major)  a[0] = A[g  ][2t..2t+1]    a[1] = A[g+8][2t..2t+1]
//                         a[2] = A[g  ][2t+8..+9]    a[3] = A[g+8][2t+8..+9]
//   B (16x8,  "col")      b[0] = B[2t..2t+1][g]      b[1] = B[2t+8..+9][g]
//   C (16x8,  f32)        c[0] = C[g][2t]  c[1] = C[g][2t+1]  c[2] = C[g+8][2t]  c[3] = C[g+8][2t+1]
//
// Everything here needs sm_80 (cp.async, bf16 mma, createpolicy). Compiled for an older
// architecture the bodies trap instead of failing the build, so that including the
// headers never breaks a translation unit; host code refuses to launch on such a device.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
#define LSGEMM_CUDA_PRE_SM80 1
#else
#define LSGEMM_CUDA_PRE_SM80 0
#endif

namespace lsgemm {
namespace detail {

// Generic -> shared-window address, the operand form ldmatrix and cp.async expect.
__device__ __forceinline__ uint32_t smem_u32(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// D = A * B + D, one m16n8k16 tensor-core product. T selects the input type
// (__half or __nv_bfloat16); accumulation is always fp32.
template <class T>
__device__ __forceinline__ void mma_m16n8k16(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#if LSGEMM_CUDA_PRE_SM80
  __trap();
#else
  if constexpr (std::is_same_v<T, __half>) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
        "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  } else {
    static_assert(std::is_same_v<T, __nv_bfloat16>, "mma_m16n8k16: T must be __half or __nv_bfloat16");
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
        "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  }
#endif
}

// ldmatrix: lanes 8i..8i+7 give the 16-byte row addresses of 8x8 matrix i; lane l
// receives row l/4, columns 2(l%4)..+1 of each matrix, i.e. exactly an mma B register
// when the matrix rows are tokens and its columns are 8 consecutive k.
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* smem_row) {
#if LSGEMM_CUDA_PRE_SM80
  __trap();
#else
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_u32(smem_row)));
#endif
}

// Two matrices: addresses from lanes 0..15 (the others are ignored but must be valid
// shared addresses, so callers pass the same formula for every lane).
__device__ __forceinline__ void ldmatrix_x2(uint32_t (&r)[2], const void* smem_row) {
#if LSGEMM_CUDA_PRE_SM80
  __trap();
#else
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0, %1}, [%2];\n"
               : "=r"(r[0]), "=r"(r[1])
               : "r"(smem_u32(smem_row)));
#endif
}

// An L2 policy that marks lines evict-first: weights are streamed exactly once per
// call, so they should not push the activations (re-read by every CTA of a column of
// the grid) and the split-K partials out of L2.
__device__ __forceinline__ uint64_t make_l2_evict_first_policy() {
#if LSGEMM_CUDA_PRE_SM80
  __trap();
  return 0;
#else
  uint64_t policy;
  asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;\n" : "=l"(policy));
  return policy;
#endif
}

// 16-byte global -> shared copy, bypassing L1 (.cg: the data is consumed from shared
// memory, so an L1 copy would be wasted). Both addresses must be 16-byte aligned.
__device__ __forceinline__ void cp_async16(void* smem, const void* gmem) {
#if LSGEMM_CUDA_PRE_SM80
  __trap();
#else
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(smem_u32(smem)), "l"(gmem));
#endif
}

// As cp_async16, with an L2 cache policy from make_l2_evict_first_policy().
__device__ __forceinline__ void cp_async16_evict_first(void* smem, const void* gmem, uint64_t policy) {
#if LSGEMM_CUDA_PRE_SM80
  __trap();
#else
  asm volatile("cp.async.cg.shared.global.L2::cache_hint [%0], [%1], 16, %2;\n" ::"r"(smem_u32(smem)),
               "l"(gmem), "l"(policy));
#endif
}

// As cp_async16, but when !valid reads nothing (src-size 0) and fills the 16 bytes with
// zeros: tails of a tile are padded without a branch around the copy. gmem must still
// be a valid address expression (it is not dereferenced when !valid).
__device__ __forceinline__ void cp_async16_zfill(void* smem, const void* gmem, bool valid) {
#if LSGEMM_CUDA_PRE_SM80
  __trap();
#else
  const int src_bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_u32(smem)), "l"(gmem),
               "r"(src_bytes));
#endif
}

__device__ __forceinline__ void cp_async_commit() {
#if !LSGEMM_CUDA_PRE_SM80
  asm volatile("cp.async.commit_group;\n" ::);
#endif
}

// Waits until at most kPending of this thread's committed groups are still in flight.
template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
#if !LSGEMM_CUDA_PRE_SM80
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
#endif
}

// lop3.b32 d = f(a, b, c) for the truth table kLut (f applied to the lut inputs
// 0xF0, 0xCC, 0xAA). 0xEA = (a & b) | c: mask a field and OR an exponent into it in one
// instruction, the heart of the integer -> half conversion.
template <int kLut>
__device__ __forceinline__ uint32_t lop3(uint32_t a, uint32_t b, uint32_t c) {
  uint32_t d;
  asm("lop3.b32 %0, %1, %2, %3, %4;\n" : "=r"(d) : "r"(a), "r"(b), "r"(c), "n"(kLut));
  return d;
}

}  // namespace detail
}  // namespace lsgemm
