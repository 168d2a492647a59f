// The release history forgets what is gone (ROLLBACK_HISTORY_RETENTION, ROLLBACK_HISTORY_MAX):
// Releases::forget_gone on a file state store.
#include <gtest/gtest.h>

#include <algorithm>

#include "rollback/image.hpp"
#include "state/store.hpp"
#include "support/process.hpp"

using namespace orch;
using namespace orch::rollback;

namespace {

constexpr long long kHour = 3'600'000;

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST(ReleaseHistory, ServicesGoneLongerThanTheRetentionAreForgotten) {
  test::TempDir dir;
  auto store = make_file_state_store(dir.path());
  Releases releases(*store);
  for (const char* s : {"web", "api", "old"}) releases.record_start(s, std::string("sha256:") + s, std::string(s) + ":1", 0);
  const Millis week(7 * 24 * kHour);

  // "old" has no container from hour 1: marked, kept while within the retention.
  EXPECT_TRUE(releases.forget_gone({"web", "api"}, 1 * kHour, week, 1000).empty());
  EXPECT_TRUE(releases.get("old").contains("current"));
  EXPECT_TRUE(releases.forget_gone({"web", "api"}, 100 * kHour, week, 1000).empty());
  // Beyond the retention it is forgotten; the others, which have containers, never are.
  EXPECT_EQ(releases.forget_gone({"web", "api"}, 1 * kHour + week.count() + 1, week, 1000), std::vector<std::string>{"old"});
  EXPECT_FALSE(releases.get("old").contains("current"));
  EXPECT_TRUE(releases.get("web").contains("current"));
  EXPECT_TRUE(releases.get("api").contains("current"));
}

TEST(ReleaseHistory, AServiceThatComesBackKeepsItsHistory) {
  test::TempDir dir;
  auto store = make_file_state_store(dir.path());
  Releases releases(*store);
  releases.record_start("web", "sha256:1", "web:1", 0);
  const Millis day(24 * kHour);
  releases.forget_gone({}, 1 * kHour, day, 1000);                        // gone from hour 1
  releases.forget_gone({"web"}, 20 * kHour, day, 1000);                  // back before the retention ran out
  EXPECT_TRUE(releases.forget_gone({}, 30 * kHour, day, 1000).empty());  // gone again: counted from hour 30
  EXPECT_TRUE(releases.get("web").contains("current"));
  EXPECT_EQ(releases.forget_gone({}, 30 * kHour + day.count() + 1, day, 1000), std::vector<std::string>{"web"});
}

TEST(ReleaseHistory, BeyondTheMaximumThoseGoneLongestGoFirstNeverOneWithAContainer) {
  test::TempDir dir;
  auto store = make_file_state_store(dir.path());
  Releases releases(*store);
  for (const char* s : {"a", "b", "c", "d", "e"}) releases.record_start(s, std::string("sha256:") + s, s, 0);
  const Millis year(365 * 24 * kHour);
  releases.forget_gone({"a", "b", "c", "d"}, 1 * kHour, year, 1000);  // e gone since hour 1
  releases.forget_gone({"a", "b", "c"}, 2 * kHour, year, 1000);       // d gone since hour 2
  // At most 3: e (gone longest) then d are dropped, although within the retention.
  EXPECT_EQ(sorted(releases.forget_gone({"a", "b", "c"}, 3 * kHour, year, 3)), (std::vector<std::string>{"d", "e"}));
  // At most 1, all three have containers: none is dropped.
  EXPECT_TRUE(releases.forget_gone({"a", "b", "c"}, 4 * kHour, year, 1).empty());
  for (const char* s : {"a", "b", "c"}) EXPECT_TRUE(releases.get(s).contains("current")) << s;
}

}  // namespace
