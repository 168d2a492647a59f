// Typed fields of control request bodies.
#include <gtest/gtest.h>

#include "http/fields.hpp"

using namespace orch;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Fields, AbsentOrNullGiveTheFallback) {
  const json body = {{"n", nullptr}};
  EXPECT_EQ(http::field(body, "missing", 7), 7);
  EXPECT_EQ(http::field(body, "n", true), true);
  EXPECT_EQ(http::field(body, "missing", "x"), "x");
  EXPECT_EQ(http::field(json::array(), "missing", 3), 3);
}

TEST(Fields, ValuesOfTheRightType) {
  const json body = {{"dry_run", true}, {"steps", 2}, {"repo", "/srv/web"}, {"services", {"web", "rag"}}};
  EXPECT_TRUE(http::field(body, "dry_run", false));
  EXPECT_EQ(http::field(body, "steps", 1), 2);
  EXPECT_EQ(http::field(body, "repo", ""), "/srv/web");
  EXPECT_EQ(http::field(body, "services", std::vector<std::string>{}), (std::vector<std::string>{"web", "rag"}));
}

TEST(Fields, TheWrongTypeNamesTheFieldAndWhatItNeeds) {
  const json body = {{"dry_run", "yes"}, {"steps", 1.5}, {"repo", 3}, {"services", {"web", 1}}, {"actions", "health"}};
  EXPECT_EQ(error_of([&] { http::field(body, "dry_run", false); }), "dry_run must be true or false");
  EXPECT_EQ(error_of([&] { http::field(body, "steps", 1); }), "steps must be an integer");
  EXPECT_EQ(error_of([&] { http::field(body, "repo", ""); }), "repo must be a string");
  EXPECT_EQ(error_of([&] { http::field(body, "services", std::vector<std::string>{}); }), "services must be an array of strings");
  EXPECT_EQ(error_of([&] { http::field(body, "actions", std::vector<std::string>{}); }), "actions must be an array of strings");
}
