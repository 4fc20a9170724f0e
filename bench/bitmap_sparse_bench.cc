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
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "sparse_bench_common.hpp"

#include <lsgemm/bitmap_sparse/format.hpp>
#include <lsgemm/bitmap_sparse/reference.hpp>
#include <lsgemm/nm_sparse/format.hpp>
#include <lsgemm/nm_sparse/reference.hpp>

namespace {

using lsgemm::AlignedBuffer;
using namespace lsgemm_bench;
namespace bs = lsgemm::bitmap_sparse;
namespace nm = lsgemm::nm_sparse;

// Sparsities measured, in percent of each row's weights pruned: from where a bitmap
// barely beats 2:4 (50) to where most tiles hold a few values (95).
const std::vector<int> kSparsities = {50, 70, 80, 90, 95};

// Columns per int8 scale: the int4 and N:M int rows' group, so that the quantized rows
// compare at the same granularity.
constexpr int kInt8Group = 128;

std::string sparsity_name(int pct) { return "s" + std::to_string(pct); }

// ---------------------------------------------------------------------------------------
// The CSR peer's weight, built from an f32 bitmap weight (the oracle of its check).

using BitmapCsr = CsrWeight<bs::BitmapSparseMatrix>;

// Exactly the stored values of the f32 bitmap weight: the dense matrix it dequantizes
// to, its non-zeros in ascending column order within each row. Pruning stores no zero
// and f32 values are stored as they are, so every stored value is a non-zero of that
// matrix and the counts must agree (checked: a CSR product over fewer weights would not
// be the same computation).
BitmapCsr csr_of(std::shared_ptr<const bs::BitmapSparseMatrix> p) {
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
  return csr_from(std::move(p), outer, inner, vals);
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

std::shared_ptr<const BitmapCsr> csr_weight(int pct, int64_t n, int64_t k) {
  return cached<BitmapCsr>(key_of("csr", {pct, n, k}),
                           [&] { return csr_of(bitmap_weight(pct, bs::ValueType::kF32, n, k)); });
}

// ---------------------------------------------------------------------------------------
// Registration.

void register_all(bool full) {
  register_probe();

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

  register_int4_rows(all);
  register_f32_peers(all);

  // Eigen's CSR product over the non-zeros of the f32 bitmap weight, at 80 % (full: every
  // sparsity); float sums against the double reference, as the dense peers: 1e-4.
  for (const int pct : full ? kSparsities : std::vector<int>{80}) {
    Kernel<BitmapCsr> k;
    k.name = "BM_peer_eigen_sparse_" + sparsity_name(pct) + "_f32";
    k.weight = [pct](int64_t n, int64_t kk) { return csr_weight(pct, n, kk); };
    k.rel_tol = 1e-4;
    reg(k, all);
  }
}

}  // namespace

int main(int argc, char** argv) { return sparse_bench_main(argc, argv, "bitmap_sparse_registration", register_all); }
