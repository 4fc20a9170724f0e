// Example 02: a BitNet b1.58 linear layer with ternary weights, in both lut layouts.
//
// The layer is BitNet b1.58 3B's FFN down-projection: N = 3200 outputs, K = 8640
// inputs (Y = X * W^T, W is 3200 x 8640). Of the model's three layer shapes it is the
// one with the longest reduction, where an exact integer path matters most, and the one
// bitnet.cpp's I2_S kernel gets wrong (it assumes K % 128 == 0; 8640 = 67.5 * 128).
//
// It packs one random weight the way BitNet quantizes (absmean, one scale per tensor)
// into the two ternary layouts:
//   kTernaryPlanes   2 bits per weight (t + 1 as a 2-bit code), tables of 4 activations;
//   kTernaryTriples  5 bits per 3 weights = 1.67 bpw (bitnet.cpp's TL2 code), tables of
//                    3 activations;
// and checks, exiting non-zero on any failure:
//   1. both layouts hold the same ternary weights (every one of the 27.6 M);
//   2. each kernel's output equals the scalar oracle's (lsgemm::reference) on the same
//      packed weight, up to float rounding;
//   3. with activations int8 represents exactly, both layouts give the same output up
//      to float rounding (both are then exact integer sums);
//   4. with Gaussian activations, each is within the int8 activation rounding of the
//      float product with the ternary weights (the layouts differ only there: their X
//      blocks are 128 and 48 long, so X is rounded in different places).
// Then it times both against int_quant's int4 W4A8 GEMV of the same shape (groups of 64:
// int_quant's groups must divide K, and 128 does not divide 8640), all
// with weights coming from DRAM, as in decoding, and prints bits per weight, us and GB/s.
// Times are printed, not checked: the machine may be shared.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include "lsgemm/lsgemm.hpp"

namespace {

namespace lut = lsgemm::lut;
namespace iq = lsgemm::int_quant;

constexpr int64_t kN = 3200, kK = 8640;

// Check 2: the kernel and the oracle compute the same exact integer block sums (the
// tables are defined bit for bit); they differ only in how the K / 48 = 180 (triples) or
// ceil(K / 128) = 68 (planes) per-block float terms are added: the oracle in double, the
// kernel in float, about sqrt(blocks) * 2^-24 ~ 1e-6 relative. 1e-5 leaves 10x.
constexpr double kOracleBound = 1e-5;
// Check 3: same, and the two layouts' block boundaries differ, so their float sums
// differ by the same ~1e-6.
constexpr double kLayoutBound = 1e-5;
// Check 4, derived. A block of b standard-normal activations is rounded to int8 with
// step amax / 127, amax ~ 2.4 (b = 48) to 2.7 (b = 128); the rounding error is uniform,
// rms <= 2.7 / 127 / sqrt(12) ~ 0.0061. y = sum_k t_k x_k and its error sum_k t_k e_k
// have the same number of non-zero terms, so the relative error is ~0.006 per layout,
// and ~0.009 between the layouts (independent roundings). 0.02 is 2.2x the larger.
constexpr double kActQuantBound = 0.02;

// Splitmix64-driven standard normals (Box-Muller): fast enough for 27.6 M weights.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return (double(next() >> 11) + 0.5) * 0x1.0p-53; }
  float normal() { return float(std::sqrt(-2.0 * std::log(uniform())) * std::cos(6.283185307179586 * uniform())); }
};

double rel_l2(const std::vector<float>& y, const std::vector<double>& ref) {
  double e = 0.0, r = 0.0;
  for (size_t i = 0; i < y.size(); ++i) {
    e += (double(y[i]) - ref[i]) * (double(y[i]) - ref[i]);
    r += ref[i] * ref[i];
  }
  return std::sqrt(e) / std::max(std::sqrt(r), 1e-300);
}

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// y = x * Wt^T in double, Wt the dequantized (ternary times scale) weight.
std::vector<double> dense_product(const std::vector<float>& Wt, const std::vector<float>& x) {
  std::vector<double> y(static_cast<size_t>(kN));
  for (int64_t n = 0; n < kN; ++n) {
    double s = 0.0;
    for (int64_t k = 0; k < kK; ++k) s += double(Wt[size_t(n * kK + k)]) * double(x[size_t(k)]);
    y[size_t(n)] = s;
  }
  return y;
}

bool report(const char* what, double err, double bound) {
  const bool ok = err <= bound;
  std::printf("  %-62s rel. error %.2e (bound %.0e)%s\n", what, err, bound, ok ? "" : "   FAIL");
  return ok;
}

// Weight copies to rotate through so that each call reads its weight from DRAM (as
// every layer does when decoding): 4x the last-level cache, as the benchmarks do (they
// use 5x), capped at 1 GiB.
int64_t cold_copies(int64_t bytes) {
  int64_t l3 = int64_t(32) << 20;  // a common L3 size, when sysfs does not say
  std::ifstream f("/sys/devices/system/cpu/cpu0/cache/index3/size");
  std::string s;
  if (f >> s) {
    const double v = std::atof(s.c_str());
    const int64_t mul = s.back() == 'K' ? 1024 : s.back() == 'M' ? 1 << 20 : 1;
    if (v * double(mul) >= double(1 << 20)) l3 = int64_t(v * double(mul));
  }
  const int64_t want = std::min<int64_t>(4 * l3, int64_t(1) << 30);
  return std::max<int64_t>(1, (want + bytes - 1) / bytes);
}

// Median time of `calls` calls of f(copy), cycling through the copies, in microseconds
// (the median, because a shared machine's speed drifts during the run).
template <class W, class F>
double cold_median_us(const W& w, int calls, F&& f) {
  std::vector<W> pool;
  const int64_t copies = cold_copies(w.packed_bytes());
  for (int64_t i = 0; i < copies; ++i) pool.push_back(w.clone());
  for (const W& c : pool) f(c);  // one pass: page faults and first touches out of the way
  std::vector<double> t;
  for (int i = 0; i < calls; ++i) {
    const W& c = pool[size_t(i) % pool.size()];
    const auto t0 = std::chrono::steady_clock::now();
    f(c);
    const auto t1 = std::chrono::steady_clock::now();
    t.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  std::nth_element(t.begin(), t.begin() + t.size() / 2, t.end());
  return t[t.size() / 2];
}

}  // namespace

int main() {
  std::printf("lsgemm example 02: BitNet b1.58 3B FFN down-projection, ternary weights, N = %lld, K = %lld\n",
              (long long)kN, (long long)kK);
  std::printf("SIMD target: %s, threads: %d\n", lsgemm::simd_target_name(), lsgemm::max_threads());

  Rng rng{2024};
  std::vector<float> W(static_cast<size_t>(kN * kK));
  for (float& w : W) w = 0.02f * rng.normal();
  const auto Wv = lsgemm::view<const float>(W.data(), kN, kK);
  // BitNet b1.58: t = clamp(round(w / mean|w|), -1, 1), one scale for the whole tensor.
  const lut::LutMatrix planes = lut::pack(Wv, lut::PackOptions::ternary(lut::WeightKind::kTernaryPlanes));
  const lut::LutMatrix triples = lut::pack(Wv, lut::PackOptions::ternary(lut::WeightKind::kTernaryTriples));
  // The same weight as int_quant int4 (W4A8), for the speed comparison; groups of 64,
  // since int_quant's groups must divide K (8640 = 135 * 64).
  const iq::QuantizedMatrix int4 =
      iq::pack(Wv, iq::PackOptions().with_bits(4).with_group(64).with_act(iq::ActMode::kInt8));
  std::printf("packed: ternary planes %.2f MB (%.3f bits per weight), ternary triples %.2f MB (%.3f bpw), "
              "int4 g64 %.2f MB (%.3f bpw); float %.2f MB\n",
              planes.packed_bytes() / 1e6, planes.bits_per_weight(), triples.packed_bytes() / 1e6,
              triples.bits_per_weight(), int4.packed_bytes() / 1e6, 8.0 * int4.packed_bytes() / double(kN * kK),
              kN * kK * 4 / 1e6);

  bool ok = true;

  // 1. Same ternary weights: the layouts store t differently (t + 1 in two bit planes;
  //    base-3 triples with a sign bit) but must decode to the same s * t.
  const std::vector<float> Wp = lut::dequantize_to_vector(planes), Wt = lut::dequantize_to_vector(triples);
  int64_t differ = 0, zeros = 0;
  for (size_t i = 0; i < Wp.size(); ++i) {
    differ += Wp[i] != Wt[i];
    zeros += Wp[i] == 0.0f;
  }
  std::printf("\n1. decoded weights: %lld of %lld differ between the layouts; %.1f%% are zero; scale %.6f%s\n",
              (long long)differ, (long long)Wp.size(), 100.0 * double(zeros) / double(Wp.size()),
              planes.scale(0, 0), differ ? "   FAIL" : "");
  ok = ok && differ == 0;

  // Activations: Gaussian (a real layer's input) and integer-valued ones in [-127, 127]
  // with |x| = 127 in every 16 (so every X block, 48 or 128 long, has amax = 127 and int8
  // rounding is the identity).
  std::vector<float> xg(static_cast<size_t>(kK)), xi(static_cast<size_t>(kK));
  for (float& v : xg) v = rng.normal();
  for (int64_t k = 0; k < kK; ++k)
    xi[size_t(k)] = k % 16 == 0 ? (k % 32 ? -127.0f : 127.0f) : float(int(rng.next() % 255) - 127);
  const auto Xg = lsgemm::view<const float>(xg.data(), 1, kK);
  const auto Xi = lsgemm::view<const float>(xi.data(), 1, kK);

  auto run = [&](const lut::LutMatrix& w, lsgemm::HostView<const float> X) {
    std::vector<float> y(static_cast<size_t>(kN));
    lsgemm::matmul(X, w, lsgemm::view<float>(y.data(), 1, kN));
    return y;
  };
  const std::vector<float> yp_g = run(planes, Xg), yt_g = run(triples, Xg);
  const std::vector<float> yp_i = run(planes, Xi), yt_i = run(triples, Xi);

  // 2. Against the oracle: the whole M = 1 product (the scalar loop decodes each code on
  //    its own; its run time is printed).
  std::printf("\n2. kernels against the scalar oracle (lsgemm::reference::matmul, whole output)\n");
  for (const auto& [name, w, y] : {std::make_tuple("ternary planes", &planes, &yp_g),
                                   std::make_tuple("ternary triples", &triples, &yt_g)}) {
    std::vector<float> ref(static_cast<size_t>(kN));
    const auto t0 = std::chrono::steady_clock::now();
    lsgemm::reference::matmul(Xg, *w, lsgemm::view<float>(ref.data(), 1, kN));
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::string what = std::string(name) + " vs oracle (oracle took " + std::to_string(secs).substr(0, 4) + " s)";
    ok = report(what.c_str(), rel_l2(*y, to_double(ref)), kOracleBound) && ok;
  }

  // 3. and 4. The layouts against each other and against the float product.
  const std::vector<double> exact_i = dense_product(Wp, xi), exact_g = dense_product(Wp, xg);
  std::printf("\n3. int8-exact activations: both layouts are exact integer sums\n");
  ok = report("planes vs triples", rel_l2(yp_i, to_double(yt_i)), kLayoutBound) && ok;
  ok = report("planes vs float product with the ternary weights", rel_l2(yp_i, exact_i), kLayoutBound) && ok;
  ok = report("triples vs float product with the ternary weights", rel_l2(yt_i, exact_i), kLayoutBound) && ok;
  std::printf("\n4. Gaussian activations: int8 rounding of X per block (128 planes, 48 triples)\n");
  ok = report("planes vs triples", rel_l2(yp_g, to_double(yt_g)), kActQuantBound) && ok;
  ok = report("planes vs float product with the ternary weights", rel_l2(yp_g, exact_g), kActQuantBound) && ok;
  ok = report("triples vs float product with the ternary weights", rel_l2(yt_g, exact_g), kActQuantBound) && ok;

  // Speed: M = 1 (one decoded token), weights from DRAM, on one thread and on all.
  std::vector<float> y(static_cast<size_t>(kN));
  const auto Y = lsgemm::view<float>(y.data(), 1, kN);
  const int calls = 400;
  std::printf("\nM = 1, weights cold (rotating through ~%lld MB of copies of each), median of %d calls:\n",
              (long long)(cold_copies(planes.packed_bytes()) * planes.packed_bytes() >> 20), calls);
  const int all = lsgemm::max_threads();
  for (const int threads : {1, all}) {
    lsgemm::set_num_threads(threads);
    const double t_int4 =
        cold_median_us(int4, calls, [&](const iq::QuantizedMatrix& w) { lsgemm::matmul(Xg, w, Y); });
    const double t_pl = cold_median_us(planes, calls, [&](const lut::LutMatrix& w) { lsgemm::matmul(Xg, w, Y); });
    const double t_tr = cold_median_us(triples, calls, [&](const lut::LutMatrix& w) { lsgemm::matmul(Xg, w, Y); });
    auto line = [&](const char* name, double bpw, double bytes, double us) {
      std::printf("  T=%d  %-26s %6.3f bpw  %8.1f us  %6.1f GB/s  %5.2fx the int4 GEMV\n", threads, name, bpw, us,
                  bytes / us * 1e-3, t_int4 / us);
    };
    line("int_quant int4 g64 W4A8", 8.0 * int4.packed_bytes() / double(kN * kK), double(int4.packed_bytes()), t_int4);
    line("lut ternary planes", planes.bits_per_weight(), double(planes.packed_bytes()), t_pl);
    line("lut ternary triples", triples.bits_per_weight(), double(triples.packed_bytes()), t_tr);
    if (all == 1) break;
  }
  lsgemm::set_num_threads(0);

  std::printf("\n%s\n", ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
}
