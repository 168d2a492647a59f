// core/suggest.hpp: the distance and the nearest name, as config keys and commands use them.
#include "core/suggest.hpp"

#include <gtest/gtest.h>

using orch::edit_distance;
using orch::nearest;

TEST(Suggest, DistanceCountsASwapOfNeighboursAsOneEdit) {
  EXPECT_EQ(edit_distance("contianer", "container"), 1u);
  EXPECT_EQ(edit_distance("helth", "health"), 1u);
  EXPECT_EQ(edit_distance("stauts", "status"), 1u);
  EXPECT_EQ(edit_distance("Container", "container"), 0u);  // case does not count
  EXPECT_EQ(edit_distance("", "url"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(Suggest, NearestOnlyWhenCloseEnough) {
  const std::vector<std::string> keys = {"url", "health", "ready", "expect", "container", "heal", "depends_on"};
  EXPECT_EQ(nearest("contianer", keys), "container");
  EXPECT_EQ(nearest("helth", keys), "health");
  EXPECT_EQ(nearest("dependson", keys), "depends_on");
  EXPECT_EQ(nearest("uri", keys), "url");
  EXPECT_FALSE(nearest("image", keys));  // nothing near
  EXPECT_FALSE(nearest("x", keys));      // one letter: every short key is "near"
  // A third of a long word's length: 3 edits on a 23-letter key still suggest.
  EXPECT_EQ(nearest("orch_heal_max_restart_s", {"orch_heal_max_restarts", "orch_heal_window"}), "orch_heal_max_restarts");
  EXPECT_EQ(nearest("rollbak", {"serve", "diagnose", "rollback", "heal"}), "rollback");
}
