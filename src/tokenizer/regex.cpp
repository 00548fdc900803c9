#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/regex.h"

#include <pcre2.h>

#include <cctype>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace llada {
namespace {

constexpr const char* kSpaceClassBody = "\\t-\\r\\x{85}\\p{Z}";

// Appends letter c to a character class body with both cases.
void add_both_cases(std::string& out, char c) {
  out += char(std::tolower(static_cast<unsigned char>(c)));
  out += char(std::toupper(static_cast<unsigned char>(c)));
}

// Copies one escape sequence starting at p[i] == '\\' into out (with \s/\S rewritten); returns the
// index after it.
size_t copy_escape(const std::string& p, size_t i, bool in_class, std::string& out) {
  if (i + 1 >= p.size()) {
    out += p[i];
    return i + 1;
  }
  char e = p[i + 1];
  if (e == 's') {
    out += in_class ? std::string(kSpaceClassBody) : "[" + std::string(kSpaceClassBody) + "]";
    return i + 2;
  }
  if (e == 'S' && !in_class) {
    out += "[^" + std::string(kSpaceClassBody) + "]";
    return i + 2;
  }
  size_t j = i + 2;
  if ((e == 'p' || e == 'P' || e == 'x' || e == 'u') && j < p.size() && p[j] == '{') {
    size_t close = p.find('}', j);
    j = close == std::string::npos ? p.size() : close + 1;
  }
  out.append(p, i, j - i);
  return j;
}

}  // namespace

std::string rewrite_pattern(const std::string& p) {
  std::string out;
  out.reserve(p.size() * 2);
  // Parenthesis depth of each open (?i: group, so we know when it closes.
  std::vector<int> icase_depths;
  int depth = 0;
  for (size_t i = 0; i < p.size();) {
    char c = p[i];
    bool icase = !icase_depths.empty();
    if (c == '\\') {
      if (icase && i + 1 < p.size() && std::isalpha(static_cast<unsigned char>(p[i + 1])) == 0) {
        out.append(p, i, 2);  // an escaped literal like \' or \.
        i += 2;
        continue;
      }
      i = copy_escape(p, i, false, out);
      continue;
    }
    if (c == '[') {  // character class: copy to the matching ']' (a leading ']' or '^]' is literal)
      out += '[';
      ++i;
      if (i < p.size() && p[i] == '^') out += p[i++];
      if (i < p.size() && p[i] == ']') out += p[i++];
      while (i < p.size() && p[i] != ']') {
        if (p[i] == '\\') {
          i = copy_escape(p, i, true, out);
        } else if (p[i] == '[' && i + 1 < p.size() && p[i + 1] == ':') {  // POSIX [:alpha:]
          size_t close = p.find(":]", i + 2);
          size_t j = close == std::string::npos ? p.size() : close + 2;
          out.append(p, i, j - i);
          i = j;
        } else {
          if (icase && std::isalpha(static_cast<unsigned char>(p[i]))) {
            add_both_cases(out, p[i]);
          } else {
            out += p[i];
          }
          ++i;
        }
      }
      if (i < p.size()) out += p[i++];
      continue;
    }
    if (c == '(') {
      ++depth;
      if (p.compare(i, 4, "(?i:") == 0) {
        icase_depths.push_back(depth);
        out += "(?:";
        i += 4;
        continue;
      }
      LLADA_CHECK(p.compare(i, 3, "(?i") != 0 || p.compare(i, 4, "(?i)") != 0,
                  "regex '%s': inline (?i) flags without a group are not supported", p.c_str());
    } else if (c == ')') {
      if (!icase_depths.empty() && icase_depths.back() == depth) icase_depths.pop_back();
      --depth;
    } else if (icase && std::isalpha(static_cast<unsigned char>(c))) {
      out += '[';
      add_both_cases(out, c);
      out += ']';
      ++i;
      continue;
    }
    out += c;
    ++i;
  }
  return out;
}

Regex::Regex(const std::string& pattern, const std::string& origin) : pattern_(pattern) {
  std::string rewritten = rewrite_pattern(pattern);
  int err = 0;
  PCRE2_SIZE offset = 0;
  auto* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(rewritten.data()), rewritten.size(),
                             PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &offset, nullptr);
  if (!code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    fail(strformat("%s: cannot compile regex '%s': %s at offset %zu", origin.c_str(), pattern.c_str(),
                   reinterpret_cast<const char*>(msg), size_t(offset)));
  }
  // JIT is an optimisation only: if it is unavailable the interpreter gives the same matches.
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  code_ = code;
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

namespace {

// Per-thread match state: the match data and a JIT stack large enough for long runs of whitespace.
struct MatchState {
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  pcre2_match_context* ctx = pcre2_match_context_create(nullptr);
  pcre2_jit_stack* stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
  MatchState() { pcre2_jit_stack_assign(ctx, nullptr, stack); }
  ~MatchState() {
    pcre2_jit_stack_free(stack);
    pcre2_match_context_free(ctx);
    pcre2_match_data_free(data);
  }
};

}  // namespace

void Regex::find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>* out) const {
  thread_local MatchState st;
  auto* code = static_cast<const pcre2_code*>(code_);
  auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;
  while (pos <= text.size()) {
    int rc = pcre2_match(code, subject, text.size(), pos, 0, st.data, st.ctx);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(rc, msg, sizeof msg);
      fail(strformat("regex '%s' failed on a %zu-byte text: %s", pattern_.c_str(), text.size(),
                     reinterpret_cast<const char*>(msg)));
    }
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(st.data);
    size_t s = ov[0], e = ov[1];
    out->emplace_back(s, e);
    if (e == s) {
      if (e >= text.size()) break;
      pos = e + utf8::char_len(text, e);
    } else {
      pos = e;
    }
  }
}

}  // namespace llada
