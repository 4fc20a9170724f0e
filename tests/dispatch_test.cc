// dispatch.hpp: what lsgemm::matmul runs. Built twice (tests/CMakeLists.txt): as
// dispatch_test, where matmul must run this TU's static Highway target, and as
// dispatch_reference_test with LSGEMM_FORCE_REFERENCE, where it must be the oracle.
// Either way its results must agree with lsgemm::reference::matmul.
#include <gtest/gtest.h>

#include <atomic>
#include <cfloat>
#include <functional>
#include <cmath>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "lsgemm/lsgemm.hpp"

namespace {

namespace iq = lsgemm::int_quant;

TEST(Dispatch, TargetName) {
#if defined(LSGEMM_FORCE_REFERENCE)
  EXPECT_STREQ(lsgemm::simd_target_name(), "reference");
#else
  EXPECT_STREQ(lsgemm::simd_target_name(), hwy::TargetName(HWY_STATIC_TARGET));
  EXPECT_STRNE(lsgemm::simd_target_name(), "reference");
#endif
}

// The wrappers live in an inline namespace named after the choice (DESIGN §4, ODR
// safety); lsgemm::matmul must name exactly that one.
TEST(Dispatch, InlineNamespaceNamesTheChoice) {
  using Fn = void (*)(lsgemm::HostView<const float>, const iq::QuantizedMatrix&, lsgemm::HostView<float>,
                      const lsgemm::Epilogue&);
  const Fn chosen = &lsgemm::matmul;
#if defined(LSGEMM_FORCE_REFERENCE)
  const Fn expected = &lsgemm::dispatch_reference::matmul;
#else
  const Fn expected = &lsgemm::HWY_CONCAT(dispatch_, HWY_NAMESPACE)::matmul;
#endif
  EXPECT_EQ(chosen, expected);
}

std::vector<float> random_normal(size_t n, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, sigma);
  std::vector<float> v(n);
  for (float& x : v) x = nd(rng);
  return v;
}

struct Case {
  int64_t m, n, k;
  int bits, group;
  iq::ActMode act;
  bool bias, accumulate;

  std::string str() const {
    std::ostringstream os;
    os << "M=" << m << " N=" << n << " K=" << k << " bits=" << bits << " group="
       << (group == iq::kPerChannel ? std::string("per-channel") : std::to_string(group))
       << " act=" << iq::act_mode_name(act) << (bias ? " +bias" : "") << (accumulate ? " accumulate" : "")
       << " target=" << lsgemm::simd_target_name();
    return os.str();
  }
};

// Returns the number of outputs that are non-zero in the reference (for the
// no-vacuous-pass check) and reports mismatches.
int64_t check_case(const Case& c, uint32_t seed) {
  const int64_t M = c.m, N = c.n, K = c.k;
  const std::vector<float> w = random_normal(size_t(N * K), seed);
  // X with a leading dimension larger than K, so strided rows are exercised too.
  const int64_t ldx = K + 5, ldy = N + 3;
  const std::vector<float> x = random_normal(size_t(M * ldx), seed + 1);
  const std::vector<float> bias = random_normal(size_t(N), seed + 2);
  const std::vector<float> y0 = random_normal(size_t(M * ldy), seed + 3);

  const iq::QuantizedMatrix q = iq::pack(lsgemm::view<const float>(w.data(), N, K),
                                         iq::PackOptions().with_bits(c.bits).with_group(c.group).with_act(c.act));
  lsgemm::Epilogue epi;
  if (c.bias) epi.with_bias(bias.data());
  epi.with_accumulate(c.accumulate);

  std::vector<float> y = y0, yr = y0;
  const auto X = lsgemm::view<const float>(x.data(), M, K, ldx);
  lsgemm::matmul(X, q, lsgemm::view(y.data(), M, N, ldy), epi);
  lsgemm::reference::matmul(X, q, lsgemm::view(yr.data(), M, N, ldy), epi);

  // A float kernel sums K products plus one scale fix-up per group (2 per group in
  // int8 mode: the zero-point correction and the scale), then bias and Y: each
  // addition rounds by at most eps relative to the running sum of |terms|.
  const std::vector<double> mag = lsgemm::reference::matmul_magnitude(X, q);
  const double terms = double(K + 2 * q.groups() + 8);
  int64_t nonzero = 0, bad = 0;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      const double magnitude = mag[size_t(m * N + n)] + (c.bias ? std::fabs(bias[size_t(n)]) : 0.0) +
                               (c.accumulate ? std::fabs(y0[size_t(m * ldy + n)]) : 0.0);
      const double tol = terms * FLT_EPSILON * magnitude;
      const double got = y[size_t(m * ldy + n)], want = yr[size_t(m * ldy + n)];
      if (want != 0.0) ++nonzero;
      if (!(std::fabs(got - want) <= tol) && bad++ < 5) {
        ADD_FAILURE() << c.str() << ": Y(" << m << "," << n << ") = " << got << ", reference " << want
                      << ", |diff| " << std::fabs(got - want) << " > tol " << tol
                      << " = (K + 2*groups + 8) * FLT_EPSILON * magnitude = " << terms << " * " << FLT_EPSILON
                      << " * " << magnitude;
      }
#if defined(LSGEMM_FORCE_REFERENCE)
      // Forced to the reference, matmul is the reference: bit for bit.
      if (got != want && bad++ < 5) {
        ADD_FAILURE() << c.str() << ": forced reference differs at (" << m << "," << n << ")";
      }
#endif
    }
  // Padding between rows (ld > N) belongs to the caller and must not be written.
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = N; n < ldy; ++n)
      if (y[size_t(m * ldy + n)] != y0[size_t(m * ldy + n)] && bad++ < 5) {
        ADD_FAILURE() << c.str() << ": wrote Y(" << m << "," << n << ") beyond N";
      }
  return nonzero;
}

// The paths lsgemm::matmul takes must be the ones dispatch_table() lists.
bool listed(lsgemm::Path p) {
  for (const lsgemm::PathRule& r : lsgemm::dispatch_table())
    if (r.path == p) return true;
  return false;
}

TEST(Dispatch, AgreesWithReference) {
  lsgemm::reset_paths_taken();
  uint32_t seed = 100;
  // 487 rows: float X crosses two M blocks of the GEMM skeleton (240 rows) and a remainder tile.
  for (int64_t m : {1, 5, 33, 487})
    for (int64_t n : {17, 64})
      for (auto kg : {std::pair<int64_t, int>{128, 32}, {128, 128}, {96, iq::kPerChannel}})
        for (int bits : {2, 4, 8})
          for (iq::ActMode act : {iq::ActMode::kFloat, iq::ActMode::kInt8})
            for (int epi : {0, 1, 2}) {  // plain, +bias, +bias and accumulate
              const Case c{m, n, kg.first, bits, kg.second, act, epi >= 1, epi == 2};
              const int64_t nonzero = check_case(c, seed += 10);
              // No vacuous pass: random normal data gives a non-zero product.
              EXPECT_GT(nonzero, m * n / 2) << c.str() << ": reference output is mostly zero";
            }
  // Every int_quant path of this TU's table (outliers aside: no threshold here) ran, and
  // nothing ran that the table does not list.
  using lsgemm::Path;
#if defined(LSGEMM_FORCE_REFERENCE)
  const Path expected[] = {Path::kIntQuantReference};
#else
  const Path expected[] = {Path::kIntQuantGemvFloat, Path::kIntQuantGemmFloat, Path::kIntQuantGemvInt8,
                           Path::kIntQuantGemmInt8};
#endif
  for (Path p : expected) {
    EXPECT_TRUE(listed(p)) << lsgemm::path_name(p) << " is missing from dispatch_table()";
    EXPECT_TRUE(lsgemm::path_taken(p)) << lsgemm::path_name(p) << " was not reached by M in {1, 5, 33, 487}";
  }
  for (int p = 0; p < int(Path::kCount); ++p)
    if (lsgemm::path_taken(Path(p))) {
      EXPECT_TRUE(listed(Path(p))) << lsgemm::path_name(Path(p)) << " ran but dispatch_table() does not list it";
    }
}

// The table is well formed and names every family; forced to the reference it holds
// only the reference paths.
TEST(Dispatch, TableDescribesThisTarget) {
  const std::vector<lsgemm::PathRule> t = lsgemm::dispatch_table();
  bool iq_path = false, lut_path = false, bf_path = false, nm_path = false, bs_path = false;
  for (const lsgemm::PathRule& r : t) {
    EXPECT_GE(r.min_rows, 1) << lsgemm::path_name(r.path);
    EXPECT_LT(r.min_rows, r.max_rows) << lsgemm::path_name(r.path) << ": empty row range";
    EXPECT_GT(std::string(r.when).size(), 0u) << lsgemm::path_name(r.path);
    const std::string name = lsgemm::path_name(r.path);
    iq_path = iq_path || name.rfind("int_quant/", 0) == 0;
    lut_path = lut_path || name.rfind("lut/", 0) == 0;
    bf_path = bf_path || name.rfind("block_fp/", 0) == 0;
    nm_path = nm_path || name.rfind("nm_sparse/", 0) == 0;
    bs_path = bs_path || name.rfind("bitmap_sparse/", 0) == 0;
#if defined(LSGEMM_FORCE_REFERENCE)
    EXPECT_TRUE(r.path == lsgemm::Path::kIntQuantReference || r.path == lsgemm::Path::kLutReference ||
                r.path == lsgemm::Path::kBlockFpReference || r.path == lsgemm::Path::kNmSparseReference ||
                r.path == lsgemm::Path::kBitmapSparseReference)
        << name;
#else
    EXPECT_FALSE(r.path == lsgemm::Path::kIntQuantReference || r.path == lsgemm::Path::kLutReference ||
                 r.path == lsgemm::Path::kBlockFpReference || r.path == lsgemm::Path::kNmSparseReference ||
                 r.path == lsgemm::Path::kBitmapSparseReference)
        << name << " listed on " << lsgemm::simd_target_name() << ", which has kernels";
#endif
  }
  EXPECT_TRUE(iq_path && lut_path && bf_path && nm_path && bs_path) << "dispatch_table() must list every family";
}

// bitmap_sparse through lsgemm::matmul: the dispatched call agrees with the oracle (exact
// data: small integers, so every path's sums are exact) and runs a path the table lists.
TEST(Dispatch, BitmapSparseThroughDispatch) {
  namespace bs = lsgemm::bitmap_sparse;
  const int64_t N = 37, K = 300;
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> id(-8, 8);
  std::vector<float> W(size_t(N * K));
  for (float& v : W) v = float(id(rng));
  const bs::BitmapSparseMatrix w = bs::pack(lsgemm::view<const float>(W.data(), N, K), bs::PackOptions().with_sparsity(0.7));
  for (int64_t m : {1, 40}) {
    std::vector<float> X(size_t(m * K)), Y(size_t(m * N)), Yr(size_t(m * N));
    for (float& v : X) v = float(id(rng));
    lsgemm::reset_paths_taken();
    lsgemm::matmul(lsgemm::view<const float>(X.data(), m, K), w, lsgemm::view(Y.data(), m, N));
    for (int p = 0; p < int(lsgemm::Path::kCount); ++p)
      if (lsgemm::path_taken(lsgemm::Path(p))) {
        EXPECT_TRUE(listed(lsgemm::Path(p))) << lsgemm::path_name(lsgemm::Path(p)) << " ran but is not listed";
      }
    lsgemm::reference::matmul(lsgemm::view<const float>(X.data(), m, K), w, lsgemm::view(Yr.data(), m, N));
    EXPECT_EQ(Y, Yr) << "M=" << m;
  }
}

}  // namespace

// Epilogue::alpha scales the product only: with no bias and no accumulate, the kernels
// multiply their float sum by alpha, so Y(alpha) == float(alpha * Y(1)) bit for bit on every path
// (GEMV and GEMM rows, both families); with bias and accumulate it is alpha * XW + b + Y.
TEST(Dispatch, EpilogueAlpha) {
  const int64_t N = 37, K = 256;
  const std::vector<float> w = random_normal(size_t(N * K), 7);
  const std::vector<float> bias = random_normal(size_t(N), 8);
  const iq::QuantizedMatrix qf = iq::pack(lsgemm::view<const float>(w.data(), N, K), iq::PackOptions().with_group(64));
  const iq::QuantizedMatrix q8 =
      iq::pack(lsgemm::view<const float>(w.data(), N, K), iq::PackOptions().with_group(64).with_act(iq::ActMode::kInt8));
  const lsgemm::lut::LutMatrix lx = lsgemm::lut::pack(lsgemm::view<const float>(w.data(), N, K),
                                                     lsgemm::lut::PackOptions().with_bits(2).with_group(64));
  const lsgemm::lut::LutMatrix lf = lsgemm::lut::pack(
      lsgemm::view<const float>(w.data(), N, K),
      lsgemm::lut::PackOptions().with_bits(4).with_group(64).with_tables(lsgemm::lut::TableMode::kFast));
  const float alpha = -0.375f;
  for (int64_t M : {1, 3, 33}) {
    const std::vector<float> x = random_normal(size_t(M * K), 9 + uint32_t(M));
    const auto X = lsgemm::view<const float>(x.data(), M, K);
    auto run = [&](const auto& wt, const lsgemm::Epilogue& e, std::vector<float>& y) {
      lsgemm::matmul(X, wt, lsgemm::view(y.data(), M, N), e);
    };
    auto check = [&](const auto& wt, const char* what) {
      SCOPED_TRACE(std::string(what) + " M=" + std::to_string(M) + " target=" + lsgemm::simd_target_name());
      std::vector<float> y1(size_t(M * N)), ya(size_t(M * N)), yb(size_t(M * N), 0.5f), yr(size_t(M * N), 0.5f);
      run(wt, {}, y1);
      run(wt, lsgemm::Epilogue().with_alpha(alpha), ya);
#if defined(LSGEMM_FORCE_REFERENCE)
      // The reference rounds alpha * (double sum) once, alpha * float(sum) twice: 1 ulp.
      for (size_t i = 0; i < y1.size(); ++i)
        ASSERT_NEAR(ya[i], alpha * y1[i], FLT_EPSILON * std::fabs(alpha * y1[i])) << "at " << i;
#else
      for (size_t i = 0; i < y1.size(); ++i) ASSERT_EQ(ya[i], alpha * y1[i]) << "at " << i;
#endif
      // With bias and accumulate, against the reference's definition (core/epilogue.hpp):
      // the kernel adds two terms to alpha * sum, each rounding once, and the sum itself
      // is within the single-alpha check above of the alpha = 1 result.
      const lsgemm::Epilogue e = lsgemm::Epilogue().with_alpha(alpha).with_bias(bias.data()).with_accumulate();
      run(wt, e, yb);
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          const size_t i = size_t(m * N + n);
          const double want = double(ya[i]) + double(bias[size_t(n)]) + 0.5;
          ASSERT_NEAR(yb[i], want, 2 * FLT_EPSILON * (std::fabs(ya[i]) + std::fabs(bias[size_t(n)]) + 0.5)) << "at " << i;
        }
    };
    check(qf, "int_quant float");
    check(q8, "int_quant int8");
    check(lx, "lut 2-bit exact");
    check(lf, "lut 4-bit fast");
  }
}

// A per-call Context routes that call's work to its executor (and only that call's),
// and its cap is what max_threads() reports inside the call.
TEST(Dispatch, PerCallContext) {
  const int64_t M = 33, N = 70, K = 256;
  const std::vector<float> w = random_normal(size_t(N * K), 11), x = random_normal(size_t(M * K), 12);
  const iq::QuantizedMatrix q = iq::pack(lsgemm::view<const float>(w.data(), N, K), iq::PackOptions().with_group(64));
  const lsgemm::lut::LutMatrix l = lsgemm::lut::pack(lsgemm::view<const float>(w.data(), N, K),
                                                    lsgemm::lut::PackOptions().with_bits(2).with_group(64));
  std::atomic<int64_t> items{0};
  std::atomic<int> widest{0};
  lsgemm::Context ctx;
  ctx.with_executor(
      [&](int64_t n, const std::function<void(int64_t)>& fn) {
        widest = std::max(widest.load(), lsgemm::max_threads());  // on the calling thread: the call's view
        for (int64_t i = 0; i < n; ++i) {
          fn(i);
          ++items;
        }
      },
      3);
  const auto X = lsgemm::view<const float>(x.data(), M, K);
  std::vector<float> y0(size_t(M * N)), y1(size_t(M * N)), y2(size_t(M * N)), y3(size_t(M * N));
  lsgemm::matmul(X, q, lsgemm::view(y0.data(), M, N));
  EXPECT_EQ(items.load(), 0) << "a call without the Context used its executor";
  lsgemm::matmul(X, q, lsgemm::view(y1.data(), M, N), {}, ctx);
#if defined(LSGEMM_FORCE_REFERENCE)
  EXPECT_EQ(items.load(), 0) << "the reference is serial";
#else
  EXPECT_GT(items.load(), 0) << "the Context's executor did not run the call";
  EXPECT_EQ(widest.load(), 3) << "max_threads() inside the call must be the Context's executor width";
#endif
  EXPECT_EQ(y0, y1) << "the executor changed the result";
  const int64_t after_iq = items.load();
  lsgemm::matmul(X, l, lsgemm::view(y2.data(), M, N));
  EXPECT_EQ(items.load(), after_iq);
  lsgemm::matmul(X, l, lsgemm::view(y3.data(), M, N), {}, ctx);
  EXPECT_EQ(y2, y3);
#if !defined(LSGEMM_FORCE_REFERENCE)
  EXPECT_GT(items.load(), after_iq);
#endif
  EXPECT_EQ(lsgemm::max_threads(ctx), 3);
  EXPECT_EQ(lsgemm::max_threads(lsgemm::Context().with_threads(1)), 1);
}

#if !defined(LSGEMM_FORCE_REFERENCE)
namespace sd = lsgemm::simd::HWY_NAMESPACE;

// A toy family for the GEMM skeleton: plain f32 weights (N x K, row-major), whose
// decoder reports chunks without a non-zero weight as empty (what a sparse family does).
struct DenseDecoder {
  const std::vector<float>& w;
  int64_t N, K;
  int64_t L = int64_t(hwy::HWY_NAMESPACE::Lanes(sd::DF()));
  int64_t n() const { return N; }
  int64_t k() const { return K; }
  int64_t kp() const { return (K + 3) / 4 * 4; }
  int64_t blocks() const { return (N + 2 * L - 1) / (2 * L); }
  float at(int64_t r, int64_t c) const { return r < N && c < K ? w[size_t(r * K + c)] : 0.0f; }
  bool decode_f32(int64_t nb, int64_t k0, int64_t kc, float* panel) const {
    bool any = false;
    for (int64_t k = k0; k < k0 + kc; ++k)
      for (int64_t c = 0; c < 2 * L; ++c) {
        panel[(k - k0) * 2 * L + c] = at(nb * 2 * L + c, k);
        any = any || at(nb * 2 * L + c, k) != 0.0f;
      }
    return any;
  }
};

// A tile policy of its own (scalar, straight from the decoder's weights), to show the
// skeleton's hook: the result must equal the default tiles' within float rounding.
struct ScalarTiles {
  static bool chunk(const DenseDecoder& dec, int64_t nb, int64_t k0, int64_t, int64_t kx, const float* xp, int64_t K,
                    int64_t mc, float*, float* yt, int64_t ldyt, bool have) {
    sd::for_row_tiles<sd::kMRF32>(mc, [&](int64_t m, auto mr) {
      constexpr int h = decltype(mr)::value;
      for (int i = 0; i < h; ++i)
        for (int64_t c = 0; c < ldyt; ++c) {
          float acc = have ? yt[(m + i) * ldyt + c] : 0.0f;
          for (int64_t k = k0; k < k0 + kx; ++k) acc += xp[m * K + k * h + i] * dec.at(nb * ldyt + c, k);
          yt[(m + i) * ldyt + c] = acc;
        }
    });
    return true;
  }
};

// Chunks a decoder reports empty are skipped, also the first one of a block and all of
// them (that block's outputs are then exactly 0 + epilogue), and a Tiles policy plugs in.
TEST(Dispatch, GemmSkeletonSkipsEmptyChunksAndTakesTilePolicies) {
  const int64_t K = 4 * sd::kChunk + 37;
  const int64_t L = int64_t(hwy::HWY_NAMESPACE::Lanes(sd::DF()));
  const int64_t N = 6 * L + 5;  // N-blocks of 2L: block 1 all zero, the last one partial
  for (int64_t M : {1, 7, 29}) {
    std::vector<float> w = random_normal(size_t(N * K), 21), x = random_normal(size_t(M * K), 22);
    for (int64_t r = 0; r < N; ++r)
      for (int64_t c = 0; c < K; ++c) {
        const int64_t chunk = c / sd::kChunk;
        if (chunk == 0 || chunk == 2 || (r >= 2 * L && r < 4 * L)) w[size_t(r * K + c)] = 0.0f;
      }
    const DenseDecoder dec{w, N, K};
    std::vector<float> y(size_t(M * N), 7.0f), ys(size_t(M * N), 7.0f);
    const std::vector<float> bias = random_normal(size_t(N), 23);
    const lsgemm::Epilogue epi = lsgemm::Epilogue().with_bias(bias.data());
    sd::gemm_f32(dec, lsgemm::view<const float>(x.data(), M, K), lsgemm::view(y.data(), M, N), epi);
    sd::gemm_f32<DenseDecoder, ScalarTiles>(dec, lsgemm::view<const float>(x.data(), M, K), lsgemm::view(ys.data(), M, N),
                                            epi);
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double want = bias[size_t(n)], mag = std::fabs(bias[size_t(n)]);
        for (int64_t k = 0; k < K; ++k) {
          want += double(x[size_t(m * K + k)]) * double(w[size_t(n * K + k)]);
          mag += std::fabs(double(x[size_t(m * K + k)]) * double(w[size_t(n * K + k)]));
        }
        const size_t i = size_t(m * N + n);
        const double tol = double(K + 2) * FLT_EPSILON * mag;
        if (n >= 2 * L && n < 4 * L) {
          ASSERT_EQ(y[i], bias[size_t(n)]) << "an all-empty N-block must give exactly the bias, M=" << M << " n=" << n;
          ASSERT_EQ(ys[i], bias[size_t(n)]) << "(scalar tiles) M=" << M << " n=" << n;
        }
        ASSERT_NEAR(y[i], want, tol) << "panel tiles, M=" << M << " Y(" << m << "," << n << ")";
        ASSERT_NEAR(ys[i], want, tol) << "scalar tiles, M=" << M << " Y(" << m << "," << n << ")";
      }
  }
}
#endif

// Defect 9: `&lsgemm::matmul` named the int_quant overload until lut added its own; the
// ODR test's wrapper address then stopped compiling (ambiguous overload). Each overload
// is reachable through its explicit function-pointer type, and a call through the
// pointer gives the same bits as the direct call. (Moved here from regress_test, which
// then needs no dispatch.hpp; block_fp's overload added.)
TEST(Dispatch, regress_odr_matmul_overload) {
  using lsgemm::Epilogue;
  using lsgemm::HostView;
  using lsgemm::view;
  namespace int_quant = lsgemm::int_quant;
  namespace lut = lsgemm::lut;
  namespace block_fp = lsgemm::block_fp;
  using IntQuantMatmul = void (*)(HostView<const float>, const int_quant::QuantizedMatrix&, HostView<float>,
                                  const Epilogue&);
  using LutMatmul = void (*)(HostView<const float>, const lut::LutMatrix&, HostView<float>, const Epilogue&);
  using TablesMatmul = void (*)(const lut::Tables&, const lut::LutMatrix&, HostView<float>, const Epilogue&);
  const IntQuantMatmul iq_mm = &lsgemm::matmul;
  const LutMatmul lut_mm = &lsgemm::matmul;
  const TablesMatmul tab_mm = &lsgemm::matmul;
  using BlockFpMatmul = void (*)(HostView<const float>, const block_fp::BlockFpMatrix&, HostView<float>,
                                 const Epilogue&);
  const BlockFpMatmul bf_mm = &lsgemm::matmul;
  EXPECT_NE(reinterpret_cast<const void*>(iq_mm), reinterpret_cast<const void*>(lut_mm));
  EXPECT_NE(reinterpret_cast<const void*>(bf_mm), reinterpret_cast<const void*>(lut_mm));
  EXPECT_NE(reinterpret_cast<const void*>(lut_mm), reinterpret_cast<const void*>(tab_mm));
  const int64_t M = 5, N = 24, K = 128;
  const std::vector<float> W = random_normal(size_t(N * K), 10), X = random_normal(size_t(M * K), 11);
  const HostView<const float> Xv(X.data(), M, K, K);
  const int_quant::QuantizedMatrix wq = int_quant::pack(view<const float>(W.data(), N, K));
  const lut::LutMatrix wl = lut::pack(view<const float>(W.data(), N, K));
  const lut::Tables t = lsgemm::make_tables(Xv, wl.table_spec());
  std::vector<float> a(size_t(M * N)), b(a.size());
  auto same = [&](const char* what) {
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * 4)) << what << ": call through the pointer differs";
    int64_t nz = 0;
    for (float v : a) nz += v != 0.0f;
    EXPECT_GT(nz, 0) << what << ": all-zero output";
  };
  iq_mm(Xv, wq, view(a.data(), M, N), {});
  lsgemm::matmul(Xv, wq, view(b.data(), M, N));
  same("int_quant X, w, Y");
  lut_mm(Xv, wl, view(a.data(), M, N), {});
  lsgemm::matmul(Xv, wl, view(b.data(), M, N));
  same("lut X, w, Y");
  tab_mm(t, wl, view(a.data(), M, N), {});
  lsgemm::matmul(t, wl, view(b.data(), M, N));
  same("lut tables, w, Y");
  const block_fp::BlockFpMatrix wb = block_fp::pack(view<const float>(W.data(), N, K));
  bf_mm(Xv, wb, view(a.data(), M, N), {});
  lsgemm::matmul(Xv, wb, view(b.data(), M, N));
  same("block_fp X, w, Y");
}
