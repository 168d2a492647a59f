// The healer end to end: a real dockerd, a real redis-server, the real `orch serve` and `orch heal`.
#include <gtest/gtest.h>

#include <httplib.h>

#include "bus/redis.hpp"
#include "core/json.hpp"
#include "docker/client.hpp"
#include "support/docker_engine.hpp"
#include "support/orch_server.hpp"
#include "support/redis_server.hpp"

using namespace orch;
using namespace orch::test;
using namespace std::chrono_literals;

namespace {

using Env = std::map<std::string, std::string>;
DockerEngine*& engine = share_engine();

std::vector<json> bus_events(const RedisServer& redis, const std::string& type_prefix = "") {
  RedisConnection c(RedisUrl{"127.0.0.1", redis.port()}, 2s);
  auto reply = c.command({"XRANGE", "orch:events", "-", "+"});
  std::vector<json> out;
  for (const auto& entry : reply.elements) {
    const auto& f = entry.elements[1].elements;
    for (size_t i = 0; i + 1 < f.size(); i += 2)
      if (f[i].str == "event") {
        auto j = json::parse(f[i + 1].str);
        if (j["type"].get<std::string>().rfind(type_prefix, 0) == 0) out.push_back(j);
      }
  }
  return out;
}

bool has_event(const RedisServer& redis, const std::string& type, const std::string& subject) {
  for (const auto& e : bus_events(redis, type))
    if (e["subject"] == subject) return true;
  return false;
}

docker::Client client() { return docker::Client(docker::Endpoint{engine->socket(), "http://localhost", std::nullopt}); }

std::string started_at(const std::string& name) { return client().inspect(name).started_at; }

std::vector<int> attempts_of(const std::vector<json>& events, const std::string& container) {
  std::vector<int> out;
  for (const auto& e : events)
    if (e["subject"] == container) out.push_back(e["data"]["attempt"].get<int>());
  return out;
}

struct HealerTest : ::testing::Test {
  RedisServer redis;
  std::unique_ptr<OrchServer> orch;
  Env env() {
    return {{"REDIS_URL", redis.url()}, {"DOCKER_HOST", engine->host()}, {"ORCH_HEAL_BACKOFF", "1s:2s"}};
  }
  void start_orch(Env extra = {}) {
    auto e = env();
    for (auto& [k, v] : extra) e[k] = v;
    orch = std::make_unique<OrchServer>(e);
    ASSERT_TRUE(eventually([&] { return orch->get("/readyz").status == 200; }, 20s)) << orch->log();
  }
  void TearDown() override {
    orch.reset();
    if (engine) engine->docker({"rm", "-f", "h-unhealthy", "h-exit", "h-plain", "h-stopped", "h-flap", "h-dep", "h-mon", "h-after"});
  }
};

TEST_F(HealerTest, UnhealthyLabelledContainerIsRestarted) {
  REQUIRE_ENGINE();
  start_orch();
  // The probe fails as soon as the container has run: unhealthy after its first probe.
  engine->must({"run", "-d", "--network", "none", "--stop-timeout", "1", "--name", "h-unhealthy", "--label", "orch.heal=true",
                "--health-cmd", "test ! -f /tmp/bad", "--health-interval", "1s", "--health-retries", "1",
                engine->image(), "sh", "-c", "touch /tmp/bad; sleep 3600"});
  auto before = started_at("h-unhealthy");
  ASSERT_TRUE(eventually([&] { return has_event(redis, "heal.restarted", "h-unhealthy"); }, 30s)) << orch->log();
  EXPECT_NE(started_at("h-unhealthy"), before);
  EXPECT_TRUE(has_event(redis, "container.unhealthy", "h-unhealthy"));
  auto e = bus_events(redis, "heal.restarted")[0];
  EXPECT_EQ(e["data"]["reason"], "unhealthy");
  EXPECT_EQ(e["data"]["attempt"], 1);
  EXPECT_TRUE(orch->get("/metrics").body.find("orch_heal_actions_total{result=\"restarted\"}") != std::string::npos);
}

TEST_F(HealerTest, ExitedWithoutRestartPolicyIsRestartedUnlabelledIsNot) {
  REQUIRE_ENGINE();
  start_orch();
  engine->must({"run", "-d", "--network", "none", "--stop-timeout", "1", "--name", "h-exit", "--label", "orch.heal=true", engine->image(), "sh",
                "-c", "sleep 1; exit 3"});
  engine->must({"run", "-d", "--network", "none", "--stop-timeout", "1", "--name", "h-plain", engine->image(), "sh", "-c", "sleep 1; exit 3"});
  ASSERT_TRUE(eventually([&] { return has_event(redis, "heal.restarted", "h-exit"); }, 20s)) << orch->log();
  EXPECT_TRUE(has_event(redis, "container.died", "h-exit"));
  std::this_thread::sleep_for(2s);
  EXPECT_FALSE(has_event(redis, "heal.restarted", "h-plain"));
  EXPECT_EQ(client().inspect("h-plain").status, "exited");
  auto died = bus_events(redis, "container.died");
  bool saw_exit_code = false;
  for (const auto& d : died) saw_exit_code |= (d["subject"] == "h-exit" && d["data"]["exit_code"] == 3);
  EXPECT_TRUE(saw_exit_code);
}

TEST_F(HealerTest, ContainerStoppedByAPersonIsLeftAlone) {
  REQUIRE_ENGINE();
  start_orch();
  engine->must({"run", "-d", "--network", "none", "--stop-timeout", "1", "--name", "h-stopped", "--label", "orch.heal=true", engine->image(),
                "sleep", "3600"});
  engine->must({"kill", "--signal", "KILL", "h-stopped"});  // exit 137, as a crash would look
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(client().inspect("h-stopped").status, "exited");
  EXPECT_FALSE(has_event(redis, "heal.restarted", "h-stopped"));
  EXPECT_TRUE(has_event(redis, "container.died", "h-stopped"));
}

TEST_F(HealerTest, FlappingContainerEndsQuarantinedAndNotified) {
  REQUIRE_ENGINE();
  // A receiver for NOTIFY_WEBHOOK_URL.
  httplib::Server receiver;
  std::mutex mu;
  std::vector<json> notes;
  receiver.Post("/notify", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu);
    notes.push_back(json::parse(req.body));
    res.status = 204;
  });
  int port = receiver.bind_to_any_port("127.0.0.1");
  std::thread rt([&] { receiver.listen_after_bind(); });
  start_orch({{"NOTIFY_WEBHOOK_URL", "http://127.0.0.1:" + std::to_string(port) + "/notify"}});
  engine->must({"run", "-d", "--network", "none", "--stop-timeout", "1", "--name", "h-flap", "--label", "orch.heal=true", "--label",
                "orch.heal.max-restarts=2", "--label", "orch.heal.backoff=500ms:1s", engine->image(), "sh", "-c",
                "sleep 1; exit 1"});
  ASSERT_TRUE(eventually([&] { return has_event(redis, "heal.quarantined", "h-flap"); }, 40s)) << orch->log();
  EXPECT_EQ(bus_events(redis, "heal.restarted").size(), 2u);
  // Each restart carries its number in the streak, in order (never 0 or -1).
  EXPECT_EQ(attempts_of(bus_events(redis, "heal.restarted"), "h-flap"), (std::vector<int>{1, 2})) << orch->log();
  EXPECT_NE(orch->log().find("attempt 2)"), std::string::npos) << orch->log();
  auto q = bus_events(redis, "heal.quarantined")[0];
  EXPECT_EQ(q["data"]["container"], "h-flap");
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mu);
    return !notes.empty();
  }));
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(notes[0]["event"]["type"], "heal.quarantined");
    EXPECT_NE(notes[0]["text"].get<std::string>().find("orch heal --reset h-flap"), std::string::npos);
  }
  // Quarantined: no more restarts; `orch heal` reports it and exits 2; --reset lifts it.
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(bus_events(redis, "heal.restarted").size(), 2u);
  auto env = this->env();
  auto pass = run({ORCH_BINARY, "heal", "-o", "json"}, env);
  EXPECT_EQ(pass.code, 2) << pass.output;
  EXPECT_NE(pass.output.find("\"quarantined\""), std::string::npos);
  EXPECT_EQ(run({ORCH_BINARY, "heal", "--reset", "h-flap"}, env).code, 0);
  auto after = run({ORCH_BINARY, "heal", "--dry-run", "-o", "json"}, env);
  EXPECT_EQ(after.code, 1) << after.output;
  EXPECT_NE(after.output.find("would-restart"), std::string::npos);
  receiver.stop();
  rt.join();
}

TEST_F(HealerTest, MonitorOnlyAndScopeAll) {
  REQUIRE_ENGINE();
  start_orch({{"ORCH_HEAL_SCOPE", "all"}});
  engine->must({"run", "-d", "--network", "none", "--stop-timeout", "1", "--name", "h-mon", "--label", "orch.monitor-only=true", engine->image(),
                "sh", "-c", "sleep 1; exit 2"});
  engine->must({"run", "-d", "--network", "none", "--stop-timeout", "1", "--name", "h-plain", engine->image(), "sh", "-c", "sleep 1; exit 2"});
  ASSERT_TRUE(eventually([&] { return has_event(redis, "heal.restarted", "h-plain"); }, 20s)) << orch->log();
  EXPECT_FALSE(has_event(redis, "heal.restarted", "h-mon"));
}

TEST_F(HealerTest, DependentsAreRestartedAfterTheirDependency) {
  REQUIRE_ENGINE();
  start_orch();
  engine->must({"run", "-d", "--network", "none", "--stop-timeout", "1", "--name", "h-exit", "--label", "orch.heal=true", engine->image(), "sh",
                "-c", "sleep 2; exit 1"});
  engine->must({"run", "-d", "--network", "none", "--stop-timeout", "1", "--name", "h-dep", "--label", "orch.depends-on=h-exit", engine->image(),
                "sleep", "3600"});
  auto before = started_at("h-dep");
  ASSERT_TRUE(eventually([&] { return has_event(redis, "heal.restarted", "h-dep"); }, 20s)) << orch->log();
  EXPECT_NE(started_at("h-dep"), before);
}

TEST_F(HealerTest, OneShotHealDryRunChangesNothing) {
  REQUIRE_ENGINE();
  engine->must({"run", "-d", "--network", "none", "--stop-timeout", "1", "--name", "h-exit", "--label", "orch.heal=true", engine->image(), "sh",
                "-c", "exit 4"});
  ASSERT_TRUE(eventually([&] { return client().inspect("h-exit").status == "exited"; }));
  auto before = started_at("h-exit");
  auto dry = run({ORCH_BINARY, "heal", "--dry-run", "-o", "json"}, env());
  EXPECT_EQ(dry.code, 1) << dry.output;
  EXPECT_EQ(started_at("h-exit"), before);
  EXPECT_EQ(client().inspect("h-exit").status, "exited");
  auto real = run({ORCH_BINARY, "heal", "-o", "json"}, env());
  EXPECT_EQ(real.code, 1) << real.output;
  EXPECT_NE(started_at("h-exit"), before);
  EXPECT_TRUE(has_event(redis, "heal.restarted", "h-exit"));
  auto unreachable = run({ORCH_BINARY, "heal"}, {{"DOCKER_HOST", "unix:///nonexistent.sock"}, {"REDIS_URL", ""}});
  EXPECT_EQ(unreachable.code, 3) << unreachable.output;
}

TEST_F(HealerTest, WatcherSurvivesADockerdRestart) {
  REQUIRE_ENGINE();
  start_orch();
  engine->stop();
  ASSERT_TRUE(eventually([&] { return orch->get("/readyz").status == 503; }, 15s));
  engine->start();
  ASSERT_TRUE(eventually([&] { return orch->get("/readyz").status == 200; }, 30s)) << orch->log();
  engine->must({"run", "-d", "--network", "none", "--stop-timeout", "1", "--name", "h-after", "--label", "orch.heal=true", engine->image(), "sh",
                "-c", "sleep 1; exit 5"});
  ASSERT_TRUE(eventually([&] { return has_event(redis, "heal.restarted", "h-after"); }, 20s)) << orch->log();
}

}  // namespace
