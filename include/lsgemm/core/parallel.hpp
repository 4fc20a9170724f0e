#pragma once
// parallel_for over independent work items (output tiles). OpenMP when the build has
// it, else serial; a user can install an executor of their own (a thread pool they
// already run) with set_executor(), for every call, or pass a Context to one call
// (lsgemm::matmul(X, w, Y, epi, ctx)), which then takes precedence for that call on
// that thread. Work items must write disjoint outputs.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <thread>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace lsgemm {

// An executor runs fn(i) for i in [0, n), each exactly once, possibly concurrently,
// and returns when all are done.
using Executor = std::function<void(int64_t n, const std::function<void(int64_t)>& fn)>;

// Per-call threading: an executor and/or a thread cap for the calls it is passed to.
// Empty executor: the global one (set_executor) or OpenMP; threads = 0: the global cap
// (set_num_threads), else the cap for this call (with an executor: its width).
struct Context {
  Executor executor;
  int threads = 0;

  Context& with_executor(Executor e, int width = 0) {
    executor = std::move(e);
    threads = width;
    return *this;
  }
  Context& with_threads(int t) {
    threads = t < 0 ? 0 : t;
    return *this;
  }
};

namespace detail {
// The Context of the call running on this thread (set by the entry points for the
// call's duration; the kernels call parallel_for from the calling thread).
inline thread_local const Context* t_context = nullptr;

class ContextScope {
 public:
  explicit ContextScope(const Context& c) : prev_(t_context) { t_context = &c; }
  ~ContextScope() { t_context = prev_; }
  ContextScope(const ContextScope&) = delete;
  ContextScope& operator=(const ContextScope&) = delete;

 private:
  const Context* prev_;
};

inline Executor& user_executor() {
  static Executor e;  // empty: use OpenMP or serial
  return e;
}
inline int& thread_limit() {
  static int t = 0;  // 0: the runtime's default
  return t;
}
inline int& executor_width() {
  static int t = 0;  // threads the user executor runs at once (0: not said)
  return t;
}
// An executor's width as declared, or the hardware's thread count when not said (0).
inline int declared_or_hardware(int width) { return width > 0 ? width : int(std::thread::hardware_concurrency()); }
}  // namespace detail

// Replaces the threading back end for all later calls (empty restores the default).
// `threads`: how many work items the executor runs at once (its pool size), which the
// kernels use to size their tasks and max_threads() reports; 0 = not said, taken as the
// hardware's thread count. Not thread-safe with respect to concurrent matmul calls: set
// it once at start-up.
inline void set_executor(Executor e, int threads = 0) {
  detail::user_executor() = std::move(e);
  detail::executor_width() = threads < 0 ? 0 : threads;
}

// Caps the threads lsgemm uses (0 = runtime default). Also set once at start-up.
inline void set_num_threads(int t) { detail::thread_limit() = t < 0 ? 0 : t; }

// The threads a call runs on: the user executor's width when one is installed, else
// OpenMP's (1 without OpenMP), capped by set_num_threads. (With a user executor the cap
// only sizes the kernels' tasks: the executor decides where they run.)
// Inside a call with a Context, the Context's executor and cap apply (its executor's
// width is its `threads`, the hardware's thread count when 0).
inline int max_threads() {
  const Context* c = detail::t_context;
  int t = 1;
  if (c && c->executor) {
    t = detail::declared_or_hardware(c->threads);
  } else if (detail::user_executor()) {
    t = detail::declared_or_hardware(detail::executor_width());
  } else {
#if defined(_OPENMP)
    t = omp_get_max_threads();
#endif
  }
  const int cap = c && c->threads > 0 ? c->threads : detail::thread_limit();
  if (cap > 0 && cap < t) t = cap;
  return t < 1 ? 1 : t;
}

// max_threads() as a call with Context c would see it.
inline int max_threads(const Context& c) {
  detail::ContextScope scope(c);
  return max_threads();
}

template <class Fn>
void parallel_for(int64_t n, const Fn& fn) {
  if (n <= 0) return;
  const Context* c = detail::t_context;
  if (c && c->executor) {
    c->executor(n, std::function<void(int64_t)>(fn));
    return;
  }
  if (detail::user_executor()) {
    detail::user_executor()(n, std::function<void(int64_t)>(fn));
    return;
  }
#if defined(_OPENMP)
  const int threads = max_threads();
  if (threads > 1 && n > 1 && !omp_in_parallel()) {
    // Dynamic chunks of ~1/8 of a thread's share: on a loaded machine (a core taken by
    // another process) the running threads take over the work of a descheduled one
    // instead of waiting for it at the barrier, which cost 8x at M = 1 with static
    // chunks; on an idle machine the extra scheduling is a few atomics per call.
    const int64_t chunk = std::max<int64_t>(1, n / (8 * int64_t(threads)));
#pragma omp parallel for schedule(dynamic, chunk) num_threads(threads)
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
#endif
  for (int64_t i = 0; i < n; ++i) fn(i);
}

}  // namespace lsgemm
