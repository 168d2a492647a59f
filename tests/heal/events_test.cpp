// The heal.* events have exactly the data fields docs/heal.md's table lists, whoever builds them.
#include "heal/events.hpp"

#include <gtest/gtest.h>

#include "heal/heal_docs.hpp"

using namespace orch;
using namespace orch::heal;

TEST(HealEvents, EachTypeCarriesExactlyTheDocumentedFields) {
  const auto documented = test::documented_heal_fields();
  ASSERT_EQ(documented.size(), 4u) << "docs/heal.md lists the four heal.* types";
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
