// `orch status` against a scripted orch serve (its /health and /status documents written by the
// test): containers told by state with the troubled ones named, what is quarantined, a degraded
// service, the states coloured on a terminal, and an answer that is not a document.
#include <gtest/gtest.h>

#include "core/json.hpp"
#include "support/http_stub.hpp"
#include "support/process.hpp"
#include "support/require.hpp"
#include "support/terminal.hpp"

using namespace orch;
using namespace orch::test;
using namespace std::chrono_literals;

namespace status_summary_test {

using Env = std::map<std::string, std::string>;

const json kTroubledHealth = {
    {"status", "degraded"},
    {"version", "9.9.9"},
    {"uptime_s", 7200},
    {"components",
     {{"redis", json{{"status", "ok"}}},
      {"services", {{"web", {{"status", "ok"}, {"response_ms", 12}}}, {"api", {{"status", "degraded"}, {"error", "slow answers"}}}}}}}};

const json kTroubledStatus = {{"containers",
                               {{{"name", "web-1"}, {"state", "running"}, {"health", "healthy"}, {"status", "Up 2 hours"}},
                                {{"name", "worker-1"}, {"state", "exited"}, {"status", "Exited (1) 3 minutes ago"}},
                                {{"name", "db-1"}, {"state", "running"}, {"health", "unhealthy"}, {"status", "Up 1 hour (unhealthy)"}}}},
                              {"quarantine", json{{"worker-1", json{{"reason", "crash loop: 5 restarts in 10m"}}}}}};

// orch serve as `orch status` sees it: /health and /status answer these documents.
HttpStub serve_answering(const json& health, const json& status) {
  return HttpStub([health, status](const ReceivedRequest& r) {
    if (r.path == "/health") return StubAnswer{200, health.dump()};
    if (r.path == "/status") return StubAnswer{200, status.dump()};
    return StubAnswer{404, R"({"error":"not_found"})"};
  });
}

Env env_for(const HttpStub& orch) { return {{"ORCH_URL", orch.url()}, {"ORCH_CONFIG", ""}, {"REDIS_URL", ""}, {"NO_COLOR", "1"}}; }

TEST(StatusSummary, TroubledContainersAndTheQuarantineAreNamedAndExitIs2) {
  auto orch = serve_answering(kTroubledHealth, kTroubledStatus);
  auto r = run({ORCH_BINARY, "status"}, env_for(orch));
  EXPECT_EQ(r.code, 2) << r.output;  // a container exited, another is unhealthy
  EXPECT_NE(r.output.find("orch serve 9.9.9 at " + orch.url() + ": degraded, up 2h"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("services: 1/2 up"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("slow answers"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("containers: 3 (1 exited, 1 healthy, 1 unhealthy)\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\n  worker-1 exited (Exited (1) 3 minutes ago)\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\n  db-1 unhealthy (Up 1 hour (unhealthy))\n"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("web-1"), std::string::npos) << "a healthy container is counted, not listed:\n" << r.output;
  EXPECT_NE(r.output.find("quarantined (no more heals; lift with orch heal --reset NAME):\n"
                          "  worker-1                crash loop: 5 restarts in 10m\n"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find('\033'), std::string::npos) << "colours under NO_COLOR";
}

TEST(StatusSummary, ADegradedServiceWithRunningContainersIsAWarning) {
  const json health = {{"status", "degraded"},
                       {"version", "9.9.9"},
                       {"components", {{"services", {{"web", {{"status", "ok"}}}, {"api", {{"status", "degraded"}}}}}}}};
  const json status = {
      {"containers", json::array({json{{"name", "web-1"}, {"state", "running"}, {"health", "none"}, {"status", "Up 5 minutes"}}})}};
  auto orch = serve_answering(health, status);
  auto r = run({ORCH_BINARY, "status"}, env_for(orch));
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("containers: 1 (1 running)\n"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("quarantined"), std::string::npos) << r.output;
}

TEST(StatusSummary, StatesAreColouredOnATerminal) {
  ORCH_REQUIRE(have_tmux()) << "tmux (scripts/install-deps.sh installs it)";
  auto orch = serve_answering(kTroubledHealth, kTroubledStatus);
  Terminal term({ORCH_BINARY, "status"}, {{"ORCH_URL", orch.url()}, {"ORCH_CONFIG", ""}, {"REDIS_URL", ""}, {"NO_COLOR", "\x01unset"}},
                120);
  ASSERT_TRUE(eventually([&] { return term.screen().find("quarantined") != std::string::npos; }, 10s)) << term.screen();
  const auto screen = term.screen(true);
  EXPECT_NE(screen.find("\033[33mdegraded"), std::string::npos) << screen;         // the verdict: yellow
  EXPECT_NE(screen.find("\033[32mok"), std::string::npos) << screen;               // a service up: green
  EXPECT_NE(screen.find("\033[31mworker-1 exited"), std::string::npos) << screen;  // a container down: red
}

TEST(StatusSummary, AnAnswerThatIsNotADocumentIsUnreachable) {
  HttpStub proxy([](const ReceivedRequest&) { return StubAnswer{502, "<html>Bad Gateway</html>", "text/html"}; });
  auto r = run({ORCH_BINARY, "status"}, env_for(proxy));
  EXPECT_EQ(r.code, 3) << r.output;
  EXPECT_NE(r.output.find("orch serve at " + proxy.url() + "/health answered 502 without a JSON document"), std::string::npos) << r.output;
}

}  // namespace status_summary_test
