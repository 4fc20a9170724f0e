#pragma once
// error_of(f): the message of the lsgemm::Error that f throws; a test failure (and "")
// when f throws something else or nothing.
#include <gtest/gtest.h>

#include <exception>
#include <string>

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

}  // namespace test
}  // namespace lsgemm
