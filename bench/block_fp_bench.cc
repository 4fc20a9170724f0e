// block_fp benchmarks: MX (FP4/FP6/FP8/INT8), NVFP4 and BFP weights against the
// library's int4 W4A8 GEMV, the dense fp32 peers and oneDNN's f32 and u8 x s8 matmul,
// all in one binary so that every ratio comes from one run on one machine state
// (DESIGN.md §6).
//
//   BM_<format>_<act>/N:…/K:…/M:…/T:…   Y[M×N] = X[M×K]·Wᵀ, W cold unless the name ends
//                                        _hot; <act>: f32act (W-only) or int8act (W+A:
//                                        X quantized to MXINT8 per block on the fly)
//   BM_int4_g128_int8act/…                int_quant W4A8, the same rotation
//   BM_peer_eigen_f32 / BM_peer_openblas_f32   dense fp32
//   BM_peer_onednn_f32 / _s8 / _s8_vnni   oneDNN matmul, weights prepacked (as in
//                                        int_quant_bench)
//   BM_probe_stream_read/T:…              what a plain streaming read gets from DRAM now
//
// Counters: GB/s = bytes of the packed weight (codes + scales) per call / time;
// GFLOP/s = 2·M·N·K per call / time (integer ops for the s8 peers). Every benchmark
// checks its output once, before timing: the lsgemm kernels against
// lsgemm::reference::matmul (1e-3 relative L2; the W+A paths are bit-exact, the float
// ones differ by summation order only), the peers against a double oracle.
#include <functional>
#include <map>

#include "onednn_peer.hpp"
#include "peers.hpp"

namespace {

using lsgemm::AlignedBuffer;
namespace bf = lsgemm::block_fp;
using namespace lsgemm_bench;

// LLM linear layers (LLaMA-7B attention 4096², MLP up 11008×4096, down 4096×11008) and
// token counts from decode (1) to a prefill chunk (512).
const std::vector<std::pair<int64_t, int64_t>> kShapes = {{4096, 4096}, {11008, 4096}, {4096, 11008}};
const std::vector<int64_t> kTokens = {1, 8, 32, 128, 512};
const std::vector<int> kThreads = {1, 2};

// One packed-weight kernel: how to pack W, and whether its copies stay hot.
template <class Weights>
struct Kernel {
  std::string name;
  std::function<Weights(lsgemm::HostView<const float>)> pack;
  bool hot = false;
};

template <class Weights>
struct PackedState {
  std::string error;
  WeightPool<Weights> pool;
  int64_t bytes = 0;
  int64_t m = -1;
  AlignedBuffer<float> x, y;
  std::map<std::pair<int64_t, int>, std::string> verdict;  // per (M, T): "" = passed
};

template <class Weights>
void bm_packed(benchmark::State& state, const Kernel<Weights>& kern) {
  const Dims d = dims_of(state);
  set_threads(d.t);
  auto st = prepared<PackedState<Weights>>(key_of(kern.name, {d.n, d.k}), [&] {
    auto s = std::make_shared<PackedState<Weights>>();
    try {
      AlignedBuffer<float> W(size_t(d.n * d.k));
      fill_gaussianish(W.data(), W.size(), kSeedW, kWeightStd);
      Weights w = kern.pack(lsgemm::view<const float>(W.data(), d.n, d.k));
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
    fill_activations(st->x.data(), d.m, d.k);
    st->m = d.m;
  }
  const auto X = lsgemm::view<const float>(st->x.data(), d.m, d.k);
  const auto Y = lsgemm::view<float>(st->y.data(), d.m, d.n);
  const auto ck = std::make_pair(d.m, d.t);
  auto seen = st->verdict.find(ck);
  if (seen == st->verdict.end()) {
    std::string why;
    const bool ok = guarded(state, kern.name.c_str(), [&] { lsgemm::matmul(X, st->pool.first(), Y); }, &why) &&
                    check_against_reference(state, kern.name.c_str(), X, st->pool.first(), Y.data, d.n, 1e-3, &why);
    st->verdict[ck] = ok ? "" : why;
    if (!ok) return;
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

void add_args(benchmark::internal::Benchmark* b, bool m1_only) {
  b->ArgNames({"N", "K", "M", "T"})->UseRealTime()->Unit(benchmark::kMicrosecond);
  for (const auto& [n, k] : kShapes)
    for (const int64_t m : kTokens) {
      if (m1_only && m != 1) continue;
      for (const int t : kThreads) b->Args({n, k, m, t});
    }
}

Kernel<bf::BlockFpMatrix> block_fp_kernel(const std::string& name, bf::PackOptions o, bool hot = false) {
  return {name, [o](lsgemm::HostView<const float> W) { return bf::pack(W, o); }, hot};
}

void register_all() {
  benchmark::RegisterBenchmark("BM_probe_stream_read", bm_probe_stream_read)
      ->ArgNames({"T"})
      ->Arg(1)
      ->Arg(2)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  using O = bf::PackOptions;
  using E = bf::MxElement;
  const bf::ActMode kI8 = bf::ActMode::kInt8;
  const std::vector<Kernel<bf::BlockFpMatrix>> kernels = {
      block_fp_kernel("BM_mxfp4_int8act", O::mx(E::kFp4E2M1).with_act(kI8)),
      block_fp_kernel("BM_mxfp4_f32act", O::mx(E::kFp4E2M1)),
      block_fp_kernel("BM_nvfp4_int8act", O::nvfp4().with_act(kI8)),
      block_fp_kernel("BM_nvfp4_f32act", O::nvfp4()),
      block_fp_kernel("BM_mxfp6_e2m3_int8act", O::mx(E::kFp6E2M3).with_act(kI8)),
      block_fp_kernel("BM_mxfp6_e2m3_f32act", O::mx(E::kFp6E2M3)),
      block_fp_kernel("BM_mxfp6_e3m2_f32act", O::mx(E::kFp6E3M2)),
      block_fp_kernel("BM_mxfp8_e4m3_f32act", O::mx(E::kFp8E4M3)),
      block_fp_kernel("BM_mxfp8_e5m2_f32act", O::mx(E::kFp8E5M2)),
      block_fp_kernel("BM_mxint8_int8act", O::mx(E::kInt8).with_act(kI8)),
      block_fp_kernel("BM_bfp5_b16_int8act", O::bfp(5, 16).with_act(kI8)),
      block_fp_kernel("BM_mxfp4_int8act_by_amax", O::mx(E::kFp4E2M1).with_act(kI8).with_order(bf::ChannelOrder::kByAmax)),
      block_fp_kernel("BM_mxfp4_f32act_by_amax", O::mx(E::kFp4E2M1).with_order(bf::ChannelOrder::kByAmax)),
      block_fp_kernel("BM_mxfp4_int8act_hot", O::mx(E::kFp4E2M1).with_act(kI8), true),
      block_fp_kernel("BM_mxfp4_f32act_hot", O::mx(E::kFp4E2M1), true),
  };
  for (const auto& kern : kernels)
    add_args(benchmark::RegisterBenchmark(kern.name.c_str(), [kern](benchmark::State& s) { bm_packed(s, kern); }),
             kern.hot);
  namespace iq = lsgemm::int_quant;
  const Kernel<iq::QuantizedMatrix> int4{
      "BM_int4_g128_int8act", [](lsgemm::HostView<const float> W) {
        return iq::pack(W, iq::PackOptions().with_bits(4).with_group(128).with_act(iq::ActMode::kInt8));
      }};
  add_args(benchmark::RegisterBenchmark(int4.name.c_str(), [int4](benchmark::State& s) { bm_packed(s, int4); }),
           false);
  for (auto* b : register_dense_peers()) add_args(b, false);
  for (auto* b : register_onednn_peers()) add_args(b, false);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  register_all();
  add_machine_context();
  add_openblas_context();
  add_onednn_context();
  std::fprintf(stderr, "lsgemm SIMD target: %s; L3 %lld bytes; cold rotation %lld bytes\n",
               lsgemm::simd_target_name(), static_cast<long long>(l3_info().l3_bytes),
               static_cast<long long>(rotation_bytes()));
  benchmark::RunSpecifiedBenchmarks();
  release_prepared();
  benchmark::Shutdown();
  return 0;
}
