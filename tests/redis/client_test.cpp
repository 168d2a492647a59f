// redis::Client against a real redis-server: it connects on first use, reconnects after Redis
// comes back, and while Redis is down spaces its connect attempts by a doubling backoff instead of
// trying on every call. And REDIS_URL parsing.
#include "redis/client.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "support/process.hpp"
#include "support/redis_server.hpp"

using namespace orch;
using namespace orch::test;
using namespace std::chrono_literals;

namespace {

// True when the call failed without trying to connect (a backoff was running).
bool skipped(const UnreachableError& e) { return std::string(e.what()).find("next attempt in") != std::string::npos; }

TEST(RedisClient, ReconnectsOnTheNextUseAfterRedisComesBack) {
  RedisServer server;
  int connects = 0;
  redis::Client c(redis::parse_url(server.url()), {.on_connect = [&](redis::Connection&) { ++connects; }});
  EXPECT_EQ(c.command({"PING"}).str, "PONG");
  EXPECT_TRUE(c.connected());
  server.stop();
  EXPECT_THROW(c.command({"PING"}), UnreachableError);
  EXPECT_FALSE(c.connected());
  server.start();
  ASSERT_TRUE(eventually(
      [&] {
        try {
          return c.command({"PING"}).str == "PONG";
        } catch (const UnreachableError&) {
          return false;
        }
      },
      10s));
  EXPECT_TRUE(c.connected());
  EXPECT_EQ(connects, 2) << "on_connect runs on every new connection";
}

TEST(RedisClient, WhileRedisIsDownAttemptsAreSpacedByADoublingBackoff) {
  redis::Client c(redis::Url{"127.0.0.1", refused_port()}, {.connect_timeout = 200ms, .max_backoff = 400ms});
  EXPECT_THROW(c.command({"PING"}), UnreachableError);
  EXPECT_GT(c.retry_in().count(), 0) << "a failed connect starts the backoff";
  std::this_thread::sleep_for(c.retry_in());
  int attempts = 1, calls = 1;
  const auto until = std::chrono::steady_clock::now() + 1400ms;
  while (std::chrono::steady_clock::now() < until) {
    ++calls;
    try {
      c.command({"PING"});
      FAIL() << "nothing listens there";
    } catch (const UnreachableError& e) {
      if (!skipped(e)) ++attempts;
    }
    std::this_thread::sleep_for(5ms);
  }
  // At 0, 100, 300, 700, 1100, 1500 ms (the backoff stops doubling at 400 ms): 6 attempts, not one per call.
  EXPECT_GE(attempts, 5) << calls << " calls";
  EXPECT_LE(attempts, 7) << calls << " calls";
  EXPECT_GT(calls, 100);
  EXPECT_NE(c.last_error().find("127.0.0.1"), std::string::npos) << c.last_error();
}

TEST(RedisClient, AnErrorReplyKeepsTheConnection) {
  RedisServer server;
  redis::Client c(redis::parse_url(server.url()));
  c.command({"SET", "k", "v"});
  EXPECT_THROW(c.command({"INCR", "k"}), redis::ReplyError);
  EXPECT_TRUE(c.connected());
  EXPECT_EQ(c.command({"GET", "k"}).str, "v");
}

TEST(RedisUrl, ParsesWhatRedisUrlsSay) {
  auto u = redis::parse_url("redis://user:pw@cache.internal:6390/2");
  EXPECT_EQ(u.host, "cache.internal");
  EXPECT_EQ(u.port, 6390);
  EXPECT_EQ(u.username, "user");
  EXPECT_EQ(u.password, "pw");
  EXPECT_EQ(u.db, 2);
  auto d = redis::parse_url("redis://redis");
  EXPECT_EQ(d.port, 6379);
  EXPECT_EQ(d.db, 0);
  EXPECT_THROW(redis::parse_url("http://redis:6379"), ConfigError);
  EXPECT_THROW(redis::parse_url("redis://redis:63x9"), ConfigError);
  EXPECT_THROW(redis::parse_url("redis://redis:6379/1x"), ConfigError);
  EXPECT_THROW(redis::parse_url("redis://redis:99999"), ConfigError);
}

}  // namespace
