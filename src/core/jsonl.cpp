#include "core/jsonl.h"

#include <fstream>

#include "core/error.h"

namespace llada {

void for_each_jsonl(const std::string& path, const std::string& opened_by,
                    const std::function<bool(const nlohmann::json&, const std::string&, int64_t)>& f) {
  std::ifstream in(path);
  LLADA_CHECK(in.good(), "%s%s%s: cannot open the file", opened_by.c_str(), opened_by.empty() ? "" : " ",
              path.c_str());
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = strformat("%s:%lld", path.c_str(), (long long)n);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      fail(strformat("%s: not valid JSON (%s)", where.c_str(), e.what()));
    }
    LLADA_CHECK(j.is_object(), "%s: expected a JSON object, found %s", where.c_str(), j.type_name());
    if (!f(j, where, n)) return;
  }
}

std::string json_string(const nlohmann::json& j, const char* key, const std::string& where) {
  LLADA_CHECK(j.contains(key), "%s: field \"%s\" (a string) is missing", where.c_str(), key);
  const nlohmann::json& v = j.at(key);
  LLADA_CHECK(v.is_string(), "%s: field \"%s\" must be a string, found %s", where.c_str(), key, v.type_name());
  return v.get<std::string>();
}

std::vector<int32_t> json_int32_array(const nlohmann::json& j, const char* key, const std::string& where) {
  LLADA_CHECK(j.contains(key), "%s: field \"%s\" (an array of token ids) is missing", where.c_str(), key);
  const nlohmann::json& v = j.at(key);
  LLADA_CHECK(v.is_array(), "%s: field \"%s\" must be an array of token ids, found %s", where.c_str(), key,
              v.type_name());
  std::vector<int32_t> out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const nlohmann::json& x = v[i];
    LLADA_CHECK(x.is_number_integer() && x.get<int64_t>() >= INT32_MIN && x.get<int64_t>() <= INT32_MAX,
                "%s: field \"%s\"[%zu] must be an integer token id, found %s", where.c_str(), key, i,
                x.dump().c_str());
    out.push_back(int32_t(x.get<int64_t>()));
  }
  return out;
}

}  // namespace llada
