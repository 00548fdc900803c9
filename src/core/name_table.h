// Enums spelled as names (in flags, configs, reports): one table per enum, {value, name} rows,
// and these two helpers, so parsing and printing cannot drift apart and every error lists the
// accepted names.
#pragma once
#include <cstddef>
#include <string>

#include "core/error.h"

namespace llada {

template <class E>
struct NameEntry {
  E value;
  const char* name;
};

template <class E, size_t N>
std::string names_of(const NameEntry<E> (&table)[N]) {
  std::string names;
  for (size_t i = 0; i < N; ++i) {
    names += i == 0 ? "" : (i + 1 == N ? " or " : ", ");
    names += table[i].name;
  }
  return names;
}

// The value named `s`; otherwise an OptionError for the option `field` (a flag or request field):
// "{field}: expected a, b or c, got 's'".
template <class E, size_t N>
E parse_name(const NameEntry<E> (&table)[N], const std::string& s, const char* field) {
  for (size_t i = 0; i < N; ++i)
    if (s == table[i].name) return table[i].value;
  throw OptionError(field, strformat("{%s}: expected %s, got '%s'", field, names_of(table).c_str(), s.c_str()));
}

// The same for a value read from a file, named by `where` as is (e.g. "diffusion.weighting").
template <class E, size_t N>
E parse_config_name(const NameEntry<E> (&table)[N], const std::string& s, const char* where) {
  for (size_t i = 0; i < N; ++i)
    if (s == table[i].name) return table[i].value;
  fail(strformat("%s: expected %s, found '%s'", where, names_of(table).c_str(), s.c_str()));
}

template <class E, size_t N>
const char* name_of(const NameEntry<E> (&table)[N], E value) {
  for (size_t i = 0; i < N; ++i)
    if (table[i].value == value) return table[i].name;
  return "?";
}

}  // namespace llada
