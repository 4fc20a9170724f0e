// The two halves of the ODR test: this file is compiled twice into one program, once
// with -march=haswell (static Highway target AVX2: lsgemm::matmul is
// lsgemm::dispatch_N_AVX2::matmul) and once with -march=skylake-avx512 (AVX3). The
// build passes LSGEMM_ODR_RUN (the entry point's name) and LSGEMM_ODR_TARGET. The
// wrappers sit in inline namespaces named after the target, the two TUs define
// different symbols (`nm -C odr_test | grep dispatch_N_` lists
// lsgemm::dispatch_N_AVX2::matmul and lsgemm::dispatch_N_AVX3::matmul), and the linker
// cannot merge them into one, which it would silently do with same-named inline
// functions whose bodies differ.
#include <cstdint>
#include <string>
#include <vector>

#include "lsgemm/lsgemm.hpp"

// Fails the build, not the test, when the flags do not give the intended target.
static_assert(HWY_STATIC_TARGET == LSGEMM_ODR_TARGET,
              "this TU's -march does not give the Highway target named by LSGEMM_ODR_TARGET "
              "(core/hwy_config.hpp: -march=haswell gives AVX2 although GCC's haswell lacks AES)");

std::string LSGEMM_ODR_RUN(const std::vector<float>& w, const std::vector<float>& x, int64_t m, int64_t n,
                         int64_t k, bool int8_acts, std::vector<float>& y, const void*& wrapper) {
  namespace iq = lsgemm::int_quant;
  const auto q = iq::pack(lsgemm::view<const float>(w.data(), n, k),
                          iq::PackOptions().with_bits(4).with_group(128).with_act(
                              int8_acts ? iq::ActMode::kInt8 : iq::ActMode::kFloat));
  y.assign(size_t(m * n), 0.0f);
  lsgemm::matmul(lsgemm::view<const float>(x.data(), m, k), q, lsgemm::view(y.data(), m, n));
  // Taking the wrapper's address makes the compiler emit it out of line (so nm can
  // see it) and lets the test check that the two TUs' wrappers are distinct functions.
  // matmul is overloaded (one per family): the cast picks the int_quant one.
  using IntQuantMatmul = void (*)(lsgemm::HostView<const float>, const iq::QuantizedMatrix&,
                                  lsgemm::HostView<float>, const lsgemm::Epilogue&);
  wrapper = reinterpret_cast<const void*>(static_cast<IntQuantMatmul>(&lsgemm::matmul));
  return lsgemm::simd_target_name();
}
