// The lut tests, included by lut_exact_test.cc and lut_fast_test.cc (one table mode
// each, to keep each binary's run short). Each test runs once per SIMD target the binary
// holds and the CPU runs, on that target's kernels (lut_kernels(), support/per_target.hpp).
// The including file defines LSGEMM_LUT_TEST_MODE (kExact or kFast) and
// LSGEMM_TEST_SUITE. The checks and bounds are in support/lut_tester.hpp.
#include "support/error_of.hpp"
#include "support/lut_tester.hpp"
#include "support/per_target.hpp"

namespace lsgemm {
namespace test {

constexpr lut::TableMode kMode = lut::TableMode::LSGEMM_LUT_TEST_MODE;

#define LSGEMM_LUT_RUN(c)                              \
  do {                                                 \
    run_case((c), kern);                               \
    if (::testing::Test::HasFailure()) return;         \
  } while (0)

// make_tables against make_tables_reference: both table layouts (g = 4 with X blocks of
// 128, 64 and 32, g = 3 with blocks of 48), M around the row tiles, K tails, data classes,
// strided X. One Tables object is reused throughout: make_tables must overwrite it.
void TestMakeTables() {
  const LutKernels kern = lut_kernels();
  struct Layout {
    int g, block;
    lut::TableSpec spec(int64_t k) const {
      lut::TableSpec s;
      s.g = g;
      s.block = block;
      s.mode = kMode;
      s.k = k;
      s.kp = lut::detail::round_up(k, block);
      return s;
    }
  };
  lut::Tables out;
  std::vector<int64_t> rows = lut_rows(kern);
  rows.insert(rows.begin(), 0);
  uint64_t seed = 100;
  for (const Layout& lay : {Layout{4, 64}, Layout{4, 32}, Layout{4, 128}, Layout{3, 48}})
    for (int64_t k : {1, 5, 7, 31, 100, 129, 200, 1000})
      for (int64_t m : rows)
        for (LutData d : {LutData::kNormal, LutData::kOutliers, LutData::kExact, LutData::kZeroX, LutData::kConstant}) {
          if (d != LutData::kNormal && d != LutData::kExact && (m > 5 || k < 100)) continue;
          LutCase c;
          c.cls = "tables";
          c.m = m;
          c.k = k;
          c.opt.tables = kMode;
          c.data = d;
          c.ldx_pad = seed % 3 == 0 ? 3 : 0;
          c.seed = seed++;
          std::mt19937_64 rng(c.seed);
          const int64_t ldx = k + c.ldx_pad;
          const std::vector<float> X = make_lut_activations(c, ldx, rng);
          const HostView<const float> Xv(X.data(), m, k, ldx);
          const lut::TableSpec spec = lay.spec(k);
          const lut::Tables ref = lut::make_tables_reference(Xv, spec);
          kern.make_tables(Xv, spec, out);
          ASSERT_TRUE(tables_match(out, ref, Xv, d == LutData::kExact))
              << "[" << kern.target << "] M=" << m << " K=" << k << " ldx=" << ldx << " data=" << data_name(d)
              << " seed=" << c.seed;
        }
  // Long rows: many blocks per row.
  for (const Layout& lay : {Layout{4, 64}, Layout{4, 32}, Layout{4, 128}, Layout{3, 48}})
    for (int64_t k : {8640, 65536}) {
      LutCase c;
      c.m = k > 10000 ? 1 : 3;
      c.k = k;
      c.opt.tables = kMode;
      c.seed = seed++;
      std::mt19937_64 rng(c.seed);
      const std::vector<float> X = make_lut_activations(c, k, rng);
      const HostView<const float> Xv(X.data(), c.m, k, k);
      const lut::TableSpec spec = lay.spec(k);
      kern.make_tables(Xv, spec, out);
      ASSERT_TRUE(tables_match(out, lut::make_tables_reference(Xv, spec), Xv, false))
          << "[" << kern.target << "] M=" << c.m << " K=" << k << " seed=" << c.seed;
    }
}

// Every shape class (lut_shape_classes: rows from the kernels' thresholds and path
// rules, N and K tails, table chunks, K = 8640, strides, epilogues, M = 0), each on
// several weight kinds; then every path of this target's rules for the table mode
// under test must have run (on a target without kernels: the reference).
void TestShapeClasses() {
  const LutKernels kern = lut_kernels();
  reset_paths_taken();
  run_cases<LutFamily>(lut_shape_classes(kern, kMode), kern);
  if (::testing::Test::HasFailure()) return;
  if (kMode == lut::TableMode::kExact)
    expect_paths_taken(kern.rules, {Path::kLutGemvExact, Path::kLutGemmExact, Path::kLutUnpacked, Path::kLutReference},
                       kern.target);
  else
    expect_paths_taken(kern.rules, {Path::kLutGemvFast, Path::kLutGemmFast, Path::kLutReference}, kern.target);
}

// Every weight kind with every group it takes: kUniform 1..4 bits, symmetric and not,
// groups 32..256 and per-channel; ternary planes with groups and per-channel / per-tensor;
// ternary triples per-channel / per-tensor. Normal data (two shapes) and the exact class.
void TestWeightKinds() {
  const LutKernels kern = lut_kernels();
  const int64_t L = kern.lanes;
  uint64_t seed = 200;
  for (const lut::PackOptions& o : all_weight_kinds(kMode)) {
    LutCase c;
    c.cls = "kinds";
    c.opt = o;
    c.m = 1, c.n = L + 3, c.k = 200, c.seed = seed++;
    LSGEMM_LUT_RUN(c);
    c.m = 5, c.n = 2 * L + 1, c.k = 129, c.seed = seed++;
    LSGEMM_LUT_RUN(c);
    c.m = 3, c.n = 17, c.k = 300, c.data = LutData::kExact, c.seed = seed++;
    LSGEMM_LUT_RUN(c);
  }
}

// Data classes: exact (bit-exact against both oracles), zero X, zero W, constant,
// outlier-heavy X; with and without bias / accumulate.
void TestDataClasses() {
  const LutKernels kern = lut_kernels();
  uint64_t seed = 300;
  for (LutData d : {LutData::kExact, LutData::kZeroX, LutData::kZeroW, LutData::kConstant, LutData::kOutliers})
    for (const lut::PackOptions& o : layout_kinds(kMode))
      for (int64_t m : {1, 5}) {
        LutCase c;
        c.cls = "data";
        c.m = m;
        c.n = 2 * kern.lanes + 1;
        c.k = 200;
        c.opt = o;
        c.data = d;
        c.bias = seed % 3 == 0;
        c.accumulate = seed % 4 == 1;
        c.ldy_pad = seed % 2;
        c.seed = seed++;
        LSGEMM_LUT_RUN(c);
      }
}

// Tables built once serve every weight with the same spec: two (three) different
// matrices reuse them, each result equals the one-call path bit for bit, repeated calls
// give the same bits, and the tables are not modified.
void TestPrebuiltTables() {
  const LutKernels kern = lut_kernels();
  using O = lut::PackOptions;
  const std::vector<std::vector<O>> families = {
      // Equal specs (X blocks of 128): groups 128, 256 and per-channel.
      {O().with_bits(2).with_group(128), O::ternary(lut::WeightKind::kTernaryPlanes, 256),
       O().with_bits(4).with_group(lut::kPerChannel).with_symmetric(true)},
      {O().with_bits(3).with_group(32), O::ternary(lut::WeightKind::kTernaryPlanes, 32)},
      {O::ternary(lut::WeightKind::kTernaryTriples, lut::kPerChannel),
       O::ternary(lut::WeightKind::kTernaryTriples, lut::kPerTensor)},
  };
  uint64_t seed = 400;
  for (const auto& fam : families)
    for (int64_t m : {1, 5, 9}) {
      const int64_t N = 2 * kern.lanes + 1, K = 200;
      LutCase c;
      c.m = m;
      c.n = N;
      c.k = K;
      c.opt = O(fam[0]).with_tables(kMode);
      c.seed = seed++;
      SCOPED_TRACE(describe(c, kern));
      const LutProblem p = make_problem<LutFamily>(c);
      lut::Tables t;
      std::vector<lut::LutMatrix> ws;
      for (size_t i = 0; i < fam.size(); ++i) {
        LutCase ci = c;
        ci.seed = seed++;
        std::mt19937_64 rng(ci.seed);
        const std::vector<float> W = make_lut_weights(ci, rng);
        ws.push_back(lut::pack(view<const float>(W.data(), N, K), O(fam[i]).with_tables(kMode)));
        ASSERT_TRUE(ws[i].table_spec() == ws[0].table_spec()) << "options " << describe_options(fam[i]);
      }
      kern.make_tables(p.Xv(), ws[0].table_spec(), t);
      const std::vector<uint8_t> lo(t.lo.data(), t.lo.data() + t.lo.size()), hi(t.hi.data(), t.hi.data() + t.hi.size());
      const std::vector<float> sc(t.scale.data(), t.scale.data() + t.scale.size()),
          xs(t.xsum.data(), t.xsum.data() + t.xsum.size());
      for (size_t i = 0; i < ws.size(); ++i) {
        SCOPED_TRACE("weight " + std::to_string(i) + ": " + describe_options(fam[i]));
        std::vector<float> Y1(size_t(m * N), -7.0f), Y2(size_t(m * N), -7.0f), Y3(size_t(m * N), -7.0f);
        kern.matmul_tables(t, ws[i], view(Y1.data(), m, N), {});
        kern.matmul(p.Xv(), ws[i], view(Y2.data(), m, N), {});
        kern.matmul_tables(t, ws[i], view(Y3.data(), m, N), {});
        ASSERT_EQ(0, std::memcmp(Y1.data(), Y2.data(), Y1.size() * 4)) << "matmul(tables) != matmul(X) (bit-exact)";
        ASSERT_EQ(0, std::memcmp(Y1.data(), Y3.data(), Y1.size() * 4)) << "a repeated matmul(tables) differs";
        int64_t nz = 0;
        for (float v : Y1) nz += v != 0.0f;
        ASSERT_GT(nz, 0) << "all-zero output";
        // And the reference, from the same tables, within the epilogue bound.
        std::vector<float> Yr(size_t(m * N));
        reference::matmul(t, ws[i], view(Yr.data(), m, N));
        const std::vector<double> mag = reference::matmul_magnitude(t, ws[i]);
        for (size_t j = 0; j < Yr.size(); ++j) {
          const double tol = 2.0 * double(t.spec.blocks() + 4) * FLT_EPSILON * mag[j];
          ASSERT_NEAR(Y1[j], Yr[j], tol) << "at " << j << "; bound 2*(blocks+4)*FLT_EPSILON*magnitude";
        }
      }
      ASSERT_TRUE(std::equal(lo.begin(), lo.end(), t.lo.data()) && std::equal(hi.begin(), hi.end(), t.hi.data()) &&
                  std::memcmp(sc.data(), t.scale.data(), sc.size() * 4) == 0 &&
                  std::memcmp(xs.data(), t.xsum.data(), xs.size() * 4) == 0)
          << "matmul modified the tables";
    }
}

// Ternary matrices s * {-1, 0, +1} with f16-exact s: every layout (planes per-channel,
// per-tensor, group 64; triples per-channel, per-tensor) dequantizes to exactly the
// input, and their products agree: bit for bit on exact-class X with power-of-two s,
// within the sum of the two second-oracle bounds otherwise (their dequantized W is the
// same, so each is within its bound of the same double product).
void TestTernaryLayouts() {
  const LutKernels kern = lut_kernels();
  const int64_t L = kern.lanes;
  using O = lut::PackOptions;
  using lut::WeightKind;
  struct Shape {
    int64_t m, n, k;
  };
  uint64_t seed = 500;
  for (const Shape& sh : {Shape{1, 2 * L + 1, 96}, Shape{4, 2 * L + 1, 200}, Shape{5, 17, 100}, Shape{1, 33, 8640}})
    for (bool pow2 : {true, false})
      for (bool per_tensor : {false, true})
        for (LutData d : {LutData::kExact, LutData::kNormal}) {
          if (d == LutData::kExact && !pow2) continue;
          std::mt19937_64 rng(seed++);
          std::uniform_int_distribution<int> tri(-1, 1);
          std::vector<float> W(size_t(sh.n * sh.k));
          for (int64_t r = 0; r < sh.n; ++r) {
            float s = pow2 ? (r % 2 ? 1.0f / 16 : 1.0f / 32) : f16_to_f32(f32_to_f16(0.3f + 0.0173f * float(r)));
            if (per_tensor) s = pow2 ? 1.0f / 16 : f16_to_f32(f32_to_f16(0.3337f));
            for (int64_t k = 0; k < sh.k; ++k) {
              int t = tri(rng);
              if (k == 0) t = 1;
              if (r == 1) t = 0;  // an all-zero row: scale 0
              W[size_t(r * sh.k + k)] = s * float(t);
            }
          }
          std::vector<O> opts = {O::ternary(WeightKind::kTernaryPlanes, lut::kPerChannel),
                                 O::ternary(WeightKind::kTernaryTriples, lut::kPerChannel),
                                 O::ternary(WeightKind::kTernaryPlanes, 64)};
          if (per_tensor) {
            opts.push_back(O::ternary(WeightKind::kTernaryPlanes, lut::kPerTensor));
            opts.push_back(O::ternary(WeightKind::kTernaryTriples, lut::kPerTensor));
          }
          LutCase c;
          c.cls = "ternary-layouts";
          c.m = sh.m;
          c.n = sh.n;
          c.k = sh.k;
          c.data = d;
          c.seed = seed++;
          std::vector<LutResult> res;
          for (const O& o0 : opts) {
            c.opt = O(o0).with_tables(kMode);
            SCOPED_TRACE(describe(c, kern) + (pow2 ? " scales=2^-k" : " scales=f16"));
            LutProblem p = make_problem<LutFamily>(c);
            p.W = W;
            const lut::LutMatrix w = lut::pack(view<const float>(W.data(), sh.n, sh.k), c.opt);
            const std::vector<float> Wd = lut::dequantize_to_vector(w);
            for (size_t i = 0; i < W.size(); ++i)
              ASSERT_EQ(Wd[i], W[i]) << "dequantize does not give back the ternary input at (" << int64_t(i) / sh.k
                                     << "," << int64_t(i) % sh.k << ")";
            res.push_back(check_problem(p, w, kern));
            if (::testing::Test::HasFailure()) return;
          }
          const int64_t ldy = sh.n;
          for (size_t a = 1; a < res.size(); ++a)
            for (int64_t m = 0; m < sh.m; ++m)
              for (int64_t n = 0; n < sh.n; ++n) {
                const size_t i = size_t(m * ldy + n), o = size_t(m * sh.n + n);
                const float ya = res[a].Y[i], y0 = res[0].Y[i];
                if (d == LutData::kExact) {
                  ASSERT_EQ(0, std::memcmp(&ya, &y0, 4))
                      << "[" << kern.target << "] " << describe_options(opts[a]) << " vs " << describe_options(opts[0])
                      << " at Y(" << m << "," << n << "): " << ya << " vs " << y0 << " (exact class: bit-identical)";
                } else {
                  const double tol = res[a].bound[o] + res[0].bound[o];
                  ASSERT_NEAR(ya, y0, tol) << "[" << kern.target << "] " << describe_options(opts[a]) << " vs "
                                           << describe_options(opts[0]) << " at Y(" << m << "," << n
                                           << "); bound = sum of both second-oracle bounds";
                }
              }
        }
}

// Extremes at K = 65536 (accumulator headroom), M = 1 and 5, N = 17, X all 127 (int8 X
// exact): all weights +1 (ternary, scale 1.0) give exactly 65536 * 127 = 8323072 in both
// layouts and both scopes; uniform 4-bit symmetric with every code 15 (W = 15, scale 1)
// gives 15 * 8323072 = 124846080. Exact in both modes: exact tables are lossless; fast
// tables hold 0, 127, ..., 508 (planes) or 381 (triples) with scale 508/127 = 4 or
// 381/127 = 3, and the all-ones index (15, or 13 for triples) holds 127 exactly. Every
// partial sum is an integer below 2^24 * its power-of-two unit. One exception, by the
// format's definition: 65536 = 3 * 21845 + 1, so the triples layout's last triple is
// (x, 0, 0) and its fast entry 127 is stored as round(127 / 3) = 42, i.e. 126: fast
// triples give 21845 * 381 + 126 = 8323071 (the reference gives the same; exact tables
// give 8323072).
void TestExtremes() {
  const LutKernels kern = lut_kernels();
  using O = lut::PackOptions;
  using lut::WeightKind;
  const int64_t K = 65536, N = 17;
  struct Ext {
    O opt;
    float w;
    int code;
    float expect;
  };
  const float kTriplesAllOnes = kMode == lut::TableMode::kExact ? 8323072.0f : 8323071.0f;
  const std::vector<Ext> ext = {
      {O::ternary(WeightKind::kTernaryPlanes, lut::kPerTensor), 1.0f, 2, 8323072.0f},
      {O::ternary(WeightKind::kTernaryTriples, lut::kPerTensor), 1.0f, 1, kTriplesAllOnes},
      {O::ternary(WeightKind::kTernaryPlanes, lut::kPerChannel), 1.0f, 2, 8323072.0f},
      {O::ternary(WeightKind::kTernaryTriples, lut::kPerChannel), 1.0f, 1, kTriplesAllOnes},
      {O::ternary(WeightKind::kTernaryPlanes, 256), 1.0f, 2, 8323072.0f},
      {O().with_bits(4).with_group(lut::kPerChannel).with_symmetric(true), 15.0f, 15, 124846080.0f},
      {O().with_bits(4).with_group(128).with_symmetric(true), 15.0f, 15, 124846080.0f},
  };
  std::vector<float> X(size_t(5 * K), 127.0f);
  for (const Ext& e : ext) {
    const std::vector<float> W(size_t(N * K), e.w);
    const lut::LutMatrix w = lut::pack(view<const float>(W.data(), N, K), O(e.opt).with_tables(kMode));
    ASSERT_EQ(w.code(0, 0), e.code);
    ASSERT_EQ(w.code(N - 1, K - 1), e.code);
    ASSERT_EQ(w.scale(0, 0), 1.0f);
    for (int64_t m : {1, 5}) {
      SCOPED_TRACE(std::string("[") + kern.target + "] K=65536 N=17 M=" + std::to_string(m) + " " +
                   describe_options(O(e.opt).with_tables(kMode)) + " W=" + std::to_string(e.w) + " X=127");
      std::vector<float> Y(size_t(m * N), -1.0f), Yt(size_t(m * N), -1.0f);
      kern.matmul(view<const float>(X.data(), m, K), w, view(Y.data(), m, N), {});
      lut::Tables t;
      kern.make_tables(view<const float>(X.data(), m, K), w.table_spec(), t);
      kern.matmul_tables(t, w, view(Yt.data(), m, N), {});
      for (size_t i = 0; i < Y.size(); ++i) {
        ASSERT_EQ(Y[i], e.expect) << "matmul(X) at " << i;
        ASSERT_EQ(Yt[i], e.expect) << "matmul(tables) at " << i;
      }
    }
  }
}

// Quality: NMSE against the dequantize + double oracle on random normal X and on X with a
// few columns (k % 97 == 3) 100x larger, M = 4, N = 64, K = 4096. The stated bounds are
// set from what the reference reaches (measured with the same data, seeds 5-ish):
//   exact mode: normal <= 1e-4 (reference 3.0e-5 .. 4.5e-5), outliers <= 1e-3 (1.6e-4 .. 3.4e-4);
//   fast mode:  normal <= 1e-3 (reference 4.8e-5 (triples) .. 5.2e-4 (3-bit per-channel)),
//               outliers <= 4e-3 (1.3e-4 .. 1.6e-3).
// Each case also passes check_problem's per-output bounds.
void TestNMSE() {
  const LutKernels kern = lut_kernels();
  using O = lut::PackOptions;
  const std::vector<O> opts = {O().with_bits(2).with_group(128),
                               O().with_bits(4).with_group(64).with_symmetric(true),
                               O().with_bits(1).with_group(32),
                               O().with_bits(3).with_group(lut::kPerChannel),
                               O::ternary(lut::WeightKind::kTernaryPlanes, 128),
                               O::ternary(lut::WeightKind::kTernaryTriples, lut::kPerTensor)};
  const bool fast = kMode == lut::TableMode::kFast;
  uint64_t seed = 600;
  for (LutData d : {LutData::kNormal, LutData::kOutliers})
    for (const O& o : opts) {
      LutCase c;
      c.cls = "nmse";
      c.m = 4;
      c.n = 64;
      c.k = 4096;
      c.opt = O(o).with_tables(kMode);
      c.data = d;
      c.seed = seed++;
      const LutResult r = run_case(c, kern);
      if (::testing::Test::HasFailure()) return;
      const double e = nmse(r, c.m, c.n, c.n);
      const double bound = d == LutData::kNormal ? (fast ? 1e-3 : 1e-4) : (fast ? 4e-3 : 1e-3);
      EXPECT_LE(e, bound) << describe(c, kern) << ": NMSE " << e << " above the stated bound " << bound;
      EXPECT_GT(e, 0.0) << describe(c, kern) << ": NMSE exactly 0 (quantized activations cannot be exact here)";
    }
}

// Non-finite activations: make_tables and matmul throw lsgemm::Error naming them and
// leave Y untouched (table lookups need finite X). NaN in the ld gap of X is ignored.
void TestNonFinite() {
  const LutKernels kern = lut_kernels();
  const int64_t K = 100, N = 2 * kern.lanes + 1;
  using O = lut::PackOptions;
  for (const O& o0 : {O().with_bits(2).with_group(64), O().with_bits(2).with_group(32),
                      O::ternary(lut::WeightKind::kTernaryTriples)}) {
    const O o = O(o0).with_tables(kMode);
    std::vector<float> W(size_t(N * K));
    std::mt19937_64 rng(7);
    std::normal_distribution<float> nd;
    for (float& v : W) v = nd(rng);
    const lut::LutMatrix w = lut::pack(view<const float>(W.data(), N, K), o);
    // GEMV, GEMM, and (exact tables, planes) the unpacked path from min_rows_unpacked.
    for (int64_t M : merge_rows({{1, kern.mr + 1, kern.unpacked_rows[2] + 1}})) {
      std::vector<float> X(size_t(M * (K + 3)), std::numeric_limits<float>::quiet_NaN());  // NaN ld gap
      for (int64_t m = 0; m < M; ++m)
        for (int64_t k = 0; k < K; ++k) X[size_t(m * (K + 3) + k)] = nd(rng);
      const HostView<const float> Xv(X.data(), M, K, K + 3);
      {  // the gap alone is fine
        std::vector<float> Y(size_t(M * N));
        kern.matmul(Xv, w, view(Y.data(), M, N), {});
      }
      struct At {
        int64_t m, k;
      };
      for (const At& at : {At{0, 0}, At{M - 1, K - 1}, At{M / 2, 50}, At{0, 64}, At{M - 1, 47}})
        for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity()}) {
          SCOPED_TRACE(std::string("[") + kern.target + "] " + describe_options(o) + " M=" + std::to_string(M) +
                       " X(" + std::to_string(at.m) + "," + std::to_string(at.k) + ")=" + std::to_string(bad));
          float& x = X[size_t(at.m * (K + 3) + at.k)];
          const float keep = x;
          x = bad;
          for (bool acc : {false, true}) {
            std::vector<float> Y(size_t(M * N), -12345.5f);
            const std::string msg = error_keeping_y(
                Y, [&] { kern.matmul(Xv, w, view(Y.data(), M, N), Epilogue().with_accumulate(acc)); });
            EXPECT_NE(msg.find("finite"), std::string::npos) << "matmul's message: " << msg;
            if (::testing::Test::HasFailure()) return;
          }
          lut::Tables t;
          const std::string msg = error_of([&] { kern.make_tables(Xv, w.table_spec(), t); });
          EXPECT_NE(msg.find("finite"), std::string::npos) << "make_tables' message: " << msg;
          x = keep;
        }
    }
  }
}

// M = 0 with null data is a no-op (and builds empty tables).
void TestZeroRows() {
  const LutKernels kern = lut_kernels();
  std::vector<float> W(size_t(17 * 100), 0.5f);
  for (const lut::PackOptions& o : layout_kinds(kMode)) {
    const lut::LutMatrix w = lut::pack(view<const float>(W.data(), 17, 100), o);
    lut::Tables t;
    kern.make_tables(HostView<const float>(nullptr, 0, 100, 100), w.table_spec(), t);
    EXPECT_EQ(t.m, 0);
    EXPECT_TRUE(t.spec == w.table_spec());
    kern.matmul(HostView<const float>(nullptr, 0, 100, 100), w, HostView<float>(nullptr, 0, 17, 17), {});
    kern.matmul_tables(t, w, HostView<float>(nullptr, 0, 17, 17), Epilogue().with_accumulate());
  }
}

#undef LSGEMM_LUT_RUN

HWY_BEFORE_TEST(LSGEMM_TEST_SUITE);
LSGEMM_PER_TARGET_TEST(LSGEMM_TEST_SUITE, TestMakeTables);
LSGEMM_PER_TARGET_TEST(LSGEMM_TEST_SUITE, TestShapeClasses);
LSGEMM_PER_TARGET_TEST(LSGEMM_TEST_SUITE, TestWeightKinds);
LSGEMM_PER_TARGET_TEST(LSGEMM_TEST_SUITE, TestDataClasses);
LSGEMM_PER_TARGET_TEST(LSGEMM_TEST_SUITE, TestPrebuiltTables);
LSGEMM_PER_TARGET_TEST(LSGEMM_TEST_SUITE, TestTernaryLayouts);
LSGEMM_PER_TARGET_TEST(LSGEMM_TEST_SUITE, TestExtremes);
LSGEMM_PER_TARGET_TEST(LSGEMM_TEST_SUITE, TestNMSE);
LSGEMM_PER_TARGET_TEST(LSGEMM_TEST_SUITE, TestNonFinite);
LSGEMM_PER_TARGET_TEST(LSGEMM_TEST_SUITE, TestZeroRows);
HWY_AFTER_TEST();
}  // namespace test
}  // namespace lsgemm
HWY_TEST_MAIN();
