#pragma once
// What every lsgemm benchmark binary runs beside its own kernels, the same code in each so
// that their columns mean the same: the DRAM streaming-read probe (BM_probe_stream_read)
// and the dense fp32 peers (Eigen, OpenBLAS; BM_peer_eigen_f32, BM_peer_openblas_f32).
#include "bench_common.hpp"

namespace lsgemm_bench {

using DenseKernel = void (*)(const float* W, const float* X, float* Y, int64_t N, int64_t K, int64_t M);

// Eigen as a user would write it: a row-major Map of W times X. Y (M×N row-major) is
// Yᵀ (N×M column-major), and X (M×K row-major) is Xᵀ (K×M column-major), so the product
// is Yᵀ = W·Xᵀ with no copies. Eigen runs GEMV on one thread whatever setNbThreads says.
inline void eigen_f32(const float* W, const float* X, float* Y, int64_t N, int64_t K, int64_t M) {
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Map<const RowMajor> w(W, N, K);
  if (M == 1) {
    Eigen::Map<const Eigen::VectorXf> x(X, K);
    Eigen::Map<Eigen::VectorXf> y(Y, N);
    y.noalias() = w * x;
  } else {
    Eigen::Map<const Eigen::MatrixXf> xt(X, K, M);
    Eigen::Map<Eigen::MatrixXf> yt(Y, N, M);
    yt.noalias() = w * xt;
  }
}

#if defined(LSGEMM_HAVE_OPENBLAS)
// OpenBLAS as a linear layer calls it: sgemv for one token, else Y = X·Wᵀ via sgemm.
inline void openblas_f32(const float* W, const float* X, float* Y, int64_t N, int64_t K, int64_t M) {
  if (M == 1) {
    cblas_sgemv(CblasRowMajor, CblasNoTrans, blasint(N), blasint(K), 1.0f, W, blasint(K), X, 1, 0.0f, Y, 1);
  } else {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blasint(M), blasint(N), blasint(K), 1.0f, X,
                blasint(K), W, blasint(K), 0.0f, Y, blasint(N));
  }
}
#endif

// ---------------------------------------------------------------------------------------
// The dense fp32 peer benchmark: W row-major N×K (dense_weight), X from fill_activations,
// the same cold rotation as the lsgemm kernels; GB/s counts the fp32 weight bytes.

struct DenseState {
  WeightPool<lsgemm::AlignedBuffer<float>> pool;
  int64_t m = -1;
  lsgemm::AlignedBuffer<float> x, y;
};

inline void bm_dense_f32(benchmark::State& state, const std::string& name, DenseKernel kernel) {
  const Dims d = dims_of(state);
  set_threads(d.t);
  const int64_t bytes = d.n * d.k * int64_t(sizeof(float));
  auto st = prepared<DenseState>(key_of(name, {d.n, d.k}), [&] {
    auto s = std::make_shared<DenseState>();
    lsgemm::AlignedBuffer<float> W = dense_weight(d.n, d.k);
    const int64_t copies = copies_for(bytes, false);
    for (int64_t i = 1; i < copies; ++i) s->pool.add(W.clone());
    s->pool.add(std::move(W));
    return s;
  });
  if (st->m != d.m) {
    st->x.resize(size_t(d.m * d.k));
    st->y.resize(size_t(d.m * d.n));
    fill_activations(st->x.data(), d.m, d.k);
    st->m = d.m;
  }
  const bool ok = checked_once(state, key_of(name, {d.n, d.k, d.m, d.t}), [&](std::string* why) {
    kernel(st->pool.first().data(), st->x.data(), st->y.data(), d.n, d.k, d.m);
    // fp32 against a double oracle: K <= 11008 terms lose ~sqrt(K)·2^-24 ≈ 1e-5 relative.
    return check_dense_f32(state, name.c_str(), st->x.data(), st->pool.first().data(), st->y.data(), d.m, d.n, d.k,
                           1e-4, why);
  });
  if (!ok) return;
  for (auto _ : state) {
    kernel(st->pool.next().data(), st->x.data(), st->y.data(), d.n, d.k, d.m);
    benchmark::ClobberMemory();
  }
  set_rates(state, double(bytes), 2.0 * double(d.m) * double(d.n) * double(d.k));
}

// Registers BM_peer_eigen_f32 and (where built) BM_peer_openblas_f32; the caller gives
// them its argument matrix.
inline std::vector<benchmark::internal::Benchmark*> register_dense_peers() {
  std::vector<benchmark::internal::Benchmark*> out;
  out.push_back(benchmark::RegisterBenchmark(
      "BM_peer_eigen_f32", [](benchmark::State& s) { bm_dense_f32(s, "BM_peer_eigen_f32", eigen_f32); }));
#if defined(LSGEMM_HAVE_OPENBLAS)
  out.push_back(benchmark::RegisterBenchmark(
      "BM_peer_openblas_f32", [](benchmark::State& s) { bm_dense_f32(s, "BM_peer_openblas_f32", openblas_f32); }));
#endif
  return out;
}

inline void add_openblas_context() {
#if defined(LSGEMM_HAVE_OPENBLAS)
  benchmark::AddCustomContext("openblas", std::string(openblas_get_config()) + " core=" + openblas_get_corename());
#else
  benchmark::AddCustomContext("openblas", "not built");
#endif
}

// ---------------------------------------------------------------------------------------
// Bandwidth probe: sums a buffer of the cold-rotation size (>= 5x L3) as 64-bit integers,
// each thread its own contiguous part. Integer adds may be reordered freely, so the
// compiler vectorizes the loop at -O3 (one vector add per load, far above what DRAM
// delivers), and the time is the memory system's. Each thread reads its part as 8
// interleaved sequential streams, because a GEMV also walks many rows at once, and on
// some cores one stream is held back by the L2 streamer's prefetch depth: on the 2-core
// Sapphire Rapids VM one stream read 4-7 GB/s while 8 streams read 6-12 GB/s in the same
// minute, so a one-stream probe sat below Eigen's fp32 GEMV (~12 GB/s).

struct ProbeState {
  lsgemm::AlignedBuffer<uint64_t> buf;
};

inline constexpr int kProbeStreams = 8;

inline uint64_t stream_part(const uint64_t* p, int64_t b, int64_t e) {
  const int64_t lines = (e - b) / 8;  // 64-byte lines of 8 u64
  const int64_t per = lines / kProbeStreams;
  uint64_t acc[kProbeStreams] = {};
  for (int64_t l = 0; l < per; ++l) {
    for (int j = 0; j < kProbeStreams; ++j) {
      const uint64_t* q = p + b + (j * per + l) * 8;
      for (int u = 0; u < 8; ++u) acc[j] += q[u];
    }
  }
  uint64_t s = 0;
  for (int j = 0; j < kProbeStreams; ++j) s += acc[j];
  for (int64_t i = b + kProbeStreams * per * 8; i < e; ++i) s += p[i];  // tail
  return s;
}

inline uint64_t stream_sum(const uint64_t* p, int64_t n, int threads) {
  uint64_t total = 0;
#if defined(_OPENMP)
#pragma omp parallel num_threads(threads) reduction(+ : total)
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    total += stream_part(p, n * t / nt, n * (t + 1) / nt);
  }
#else
  (void)threads;
  total = stream_part(p, 0, n);
#endif
  return total;
}

inline void bm_probe_stream_read(benchmark::State& state) {
  const int t = int(state.range(0));
  set_threads(t);
  // Same key for T=1 and T=2: the buffer is built (and its pages faulted in) once.
  auto st = prepared<ProbeState>("BM_probe_stream_read", [] {
    auto s = std::make_shared<ProbeState>();
    const int64_t bytes = std::min(rotation_bytes(), memory_budget_bytes());
    s->buf.resize(size_t(bytes / 8));  // zero-filled by resize: every page is touched
    for (size_t i = 0; i < s->buf.size(); i += 512) s->buf[i] = i;
    return s;
  });
  const int64_t n = int64_t(st->buf.size());
  for (auto _ : state) benchmark::DoNotOptimize(stream_sum(st->buf.data(), n, t));
  set_rates(state, double(n) * 8.0, 0.0);
}

}  // namespace lsgemm_bench
