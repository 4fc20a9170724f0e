// nm_sparse benchmarks: N:M structured sparse weights (2:4, 1:4, 2:8, 4:8, 1:8 with f32
// values, 2:4 with bf16 values) against the dense fp32 peers, the library's own dense
// int4 kernels and Eigen's CSR product over the same pruned weights, all in one binary
// so that every ratio comes from one run on one machine state (DESIGN.md §6).
//
//   BM_nm_<n>of<m>_<values>/N:…/K:…/M:…/T:…   Y[M×N] = X[M×K]·Wᵀ, W pruned to n:m by
//                                              magnitude (nm_sparse::pack), values f32 or
//                                              bf16; W cold unless the name ends _hot
//   BM_nm_<n>of<m>_int<b>_g128_int8act/…       int values, X quantized to int8 per group
//   BM_int4_g128_f32act / _int8act/…            int_quant W4 (groups of 128), float X or
//                                              X quantized to int8, the same rotation
//   BM_peer_eigen_f32 / BM_peer_openblas_f32    dense fp32 (unpruned W)
//   BM_peer_onednn_f32                          oneDNN f32 matmul, weights prepacked
//   BM_peer_eigen_sparse_<n>of<m>_f32/…         Eigen SparseMatrix<float, RowMajor> (CSR)
//                                              holding exactly the non-zeros of the n:m
//                                              f32 weight: Yᵀ = W·Xᵀ, no copies of X or Y
//   BM_probe_stream_read/T:…                    what a plain streaming read gets from DRAM
//
// Counters: GB/s = bytes of the weight as stored (packed values + index words; CSR
// values, column indices and row offsets; dense fp32 for the dense peers) per call /
// time; GFLOP/s = 2·M·N·K per call / time for every row, sparse ones included (the
// dense product's work, so that sparse and dense rows compare directly: a sparse row
// above the dense peers' GFLOP/s is that much faster at the same layer). The label
// holds bits per weight and, for the lsgemm rows, the kernel path(s) the call took.
// Every benchmark checks its output once, before timing: the lsgemm rows and the CSR
// peer against lsgemm::reference::matmul on the same pruned weight, the dense peers
// against a double oracle.
//
// The default registration (no flag) is a subset that runs in a few minutes: 4096×4096
// for every kernel, M in {1, 8, 128}, T in {1, 2}. `--full` (this binary's own flag,
// taken out before Google Benchmark sees the arguments) registers every shape × M × T;
// --benchmark_filter selects from either.
#include <memory>
#include <string>
#include <vector>

#include "sparse_bench_common.hpp"

#include <lsgemm/nm_sparse/format.hpp>
#include <lsgemm/nm_sparse/reference.hpp>

namespace {

using namespace lsgemm_bench;
namespace nm = lsgemm::nm_sparse;

// The sparsity patterns measured (N:M, N non-zeros kept per run of M along K).
struct Pattern {
  int nnz, run;
};
const std::vector<Pattern> kPatterns = {{2, 4}, {1, 4}, {2, 8}, {4, 8}, {1, 8}};

std::string pattern_name(int nnz, int run) { return std::to_string(nnz) + "of" + std::to_string(run); }

// ---------------------------------------------------------------------------------------
// The CSR peer's weight, built from an n:m weight (the oracle of its check).

using NmCsr = CsrWeight<nm::NmSparseMatrix>;

// Exactly the non-zeros of the n:m weight (slots that hold 0, or point into the K
// padding, are left out), in ascending column order within each row.
NmCsr csr_of(std::shared_ptr<const nm::NmSparseMatrix> p) {
  const nm::NmSparseMatrix& w = *p;
  std::vector<int> outer(size_t(w.n + 1), 0), inner;
  std::vector<float> vals;
  inner.reserve(size_t(w.n * w.slots()));
  vals.reserve(size_t(w.n * w.slots()));
  for (int64_t r = 0; r < w.n; ++r) {
    for (int64_t s = 0; s < w.slots(); ++s) {
      const int64_t c = w.column(r, s);
      const float v = w.value(r, s);
      if (c < w.k && v != 0.0f) {
        inner.push_back(int(c));
        vals.push_back(v);
      }
    }
    outer[size_t(r + 1)] = int(inner.size());
  }
  return csr_from(std::move(p), outer, inner, vals);
}

std::shared_ptr<const NmCsr> csr_weight(int nnz, int run, int64_t n, int64_t k) {
  return cached<NmCsr>(key_of("csr", {nnz, run, n, k}), [&] {
    return csr_of(nm_weight(nm::PackOptions().with_pattern(nnz, run), n, k));
  });
}

// ---------------------------------------------------------------------------------------
// Registration.

void register_all(bool full) {
  register_probe();

  // Default: every kernel on 4096², M in {1, 8, 128}; full: everything. The _hot rows
  // are a decode (M = 1) question only.
  const Matrix all = full ? Matrix{kShapes, kTokens} : Matrix{{{4096, 4096}}, {1, 8, 128}};
  const Matrix hot = full ? Matrix{kShapes, {1}} : Matrix{{{4096, 4096}}, {1}};

  // The n:m rows: every pattern with f32 values, 2:4 also with bf16, int8 and int4 (group
  // 128). A kernel multiplies the same f32 values as the reference (bf16 widened exactly,
  // ints s * q), so they differ by float summation order only: the dense fp32 peers'
  // bound, 1e-4 relative L2.
  std::vector<Kernel<nm::NmSparseMatrix>> sparse;
  auto nm_kernel = [](int nnz, int run, nm::ValueType v, bool hot, nm::ActMode act = nm::ActMode::kFloat) {
    const nm::PackOptions o = nm::PackOptions().with_pattern(nnz, run).with_values(v).with_act(act);
    Kernel<nm::NmSparseMatrix> k;
    k.name = "BM_nm_" + pattern_name(nnz, run) + "_" + nm::value_type_name(v) +
             (nm::int_values(v) ? "_g" + std::to_string(o.group) : std::string()) +
             (act == nm::ActMode::kInt8 ? "_int8act" : "") + (hot ? "_hot" : "");
    k.weight = [o](int64_t n, int64_t kk) { return nm_weight(o, n, kk); };
    k.rel_tol = 1e-4;
    k.hot = hot;
    return k;
  };
  for (const Pattern& p : kPatterns) reg(nm_kernel(p.nnz, p.run, nm::ValueType::kF32, false), all);
  reg(nm_kernel(2, 4, nm::ValueType::kBf16, false), all);
  reg(nm_kernel(2, 4, nm::ValueType::kInt8, false), all);  // sparse + quantized, f16 scales per 128
  reg(nm_kernel(2, 4, nm::ValueType::kInt4, false), all);
  // Int values with X quantized to int8 per group (the reference models the same
  // quantization, so the kernels differ from it by the per-group f32 terms' rounding).
  for (nm::ValueType v : {nm::ValueType::kInt8, nm::ValueType::kInt4})
    reg(nm_kernel(2, 4, v, false, nm::ActMode::kInt8), all);
  reg(nm_kernel(1, 4, nm::ValueType::kInt4, false, nm::ActMode::kInt8), all);
  reg(nm_kernel(2, 4, nm::ValueType::kF32, true), hot);
  reg(nm_kernel(2, 4, nm::ValueType::kBf16, true), hot);

  register_int4_rows(all);
  register_f32_peers(all);

  // Eigen's CSR product over the non-zeros of each f32 n:m weight; float sums against
  // the double reference, as the dense peers: 1e-4.
  for (const Pattern& p : kPatterns) {
    Kernel<NmCsr> k;
    k.name = "BM_peer_eigen_sparse_" + pattern_name(p.nnz, p.run) + "_f32";
    k.weight = [p](int64_t n, int64_t kk) { return csr_weight(p.nnz, p.run, n, kk); };
    k.rel_tol = 1e-4;
    reg(k, all);
  }
}

}  // namespace

int main(int argc, char** argv) { return sparse_bench_main(argc, argv, "nm_sparse_registration", register_all); }
