#include "core/error.h"

namespace llada {

std::string spell_fields(const std::string& message, const std::function<std::string(const std::string&)>& spell) {
  std::string out;
  out.reserve(message.size());
  for (size_t i = 0; i < message.size();) {
    const size_t close = message[i] == '{' ? message.find('}', i) : std::string::npos;
    const bool name = close != std::string::npos && close > i + 1 &&
                      message.find_first_not_of("abcdefghijklmnopqrstuvwxyz_0123456789", i + 1) == close;
    if (name) {
      out += spell(message.substr(i + 1, close - i - 1));
      i = close + 1;
    } else {
      out += message[i++];
    }
  }
  return out;
}

std::string flag_spelling(const std::string& field) {
  std::string f = "--" + field;
  for (char& c : f)
    if (c == '_') c = '-';
  return f;
}

}  // namespace llada
