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
#include <set>

#include "onednn_peer.hpp"
#include "peers.hpp"

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

// Activations M×K. With outliers, a few fixed columns carry |x| ≥ 8 in every row (as
// LLM.int8() reports for real models: a handful of feature dimensions, systematically
// large); putting them in every row makes the outlier column set the same for the full
// X and for the one-row sub-views the check hands to the reference.
void fill_activations(float* x, int64_t M, int64_t K, bool outliers) {
  lsgemm_bench::fill_activations(x, M, K);
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

  for (auto* b : register_dense_peers()) add_args(b, false);
  for (auto* b : register_onednn_peers()) add_args(b, false);
}

void add_context() {
  add_machine_context();
  add_openblas_context();
  add_onednn_context();
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
