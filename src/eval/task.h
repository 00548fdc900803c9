// Evaluation task files (`llada eval --task FILE`): JSON lines, one item per line, checked with
// file:line errors, and the scoring rules of each kind of item.
//
//   generation       {"prompt": text, "response": text, ...}        (the project's SFT/eval rows;
//                                                                     "answer" is read as "response")
//   multiple choice  {"prompt": text, "choices": [text, ...], "label": int, ...}
//
// Every other field of a row is metadata (e.g. "direction", "source"): it is kept in the report
// and the summary groups scores by it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace llada::eval {

enum class ItemKind { Generation, MultipleChoice };

struct TaskItem {
  int64_t line = 0;  // 1-based line in the task file
  ItemKind kind = ItemKind::Generation;
  std::string prompt, response;      // response: generation items
  std::vector<std::string> choices;  // multiple choice
  int64_t label = -1;                // index into choices
  nlohmann::json meta = nlohmann::json::object();
};

struct Task {
  std::string path;
  std::vector<TaskItem> items;
};

// Reads a task file; `limit` > 0 keeps the first `limit` items. Throws naming file:line for broken
// JSON, missing or mistyped fields, labels outside the choices, and an empty file (`flag` is the
// option that named the file, for the errors that cannot name a line).
Task load_task(const std::string& path, int64_t limit = 0, const char* flag = "--task");

// How a generation is scored against the expected response (1 = right, 0 = wrong).
enum class Metric {
  Contains,  // the expected text (trimmed) appears in the output: the paper's poem metric
  Exact,     // output and expected text equal after trimming white space
  Number,    // the last number in the output equals the last number in the expected text
};
Metric parse_metric(const std::string& s);  // throws naming --metric
const char* metric_name(Metric m);
double score_generation(const std::string& output, const std::string& expected, Metric m);

// The last number (optional sign, digits, optional decimal part; "," between digit groups
// ignored) in `s`, or an empty string when there is none.
std::string last_number(const std::string& s);

}  // namespace llada::eval
