#include "core/event.hpp"

#include <gtest/gtest.h>

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
