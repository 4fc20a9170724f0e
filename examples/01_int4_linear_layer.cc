// Example 01: a 4096 x 4096 linear layer with int4 weights.
//
// Quantizes a random-normal float weight to 4 bits, groups of 128, asymmetric (one f16
// scale and one 8-bit zero point per 128 weights: 4 + 24/128 = 4.19 bits per weight),
// once with float activations and once with int8 activations. Multiplies
// a batch of M = 1 (decode) and M = 16 tokens with lsgemm::matmul and prints
//   - the relative Frobenius error against the exact product with the float weights
//     (Eigen, in double): what quantization costs;
//   - the relative error against the product with the dequantized weights (float
//     activations only): what the kernel itself adds, which should be rounding noise;
//   - the time per call against Eigen's float product (printed, not checked: the
//     machine may be shared).
// Exits non-zero when an error exceeds its bound.
//
// The quantization bound, derived. Weights w ~ N(0, 1). A group of 128 spans
// [min, max] with E[max] of 128 standard normals ~ 2.6, so the step is
// s = (max - min) / 15 ~ 5.2 / 15 ~ 0.35. Rounding to the nearest level errs by at most
// s/2, uniformly spread, so the rms weight error is s / sqrt(12) ~ 0.10. An output
// y = sum_k x_k w_k over K = 4096 independent terms has rms sqrt(K) * |x| * 1, its
// error sum_k x_k e_k has rms sqrt(K) * |x| * 0.10: relative error ~ 0.10. int8
// activations add a step amax_x / 127 ~ 2.6 / 127 ~ 0.02 per group, rms 0.006,
// which adds in quadrature (still ~ 0.10). With 4096 x M outputs the estimate
// fluctuates by well under 1 %, so the bound kQuantBound = 0.15 (1.5x the expected
// value) never trips on a correct kernel, while a wrong scale or zero point gives an
// error of order 1.
// The kernel bound: float-activation kernels accumulate K = 4096 products in fp32;
// against the double product of the same dequantized weights the relative error is
// about sqrt(K) * 2^-24 ~ 4e-6 for random signs; kKernelBound = 1e-4 leaves 25x.
#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "lsgemm/lsgemm.hpp"
#include "timing.hpp"

namespace {

using examples::time_us;

namespace iq = lsgemm::int_quant;

using MatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

constexpr int64_t kN = 4096, kK = 4096;
constexpr double kQuantBound = 0.15;
constexpr double kKernelBound = 1e-4;

MatF random_normal(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  MatF m(rows, cols);
  for (int64_t i = 0; i < m.size(); ++i) m.data()[i] = nd(rng);
  return m;
}

double rel_error(const MatF& y, const MatD& exact) {
  return (y.cast<double>() - exact).norm() / exact.norm();
}

}  // namespace

int main() {
  std::printf("lsgemm example 01: int4 g128 linear layer, N = %lld, K = %lld\n", (long long)kN, (long long)kK);
  std::printf("SIMD target: %s, threads: %d\n", lsgemm::simd_target_name(), lsgemm::max_threads());

  const MatF W = random_normal(kN, kK, 42);
  const auto Wv = lsgemm::view<const float>(W.data(), kN, kK);
  const auto opt = iq::PackOptions().with_bits(4).with_group(128).with_symmetric(false);
  const iq::QuantizedMatrix wf = iq::pack(Wv, iq::PackOptions(opt).with_act(iq::ActMode::kFloat));
  const iq::QuantizedMatrix wi = iq::pack(Wv, iq::PackOptions(opt).with_act(iq::ActMode::kInt8));
  std::printf("packed: %.2f MB (float weights: %.2f MB, %.2f bits per weight)\n", wf.packed_bytes() / 1e6,
              kN * kK * 4 / 1e6, 8.0 * double(wf.packed_bytes()) / double(kN * kK));

  // Both oracles in double: the original weights, and the dequantized ones.
  const MatD Wd = W.cast<double>();
  const MatD Wq = lsgemm::dequantize(wf).cast<double>();

  bool ok = true;
  for (int64_t M : {1, 16}) {
    const MatF X = random_normal(M, kK, uint32_t(1000 + M));
    const MatD Xd = X.cast<double>();
    const MatD exact = Xd * Wd.transpose();
    const MatD exact_q = Xd * Wq.transpose();
    const auto Xv = lsgemm::view<const float>(X.data(), M, kK);
    const int reps = M == 1 ? 20 : 10;

    MatF Ye(M, kN);
    const double t_eigen = time_us(reps, [&] { Ye.noalias() = X * W.transpose(); });
    std::printf("\nM = %lld\n  Eigen fp32            %9.1f us   rel. error %.2e (fp32 rounding only)\n",
                (long long)M, t_eigen, rel_error(Ye, exact));

    for (const iq::QuantizedMatrix* w : {&wf, &wi}) {
      MatF Y(M, kN);
      const auto Yv = lsgemm::view(Y.data(), M, kN);
      const double t = time_us(reps, [&] { lsgemm::matmul(Xv, *w, Yv); });
      const double err = rel_error(Y, exact);
      std::printf("  lsgemm int4 g128 %-5s %9.1f us   rel. error %.4f (bound %.2f)   speedup over Eigen %.2fx\n",
                  iq::act_mode_name(w->act), t, err, kQuantBound, t_eigen / t);
      if (!(err <= kQuantBound)) {
        std::printf("  FAIL: relative error %.4f exceeds %.2f\n", err, kQuantBound);
        ok = false;
      }
      if (w->act == iq::ActMode::kFloat) {
        const double kerr = rel_error(Y, exact_q);
        std::printf("  kernel vs dequantized weights (double): rel. error %.2e (bound %.0e)\n", kerr, kKernelBound);
        if (!(kerr <= kKernelBound)) {
          std::printf("  FAIL: kernel error %.2e exceeds %.0e\n", kerr, kKernelBound);
          ok = false;
        }
      }
    }
  }
  std::printf("\n%s\n", ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
}
