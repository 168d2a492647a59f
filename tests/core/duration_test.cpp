#include "core/duration.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

using namespace orch;

TEST(Duration, ParsesUnitsAndBareSeconds) {
  EXPECT_EQ(parse_duration("250ms").count(), 250);
  EXPECT_EQ(parse_duration("30s").count(), 30'000);
  EXPECT_EQ(parse_duration("10m").count(), 600'000);
  EXPECT_EQ(parse_duration("1h30m").count(), 5'400'000);
  EXPECT_EQ(parse_duration("45").count(), 45'000);
}

TEST(Duration, RejectsGarbage) {
  EXPECT_THROW(parse_duration(""), ConfigError);
  EXPECT_THROW(parse_duration("10x"), ConfigError);
  EXPECT_THROW(parse_duration("abc"), ConfigError);
  // Numbers that do not parse or do not fit are configuration errors too, not std:: exceptions.
  EXPECT_THROW(parse_duration(".s"), ConfigError);
  EXPECT_THROW(parse_duration("1.2.3s"), ConfigError);
  EXPECT_THROW(parse_duration("99999999999999999999"), ConfigError);
  EXPECT_THROW(parse_duration("99999999999999999999999999d"), ConfigError);
  EXPECT_THROW(parse_duration("9000000000000"), ConfigError);
}

TEST(Duration, BackoffRange) {
  auto b = parse_backoff("10s:300s");
  EXPECT_EQ(b.min.count(), 10'000);
  EXPECT_EQ(b.max.count(), 300'000);
  EXPECT_THROW(parse_backoff("300s:10s"), ConfigError);
  EXPECT_THROW(parse_backoff("10s"), ConfigError);
}

TEST(Duration, FormatsRoundValues) {
  EXPECT_EQ(format_duration(Millis(600'000)), "10m");
  EXPECT_EQ(format_duration(Millis(1500)), "1500ms");
}
