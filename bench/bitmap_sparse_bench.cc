// bitmap_sparse benchmarks: unstructured sparse weights (a mask per tile of 64 weights
// plus the tile's non-zeros; 50, 70, 80, 90 and 95 % pruned, values f32, bf16 or int8)
// against the dense fp32 peers, the library's own dense int4 kernels, its 2:4 N:M kernel
// and Eigen's CSR product over the same pruned weights, all in one binary so that every
// ratio comes from one run on one machine state (DESIGN.md §6).
//
//   BM_bitmap_s<pct>_<values>/N:…/K:…/M:…/T:…  Y[M×N] = X[M×K]·Wᵀ, each row of W pruned
//                                              to pct % zeros by magnitude
//                                              (bitmap_sparse::pack with_sparsity), values
//                                              f32, bf16 or int8 (int8_g128: a scale per
//                                              128 columns); W cold unless the name ends
//                                              _hot
//   BM_nm_2of4_f32/…                           nm_sparse 2:4 (50 %), f32 values: the
//                                              structured family at the same density as s50
//   BM_int4_g128_f32act / _int8act/…           int_quant W4 (groups of 128), float X or
//                                              X quantized to int8, the same rotation
//   BM_peer_eigen_f32 / BM_peer_openblas_f32   dense fp32 (unpruned W)
//   BM_peer_onednn_f32                         oneDNN f32 matmul, weights prepacked
//   BM_peer_eigen_sparse_s<pct>_f32/…          Eigen SparseMatrix<float, RowMajor> (CSR)
//                                              holding exactly the non-zeros of the
//                                              s<pct> f32 weight: Yᵀ = W·Xᵀ, no copies of
//                                              X or Y
//   BM_probe_stream_read/T:…                   what a plain streaming read gets from DRAM
//
// Counters: GB/s = bytes of the weight as stored (masks, offsets, values and int8 scales;
// the N:M weight's values and index words; CSR values, column indices and row offsets;
// dense fp32 for the dense peers) per call / time; GFLOP/s = 2·M·N·K per call / time for
// every row, sparse ones included (the dense product's work, so that sparse and dense
// rows compare directly: a sparse row above the dense peers' GFLOP/s is that much faster
// at the same layer). The label holds bits per weight and, for the lsgemm rows, the
// kernel path(s) the call took. Every benchmark checks its output once, before timing:
// the lsgemm rows and the CSR peer against lsgemm::reference::matmul on the same pruned
// weight, the dense peers against a double oracle.
//
// The default registration (no flag) is a subset that runs in a few minutes: 4096×4096,
// M in {1, 8, 128}, T in {1, 2}; f32 at 50, 80 and 95 %, bf16 and int8 at 80 %, the CSR
// peer at 80 %, and the peers. `--full` (this binary's own flag, taken out before Google
// Benchmark sees the arguments) registers every shape × M × T, every sparsity for every
// value type and the CSR peer, and an f32 _hot row at 80 % for decode;
// --benchmark_filter selects from either.
#include <Eigen/SparseCore>

#include <cstring>
#include <functional>
#include <map>
#include <stdexcept>
#include <type_traits>

#include "onednn_peer.hpp"
#include "peers.hpp"

#include <lsgemm/bitmap_sparse/format.hpp>
#include <lsgemm/bitmap_sparse/reference.hpp>
#include <lsgemm/nm_sparse/format.hpp>
#include <lsgemm/nm_sparse/reference.hpp>

namespace {

using lsgemm::AlignedBuffer;
using lsgemm::HostView;
using namespace lsgemm_bench;
namespace bs = lsgemm::bitmap_sparse;
namespace nm = lsgemm::nm_sparse;
namespace iq = lsgemm::int_quant;

// LLM linear layers (LLaMA-7B attention 4096², MLP up 11008×4096, down 4096×11008) and
// token counts from decode (1) to a prefill chunk (512).
using Shape = std::pair<int64_t, int64_t>;  // N × K
const std::vector<Shape> kShapes = {{4096, 4096}, {11008, 4096}, {4096, 11008}};
const std::vector<int64_t> kTokens = {1, 8, 32, 128, 512};
const std::vector<int> kThreads = {1, 2};

// Sparsities measured, in percent of each row's weights pruned: from where a bitmap
// barely beats 2:4 (50) to where most tiles hold a few values (95).
const std::vector<int> kSparsities = {50, 70, 80, 90, 95};

// Columns per int8 scale: the int4 and N:M int rows' group, so that the quantized rows
// compare at the same granularity.
constexpr int kInt8Group = 128;

std::string sparsity_name(int pct) { return "s" + std::to_string(pct); }

// ---------------------------------------------------------------------------------------
// The CSR peer's weight: Eigen's compressed row-major sparse matrix, and the bitmap
// weight it was built from (the oracle of its check).

using Csr = Eigen::SparseMatrix<float, Eigen::RowMajor, int>;

struct CsrWeight {
  Csr w;
  std::shared_ptr<const bs::BitmapSparseMatrix> pruned;

  int64_t n() const { return int64_t(w.rows()); }
  // Values, column indices and row offsets: what the product reads.
  int64_t packed_bytes() const {
    return int64_t(w.nonZeros()) * int64_t(sizeof(float) + sizeof(int)) +
           (int64_t(w.outerSize()) + 1) * int64_t(sizeof(int));
  }
};

// Exactly the stored values of the f32 bitmap weight: the dense matrix it dequantizes
// to, its non-zeros in ascending column order within each row. Pruning stores no zero
// and f32 values are stored as they are, so every stored value is a non-zero of that
// matrix and the counts must agree (checked: a CSR product over fewer weights would not
// be the same computation).
CsrWeight csr_of(std::shared_ptr<const bs::BitmapSparseMatrix> p) {
  const bs::BitmapSparseMatrix& w = *p;
  if (w.values_type != bs::ValueType::kF32) throw std::runtime_error("the CSR peer needs f32 values");
  const std::vector<float> dense = bs::dequantize_to_vector(w);
  std::vector<int> outer(size_t(w.n + 1), 0), inner;
  std::vector<float> vals;
  inner.reserve(size_t(w.nnz()));
  vals.reserve(size_t(w.nnz()));
  for (int64_t r = 0; r < w.n; ++r) {
    const float* row = dense.data() + r * w.k;
    for (int64_t c = 0; c < w.k; ++c) {
      if (row[c] != 0.0f) {
        inner.push_back(int(c));
        vals.push_back(row[c]);
      }
    }
    outer[size_t(r + 1)] = int(inner.size());
  }
  if (int64_t(inner.size()) != w.nnz())
    throw std::runtime_error("CSR holds " + std::to_string(inner.size()) + " non-zeros, the bitmap weight stores " +
                             std::to_string(w.nnz()));
  CsrWeight out;
  out.w = Eigen::Map<const Csr>(Eigen::Index(w.n), Eigen::Index(w.k), Eigen::Index(inner.size()), outer.data(),
                                inner.data(), vals.data());
  out.pruned = std::move(p);
  return out;
}

// ---------------------------------------------------------------------------------------
// One call and the output check, per weight type.

template <class W>
void product(HostView<const float> X, const W& w, HostView<float> Y) {
  lsgemm::matmul(X, w, Y);
}

// Eigen as a user would write it, as eigen_f32 does for the dense peer: Y (M×N
// row-major) is Yᵀ (N×M column-major), X (M×K row-major) is Xᵀ (K×M column-major), so
// Yᵀ = W·Xᵀ with no copies. Eigen runs the sparse × dense product one column of Xᵀ at a
// time (so W is read once per row of X), the rows of W split over OpenMP threads
// (setNbThreads).
void product(HostView<const float> X, const CsrWeight& c, HostView<float> Y) {
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
const bs::BitmapSparseMatrix& oracle_of(const CsrWeight& c) { return *c.pruned; }

// Copies for the cold rotation.
template <class W>
W copy_of(const W& w) {
  return w.clone();
}
CsrWeight copy_of(const CsrWeight& c) { return {c.w, c.pruned}; }

// The kernel paths the lsgemm call took ("" for a peer), for the label.
std::string paths_taken() {
  std::string out;
  for (int p = 0; p < int(lsgemm::Path::kCount); ++p) {
    if (!lsgemm::path_taken(lsgemm::Path(p))) continue;
    out += (out.empty() ? "" : ",") + std::string(lsgemm::path_name(lsgemm::Path(p)));
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Packed single copies, keyed by what they hold, shared by a kernel's cold and _hot rows
// and by the CSR peer built from an f32 bitmap weight. With random interleaving (as
// scripts/bench runs it) consecutive runs belong to different benchmarks, so the slot's
// rotation is rebuilt on nearly every run: the packed copy lives here, and the check
// verdicts in checked_once's map, so a rebuild is a few copies, not a re-pack (pruning
// sorts every row). Dropped wholesale past 1 GiB (the full matrix holds ~70 weights; the
// default subset stays far below the cap); a copy in use stays alive through its shared
// pointer.

struct WeightCache {
  std::map<std::string, std::shared_ptr<const void>> items;  // every weight type in one map
  int64_t total = 0;                                          // their packed bytes
};
WeightCache& weight_cache() {
  static WeightCache c;
  return c;
}

template <class W>
std::shared_ptr<const W> cached(const std::string& key, const std::function<W()>& make) {
  WeightCache& c = weight_cache();
  auto it = c.items.find(key);
  if (it != c.items.end()) return std::static_pointer_cast<const W>(it->second);
  auto w = std::make_shared<const W>(make());  // may add to the cache itself (CSR: its bitmap weight)
  const int64_t bytes = w->packed_bytes();
  if (c.total + bytes > (int64_t(1) << 30)) {
    c.items.clear();
    c.total = 0;
  }
  c.items[key] = w;
  c.total += bytes;
  return w;
}

// The options of a bitmap row: pct % pruned, values v (int8: kInt8Group columns per scale).
bs::PackOptions bitmap_options(int pct, bs::ValueType v) {
  return bs::PackOptions().with_values(v).with_group(v == bs::ValueType::kInt8 ? kInt8Group : 0).with_sparsity(
      double(pct) / 100.0);
}

std::shared_ptr<const bs::BitmapSparseMatrix> bitmap_weight(int pct, bs::ValueType v, int64_t n, int64_t k) {
  const bs::PackOptions o = bitmap_options(pct, v);
  return cached<bs::BitmapSparseMatrix>(key_of("bitmap", {pct, int64_t(o.values), o.group, n, k}), [&] {
    const AlignedBuffer<float> W = dense_weight(n, k);
    return bs::pack(lsgemm::view<const float>(W.data(), n, k), o);
  });
}

std::shared_ptr<const CsrWeight> csr_weight(int pct, int64_t n, int64_t k) {
  return cached<CsrWeight>(key_of("csr", {pct, n, k}),
                           [&] { return csr_of(bitmap_weight(pct, bs::ValueType::kF32, n, k)); });
}

std::shared_ptr<const nm::NmSparseMatrix> nm_weight(const nm::PackOptions& o, int64_t n, int64_t k) {
  return cached<nm::NmSparseMatrix>(key_of("nm", {o.nnz, o.run, int64_t(o.values), o.group, int64_t(o.act), n, k}), [&] {
    const AlignedBuffer<float> W = dense_weight(n, k);
    return nm::pack(lsgemm::view<const float>(W.data(), n, k), o);
  });
}

std::shared_ptr<const iq::QuantizedMatrix> int4_weight(iq::ActMode act, int64_t n, int64_t k) {
  return cached<iq::QuantizedMatrix>(key_of("int4_g128", {int64_t(act), n, k}), [&] {
    const AlignedBuffer<float> W = dense_weight(n, k);
    return iq::pack(lsgemm::view<const float>(W.data(), n, k),
                    iq::PackOptions().with_bits(4).with_group(128).with_act(act));
  });
}

// ---------------------------------------------------------------------------------------
// The benchmark of one weight kernel (lsgemm bitmap_sparse, nm_sparse and int_quant rows,
// the CSR peer).

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
  AlignedBuffer<float> x, y;
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

void add_args(benchmark::internal::Benchmark* b, const Matrix& mx) {
  b->ArgNames({"N", "K", "M", "T"})->UseRealTime()->Unit(benchmark::kMicrosecond);
  for (const auto& [n, k] : mx.shapes)
    for (const int64_t m : mx.tokens)
      for (const int t : kThreads) b->Args({n, k, m, t});
}

template <class W>
void reg(const Kernel<W>& kern, const Matrix& mx) {
  add_args(benchmark::RegisterBenchmark(kern.name.c_str(), [kern](benchmark::State& s) { bm_weights(s, kern); }), mx);
}

void register_all(bool full) {
  benchmark::RegisterBenchmark("BM_probe_stream_read", bm_probe_stream_read)
      ->ArgNames({"T"})
      ->Arg(1)
      ->Arg(2)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);

  // Default: every kernel on 4096², M in {1, 8, 128}; full: everything. The _hot row is
  // a decode (M = 1) question only.
  const Matrix all = full ? Matrix{kShapes, kTokens} : Matrix{{{4096, 4096}}, {1, 8, 128}};
  const Matrix hot = Matrix{kShapes, {1}};

  // The bitmap rows: f32 at every sparsity of the matrix, bf16 and int8 at 80 % (full:
  // every sparsity). A kernel multiplies the same f32 values as the reference (bf16
  // widened exactly, int8 s * q), so they differ by float summation order only: the
  // dense fp32 peers' bound, 1e-4 relative L2.
  const std::vector<int> f32_sparsities = full ? kSparsities : std::vector<int>{50, 80, 95};
  const std::vector<int> low_sparsities = full ? kSparsities : std::vector<int>{80};
  auto bitmap_kernel = [](int pct, bs::ValueType v, bool hot) {
    Kernel<bs::BitmapSparseMatrix> k;
    k.name = "BM_bitmap_" + sparsity_name(pct) + "_" + bs::value_type_name(v) +
             (v == bs::ValueType::kInt8 ? "_g" + std::to_string(kInt8Group) : std::string()) + (hot ? "_hot" : "");
    k.weight = [pct, v](int64_t n, int64_t kk) { return bitmap_weight(pct, v, n, kk); };
    k.rel_tol = 1e-4;
    k.hot = hot;
    return k;
  };
  for (const int pct : f32_sparsities) reg(bitmap_kernel(pct, bs::ValueType::kF32, false), all);
  for (const bs::ValueType v : {bs::ValueType::kBf16, bs::ValueType::kInt8})
    for (const int pct : low_sparsities) reg(bitmap_kernel(pct, v, false), all);
  if (full) reg(bitmap_kernel(80, bs::ValueType::kF32, true), hot);

  // The structured family at 50 %: nm_sparse 2:4 with f32 values, as nm_sparse_bench
  // registers it (same name, same bound).
  {
    const nm::PackOptions o = nm::PackOptions().with_pattern(2, 4).with_values(nm::ValueType::kF32);
    Kernel<nm::NmSparseMatrix> k;
    k.name = "BM_nm_2of4_f32";
    k.weight = [o](int64_t n, int64_t kk) { return nm_weight(o, n, kk); };
    k.rel_tol = 1e-4;
    reg(k, all);
  }

  // The library's dense int4 kernels (groups of 128), both activation modes; 1e-3 as in
  // int_quant_bench (int8 rounding ties and summation order).
  for (const auto& [act, name] : {std::make_pair(iq::ActMode::kFloat, "BM_int4_g128_f32act"),
                                  std::make_pair(iq::ActMode::kInt8, "BM_int4_g128_int8act")}) {
    Kernel<iq::QuantizedMatrix> k;
    k.name = name;
    k.weight = [act = act](int64_t n, int64_t kk) { return int4_weight(act, n, kk); };
    k.rel_tol = 1e-3;
    reg(k, all);
  }

  // Dense fp32 peers, on the unpruned W.
  for (auto* b : register_dense_peers()) add_args(b, all);
#if defined(LSGEMM_HAVE_ONEDNN)
  add_args(benchmark::RegisterBenchmark(
               "BM_peer_onednn_f32",
               [](benchmark::State& s) { bm_onednn<float, float, float>(s, "BM_peer_onednn_f32"); }),
           all);
#endif

  // Eigen's CSR product over the non-zeros of the f32 bitmap weight, at 80 % (full: every
  // sparsity); float sums against the double reference, as the dense peers: 1e-4.
  for (const int pct : full ? kSparsities : std::vector<int>{80}) {
    Kernel<CsrWeight> k;
    k.name = "BM_peer_eigen_sparse_" + sparsity_name(pct) + "_f32";
    k.weight = [pct](int64_t n, int64_t kk) { return csr_weight(pct, n, kk); };
    k.rel_tol = 1e-4;
    reg(k, all);
  }
}

void add_context(bool full) {
  add_machine_context();
  benchmark::AddCustomContext("bitmap_sparse_registration", full ? "full" : "default subset");
  add_openblas_context();
  add_onednn_context();
}

}  // namespace

int main(int argc, char** argv) {
  // --full is ours: take it out before Google Benchmark rejects it as unknown.
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
  add_context(full);
  std::fprintf(stderr, "lsgemm SIMD target: %s; L3 %lld bytes; cold rotation %lld bytes; %s registration\n",
               lsgemm::simd_target_name(), static_cast<long long>(l3_info().l3_bytes),
               static_cast<long long>(rotation_bytes()), full ? "full" : "default (--full for every shape)");
  benchmark::RunSpecifiedBenchmarks();
  release_prepared();
  benchmark::Shutdown();
  return 0;
}
