// Example 05: an 11008 -> 4096 down-projection (W: 4096 x 11008, N = 4096 outputs, K =
// 11008 inputs) magnitude-pruned to unstructured sparsity 50 %, 80 % and 95 % (each row
// keeps its ceil((1 - s) K) largest |w|, anywhere in the row) and stored as
// bitmap_sparse with f32 values (a 64-bit mask per 64 weights plus the kept values),
// next to the dense f32 product (Eigen) on the same shape.
//
// Pruning: bitmap_sparse::pack(W, PackOptions().with_sparsity(s)) prunes inside the pack
// with that rule (a linear selection per row, rows in parallel).
//
// For each sparsity it prints the bits per weight, the time of an M = 1 (decode) and an
// M = 128 (prefill) call with the speed-up over the dense f32 product (printed, not
// checked: the machine may be shared), and which kernel path ran. It checks:
//   - lsgemm::matmul against lsgemm::reference::matmul (the format's definition, double
//     sums rounded once to f32): all 4096 outputs at M = 1, and at M = 128 the rows
//     0, 17, 34, ..., 119 (8 rows at different lanes of different token blocks; the
//     reference walks every stored weight once per row in scalar code, so all 128 rows
//     would take seconds). The bound per output (m, n), derived: row n stores c_n <= K
//     weights (f32 values, exact in the reference's double sum); the kernel sums the
//     c_n products x * w in f32 in some order (FMAs, several accumulators, zeros in
//     masked-off lanes add exactly), which errs by at most about (c_n - 1) * 2^-24 *
//     sum |x w|; the reference's final rounding to f32 adds 2^-24 |y| <= 2^-24 sum |x w|.
//     So |y - y_ref| <= (c_n + 1) * 2^-24 * sum_k |x w| (lsgemm::reference::
//     matmul_magnitude), a worst case: rounding errors of random sign give ~ 1 / sqrt(c_n)
//     of it;
//   - that pruning kept the stated share of each row (sparsity() = 1 - ceil((1 - s) K) / K
//     for weights without zeros);
//   - that it kept the largest weights: for N(0, 1) weights the kept fraction q = 1 - s
//     above the threshold t (q = erfc(t / sqrt 2)) carries q + 2 t phi(t) of the squared
//     norm (50 %: 92.9 %, 80 %: 65.0 %, 95 %: 27.9 %; a random choice keeps only q). Over
//     45 M weights the measured share lies within ~1e-3 of that, so 0.01 is the bound.
// Exits non-zero past a bound.
#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "lsgemm/lsgemm.hpp"
#include "timing.hpp"

namespace {

using examples::time_us;
namespace bs = lsgemm::bitmap_sparse;

using MatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

constexpr int64_t kN = 4096, kK = 11008, kPrefill = 128;
constexpr int64_t kCheckedStride = 17, kChecked = 8;  // M = 128 rows checked: 0, 17, ..., 119
constexpr double kEnergyTolerance = 0.01;

MatF gaussian(int64_t rows, int64_t cols, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  MatF m(rows, cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) m(r, c) = nd(rng);
  return m;
}

// Share of E[w^2] carried by the fraction q of N(0, 1) draws with the largest |w|:
// q + 2 t phi(t) with q = erfc(t / sqrt 2) (t by bisection).
double gaussian_kept_energy(double q) {
  double lo = 0.0, hi = 40.0;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (std::erfc(mid / std::sqrt(2.0)) > q ? lo : hi) = mid;
  }
  const double t = 0.5 * (lo + hi);
  const double phi = std::exp(-0.5 * t * t) / std::sqrt(2.0 * std::acos(-1.0));
  return q + 2.0 * t * phi;
}

// max over the outputs of X * W^T of |y - reference| / ((c_n + 1) 2^-24 sum |x w|): <= 1
// passes (file comment).
double worst_ratio(lsgemm::HostView<const float> X, const bs::BitmapSparseMatrix& w, lsgemm::HostView<const float> Y) {
  MatF Yr(X.rows, w.n);
  lsgemm::reference::matmul(X, w, lsgemm::view(Yr.data(), X.rows, w.n));
  const std::vector<double> mag = lsgemm::reference::matmul_magnitude(X, w);
  double worst = 0.0;
  for (int64_t n = 0; n < w.n; ++n) {
    const double stored = double(w.offsets[size_t((n + 1) * w.chunks())] - w.offsets[size_t(n * w.chunks())]);
    for (int64_t m = 0; m < X.rows; ++m) {
      const double bound = (stored + 1.0) * std::ldexp(1.0, -24) * mag[size_t(m * w.n + n)] + 1e-30;
      worst = std::max(worst, std::fabs(double(Y(m, n)) - double(Yr(m, n))) / bound);
    }
  }
  return worst;
}

// The bitmap_sparse path taken since the last reset_paths_taken().
const char* bitmap_path() {
  for (lsgemm::Path p : {lsgemm::Path::kBitmapSparseExpand, lsgemm::Path::kBitmapSparseOuter,
                         lsgemm::Path::kBitmapSparseReference})
    if (lsgemm::path_taken(p)) return lsgemm::path_name(p);
  return "?";
}

}  // namespace

int main() {
  std::printf("lsgemm example 05: unstructured sparse down-projection, N = %lld, K = %lld\n", (long long)kN,
              (long long)kK);
  std::printf("SIMD target: %s, threads: %d\n\n", lsgemm::simd_target_name(), lsgemm::max_threads());

  const MatF W = gaussian(kN, kK, 7);
  const MatF X1 = gaussian(1, kK, 11), Xp = gaussian(kPrefill, kK, 13);
  const auto Wv = lsgemm::view<const float>(W.data(), kN, kK);
  const auto X1v = lsgemm::view<const float>(X1.data(), 1, kK);
  const auto Xpv = lsgemm::view<const float>(Xp.data(), kPrefill, kK);
  // Every kCheckedStride-th row of X (and of Y), kChecked rows.
  const auto Xcv = lsgemm::view<const float>(Xp.data(), kChecked, kK, kCheckedStride * kK);
  MatF Y1(1, kN), Yp(kPrefill, kN);
  const auto Y1v = lsgemm::view(Y1.data(), 1, kN);
  const auto Ypv = lsgemm::view(Yp.data(), kPrefill, kN);
  const auto Ycv = lsgemm::view<const float>(Yp.data(), kChecked, kN, kCheckedStride * kN);
  const double w_energy = W.cast<double>().squaredNorm();

  // The peer: the dense f32 product.
  const double dense1 = time_us(5, [&] { Y1.noalias() = X1 * W.transpose(); });
  const double densep = time_us(2, [&] { Yp.noalias() = Xp * W.transpose(); });
  std::printf("%-14s %5s %10s %8s %10s %8s   %s\n", "weights", "bits", "M=1 us", "x dense", "M=128 us", "x dense",
              "paths (M=1, M=128)");
  std::printf("%-14s %5.2f %10.1f %8.2f %10.1f %8.2f\n", "dense f32", 32.0, dense1, 1.0, densep, 1.0);

  bool ok = true;
  auto check = [&](bool cond, const char* what, double v, double bound) {
    if (!cond) {
      std::printf("  FAIL: %s %.4f past %.4f\n", what, v, bound);
      ok = false;
    }
  };
  for (double s : {0.50, 0.80, 0.95}) {
    const int64_t keep = int64_t(std::ceil((1.0 - s) * double(kK) - 1e-9));
    const bs::BitmapSparseMatrix w =
        bs::pack(lsgemm::view<const float>(W.data(), kN, kK), bs::PackOptions().with_values(bs::ValueType::kF32).with_sparsity(s));
    lsgemm::reset_paths_taken();
    const double t1 = time_us(5, [&] { lsgemm::matmul(X1v, w, Y1v); });
    const char* path1 = bitmap_path();
    lsgemm::reset_paths_taken();
    const double tp = time_us(2, [&] { lsgemm::matmul(Xpv, w, Ypv); });
    const char* pathp = bitmap_path();
    char name[32];
    std::snprintf(name, sizeof name, "%.0f %% f32", 100.0 * s);
    std::printf("%-14s %5.2f %10.1f %8.2f %10.1f %8.2f   %s, %s\n", name, w.bits_per_weight(), t1, dense1 / t1, tp,
                densep / tp, path1, pathp);

    const double r1 = worst_ratio(X1v, w, Y1v);
    check(r1 <= 1.0, "M=1 error / bound", r1, 1.0);
    const double rp = worst_ratio(Xcv, w, Ycv);
    check(rp <= 1.0, "M=128 error / bound", rp, 1.0);
    const double want_sparsity = 1.0 - double(keep) / double(kK);
    check(std::fabs(w.sparsity() - want_sparsity) < 1e-12, "sparsity", w.sparsity(), want_sparsity);
    double kept_energy = 0.0;
    for (int64_t i = 0; i < w.nnz(); ++i) {
      float v;
      std::memcpy(&v, w.values.data() + 4 * size_t(i), 4);
      kept_energy += double(v) * double(v);
    }
    kept_energy /= w_energy;
    const double theory = gaussian_kept_energy(1.0 - s);
    check(std::fabs(kept_energy - theory) <= kEnergyTolerance, "kept share of the squared norm", kept_energy, theory);
    std::printf("  sparsity %.4f, kept %.1f %% of the squared norm (N(0,1) theory %.1f %%), "
                "error / bound: M=1 %.1e, M=128 %.1e\n",
                w.sparsity(), 100.0 * kept_energy, 100.0 * theory, r1, rp);
  }
  std::printf("\n%s\n", ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
}
