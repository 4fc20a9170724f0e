#pragma once
// Shared host/device plumbing of the CUDA path: CUDA errors turned into lsgemm::Error,
// an owning device buffer, and float <-> half/bf16 conversions usable in templates.
//
// Errors: every CUDA runtime call of the library goes through LSGEMM_CUDA_CHECK, so a
// failure surfaces as the library's one exception type with cudaGetErrorString's text
// and the failing expression, instead of a status code the caller may forget to read.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "lsgemm/core/error.hpp"

namespace lsgemm {
namespace detail {

inline void cuda_check(cudaError_t status, const char* expr, const char* file, int line) {
  if (status != cudaSuccess)
    fail("CUDA error ", cudaGetErrorName(status), " (", cudaGetErrorString(status), ") from ", expr,
         " at ", file, ":", line);
}

// True when the process can use a CUDA device; otherwise false, with the reason in *why
// (the sticky error of a failed query is cleared, so later calls start clean).
inline bool cuda_device_available(std::string* why) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    if (why) *why = std::string("cudaGetDeviceCount: ") + cudaGetErrorString(e);
    (void)cudaGetLastError();
    return false;
  }
  if (count == 0) {
    if (why) *why = "cudaGetDeviceCount reports 0 devices";
    return false;
  }
  return true;
}

// Device ordinal that is current on the calling host thread.
inline int current_device() {
  int dev = 0;
  cuda_check(cudaGetDevice(&dev), "cudaGetDevice", __FILE__, __LINE__);
  return dev;
}

inline int device_attribute(cudaDeviceAttr attr, int dev) {
  int v = 0;
  cuda_check(cudaDeviceGetAttribute(&v, attr, dev), "cudaDeviceGetAttribute", __FILE__, __LINE__);
  return v;
}

}  // namespace detail
}  // namespace lsgemm

#define LSGEMM_CUDA_CHECK(expr) ::lsgemm::detail::cuda_check((expr), #expr, __FILE__, __LINE__)

namespace lsgemm {

// Owning device allocation of n elements of T (cudaMalloc / cudaFree), movable and not
// copyable, like AlignedBuffer on the host. cudaMalloc returns 256-byte aligned memory,
// which every vector access of the kernels relies on (16-byte cp.async).
// The copy helpers finish before they return (they end with cudaDeviceSynchronize, so
// work on any stream sees the data): meant for setup, tests and benches, not a hot path.
template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t n) { resize(n); }
  DeviceBuffer(DeviceBuffer&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      release();
      p_ = std::exchange(o.p_, nullptr);
      n_ = std::exchange(o.n_, 0);
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { release(); }

  // Drops the old contents. The new memory is uninitialised, as cudaMalloc leaves it:
  // a zero fill here would run on the default stream and could race with a caller's
  // copy on a non-blocking stream, so writers fill every byte themselves.
  void resize(std::size_t n) {
    release();
    if (n == 0) return;
    void* p = nullptr;
    LSGEMM_CUDA_CHECK(cudaMalloc(&p, n * sizeof(T)));
    p_ = static_cast<T*>(p);
    n_ = n;
  }

  void upload(const T* host, std::size_t n) {
    detail::require(n <= n_, "DeviceBuffer::upload: ", n, " elements into a buffer of ", n_);
    if (n) LSGEMM_CUDA_CHECK(cudaMemcpy(p_, host, n * sizeof(T), cudaMemcpyHostToDevice));
    LSGEMM_CUDA_CHECK(cudaDeviceSynchronize());
  }
  void download(T* host, std::size_t n) const {
    detail::require(n <= n_, "DeviceBuffer::download: ", n, " elements from a buffer of ", n_);
    LSGEMM_CUDA_CHECK(cudaDeviceSynchronize());  // results of kernels on other streams
    if (n) LSGEMM_CUDA_CHECK(cudaMemcpy(host, p_, n * sizeof(T), cudaMemcpyDeviceToHost));
  }
  DeviceBuffer clone() const {
    DeviceBuffer b(n_);
    if (n_) LSGEMM_CUDA_CHECK(cudaMemcpy(b.p_, p_, n_ * sizeof(T), cudaMemcpyDeviceToDevice));
    LSGEMM_CUDA_CHECK(cudaDeviceSynchronize());
    return b;
  }

  T* data() { return p_; }
  const T* data() const { return p_; }
  std::size_t size() const { return n_; }
  std::size_t bytes() const { return n_ * sizeof(T); }

 private:
  void release() noexcept {
    // cudaFree's status is dropped: a destructor must not throw, and a failure here
    // (a context already torn down at exit) leaves nothing for the caller to fix.
    if (p_) (void)cudaFree(p_);
    p_ = nullptr;
    n_ = 0;
  }
  T* p_ = nullptr;
  std::size_t n_ = 0;
};

namespace detail {

// Sizes every device buffer to its host vector, copies them all on `stream` and waits,
// so that the vectors (a to_device's repacked staging copies) may go as soon as this
// returns. Each part is std::tie(buffer, vector).
template <class... T, class... V>
void upload_staged(cudaStream_t stream, std::tuple<DeviceBuffer<T>&, V&>... parts) {
  static_assert((std::is_same_v<std::remove_const_t<V>, std::vector<T>> && ...), "a buffer and a vector of T");
  (std::get<0>(parts).resize(std::get<1>(parts).size()), ...);
  auto upload = [stream](void* dst, const void* src, std::size_t bytes) {
    if (bytes) LSGEMM_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream));
  };
  (upload(std::get<0>(parts).data(), std::get<1>(parts).data(), std::get<0>(parts).bytes()), ...);
  LSGEMM_CUDA_CHECK(cudaStreamSynchronize(stream));
}

// Scalar conversions the kernels and the split-K reduction share: fp32 is the
// accumulator type, half / bf16 the I/O types, each rounded to nearest even.
__host__ __device__ inline float to_f32(float v) { return v; }
__host__ __device__ inline float to_f32(__half v) { return __half2float(v); }
__host__ __device__ inline float to_f32(__nv_bfloat16 v) { return __bfloat162float(v); }

template <class T>
__host__ __device__ inline T from_f32(float v) {
  if constexpr (std::is_same_v<T, __half>) {
    return __float2half_rn(v);
  } else if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    return __float2bfloat16_rn(v);
  } else {
    static_assert(std::is_same_v<T, float>, "from_f32: T must be float, __half or __nv_bfloat16");
    return v;
  }
}

// Reinterprets the bits of a 32-bit register (packed half2 / bf162 <-> uint32_t); the
// memcpy compiles to nothing and avoids type-punning through pointers.
template <class To, class From>
__host__ __device__ inline To bit_cast32(const From& f) {
  static_assert(sizeof(To) == sizeof(From) && sizeof(To) == 4, "bit_cast32 moves 32 bits");
  To t;
  memcpy(&t, &f, sizeof(To));
  return t;
}

}  // namespace detail
}  // namespace lsgemm
