#pragma once
// error_of(f): the message of the lsgemm::Error that f throws; a test failure (and "")
// when f throws something else or nothing.
// error_keeping_y(y, f): the same for a call that writes y, which must keep every bit
// of y (a sentinel, NaN payloads included) when it throws: a rejected call loses nothing.
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
