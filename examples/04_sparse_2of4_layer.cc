// Example 04: a 4096 -> 11008 up-projection (W: 11008 x 4096) pruned to 2:4 structured
// sparsity (in every run of 4 input channels, the 2 largest |w| stay), with f32 and bf16
// values, and with int4 values and int8 activations (sparse + quantized), next to the
// dense f32 product (Eigen) and lsgemm's dense int4 kernel (g128, int8 activations) on
// the same shape.
//
// It prints each format's bits per weight and the time of an M = 1 (decode) and an
// M = 128 (prefill) call with the speed-up over the dense f32 product (printed, not
// checked: the machine may be shared), and checks the sparse results:
//   - against lsgemm's reference (the format's definition, double sums) at M = 1, and
//     against the product of the pruned weights in double (Eigen) for the first 16 of
//     the M = 128 rows:
//     the kernel sums f32 products in another order, so each output may differ by
//     K * 2^-24 * sum |x w| (bf16 values are exact in f32, so the same bound);
//   - that pruning kept half of the weights, the larger half: the pruned matrix holds
//     at least 70 % of the dense one's squared norm (for Gaussian weights the two
//     largest of four carry ~87 %).
// Exits non-zero past a bound.
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
namespace nm = lsgemm::nm_sparse;
namespace iq = lsgemm::int_quant;

using MatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

constexpr int64_t kN = 11008, kK = 4096, kPrefill = 128;
constexpr int64_t kChecked = 16;  // rows of the M = 128 result checked in double (time)
constexpr double kMinKeptEnergy = 0.70;

MatF gaussian(int64_t rows, int64_t cols, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  MatF m(rows, cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) m(r, c) = nd(rng);
  return m;
}

// max over outputs of |y - exact| / (K * 2^-24 * sum_k |x w| + tiny): <= 1 passes.
template <class MY>
double worst_ratio(const MY& Y, const MatD& exact, const MatD& magnitude) {
  double worst = 0.0;
  for (int64_t m = 0; m < Y.rows(); ++m)
    for (int64_t n = 0; n < Y.cols(); ++n) {
      const double bound = double(kK) * std::ldexp(1.0, -24) * magnitude(m, n) + 1e-30;
      worst = std::max(worst, std::fabs(double(Y(m, n)) - exact(m, n)) / bound);
    }
  return worst;
}

}  // namespace

int main() {
  std::printf("lsgemm example 04: 2:4 sparse up-projection, N = %lld, K = %lld\n", (long long)kN, (long long)kK);
  std::printf("SIMD target: %s, threads: %d\n\n", lsgemm::simd_target_name(), lsgemm::max_threads());

  const MatF W = gaussian(kN, kK, 7);
  const MatF X1 = gaussian(1, kK, 11), Xp = gaussian(kPrefill, kK, 13);
  const auto Wv = lsgemm::view<const float>(W.data(), kN, kK);
  const auto X1v = lsgemm::view<const float>(X1.data(), 1, kK);
  const auto Xpv = lsgemm::view<const float>(Xp.data(), kPrefill, kK);
  MatF Y1(1, kN), Yp(kPrefill, kN);
  const auto Y1v = lsgemm::view(Y1.data(), 1, kN);
  const auto Ypv = lsgemm::view(Yp.data(), kPrefill, kN);

  // The peers: the dense f32 product and the dense int4 kernel.
  const double dense1 = time_us(5, [&] { Y1.noalias() = X1 * W.transpose(); });
  const double densep = time_us(2, [&] { Yp.noalias() = Xp * W.transpose(); });
  const iq::QuantizedMatrix w4 = iq::pack(Wv, iq::PackOptions().with_bits(4).with_group(128).with_act(iq::ActMode::kInt8));
  const double int4_1 = time_us(5, [&] { lsgemm::matmul(X1v, w4, Y1v); });
  const double int4_p = time_us(2, [&] { lsgemm::matmul(Xpv, w4, Ypv); });
  std::printf("%-14s %5s %10s %8s %10s %8s\n", "weights", "bits", "M=1 us", "x dense", "M=128 us", "x dense");
  std::printf("%-14s %5.2f %10.1f %8.2f %10.1f %8.2f\n", "dense f32", 32.0, dense1, 1.0, densep, 1.0);
  std::printf("%-14s %5.2f %10.1f %8.2f %10.1f %8.2f\n", "dense int4 W4A8", 8.0 * double(w4.packed_bytes()) / double(kN * kK),
              int4_1, dense1 / int4_1, int4_p, densep / int4_p);

  bool ok = true;
  auto check = [&](bool cond, const char* what, double v, double bound) {
    if (!cond) {
      std::printf("  FAIL: %s %.4f past %.2f\n", what, v, bound);
      ok = false;
    }
  };
  for (nm::ValueType vt : {nm::ValueType::kF32, nm::ValueType::kBf16}) {
    const nm::NmSparseMatrix w = nm::pack(Wv, nm::PackOptions().with_pattern(2, 4).with_values(vt));
    const double t1 = time_us(5, [&] { lsgemm::matmul(X1v, w, Y1v); });
    const double tp = time_us(2, [&] { lsgemm::matmul(Xpv, w, Ypv); });
    std::printf("%-14s %5.2f %10.1f %8.2f %10.1f %8.2f\n", vt == nm::ValueType::kF32 ? "2:4 f32" : "2:4 bf16",
                w.bits_per_weight(), t1, dense1 / t1, tp, densep / tp);

    // M = 1 against the reference; M = 128 against the fp32 product of the pruned W.
    MatF Yr(1, kN);
    lsgemm::reference::matmul(X1v, w, lsgemm::view(Yr.data(), 1, kN));
    const std::vector<double> mag1 = lsgemm::reference::matmul_magnitude(X1v, w);
    const MatD mag1m = Eigen::Map<const MatD>(mag1.data(), 1, kN);
    const double ratio1 = worst_ratio(Y1, Yr.cast<double>(), mag1m);
    check(ratio1 <= 1.0, "M=1 error / bound", ratio1, 1.0);
    const std::vector<float> d = nm::dequantize_to_vector(w);
    const MatF Wp = Eigen::Map<const MatF>(d.data(), kN, kK);
    const MatD Xc = Xp.topRows(kChecked).cast<double>(), Wd = Wp.cast<double>();
    const MatD exact = Xc * Wd.transpose();
    const MatD magnitude = Xc.cwiseAbs() * Wd.cwiseAbs().transpose();
    const double ratio = worst_ratio(Yp.topRows(kChecked), exact, magnitude);
    check(ratio <= 1.0, "M=128 error / bound", ratio, 1.0);
    const double kept = Wp.cast<double>().squaredNorm() / W.cast<double>().squaredNorm();
    check(kept >= kMinKeptEnergy, "kept share of the squared norm", kept, kMinKeptEnergy);
    if (vt == nm::ValueType::kF32) std::printf("  (kept %.1f %% of the squared norm)\n", 100.0 * kept);
  }
  // Sparse + quantized: 2:4 with int4 values (f16 scales per 128 columns) and X quantized
  // to int8 per group, the sparse twin of the dense W4A8 kernel above. Its reference
  // models the same quantization, so the kernel differs from it only by the per-group
  // f32 terms' rounding: (groups + 8) * 2^-23 * magnitude.
  {
    const nm::NmSparseMatrix w = nm::pack(Wv, nm::PackOptions()
                                                  .with_pattern(2, 4)
                                                  .with_values(nm::ValueType::kInt4)
                                                  .with_group(128)
                                                  .with_act(lsgemm::ActMode::kInt8));
    const double t1 = time_us(5, [&] { lsgemm::matmul(X1v, w, Y1v); });
    const double tp = time_us(2, [&] { lsgemm::matmul(Xpv, w, Ypv); });
    std::printf("%-14s %5.2f %10.1f %8.2f %10.1f %8.2f   (x dense int4: %.2f, %.2f)\n", "2:4 int4 A8", w.bits_per_weight(),
                t1, dense1 / t1, tp, densep / tp, int4_1 / t1, int4_p / tp);
    MatF Yr(1, kN);
    lsgemm::reference::matmul(X1v, w, lsgemm::view(Yr.data(), 1, kN));
    const std::vector<double> mag = lsgemm::reference::matmul_magnitude(X1v, w);
    double worst = 0.0;
    for (int64_t n = 0; n < kN; ++n)
      worst = std::max(worst, std::fabs(double(Y1(0, n)) - double(Yr(0, n))) /
                                  ((double(w.groups()) + 8.0) * std::ldexp(1.0, -23) * mag[size_t(n)] + 1e-30));
    check(worst <= 1.0, "2:4 int4 M=1 error / bound", worst, 1.0);
  }
  std::printf("\n%s\n", ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
}
