// Scoring rules of `llada eval` (eval/task.h): the paper's "contains" poem metric, exact match, and
// the last-number rule, including the cases that are easy to get wrong.
#include <gtest/gtest.h>

#include "core/error.h"

#include "eval/task.h"

namespace llada::eval {
namespace {

TEST(EvalScore, ContainsExactNumber) {
  EXPECT_EQ(score_generation("答：疑是地上霜。", "疑是地上霜", Metric::Contains), 1.0);
  EXPECT_EQ(score_generation("疑是地上", "疑是地上霜", Metric::Contains), 0.0);
  EXPECT_EQ(score_generation("anything", "  ", Metric::Contains), 0.0);  // empty answer never matches
  EXPECT_EQ(score_generation(" 疑是地上霜\n", "疑是地上霜", Metric::Exact), 1.0);
  EXPECT_EQ(score_generation("疑是地上霜。", "疑是地上霜", Metric::Exact), 0.0);
  EXPECT_EQ(score_generation("3 + 4 = 7", "7", Metric::Number), 1.0);
  EXPECT_EQ(score_generation("7, not 8", "7", Metric::Number), 0.0);  // the last number counts
  EXPECT_EQ(score_generation("the total is 1,234.50", "1234.5", Metric::Number), 1.0);
  EXPECT_EQ(score_generation("-12", "12", Metric::Number), 0.0);
  EXPECT_EQ(score_generation("no digits", "0", Metric::Number), 0.0);
}

TEST(EvalScore, LastNumber) {
  EXPECT_EQ(last_number("a 1 b 22 c"), "22");
  EXPECT_EQ(last_number("x=-3"), "-3");
  EXPECT_EQ(last_number("2.0"), "2");
  EXPECT_EQ(last_number("1,000,000 people"), "1000000");
  EXPECT_EQ(last_number("end."), "");
  EXPECT_EQ(last_number("12."), "12");
}

TEST(EvalScore, ParseMetricNamesTheFlag) {
  EXPECT_EQ(parse_metric("number"), Metric::Number);
  try {
    parse_metric("fuzzy");
    FAIL() << "accepted";
  } catch (const OptionError& e) {
    EXPECT_EQ(e.field(), "metric");
    EXPECT_NE(e.spelled(flag_spelling).find("--metric"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace llada::eval
