#include "diagnose/conditions.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "support/process.hpp"

using namespace orch;
using namespace orch::diagnose;

TEST(Conditions, StatusAndResponseTime) {
  Probe p{200, 120, ""};
  EXPECT_TRUE(parse_condition("[STATUS] == 200").holds(p, nullptr));
  EXPECT_FALSE(parse_condition("[STATUS] != 200").holds(p, nullptr));
  EXPECT_TRUE(parse_condition("[RESPONSE_TIME] < 500").holds(p, nullptr));
  EXPECT_FALSE(parse_condition("[RESPONSE_TIME] < 100").holds(p, nullptr));
  EXPECT_TRUE(parse_condition("[STATUS] >= 200").holds(p, nullptr));
  EXPECT_TRUE(parse_condition("[STATUS] <= 299").holds(p, nullptr));
}

TEST(Conditions, BodyPaths) {
  Probe p{200, 1, ""};
  json body = {{"status", "ok"}, {"checks", {{"db", "up"}, {"queue", 12}}}, {"ready", true}};
  EXPECT_TRUE(parse_condition("[BODY].status == ok").holds(p, body));
  EXPECT_FALSE(parse_condition("[BODY].status == degraded").holds(p, body));
  EXPECT_TRUE(parse_condition("[BODY].checks.db != down").holds(p, body));
  EXPECT_TRUE(parse_condition("[BODY].checks.queue <= 100").holds(p, body));
  EXPECT_FALSE(parse_condition("[BODY].checks.queue > 100").holds(p, body));
  EXPECT_TRUE(parse_condition("[BODY].ready == true").holds(p, body));
  EXPECT_FALSE(parse_condition("[BODY].missing == x").holds(p, body));
  EXPECT_TRUE(parse_condition("[BODY].missing != x").holds(p, body));
  EXPECT_FALSE(parse_condition("[BODY].status == ok").holds(p, nullptr));  // body not JSON
}

TEST(Conditions, BadConditionsAreConfigErrors) {
  for (const char* bad : {"[STATUS] = 200", "[STATUS]==200", "[CODE] == 200", "[STATUS] == ok", "[BODY]status == ok",
                          "[BODY]. == x", "[RESPONSE_TIME] < fast", "[BODY].a < b", "[STATUS] == "})
    EXPECT_THROW(parse_condition(bad), ConfigError) << bad;
}

TEST(Conditions, ConfigCheckRejectsABadConditionWith78) {
  orch::test::TempDir d;
  orch::test::write_file(d.file("orch.yaml"), "services:\n  web:\n    url: http://127.0.0.1:1\n    expect: [\"[STATUS] = 200\"]\n");
  auto r = orch::test::run({ORCH_BINARY, "config", "--check", "--config", d.file("orch.yaml")});
  EXPECT_EQ(r.code, 78) << r.output;
  EXPECT_NE(r.output.find("[STATUS] = 200"), std::string::npos) << r.output;
}
