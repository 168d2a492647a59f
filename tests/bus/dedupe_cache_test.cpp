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

TEST(DedupeCache, AKeyErasedAndSeenAgainIsForgottenByItsNewAge) {
  // The erased key's old place in the order must not evict its new entry: over the cap, the
  // oldest key seen goes (b), not the one seen again last but one (a).
  DedupeCache seen(2);
  const auto t0 = DedupeCache::Clock::time_point{} + 1h;
  EXPECT_TRUE(seen.insert("a", 1h, t0));
  seen.erase("a");  // its publish failed
  EXPECT_TRUE(seen.insert("b", 1h, t0 + 1s));
  EXPECT_TRUE(seen.insert("a", 1h, t0 + 2s));  // delivered again
  EXPECT_TRUE(seen.insert("c", 1h, t0 + 3s));
  EXPECT_FALSE(seen.insert("a", 1h, t0 + 4s)) << "a, seen again at +2 s, was forgotten before b (+1 s)";
  EXPECT_TRUE(seen.insert("b", 1h, t0 + 5s));
}

TEST(DedupeCache, EraseAndInsertCyclesOfOneKeyStayWithinTheCap) {
  // A publish failing again and again for one redelivered key (Redis down) must not grow the cache.
  DedupeCache seen(4);
  const auto t0 = DedupeCache::Clock::time_point{} + 1h;
  for (int i = 0; i < 10'000; ++i) {
    EXPECT_TRUE(seen.insert("k", 1h, t0 + std::chrono::milliseconds(i)));
    seen.erase("k");
  }
  EXPECT_LE(seen.entries(), 8u);
}
