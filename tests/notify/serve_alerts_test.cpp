// A real `orch serve` alerting (docs/alerting.md): a service going down for many probes makes one
// firing message per provider, coming back one resolved; a silence made with `orch silence add`
// suppresses and is listed by `orch silence list` and /status; provider URLs stay masked in
// `orch config -o json` and the log.
#include <gtest/gtest.h>
#include <httplib.h>

#include "core/json.hpp"
#include "support/orch_server.hpp"
#include "support/listen_alone.hpp"
#include "support/process.hpp"
#include "support/receivers.hpp"

namespace orch {
namespace {

using namespace std::chrono_literals;
using test::HttpReceiver;
using test::OrchServer;

// The service: refused while stopped (down), 200 on /health while started (up).
struct FakeService {
  int port = test::free_port();
  std::unique_ptr<httplib::Server> server;
  std::thread thread;
  void up() {
    server = std::make_unique<httplib::Server>();
    test::listen_alone(*server);
    server->Get("/health",
                [](const httplib::Request&, httplib::Response& res) { res.set_content("{\"status\":\"ok\"}", "application/json"); });
    ASSERT_TRUE(server->bind_to_port("127.0.0.1", port));
    thread = std::thread([this] { server->listen_after_bind(); });
    while (!server->is_running()) std::this_thread::sleep_for(10ms);
  }
  void down() {
    if (!server) return;
    server->stop();
    thread.join();
    server.reset();
  }
  ~FakeService() { down(); }
};

std::vector<std::string> statuses(const HttpReceiver& r, const std::string& field) {
  std::vector<std::string> out;
  for (const auto& req : r.requests()) {
    auto b = json::parse(req.body);
    out.push_back(field == "slack" ? b["text"].get<std::string>().substr(0, b["text"].get<std::string>().find(']') + 1)
                                   : b["status"].get<std::string>() + " " + b["alerts"][0]["labels"]["alertname"].get<std::string>());
  }
  return out;
}

struct ServeAlerts : ::testing::Test {
  test::TempDir dir;
  HttpReceiver slack, webhook;
  FakeService web;
  std::map<std::string, std::string> env;
  void SetUp() override {
    test::write_file(dir.file("orch.yaml"), "services:\n  web:\n    url: http://127.0.0.1:" + std::to_string(web.port) +
                                                "\n    alert: {failures: 3, recoveries: 2}\n"
                                                "notify:\n  - type: slack\n    name: ops\n    url: " +
                                                slack.url("/services/T000/B000/SLACKSECRET") + "\n");
    env = {{"ORCH_CONFIG", dir.file("orch.yaml")}, {"NOTIFY_WEBHOOK_URL", webhook.url("/hook?token=HOOKSECRET")},
           {"HEALTH_INTERVAL", "100ms"},           {"DIAGNOSE_TIMEOUT", "1s"},
           {"ORCH_ALERT_RETRY_DELAY", "100ms"},    {"DOCKER_HOST", "unix:///nonexistent.sock"},
           {"ORCH_STATE_DIR", dir.file("state")}};
  }
};

TEST_F(ServeAlerts, DownThenUpIsOneFiringAndOneResolvedPerProvider) {
  OrchServer orch(env);
  // Down from the start (level-triggered): after 3 probes, one firing each; 30 more probes say nothing.
  ASSERT_TRUE(test::eventually([&] { return slack.count() >= 1 && webhook.count() >= 1; }, 15s)) << orch.log();
  std::this_thread::sleep_for(3s);  // about 30 more probes of a service still down
  EXPECT_EQ(statuses(webhook, "webhook"), (std::vector<std::string>{"firing service.down"})) << orch.log();
  EXPECT_EQ(statuses(slack, "slack"), (std::vector<std::string>{"[FIRING]"}));
  auto st = json::parse(orch.get("/status").body);
  ASSERT_EQ(st["incidents"].size(), 1u) << st;
  EXPECT_EQ(st["incidents"][0]["subject"], "web");

  web.up();
  ASSERT_TRUE(test::eventually([&] { return webhook.count() >= 2; }, 15s)) << orch.log();
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(statuses(webhook, "webhook"), (std::vector<std::string>{"firing service.down", "resolved service.down"}));
  EXPECT_EQ(statuses(slack, "slack"), (std::vector<std::string>{"[FIRING]", "[RESOLVED]"}));
  EXPECT_TRUE(json::parse(orch.get("/status").body)["incidents"].empty());

  // Counted per provider; the URLs never in the log nor in /metrics.
  const auto metrics = orch.get("/metrics").body;
  EXPECT_NE(metrics.find("orch_notifications_total{provider=\"ops\",result=\"sent\"} 2"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("orch_notifications_total{provider=\"webhook\",result=\"sent\"} 2"), std::string::npos) << metrics;
  for (const auto* secret : {"SLACKSECRET", "HOOKSECRET"}) {
    EXPECT_EQ(orch.log().find(secret), std::string::npos) << orch.log();
    EXPECT_EQ(metrics.find(secret), std::string::npos);
  }
  auto config = test::run({ORCH_BINARY, "config", "-o", "json"}, env);
  ASSERT_EQ(config.code, 0) << config.output;
  EXPECT_EQ(config.output.find("SLACKSECRET"), std::string::npos) << config.output;
  EXPECT_EQ(config.output.find("HOOKSECRET"), std::string::npos) << config.output;
  EXPECT_NE(config.output.find("\"type\": \"slack\""), std::string::npos) << config.output;
}

// Issue 23: the open incident is kept in the state store, so an orch restarted in the middle of it
// does not page again, and still sends the resolved message when the service comes back.
TEST_F(ServeAlerts, ARestartMidIncidentNeitherPagesAgainNorForgetsToResolve) {
  {
    OrchServer orch(env);
    ASSERT_TRUE(test::eventually([&] { return webhook.count() >= 1; }, 15s)) << orch.log();
  }  // stopped while web is still down
  OrchServer again(env);
  ASSERT_TRUE(test::eventually([&] { return json::parse(again.get("/status").body)["incidents"].size() == 1; }, 10s)) << again.log();
  std::this_thread::sleep_for(1500ms);  // about 15 probes of a service still down
  EXPECT_EQ(statuses(webhook, "webhook"), (std::vector<std::string>{"firing service.down"})) << again.log();
  web.up();
  ASSERT_TRUE(test::eventually([&] { return webhook.count() >= 2; }, 15s)) << again.log();
  EXPECT_EQ(statuses(webhook, "webhook"), (std::vector<std::string>{"firing service.down", "resolved service.down"}));
  EXPECT_EQ(statuses(slack, "slack"), (std::vector<std::string>{"[FIRING]", "[RESOLVED]"}));
}

TEST_F(ServeAlerts, ASilenceSuppressesAndIsListed) {
  auto add = test::run({ORCH_BINARY, "silence", "add", "web", "--for", "2h", "--reason", "planned move", "-o", "json"}, env);
  ASSERT_EQ(add.code, 0) << add.output;
  auto list = test::run({ORCH_BINARY, "silence", "list", "-o", "json"}, env);
  ASSERT_EQ(list.code, 0) << list.output;
  auto listed = json::parse(list.output.substr(list.output.find('{')));
  ASSERT_EQ(listed["silences"].size(), 1u) << list.output;
  EXPECT_EQ(listed["silences"][0]["service"], "web");
  EXPECT_EQ(listed["silences"][0]["reason"], "planned move");
  // -o ndjson: the same document, one compact line (issue 23: everywhere).
  auto nd = test::run({ORCH_BINARY, "silence", "list", "-o", "ndjson"}, env);
  ASSERT_EQ(nd.code, 0) << nd.output;
  EXPECT_EQ(nd.output.find('\n'), nd.output.size() - 1) << nd.output;
  EXPECT_EQ(json::parse(nd.output)["silences"], listed["silences"]);

  OrchServer orch(env);
  auto st = json::parse(orch.get("/status").body);
  ASSERT_EQ(st["silences"].size(), 1u) << st;
  EXPECT_EQ(st["silences"][0]["reason"], "planned move");
  EXPECT_EQ(st["silences"][0]["source"], "silence");
  EXPECT_TRUE(st["silences"][0].contains("until"));
  // The incident opens (it is in /status) but nobody is paged.
  ASSERT_TRUE(test::eventually([&] { return !json::parse(orch.get("/status").body)["incidents"].empty(); }, 15s)) << orch.log();
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(webhook.count(), 0u);
  EXPECT_EQ(slack.count(), 0u);
  EXPECT_NE(orch.get("/metrics").body.find("orch_notifications_total{provider=\"ops\",result=\"silenced\"} 1"), std::string::npos);
  // The page has the section.
  EXPECT_NE(orch.get("/").body.find("id=\"silences\""), std::string::npos);

  // Removed by service: the next bad probe pages.
  auto rm = test::run({ORCH_BINARY, "silence", "remove", "web"}, env);
  EXPECT_EQ(rm.code, 0) << rm.output;
  ASSERT_TRUE(test::eventually([&] { return webhook.count() == 1; }, 15s)) << orch.log();
  EXPECT_EQ(test::run({ORCH_BINARY, "silence", "remove", "web"}, env).code, 2);  // nothing left to remove
}

TEST_F(ServeAlerts, AMaintenanceWindowInTheConfigSuppresses) {
  test::write_file(dir.file("orch.yaml"),
                   test::read_file(dir.file("orch.yaml")) +
                       "maintenance:\n  - services: [web]\n    window: \"daily 00:00-24:00\"\n    reason: all day\n");
  OrchServer orch(env);
  ASSERT_TRUE(test::eventually([&] { return !json::parse(orch.get("/status").body)["incidents"].empty(); }, 15s)) << orch.log();
  auto st = json::parse(orch.get("/status").body);
  ASSERT_EQ(st["silences"].size(), 1u) << st;
  EXPECT_EQ(st["silences"][0]["source"], "maintenance");
  EXPECT_EQ(st["silences"][0]["reason"], "all day");
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(webhook.count(), 0u);
  EXPECT_EQ(slack.count(), 0u);
}

TEST_F(ServeAlerts, AnInvalidProviderOrWindowIsAConfigErrorWithItsLine) {
  test::write_file(dir.file("bad.yaml"), "notify:\n  - type: discord\n    url: discord.com/api/webhooks/1/SECRET\n");
  auto r = test::run({ORCH_BINARY, "config", "--check", "-c", dir.file("bad.yaml")}, {});
  EXPECT_EQ(r.code, 78) << r.output;
  EXPECT_NE(r.output.find("bad.yaml:2:"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("SECRET"), std::string::npos) << r.output;
  test::write_file(dir.file("bad.yaml"), "maintenance:\n  - window: \"Someday 02:00-03:00\"\n");
  r = test::run({ORCH_BINARY, "config", "--check", "-c", dir.file("bad.yaml")}, {});
  EXPECT_EQ(r.code, 78) << r.output;
  EXPECT_NE(r.output.find("bad.yaml:2:"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace orch
