// Example 00: run-time CPU dispatch in one .cc of your own.
//
// lsgemm::matmul (dispatch.hpp) runs the kernels of the target this translation unit is
// compiled for: fastest when built with -march for the machine it runs on, but a
// binary shipped to unknown CPUs is built for a baseline (here: no -march at all, so
// SSE2 on x86-64). To use AVX2 / AVX-512 / VNNI where the CPU has them anyway, compile
// lsgemm's per-target kernels (int_quant/simd-inl.h) once per target with Highway's
// foreach_target.h and pick one at run time with HWY_DYNAMIC_DISPATCH. This file
// shows the pattern:
//   1. HWY_TARGET_INCLUDE names this file (relative to an include directory: the
//      build adds examples/ as one) and foreach_target.h re-includes it per target;
//   2. simd-inl.h is included inside that loop, so every target gets its kernels;
//   3. a small per-target function of ours calls lsgemm::int_quant::HWY_NAMESPACE::matmul;
//   4. once (HWY_ONCE), HWY_EXPORT builds the table and HWY_DYNAMIC_DISPATCH calls the
//      best entry the CPU supports.
// It prints the targets compiled in and the one chosen, and checks the result against
// the reference (exit code 1 on a mismatch).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "00_runtime_dispatch.cc"
#include <hwy/foreach_target.h>  // must come before highway.h
#include <hwy/highway.h>

#include "lsgemm/int_quant/simd-inl.h"  // re-included per target along with this file

HWY_BEFORE_NAMESPACE();
namespace example {
namespace HWY_NAMESPACE {

// One copy per target. Returns the name of the target whose kernels ran, so the caller
// can see what the dispatcher picked.
const char* matmul_dispatched(lsgemm::HostView<const float> X, const lsgemm::int_quant::QuantizedMatrix& w,
                              lsgemm::HostView<float> Y) {
  lsgemm::int_quant::HWY_NAMESPACE::matmul(X, w, Y);
  return hwy::TargetName(HWY_TARGET);
}

}  // namespace HWY_NAMESPACE
}  // namespace example
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "lsgemm/int_quant/format.hpp"
#include "lsgemm/int_quant/reference.hpp"

namespace example {

HWY_EXPORT(matmul_dispatched);  // the table: one entry per compiled target

const char* matmul_best(lsgemm::HostView<const float> X, const lsgemm::int_quant::QuantizedMatrix& w,
                        lsgemm::HostView<float> Y) {
  return HWY_DYNAMIC_DISPATCH(matmul_dispatched)(X, w, Y);
}

std::vector<float> random_normal(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = nd(rng);
  return v;
}

// Runs one shape through the dispatched kernel and the reference; true when they agree
// within the float-summation bound (K + 2*groups + 8) * FLT_EPSILON * sum|terms|.
bool run(int64_t M, int64_t N, int64_t K, lsgemm::int_quant::ActMode act) {
  namespace iq = lsgemm::int_quant;
  const std::vector<float> w = random_normal(size_t(N * K), 1), x = random_normal(size_t(M * K), 2);
  const iq::QuantizedMatrix q = iq::pack(lsgemm::view<const float>(w.data(), N, K),
                                         iq::PackOptions().with_bits(4).with_group(128).with_act(act));
  const auto X = lsgemm::view<const float>(x.data(), M, K);
  std::vector<float> y(size_t(M * N)), yr(size_t(M * N));
  const char* target = matmul_best(X, q, lsgemm::view(y.data(), M, N));
  lsgemm::reference::matmul(X, q, lsgemm::view(yr.data(), M, N));

  const std::vector<double> mag = lsgemm::reference::matmul_magnitude(X, q);
  const double terms = double(K + 2 * q.groups() + 8);
  double worst = 0.0;  // largest |error| / tolerance
  for (size_t i = 0; i < y.size(); ++i) {
    const double tol = terms * FLT_EPSILON * mag[i];
    const double ratio = std::fabs(double(y[i]) - double(yr[i])) / tol;
    if (!(ratio <= worst)) worst = ratio;  // NaN propagates into worst
  }
  const bool ok = worst <= 1.0;
  std::printf("  M=%-3lld N=%lld K=%lld int4 g128 %-5s  ran %-10s  max |err|/tol = %.2e  %s\n", (long long)M,
              (long long)N, (long long)K, iq::act_mode_name(act), target, worst, ok ? "ok" : "MISMATCH");
  return ok;
}

}  // namespace example

int main() {
  std::string compiled;
  for (int64_t t : hwy::SupportedAndGeneratedTargets()) compiled += std::string(" ") + hwy::TargetName(t);
  std::printf("lsgemm example 00: run-time dispatch\n");
  std::printf("  static (baseline) target of this file: %s\n", hwy::TargetName(HWY_STATIC_TARGET));
  std::printf("  compiled and supported by this CPU, best first:%s\n", compiled.c_str());
  bool ok = true;
  for (int64_t M : {1, 7})
    for (auto act : {lsgemm::int_quant::ActMode::kFloat, lsgemm::int_quant::ActMode::kInt8})
      ok = example::run(M, 300, 1024, act) && ok;
  std::printf("%s\n", ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
}
#endif  // HWY_ONCE
