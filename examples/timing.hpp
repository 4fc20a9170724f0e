#pragma once
// Timing for the examples (printed, never checked: the machine may be shared).
#include <algorithm>
#include <chrono>

namespace examples {

// Best time of `reps` calls in microseconds, after one warm-up call. The minimum is
// the least disturbed by other work on the machine.
template <class F>
double time_us(int reps, F&& f) {
  f();
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  return best;
}

}  // namespace examples
