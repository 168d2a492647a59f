// The heal policy on a fake clock.
#include "heal/policy.hpp"

#include <gtest/gtest.h>

#include "config/config.hpp"

using namespace orch;
using namespace orch::heal;
using namespace std::chrono_literals;

namespace {

Policy defaults() { return Policy{}; }

struct PolicyTest : ::testing::Test {
  FakeClock clock;
  Tracker tracker{42};
  // Fails and, if the verdict is restart, waits out the delay and restarts.
  Decision fail_and_heal(const std::string& c, const Policy& p) {
    auto d = tracker.on_failure(c, p, clock.now());
    if (d.verdict == Verdict::restart) {
      clock.advance(d.delay);
      tracker.on_restarted(c, clock.now());
    }
    return d;
  }
};

TEST_F(PolicyTest, FirstRestartIsImmediateThenTenSecondsDoubling) {
  auto p = defaults();
  auto d1 = fail_and_heal("web", p);
  EXPECT_EQ(d1.verdict, Verdict::restart);
  EXPECT_EQ(d1.delay.count(), 0);
  EXPECT_EQ(d1.attempt, 1);
  std::vector<double> expected = {10, 20, 40, 80};
  for (double want : expected) {
    auto d = fail_and_heal("web", p);
    ASSERT_EQ(d.verdict, Verdict::restart);
    EXPECT_NEAR(d.delay.count() / 1000.0, want, want * 0.10 + 0.001) << "jitter is ±10 %";
  }
}

TEST_F(PolicyTest, BackoffIsCappedAt300Seconds) {
  Policy p;
  p.max_restarts = 100;
  p.window = 1ms;  // budget out of the way
  Decision d;
  for (int i = 0; i < 12; ++i) d = fail_and_heal("c", p);
  EXPECT_LE(d.delay.count(), 330'000);
  EXPECT_GE(d.delay.count(), 270'000);
}

TEST_F(PolicyTest, BudgetExhaustedMeansQuarantine) {
  Policy p;
  p.max_restarts = 5;
  for (int i = 0; i < 5; ++i) ASSERT_EQ(fail_and_heal("c", p).verdict, Verdict::restart) << i;
  auto d = tracker.on_failure("c", p, clock.now());
  EXPECT_EQ(d.verdict, Verdict::quarantine);
  tracker.quarantine("c", clock.now(), d.reason);
  EXPECT_TRUE(tracker.quarantined("c"));
  EXPECT_EQ(tracker.on_failure("c", p, clock.now()).verdict, Verdict::ignore);
  tracker.reset("c");
  EXPECT_EQ(tracker.on_failure("c", p, clock.now()).verdict, Verdict::restart);
}

TEST_F(PolicyTest, HealsOlderThanTheWindowDoNotCount) {
  Policy p;
  p.max_restarts = 2;
  p.window = 30min;
  fail_and_heal("c", p);
  fail_and_heal("c", p);
  clock.advance(31min);
  EXPECT_EQ(tracker.on_failure("c", p, clock.now()).verdict, Verdict::restart);
}

TEST_F(PolicyTest, TenMinutesHealthyResetsTheBackoff) {
  auto p = defaults();
  fail_and_heal("c", p);
  fail_and_heal("c", p);
  fail_and_heal("c", p);  // next would wait ~40 s
  tracker.on_healthy("c", clock.now());
  clock.advance(9min);
  auto not_yet = tracker.on_failure("c", p, clock.now());
  EXPECT_EQ(not_yet.attempt, 4);
  tracker.on_healthy("c", clock.now());
  clock.advance(11min);
  auto d = tracker.on_failure("c", p, clock.now());
  EXPECT_EQ(d.attempt, 1);
  EXPECT_EQ(d.delay.count(), 0);
}

TEST_F(PolicyTest, QuarantineListRoundTrips) {
  tracker.quarantine("a", clock.now(), "5 heals within 30m");
  Tracker other;
  other.load_quarantine(tracker.quarantine_list());
  EXPECT_TRUE(other.quarantined("a"));
  EXPECT_FALSE(other.quarantined("b"));
}

TEST(PolicyFor, SettingsServiceAndLabelsInThatOrder) {
  ConfigInputs in;
  in.env = std::map<std::string, std::string>{{"ORCH_HEAL_MAX_RESTARTS", "7"}, {"ORCH_HEAL_BACKOFF", "1s:5s"}};
  auto cfg = load_config(in);
  ServiceSpec svc;
  svc.heal.window = std::chrono::minutes(5);
  auto p = policy_for(cfg.settings, &svc, {});
  EXPECT_EQ(p.max_restarts, 7);
  EXPECT_EQ(p.window.count(), 300'000);
  EXPECT_EQ(p.backoff.min.count(), 1000);
  std::vector<std::string> warnings;
  auto q = policy_for(cfg.settings, &svc,
                      {{"orch.heal.max-restarts", "2"}, {"orch.heal.backoff", "2s:4s"}, {"orch.stop.timeout", "3s"},
                       {"orch.heal.window", "nonsense"}},
                      &warnings);
  EXPECT_EQ(q.max_restarts, 2);
  EXPECT_EQ(q.backoff.max.count(), 4000);
  EXPECT_EQ(*q.stop_timeout_s, 3);
  EXPECT_EQ(q.window.count(), 300'000);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("orch.heal.window"), std::string::npos);
}

}  // namespace
