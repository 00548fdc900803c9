#include "eval/task.h"

#include <fstream>

#include "core/error.h"
#include "core/name_table.h"

namespace llada::eval {
namespace {

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n";
  const size_t a = s.find_first_not_of(ws);
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(ws) - a + 1);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Task load_task(const std::string& path, int64_t limit, const char* flag) {
  std::ifstream f(path);
  LLADA_CHECK(f.good(), "%s %s: cannot open the file", flag, path.c_str());
  Task t;
  t.path = path;
  std::string text;
  for (int64_t n = 1; std::getline(f, text); ++n) {
    if (limit > 0 && int64_t(t.items.size()) >= limit) break;
    if (trim(text).empty()) continue;
    const char* p = path.c_str();
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const std::exception& e) {
      fail(strformat("%s:%lld: not valid JSON (%s)", p, (long long)n, e.what()));
    }
    LLADA_CHECK(j.is_object(), "%s:%lld: a task item must be a JSON object", p, (long long)n);
    TaskItem it;
    it.line = n;
    LLADA_CHECK(j.contains("prompt") && j["prompt"].is_string(),
                "%s:%lld: field \"prompt\" (a string) is missing", p, (long long)n);
    it.prompt = j["prompt"].get<std::string>();
    if (j.contains("choices")) {
      it.kind = ItemKind::MultipleChoice;
      const auto& c = j["choices"];
      LLADA_CHECK(c.is_array() && !c.empty(), "%s:%lld: field \"choices\" must be a non-empty array",
                  p, (long long)n);
      for (size_t k = 0; k < c.size(); ++k) {
        LLADA_CHECK(c[k].is_string(), "%s:%lld: choices[%zu] is not a string", p, (long long)n, k);
        it.choices.push_back(c[k].get<std::string>());
      }
      LLADA_CHECK(j.contains("label"), "%s:%lld: field \"label\" (the right choice's index) is missing",
                  p, (long long)n);
      LLADA_CHECK(j["label"].is_number_integer(),
                  "%s:%lld: field \"label\" must be an integer index into choices, found %s", p,
                  (long long)n, j["label"].dump().c_str());
      it.label = j["label"].get<int64_t>();
      LLADA_CHECK(it.label >= 0 && it.label < int64_t(it.choices.size()),
                  "%s:%lld: label %lld is outside the %zu choices", p, (long long)n,
                  (long long)it.label, it.choices.size());
    } else {
      const char* field = j.contains("response") ? "response" : "answer";
      LLADA_CHECK(!(j.contains("response") && j.contains("answer")),
                  "%s:%lld: give \"response\" or \"answer\", not both", p, (long long)n);
      LLADA_CHECK(j.contains(field) && j[field].is_string(),
                  "%s:%lld: a generation item needs a \"response\" string (or give \"choices\" and "
                  "\"label\" for multiple choice)",
                  p, (long long)n);
      it.response = j[field].get<std::string>();
    }
    for (auto& [k, v] : j.items())
      if (k != "prompt" && k != "response" && k != "answer" && k != "choices" && k != "label")
        it.meta[k] = v;
    t.items.push_back(std::move(it));
  }
  LLADA_CHECK(!t.items.empty(), "%s %s: no items", flag, path.c_str());
  return t;
}

namespace {
constexpr NameEntry<Metric> kMetrics[] = {
    {Metric::Contains, "contains"}, {Metric::Exact, "exact"}, {Metric::Number, "number"}};
}  // namespace

Metric parse_metric(const std::string& s) { return parse_name(kMetrics, s, "metric"); }

const char* metric_name(Metric m) { return name_of(kMetrics, m); }

std::string last_number(const std::string& s) {
  std::string best;
  for (size_t i = 0; i < s.size();) {
    if (!is_digit(s[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    std::string num;
    if (i > 0 && s[i - 1] == '-') num = "-";
    while (j < s.size() && (is_digit(s[j]) || (s[j] == ',' && j + 1 < s.size() && is_digit(s[j + 1]) && j > i)))
      if (s[j++] != ',') num += s[j - 1];
    if (j + 1 < s.size() && s[j] == '.' && is_digit(s[j + 1])) {
      num += '.';
      for (++j; j < s.size() && is_digit(s[j]); ++j) num += s[j];
    }
    // 3.50 and 3.5 are the same number: drop trailing zeros of a decimal part.
    if (num.find('.') != std::string::npos) {
      while (num.back() == '0') num.pop_back();
      if (num.back() == '.') num.pop_back();
    }
    best = num;
    i = j;
  }
  return best;
}

double score_generation(const std::string& output, const std::string& expected, Metric m) {
  switch (m) {
    case Metric::Contains: {
      const std::string e = trim(expected);
      return !e.empty() && output.find(e) != std::string::npos ? 1.0 : 0.0;
    }
    case Metric::Exact:
      return trim(output) == trim(expected) ? 1.0 : 0.0;
    case Metric::Number: {
      const std::string e = last_number(expected);
      return !e.empty() && last_number(output) == e ? 1.0 : 0.0;
    }
  }
  return 0.0;
}

}  // namespace llada::eval
