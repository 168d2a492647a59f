// What `orch watch` prints (docs/heal.md "orch watch"): the human line of each event type, with
// and without colour, the signal a kill or an exit code stands for, the filters, each event once,
// engine events as CloudEvents, and the one line per lost and regained source.
#include <gtest/gtest.h>

#include <sstream>

#include "watch/format.hpp"

using namespace orch;
using namespace orch::watch;

namespace {

constexpr const char* kRed = "\033[31m";
constexpr const char* kYellow = "\033[33m";
constexpr const char* kGreen = "\033[32m";
constexpr const char* kReset = "\033[0m";

Event event(const std::string& type, const std::string& subject, json data = json::object()) {
  Event e;
  e.type = type;
  e.subject = subject;
  e.time = "2026-11-30T09:41:02.123Z";
  e.data = std::move(data);
  return e;
}

std::string padded(std::string type) {
  type.resize(std::max<size_t>(type.size(), 20), ' ');
  return type;
}

// Every type of SPEC §4 (and the swarm and heal ones docs/swarm.md and docs/heal.md add), and the
// colour an operator reads it in: red for what is broken, yellow for what orch did about it or
// what is half-well, green for the rest.
TEST(HumanLine, EveryEventTypeHasItsColourAndThePlainLineWithoutColour) {
  const std::vector<std::pair<std::string, const char*>> types = {
      {"content.published", kGreen}, {"content.unpublished", kGreen},  {"content.deleted", kGreen},   {"content.changed", kGreen},
      {"ingest.started", kGreen},    {"ingest.progress", kGreen},      {"ingest.succeeded", kGreen},  {"ingest.failed", kRed},
      {"container.started", kGreen}, {"container.died", kRed},         {"container.oom", kRed},       {"container.unhealthy", kRed},
      {"container.healthy", kGreen}, {"heal.restarted", kYellow},      {"heal.failed", kRed},         {"heal.quarantined", kRed},
      {"heal.recovered", kGreen},    {"heal.reset", kGreen},           {"heal.left_alone", kGreen},   {"service.up", kGreen},
      {"service.down", kRed},        {"service.degraded", kYellow},    {"rollback.started", kYellow}, {"rollback.succeeded", kYellow},
      {"rollback.failed", kRed},     {"synctest.passed", kGreen},      {"synctest.failed", kRed},     {"swarm.node.down", kRed},
      {"swarm.node.ready", kGreen},  {"swarm.service.update", kGreen},
  };
  for (const auto& [type, colour] : types) {
    const auto e = event(type, "web-1");
    EXPECT_EQ(human_line(e, false), "09:41:02.123  " + padded(type) + "  web-1") << type;
    EXPECT_EQ(human_line(e, true), "09:41:02.123  " + std::string(colour) + padded(type) + kReset + "  web-1") << type;
  }
}

TEST(HumanLine, DataIsKeyEqualsValueWithoutEmptiesOrTheSubjectAgain) {
  auto e = event("heal.restarted", "web-1",
                 {{"container", "web-1"},
                  {"attempt", 2},
                  {"reason", "unhealthy"},
                  {"next_delay_s", 4.5},
                  {"error", ""},
                  {"image", nullptr},
                  {"service", "web"},
                  {"stages", json::array({"docling", "rag"})}});
  // nlohmann's object keeps keys sorted: the line is stable from one run to the next.
  EXPECT_EQ(human_line(e, false),
            "09:41:02.123  heal.restarted        web-1  attempt=2  next_delay_s=4.5  reason=unhealthy  service=web  "
            "stages=[\"docling\",\"rag\"]");
  // A container that is not the subject is shown (a dependent restarted for another's sake).
  auto other = event("heal.restarted", "web-1", {{"container", "api-1"}});
  EXPECT_EQ(human_line(other, false), "09:41:02.123  heal.restarted        web-1  container=api-1");
  // A type longer than the column pushes the subject on rather than being cut.
  auto long_type = event("swarm.service.remove.long", "db");
  EXPECT_EQ(human_line(long_type, false), "09:41:02.123  swarm.service.remove.long  db");
  // A time that is not RFC 3339 with milliseconds is shown as it came.
  auto odd_time = event("service.up", "web");
  odd_time.time = "yesterday";
  EXPECT_EQ(human_line(odd_time, false), "yesterday  " + padded("service.up") + "  web");
  // Data that is not an object adds nothing.
  auto no_object = event("service.up", "web", json::array({1}));
  EXPECT_EQ(human_line(no_object, false), "09:41:02.123  " + padded("service.up") + "  web");
}

TEST(HumanLine, AKillNamesItsSignalAndAnExitCodeAbove128TheSignalItStandsFor) {
  EXPECT_NE(human_line(event("container.kill", "web-1", {{"signal", 9}}), false).find("signal=9 (SIGKILL)"), std::string::npos);
  EXPECT_NE(human_line(event("container.kill", "web-1", {{"signal", 15}}), false).find("signal=15 (SIGTERM)"), std::string::npos);
  EXPECT_NE(human_line(event("container.kill", "web-1", {{"signal", 1}}), false).find("signal=1 (SIGHUP)"), std::string::npos);
  // A real-time signal has no short name: its number.
  EXPECT_NE(human_line(event("container.kill", "web-1", {{"signal", 34}}), false).find("signal=34 (signal 34)"), std::string::npos);
  EXPECT_NE(human_line(event("container.died", "web-1", {{"exit_code", 137}}), false).find("exit_code=137 (SIGKILL)"), std::string::npos);
  EXPECT_NE(human_line(event("container.died", "web-1", {{"exit_code", 143}}), false).find("exit_code=143 (SIGTERM)"), std::string::npos);
  EXPECT_NE(human_line(event("container.died", "web-1", {{"exit_code", 139}}), false).find("exit_code=139 (SIGSEGV)"), std::string::npos);
  // An application's own code is just a number: 3, 128 (no signal 0) and 255 (beyond the signals).
  for (int code : {3, 128, 255}) {
    const auto line = human_line(event("container.died", "web-1", {{"exit_code", code}}), false);
    EXPECT_EQ(line.substr(line.find("exit_code=")), "exit_code=" + std::to_string(code)) << line;
  }
  // A signal given as text (not the engine's number) is left as it came.
  const auto text = human_line(event("container.kill", "web-1", {{"signal", "KILL"}}), false);
  EXPECT_EQ(text.substr(text.find("signal=")), "signal=KILL");
}

TEST(Filter, ServicesAndTypesExactOrByPrefix) {
  const auto died = event("container.died", "web-1", {{"container", "web-1"}, {"service", "web"}});
  const auto restarted = event("heal.restarted", "api-1", {{"container", "api-1"}});
  const auto swarm_task = event("swarm.service.update", "stack/web");
  EXPECT_TRUE((Filter{}).matches(died));
  EXPECT_TRUE((Filter{{}, {"container.died"}}).matches(died));
  EXPECT_FALSE((Filter{{}, {"container.die"}}).matches(died));  // exact without a '*'
  EXPECT_TRUE((Filter{{}, {"container.*"}}).matches(died));
  EXPECT_FALSE((Filter{{}, {"heal.*"}}).matches(died));
  EXPECT_TRUE((Filter{{}, {"heal.*", "container.died"}}).matches(died));
  EXPECT_TRUE((Filter{{"web"}, {}}).matches(died));         // data.service
  EXPECT_TRUE((Filter{{"web-1"}, {}}).matches(died));       // the subject
  EXPECT_TRUE((Filter{{"api-1"}, {}}).matches(restarted));  // data.container
  EXPECT_FALSE((Filter{{"api"}, {}}).matches(restarted));
  EXPECT_TRUE((Filter{{"stack"}, {}}).matches(swarm_task));   // a subject under it
  EXPECT_FALSE((Filter{{"web"}, {"heal.*"}}).matches(died));  // both must hold
}

TEST(Dedupe, AContainerEventFromBothSourcesIsShownOnceOthersAlways) {
  Dedupe d;
  auto died = event("container.died", "web-1");
  EXPECT_TRUE(d.first_time(died));
  EXPECT_FALSE(d.first_time(died));  // the bus's copy of the engine's event
  auto later = died;
  later.time = "2026-11-30T09:41:03.000Z";
  EXPECT_TRUE(d.first_time(later));  // the same container dying again
  auto heal = event("heal.restarted", "web-1");
  EXPECT_TRUE(d.first_time(heal));
  EXPECT_TRUE(d.first_time(heal));  // one source only: never a copy
  // The newest kRemembered are remembered: the first falls out after that many others.
  for (size_t i = 0; i < Dedupe::kRemembered; ++i) {
    auto e = event("container.started", "c" + std::to_string(i));
    ASSERT_TRUE(d.first_time(e));
  }
  EXPECT_TRUE(d.first_time(died));
}

TEST(FromEngine, ContainerActionsKillSignalsAndSwarmEvents) {
  Config cfg;
  docker::EventMessage die{"container", "die", "abc", {{"name", "web-1"}, {"image", "web:1"}, {"exitCode", "137"}}, 1764495662123000000};
  auto e = from_engine(die, cfg);
  EXPECT_EQ(e.type, "container.died");
  EXPECT_EQ(e.subject, "web-1");
  EXPECT_EQ(e.data["exit_code"], 137);
  EXPECT_EQ(e.time, "2025-11-30T09:41:02.123Z");  // the engine's time, so both copies match
  EXPECT_NE(human_line(e, false).find("exit_code=137 (SIGKILL)"), std::string::npos);

  // An action orch does not publish is still shown: the action's word, the signal a number.
  docker::EventMessage kill{"container", "kill", "abc", {{"name", "web-1"}, {"signal", "15"}}, 0};
  auto k = from_engine(kill, cfg);
  EXPECT_EQ(k.type, "container.kill");
  EXPECT_EQ(k.data["signal"], 15);
  EXPECT_NE(human_line(k, false).find("signal=15 (SIGTERM)"), std::string::npos);
  docker::EventMessage exec{"container", "exec_start: sh -c true", "abc", {{"name", "web-1"}}, 0};
  EXPECT_EQ(from_engine(exec, cfg).type, "container.exec_start");

  docker::EventMessage node{"node", "update", "n1", {{"name", "vm"}, {"state.new", "down"}, {"state.old", "ready"}}, 0};
  auto n = from_engine(node, cfg);
  EXPECT_EQ(n.type, "swarm.node.down");
  EXPECT_EQ(human_line(n, true).substr(14, 5), kRed);
  docker::EventMessage service{"service", "update", "s1", {{"name", "web"}, {"replicas.new", "3"}}, 0};
  EXPECT_EQ(from_engine(service, cfg).type, "swarm.service.update");
}

TEST(ConnectionLine, OneLineWhenASourceGoesAndOneWhenItIsBackNeverPerRetry) {
  std::ostringstream out;
  ConnectionLine line("docker", out);
  line(true, "");  // connected at start: nothing to say
  EXPECT_EQ(out.str(), "");
  line(false, "unreachable at unix:///x.sock: refused");
  line(false, "unreachable at unix:///x.sock: refused");  // the retries
  line(false, "unreachable at unix:///x.sock: timed out");
  EXPECT_EQ(out.str(), "docker: unreachable at unix:///x.sock: refused (retrying)\n");
  line(true, "");
  line(true, "");
  EXPECT_EQ(out.str(), "docker: unreachable at unix:///x.sock: refused (retrying)\ndocker: connected again\n");

  // Down from the start: said once; back: said once.
  std::ostringstream first;
  ConnectionLine redis("redis", first);
  redis(false, "Connection refused");
  redis(true, "");
  redis(false, "Server closed the connection");
  EXPECT_EQ(first.str(), "redis: Connection refused (retrying)\nredis: connected again\nredis: Server closed the connection (retrying)\n");
}

}  // namespace
