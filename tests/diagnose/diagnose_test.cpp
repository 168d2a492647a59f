// orch diagnose against real HTTP servers, a real container and the real binary.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <sstream>
#include <thread>

#include "core/json.hpp"
#include "diagnose/report.hpp"
#include "support/docker_engine.hpp"
#include "support/http_stub.hpp"
#include "support/orch_server.hpp"
#include "support/receivers.hpp"
#include "support/redis_server.hpp"
#include "support/standins.hpp"
#include "support/require.hpp"
#include "support/terminal.hpp"

using namespace orch;
using namespace orch::test;
using namespace std::chrono_literals;

namespace {

using Env = std::map<std::string, std::string>;

// A stand-in service: answers GET /health with a status, a body and a delay the test controls.
class FakeService {
 public:
  FakeService() {
    server_.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms.load()));
      res.status = status.load();
      std::lock_guard lock(mu_);
      res.set_content(body, "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    eventually([&] { return server_.is_running(); });
  }
  ~FakeService() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void set_body(const std::string& b) {
    std::lock_guard lock(mu_);
    body = b;
  }
  std::atomic<int> status{200};
  std::atomic<int> delay_ms{0};

 private:
  std::mutex mu_;
  std::string body = R"({"status":"ok"})";
  httplib::Server server_;
  int port_;
  std::thread thread_;
};

std::string config_for(const std::vector<std::pair<std::string, std::string>>& services, const std::string& expect) {
  std::string y = "services:\n";
  for (const auto& [name, url] : services) y += "  " + name + ":\n    url: " + url + "\n    expect: " + expect + "\n";
  return y;
}

// No Docker configured (and, on a machine without a daemon, no default socket): services only.
const Env kNoDocker{{"DOCKER_HOST", "\x01unset"}, {"DOCKER_SOCKET_PATH", "\x01unset"}, {"REDIS_URL", ""}};

struct DiagnoseCli : ::testing::Test {
  TempDir dir;
  RunResult diagnose(const std::string& yaml, std::vector<std::string> extra = {}) {
    write_file(dir.file("orch.yaml"), yaml);
    std::vector<std::string> argv = {ORCH_BINARY, "diagnose", "-o", "json", "--config", dir.file("orch.yaml")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run(argv, kNoDocker);
  }
};

const std::string kExpect = R"(["[STATUS] == 200", "[RESPONSE_TIME] < 800", "[BODY].status == ok"])";

TEST_F(DiagnoseCli, AllHealthyIsOk) {
  FakeService a, b;
  auto r = diagnose(config_for({{"web", a.url()}, {"rag_service", b.url()}}, kExpect));
  ASSERT_EQ(r.code, 0) << r.output;
  auto j = json::parse(r.output);
  EXPECT_EQ(j["status"], "ok");
  ASSERT_EQ(j["services"].size(), 2u);
  EXPECT_EQ(j["services"][0]["state"], "up");
  EXPECT_EQ(j["services"][0]["status"], 200);
}

TEST_F(DiagnoseCli, WrongBodyOrSlowIsWarning) {
  FakeService a, b;
  a.set_body(R"({"status":"starting"})");
  b.delay_ms = 1000;
  auto r = diagnose(config_for({{"web", a.url()}, {"rag_service", b.url()}}, kExpect));
  ASSERT_EQ(r.code, 1) << r.output;
  auto j = json::parse(r.output);
  EXPECT_EQ(j["services"][0]["state"], "degraded");
  EXPECT_EQ(j["services"][0]["failed_conditions"][0], "[BODY].status == ok");
  EXPECT_EQ(j["services"][1]["failed_conditions"][0], "[RESPONSE_TIME] < 800");
}

TEST_F(DiagnoseCli, ServerErrorIsCritical) {
  FakeService a;
  a.status = 500;
  auto r = diagnose(config_for({{"web", a.url()}}, kExpect));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_EQ(json::parse(r.output)["services"][0]["state"], "down");
}

TEST_F(DiagnoseCli, ClosedPortIsCriticalNotUnknown) {
  // A configured service that refuses connections was checked and is down: CRITICAL (2), as
  // Nagios check_http exits; UNKNOWN (3) is only for what stops orch from checking at all.
  FakeService a;
  auto r = diagnose(config_for({{"web", a.url()}, {"rag_service", refused_url()}}, kExpect));
  EXPECT_EQ(r.code, 2) << r.output;
  auto j = json::parse(r.output);
  EXPECT_EQ(j["services"][1]["state"], "unreachable");
  EXPECT_FALSE(j["services"][1]["error"].get<std::string>().empty());
}

TEST(DiagnoseDocling, ReadyIsProbedBesideHealthWhileModelsLoad) {
  // docling-serve answers /health as soon as it runs and /ready (503) only once its models are
  // loaded: the docling_service derived from DOCLING_API_URL is degraded until then.
  StandinServers standin({"--docling-loading-ms", "60000"});
  Env env = kNoDocker;
  env["DOCLING_API_URL"] = standin.url(standin.docling);
  env["ORCH_CONFIG"] = "";
  auto r = run({ORCH_BINARY, "diagnose", "-o", "json"}, env);
  ASSERT_EQ(r.code, 1) << r.output;
  auto j = json::parse(r.output);
  EXPECT_EQ(j["services"][0]["name"], "docling_service");
  EXPECT_EQ(j["services"][0]["state"], "degraded");
  EXPECT_EQ(j["services"][0]["status"], 200);  // /health itself is fine
  EXPECT_EQ(j["services"][0]["failed_conditions"][0], "[READY] GET /ready answered 503") << r.output;
  // Loaded: up.
  StandinServers loaded;
  env["DOCLING_API_URL"] = loaded.url(loaded.docling);
  r = run({ORCH_BINARY, "diagnose", "-o", "json"}, env);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(json::parse(r.output)["services"][0]["state"], "up") << r.output;
}

TEST_F(DiagnoseCli, TableFitsEightyColumnsAndUsageErrors) {
  FakeService a;
  write_file(dir.file("orch.yaml"), config_for({{"web", a.url()}}, kExpect));
  auto r = run({ORCH_BINARY, "diagnose", "--config", dir.file("orch.yaml")}, kNoDocker);
  EXPECT_EQ(r.code, 0) << r.output;
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 80u) << line;
  EXPECT_EQ(diagnose(config_for({{"web", a.url()}}, kExpect), {"--services", "nope"}).code, 64);
  EXPECT_EQ(diagnose(config_for({{"web", a.url()}}, kExpect), {"--actions", "explode"}).code, 64);
  EXPECT_EQ(diagnose(config_for({{"web", a.url()}}, R"(["[STATUS] => 1"])")).code, 78);
}

// Issue 23: what a person reads. A failed condition says what the probe saw (as Gatus does), a
// long reason is wrapped between words and never cut, and a summary line counts the states.
TEST_F(DiagnoseCli, FailedConditionsShowWhatWasSeenAndReasonsAreNotCut) {
  FakeService a, b;
  a.set_body(R"({"status":"starting"})");
  const std::string closed = refused_url();
  const auto yaml = config_for({{"web", a.url()}, {"rag_service", b.url()}, {"docling_service", closed}}, kExpect);
  auto r = diagnose(yaml);
  ASSERT_EQ(r.code, 2) << r.output;
  auto j = json::parse(r.output);
  EXPECT_EQ(j["services"][0]["observed"]["[BODY].status == ok"], "starting") << r.output;
  EXPECT_EQ(j["summary"], "1 up, 1 degraded, 1 unreachable") << r.output;

  write_file(dir.file("orch.yaml"), yaml);
  auto table = run({ORCH_BINARY, "diagnose", "--config", dir.file("orch.yaml")}, kNoDocker);
  EXPECT_NE(table.output.find("CRITICAL: 1 up, 1 degraded, 1 unreachable"), std::string::npos) << table.output;
  // A service's DETAIL: its row's last column and the lines under it, joined again.
  auto detail = [&](const std::string& service) {
    std::string words;
    std::istringstream lines(table.output);
    bool in = false;
    for (std::string line; std::getline(lines, line);) {
      EXPECT_LE(line.size(), 80u) << line;
      if (line.rfind(service + " ", 0) == 0) in = true;
      else if (in && line.rfind(std::string(44, ' '), 0) != 0) in = false;
      if (in && line.size() > 44) words += (words.empty() ? "" : " ") + line.substr(44);
    }
    return words;
  };
  EXPECT_EQ(detail("web"), "[BODY].status == ok failed: got starting") << table.output;
  // The unreachable service's whole reason is there, its words intact across the wrapped lines.
  const std::string reason = j["services"][2]["error"];
  ASSERT_GT(reason.size(), 36u) << reason;  // longer than the column: it must wrap
  EXPECT_EQ(detail("docling_service"), reason) << table.output;
}

// Issue 23, as a person sees it: in a real 80-column terminal the table is in colour (green up, red
// unreachable), no line is wider than the terminal, and NO_COLOR=1 turns the colour off.
TEST_F(DiagnoseCli, InATerminalTheTableIsColouredAndFitsEightyColumns) {
  ORCH_REQUIRE(have_tmux()) << "tmux (scripts/install-deps.sh installs it)";
  FakeService a;
  const std::string closed = refused_url();
  write_file(dir.file("orch.yaml"), config_for({{"web", a.url()}, {"docling_service", closed}}, kExpect));
  const std::vector<std::string> argv = {ORCH_BINARY, "diagnose", "--config", dir.file("orch.yaml")};
  auto env = kNoDocker;
  env["NO_COLOR"] = "";  // no-color.org: only a non-empty value turns colour off
  {
    Terminal term(argv, env, 80, 40);
    ASSERT_TRUE(eventually([&] { return term.exited(); }, 20s)) << term.screen();
    EXPECT_EQ(term.exit_status(), 2) << term.screen();
    const auto plain = term.screen();
    EXPECT_NE(plain.find("CRITICAL: 1 up, 1 unreachable"), std::string::npos) << plain;
    std::istringstream lines(plain);
    for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 80u) << line;
    const auto coloured = term.screen(true);
    EXPECT_NE(coloured.find("\033[32mup"), std::string::npos) << coloured;
    EXPECT_NE(coloured.find("\033[31munreachable"), std::string::npos) << coloured;
  }
  env["NO_COLOR"] = "1";
  Terminal plain(argv, env, 80, 40);
  ASSERT_TRUE(eventually([&] { return plain.exited(); }, 20s)) << plain.screen();
  EXPECT_NE(plain.screen().find("docling_service"), std::string::npos) << plain.screen();
  EXPECT_EQ(plain.screen(true).find("\033["), std::string::npos) << plain.screen(true);
}

TEST_F(DiagnoseCli, ServicesAreProbedInParallel) {
  std::vector<std::unique_ptr<FakeService>> slow;
  std::vector<std::pair<std::string, std::string>> services;
  for (int i = 0; i < 10; ++i) {
    slow.push_back(std::make_unique<FakeService>());
    slow.back()->delay_ms = 1000;
    services.emplace_back("svc" + std::to_string(i), slow.back()->url());
  }
  auto t0 = std::chrono::steady_clock::now();
  auto r = diagnose(config_for(services, R"(["[STATUS] == 200"])"));
  auto wall = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_LT(json::parse(r.output)["took_ms"].get<long long>(), 1900);
  EXPECT_LT(wall, 2500ms);  // including process start
}

TEST_F(DiagnoseCli, AReadyProbeWithoutAnAnswerIsDegradedAServiceWithoutAUrlUnknown) {
  // docs/diagnose.md: when the health probe answers, `GET {url}{ready}` is probed too and no answer
  // (here: later than DIAGNOSE_TIMEOUT) adds a [READY] condition: degraded, exit 1. A service
  // written without a url is not probed: unknown, with the reason.
  HttpStub service([](const ReceivedRequest& r) -> StubAnswer {
    if (r.path == "/ready") std::this_thread::sleep_for(1500ms);
    return {200, R"({"status":"ok"})"};
  });
  write_file(dir.file("orch.yaml"), "services:\n  web:\n    url: " + service.url() + "\n    ready: /ready\n");
  Env env = kNoDocker;
  env["DIAGNOSE_TIMEOUT"] = "500ms";
  auto r = run({ORCH_BINARY, "diagnose", "-o", "json", "--config", dir.file("orch.yaml")}, env);
  ASSERT_EQ(r.code, 1) << r.output;
  auto web = json::parse(r.output)["services"][0];
  EXPECT_EQ(web["state"], "degraded") << r.output;
  EXPECT_EQ(web["status"], 200);
  ASSERT_EQ(web["failed_conditions"].size(), 1u) << r.output;
  EXPECT_EQ(web["failed_conditions"][0].get<std::string>().rfind("[READY] GET /ready: ", 0), 0u) << r.output;

  // (Its exit code is not asserted: docs/diagnose.md does not say whether an unprobed service is
  // "could not check".)
  auto none = diagnose("services:\n  web:\n    health: /health\n");
  auto j = json::parse(none.output);
  EXPECT_EQ(j["services"][0]["state"], "unknown") << none.output;
  EXPECT_EQ(j["services"][0]["error"], "no url configured") << none.output;
  EXPECT_EQ(j["services"][0]["url"], "") << none.output;
  EXPECT_EQ(j["summary"], "1 unknown") << none.output;
}

TEST_F(DiagnoseCli, RedisUnreachableIsUnknown) {
  FakeService a;
  write_file(dir.file("orch.yaml"), config_for({{"web", a.url()}}, kExpect));
  auto r = run({ORCH_BINARY, "diagnose", "-o", "json", "--config", dir.file("orch.yaml")},
               {{"DOCKER_HOST", "\x01unset"}, {"REDIS_URL", "redis://127.0.0.1:" + std::to_string(refused_port())}});
  EXPECT_EQ(r.code, 3) << r.output;
  EXPECT_EQ(json::parse(r.output)["redis"]["reachable"], false);
}

// docs/diagnose.md: the last --tail (200) log lines are scanned for error-looking lines, at most 20
// kept (the newest); metrics; `restart`; `rebuild` POSTs {service, container} to
// REBUILD_WEBHOOK_URL, else recreates the container from the same image and configuration.
TEST(DiagnoseContainers, LogsStatsRestartAndRebuildOfARealContainer) {
  ORCH_REQUIRE(DockerEngine::available()) << "no dockerd";
  DockerEngine engine;
  FakeService web;
  // One stream (stderr), so the order of the lines is the order they were written in: 27 error
  // lines between a first and a last line that are not.
  engine.must({"run", "-d", "--network", "none", "--name", "web", "--log-driver", "local", "--stop-timeout", "1", engine.image(), "sh",
               "-c",
               "exec >&2; echo starting; echo 'ERROR: cannot reach cms'; i=1; while [ $i -le 25 ]; do echo \"panic $i\"; i=$((i+1)); done; "
               "printf 'ERROR: caf\\351 closed\\n'; echo ready; while true; do :; done"});
  TempDir d;
  write_file(d.file("orch.yaml"), config_for({{"web", web.url()}}, kExpect));
  Env env{{"DOCKER_HOST", engine.host()}, {"REDIS_URL", ""}};
  ASSERT_TRUE(eventually([&] { return engine.docker({"logs", "web"}).output.find("ready") != std::string::npos; }));
  auto r = run({ORCH_BINARY, "diagnose", "-o", "json", "--config", d.file("orch.yaml"), "--actions", "health,logs,metrics"}, env);
  ASSERT_EQ(r.code, 1) << r.output;  // error lines in the log: warning
  auto j = json::parse(r.output);
  ASSERT_EQ(j["containers"].size(), 1u);
  const auto& c = j["containers"][0];
  EXPECT_EQ(c["name"], "web");
  EXPECT_EQ(c["state"], "running");
  // 27 error lines: the newest 20 are kept, oldest first.
  ASSERT_EQ(c["error_lines"].size(), 20u) << r.output;
  EXPECT_EQ(c["error_lines"][0], "panic 7");
  EXPECT_EQ(c["error_lines"][18], "panic 25");
  // A log line that is not UTF-8 (Latin-1 here; the `local` log driver keeps bytes as they are, where
  // json-file would have coerced them) still gives a JSON report: the bad byte becomes U+FFFD.
  EXPECT_EQ(c["error_lines"][19], "ERROR: caf\uFFFD closed");
  EXPECT_GT(c["stats"]["cpu_percent"].get<double>(), 5.0);
  EXPECT_GT(c["stats"]["memory_bytes"].get<double>(), 0);
  // --tail 3: only the last three lines are read (panic 25, the Latin-1 line, ready).
  auto tail = run({ORCH_BINARY, "diagnose", "-o", "json", "--config", d.file("orch.yaml"), "--actions", "logs", "--tail", "3"}, env);
  EXPECT_EQ(json::parse(tail.output)["containers"][0]["error_lines"], json::array({"panic 25", "ERROR: caf\uFFFD closed"})) << tail.output;

  auto before = engine.must({"inspect", "-f", "{{.State.StartedAt}}", "web"});
  auto restart = run({ORCH_BINARY, "diagnose", "-o", "json", "--config", d.file("orch.yaml"), "--actions", "restart"}, env);
  EXPECT_EQ(json::parse(restart.output)["actions"][0]["ok"], true) << restart.output;
  EXPECT_NE(engine.must({"inspect", "-f", "{{.State.StartedAt}}", "web"}), before);

  // rebuild with REBUILD_WEBHOOK_URL: the CI/CD trigger gets {service, container}; its refusal
  // is a failed action (exit 2), its acceptance a change (1).
  const auto id = engine.must({"inspect", "-f", "{{.Id}}", "web"});
  HttpReceiver ci;
  auto rebuild = [&](const Env& extra) {
    auto e = env;
    for (const auto& [k, v] : extra) e[k] = v;
    return run({ORCH_BINARY, "diagnose", "-o", "json", "--config", d.file("orch.yaml"), "--actions", "rebuild"}, e);
  };
  ci.script({500});
  auto refused = rebuild({{"REBUILD_WEBHOOK_URL", ci.url("/rebuild")}});
  EXPECT_EQ(refused.code, 2) << refused.output;
  EXPECT_EQ(json::parse(refused.output)["actions"][0]["ok"], false);
  EXPECT_EQ(json::parse(refused.output)["actions"][0]["webhook_status"], 500);
  auto triggered = rebuild({{"REBUILD_WEBHOOK_URL", ci.url("/rebuild")}});
  EXPECT_EQ(triggered.code, 1) << triggered.output;
  const auto action = json::parse(triggered.output)["actions"][0];
  EXPECT_EQ(action["action"], "rebuild");
  EXPECT_EQ(action["ok"], true);
  EXPECT_EQ(action["webhook_status"], 200);
  ASSERT_EQ(ci.count(), 2u);
  EXPECT_EQ(ci.requests()[1].path, "/rebuild");
  EXPECT_EQ(json::parse(ci.requests()[1].body), json({{"service", "web"}, {"container", id}}));
  EXPECT_EQ(engine.must({"inspect", "-f", "{{.Id}}", "web"}), id);  // the trigger's business, not orch's

  // Without it: the container is recreated, same name, image and command, running.
  auto recreated = rebuild({});
  EXPECT_EQ(recreated.code, 1) << recreated.output;
  const auto done = json::parse(recreated.output)["actions"][0];
  EXPECT_EQ(done["ok"], true) << recreated.output;
  const auto new_id = engine.must({"inspect", "-f", "{{.Id}}", "web"});
  EXPECT_NE(new_id, id);
  EXPECT_EQ(done["new_container"], new_id.substr(0, 12));
  EXPECT_EQ(engine.must({"inspect", "-f", "{{.State.Running}} {{.Config.Image}}", "web"}), "true " + engine.image());
  EXPECT_NE(engine.must({"inspect", "-f", "{{json .Config.Cmd}}", "web"}).find("panic"), std::string::npos);
  EXPECT_EQ(engine.docker({"inspect", id}).code, 1);  // the old one is gone
  engine.docker({"rm", "-f", "web"});
}

TEST(DiagnoseContainers, WithoutServicesLabelledContainersCountAndNothingCheckedIsUnknown) {
  ORCH_REQUIRE(DockerEngine::available()) << "no dockerd";
  DockerEngine engine;
  TempDir d;
  Env env{{"DOCKER_HOST", engine.host()}, {"REDIS_URL", ""}, {"ORCH_CONFIG", ""}, {"ORCH_STATE_DIR", d.path()}};
  // Nothing configured and nothing labelled: the report checked nothing, and says so (3), never "ok".
  engine.must({"run", "-d", "--network", "none", "--name", "plain", "--stop-timeout", "1", engine.image(), "sleep", "3600"});
  auto empty = run({ORCH_BINARY, "diagnose", "-o", "json"}, env);
  EXPECT_EQ(empty.code, 3) << empty.output;
  auto ej = json::parse(empty.output);
  EXPECT_EQ(ej["status"], "unknown");
  EXPECT_NE(ej.value("message", "").find("nothing to check"), std::string::npos) << empty.output;
  auto table = run({ORCH_BINARY, "diagnose"}, env);
  EXPECT_NE(table.output.find("nothing to check"), std::string::npos) << table.output;
  // A labelled container that is unhealthy makes it critical, with no service configured at all.
  engine.must({"run", "-d", "--network", "none", "--name", "sick", "--label", "orch.heal=true", "--label", "com.docker.compose.service=api",
               "--stop-timeout", "1", "--health-cmd", "false", "--health-interval", "1s", "--health-retries", "1", engine.image(),
               "sleep", "3600"});
  ASSERT_TRUE(eventually([&] { return engine.must({"inspect", "-f", "{{.State.Health.Status}}", "sick"}) == "unhealthy"; }, 20s));
  auto r = run({ORCH_BINARY, "diagnose", "-o", "json"}, env);
  EXPECT_EQ(r.code, 2) << r.output;
  auto j = json::parse(r.output);
  ASSERT_EQ(j["containers"].size(), 1u) << r.output;  // the unlabelled one is not orch's business
  EXPECT_EQ(j["containers"][0]["name"], "sick");
  EXPECT_EQ(j["containers"][0]["service"], "api");
  EXPECT_EQ(j["containers"][0]["health"], "unhealthy");
  EXPECT_FALSE(j.contains("message"));
  // POST /diagnose gives the same verdict, once orch serve's container cache has listed (before
  // that it answers 3, "not listed yet": /readyz says when).
  OrchServer orch(Env{{"DOCKER_HOST", engine.host()}, {"REDIS_URL", ""}});
  ASSERT_TRUE(eventually([&] { return orch.get("/readyz").status == 200; }, 20s)) << orch.log();
  auto http = json::parse(orch.post("/diagnose", "{}").body);
  EXPECT_EQ(http["exit_code"], 2) << http.dump();
  engine.docker({"rm", "-f", "plain", "sick"});
}

// Issue 23: an exited container is "exited", not "unhealthy"; a running one shows its uptime; orch's
// own restarts (Docker's RestartCount stays 0 after restarts through the API) and the last heal
// are shown from the heal record `orch heal` keeps; `orch heal --reset` of a name that is nothing
// says so.
TEST(DiagnoseContainers, ExitedIsNotUnhealthyAndOrchsHealsAreCounted) {
  ORCH_REQUIRE(DockerEngine::available()) << "no dockerd";
  DockerEngine engine;
  TempDir d;
  Env env{{"DOCKER_HOST", engine.host()}, {"REDIS_URL", ""}, {"ORCH_CONFIG", ""}, {"ORCH_STATE_DIR", d.path()}};
  engine.must({"run", "-d", "--network", "none", "--name", "done", "--label", "orch.monitor-only=true", "--health-cmd", "false",
               "--health-interval", "1s", "--health-retries", "1", engine.image(), "sh", "-c", "sleep 3; exit 3"});
  engine.must({"run", "-d", "--network", "none", "--name", "sick", "--label", "orch.heal=true", "--stop-timeout", "1", "--health-cmd",
               "false", "--health-interval", "1s", "--health-retries", "1", engine.image(), "sleep", "3600"});
  ASSERT_TRUE(eventually([&] { return engine.must({"inspect", "-f", "{{.State.Status}}", "done"}) == "exited"; }, 20s));
  ASSERT_TRUE(eventually([&] { return engine.must({"inspect", "-f", "{{.State.Health.Status}}", "sick"}) == "unhealthy"; }, 20s));

  auto heal = run({ORCH_BINARY, "heal", "-o", "json"}, env);
  EXPECT_EQ(heal.code, 1) << heal.output;  // something was restarted
  auto r = run({ORCH_BINARY, "diagnose", "-o", "json"}, env);
  auto j = json::parse(r.output);
  json done, sick;
  for (const auto& c : j["containers"]) (c["name"] == "done" ? done : sick) = c;
  EXPECT_EQ(done["state"], "exited") << r.output;
  EXPECT_FALSE(done.contains("uptime_s"));
  EXPECT_GE(sick["uptime_s"].get<long long>(), 0) << r.output;
  EXPECT_EQ(sick["restart_count"], 0);  // Docker's count: orch restarted it through the API
  EXPECT_EQ(sick["orch_restarts"], 1) << r.output;
  EXPECT_EQ(sick["last_heal"]["reason"], "unhealthy");
  EXPECT_NE(j["summary"].get<std::string>().find("1 exited"), std::string::npos) << j["summary"];

  auto table = run({ORCH_BINARY, "diagnose"}, env).output;
  std::istringstream lines(table);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("done ", 0) == 0) {
      EXPECT_EQ(line.find("unhealthy"), std::string::npos) << line;
    }
    if (line.rfind("sick ", 0) == 0) {
      EXPECT_NE(line.find("1x "), std::string::npos) << line;
    }
  }
  EXPECT_NE(table.find("last heal by orch: unhealthy"), std::string::npos) << table;

  auto typo = run({ORCH_BINARY, "heal", "--reset", "sikc"}, env);
  EXPECT_EQ(typo.code, 2) << typo.output;
  EXPECT_NE(typo.output.find("nothing named 'sikc'"), std::string::npos) << typo.output;
  // Under -o json the error is a JSON document a script can read.
  auto typo_json = run({ORCH_BINARY, "heal", "--reset", "sikc", "-o", "json"}, env);
  auto err = json::parse(typo_json.output, nullptr, false);
  ASSERT_FALSE(err.is_discarded()) << typo_json.output;
  EXPECT_EQ(err["error"]["exit_code"], 2);
  EXPECT_EQ(run({ORCH_BINARY, "heal", "--reset", "sick"}, env).code, 0);
  engine.docker({"rm", "-f", "done", "sick"});
}

TEST(DiagnoseEndpoint, TokenRulesAndSameJson) {
  FakeService web;
  TempDir d;
  write_file(d.file("orch.yaml"), config_for({{"web", web.url()}}, kExpect));
  OrchServer orch(Env{{"ORCH_CONFIG", d.file("orch.yaml")}, {"ORCH_API_TOKEN", "tok-123456-0123456789"}, {"DOCKER_HOST", "unix:///nonexistent.sock"}});
  EXPECT_EQ(orch.post("/diagnose", "{}").status, 401);
  EXPECT_EQ(orch.post("/diagnose", "{}", {{"Authorization", "Bearer wrong"}}).status, 401);
  auto ok = orch.post("/diagnose", R"({"services":["web"],"actions":["health"]})", {{"Authorization", "Bearer tok-123456-0123456789"}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto j = json::parse(ok.body);
  EXPECT_EQ(j["services"][0]["name"], "web");
  EXPECT_EQ(j["services"][0]["state"], "up");
  // The service is up, but DOCKER_HOST names an engine that is not there: UNKNOWN (3), as the command says.
  EXPECT_EQ(j["exit_code"], 3) << j.dump();
  EXPECT_EQ(j["docker"]["reachable"], false);
  auto cli = run({ORCH_BINARY, "diagnose", "-o", "json", "--services", "web", "--actions", "health"},
                 {{"ORCH_CONFIG", d.file("orch.yaml")}, {"DOCKER_HOST", "unix:///nonexistent.sock"}, {"REDIS_URL", ""}});
  EXPECT_EQ(cli.code, 3) << cli.output;
  EXPECT_EQ(json::parse(cli.output.substr(cli.output.find('{')))["exit_code"], j["exit_code"]) << cli.output;
  EXPECT_EQ(orch.post("/diagnose", R"({"services":["nope"]})", {{"Authorization", "Bearer tok-123456-0123456789"}}).status, 400);
  EXPECT_EQ(orch.post("/diagnose", "{oops", {{"Authorization", "Bearer tok-123456-0123456789"}}).status, 400);
  EXPECT_EQ(orch.post("/diagnose", R"({"services":"web"})", {{"Authorization", "Bearer tok-123456-0123456789"}}).status, 400);
}

// docs/diagnose.md "Health loop": an event only when a service's state changes, with {service, url,
// status, response_ms, failed_conditions}; /health's components and status; orch_service_up and
// orch_service_response_ms. The stand-in answers OK, then slowly (a failed condition: degraded),
// then 503 (down), then OK again.
TEST(HealthLoop, EmitsOneEventPerChangeWithItsFieldsAndFeedsHealthAndMetrics) {
  RedisServer redis;
  FakeService web;
  TempDir d;
  write_file(d.file("orch.yaml"), config_for({{"web", web.url()}}, R"(["[STATUS] == 200", "[RESPONSE_TIME] < 300"])"));
  // No Docker expected (kNoDocker): /health's own status is then the service's alone.
  Env env = kNoDocker;
  env.insert_or_assign("ORCH_CONFIG", d.file("orch.yaml"));
  env.insert_or_assign("REDIS_URL", redis.url());
  env.insert_or_assign("HEALTH_INTERVAL", "100ms");
  OrchServer orch(env);
  auto events = [&] {
    std::vector<json> out;
    for (const auto& e : redis.events())
      if (e["type"].get<std::string>().rfind("service.", 0) == 0) out.push_back(e);
    return out;
  };
  auto metric = [&](const std::string& name) {
    const auto body = orch.get("/metrics").body;
    const std::string key = name + "{service=\"web\"} ";
    const auto at = body.find(key);
    return at == std::string::npos ? -1.0 : std::stod(body.substr(at + key.size()));
  };
  auto service_health = [&] { return json::parse(orch.get("/health").body)["components"]["services"]["web"]["status"]; };

  ASSERT_TRUE(eventually([&] { return events().size() == 1; })) << orch.log();
  auto up = events()[0];
  EXPECT_EQ(up["type"], "service.up");
  EXPECT_EQ(up["subject"], "web");
  EXPECT_EQ(up["data"]["service"], "web");
  EXPECT_EQ(up["data"]["url"], web.url() + "/health");
  EXPECT_EQ(up["data"]["status"], 200);
  EXPECT_LT(up["data"]["response_ms"].get<long long>(), 300);
  EXPECT_EQ(up["data"]["failed_conditions"], json::array());
  EXPECT_EQ(service_health(), "ok");
  EXPECT_EQ(json::parse(orch.get("/health").body)["status"], "ok");
  EXPECT_EQ(metric("orch_service_up"), 1);

  web.delay_ms = 400;  // answers, but a condition fails: degraded
  ASSERT_TRUE(eventually([&] { return events().size() == 2; })) << orch.log();
  auto degraded = events()[1];
  EXPECT_EQ(degraded["type"], "service.degraded");
  EXPECT_EQ(degraded["data"]["status"], 200);
  EXPECT_GE(degraded["data"]["response_ms"].get<long long>(), 400);
  EXPECT_EQ(degraded["data"]["failed_conditions"], json::array({"[RESPONSE_TIME] < 300"}));
  EXPECT_EQ(service_health(), "degraded");
  EXPECT_EQ(json::parse(orch.get("/health").body)["status"], "degraded");
  EXPECT_EQ(metric("orch_service_up"), 0.5);
  EXPECT_GE(metric("orch_service_response_ms"), 400);

  web.delay_ms = 0;
  web.status = 503;
  ASSERT_TRUE(eventually([&] { return events().size() == 3; })) << orch.log();
  auto down = events()[2];
  EXPECT_EQ(down["type"], "service.down");
  EXPECT_EQ(down["data"]["status"], 503);
  EXPECT_EQ(down["data"]["failed_conditions"], json::array({"[STATUS] == 200"}));
  auto health = json::parse(orch.get("/health").body);
  EXPECT_EQ(health["status"], "down");
  EXPECT_EQ(health["components"]["services"]["web"]["status"], "down");
  EXPECT_EQ(metric("orch_service_up"), 0);
  EXPECT_GE(metric("orch_service_response_ms"), 0);
  EXPECT_LT(metric("orch_service_response_ms"), 300);

  web.status = 200;
  ASSERT_TRUE(eventually([&] { return events().size() == 4; })) << orch.log();
  EXPECT_EQ(events()[3]["type"], "service.up");
  std::this_thread::sleep_for(500ms);  // five more probes, no change: no more events
  std::vector<std::string> types;
  for (const auto& e : events()) types.push_back(e["type"]);
  EXPECT_EQ(types, (std::vector<std::string>{"service.up", "service.degraded", "service.down", "service.up"}));
  EXPECT_EQ(service_health(), "ok");
}

}  // namespace
