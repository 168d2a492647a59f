// Token buckets per client address, driven by a fake clock.
#include <gtest/gtest.h>

#include "http/rate_limit.hpp"

using namespace orch;
using namespace std::chrono_literals;

TEST(TokenBuckets, AClientGetsItsLimitAtOnceThenWaits) {
  FakeClock clock;
  http::TokenBuckets buckets(3, clock);  // 3 a minute: one token every 20 s
  for (int i = 0; i < 3; ++i) EXPECT_EQ(buckets.take("10.0.0.1"), 0ms) << i;
  EXPECT_EQ(buckets.take("10.0.0.1"), 20'000ms);
  EXPECT_EQ(buckets.wait_for("10.0.0.1"), 20'000ms);
  // Another address has its own bucket.
  EXPECT_EQ(buckets.take("10.0.0.2"), 0ms);

  clock.advance(15s);
  EXPECT_EQ(buckets.wait_for("10.0.0.1"), 5'000ms);
  EXPECT_EQ(buckets.take("10.0.0.1"), 5'000ms) << "a refused request takes nothing";
  clock.advance(5s);
  EXPECT_EQ(buckets.take("10.0.0.1"), 0ms);
  EXPECT_EQ(buckets.take("10.0.0.1"), 20'000ms);
}

TEST(TokenBuckets, RefillStopsAtTheLimit) {
  FakeClock clock;
  http::TokenBuckets buckets(2, clock);
  EXPECT_EQ(buckets.take("a"), 0ms);
  clock.advance(1h);
  EXPECT_EQ(buckets.take("a"), 0ms);
  EXPECT_EQ(buckets.take("a"), 0ms);
  EXPECT_GT(buckets.take("a"), 0ms) << "an idle hour must not bank more than the limit";
  EXPECT_EQ(buckets.clients(), 1u);
  clock.advance(1h);
  EXPECT_EQ(buckets.wait_for("a"), 0ms);
  EXPECT_EQ(buckets.clients(), 0u) << "a bucket found full again is forgotten";
}

TEST(TokenBuckets, WaitForTakesNothingAndZeroMeansNoLimit) {
  FakeClock clock;
  http::TokenBuckets buckets(1, clock);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(buckets.wait_for("a"), 0ms);
  EXPECT_EQ(buckets.take("a"), 0ms);
  EXPECT_EQ(buckets.wait_for("a"), 60'000ms);

  http::TokenBuckets unlimited(0, clock);
  EXPECT_FALSE(unlimited.enabled());
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(unlimited.take("a"), 0ms);
  EXPECT_EQ(unlimited.clients(), 0u);
}

TEST(TokenBuckets, TheTableIsBoundedAndDropsIdleClientsFirst) {
  FakeClock clock;
  http::TokenBuckets buckets(2, clock, 3);
  // "busy" spends all its tokens; the others spend one and then refill while idle.
  EXPECT_EQ(buckets.take("busy"), 0ms);
  EXPECT_EQ(buckets.take("busy"), 0ms);
  EXPECT_EQ(buckets.take("idle-1"), 0ms);
  EXPECT_EQ(buckets.take("idle-2"), 0ms);
  clock.advance(30s);  // idle-1 and idle-2 are full again; busy has only one token
  EXPECT_EQ(buckets.take("new"), 0ms);
  EXPECT_EQ(buckets.clients(), 2u) << "both idle clients were dropped, busy was kept";
  EXPECT_EQ(buckets.take("new"), 0ms);
  EXPECT_GT(buckets.take("new"), 0ms);
  clock.advance(1s);
  EXPECT_EQ(buckets.take("busy"), 0ms);
  EXPECT_GT(buckets.take("busy"), 0ms) << "the busy client's state survived";

  // With nobody idle, the least recently seen client makes room.
  clock.advance(1s);
  EXPECT_EQ(buckets.take("x"), 0ms);  // new, busy, x: a full table
  clock.advance(1s);
  EXPECT_EQ(buckets.take("y"), 0ms);
  EXPECT_EQ(buckets.clients(), 3u);
  EXPECT_EQ(buckets.wait_for("new"), 0ms) << "new was the least recently seen: dropped, it starts afresh";
  EXPECT_GT(buckets.wait_for("busy"), 0ms);
}
