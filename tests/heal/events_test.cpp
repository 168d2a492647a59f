// The heal.* events have exactly the data fields docs/heal.md's table lists, whoever builds them.
#include "heal/events.hpp"

#include <gtest/gtest.h>

#include <set>

#include "heal/heal_docs.hpp"

using namespace orch;
using namespace orch::heal;

TEST(HealEvents, EachTypeCarriesExactlyTheDocumentedFields) {
  const auto documented = test::documented_heal_fields();
  // The four a heal builds here, heal.left_alone, and heal.reset (published by Healer::reset; the
  // healer tests hold it to the table on the bus).
  ASSERT_EQ(documented.size(), 6u) << "docs/heal.md lists the six heal.* types";
  EXPECT_EQ(documented.at("heal.reset"), (std::set<std::string>{"container", "was_quarantined"}));
  const auto left = make_left_alone_event("web-1", "web", "exited 137", "stopped by a person");
  EXPECT_EQ(left.type, "heal.left_alone");
  EXPECT_EQ(left.subject, "web-1");
  EXPECT_EQ(test::field_names(left.data), documented.at("heal.left_alone"));
  const HealData d{"web-1", "web", 2, 20.0, "unhealthy", "refused"};
  for (auto kind : {HealEvent::restarted, HealEvent::failed, HealEvent::quarantined, HealEvent::recovered}) {
    const auto e = make_heal_event(kind, d);
    EXPECT_EQ(e.type, type_of(kind));
    EXPECT_EQ(e.subject, "web-1");
    ASSERT_TRUE(documented.count(e.type)) << e.type << " is not in docs/heal.md";
    EXPECT_EQ(test::field_names(e.data), documented.at(e.type)) << e.type;
  }
}

TEST(HealEvents, NoNextDelayIsNull) {
  auto e = make_heal_event(HealEvent::quarantined, {"web-1", "web", 5, std::nullopt, "5 heals within 30m", ""});
  EXPECT_TRUE(e.data["next_delay_s"].is_null());
  EXPECT_EQ(e.data["attempt"], 5);
}
