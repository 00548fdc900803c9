// The command-line helpers of command.h that are not the registry: which flags were given, and
// integer lists. Shared with the server (tools/serve), which parses its own flags.
#include <climits>
#include <string>
#include <vector>

#include "command.h"
#include "core/error.h"

namespace llada::cli {

std::vector<std::string> given_flags(const CLI::App& app) {
  std::vector<std::string> out;
  for (const CLI::Option* opt : app.get_options())
    if (opt->count() > 0) out.push_back(opt->get_name());
  return out;
}

std::vector<std::string> given_fields(const CLI::App& app) {
  std::vector<std::string> out;
  for (std::string f : given_flags(app)) {
    f.erase(0, f.find_first_not_of('-'));
    for (char& c : f)
      if (c == '-') c = '_';
    out.push_back(f);
  }
  return out;
}

std::vector<int32_t> parse_int_list(const std::string& s, const std::string& flag) {
  std::vector<int32_t> out;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    std::string tok = s.substr(i, j - i);
    while (!tok.empty() && tok.front() == ' ') tok.erase(tok.begin());
    while (!tok.empty() && tok.back() == ' ') tok.pop_back();
    LLADA_CHECK(!tok.empty(), "%s: empty element in list '%s'", flag.c_str(), s.c_str());
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(tok, &used);
    } catch (...) {
      used = 0;
    }
    LLADA_CHECK(used == tok.size() && v >= INT32_MIN && v <= INT32_MAX,
                "%s: '%s' is not an integer", flag.c_str(), tok.c_str());
    out.push_back(int32_t(v));
    i = j + 1;
  }
  return out;
}

}  // namespace llada::cli
