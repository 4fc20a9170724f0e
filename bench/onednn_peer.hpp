#pragma once
// The oneDNN matmul peers, the same code in every binary that links oneDNN so that their
// columns mean the same: BM_peer_onednn_f32 (f32 × f32), BM_peer_onednn_s8 (u8 × s8 →
// s32, at the best ISA oneDNN finds) and BM_peer_onednn_s8_vnni (the same without AMX
// tile kernels).
//
// src (M×K) · wei (K×N) → dst (M×N). W row-major N×K is wei in layout "ba". Weights are
// created with format_tag::any and reordered once per copy into the blocked layout
// oneDNN prefers (prepacked, as an inference engine would store them), so the timed call
// is the matmul alone.
#include "bench_common.hpp"

#if defined(LSGEMM_HAVE_ONEDNN)
#include <dnnl.hpp>

#include <stdexcept>
#include <type_traits>
#include <unordered_map>
#endif

namespace lsgemm_bench {

#if defined(LSGEMM_HAVE_ONEDNN)
template <class T> dnnl::memory::data_type dt_of();
template <> inline dnnl::memory::data_type dt_of<float>() { return dnnl::memory::data_type::f32; }
template <> inline dnnl::memory::data_type dt_of<uint8_t>() { return dnnl::memory::data_type::u8; }
template <> inline dnnl::memory::data_type dt_of<int8_t>() { return dnnl::memory::data_type::s8; }
template <> inline dnnl::memory::data_type dt_of<int32_t>() { return dnnl::memory::data_type::s32; }

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
template <> inline float quantize_value<float>(float v) { return v; }
template <> inline int8_t quantize_value<int8_t>(float v) {
  return int8_t(std::clamp(std::lrint(v * (127.0f / (3.5f * kWeightStd))), -127l, 127l));
}
template <> inline uint8_t quantize_value<uint8_t>(float v) {
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
      fill_activations(tmp.data(), d.m, d.k);
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

// Registers the three oneDNN peers (none where oneDNN is not linked); the caller gives
// them its argument matrix.
inline std::vector<benchmark::internal::Benchmark*> register_onednn_peers() {
  std::vector<benchmark::internal::Benchmark*> out;
#if defined(LSGEMM_HAVE_ONEDNN)
  out.push_back(benchmark::RegisterBenchmark("BM_peer_onednn_f32", [](benchmark::State& s) {
    bm_onednn<float, float, float>(s, "BM_peer_onednn_f32");
  }));
  out.push_back(benchmark::RegisterBenchmark("BM_peer_onednn_s8", [](benchmark::State& s) {
    bm_onednn<uint8_t, int8_t, int32_t>(s, "BM_peer_onednn_s8");
  }));
  // The same, without AMX tile kernels: oneDNN on the VNNI instruction lsgemm uses.
  out.push_back(benchmark::RegisterBenchmark("BM_peer_onednn_s8_vnni", [](benchmark::State& s) {
    bm_onednn<uint8_t, int8_t, int32_t>(s, "BM_peer_onednn_s8_vnni", "amx");
  }));
#endif
  return out;
}

inline void add_onednn_context() {
#if defined(LSGEMM_HAVE_ONEDNN)
  const dnnl_version_t* v = dnnl_version();
  benchmark::AddCustomContext("onednn", std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                                            std::to_string(v->patch) + " cpu_runtime=" +
                                            (v->cpu_runtime == DNNL_RUNTIME_OMP ? "omp" : "other"));
#else
  benchmark::AddCustomContext("onednn", "not built");
#endif
}

}  // namespace lsgemm_bench
