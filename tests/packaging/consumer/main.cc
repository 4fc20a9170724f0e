// The packaging consumer: includes the umbrella header the way a user does, packs a
// small weight, multiplies, and checks the result against the reference. Exit code 1
// when they disagree, so the packaging test fails on a broken package, not only on a
// broken build.
#include <lsgemm/lsgemm.hpp>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

int main() {
  const int64_t M = 3, N = 40, K = 256;
  std::vector<float> w(size_t(N * K)), x(size_t(M * K)), y(size_t(M * N)), yr(size_t(M * N));
  // Deterministic, sign-mixed data (no <random>: the check must not depend on it).
  for (size_t i = 0; i < w.size(); ++i) w[i] = std::sin(0.37f * float(i)) + 0.1f;
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::cos(0.11f * float(i));

  namespace iq = lsgemm::int_quant;
  const iq::QuantizedMatrix q =
      iq::pack(lsgemm::view<const float>(w.data(), N, K), iq::PackOptions().with_bits(4).with_group(64));
  iq::validate(q);
  const auto X = lsgemm::view<const float>(x.data(), M, K);
  lsgemm::matmul(X, q, lsgemm::view(y.data(), M, N));
  lsgemm::reference::matmul(X, q, lsgemm::view(yr.data(), M, N));

  // Float summation bound, as in the library's tests: (K + 2*groups + 8) eps sum|terms|.
  const std::vector<double> mag = lsgemm::reference::matmul_magnitude(X, q);
  int bad = 0, nonzero = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    const double tol = double(K + 2 * q.groups() + 8) * FLT_EPSILON * mag[i];
    if (!(std::fabs(double(y[i]) - double(yr[i])) <= tol)) ++bad;
    if (yr[i] != 0.0f) ++nonzero;
  }
  std::printf("lsgemm consumer: target %s, %d of %zu outputs outside tolerance, %d non-zero\n",
              lsgemm::simd_target_name(), bad, y.size(), nonzero);
  return bad == 0 && nonzero > 0 ? 0 : 1;
}
