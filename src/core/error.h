// Errors: every failure the user can cause is an llada::Error whose message names the file, field,
// tensor or flag at fault, with what was expected and what was found. The CLI prints it and exits 1.
#pragma once
#include <cstdio>
#include <stdexcept>
#include <string>
#include <utility>

namespace llada {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// printf-style formatting into a std::string (GCC 12 has no std::format).
template <typename... Args>
std::string strformat(const char* fmt, Args&&... args) {
  int n = std::snprintf(nullptr, 0, fmt, args...);
  std::string s(n > 0 ? size_t(n) : 0, '\0');
  if (n > 0) std::snprintf(s.data(), s.size() + 1, fmt, args...);
  return s;
}

[[noreturn]] inline void fail(const std::string& msg) { throw Error(msg); }

}  // namespace llada

// User-facing check: throws llada::Error with a formatted message.
#define LLADA_CHECK(cond, ...)                                    \
  do {                                                            \
    if (!(cond)) ::llada::fail(::llada::strformat(__VA_ARGS__));  \
  } while (0)

// Internal invariant (a bug if it fires): names the source location.
#define LLADA_ASSERT(cond)                                                                   \
  do {                                                                                       \
    if (!(cond))                                                                             \
      ::llada::fail(::llada::strformat("internal error: %s failed at %s:%d", #cond, __FILE__, \
                                       __LINE__));                                           \
  } while (0)
