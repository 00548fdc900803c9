// Errors: every failure the user can cause is an llada::Error whose message names the file, field,
// tensor or flag at fault, with what was expected and what was found. The CLI prints it and exits 1.
#pragma once
#include <cstdio>
#include <functional>
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

// Renders a message whose option names are written {name} (the library's field names, e.g.
// {gen_length}) with spell(name): each front end names options its own way ("--gen-length" on
// the command line, "gen_length" in a JSON request).
std::string spell_fields(const std::string& message, const std::function<std::string(const std::string&)>& spell);

// An invalid option value, raised by the library with the field names marked {name}; what()
// spells them bare, a front end re-spells them with spelled().
class OptionError : public Error {
 public:
  OptionError(std::string field, std::string message)
      : Error(spell_fields(message, [](const std::string& n) { return n; })),
        field_(std::move(field)),
        message_(std::move(message)) {}
  const std::string& field() const { return field_; }
  std::string spelled(const std::function<std::string(const std::string&)>& spell) const {
    return spell_fields(message_, spell);
  }

 private:
  std::string field_, message_;
};

// The command line's spelling of a field: gen_length -> --gen-length.
std::string flag_spelling(const std::string& field);

}  // namespace llada

// User-facing check: throws llada::Error with a formatted message.
#define LLADA_CHECK(cond, ...)                                    \
  do {                                                            \
    if (!(cond)) ::llada::fail(::llada::strformat(__VA_ARGS__));  \
  } while (0)

// Check of an option value: the message marks field names {name} (see OptionError); `field` is
// the one at fault.
#define LLADA_CHECK_OPTION(cond, field, ...)                                              \
  do {                                                                                    \
    if (!(cond)) throw ::llada::OptionError((field), ::llada::strformat(__VA_ARGS__));    \
  } while (0)

// Internal invariant (a bug if it fires): names the source location.
#define LLADA_ASSERT(cond)                                                                   \
  do {                                                                                       \
    if (!(cond))                                                                             \
      ::llada::fail(::llada::strformat("internal error: %s failed at %s:%d", #cond, __FILE__, \
                                       __LINE__));                                           \
  } while (0)
