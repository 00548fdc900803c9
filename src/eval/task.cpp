#include "eval/task.h"

#include <fstream>

#include "core/error.h"
#include "core/jsonl.h"
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

namespace {

// One task item from its JSON object (where = "path:line").
TaskItem task_item_of(const nlohmann::json& j, const std::string& where, int64_t line) {
  const char* p = where.c_str();
  TaskItem it;
  it.line = line;
  it.prompt = json_string(j, "prompt", where);
  if (j.contains("choices")) {
    it.kind = ItemKind::MultipleChoice;
    const auto& c = j["choices"];
    LLADA_CHECK(c.is_array() && !c.empty(), "%s: field \"choices\" must be a non-empty array", p);
    for (size_t k = 0; k < c.size(); ++k) {
      LLADA_CHECK(c[k].is_string(), "%s: choices[%zu] is not a string", p, k);
      it.choices.push_back(c[k].get<std::string>());
    }
    LLADA_CHECK(j.contains("label"), "%s: field \"label\" (the right choice's index) is missing", p);
    LLADA_CHECK(j["label"].is_number_integer(), "%s: field \"label\" must be an integer index into choices, found %s",
                p, j["label"].dump().c_str());
    it.label = j["label"].get<int64_t>();
    LLADA_CHECK(it.label >= 0 && it.label < int64_t(it.choices.size()), "%s: label %lld is outside the %zu choices", p,
                (long long)it.label, it.choices.size());
  } else {
    const char* field = j.contains("response") ? "response" : "answer";
    LLADA_CHECK(!(j.contains("response") && j.contains("answer")), "%s: give \"response\" or \"answer\", not both", p);
    LLADA_CHECK(j.contains(field) && j[field].is_string(),
                "%s: a generation item needs a \"response\" string (or give \"choices\" and \"label\" for "
                "multiple choice)",
                p);
    it.response = j[field].get<std::string>();
  }
  for (auto& [k, v] : j.items())
    if (k != "prompt" && k != "response" && k != "answer" && k != "choices" && k != "label") it.meta[k] = v;
  return it;
}

}  // namespace

Task load_task(const std::string& path, int64_t limit, const char* flag) {
  Task t;
  t.path = path;
  for_each_jsonl(path, flag, [&](const nlohmann::json& j, const std::string& where, int64_t line) {
    if (limit > 0 && int64_t(t.items.size()) >= limit) return false;
    t.items.push_back(task_item_of(j, where, line));
    return true;
  });
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
