// The person-stop rule (lib/heal/exit_cause) on made-up containers and events: what the engine's
// events say wins; where they are incomplete, only a process's own exit code is a crash.
#include "heal/exit_cause.hpp"

#include <gtest/gtest.h>

using namespace orch;
using namespace orch::heal;

namespace {

constexpr long long kS = 1'000'000'000LL;
constexpr long long kStart = 1767323045LL * kS;  // 2026-01-02T03:04:05Z
constexpr long long kFinish = kStart + 60 * kS;  // one minute later

docker::ContainerInfo exited(int code) {
  docker::ContainerInfo c;
  c.id = "abc";
  c.name = "app";
  c.status = "exited";
  c.exit_code = code;
  c.started_at = "2026-01-02T03:04:05Z";
  c.finished_at = "2026-01-02T03:05:05Z";
  return c;
}

docker::EventMessage event(const std::string& action, long long at, const std::string& signal = "") {
  docker::EventMessage m;
  m.type = "container";
  m.id = "abc";
  m.action = action;
  m.time_nano = at;
  if (!signal.empty()) m.attributes["signal"] = signal;
  return m;
}

StopEvidence complete_from(long long t) {
  StopEvidence ev;
  ev.complete_from_ns = t;
  return ev;
}

TEST(ExitCause, KillOrStopAroundTheExitIsAPersonsStop) {
  auto ev = complete_from(kStart - 100 * kS);
  ev.add(event("kill", kFinish - 1 * kS, "15"));
  ev.add(event("kill", kFinish, "9"));
  ev.add(event("die", kFinish));
  ev.add(event("stop", kFinish + kS / 10));
  EXPECT_EQ(exit_cause(exited(137), ev).cause, ExitCause::stopped);
  auto only_stop = complete_from(kStart);
  only_stop.add(event("stop", kFinish + kS / 10));  // SIGTERM obeyed after a long stop timeout
  EXPECT_EQ(exit_cause(exited(143), only_stop).cause, ExitCause::stopped);
}

TEST(ExitCause, CompleteEventsWithoutAStopMeanACrash) {
  auto ev = complete_from(kStart - 100 * kS);
  ev.add(event("die", kFinish));
  auto v = exit_cause(exited(137), ev);
  EXPECT_EQ(v.cause, ExitCause::crashed) << v.why;
}

TEST(ExitCause, EventsOfAnEarlierRunOrAReloadSignalDoNotCount) {
  auto ev = complete_from(kStart - 100 * kS);
  ev.add(event("kill", kStart - 2 * kS, "15"));  // orch's (or a person's) restart before this run
  ev.add(event("stop", kStart - 1 * kS));
  ev.add(event("kill", kFinish - 3 * kS, "1"));  // SIGHUP: reload, not stop
  EXPECT_EQ(exit_cause(exited(1), ev).cause, ExitCause::crashed);
  ev.add(event("kill", kFinish - 20 * kS, "9"));  // too long before the exit
  EXPECT_EQ(exit_cause(exited(1), ev).cause, ExitCause::crashed);
}

TEST(ExitCause, TheStopTimeoutWidensTheWindow) {
  auto c = exited(143);
  c.stop_timeout = 60;
  auto ev = complete_from(kStart - 100 * kS);
  ev.add(event("kill", kFinish - 50 * kS, "15"));
  EXPECT_EQ(exit_cause(c, ev).cause, ExitCause::stopped);
}

TEST(ExitCause, IncompleteEventsDecideByTheExitCode) {
  const auto late = complete_from(kFinish - 2 * kS);  // log begins just before the exit
  for (int code : {130, 131, 137, 143}) EXPECT_EQ(exit_cause(exited(code), late).cause, ExitCause::unknown) << code;
  for (int code : {1, 3, 134, 139}) EXPECT_EQ(exit_cause(exited(code), late).cause, ExitCause::crashed) << code;
  auto usr1 = exited(138);  // 128 + SIGUSR1, the container's StopSignal
  usr1.raw = {{"Config", {{"StopSignal", "SIGUSR1"}}}};
  EXPECT_EQ(exit_cause(usr1, StopEvidence{}).cause, ExitCause::unknown);
  EXPECT_EQ(exit_cause(exited(138), StopEvidence{}).cause, ExitCause::crashed);
}

TEST(ExitCause, OomIsACrashEvenWithAKill) {
  auto c = exited(137);
  c.oom_killed = true;
  auto ev = complete_from(kStart);
  ev.add(event("kill", kFinish, "9"));
  EXPECT_EQ(exit_cause(c, ev).cause, ExitCause::crashed);
}

}  // namespace
