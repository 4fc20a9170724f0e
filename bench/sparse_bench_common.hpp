#pragma once
// Helpers shared by the sparse-weight benchmark binaries (nm_sparse_bench,
// bitmap_sparse_bench), the same code in each so that their rows mean the same:
//   - the shape, token and thread matrix they register over;
//   - the CSR peer's weight (Eigen's compressed row-major sparse matrix holding the
//     non-zeros of a pruned lsgemm weight, which stays beside it as its check's oracle),
//     and its product;
//   - a cache of packed single copies, keyed by what they hold, and the weights both
//     binaries measure beside their own (the n:m weight, the dense int4 weight);
//   - the benchmark of one weight kernel (cold rotation, one-time output check against
//     lsgemm::reference::matmul, GB/s and GFLOP/s, bits per weight and the kernel paths
//     in the label) and its registration;
//   - the rows every sparse binary registers beside its own (the streaming-read probe,
//     the dense int4 kernels, the dense fp32 peers) and its main().
// What each binary measures (its weight makers, its registration list) stays in it.
#include <Eigen/SparseCore>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "onednn_peer.hpp"
#include "peers.hpp"

#include <lsgemm/int_quant/format.hpp>
#include <lsgemm/nm_sparse/format.hpp>

namespace lsgemm_bench {

// ---------------------------------------------------------------------------------------
// LLM linear layers (LLaMA-7B attention 4096², MLP up 11008×4096, down 4096×11008) and
// token counts from decode (1) to a prefill chunk (512).

using Shape = std::pair<int64_t, int64_t>;  // N × K
inline const std::vector<Shape> kShapes = {{4096, 4096}, {11008, 4096}, {4096, 11008}};
inline const std::vector<int64_t> kTokens = {1, 8, 32, 128, 512};
inline const std::vector<int> kThreads = {1, 2};

// ---------------------------------------------------------------------------------------
// The CSR peer's weight: Eigen's compressed row-major sparse matrix, and the pruned
// lsgemm weight (of type Pruned) it was built from (the oracle of its check).

using Csr = Eigen::SparseMatrix<float, Eigen::RowMajor, int>;

template <class Pruned>
struct CsrWeight {
  Csr w;
  std::shared_ptr<const Pruned> pruned;

  int64_t n() const { return int64_t(w.rows()); }
  // Values, column indices and row offsets: what the product reads.
  int64_t packed_bytes() const {
    return int64_t(w.nonZeros()) * int64_t(sizeof(float) + sizeof(int)) +
           (int64_t(w.outerSize()) + 1) * int64_t(sizeof(int));
  }
};

// The CSR weight over p's n×k shape from its non-zeros: row r's column indices and values
// are inner and vals at outer[r] .. outer[r + 1], in ascending column order.
template <class Pruned>
CsrWeight<Pruned> csr_from(std::shared_ptr<const Pruned> p, const std::vector<int>& outer,
                           const std::vector<int>& inner, const std::vector<float>& vals) {
  CsrWeight<Pruned> out;
  out.w = Eigen::Map<const Csr>(Eigen::Index(p->n), Eigen::Index(p->k), Eigen::Index(inner.size()), outer.data(),
                                inner.data(), vals.data());
  out.pruned = std::move(p);
  return out;
}

// ---------------------------------------------------------------------------------------
// One call and the output check, per weight type.

template <class W>
void product(lsgemm::HostView<const float> X, const W& w, lsgemm::HostView<float> Y) {
  lsgemm::matmul(X, w, Y);
}

// Eigen as a user would write it, as eigen_f32 does for the dense peer: Y (M×N
// row-major) is Yᵀ (N×M column-major), X (M×K row-major) is Xᵀ (K×M column-major), so
// Yᵀ = W·Xᵀ with no copies. Eigen runs the sparse × dense product one column of Xᵀ at a
// time (so W is read once per row of X), the rows of W split over OpenMP threads
// (setNbThreads).
template <class Pruned>
void product(lsgemm::HostView<const float> X, const CsrWeight<Pruned>& c, lsgemm::HostView<float> Y) {
  const Eigen::Index M = X.rows, K = X.cols, N = c.w.rows();
  if (M == 1) {
    Eigen::Map<const Eigen::VectorXf> x(X.data, K);
    Eigen::Map<Eigen::VectorXf> y(Y.data, N);
    y.noalias() = c.w * x;
  } else {
    Eigen::Map<const Eigen::MatrixXf> xt(X.data, K, M);
    Eigen::Map<Eigen::MatrixXf> yt(Y.data, N, M);
    yt.noalias() = c.w * xt;
  }
}

// The weight lsgemm::reference::matmul checks a result against.
template <class W>
const W& oracle_of(const W& w) {
  return w;
}
template <class Pruned>
const Pruned& oracle_of(const CsrWeight<Pruned>& c) {
  return *c.pruned;
}

// Copies for the cold rotation.
template <class W>
W copy_of(const W& w) {
  return w.clone();
}
template <class Pruned>
CsrWeight<Pruned> copy_of(const CsrWeight<Pruned>& c) {
  return {c.w, c.pruned};
}

// The kernel paths the lsgemm call took ("" for a peer), for the label.
inline std::string paths_taken() {
  std::string out;
  for (int p = 0; p < int(lsgemm::Path::kCount); ++p) {
    if (!lsgemm::path_taken(lsgemm::Path(p))) continue;
    out += (out.empty() ? "" : ",") + std::string(lsgemm::path_name(lsgemm::Path(p)));
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Packed single copies, keyed by what they hold, shared by a kernel's cold and _hot rows
// and by the CSR peer built from a pruned weight. With random interleaving (as
// scripts/bench runs it) consecutive runs belong to different benchmarks, so the slot's
// rotation is rebuilt on nearly every run: the packed copy lives here, and the check
// verdicts in checked_once's map, so a rebuild is a few copies, not a re-pack (or a
// pruning, which sorts every row). Dropped wholesale past 1 GiB (a full registration
// holds some 40 to 70 weights; the default subset stays far below the cap); a copy in
// use stays alive through its shared pointer.

struct WeightCache {
  std::map<std::string, std::shared_ptr<const void>> items;  // every weight type in one map
  int64_t total = 0;                                          // their packed bytes
};
inline WeightCache& weight_cache() {
  static WeightCache c;
  return c;
}

template <class W>
std::shared_ptr<const W> cached(const std::string& key, const std::function<W()>& make) {
  WeightCache& c = weight_cache();
  auto it = c.items.find(key);
  if (it != c.items.end()) return std::static_pointer_cast<const W>(it->second);
  auto w = std::make_shared<const W>(make());  // may add to the cache itself (CSR: its pruned weight)
  const int64_t bytes = w->packed_bytes();
  if (c.total + bytes > (int64_t(1) << 30)) {
    c.items.clear();
    c.total = 0;
  }
  c.items[key] = w;
  c.total += bytes;
  return w;
}

// The n:m weight of one shape, packed with options o (nm_sparse_bench's rows and
// bitmap_sparse_bench's 2:4 row).
inline std::shared_ptr<const lsgemm::nm_sparse::NmSparseMatrix> nm_weight(const lsgemm::nm_sparse::PackOptions& o,
                                                                         int64_t n, int64_t k) {
  namespace nm = lsgemm::nm_sparse;
  return cached<nm::NmSparseMatrix>(key_of("nm", {o.nnz, o.run, int64_t(o.values), o.group, int64_t(o.act), n, k}), [&] {
    const lsgemm::AlignedBuffer<float> W = dense_weight(n, k);
    return nm::pack(lsgemm::view<const float>(W.data(), n, k), o);
  });
}

// The dense int4 weight of one shape (groups of 128), for activation mode act.
inline std::shared_ptr<const lsgemm::int_quant::QuantizedMatrix> int4_weight(lsgemm::int_quant::ActMode act,
                                                                            int64_t n, int64_t k) {
  namespace iq = lsgemm::int_quant;
  return cached<iq::QuantizedMatrix>(key_of("int4_g128", {int64_t(act), n, k}), [&] {
    const lsgemm::AlignedBuffer<float> W = dense_weight(n, k);
    return iq::pack(lsgemm::view<const float>(W.data(), n, k),
                    iq::PackOptions().with_bits(4).with_group(128).with_act(act));
  });
}

// ---------------------------------------------------------------------------------------
// The benchmark of one weight kernel (the lsgemm sparse and int_quant rows, the CSR peer).

template <class W>
struct Kernel {
  std::string name;
  std::function<std::shared_ptr<const W>(int64_t n, int64_t k)> weight;  // one packed copy
  double rel_tol = 1e-3;
  bool hot = false;
};

template <class W>
struct PackedState {
  std::string error;
  WeightPool<W> pool;
  int64_t bytes = 0;
  int64_t m = -1;
  lsgemm::AlignedBuffer<float> x, y;
};

template <class W>
void bm_weights(benchmark::State& state, const Kernel<W>& kern) {
  const Dims d = dims_of(state);
  set_threads(d.t);
  // The pool depends on the shape only, so consecutive M and T values reuse it.
  auto st = prepared<PackedState<W>>(key_of(kern.name, {d.n, d.k}), [&] {
    auto s = std::make_shared<PackedState<W>>();
    try {
      const std::shared_ptr<const W> master = kern.weight(d.n, d.k);
      s->bytes = master->packed_bytes();
      const int64_t copies = copies_for(s->bytes, kern.hot);
      for (int64_t i = 0; i < copies; ++i) s->pool.add(copy_of(*master));
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

  // Once per (kernel, shape, M, T), on the first copy, before any timing; the paths
  // this call records are the label's.
  const std::string ck = key_of(kern.name, {d.n, d.k, d.m, d.t});
  static std::map<std::string, std::string> path_labels;
  const bool ok = checked_once(state, ck, [&](std::string* why) {
    std::fill(st->y.data(), st->y.data() + st->y.size(), std::nanf(""));
    lsgemm::reset_paths_taken();
    if (!guarded(state, kern.name.c_str(), [&] { product(X, st->pool.first(), Y); }, why)) return false;
    path_labels[ck] = paths_taken();
    return check_against_reference(state, kern.name.c_str(), X, oracle_of(st->pool.first()), Y.data, d.n,
                                   kern.rel_tol, why);
  });
  if (!ok) return;
  const std::string paths = path_labels[ck];

  for (auto _ : state) {
    product(X, st->pool.next(), Y);
    benchmark::ClobberMemory();
  }
  set_rates(state, double(st->bytes), 2.0 * double(d.m) * double(d.n) * double(d.k));
  char label[32];
  std::snprintf(label, sizeof label, "bpw=%.3f", 8.0 * double(st->bytes) / double(d.n * d.k));
  state.SetLabel(paths.empty() ? std::string(label) : std::string(label) + " path=" + paths);
}

// ---------------------------------------------------------------------------------------
// Registration.

struct Matrix {
  std::vector<Shape> shapes;
  std::vector<int64_t> tokens;
};

inline void add_args(benchmark::internal::Benchmark* b, const Matrix& mx) {
  b->ArgNames({"N", "K", "M", "T"})->UseRealTime()->Unit(benchmark::kMicrosecond);
  for (const auto& [n, k] : mx.shapes)
    for (const int64_t m : mx.tokens)
      for (const int t : kThreads) b->Args({n, k, m, t});
}

template <class W>
void reg(const Kernel<W>& kern, const Matrix& mx) {
  add_args(benchmark::RegisterBenchmark(kern.name.c_str(), [kern](benchmark::State& s) { bm_weights(s, kern); }), mx);
}

// BM_probe_stream_read, T in {1, 2}: what a plain streaming read gets from DRAM.
inline void register_probe() {
  benchmark::RegisterBenchmark("BM_probe_stream_read", bm_probe_stream_read)
      ->ArgNames({"T"})
      ->Arg(1)
      ->Arg(2)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
}

// The library's dense int4 kernels (groups of 128), both activation modes; 1e-3 as in
// int_quant_bench (int8 rounding ties and summation order).
inline void register_int4_rows(const Matrix& mx) {
  namespace iq = lsgemm::int_quant;
  for (const auto& [act, name] : {std::make_pair(iq::ActMode::kFloat, "BM_int4_g128_f32act"),
                                  std::make_pair(iq::ActMode::kInt8, "BM_int4_g128_int8act")}) {
    Kernel<iq::QuantizedMatrix> k;
    k.name = name;
    k.weight = [act = act](int64_t n, int64_t kk) { return int4_weight(act, n, kk); };
    k.rel_tol = 1e-3;
    reg(k, mx);
  }
}

// Dense fp32 peers, on the unpruned W: Eigen, OpenBLAS and oneDNN (where built).
inline void register_f32_peers(const Matrix& mx) {
  for (auto* b : register_dense_peers()) add_args(b, mx);
#if defined(LSGEMM_HAVE_ONEDNN)
  add_args(benchmark::RegisterBenchmark(
               "BM_peer_onednn_f32",
               [](benchmark::State& s) { bm_onednn<float, float, float>(s, "BM_peer_onednn_f32"); }),
           mx);
#endif
}

// ---------------------------------------------------------------------------------------
// main() of a sparse benchmark binary: takes out --full (the binary's own flag: every
// shape × M × T) before Google Benchmark rejects it as unknown, registers with
// register_all(full), records under registration_key which registration ran, and runs.

inline int sparse_bench_main(int argc, char** argv, const char* registration_key, void (*register_all)(bool full)) {
  bool full = false;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--full") == 0) {
      full = true;
    } else {
      argv[out++] = argv[i];
    }
  }
  argc = out;
  argv[argc] = nullptr;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  register_all(full);
  add_machine_context();
  benchmark::AddCustomContext(registration_key, full ? "full" : "default subset");
  add_openblas_context();
  add_onednn_context();
  std::fprintf(stderr, "lsgemm SIMD target: %s; L3 %lld bytes; cold rotation %lld bytes; %s registration\n",
               lsgemm::simd_target_name(), static_cast<long long>(l3_info().l3_bytes),
               static_cast<long long>(rotation_bytes()), full ? "full" : "default (--full for every shape)");
  benchmark::RunSpecifiedBenchmarks();
  release_prepared();
  benchmark::Shutdown();
  return 0;
}

}  // namespace lsgemm_bench
