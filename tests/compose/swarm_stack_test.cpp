// orch as a swarm service from its real image (docs/swarm.md "orch as a swarm service", issues 20 and
// 22): packaging/docker-compose.example.yml deployed with `docker stack deploy` (Debian's CLI) on the
// test dockerd as a single-node swarm, with the compose run's override (the fixtures image for redis
// and the content services) and docker-stack.test.yml (what this engine needs: no IPVS, no
// iptables). ORCH_REPLICAS=2, as docs/swarm.md deploys it; checked from the engine and from inside
// the orch task's container (the image has no shell, and the routing mesh publishes nothing here).
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>

#include "compose/engine.hpp"
#include "core/json.hpp"
#include "support/images.hpp"
#include "support/process.hpp"

using namespace orch;
using namespace orch::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// The first JSON document in `output` (docker exec's stdout and stderr together); null when none.
json json_in(const std::string& output) {
  const auto begin = output.find('{'), end = output.rfind('}');
  if (begin == std::string::npos || end == std::string::npos || end < begin) return nullptr;
  try {
    return json::parse(output.substr(begin, end - begin + 1));
  } catch (const std::exception&) {
    return nullptr;
  }
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST(SwarmStack, OrchRunsAsAServiceFromItsImageReachesRedisSeesTheSwarmAndHealsAService) {
  REQUIRE_ENGINE();
  ASSERT_EQ(build_images(*engine), "");
  SwarmMode swarm(*engine);
  TempDir project;
  for (const auto& [from, to] : {std::pair{"packaging/docker-compose.example.yml", "docker-compose.yml"},
                                 {"tests/compose/docker-compose.test.yml", "docker-compose.test.yml"},
                                 {"tests/compose/docker-stack.test.yml", "docker-stack.test.yml"}})
    fs::copy_file(kRepo + "/" + from, project.file(to));
  // The .env the example's env_file names, as a user fills it in from .env.template.
  write_file(project.file(".env"),
             "TRUSTED_WEBHOOK_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\nORCH_API_TOKEN=stack-test-token-0123456789abcdef\n");
  struct stat sock {};
  ASSERT_EQ(::stat(engine->socket().c_str(), &sock), 0);
  const int docling_port = free_port();
  // `docker stack deploy` substitutes from its own environment (it reads no .env for that).
  const std::map<std::string, std::string> env = {{"DOCKER_HOST", engine->host()},
                                                  {"ORCH_REPLICAS", "2"},
                                                  {"ORCH_IMAGE", kOrchImage},
                                                  {"FIXTURES_IMAGE", kFixturesImage},
                                                  {"ORCH_PORT", std::to_string(free_port())},
                                                  {"DOCLING_PORT", std::to_string(docling_port)},
                                                  {"DOCKER_SOCKET_PATH", engine->socket()},
                                                  {"DOCKER_GID", std::to_string(sock.st_gid)}};
  // Removed before the swarm is left: orch first, while Redis still answers (`docker stack rm` stops
  // every service at once, and orch's task, SIGTERM'd with Redis gone, was killed only after Swarm's
  // 10 s grace: docs/swarm.md), then the rest, and the network that goes with their last task.
  struct StackRm {
    DockerEngine& engine;
    ~StackRm() {
      const auto none = [&](const std::vector<std::string>& ls) {
        const auto r = engine.docker(ls);  // not must(): nothing throws out of a destructor
        return r.code == 0 && r.output.find_first_not_of(" \n") == std::string::npos;
      };
      const auto t = std::chrono::steady_clock::now();
      engine.docker({"service", "rm", "content_orch"});
      EXPECT_TRUE(eventually([&] { return none({"ps", "-q", "-f", "label=com.docker.swarm.service.name=content_orch"}); }, 30s));
      std::printf("orch's task stopped: %.1f s\n", seconds_since(t));
      engine.docker({"stack", "rm", "content"});
      EXPECT_TRUE(eventually([&] { return none({"service", "ls", "-q"}) && none({"network", "ls", "-q", "-f", "name=content_"}); }, 30s));
      std::printf("stack removed, network included: %.1f s\n", seconds_since(t));
    }
  } stack_rm{*engine};
  const auto deployed = std::chrono::steady_clock::now();
  auto deploy = run({docker_cli(), "stack", "deploy", "--resolve-image", "never", "-c", project.file("docker-compose.yml"), "-c",
                     project.file("docker-compose.test.yml"), "-c", project.file("docker-stack.test.yml"), "content"},
                    env);
  ASSERT_EQ(deploy.code, 0) << deploy.output;

  // The example's deploy section, as Swarm took it.
  auto spec = json::parse(engine->must({"service", "inspect", "--format", "{{json .Spec}}", "content_orch"}));
  EXPECT_EQ(spec["Mode"]["Replicated"]["Replicas"], 2) << spec.dump();
  EXPECT_EQ(spec["TaskTemplate"]["Placement"]["Constraints"][0], "node.role == manager") << spec.dump();
  EXPECT_EQ(spec["TaskTemplate"]["Placement"]["MaxReplicas"], 1) << spec.dump();
  EXPECT_EQ(spec["UpdateConfig"]["FailureAction"], "rollback") << spec.dump();
  EXPECT_EQ(spec["TaskTemplate"]["ContainerSpec"]["Image"], kOrchImage) << spec.dump();

  // One task runs, and its container's HEALTHCHECK (the image's `orch healthcheck`) says healthy.
  std::string orch;
  const auto logs = [&] { return orch.empty() ? std::string() : engine->docker({"logs", "--tail", "40", orch}).output; };
  const auto tasks = [&] {
    return engine->docker({"service", "ps", "content_orch", "--no-trunc", "--format", "{{.Name}} {{.CurrentState}} {{.Error}}"}).output;
  };
  ASSERT_TRUE(eventually(
      [&] {
        orch = engine->must({"ps", "-q", "--no-trunc", "-f", "label=com.docker.swarm.service.name=content_orch", "-f", "health=healthy"});
        return !orch.empty();
      },
      60s))
      << tasks() << engine->docker({"ps", "-a"}).output;
  std::printf("deploy to a healthy orch task: %.1f s\n", seconds_since(deployed));
  EXPECT_EQ(engine->must({"inspect", "--format", "{{json .Config.Healthcheck.Test}}", orch}), R"(["CMD","orch","healthcheck"])");
  EXPECT_EQ(orch.find('\n'), std::string::npos) << "more than one orch task runs: " << orch;

  // The second replica stays pending: max_replicas_per_node 1 on a single node (the documented placement).
  EXPECT_TRUE(eventually(
      [&] {
        const auto t = tasks();
        return t.find("Running") != std::string::npos && t.find("Pending") != std::string::npos &&
               t.find("max replicas per node limit exceed") != std::string::npos;
      },
      10s))
      << tasks();

  // Inside the orch task's container, `orch diagnose` reaches Redis and the content services by their
  // stack names on the overlay network, the engine through the mounted socket, and sees the swarm:
  // its own service degraded (1 of 2 running) and the others up.
  json report;
  const auto service = [&](const std::string& name) {
    for (const auto& s : report.value("swarm_services", json::array()))
      if (s.value("name", "") == name) return s;
    return json();
  };
  const auto probes_up = [&] {
    int up = 0;
    for (const auto& s : report.value("services", json::array())) up += s.value("state", "") == "up";
    return up;
  };
  EXPECT_TRUE(eventually(
      [&] {
        report = json_in(engine->docker({"exec", orch, "orch", "diagnose", "-o", "json"}).output);
        return report.is_object() && report["redis"].value("reachable", false) && probes_up() == 3 &&
               service("content_redis").value("state", "") == "up";
      },
      30s))
      << report.dump(1) << logs();
  EXPECT_TRUE(report["docker"].value("reachable", false)) << report.dump(1);
  EXPECT_EQ(report["swarm"].value("local_node_state", ""), "active") << report.dump(1);
  EXPECT_TRUE(report["swarm"].value("control_available", false)) << report.dump(1);
  EXPECT_EQ(report["swarm"].value("node_count", 0), 1) << report.dump(1);
  const auto self = service("content_orch");
  EXPECT_EQ(self.value("state", ""), "degraded") << report.dump(1);
  EXPECT_EQ(self.value("desired", 0), 2) << report.dump(1);
  EXPECT_EQ(self.value("running", 0), 1) << report.dump(1);
  EXPECT_EQ(self.value("image", ""), kOrchImage) << report.dump(1);

  // The host reaches a host-mode port (the docling stand-in's); the ingress one of the example's orch
  // would need the routing mesh (docs/swarm.md).
  httplib::Client docling("127.0.0.1", docling_port);
  docling.set_connection_timeout(2s);
  auto calls = docling.Get("/_calls");
  ASSERT_TRUE(calls);
  EXPECT_EQ(calls->status, 200);

  // The swarm healer of this orch replica (the leader: the only one running) force-updates the
  // labelled service whose tasks keep failing: the engine's ForceUpdate counter, and heal.restarted on
  // the stack's Redis from this container (a CloudEvent's source is orch://<hostname>, the container's
  // short id).
  const auto redis = engine->must({"ps", "-q", "-f", "label=com.docker.swarm.service.name=content_redis"});
  json restarted;
  EXPECT_TRUE(eventually(
      [&] {
        const auto entries = engine->docker({"exec", redis, "redis-cli", "XRANGE", "orch:events", "-", "+"}).output;
        for (size_t pos = 0; pos < entries.size();) {
          const auto nl = entries.find('\n', pos);
          const auto e = json_in(entries.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
          if (e.is_object() && e.value("type", "") == "heal.restarted" && e["data"].value("service", "") == "content_crashing") {
            restarted = e;
            return true;
          }
          if (nl == std::string::npos) break;
          pos = nl + 1;
        }
        return false;
      },
      45s))
      << logs();
  std::printf("deploy to heal.restarted of content_crashing: %.1f s\n", seconds_since(deployed));
  EXPECT_EQ(restarted.value("source", ""), "orch://" + orch.substr(0, 12)) << restarted.dump();
  EXPECT_EQ(restarted["data"].value("attempt", 0), 1) << restarted.dump();
  EXPECT_NE(restarted["data"].value("reason", "").find(" tasks failed: task: non-zero exit (1)"), std::string::npos) << restarted.dump();
  EXPECT_GE(std::stoi(engine->must({"service", "inspect", "--format", "{{.Spec.TaskTemplate.ForceUpdate}}", "content_crashing"})), 1);
}
