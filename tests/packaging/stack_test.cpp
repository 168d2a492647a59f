// packaging/docker-compose.example.yml is a stack Docker Swarm takes (docs/swarm.md): `docker stack
// deploy` of the example, as it is, on a real dockerd in swarm mode makes orch a service with the
// replicas and placement of its `deploy:` section. The images are not here (no registry): the
// services exist, their tasks wait for an image.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/json.hpp"
#include "support/docker_engine.hpp"

using namespace orch;
using namespace orch::test;
using namespace std::chrono_literals;

namespace {

TEST(SwarmStack, TheComposeExampleDeploysOrchAsAReplicatedSwarmService) {
  if (!DockerEngine::available()) GTEST_SKIP() << "no dockerd";
  DockerEngine engine;
  SwarmMode swarm(engine);
  TempDir d;
  // The example next to the .env it names, as a user has it.
  std::filesystem::copy_file(std::string(ORCH_TESTS_DIR) + "/../packaging/docker-compose.example.yml", d.file("docker-compose.yml"));
  write_file(d.file(".env"), "TRUSTED_WEBHOOK_SECRET=0123456789abcdef0123456789abcdef\n");
  auto deploy = run({"docker", "stack", "deploy", "--resolve-image", "never", "-c", d.file("docker-compose.yml"), "content"},
                    {{"DOCKER_HOST", engine.host()}, {"ORCH_REPLICAS", "2"}});
  ASSERT_EQ(deploy.code, 0) << deploy.output;

  auto services = engine.must({"service", "ls", "--format", "{{.Name}}"});
  for (const char* s : {"content_orch", "content_redis", "content_web", "content_rag_service", "content_docling_service"})
    EXPECT_NE(services.find(s), std::string::npos) << s << " in " << services;
  auto spec = json::parse(engine.must({"service", "inspect", "--format", "{{json .Spec}}", "content_orch"}));
  EXPECT_EQ(spec["Mode"]["Replicated"]["Replicas"], 2) << spec.dump();
  EXPECT_EQ(spec["TaskTemplate"]["Placement"]["Constraints"][0], "node.role == manager") << spec.dump();
  EXPECT_EQ(spec["TaskTemplate"]["Placement"]["MaxReplicas"], 1) << spec.dump();
  EXPECT_EQ(spec["UpdateConfig"]["FailureAction"], "rollback") << spec.dump();
  bool redis_url = false;
  for (const auto& e : spec["TaskTemplate"]["ContainerSpec"]["Env"]) redis_url |= e == "REDIS_URL=redis://redis:6379";
  EXPECT_TRUE(redis_url) << spec.dump();
  // The stack's services carry the labels orch's swarm healer looks for on their containers.
  auto web =
      json::parse(engine.must({"service", "inspect", "--format", "{{json .Spec.TaskTemplate.ContainerSpec.Labels}}", "content_web"}));
  EXPECT_EQ(web["orch.heal"], "true") << web.dump();

  engine.docker({"stack", "rm", "content"});
  EXPECT_TRUE(eventually([&] { return engine.must({"service", "ls", "-q"}).empty(); }, 30s));
  // The stack's network goes with its last task; leaving the swarm (SwarmMode) removes the rest.
}

}  // namespace
