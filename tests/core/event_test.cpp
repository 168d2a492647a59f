#include "core/event.hpp"
#include "core/text.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <regex>
#include <set>

using namespace orch;

TEST(Event, IsCloudEvents10) {
  auto e = make_event("content.published", "page", {{"id", "abc"}});
  auto j = e.to_json();
  EXPECT_EQ(j["specversion"], "1.0");
  EXPECT_EQ(j["type"], "content.published");
  EXPECT_EQ(j["subject"], "page");
  EXPECT_EQ(j["datacontenttype"], "application/json");
  EXPECT_EQ(j["source"], "orch://" + hostname());
  EXPECT_EQ(j["data"]["id"], "abc");
  EXPECT_EQ(j["time"].get<std::string>().size(), 24u);  // 2026-11-24T19:31:57.123Z
  EXPECT_EQ(j["time"].get<std::string>().back(), 'Z');
}

TEST(Event, IdsAreUnique) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(make_event("x", "y", {}).id);
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(Event, RoundTrips) {
  auto e = make_event("heal.restarted", "web-1", {{"attempt", 2}});
  auto back = Event::from_json(json::parse(e.to_string()));
  EXPECT_EQ(back.id, e.id);
  EXPECT_EQ(back.type, e.type);
  EXPECT_EQ(back.data["attempt"], 2);
  EXPECT_THROW(Event::from_json(json{{"type", "x"}}), std::invalid_argument);
}

TEST(Event, TextIsWhatTheJsonDocumentDumpsTo) {
  // to_string writes the event field by field; it must agree with to_text(to_json()) for any
  // text a field may carry: quotes, control characters, non-ASCII and bytes that are not UTF-8.
  for (std::string awkward : {"plain", "with \"quotes\" and \\ backslash", "tab\there\nnewline\x01", "naïve – ✓",
                              "bad \xff\xfe bytes", ""}) {
    auto e = make_event("content." + awkward, "page/" + awkward, {{"name", awkward}, {"n", 3}});
    e.source = awkward;
    EXPECT_EQ(e.to_string(), to_text(e.to_json())) << awkward;
    // Data of strings only (every content event) is written without nlohmann: keys too.
    auto strings = make_event("content.published", "page", {{"name", awkward}, {awkward + "key", "v"}, {"a", ""}});
    EXPECT_EQ(strings.to_string(), to_text(strings.to_json())) << awkward;
  }
  for (const json& data : {json::object(), json::array(), json(nullptr), json{{"nested", {{"a", "b"}}}}}) {
    auto e = make_event("x", "y", data);
    EXPECT_EQ(e.to_string(), to_text(e.to_json())) << data.dump();
  }
}

TEST(Event, IdsAreVersion4Uuids) {
  for (int i = 0; i < 300; ++i) {  // past one pool of random bytes
    auto id = new_uuid();
    ASSERT_EQ(id.size(), 36u) << id;
    for (size_t k : {8, 13, 18, 23}) EXPECT_EQ(id[k], '-') << id;
    EXPECT_EQ(id[14], '4') << id;
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef-"), std::string::npos) << id;
  }
}

TEST(Event, TimeIsRfc3339UtcWithMilliseconds) {
  const auto before = std::chrono::system_clock::now();
  const auto t = rfc3339_now();
  ASSERT_TRUE(std::regex_match(t, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"))) << t;
  std::tm tm{};
  ASSERT_NE(strptime(t.c_str(), "%Y-%m-%dT%H:%M:%S", &tm), nullptr);
  const auto at = std::chrono::system_clock::from_time_t(timegm(&tm)) + std::chrono::milliseconds(std::stoi(t.substr(20, 3)));
  EXPECT_LE(std::chrono::abs(at - before), std::chrono::seconds(2)) << t;
}
