// int_quant benchmarks: lsgemm's group-quantized kernels against dense fp32 and int8
// peers, all in one binary so that every ratio comes from one run on one machine state
// (DESIGN.md §6).
//
//   BM_<kernel>/N:…/K:…/M:…/T:…     Y[M×N] = X[M×K]·Wᵀ, W cold unless the name ends _hot
//   BM_probe_stream_read/T:…         what a plain streaming read gets from DRAM right now
//
// Counters: GB/s = bytes of the packed (or dense) weight per call / time — the figure a
// GEMV is bound by; GFLOP/s = 2·M·N·K per call / time (integer ops for the s8 peer).
// Every benchmark checks its output once, before timing, against an oracle.
#include <map>
#include <type_traits>
#include <unordered_map>
#include <set>

#include "peers.hpp"

#if defined(LSGEMM_HAVE_ONEDNN)
#include <dnnl.hpp>
#endif

namespace {

using lsgemm::AlignedBuffer;
using lsgemm::int_quant::ActMode;
using lsgemm::int_quant::PackOptions;
using lsgemm::int_quant::QuantizedMatrix;
using namespace lsgemm_bench;

// LLM linear layers (LLaMA-7B: attention 4096², MLP up 11008×4096, MLP down 4096×11008),
// and token counts from decode (1) through small batches to a prefill chunk (512).
const std::vector<std::pair<int64_t, int64_t>> kShapes = {{4096, 4096}, {11008, 4096}, {4096, 11008}};
const std::vector<int64_t> kTokens = {1, 8, 32, 128, 512};
const std::vector<int> kThreads = {1, 2};

// Seeds: weights and activations differ, and stay the same across runs.
constexpr uint64_t kSeedW = 0x5EED0001, kSeedX = 0x5EED0002;
// LLM weights are small (std ≈ 0.02–0.05); activations near unit scale.
constexpr float kWeightStd = 0.05f;

struct Dims {
  int64_t n, k, m;
  int t;
};
Dims dims_of(const benchmark::State& s) {
  return {s.range(0), s.range(1), s.range(2), int(s.range(3))};
}

// Activations M×K. With outliers, a few fixed columns carry |x| ≥ 8 in every row (as
// LLM.int8() reports for real models: a handful of feature dimensions, systematically
// large); putting them in every row makes the outlier column set the same for the full
// X and for the one-row sub-views the check hands to the reference.
void fill_activations(float* x, int64_t M, int64_t K, bool outliers) {
  fill_gaussianish(x, size_t(M * K), kSeedX ^ uint64_t(M), 1.0f);
  if (!outliers) return;
  const int64_t cols[] = {K / 8 + 3, 3 * K / 8 + 5, 5 * K / 8 + 7, 7 * K / 8 + 1};
  for (int64_t r = 0; r < M; ++r) {
    for (int i = 0; i < 4; ++i) {
      x[r * K + cols[i]] = float(((r + i) % 2) ? -1 : 1) * float(8 + (r + i) % 7);
    }
  }
}

// Verdicts of the one-time output check, per (M, T) of a prepared pool.
struct CheckLog {
  std::map<std::pair<int64_t, int>, std::string> verdict;  // "" = passed
};

// ---------------------------------------------------------------------------------------
// lsgemm int_quant kernels.

struct IntQuantKernel {
  std::string name;
  PackOptions opt;
  bool hot = false;
  bool outliers = false;
};

struct IntQuantState {
  std::string error;
  WeightPool<QuantizedMatrix> pool;
  int64_t bytes = 0;  // packed bytes of one copy
  int64_t m = -1;     // rows of x and y below
  AlignedBuffer<float> x, y;
  CheckLog checks;
};

void bm_int_quant(benchmark::State& state, const IntQuantKernel& kern) {
  const Dims d = dims_of(state);
  set_threads(d.t);
  // The pool depends on the shape only, so consecutive M and T values reuse it.
  auto st = prepared<IntQuantState>(key_of(kern.name, {d.n, d.k}), [&] {
    auto s = std::make_shared<IntQuantState>();
    try {
      AlignedBuffer<float> W(size_t(d.n * d.k));
      fill_gaussianish(W.data(), W.size(), kSeedW, kWeightStd);
      QuantizedMatrix w = lsgemm::int_quant::pack(lsgemm::view<const float>(W.data(), d.n, d.k), kern.opt);
      s->bytes = w.packed_bytes();
      const int64_t copies = copies_for(s->bytes, kern.hot);
      for (int64_t i = 1; i < copies; ++i) s->pool.add(w.clone());
      s->pool.add(std::move(w));
    } catch (const std::exception& e) {
      s->error = kern.name + ": pack failed: " + e.what();
    }
    return s;
  });
  if (!st->error.empty()) {
    state.SkipWithError(st->error.c_str());
    return;
  }
  if (st->m != d.m) {
    st->x.resize(size_t(d.m * d.k));
    st->y.resize(size_t(d.m * d.n));
    fill_activations(st->x.data(), d.m, d.k, kern.outliers);
    st->m = d.m;
  }
  const auto X = lsgemm::view<const float>(st->x.data(), d.m, d.k);
  const auto Y = lsgemm::view<float>(st->y.data(), d.m, d.n);

  // Check once per (M, T), on the first copy, before any timing; later runs of the same
  // benchmark (repetitions) repeat a failure's message rather than re-running the oracle.
  const auto ck = std::make_pair(d.m, d.t);
  auto seen = st->checks.verdict.find(ck);
  if (seen == st->checks.verdict.end()) {
    std::string why;
    // Tolerance 1e-3 relative L2: summation order and int8 rounding ties move results by
    // ~1e-6; a wrong scale, zero point or group boundary moves them by > 1e-2.
    const bool ok = guarded(state, kern.name.c_str(), [&] { lsgemm::matmul(X, st->pool.first(), Y); }, &why) &&
                    check_against_reference(state, kern.name.c_str(), X, st->pool.first(), Y.data, d.n, 1e-3, &why);
    st->checks.verdict[ck] = ok ? "" : why;
    if (!ok) return;  // SkipWithError already called with the details
  } else if (!seen->second.empty()) {
    state.SkipWithError(seen->second.c_str());
    return;
  }

  for (auto _ : state) {
    lsgemm::matmul(X, st->pool.next(), Y);
    benchmark::ClobberMemory();
  }
  set_rates(state, double(st->bytes), 2.0 * double(d.m) * double(d.n) * double(d.k));
}

// ---------------------------------------------------------------------------------------
// Dense fp32 peers (Eigen, OpenBLAS): W row-major N×K, the same cold rotation.

struct DenseState {
  WeightPool<AlignedBuffer<float>> pool;
  int64_t m = -1;
  AlignedBuffer<float> x, y;
  CheckLog checks;
};


void bm_dense_f32(benchmark::State& state, const std::string& name, DenseKernel kernel) {
  const Dims d = dims_of(state);
  set_threads(d.t);
  const int64_t bytes = d.n * d.k * int64_t(sizeof(float));
  auto st = prepared<DenseState>(key_of(name, {d.n, d.k}), [&] {
    auto s = std::make_shared<DenseState>();
    AlignedBuffer<float> W(size_t(d.n * d.k));
    fill_gaussianish(W.data(), W.size(), kSeedW, kWeightStd);
    const int64_t copies = copies_for(bytes, false);
    for (int64_t i = 1; i < copies; ++i) s->pool.add(W.clone());
    s->pool.add(std::move(W));
    return s;
  });
  if (st->m != d.m) {
    st->x.resize(size_t(d.m * d.k));
    st->y.resize(size_t(d.m * d.n));
    fill_activations(st->x.data(), d.m, d.k, false);
    st->m = d.m;
  }
  const auto ck = std::make_pair(d.m, d.t);
  auto seen = st->checks.verdict.find(ck);
  if (seen == st->checks.verdict.end()) {
    kernel(st->pool.first().data(), st->x.data(), st->y.data(), d.n, d.k, d.m);
    // fp32 against a double oracle: K <= 11008 terms lose ~sqrt(K)·2^-24 ≈ 1e-5 relative.
    std::string why;
    const bool ok = check_dense_f32(state, name.c_str(), st->x.data(), st->pool.first().data(),
                                    st->y.data(), d.m, d.n, d.k, 1e-4, &why);
    st->checks.verdict[ck] = ok ? "" : why;
    if (!ok) return;
  } else if (!seen->second.empty()) {
    state.SkipWithError(seen->second.c_str());
    return;
  }
  for (auto _ : state) {
    kernel(st->pool.next().data(), st->x.data(), st->y.data(), d.n, d.k, d.m);
    benchmark::ClobberMemory();
  }
  set_rates(state, double(bytes), 2.0 * double(d.m) * double(d.n) * double(d.k));
}

// ---------------------------------------------------------------------------------------
// oneDNN matmul: src (M×K) · wei (K×N) → dst (M×N). W row-major N×K is wei in layout
// "ba". Weights are created with format_tag::any and reordered once per copy into the
// blocked layout oneDNN prefers (prepacked, as an inference engine would store them), so
// the timed call is the matmul alone.

#if defined(LSGEMM_HAVE_ONEDNN)
template <class T> dnnl::memory::data_type dt_of();
template <> dnnl::memory::data_type dt_of<float>() { return dnnl::memory::data_type::f32; }
template <> dnnl::memory::data_type dt_of<uint8_t>() { return dnnl::memory::data_type::u8; }
template <> dnnl::memory::data_type dt_of<int8_t>() { return dnnl::memory::data_type::s8; }
template <> dnnl::memory::data_type dt_of<int32_t>() { return dnnl::memory::data_type::s32; }

struct OnednnState {
  std::string error;
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  dnnl::matmul prim;
  std::vector<dnnl::memory> weights;                        // prepacked copies
  std::vector<std::unordered_map<int, dnnl::memory>> args;  // one argument set per copy
  size_t pos = 0;
  int64_t bytes = 0;  // bytes of one prepacked weight
  std::vector<uint8_t> x, y;
  std::string impl;   // oneDNN's implementation name, shown as the benchmark's label
};

// Values for the int8 peer: weights and activations on the scales an int8 inference
// stack would pick (|w| ≤ 127, activations around the u8 midpoint).
template <class T> T quantize_value(float v);
template <> float quantize_value<float>(float v) { return v; }
template <> int8_t quantize_value<int8_t>(float v) {
  return int8_t(std::clamp(std::lrint(v * (127.0f / (3.5f * kWeightStd))), -127l, 127l));
}
template <> uint8_t quantize_value<uint8_t>(float v) {
  return uint8_t(std::clamp(std::lrint(v * 32.0f + 128.0f), 0l, 255l));
}

// skip_impl: implementations whose name contains it are passed over (next_impl), so
// that one process can time oneDNN both at its best (AMX where the CPU has it) and
// capped at VNNI, the instruction lsgemm's int8 kernels use.
template <class TS, class TW, class TD>
void bm_onednn(benchmark::State& state, const std::string& name, const char* skip_impl = nullptr) {
  const Dims d = dims_of(state);
  set_threads(d.t);
  using dims = dnnl::memory::dims;
  using tag = dnnl::memory::format_tag;
  // oneDNN picks its kernel (and the packed layout) per M and per thread count, so the
  // whole state is per (M, T); it is also checked once, here.
  auto st = prepared<OnednnState>(key_of(name, {d.n, d.k, d.m, d.t}), [&] {
    auto s = std::make_shared<OnednnState>();
    try {
      std::vector<float> tmp(size_t(std::max(d.n, d.m) * d.k));
      std::vector<TW> w(size_t(d.n * d.k));
      s->x.resize(size_t(d.m * d.k) * sizeof(TS));
      s->y.resize(size_t(d.m * d.n) * sizeof(TD));
      TS* x = reinterpret_cast<TS*>(s->x.data());
      fill_activations(tmp.data(), d.m, d.k, false);
      for (int64_t i = 0; i < d.m * d.k; ++i) x[i] = quantize_value<TS>(tmp[size_t(i)]);

      const dnnl::memory::desc src_md(dims{d.m, d.k}, dt_of<TS>(), tag::ab);
      const dnnl::memory::desc wei_any(dims{d.k, d.n}, dt_of<TW>(), tag::any);
      const dnnl::memory::desc wei_plain(dims{d.k, d.n}, dt_of<TW>(), tag::ba);
      const dnnl::memory::desc dst_md(dims{d.m, d.n}, dt_of<TD>(), tag::ab);
      dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_md, wei_any, dst_md), s->eng);
      // Pass over the skipped implementations where the iterator offers others; where it
      // does not, the process must be capped (scripts/bench runs the VNNI peer with
      // ONEDNN_MAX_CPU_ISA=AVX512_CORE_VNNI).
      while (skip_impl && std::string(pd.impl_info_str()).find(skip_impl) != std::string::npos) {
        if (!pd.next_impl())
          throw std::runtime_error(std::string("oneDNN offers only ") + skip_impl +
                                   " kernels here: run with ONEDNN_MAX_CPU_ISA=AVX512_CORE_VNNI");
      }
      s->impl = pd.impl_info_str();
      // Without VNNI (AVX2, AVX-512 before Cascade Lake, or a capped ISA) oneDNN's u8 x s8
      // kernels add pairs of products in int16 with saturation (vpmaddubsw) and are exact
      // only for 7-bit weights, as its documentation says: the peer then runs on weights
      // in [-64, 63], and its label says so (same bytes and work, so the times compare).
      const bool seven_bit = std::is_same<TW, int8_t>::value && s->impl.find("vnni") == std::string::npos &&
                             s->impl.find("amx") == std::string::npos;
      fill_gaussianish(tmp.data(), w.size(), kSeedW, kWeightStd);
      for (size_t i = 0; i < w.size(); ++i) {
        w[i] = quantize_value<TW>(tmp[i]);
        if (seven_bit) w[i] = TW(w[i] / 2);
      }
      if (seven_bit) s->impl += " (7-bit weights: no VNNI)";
      s->prim = dnnl::matmul(pd);
      s->bytes = int64_t(pd.weights_desc().get_size());
      dnnl::memory plain(wei_plain, s->eng, w.data());
      dnnl::memory src(src_md, s->eng, s->x.data()), dst(dst_md, s->eng, s->y.data());
      const int64_t copies = copies_for(s->bytes, false);
      for (int64_t i = 0; i < copies; ++i) {
        dnnl::memory packed(pd.weights_desc(), s->eng);
        dnnl::reorder(plain, packed).execute(s->strm, plain, packed);
        s->weights.push_back(packed);
        s->args.push_back({{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, packed}, {DNNL_ARG_DST, dst}});
      }
      s->strm.wait();

      // One call on the first copy, then rows 0 and M-1 against a double oracle over
      // the plain values (exact for s8: every product and partial sum is an integer
      // well inside double's 53 bits).
      s->prim.execute(s->strm, s->args[0]);
      s->strm.wait();
      const TD* y = reinterpret_cast<const TD*>(s->y.data());
      std::vector<float> yf(size_t(d.m * d.n));
      for (size_t i = 0; i < yf.size(); ++i) yf[i] = float(y[i]);
      const double tol = std::is_same<TD, float>::value ? 1e-4 : 1e-6;
      check_rows(
          state, name.c_str(), yf.data(), d.m, d.n, d.n, tol,
          [&](int64_t r, float* out) {
            for (int64_t n = 0; n < d.n; ++n) {
              double acc = 0.0;
              for (int64_t k = 0; k < d.k; ++k) acc += double(x[r * d.k + k]) * double(w[size_t(n * d.k + k)]);
              out[n] = float(acc);
            }
          },
          &s->error);
    } catch (const std::exception& e) {
      s->error = name + ": " + e.what();
    }
    return s;
  });
  if (!st->error.empty()) {
    if (!state.error_occurred()) state.SkipWithError(st->error.c_str());
    return;
  }
  for (auto _ : state) {
    st->prim.execute(st->strm, st->args[st->pos]);
    st->strm.wait();
    st->pos = st->pos + 1 == st->args.size() ? 0 : st->pos + 1;
  }
  state.SetLabel(st->impl);
  set_rates(state, double(st->bytes), 2.0 * double(d.m) * double(d.n) * double(d.k));
}
#endif

// ---------------------------------------------------------------------------------------
// Registration: the full matrix, through a loop; --benchmark_filter selects subsets.

void add_args(benchmark::internal::Benchmark* b, bool m1_only) {
  b->ArgNames({"N", "K", "M", "T"})->UseRealTime()->Unit(benchmark::kMicrosecond);
  for (const auto& [n, k] : kShapes) {
    for (const int64_t m : kTokens) {
      if (m1_only && m != 1) continue;
      for (const int t : kThreads) b->Args({n, k, m, t});
    }
  }
}

void register_all() {
  benchmark::RegisterBenchmark("BM_probe_stream_read", bm_probe_stream_read)
      ->ArgNames({"T"})
      ->Arg(1)
      ->Arg(2)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);

  const std::vector<IntQuantKernel> kernels = {
      {"BM_int4_g128_f32act", PackOptions().with_bits(4).with_group(128).with_act(ActMode::kFloat)},
      {"BM_int4_g128_int8act", PackOptions().with_bits(4).with_group(128).with_act(ActMode::kInt8)},
      {"BM_w8a8", PackOptions().with_bits(8).with_group(lsgemm::int_quant::kPerChannel)
                      .with_act(ActMode::kInt8).with_symmetric(true)},
      {"BM_int4_g128_int8act_outliers",
       PackOptions().with_bits(4).with_group(128).with_act(ActMode::kInt8).with_outliers(6.0f), false, true},
      {"BM_int4_g128_f32act_hot", PackOptions().with_bits(4).with_group(128).with_act(ActMode::kFloat), true},
      {"BM_int4_g128_int8act_hot", PackOptions().with_bits(4).with_group(128).with_act(ActMode::kInt8), true},
  };
  for (const IntQuantKernel& kern : kernels) {
    auto* b = benchmark::RegisterBenchmark(kern.name.c_str(), [kern](benchmark::State& s) { bm_int_quant(s, kern); });
    add_args(b, kern.hot);  // hot variants are a decode (M = 1) question only
  }

  add_args(benchmark::RegisterBenchmark("BM_peer_eigen_f32",
                                        [](benchmark::State& s) { bm_dense_f32(s, "BM_peer_eigen_f32", eigen_f32); }),
           false);
#if defined(LSGEMM_HAVE_OPENBLAS)
  add_args(benchmark::RegisterBenchmark(
               "BM_peer_openblas_f32", [](benchmark::State& s) { bm_dense_f32(s, "BM_peer_openblas_f32", openblas_f32); }),
           false);
#endif
#if defined(LSGEMM_HAVE_ONEDNN)
  add_args(benchmark::RegisterBenchmark(
               "BM_peer_onednn_f32",
               [](benchmark::State& s) { bm_onednn<float, float, float>(s, "BM_peer_onednn_f32"); }),
           false);
  add_args(benchmark::RegisterBenchmark(
               "BM_peer_onednn_s8",
               [](benchmark::State& s) { bm_onednn<uint8_t, int8_t, int32_t>(s, "BM_peer_onednn_s8"); }),
           false);
  // The same, without AMX tile kernels: oneDNN on the VNNI instruction lsgemm uses.
  add_args(benchmark::RegisterBenchmark("BM_peer_onednn_s8_vnni",
                                        [](benchmark::State& s) {
                                          bm_onednn<uint8_t, int8_t, int32_t>(s, "BM_peer_onednn_s8_vnni", "amx");
                                        }),
           false);
#endif
}

void add_context() {
  const CacheInfo l3 = l3_info();
  benchmark::AddCustomContext("lsgemm_simd_target", lsgemm::simd_target_name());
  benchmark::AddCustomContext("l3_bytes", std::to_string(l3.l3_bytes) +
                                              (l3.from_sysfs ? " (sysfs)" : " (fallback: sysfs unreadable)"));
  benchmark::AddCustomContext("cold_rotation_bytes", std::to_string(rotation_bytes()) + " (5x L3)");
  benchmark::AddCustomContext("rotation_memory_cap_bytes", std::to_string(memory_budget_bytes()));
#if defined(LSGEMM_HAVE_OPENBLAS)
  benchmark::AddCustomContext("openblas", std::string(openblas_get_config()) + " core=" + openblas_get_corename());
#else
  benchmark::AddCustomContext("openblas", "not built");
#endif
#if defined(LSGEMM_HAVE_ONEDNN)
  const dnnl_version_t* v = dnnl_version();
  benchmark::AddCustomContext("onednn", std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                                            std::to_string(v->patch) + " cpu_runtime=" +
                                            (v->cpu_runtime == DNNL_RUNTIME_OMP ? "omp" : "other"));
#else
  benchmark::AddCustomContext("onednn", "not built");
#endif
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  register_all();
  add_context();
  std::fprintf(stderr, "lsgemm SIMD target: %s; L3 %lld bytes; cold rotation %lld bytes\n",
               lsgemm::simd_target_name(), static_cast<long long>(l3_info().l3_bytes),
               static_cast<long long>(rotation_bytes()));
  benchmark::RunSpecifiedBenchmarks();
  release_prepared();
  benchmark::Shutdown();
  return 0;
}
