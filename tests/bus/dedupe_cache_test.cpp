#include "bus/dedupe_cache.hpp"

#include <gtest/gtest.h>

using namespace orch;
using namespace std::chrono_literals;

TEST(DedupeCache, AKeyIsADuplicateUntilItsWindowEnds) {
  DedupeCache seen;
  const auto t0 = DedupeCache::Clock::time_point{} + 1h;
  EXPECT_TRUE(seen.insert("k", 10s, t0));
  EXPECT_FALSE(seen.insert("k", 10s, t0 + 9s));
  EXPECT_TRUE(seen.insert("k", 10s, t0 + 10s));  // the window ended: new again, for another 10 s
  EXPECT_FALSE(seen.insert("k", 10s, t0 + 19s));
}

TEST(DedupeCache, AnErasedKeyIsNewAgain) {
  DedupeCache seen;
  const auto t0 = DedupeCache::Clock::time_point{} + 1h;
  EXPECT_TRUE(seen.insert("k", 10s, t0));
  seen.erase("k");
  EXPECT_TRUE(seen.insert("k", 10s, t0 + 1s));
}

TEST(DedupeCache, OverItsSizeTheOldestKeysAreForgotten) {
  DedupeCache seen(3);
  const auto t0 = DedupeCache::Clock::time_point{} + 1h;
  for (const char* k : {"a", "b", "c", "d"}) EXPECT_TRUE(seen.insert(k, 1h, t0));
  EXPECT_TRUE(seen.insert("a", 1h, t0));   // dropped when d came in
  EXPECT_FALSE(seen.insert("d", 1h, t0));  // still remembered
}
