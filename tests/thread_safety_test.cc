// Thread safety of the public entry points. Several threads call lsgemm::matmul,
// lsgemm::make_tables and matmul(tables, ...) at once on SHARED const packed weights,
// SHARED const tables and shared const X, each writing its own Y. Every result must equal
// the single-threaded one bit for bit, and nothing passed as const may change.
//
// Why this can break: the kernels keep per-thread scratch (thread_local buffers that only
// grow, reused across calls) and hand pointers to it to their parallel_for workers. A
// scratch buffer shared between calling threads, a worker reading its own thread's copy
// instead of the caller's, or a lazily built table written on first use would all show
// up here as wrong bits, and under ThreadSanitizer as a reported race.
//
// Threading back ends, one test each:
//   DefaultBackend     lsgemm's own (OpenMP when the build has it, else serial)
//   SpawningExecutor   set_executor: each parallel_for on the caller + 2 fresh threads
//   SharedPoolExecutor set_executor: one pool of 2 workers shared by all calling threads,
//                      so tasks of different concurrent calls interleave on one worker
// Under ThreadSanitizer (tests/tsan/CMakeLists.txt builds this file alone, without
// OpenMP) the executor tests are what make parallel_for run concurrently inside a call.
// libgomp is not built with TSan instrumentation, so its barriers and task hand-off are
// invisible to TSan and every OpenMP region would be reported as a (false) race: a TSan
// build that still has OpenMP therefore runs DefaultBackend on the spawning executor.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "lsgemm/lsgemm.hpp"

#if defined(__SANITIZE_THREAD__)
#define LSGEMM_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LSGEMM_TEST_TSAN 1
#endif
#endif
#ifndef LSGEMM_TEST_TSAN
#define LSGEMM_TEST_TSAN 0
#endif

namespace {

namespace iq = lsgemm::int_quant;
namespace lut = lsgemm::lut;

constexpr int kThreads = 4;
// Passes over all cases per thread. TSan flags unordered accesses whether or not they
// changed any bits, so fewer passes suffice there, where every call is several times slower.
#if LSGEMM_TEST_TSAN
constexpr int kIterations = 3;
#else
constexpr int kIterations = 4;
#endif

// ---------------------------------------------------------------------------------
// Executors (lsgemm::Executor: run fn(i) for i in [0, n), return when all are done).

// The caller takes indices from a shared counter together with 2 threads started for
// this call: like an OpenMP team (whose master thread works too), but on threads TSan
// sees created and joined. An exception in a task is passed to the caller.
void spawning_executor(int64_t n, const std::function<void(int64_t)>& fn) {
  constexpr int64_t kHelpers = 2;
  std::atomic<int64_t> next{0};
  std::mutex error_mu;
  std::exception_ptr error;
  auto work = [&] {
    for (int64_t i; (i = next.fetch_add(1)) < n;) {
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mu);
        if (!error) error = std::current_exception();
      }
    }
  };
  std::vector<std::thread> helpers;
  for (int64_t h = 0; h < std::min(kHelpers, n - 1); ++h) helpers.emplace_back(work);
  work();
  for (std::thread& t : helpers) t.join();
  if (error) std::rethrow_exception(error);
}

// A fixed pool shared by every calling thread, the way an application hands lsgemm the
// pool it already runs. The caller works on its own job too, so a call progresses even
// while both workers serve other callers. All job state is guarded by one mutex: tasks
// are coarse (tiles), so the lock per index costs nothing measurable here.
class SharedPool {
 public:
  explicit SharedPool(int workers) {
    for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { worker_loop(); });
  }
  ~SharedPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    work_cv_.notify_all();
    for (std::thread& t : workers_) t.join();
  }
  SharedPool(const SharedPool&) = delete;
  SharedPool& operator=(const SharedPool&) = delete;

  void run(int64_t n, const std::function<void(int64_t)>& fn) {
    if (n <= 0) return;
    Job job(n, &fn);
    std::unique_lock<std::mutex> lock(mu_);
    queue_.push_back(&job);
    work_cv_.notify_all();
    while (job.next < job.n) run_one(job, lock);
    done_cv_.wait(lock, [&] { return job.done == job.n; });
    if (job.error) std::rethrow_exception(job.error);
  }

 private:
  struct Job {
    Job(int64_t count, const std::function<void(int64_t)>* task) : n(count), fn(task) {}
    int64_t n;
    const std::function<void(int64_t)>* fn;
    int64_t next = 0;  // next index to hand out
    int64_t done = 0;  // indices finished
    std::exception_ptr error;
  };

  // Claims the next index of `job` (lock held), runs it unlocked, records it.
  void run_one(Job& job, std::unique_lock<std::mutex>& lock) {
    const int64_t i = job.next++;
    if (job.next == job.n) queue_.erase(std::find(queue_.begin(), queue_.end(), &job));
    lock.unlock();
    std::exception_ptr err;
    try {
      (*job.fn)(i);
    } catch (...) {
      err = std::current_exception();
    }
    lock.lock();
    if (err && !job.error) job.error = err;
    if (++job.done == job.n) done_cv_.notify_all();
  }

  void worker_loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      work_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stop_ and nothing left
      run_one(*queue_.front(), lock);
    }
  }

  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<Job*> queue_;  // jobs with indices left to hand out
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

// Installs an executor for one test and restores lsgemm's default back end afterwards,
// also when an assertion returns early. Only while no lsgemm call runs (parallel.hpp:
// set_executor is not synchronized with calls).
class ExecutorScope {
 public:
  explicit ExecutorScope(lsgemm::Executor e) : active_(bool(e)) {
    if (active_) lsgemm::set_executor(std::move(e));
  }
  ~ExecutorScope() {
    if (active_) lsgemm::set_executor({});
  }
  ExecutorScope(const ExecutorScope&) = delete;
  ExecutorScope& operator=(const ExecutorScope&) = delete;

 private:
  bool active_;
};

// ---------------------------------------------------------------------------------
// Shared data: weights, X, and the single-threaded results.

std::vector<float> random_normal(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = nd(rng);
  return v;
}

// FNV-1a over bytes: a fingerprint of buffers that must stay unchanged.
uint64_t fnv1a(uint64_t h, const void* data, size_t bytes) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}
constexpr uint64_t kFnvBasis = 1469598103934665603ull;

template <class T>
uint64_t fnv1a(uint64_t h, const lsgemm::AlignedBuffer<T>& b) {
  return b.size() ? fnv1a(h, b.data(), b.bytes()) : h;
}

// memcmp that accepts empty (possibly null) buffers.
bool same_bytes(const void* a, const void* b, size_t bytes) { return bytes == 0 || std::memcmp(a, b, bytes) == 0; }

template <class T>
bool same_buffer(const lsgemm::AlignedBuffer<T>& a, const lsgemm::AlignedBuffer<T>& b) {
  return a.size() == b.size() && same_bytes(a.data(), b.data(), a.bytes());
}

bool same_tables(const lut::Tables& a, const lut::Tables& b) {
  return a.m == b.m && a.spec == b.spec && same_buffer(a.lo, b.lo) && same_buffer(a.hi, b.hi) &&
         same_buffer(a.scale, b.scale) && same_buffer(a.xsum, b.xsum);
}

uint64_t tables_fingerprint(const lut::Tables& t) {
  return fnv1a(fnv1a(fnv1a(fnv1a(kFnvBasis, t.lo), t.hi), t.scale), t.xsum);
}

// Fills Y (padding between rows included) with one NaN pattern: an output a kernel fails
// to write, or a write past N into the padding, then differs from the reference bits.
void fill_sentinel(std::vector<float>& y) {
  const uint32_t bits = 0x7FC0DEADu;
  float v;
  std::memcpy(&v, &bits, sizeof v);
  std::fill(y.begin(), y.end(), v);
}

struct Weight {
  std::string name;
  int64_t n = 0, k = 0;
  bool is_lut = false;
  iq::QuantizedMatrix q;  // int_quant weights (is_lut false)
  lut::LutMatrix l;       // lut weights (is_lut true)
  std::vector<float> bias;  // empty: no bias

  bool has_outliers() const { return !is_lut && q.outlier_threshold > 0.0f; }
  lsgemm::Epilogue epilogue() const {
    lsgemm::Epilogue e;
    if (!bias.empty()) e.with_bias(bias.data());
    return e;
  }
  uint64_t fingerprint() const {
    uint64_t h = kFnvBasis;
    if (is_lut) {
      h = fnv1a(fnv1a(fnv1a(h, l.codes), l.scales), l.offsets);
    } else {
      h = fnv1a(fnv1a(fnv1a(h, q.codes), q.scales), q.zeros);
    }
    return bias.empty() ? h : fnv1a(h, bias.data(), bias.size() * sizeof(float));
  }
};

struct Case {
  const Weight* w = nullptr;
  int64_t m = 0;
  int64_t ldx = 0, ldy = 0;  // strided rows: the padding is part of what is checked
  std::vector<float> x;      // m x ldx
  std::vector<float> y;      // single-threaded matmul(X, w), m x ldy
  std::vector<float> y_ref;  // single-threaded reference::matmul(X, w)
  lut::Tables tables;        // lut: single-threaded make_tables(X, w.table_spec()), shared
  std::vector<float> y_tab;  // lut: single-threaded matmul(tables, w)

  std::string name() const {
    std::ostringstream os;
    os << w->name << " M=" << m << " N=" << w->n << " K=" << w->k << " target=" << lsgemm::simd_target_name();
    return os.str();
  }
  lsgemm::HostView<const float> X() const { return lsgemm::view<const float>(x.data(), m, w->k, ldx); }
  lsgemm::HostView<float> Y(std::vector<float>& out) const { return lsgemm::view(out.data(), m, w->n, ldy); }
};

// Columns of X set beyond the LLM.int8() threshold (6) in the outlier case: in both
// groups of 128.
constexpr int64_t kOutlierCols[] = {5, 130, 201};

struct Shared {
  std::vector<std::unique_ptr<Weight>> weights;
  std::vector<Case> cases;
};

void add_weight(Shared& s, std::unique_ptr<Weight> w, uint32_t seed) {
  for (int64_t m : {1, 3, 8, 37}) {  // GEMV (M = 1, 3) and GEMM (M = 8, 37) paths
    Case c;
    c.w = w.get();
    c.m = m;
    c.ldx = w->k + 3;
    c.ldy = w->n + 5;
    c.x = random_normal(size_t(m * c.ldx), seed++);
    if (w->has_outliers()) {
      for (int64_t r = 0; r < m; r += 2)
        for (int64_t col : kOutlierCols)
          c.x[size_t(r * c.ldx + col)] = (r % 4 == 0 ? 1.0f : -1.0f) * (6.5f + 0.5f * float(r % 3));
    }
    s.cases.push_back(std::move(c));
  }
  s.weights.push_back(std::move(w));
}

std::unique_ptr<Weight> int_quant_weight(const char* name, int64_t n, int64_t k, const iq::PackOptions& opt,
                                         uint32_t seed, bool bias) {
  auto w = std::make_unique<Weight>();
  w->name = name;
  w->n = n;
  w->k = k;
  const std::vector<float> W = random_normal(size_t(n * k), seed);
  w->q = iq::pack(lsgemm::view<const float>(W.data(), n, k), opt);
  if (bias) w->bias = random_normal(size_t(n), seed + 1);
  return w;
}

std::unique_ptr<Weight> lut_weight(const char* name, int64_t n, int64_t k, const lut::PackOptions& opt,
                                   uint32_t seed, bool bias) {
  auto w = std::make_unique<Weight>();
  w->name = name;
  w->n = n;
  w->k = k;
  w->is_lut = true;
  const std::vector<float> W = random_normal(size_t(n * k), seed);
  w->l = lut::pack(lsgemm::view<const float>(W.data(), n, k), opt);
  if (bias) w->bias = random_normal(size_t(n), seed + 1);
  return w;
}

void run_single(const Case& c, std::vector<float>& y) {
  fill_sentinel(y);
  if (c.w->is_lut) {
    lsgemm::matmul(c.X(), c.w->l, c.Y(y), c.w->epilogue());
  } else {
    lsgemm::matmul(c.X(), c.w->q, c.Y(y), c.w->epilogue());
  }
}

void run_reference(const Case& c, std::vector<float>& y) {
  fill_sentinel(y);
  if (c.w->is_lut) {
    lsgemm::reference::matmul(c.X(), c.w->l, c.Y(y), c.w->epilogue());
  } else {
    lsgemm::reference::matmul(c.X(), c.w->q, c.Y(y), c.w->epilogue());
  }
}

// Built once, from the main thread, before any test starts its threads: the weights, X,
// and every result computed single-threaded (lsgemm capped to one thread, no executor).
const Shared& shared() {
  static const Shared shared_data = [] {
    Shared s;
    // int_quant: K = 256 for groups of 128; per-channel allows K % 16 != 0 (200).
    const auto iq4 = iq::PackOptions().with_bits(4).with_group(128);
    const auto iq4_outliers = iq::PackOptions(iq4).with_act(iq::ActMode::kInt8).with_outliers(6.0f);
    const auto iq8_channel = iq::PackOptions().with_bits(8).with_group(iq::kPerChannel).with_act(iq::ActMode::kInt8);
    add_weight(s, int_quant_weight("int_quant 4-bit g128 float", 45, 256, iq4, 11, false), 100);
    add_weight(s, int_quant_weight("int_quant 4-bit g128 int8 outliers", 45, 256, iq4_outliers, 21, true), 200);
    add_weight(s, int_quant_weight("int_quant 8-bit per-channel int8", 45, 200, iq8_channel, 31, false), 300);
    // lut takes any K: 300 leaves a partial last group and X block, 100 a partial triple block.
    const auto lut2 = lut::PackOptions().with_bits(2).with_group(128);
    const auto lut2_exact = lut::PackOptions(lut2).with_tables(lut::TableMode::kExact);
    const auto lut2_fast = lut::PackOptions(lut2).with_tables(lut::TableMode::kFast);
    const auto triples = lut::PackOptions::ternary(lut::WeightKind::kTernaryTriples);
    add_weight(s, lut_weight("lut 2-bit g128 exact", 45, 300, lut2_exact, 41, false), 400);
    add_weight(s, lut_weight("lut 2-bit g128 fast", 45, 300, lut2_fast, 51, true), 500);
    add_weight(s, lut_weight("lut ternary triples", 29, 100, triples, 61, false), 600);

    lsgemm::set_num_threads(1);
    for (Case& c : s.cases) {
      const size_t ny = size_t(c.m * c.ldy);
      c.y.resize(ny);
      c.y_ref.resize(ny);
      run_single(c, c.y);
      run_reference(c, c.y_ref);
      if (c.w->is_lut) {
        c.tables = lsgemm::make_tables(c.X(), c.w->l.table_spec());
        c.y_tab.resize(ny);
        fill_sentinel(c.y_tab);
        lsgemm::matmul(c.tables, c.w->l, c.Y(c.y_tab), c.w->epilogue());
      }
    }
    lsgemm::set_num_threads(0);
    return s;
  }();
  return shared_data;
}

// The single-threaded results must be worth comparing against: finite, mostly non-zero,
// and close to the oracle (loosely: accuracy is the other tests' job; this catches a
// vacuous reference such as all zeros or an unwritten Y).
void check_references(const Shared& s) {
  for (const Case& c : s.cases) {
    if (c.w->has_outliers()) {
      ASSERT_EQ(iq::outlier_columns(c.X(), c.w->q.outlier_threshold).size(), std::size(kOutlierCols))
          << c.name() << ": X must have outlier columns";
    }
    std::vector<const std::vector<float>*> outs{&c.y};
    if (c.w->is_lut) outs.push_back(&c.y_tab);
    for (const std::vector<float>* y : outs) {
      int64_t nonzero = 0, bad = 0;
      double ref_max = 0.0, diff_max = 0.0;
      for (int64_t m = 0; m < c.m; ++m)
        for (int64_t n = 0; n < c.w->n; ++n) {
          const float v = (*y)[size_t(m * c.ldy + n)], r = c.y_ref[size_t(m * c.ldy + n)];
          if (!std::isfinite(v) || !std::isfinite(r)) ++bad;
          if (v != 0.0f) ++nonzero;
          ref_max = std::max(ref_max, double(std::fabs(r)));
          diff_max = std::max(diff_max, double(std::fabs(v - r)));
        }
      EXPECT_EQ(bad, 0) << c.name() << ": non-finite single-threaded result";
      EXPECT_GT(nonzero, c.m * c.w->n / 2) << c.name() << ": single-threaded result is mostly zero";
      EXPECT_LE(diff_max, 0.05 * ref_max) << c.name() << ": single-threaded result far from the reference";
    }
  }
}

uint64_t shared_fingerprint(const Shared& s) {
  uint64_t h = kFnvBasis;
  const auto mix = [&h](uint64_t v) { h = fnv1a(h, &v, sizeof v); };
  for (const auto& w : s.weights) mix(w->fingerprint());
  for (const Case& c : s.cases) {
    h = fnv1a(h, c.x.data(), c.x.size() * sizeof(float));
    if (c.w->is_lut) mix(tables_fingerprint(c.tables));
  }
  return h;
}

// Mismatch counters per case and kind of call.
struct Mismatches {
  explicit Mismatches(size_t cases) : matmul(cases), tables(cases), matmul_tables(cases), reference(cases) {}
  std::vector<std::atomic<int64_t>> matmul, tables, matmul_tables, reference;
};

// kThreads threads, each kIterations passes over all cases in its own order, with
// `executor` installed (empty: lsgemm's default back end).
void run_concurrently(lsgemm::Executor executor) {
  // The single-threaded results first: installing the executor would make them
  // multi-threaded.
  const Shared& s = shared();
  ASSERT_NO_FATAL_FAILURE(check_references(s));
  ExecutorScope scope(std::move(executor));
  const uint64_t before = shared_fingerprint(s);
  const size_t ncases = s.cases.size();

  Mismatches bad(ncases);
  std::atomic<int64_t> calls{0};
  std::atomic<int> ready{0};
  std::mutex error_mu;
  std::vector<std::string> errors;

  auto body = [&](int tid) {
    try {
      std::vector<size_t> order(ncases);
      std::iota(order.begin(), order.end(), size_t(0));
      std::vector<float> y;
      // Start together, so that the first calls (which grow the thread_local scratch)
      // overlap too.
      ready.fetch_add(1);
      while (ready.load() < kThreads) std::this_thread::yield();
      for (int it = 0; it < kIterations; ++it) {
        std::mt19937 rng(uint32_t(1000 * tid + it));
        std::shuffle(order.begin(), order.end(), rng);
        for (size_t ci : order) {
          const Case& c = s.cases[ci];
          y.resize(c.y.size());
          run_single(c, y);
          if (!same_bytes(y.data(), c.y.data(), y.size() * sizeof(float))) bad.matmul[ci].fetch_add(1);
          calls.fetch_add(1);
          if (c.w->is_lut) {
            const lut::Tables t = lsgemm::make_tables(c.X(), c.w->l.table_spec());
            if (!same_tables(t, c.tables)) bad.tables[ci].fetch_add(1);
            fill_sentinel(y);
            lsgemm::matmul(c.tables, c.w->l, c.Y(y), c.w->epilogue());
            if (!same_bytes(y.data(), c.y_tab.data(), y.size() * sizeof(float))) bad.matmul_tables[ci].fetch_add(1);
            calls.fetch_add(2);
          }
          // The oracle is plain serial code; once per thread is enough to see it share
          // nothing either.
          if (it == 0) {
            run_reference(c, y);
            if (!same_bytes(y.data(), c.y_ref.data(), y.size() * sizeof(float))) bad.reference[ci].fetch_add(1);
            calls.fetch_add(1);
          }
        }
      }
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(error_mu);
      errors.push_back("thread " + std::to_string(tid) + ": " + e.what());
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(body, t);
  for (std::thread& t : threads) t.join();

  EXPECT_TRUE(errors.empty()) << errors.size() << " thread(s) threw, first: " << (errors.empty() ? "" : errors[0]);
  int64_t lut_cases = 0;
  for (const Case& c : s.cases) lut_cases += c.w->is_lut;
  const int64_t expected_calls =
      int64_t(kThreads) * (int64_t(kIterations) * (int64_t(ncases) + 2 * lut_cases) + int64_t(ncases));
  EXPECT_EQ(calls.load(), expected_calls);
  for (size_t ci = 0; ci < ncases; ++ci) {
    const std::string name = s.cases[ci].name();
    EXPECT_EQ(bad.matmul[ci].load(), 0) << name << ": matmul(X, w) differs from the single-threaded bits";
    EXPECT_EQ(bad.tables[ci].load(), 0) << name << ": make_tables differs from the single-threaded build";
    EXPECT_EQ(bad.matmul_tables[ci].load(), 0) << name << ": matmul(tables, w) differs from the single-threaded bits";
    EXPECT_EQ(bad.reference[ci].load(), 0) << name << ": reference::matmul differs from its single-threaded bits";
  }
  EXPECT_EQ(shared_fingerprint(s), before) << "shared const weights, bias, X or tables were modified";
}

TEST(ThreadSafety, DefaultBackend) {
#if LSGEMM_TEST_TSAN && defined(_OPENMP)
  // See the top of the file: OpenMP regions are invisible to TSan (uninstrumented libgomp).
  run_concurrently(spawning_executor);
#else
  run_concurrently(nullptr);
#endif
}

TEST(ThreadSafety, SpawningExecutor) { run_concurrently(spawning_executor); }

TEST(ThreadSafety, SharedPoolExecutor) {
  SharedPool pool(2);
  // run_concurrently restores the default back end before the pool's workers stop.
  run_concurrently([&pool](int64_t n, const std::function<void(int64_t)>& fn) { pool.run(n, fn); });
}

}  // namespace
