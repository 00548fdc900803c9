// JSON-lines files (task files, SFT data, prompt lists, documents) and typed access to their
// fields: every error names the file, the line and the field, and no raw nlohmann exception
// reaches a user.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace llada {

// Calls f(object, where, line) for every non-blank line of `path` in order, where = "path:line"
// (the label each error starts with), line counted from 1. A line that is not a JSON object is an error. f returns false to
// stop early. `opened_by` prefixes the cannot-open error (e.g. "--input").
void for_each_jsonl(const std::string& path, const std::string& opened_by,
                    const std::function<bool(const nlohmann::json& object, const std::string& where, int64_t line)>& f);

// Typed fields: the value of `key`, or an error "where: field "key" (a string) is missing / is a number".
std::string json_string(const nlohmann::json& j, const char* key, const std::string& where);
std::vector<int32_t> json_int32_array(const nlohmann::json& j, const char* key, const std::string& where);

}  // namespace llada
