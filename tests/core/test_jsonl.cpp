// JSON-lines reading: blank lines skipped, line numbers in every error, early stop, typed fields.
#include <gtest/gtest.h>

#include "common/error_of.h"

#include <cstdio>
#include <fstream>
#include <string>

#include "core/error.h"
#include "core/jsonl.h"

namespace llada {
namespace {

std::string write_tmp(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + "llada_jsonl_" + name + ".jsonl";
  std::ofstream(path) << text;
  return path;
}

using test_util::error_of;

TEST(Jsonl, LinesFieldsAndErrors) {
  const std::string path = write_tmp("good", "{\"a\": \"x\", \"ids\": [1, 2]}\n\n  \r\n{\"a\": \"y\", \"ids\": []}\n{\"a\": 3}\n");
  std::vector<int64_t> lines;
  std::vector<std::string> values;
  EXPECT_NE(error_of([&] {
              for_each_jsonl(path, "--input", [&](const nlohmann::json& j, const std::string& where, int64_t line) {
                lines.push_back(line);
                values.push_back(json_string(j, "a", where));
                return true;
              });
            }).find(path + ":5: field \"a\" must be a string, found number"),
            std::string::npos);
  EXPECT_EQ(lines, (std::vector<int64_t>{1, 4, 5}));
  EXPECT_EQ(values, (std::vector<std::string>{"x", "y"}));
  int seen = 0;
  for_each_jsonl(path, "", [&](const nlohmann::json& j, const std::string& where, int64_t) {
    EXPECT_EQ(json_int32_array(j, "ids", where), (std::vector<int32_t>{1, 2}));
    ++seen;
    return false;  // stop after the first
  });
  EXPECT_EQ(seen, 1);

  const std::string bad = write_tmp("bad", "{\"ids\": [1, 2.5]}\n[1]\n");
  EXPECT_NE(error_of([&] {
              for_each_jsonl(bad, "", [&](const nlohmann::json& j, const std::string& where, int64_t) {
                json_int32_array(j, "ids", where);
                return true;
              });
            }).find(":1: field \"ids\"[1] must be an integer token id"),
            std::string::npos);
  EXPECT_NE(error_of([&] { for_each_jsonl(bad, "", [](const nlohmann::json&, const std::string&, int64_t) { return true; }); })
                .find(":2: expected a JSON object, found array"),
            std::string::npos);
  EXPECT_NE(error_of([&] { for_each_jsonl(bad + ".missing", "--task", [](auto&, auto&, int64_t) { return true; }); })
                .find("--task " + bad + ".missing: cannot open"),
            std::string::npos);
  std::remove(path.c_str());
  std::remove(bad.c_str());
}

}  // namespace
}  // namespace llada
