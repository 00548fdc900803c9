// Split regexes of tokenizer.json (written for Oniguruma, the Rust library's engine) compiled with
// PCRE2 (UTF + UCP + JIT). A few constructs mean different things in the two engines; the pattern is
// rewritten so PCRE2 matches what the reference matches (see rewrite_pattern). Inputs that are not
// valid UTF-8 are accepted: invalid bytes never match and so end up in the gaps between matches.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace llada {

class Regex {
 public:
  // `origin` names the field in error messages (e.g. "tokenizer.json: pre_tokenizer.pattern.Regex").
  Regex(const std::string& pattern, const std::string& origin);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Appends [start, end) of every match in text to `out` (JavaScript matchAll semantics: after an empty
  // match the search resumes one character later).
  void find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>* out) const;
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  void* code_ = nullptr;  // pcre2_code_8*
};

// Oniguruma -> PCRE2 rewrites: \s and \S mean Unicode White_Space (PCRE2's \s adds U+180E), and
// (?i:...) folds ASCII letters only, as the reference does (PCRE2 would also fold U+017F and U+212A).
std::string rewrite_pattern(const std::string& pattern);

}  // namespace llada
