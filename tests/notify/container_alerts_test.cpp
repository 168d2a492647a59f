// Container incidents against a real dockerd (docs/alerting.md): a container in orch's scope that
// turns unhealthy makes one firing message, however many checks see it so, and one resolved when
// it is healthy again. monitor-only: the healer leaves it to the test.
#include <gtest/gtest.h>

#include <thread>

#include "core/json.hpp"
#include "support/docker_engine.hpp"
#include "support/orch_server.hpp"
#include "support/receivers.hpp"

namespace orch {
namespace {

using namespace std::chrono_literals;

test::DockerEngine*& engine = test::share_engine();

std::vector<std::string> alerts(const test::HttpReceiver& r) {
  std::vector<std::string> out;
  for (const auto& req : r.requests()) {
    auto b = json::parse(req.body);
    out.push_back(b["status"].get<std::string>() + " " + b["alerts"][0]["labels"]["alertname"].get<std::string>() + " " +
                  b["alerts"][0]["labels"]["subject"].get<std::string>());
  }
  return out;
}

TEST(ContainerAlerts, AnUnhealthyContainerIsOneFiringAndOneResolved) {
  REQUIRE_ENGINE();
  test::HttpReceiver webhook;
  test::TempDir dir;
  engine->docker({"rm", "-f", "al-web"});
  engine->must({"run", "-d", "--network", "none", "--name", "al-web", "--label", "orch.monitor-only=true", "--health-cmd",
                "test ! -f /tmp/bad", "--health-interval", "1s", "--health-retries", "1", engine->image(), "sleep", "600"});
  test::OrchServer orch({{"NOTIFY_WEBHOOK_URL", webhook.url("/hook")},
                         {"DOCKER_HOST", engine->host()},
                         {"ORCH_STATE_DIR", dir.path()},
                         {"ORCH_ALERT_RETRY_DELAY", "100ms"},
                         {"ORCH_RECONCILE_INTERVAL", "500ms"},
                         {"ORCH_CONFIG", ""},
                         {"REDIS_URL", ""}});
  ASSERT_TRUE(test::eventually([&] { return orch.get("/readyz").status == 200; }, 20s)) << orch.log();
  engine->must({"exec", "al-web", "touch", "/tmp/bad"});
  ASSERT_TRUE(test::eventually([&] { return webhook.count() >= 1; }, 20s)) << orch.log();
  std::this_thread::sleep_for(2s);  // more probes and lists, still unhealthy
  EXPECT_EQ(alerts(webhook), (std::vector<std::string>{"firing container.unhealthy al-web"})) << orch.log();
  engine->must({"exec", "al-web", "rm", "/tmp/bad"});
  ASSERT_TRUE(test::eventually([&] { return webhook.count() >= 2; }, 20s)) << orch.log();
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(alerts(webhook), (std::vector<std::string>{"firing container.unhealthy al-web", "resolved container.unhealthy al-web"}));
  engine->docker({"rm", "-f", "al-web"});
}

}  // namespace
}  // namespace orch
