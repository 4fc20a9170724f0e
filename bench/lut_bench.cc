// lut benchmarks: lsgemm's table-lookup kernels for 1-4-bit and ternary weights
// against the library's own int4 GEMV and dense fp32 peers, all in one binary so that
// every ratio comes from one run on one machine state (DESIGN.md §6).
//
//   BM_lut_<kind>_<tables>/N:…/K:…/M:…/T:…   Y[M×N] = X[M×K]·Wᵀ, tables built from X in
//                                            the call, W cold unless the name ends _hot
//       kinds: u1..u4_g128 (uniform asymmetric, groups of 128), tern_planes (2 bpw),
//              tern_triples (1.67 bpw), both ternary with one scale per tensor (BitNet);
//       tables: exact (int8 X, int16 entries) or fast (int8 entries)
//   BM_lut_<…>_prebuilt/…      the product alone: tables built once, outside the timing,
//                              and used for every weight of the rotation
//   BM_lut_<…>_shared3/…       one table build per call shared by three weights (the
//                              Q/K/V or gate/up projections of one X); bytes and flops of
//                              all three
//   BM_lut_make_tables_<layout>_<tables>/K:…/M:…/T:…   the table build alone
//   BM_int4_g128_int8act/…     int_quant W4A8 (the library's 4-bit kernel), same rotation
//                              (BM_int4_g64_int8act where 128 does not divide K)
//   BM_peer_eigen_f32/…, BM_peer_openblas_f32/…   dense fp32
//   BM_probe_stream_read/T:…   what a plain streaming read gets from DRAM right now
//
// Counters: GB/s = bytes of the packed (or dense) weight per call / time — what a GEMV
// is bound by; GFLOP/s = 2·M·N·K per call / time. The label holds bits per weight.
// Every benchmark checks its output once, before timing, against an oracle.
//
// The default registration (no flag) is a subset that runs in a few minutes: 4096×4096
// for every kernel, BitNet's 3200×8640 for the ternary kernels and the peers, M in
// {1, 8, 128}. `--full` (this binary's own flag, taken out before Google Benchmark sees
// the arguments) registers every shape × M × T; --benchmark_filter selects from either.
#include <cstring>
#include <map>
#include <set>

#include "peers.hpp"

#include <lsgemm/lut/format.hpp>
#include <lsgemm/lut/reference.hpp>

namespace {

using lsgemm::AlignedBuffer;
using namespace lsgemm_bench;
namespace lut = lsgemm::lut;
namespace iq = lsgemm::int_quant;

using Shape = std::pair<int64_t, int64_t>;  // N × K
// LLaMA-7B's layers (attention 4096², MLP up 11008×4096, down 4096×11008) and BitNet
// b1.58 3B's (FFN down 3200×8640, up 8640×3200, attention 3200²), as the peers measured
// them (research/lut.md §7).
const std::vector<Shape> kLlamaShapes = {{4096, 4096}, {11008, 4096}, {4096, 11008}};
const std::vector<Shape> kBitnetShapes = {{3200, 8640}, {8640, 3200}, {3200, 3200}};
const std::vector<int64_t> kAllTokens = {1, 8, 32, 128, 512};
const std::vector<int> kThreads = {1, 2};

// ---------------------------------------------------------------------------------------
// State kept across the rebuilds of the one-slot pool. With random interleaving (as
// scripts/bench runs it) consecutive runs belong to different benchmarks, so the slot's
// rotation is rebuilt on nearly every run; the packed weight (one copy) lives here
// instead, and the check verdicts in checked_once's map, so a rebuild is a few clones,
// not a re-pack and re-check.

// Packed single copies, keyed by kernel and shape; dropped wholesale past 1 GiB (the
// full matrix packs ~100 weights; the default subset stays far below the cap).
template <class W>
std::shared_ptr<const W> packed_master(const std::string& key, const std::function<W()>& make) {
  static std::map<std::string, std::shared_ptr<const W>> cache;
  static int64_t total = 0;
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  auto w = std::make_shared<const W>(make());
  if (total + w->packed_bytes() > (int64_t(1) << 30)) {
    cache.clear();
    total = 0;
  }
  cache[key] = w;
  total += w->packed_bytes();
  return w;
}

// ---------------------------------------------------------------------------------------
// The LUT output check. The oracle (lut/reference.hpp) is a scalar loop that decodes
// every code one at a time, about a second per row of X for a 4096² weight, so the check
// covers rows 0 and M-1 of Y and, in each, a sample of outputs: all of the first and the
// last row tile (the last one holds N's padding when N % 16 != 0) and 48 spread across
// the rest. Each sampled output is the reference's formula, in double:
//   y[m][n] = sum_b S(n, g(b)) * scale_b * block_sum(m, n, b) + C(n, g(b)) * xsum_b
// over tables built by make_tables_reference from that row of X alone.

std::vector<int64_t> sample_columns(int64_t n) {
  std::set<int64_t> s;
  for (int64_t i = 0; i < std::min<int64_t>(n, lut::kTileRows); ++i) s.insert(i);
  for (int64_t i = (n - 1) / lut::kTileRows * lut::kTileRows; i < n; ++i) s.insert(i);
  for (int64_t i = 0; i < 48; ++i) s.insert(i * (n - 1) / 47);
  return {s.begin(), s.end()};
}

double lut_oracle(const lut::Tables& t, const lut::LutMatrix& w, int64_t n) {
  const int64_t B = t.spec.blocks();
  double y = 0.0;
  for (int64_t b = 0; b < B; ++b) {
    float S, C;
    w.group_consts(n, b * t.spec.block / w.group, S, C);
    y += double(S) * double(t.scale[size_t(b)]) * double(lut::block_sum(t, w, 0, n, b)) +
         double(C) * double(t.xsum[size_t(b)]);
  }
  return y;
}

// Relative L2 error over the sampled outputs of rows 0 and M-1. Exact-table kernels
// differ from the oracle by float summation order (~1e-6); fast tables are bit-identical
// by definition, so the same bound holds. A wrong scale, offset, block or sign gives
// > 1e-2.
bool check_lut(const char* what, const float* X, int64_t M, int64_t K, const lut::LutMatrix& w, const float* Y,
               double rel_tol, std::string* why) {
  const std::vector<int64_t> cols = sample_columns(w.n);
  std::vector<int64_t> rows = {0};
  if (M > 1) rows.push_back(M - 1);
  for (const int64_t r : rows) {
    const lut::Tables t = lut::make_tables_reference(lsgemm::view<const float>(X + r * K, 1, K), w.table_spec());
    double err2 = 0.0, ref2 = 0.0, worst = -1.0, got_w = 0.0, want_w = 0.0;
    int64_t worst_at = 0;
    bool finite = true;
    for (const int64_t n : cols) {
      const double want = lut_oracle(t, w, n), got = Y[r * w.n + n];
      if (!std::isfinite(got)) finite = false;
      err2 += (got - want) * (got - want);
      ref2 += want * want;
      if (std::fabs(got - want) > worst) {
        worst = std::fabs(got - want);
        worst_at = n;
        got_w = got;
        want_w = want;
      }
    }
    const double rel = std::sqrt(err2) / std::max(std::sqrt(ref2), 1e-30);
    if (!finite || !(rel <= rel_tol)) {
      std::ostringstream msg;
      msg << what << ": row " << r << " of Y differs from the lut reference on " << cols.size()
          << " sampled outputs: relative L2 error " << rel << " > " << rel_tol
          << (finite ? "" : " (non-finite values)") << "; worst at n=" << worst_at << ": got " << got_w
          << ", want " << want_w;
      *why = msg.str();
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// lsgemm lut kernels.

enum class LutCall {
  kPlain,     // matmul(X, w, Y): table build + product, every call
  kPrebuilt,  // matmul(tables, w, Y) with tables built before the timing
  kShared3,   // per call: make_tables once, then three weights
};

struct LutKernel {
  std::string name;
  lut::PackOptions opt;
  bool hot = false;
  LutCall call = LutCall::kPlain;
};

struct LutState {
  std::string error;
  WeightPool<lut::LutMatrix> pool;
  int64_t bytes = 0;
  double bpw = 0.0;
  int64_t m = -1;
  AlignedBuffer<float> x, y;
  lut::Tables tables;  // kPrebuilt: built from x
};

// Name of the packed weight a kernel uses (its _hot, _prebuilt and _shared3 variants
// share it).
std::string pack_key(const lut::PackOptions& o, int64_t n, int64_t k) {
  return key_of("lut", {int64_t(o.kind), o.bits, o.group, o.symmetric, int64_t(o.tables), n, k});
}

void bm_lut(benchmark::State& state, const LutKernel& kern) {
  const Dims d = dims_of(state);
  set_threads(d.t);
  auto st = prepared<LutState>(key_of(kern.name, {d.n, d.k}), [&] {
    auto s = std::make_shared<LutState>();
    try {
      auto master = packed_master<lut::LutMatrix>(pack_key(kern.opt, d.n, d.k), [&] {
        const AlignedBuffer<float> W = dense_weight(d.n, d.k);
        return lut::pack(lsgemm::view<const float>(W.data(), d.n, d.k), kern.opt);
      });
      s->bytes = master->packed_bytes();
      s->bpw = master->bits_per_weight();
      const int64_t copies = copies_for(s->bytes, kern.hot);
      for (int64_t i = 0; i < copies; ++i) s->pool.add(master->clone());
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
    st->tables = lut::Tables();
    st->m = d.m;
  }
  const auto X = lsgemm::view<const float>(st->x.data(), d.m, d.k);
  const auto Y = lsgemm::view<float>(st->y.data(), d.m, d.n);
  const lut::LutMatrix& w0 = st->pool.first();
  if (kern.call == LutCall::kPrebuilt && st->tables.m != d.m) {
    if (!guarded(state, kern.name.c_str(), [&] { st->tables = lsgemm::make_tables(X, w0.table_spec()); })) return;
  }

  // Once per (kernel, shape, M, T), on the first copy, before any timing.
  const std::string ck = key_of(kern.name, {d.n, d.k, d.m, d.t});
  const bool ok = checked_once(state, ck, [&](std::string* why) {
    std::fill(st->y.data(), st->y.data() + st->y.size(), std::nanf(""));
    if (!guarded(state, kern.name.c_str(), [&] {
          if (kern.call == LutCall::kPrebuilt) {
            lsgemm::matmul(st->tables, w0, Y);
          } else if (kern.call == LutCall::kShared3) {
            lsgemm::matmul(lsgemm::make_tables(X, w0.table_spec()), w0, Y);
          } else {
            lsgemm::matmul(X, w0, Y);
          }
        }, why))
      return false;
    return check_lut(kern.name.c_str(), st->x.data(), d.m, d.k, w0, st->y.data(), 1e-3, why);
  });
  if (!ok) return;

  const lut::TableSpec spec = w0.table_spec();
  switch (kern.call) {
    case LutCall::kPlain:
      for (auto _ : state) {
        lsgemm::matmul(X, st->pool.next(), Y);
        benchmark::ClobberMemory();
      }
      break;
    case LutCall::kPrebuilt:
      for (auto _ : state) {
        lsgemm::matmul(st->tables, st->pool.next(), Y);
        benchmark::ClobberMemory();
      }
      break;
    case LutCall::kShared3:
      for (auto _ : state) {
        const lut::Tables t = lsgemm::make_tables(X, spec);
        lsgemm::matmul(t, st->pool.next(), Y);
        lsgemm::matmul(t, st->pool.next(), Y);
        lsgemm::matmul(t, st->pool.next(), Y);
        benchmark::ClobberMemory();
      }
      break;
  }
  const double calls = kern.call == LutCall::kShared3 ? 3.0 : 1.0;
  set_rates(state, calls * double(st->bytes), calls * 2.0 * double(d.m) * double(d.n) * double(d.k));
  char label[32];
  std::snprintf(label, sizeof label, "bpw=%.3f", st->bpw);
  state.SetLabel(label);
}

// ---------------------------------------------------------------------------------------
// The table build alone: X (M×K) -> tables for a weight of the given layout. Checked
// once against make_tables_reference: lo, hi and scale bit-identical (format.hpp's
// contract), xsum up to float summation order.

struct TablesKernel {
  std::string name;
  lut::PackOptions opt;  // only the layout and the table mode matter
};

struct TablesState {
  lut::TableSpec spec;
  AlignedBuffer<float> x;
};

bool same_tables(const lut::Tables& a, const lut::Tables& b, std::string* why) {
  auto bytes_equal = [](const auto& p, const auto& q) {
    return p.size() == q.size() && (p.size() == 0 || std::memcmp(p.data(), q.data(), p.bytes()) == 0);
  };
  if (a.m != b.m || a.spec != b.spec) {
    *why = "make_tables: shape or spec differs from the reference";
    return false;
  }
  if (!bytes_equal(a.lo, b.lo) || !bytes_equal(a.hi, b.hi) || !bytes_equal(a.scale, b.scale)) {
    *why = "make_tables: table entries or scales differ from make_tables_reference";
    return false;
  }
  for (size_t i = 0; i < a.xsum.size(); ++i) {
    const double d = std::fabs(double(a.xsum[i]) - double(b.xsum[i]));
    if (!(d <= 1e-4 * (1.0 + std::fabs(double(b.xsum[i]))))) {
      *why = "make_tables: xsum[" + std::to_string(i) + "] = " + std::to_string(a.xsum[i]) + ", reference " +
             std::to_string(b.xsum[i]);
      return false;
    }
  }
  return true;
}

void bm_make_tables(benchmark::State& state, const TablesKernel& kern) {
  const int64_t k = state.range(0), m = state.range(1);
  const int t = int(state.range(2));
  set_threads(t);
  auto st = prepared<TablesState>(key_of(kern.name, {k, m}), [&] {
    auto s = std::make_shared<TablesState>();
    // The spec of a weight with this K and layout: a one-tile weight is enough.
    AlignedBuffer<float> W(size_t(lut::kTileRows * k));
    fill_gaussianish(W.data(), W.size(), kSeedW, kWeightStd);
    s->spec = lut::pack(lsgemm::view<const float>(W.data(), lut::kTileRows, k), kern.opt).table_spec();
    s->x.resize(size_t(m * k));
    fill_activations(s->x.data(), m, k);
    return s;
  });
  const auto X = lsgemm::view<const float>(st->x.data(), m, k);
  const bool ok = checked_once(state, key_of(kern.name, {k, m, t}), [&](std::string* why) {
    lut::Tables got;
    if (!guarded(state, kern.name.c_str(), [&] { got = lsgemm::make_tables(X, st->spec); }, why)) return false;
    return same_tables(got, lut::make_tables_reference(X, st->spec), why);
  });
  if (!ok) return;
  for (auto _ : state) {
    lut::Tables tb = lsgemm::make_tables(X, st->spec);
    benchmark::DoNotOptimize(tb.lo.data());
    benchmark::ClobberMemory();
  }
  // Bytes of tables written per call (entries and per-block scales), as a rate.
  const double bytes = double(m) * double(st->spec.row_bytes()) * (st->spec.mode == lut::TableMode::kExact ? 2 : 1) +
                       double(m) * double(st->spec.blocks()) * 8.0;
  state.counters["table_GB/s"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel("table bytes=" + std::to_string(int64_t(bytes)));
}

// ---------------------------------------------------------------------------------------
// int_quant W4A8 (4-bit codes, int8 activations): the library's own 4-bit GEMV, the
// comparison for the LUT kernels' bit-width scaling. As in int_quant_bench, with groups
// of 128; int_quant needs the group to divide K, so K = 8640 (BitNet's FFN down) takes
// groups of 64 (BM_int4_g64_int8act).

struct IntQuantState {
  std::string error;
  WeightPool<iq::QuantizedMatrix> pool;
  int64_t bytes = 0;
  int64_t m = -1;
  AlignedBuffer<float> x, y;
};

void bm_int4(benchmark::State& state, const std::string& name, int group) {
  const Dims d = dims_of(state);
  set_threads(d.t);
  const auto opt = iq::PackOptions().with_bits(4).with_group(group).with_act(iq::ActMode::kInt8);
  auto st = prepared<IntQuantState>(key_of(name, {d.n, d.k}), [&] {
    auto s = std::make_shared<IntQuantState>();
    try {
      auto master = packed_master<iq::QuantizedMatrix>(key_of(name, {d.n, d.k}), [&] {
        const AlignedBuffer<float> W = dense_weight(d.n, d.k);
        return iq::pack(lsgemm::view<const float>(W.data(), d.n, d.k), opt);
      });
      s->bytes = master->packed_bytes();
      const int64_t copies = copies_for(s->bytes, false);
      for (int64_t i = 0; i < copies; ++i) s->pool.add(master->clone());
    } catch (const std::exception& e) {
      s->error = name + ": pack failed: " + e.what();
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
  const bool ok = checked_once(state, key_of(name, {d.n, d.k, d.m, d.t}), [&](std::string* why) {
    return guarded(state, name.c_str(), [&] { lsgemm::matmul(X, st->pool.first(), Y); }, why) &&
           check_against_reference(state, name.c_str(), X, st->pool.first(), Y.data, d.n, 1e-3, why);
  });
  if (!ok) return;
  for (auto _ : state) {
    lsgemm::matmul(X, st->pool.next(), Y);
    benchmark::ClobberMemory();
  }
  set_rates(state, double(st->bytes), 2.0 * double(d.m) * double(d.n) * double(d.k));
  char label[32];
  std::snprintf(label, sizeof label, "bpw=%.3f", 8.0 * double(st->bytes) / double(d.n * d.k));
  state.SetLabel(label);
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

std::vector<Shape> concat(std::vector<Shape> a, const std::vector<Shape>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

void register_all(bool full) {
  benchmark::RegisterBenchmark("BM_probe_stream_read", bm_probe_stream_read)
      ->ArgNames({"T"})
      ->Arg(1)
      ->Arg(2)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);

  const std::vector<Shape> all = concat(kLlamaShapes, kBitnetShapes);
  const std::vector<Shape> sq = {{4096, 4096}};
  const std::vector<Shape> sq_bitnet = {{4096, 4096}, {3200, 8640}};
  const std::vector<int64_t> few = {1, 8, 128};
  // Default: every kernel on 4096², the ternary ones and the peers also on BitNet's FFN
  // down-projection; full: everything.
  const Matrix uniform = full ? Matrix{all, kAllTokens} : Matrix{sq, few};
  const Matrix ternary = full ? Matrix{all, kAllTokens} : Matrix{sq_bitnet, few};
  const Matrix peers = full ? Matrix{all, kAllTokens} : Matrix{sq_bitnet, few};
  const Matrix hot = full ? Matrix{all, {1}} : Matrix{sq, {1}};  // decode only
  const Matrix prebuilt = full ? Matrix{all, {1, 8, 32}} : Matrix{sq_bitnet, {1, 8}};

  std::vector<std::pair<LutKernel, bool>> kernels;  // (kernel, ternary)
  for (const lut::TableMode mode : {lut::TableMode::kExact, lut::TableMode::kFast}) {
    const std::string suffix = std::string("_") + lut::table_mode_name(mode);
    for (int bits = 1; bits <= 4; ++bits) {
      LutKernel k;
      k.name = "BM_lut_u" + std::to_string(bits) + "_g128" + suffix;
      k.opt = lut::PackOptions().with_kind(lut::WeightKind::kUniform).with_bits(bits).with_group(128)
                  .with_symmetric(false).with_tables(mode);
      kernels.push_back({k, false});
    }
    for (const auto& [layout, lname] : {std::make_pair(lut::WeightKind::kTernaryPlanes, "planes"),
                                        std::make_pair(lut::WeightKind::kTernaryTriples, "triples")}) {
      LutKernel k;
      k.name = std::string("BM_lut_tern_") + lname + suffix;
      k.opt = lut::PackOptions::ternary(layout, lut::kPerTensor).with_tables(mode);
      kernels.push_back({k, true});
    }
  }
  auto reg = [](const LutKernel& k, const Matrix& mx) {
    add_args(benchmark::RegisterBenchmark(k.name.c_str(), [k](benchmark::State& s) { bm_lut(s, k); }), mx);
  };
  for (const auto& [k, tern] : kernels) reg(k, tern ? ternary : uniform);
  for (auto [k, tern] : kernels) {
    k.name += "_hot";
    k.hot = true;
    reg(k, hot);
  }
  // The table build taken out of the call (prebuilt) and shared by three weights, for
  // the 2-bit uniform and the ternary triples kernels.
  for (const auto& [k, tern] : kernels) {
    if (k.opt.tables != lut::TableMode::kExact) continue;
    if (!(k.name == "BM_lut_u2_g128_exact" || k.name == "BM_lut_tern_triples_exact") && !full) continue;
    for (const LutCall call : {LutCall::kPrebuilt, LutCall::kShared3}) {
      LutKernel v = k;
      v.call = call;
      v.name += call == LutCall::kPrebuilt ? "_prebuilt" : "_shared3";
      reg(v, tern ? prebuilt : Matrix{full ? all : sq, prebuilt.tokens});
    }
  }

  // Table build alone: M = 1 (decode) at K = 4096 (LLaMA) and 8640 (BitNet FFN down).
  const std::vector<int64_t> tk = full ? std::vector<int64_t>{3200, 4096, 8640, 11008} : std::vector<int64_t>{4096, 8640};
  const std::vector<int64_t> tm = full ? std::vector<int64_t>{1, 8, 128} : std::vector<int64_t>{1};
  for (const lut::TableMode mode : {lut::TableMode::kExact, lut::TableMode::kFast}) {
    for (const auto& [layout, lname] : {std::make_pair(lut::WeightKind::kTernaryPlanes, "planes"),
                                        std::make_pair(lut::WeightKind::kTernaryTriples, "triples")}) {
      TablesKernel tk_;
      tk_.name = std::string("BM_lut_make_tables_") + lname + "_" + lut::table_mode_name(mode);
      tk_.opt = lut::PackOptions::ternary(layout, lut::kPerTensor).with_tables(mode);
      auto* b = benchmark::RegisterBenchmark(tk_.name.c_str(), [tk_](benchmark::State& s) { bm_make_tables(s, tk_); });
      b->ArgNames({"K", "M", "T"})->UseRealTime()->Unit(benchmark::kMicrosecond);
      for (const int64_t k : tk)
        for (const int64_t m : tm)
          for (const int t : kThreads) b->Args({k, m, t});
    }
  }

  Matrix g128 = peers, g64 = peers;
  g128.shapes.clear();
  g64.shapes.clear();
  for (const Shape& sh : peers.shapes) (sh.second % 128 == 0 ? g128 : g64).shapes.push_back(sh);
  add_args(benchmark::RegisterBenchmark("BM_int4_g128_int8act",
                                        [](benchmark::State& s) { bm_int4(s, "BM_int4_g128_int8act", 128); }),
           g128);
  if (!g64.shapes.empty())
    add_args(benchmark::RegisterBenchmark("BM_int4_g64_int8act",
                                          [](benchmark::State& s) { bm_int4(s, "BM_int4_g64_int8act", 64); }),
             g64);
  for (auto* b : register_dense_peers()) add_args(b, peers);
}

void add_context(bool full) {
  add_machine_context();
  benchmark::AddCustomContext("lut_registration", full ? "full" : "default subset");
  add_openblas_context();
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
