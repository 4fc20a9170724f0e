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

#include "lsgemm/core/error.hpp"

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
