// Bytes from outside (container logs, git) made into valid UTF-8, and JSON that never throws on them.
#include <gtest/gtest.h>

#include "core/text.hpp"

using namespace orch;

namespace {
const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD
}

TEST(ValidUtf8, KeepsValidTextAsItIs) {
  EXPECT_EQ(valid_utf8(""), "");
  EXPECT_EQ(valid_utf8("plain ascii\tand\ncontrols"), "plain ascii\tand\ncontrols");
  const std::string mixed = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9D\x84\x9E \xEF\xBF\xBF";  // é € 𝄞 U+FFFF
  EXPECT_EQ(valid_utf8(mixed), mixed);
}

TEST(ValidUtf8, ReplacesEachMaximalIllFormedSubpart) {
  EXPECT_EQ(valid_utf8("caf\xE9 closed"), "caf" + kReplacement + " closed");                   // Latin-1
  EXPECT_EQ(valid_utf8("\xE2\x82x"), kReplacement + "x");                                     // truncated €
  EXPECT_EQ(valid_utf8("end\xF0\x9D\x84"), "end" + kReplacement);                             // cut at the end
  EXPECT_EQ(valid_utf8("\xC0\x80"), kReplacement + kReplacement);                              // overlong NUL
  EXPECT_EQ(valid_utf8("\xE0\x80\xAF"), kReplacement + kReplacement + kReplacement);           // overlong '/'
  EXPECT_EQ(valid_utf8("\xED\xA0\x80"), kReplacement + kReplacement + kReplacement);           // surrogate
  EXPECT_EQ(valid_utf8("\xF4\x90\x80\x80"), kReplacement + kReplacement + kReplacement + kReplacement);  // > U+10FFFF
  EXPECT_EQ(valid_utf8("\x80\xBF"), kReplacement + kReplacement);                              // stray continuations
  EXPECT_EQ(valid_utf8("\xFF"), kReplacement);
}

TEST(ToText, NeverThrowsOnBytesThatAreNotUtf8) {
  json j = {{"line", "caf\xE9"}, {"n", 1}};
  EXPECT_THROW((void)j.dump(), json::type_error) << "what to_text protects against";
  EXPECT_EQ(to_text(j), "{\"line\":\"caf" + kReplacement + "\",\"n\":1}");
  EXPECT_EQ(json::parse(to_text(j, 2))["line"], "caf" + kReplacement);
}

TEST(Json, NestingBeyondTheBoundIsRefusedBeforeParsing) {
  EXPECT_FALSE(orch::json_too_deep("[[[]]]", 3));
  EXPECT_TRUE(orch::json_too_deep("[[[[]]]]", 3));
  EXPECT_FALSE(orch::json_too_deep(R"({"a":"[[[[[[[[[[","b":"\"[[[[[["})", 2)) << "brackets in strings do not count";
  EXPECT_TRUE(orch::parse_json(std::string(300, '[') + std::string(300, ']')).is_discarded());
  EXPECT_FALSE(orch::parse_json(std::string(256, '[') + std::string(256, ']')).is_discarded());
  EXPECT_TRUE(orch::parse_json("{nope").is_discarded());
  EXPECT_EQ(orch::parse_json(R"({"a":[1,2]})")["a"][1], 2);
}
