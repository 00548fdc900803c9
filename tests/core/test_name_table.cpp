// Enum name tables: parse and print from one table; errors list every accepted name and name the
// option ({field}, re-spelled by each front end) or the configuration field.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/name_table.h"

namespace llada {
namespace {

enum class Colour { Red, Green, Blue };
constexpr NameEntry<Colour> kColours[] = {{Colour::Red, "red"}, {Colour::Green, "green"}, {Colour::Blue, "blue"}};

TEST(NameTable, ParsesPrintsAndListsTheNames) {
  for (const auto& e : kColours) {
    EXPECT_EQ(parse_name(kColours, e.name, "colour"), e.value);
    EXPECT_STREQ(name_of(kColours, e.value), e.name);
  }
  try {
    parse_name(kColours, "mauve", "colour_mode");
    FAIL() << "expected an error";
  } catch (const OptionError& e) {
    EXPECT_EQ(e.field(), "colour_mode");
    EXPECT_STREQ(e.what(), "colour_mode: expected red, green or blue, got 'mauve'");
    EXPECT_EQ(e.spelled(flag_spelling), "--colour-mode: expected red, green or blue, got 'mauve'");
  }
  EXPECT_THROW(
      {
        try {
          parse_config_name(kColours, "", "paint.colour");
        } catch (const OptionError&) {
          FAIL() << "a configuration field is not an option";
        }
      },
      Error);
}

TEST(SpellFields, RewritesOnlyMarkedNames) {
  auto upper = [](const std::string& n) { return "<" + n + ">"; };
  EXPECT_EQ(spell_fields("{a_b} and {c} but not {X} or { } or {", upper), "<a_b> and <c> but not {X} or { } or {");
}

}  // namespace
}  // namespace llada
