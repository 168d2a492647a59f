// orch diagnose in swarm mode (docs/diagnose.md "Swarm mode"): the real binary and orch serve against
// a real dockerd put into swarm mode, with services that run, crash and fail their health check.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/json.hpp"
#include "support/docker_engine.hpp"
#include "support/orch_server.hpp"

using namespace orch;
using namespace orch::test;
using namespace std::chrono_literals;

namespace {

using Env = std::map<std::string, std::string>;

const json* service_named(const json& report, const std::string& name) {
  if (!report.contains("swarm_services")) return nullptr;
  for (const auto& s : report["swarm_services"])
    if (s["name"] == name) return &s;
  return nullptr;
}

TEST(SwarmDiagnose, ServicesReplicasFailingTasksAndHealth) {
  ORCH_REQUIRE(DockerEngine::available()) << "no dockerd";
  DockerEngine engine;
  TempDir d;
  Env env{{"DOCKER_HOST", engine.host()}, {"REDIS_URL", ""}, {"ORCH_CONFIG", ""}, {"ORCH_STATE_DIR", d.path()}};
  auto diagnose = [&](std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {ORCH_BINARY, "diagnose", "-o", "json"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run(argv, env);
  };

  // Outside a swarm the report is the single-host one: no swarm members at all.
  auto plain = diagnose();
  EXPECT_FALSE(json::parse(plain.output).contains("swarm")) << plain.output;
  EXPECT_EQ(plain.code, 3) << plain.output;  // nothing to check

  SwarmMode swarm(engine);
  swarm.create_service("web", {"--replicas", "2"}, {"sleep", "600"});
  ASSERT_TRUE(eventually([&] { return swarm.running_replicas("web") == 2; }, 60s));

  // Only healthy services: OK, with replicas counted and no failing task.
  auto ok = diagnose();
  ASSERT_EQ(ok.code, 0) << ok.output;
  auto okj = json::parse(ok.output);
  EXPECT_EQ(okj["swarm"]["local_node_state"], "active");
  EXPECT_EQ(okj["swarm"]["control_available"], true);
  EXPECT_EQ(okj["swarm"]["node_id"], swarm.manager_node_id());
  ASSERT_EQ(okj["swarm"]["nodes"].size(), 1u);
  EXPECT_EQ(okj["swarm"]["nodes"][0]["state"], "ready");
  const auto* web = service_named(okj, "web");
  ASSERT_NE(web, nullptr) << ok.output;
  EXPECT_EQ((*web)["state"], "up");
  EXPECT_EQ((*web)["desired"], 2);
  EXPECT_EQ((*web)["running"], 2);
  EXPECT_EQ((*web)["health"], "none");
  EXPECT_TRUE((*web)["failing_tasks"].empty());

  // A service whose tasks exit 3 at once, and one whose health check fails (Swarm kills the task).
  swarm.create_service("crash", {"--restart-delay", "30s"}, {"sh", "-c", "echo dying; exit 3"});
  swarm.create_service(
      "sick", {"--health-cmd", "echo probe-said-no; exit 1", "--health-interval", "1s", "--health-retries", "1", "--restart-delay", "30s"},
      {"sleep", "600"});
  json j;
  RunResult r;
  ASSERT_TRUE(eventually(
      [&] {
        r = diagnose();
        j = json::parse(r.output);
        const auto* c = service_named(j, "crash");
        const auto* s = service_named(j, "sick");
        return c && s && !(*c)["failing_tasks"].empty() && !(*s)["failing_tasks"].empty() &&
               (*s)["last_health_output"].get<std::string>().find("probe-said-no") != std::string::npos;
      },
      60s))
      << r.output;
  // No task of `crash` runs (the restart waits 30 s): down, CRITICAL.
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_EQ(j["status"], "critical");
  const auto* crash = service_named(j, "crash");
  EXPECT_EQ((*crash)["state"], "down");
  EXPECT_EQ((*crash)["desired"], 1);
  EXPECT_EQ((*crash)["running"], 0);
  EXPECT_EQ((*crash)["failed_recently"], true);
  const auto& task = (*crash)["failing_tasks"][0];
  EXPECT_EQ(task["state"], "failed");
  EXPECT_EQ(task["error"], "task: non-zero exit (3)");
  EXPECT_EQ(task["exit_code"], 3);
  EXPECT_EQ(task["slot"], 1);
  EXPECT_EQ(task["node"], engine.must({"info", "--format", "{{.Name}}"}));
  const auto* sick = service_named(j, "sick");
  EXPECT_EQ((*sick)["health"], "unhealthy");
  EXPECT_NE((*sick)["failing_tasks"][0]["error"].get<std::string>().find("unhealthy container"), std::string::npos) << r.output;

  // A selection: a swarm service by its own name, or an unknown name (a usage error, 64).
  auto only_web = diagnose({"--services", "web"});
  EXPECT_EQ(only_web.code, 0) << only_web.output;
  auto wj = json::parse(only_web.output);
  ASSERT_EQ(wj["swarm_services"].size(), 1u);
  EXPECT_EQ(wj["swarm_services"][0]["name"], "web");
  EXPECT_EQ(diagnose({"--services", "no-such-service"}).code, 64);

  // The table says the same, with the failing task and the probe's output.
  auto table = run({ORCH_BINARY, "diagnose"}, env);
  EXPECT_EQ(table.code, 2);
  EXPECT_NE(table.output.find("SWARM SERVICE"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("task crash.1 failed"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("probe: probe-said-no"), std::string::npos) << table.output;

  // POST /diagnose builds the same report (the MCP tool calls the same builder).
  OrchServer orch(Env{{"DOCKER_HOST", engine.host()}, {"REDIS_URL", ""}, {"ORCH_STATE_DIR", d.path()}});
  ASSERT_TRUE(eventually([&] { return orch.get("/readyz").status == 200; }, 20s)) << orch.log();
  auto http = json::parse(orch.post("/diagnose", "{}").body);
  EXPECT_EQ(http["exit_code"], 2) << http.dump();
  EXPECT_NE(service_named(http, "crash"), nullptr) << http.dump();
  EXPECT_EQ((*service_named(http, "web"))["running"], 2) << http.dump();
}

}  // namespace
