#pragma once
// Helpers shared by the lsgemm benchmark binaries (DESIGN.md §6):
//   - cold weights: a pool of weight copies totalling >= 5x the last-level cache, used
//     round-robin, so every call streams its weights from DRAM as each layer of a
//     decoding LLM does; a "hot" pool keeps one copy;
//   - a one-slot cache of prepared benchmark state, so that Google Benchmark's repeated
//     calls of one benchmark (iteration search, repetitions) pack and copy once, and the
//     previous benchmark's pool is freed before the next one is built;
//   - thread-count setup for lsgemm and every peer library;
//   - rate counters (GB/s of weight bytes, GFLOP/s) and an output check against an
//     oracle on at most two rows of X.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#if defined(_OPENMP)
#include <omp.h>
#endif
#if defined(LSGEMM_HAVE_OPENBLAS)
#include <cblas.h>
#endif

#include <Eigen/Core>

#include <lsgemm/lsgemm.hpp>

namespace lsgemm_bench {

// ---------------------------------------------------------------------------------------
// Cache geometry and the cold-rotation size.

// Used when sysfs does not say: 32 MiB is the L3 of one Zen 4/5 CCD and near the upper
// end of client parts, so 5x of it still defeats most caches.
inline constexpr int64_t kFallbackL3Bytes = int64_t(32) << 20;

// Parses sysfs cache sizes such as "107520K", "32M" or "1024"; returns 0 when unreadable.
inline int64_t parse_cache_size(const std::string& s) {
  if (s.empty()) return 0;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || !(v > 0)) return 0;
  int64_t mul = 1;
  if (*end == 'K' || *end == 'k') mul = int64_t(1) << 10;
  if (*end == 'M' || *end == 'm') mul = int64_t(1) << 20;
  if (*end == 'G' || *end == 'g') mul = int64_t(1) << 30;
  return int64_t(v * double(mul));
}

struct CacheInfo {
  int64_t l3_bytes = 0;
  bool from_sysfs = false;
};

inline CacheInfo l3_info() {
  static const CacheInfo info = [] {
    CacheInfo c;
    std::ifstream f("/sys/devices/system/cpu/cpu0/cache/index3/size");
    std::string s;
    if (f && (f >> s)) c.l3_bytes = parse_cache_size(s);
    // Anything under 1 MiB or over 4 GiB is not a plausible L3 (a misparse or a VM
    // reporting nonsense); the fallback is safer than a rotation that fits in cache.
    if (c.l3_bytes >= (int64_t(1) << 20) && c.l3_bytes <= (int64_t(4) << 30)) {
      c.from_sysfs = true;
    } else {
      c.l3_bytes = kFallbackL3Bytes;
    }
    return c;
  }();
  return info;
}

// Physical memory the rotation may take: half of what is available, so that the
// benchmark never pushes the machine into swap or the OOM killer (a 5x rotation of a
// large L3 times a 180 MB fp32 weight would otherwise be able to).
inline int64_t memory_budget_bytes() {
  const long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return int64_t(4) << 30;
  return int64_t(pages) * int64_t(page) / 2;
}

// Bytes of weight copies a cold benchmark rotates through: 5x L3, because with an LRU-ish
// cache a working set that large leaves (almost) nothing of a copy resident by the
// time it comes round again.
inline int64_t rotation_bytes() { return 5 * l3_info().l3_bytes; }

// Copies of a weight of `bytes_per_copy` needed for the cold rotation (1 when hot, and 1
// when one copy alone exceeds the rotation size, since it then evicts itself).
inline int64_t copies_for(int64_t bytes_per_copy, bool hot) {
  if (hot || bytes_per_copy <= 0) return 1;
  int64_t want = (rotation_bytes() + bytes_per_copy - 1) / bytes_per_copy;
  const int64_t cap = std::max<int64_t>(1, memory_budget_bytes() / bytes_per_copy);
  return std::max<int64_t>(1, std::min(want, cap));
}

// Round-robin pool of weight copies. Sized by bytes (copies_for), never by a fixed count,
// so that small int4 weights get many copies and 180 MB fp32 weights only a few.
template <class T>
class WeightPool {
 public:
  void add(T&& w) { items_.push_back(std::move(w)); }
  const T& first() const { return items_.front(); }
  T& first() { return items_.front(); }
  const T& next() {
    const T& w = items_[pos_];
    pos_ = pos_ + 1 == items_.size() ? 0 : pos_ + 1;
    return w;
  }
  T& next_mut() {
    T& w = items_[pos_];
    pos_ = pos_ + 1 == items_.size() ? 0 : pos_ + 1;
    return w;
  }
  size_t size() const { return items_.size(); }

 private:
  std::vector<T> items_;
  size_t pos_ = 0;
};

// ---------------------------------------------------------------------------------------
// One-slot cache of prepared state. Google Benchmark calls a benchmark function several
// times (to find an iteration count, then once per repetition); packing and copying a
// 700 MB pool each time would dominate the run. The slot is reset *before* the next
// state is built, so at most one pool is alive at any time.

struct Slot {
  std::string key;
  std::shared_ptr<void> value;
};
inline Slot& slot() {
  static Slot s;
  return s;
}

// Returns the state stored under `key`, building it with make() (which returns a
// std::shared_ptr<T>) when the slot holds something else.
template <class T, class Make>
std::shared_ptr<T> prepared(const std::string& key, Make&& make) {
  Slot& s = slot();
  if (s.key != key || !s.value) {
    s.value.reset();  // free the previous benchmark's pool first: peak = one pool
    s.key.clear();
    s.value = make();
    s.key = key;
  }
  return std::static_pointer_cast<T>(s.value);
}

inline void release_prepared() {
  slot().value.reset();
  slot().key.clear();
}

// ---------------------------------------------------------------------------------------
// Threads: every library keeps its own setting, so each benchmark sets all of them.

inline void set_threads(int t) {
  lsgemm::set_num_threads(t);
#if defined(_OPENMP)
  omp_set_num_threads(t);  // oneDNN (OpenMP runtime) and Eigen read this
#endif
  Eigen::setNbThreads(t);
#if defined(LSGEMM_HAVE_OPENBLAS)
  openblas_set_num_threads(t);
#endif
}

// ---------------------------------------------------------------------------------------
// Counters. Values are scaled by 1e-9 so that the JSON holds GB/s and GFLOP/s directly.

inline void set_rates(benchmark::State& state, double weight_bytes_per_call, double flops_per_call) {
  state.counters["GB/s"] = benchmark::Counter(weight_bytes_per_call * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
  if (flops_per_call > 0) {
    state.counters["GFLOP/s"] = benchmark::Counter(flops_per_call * 1e-9,
                                                   benchmark::Counter::kIsIterationInvariantRate);
  }
}

// ---------------------------------------------------------------------------------------
// Data. A bounded, roughly Gaussian generator: the sum of four uniforms (Irwin-Hall),
// scaled to unit variance. Bounded at ±2√3 ≈ ±3.46 so that no ordinary activation
// crosses an outlier threshold of 6 by chance (which would make the outlier set depend
// on which rows are checked), and fast enough for 45 M-element weights.

inline uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

inline void fill_gaussianish(float* p, size_t n, uint64_t seed, float stddev) {
  // Four 16-bit uniforms per 64-bit draw; their sum has mean 2·65535/2 and variance
  // 4·(65536²/12), so (sum - mean) / (65536·sqrt(1/3)) has unit variance.
  const float mean = 2.0f * 65535.0f;
  const float inv = stddev / (65536.0f * std::sqrt(1.0f / 3.0f));
  uint64_t s = seed;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t r = splitmix64(s);
    const float sum = float(r & 0xFFFF) + float((r >> 16) & 0xFFFF) + float((r >> 32) & 0xFFFF) +
                      float(r >> 48);
    p[i] = (sum - mean) * inv;
  }
}

// Every binary draws the same weights and activations, so a peer's row in one table is
// the same computation as in another. Seeds: weights and activations differ, and stay
// the same across runs. LLM weights are small (std ≈ 0.02–0.05); activations near unit
// scale.
inline constexpr uint64_t kSeedW = 0x5EED0001, kSeedX = 0x5EED0002;
inline constexpr float kWeightStd = 0.05f;

// The dense weight W (N×K row-major) of one shape, as every kernel packs it.
inline lsgemm::AlignedBuffer<float> dense_weight(int64_t n, int64_t k) {
  lsgemm::AlignedBuffer<float> W(size_t(n * k));
  fill_gaussianish(W.data(), W.size(), kSeedW, kWeightStd);
  return W;
}

// Activations X (M×K row-major); the seed depends on M so that each M gets its own X.
inline void fill_activations(float* x, int64_t M, int64_t K) {
  fill_gaussianish(x, size_t(M * K), kSeedX ^ uint64_t(M), 1.0f);
}

// Arguments of the matrix-product benchmarks: BM_x/N:…/K:…/M:…/T:….
struct Dims {
  int64_t n, k, m;
  int t;
};
inline Dims dims_of(const benchmark::State& s) { return {s.range(0), s.range(1), s.range(2), int(s.range(3))}; }

// ---------------------------------------------------------------------------------------
// Output check. `oracle(r, out)` writes the expected row r (N values) of Y into `out`;
// the helper compares rows 0 and M-1 (the reference is a slow scalar loop, so never
// more than two rows) by relative L2 error and fails the benchmark on a mismatch. The
// message also goes to *why, so a caller can repeat it on later runs of the benchmark
// (Google Benchmark reports every repetition, and each should say what went wrong).

inline bool check_rows(benchmark::State& state, const char* what, const float* Y, int64_t M,
                       int64_t N, int64_t ldy, double rel_tol,
                       const std::function<void(int64_t, float*)>& oracle, std::string* why = nullptr) {
  std::vector<float> ref(size_t(N), 0.0f);
  std::vector<int64_t> rows = {0};
  if (M > 1) rows.push_back(M - 1);
  for (const int64_t r : rows) {
    oracle(r, ref.data());
    const float* y = Y + r * ldy;
    double err2 = 0.0, ref2 = 0.0, worst = -1.0;
    int64_t worst_at = 0;
    bool finite = true;
    for (int64_t n = 0; n < N; ++n) {
      if (!std::isfinite(y[n])) finite = false;
      const double d = double(y[n]) - double(ref[size_t(n)]);
      err2 += d * d;
      ref2 += double(ref[size_t(n)]) * double(ref[size_t(n)]);
      if (std::fabs(d) > worst) {
        worst = std::fabs(d);
        worst_at = n;
      }
    }
    const double rel = std::sqrt(err2) / std::max(std::sqrt(ref2), 1e-30);
    if (!finite || !(rel <= rel_tol)) {
      std::ostringstream msg;
      msg << what << ": output row " << r << " differs from the oracle: relative L2 error "
          << rel << " > " << rel_tol << (finite ? "" : " (non-finite values)") << "; worst at n="
          << worst_at << ": got " << y[worst_at] << ", want " << ref[size_t(worst_at)];
      state.SkipWithError(msg.str().c_str());
      if (why) *why = msg.str();
      return false;
    }
  }
  return true;
}

// Checks rows of a lsgemm result (any host weight type) against lsgemm::reference::matmul
// run on the matching one-row sub-view of X.
template <class Weights>
bool check_against_reference(benchmark::State& state, const char* what, lsgemm::HostView<const float> X,
                             const Weights& w, const float* Y, int64_t ldy, double rel_tol,
                             std::string* why = nullptr) {
  return check_rows(
      state, what, Y, X.rows, w.n, ldy, rel_tol,
      [&](int64_t r, float* out) {
        lsgemm::reference::matmul(lsgemm::view<const float>(X.row(r), 1, X.cols), w,
                                  lsgemm::view<float>(out, 1, w.n));
      },
      why);
}

// Dense oracle for the fp32 peers: y[r][n] = sum_k X[r][k]·W[n][k] in double.
inline bool check_dense_f32(benchmark::State& state, const char* what, const float* X,
                            const float* W, const float* Y, int64_t M, int64_t N, int64_t K,
                            double rel_tol, std::string* why = nullptr) {
  return check_rows(
      state, what, Y, M, N, N, rel_tol,
      [&](int64_t r, float* out) {
        const float* x = X + r * K;
        for (int64_t n = 0; n < N; ++n) {
          const float* w = W + n * K;
          double s = 0.0;
          for (int64_t k = 0; k < K; ++k) s += double(x[k]) * double(w[k]);
          out[n] = float(s);
        }
      },
      why);
}

// Exception-safe wrapper: a kernel or packer that throws (an option a kernel in progress
// does not support yet) becomes a skipped benchmark with the message, not an abort.
template <class Fn>
bool guarded(benchmark::State& state, const char* what, Fn&& fn, std::string* why = nullptr) {
  try {
    fn();
    return true;
  } catch (const std::exception& e) {
    const std::string msg = std::string(what) + ": " + e.what();
    state.SkipWithError(msg.c_str());
    if (why) *why = msg;
    return false;
  }
}

// Verdicts of the one-time output checks, by benchmark name and arguments ("" = passed).
// Process-wide rather than in the prepared state: with random interleaving the slot is
// rebuilt on nearly every run, and the check need not be.
inline std::map<std::string, std::string>& verdicts() {
  static std::map<std::string, std::string> v;
  return v;
}

// Runs check() once per key; repeats a failure's message on later runs (every
// repetition should say what went wrong). Returns true when the benchmark may be timed.
inline bool checked_once(benchmark::State& state, const std::string& key,
                         const std::function<bool(std::string*)>& check) {
  auto it = verdicts().find(key);
  if (it == verdicts().end()) {
    std::string why;
    const bool ok = check(&why);
    if (!ok && why.empty()) why = key + ": check failed";
    verdicts()[key] = ok ? "" : why;
    if (!ok && !state.error_occurred()) state.SkipWithError(why.c_str());
    return ok;
  }
  if (!it->second.empty()) {
    state.SkipWithError(it->second.c_str());
    return false;
  }
  return true;
}

// Context every binary's JSON carries: the SIMD target lsgemm dispatched to and what
// the cold rotation was sized from.
inline void add_machine_context() {
  const CacheInfo l3 = l3_info();
  benchmark::AddCustomContext("lsgemm_simd_target", lsgemm::simd_target_name());
  benchmark::AddCustomContext("l3_bytes", std::to_string(l3.l3_bytes) +
                                              (l3.from_sysfs ? " (sysfs)" : " (fallback: sysfs unreadable)"));
  benchmark::AddCustomContext("cold_rotation_bytes", std::to_string(rotation_bytes()) + " (5x L3)");
  benchmark::AddCustomContext("rotation_memory_cap_bytes", std::to_string(memory_budget_bytes()));
}

// "BM_x" + "/N:…/K:…" style key for the prepared-state slot.
inline std::string key_of(const std::string& kernel, std::initializer_list<int64_t> parts) {
  std::string k = kernel;
  for (const int64_t p : parts) k += "/" + std::to_string(p);
  return k;
}

}  // namespace lsgemm_bench
