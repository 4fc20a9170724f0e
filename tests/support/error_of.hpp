#pragma once
// error_of(f): the message of the lsgemm::Error that f throws; a test failure (and "")
// when f throws something else or nothing.
// error_keeping_y(y, f): the same for a call that writes y, which must keep every bit
// of y (a sentinel, NaN payloads included) when it throws: a rejected call loses nothing.
// EXPECT_ERROR_MENTIONS(call, parts...), EXPECT_ERROR_KEEPING(buf, call, parts...): the
// same as expectations that the message names every one of `parts`.
#include <gtest/gtest.h>

#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "lsgemm/core/epilogue.hpp"
#include "lsgemm/core/error.hpp"
#include "lsgemm/core/matrix.hpp"

namespace lsgemm {
namespace test {

template <class F>
inline std::string error_of(F&& f) {
  try {
    f();
  } catch (const lsgemm::Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw a std::exception that is not lsgemm::Error: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no lsgemm::Error thrown";
  return "";
}

template <class F>
inline std::string error_keeping_y(const std::vector<float>& y, F&& f) {
  const std::vector<float> before = y;
  const std::string msg = error_of(f);
  for (size_t i = 0; i < y.size(); ++i)
    if (std::memcmp(&y[i], &before[i], sizeof(float)) != 0) {
      ADD_FAILURE() << "Y[" << i << "] changed from " << before[i] << " to " << y[i]
                    << " by a call that threw (" << msg << ")";
      break;  // one failure, one report
    }
  return msg;
}

// The shape, stride and null-pointer errors every family's matmul(X, w, Y, epi) must
// raise, each leaving Y bit for bit, for a packed weight w of N = 24, K = 128 and M = 5
// rows of X: x holds 5 x 256 floats (room for ld up to 2K), y 10 x 48 sentinels.
// call(X, w, Y, epi) is the entry point under test.
template <class Call, class W>
void expect_matmul_shape_errors(const Call& call, const W& w, const std::vector<float>& x, std::vector<float>& y,
                                const Epilogue& epi);

}  // namespace test
}  // namespace lsgemm

#define LSGEMM_EXPECT_MESSAGE_PARTS(msg, call, ...)                                   \
  for (const char* part_ : {__VA_ARGS__})                                             \
  EXPECT_NE((msg).find(part_), std::string::npos)                                     \
      << "message of `" #call "` does not mention \"" << part_ << "\": " << (msg)

// Expects `call` to throw lsgemm::Error whose message contains every one of the parts.
#define EXPECT_ERROR_MENTIONS(call, ...)                                        \
  do {                                                                          \
    const std::string msg_ = lsgemm::test::error_of([&] { call; });             \
    LSGEMM_EXPECT_MESSAGE_PARTS(msg_, call, __VA_ARGS__);                       \
  } while (0)

// The same for a call that writes `buf` (Y, or dequantize's output): it must throw and
// leave every bit of buf as it was (error_keeping_y).
#define EXPECT_ERROR_KEEPING(buf, call, ...)                                    \
  do {                                                                          \
    const std::string msg_ = lsgemm::test::error_keeping_y(buf, [&] { call; }); \
    LSGEMM_EXPECT_MESSAGE_PARTS(msg_, call, __VA_ARGS__);                       \
  } while (0)

template <class Call, class W>
void lsgemm::test::expect_matmul_shape_errors(const Call& call, const W& w, const std::vector<float>& x,
                                              std::vector<float>& y, const Epilogue& epi) {
  constexpr int64_t kM = 5, kN = 24, kK = 128;
  auto X = [&](int64_t m, int64_t k, int64_t ld) { return HostView<const float>(x.data(), m, k, ld); };
  auto Y = [&](int64_t m, int64_t n, int64_t ld) { return HostView<float>(y.data(), m, n, ld); };
  {  // the good call works: each bad one differs from it by one thing
    std::vector<float> yy(size_t(kM * kN), 0.0f);
    EXPECT_NO_THROW(call(X(kM, kK, kK), w, HostView<float>(yy.data(), kM, kN, kN), Epilogue()));
  }
  EXPECT_ERROR_KEEPING(y, call(X(kM, kK - 32, kK), w, Y(kM, kN, kN), epi), "X has 96 columns", "K=128");
  EXPECT_ERROR_KEEPING(y, call(X(kM, kK + 16, 2 * kK), w, Y(kM, kN, kN), epi), "X has 144 columns", "K=128");
  EXPECT_ERROR_KEEPING(y, call(X(kM, kK, kK), w, Y(kM - 1, kN, kN), epi), "Y has 4 rows but X has M=5");
  EXPECT_ERROR_KEEPING(y, call(X(kM, kK, kK), w, Y(kM + 1, kN, kN), epi), "Y has 6 rows but X has M=5");
  EXPECT_ERROR_KEEPING(y, call(X(kM, kK, kK), w, Y(kM, kN - 1, kN), epi), "Y has 23 columns", "N=24");
  EXPECT_ERROR_KEEPING(y, call(X(kM, kK, kK), w, Y(kM, kN + 8, 2 * kN), epi), "Y has 32 columns", "N=24");
  EXPECT_ERROR_KEEPING(y, call(X(kM, kK, kK - 1), w, Y(kM, kN, kN), epi), "X: leading dimension ld=127", "cols=128");
  EXPECT_ERROR_KEEPING(y, call(X(kM, kK, kK), w, Y(kM, kN, kN - 8), epi), "Y: leading dimension ld=16", "cols=24");
  EXPECT_ERROR_KEEPING(y, call(HostView<const float>(nullptr, kM, kK, kK), w, Y(kM, kN, kN), epi), "X: data is null",
                       "5x128");
  EXPECT_ERROR_KEEPING(y, call(X(kM, kK, kK), w, HostView<float>(nullptr, kM, kN, kN), epi), "Y: data is null", "5x24");
  EXPECT_ERROR_KEEPING(y, call(HostView<const float>(x.data(), -2, kK, kK), w, Y(kM, kN, kN), epi),
                       "X: rows and cols must be >= 0");
}
