// Shared by the tests: the message of the llada::Error a call throws ("" when it throws none), so a
// test can check that bad input is refused with a message naming the file, field or flag.
#pragma once
#include <functional>
#include <string>

#include "core/error.h"

namespace llada::test_util {

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace llada::test_util
