// `orch rollback --service` in swarm mode (rollback/swarm.hpp, docs/swarm.md "Rollback"): the real
// binary against a real dockerd in swarm mode rolls a service back to Swarm's previous spec, or to
// an image given with --to, and says so on the bus; `orch serve` records a swarm service's spec
// image as its release, makes it last-known-good and rolls a failing update back to it, once.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "config/config.hpp"
#include "core/json.hpp"
#include "redis/connection.hpp"
#include "rollback/swarm.hpp"
#include "support/docker_engine.hpp"
#include "support/http_stub.hpp"
#include "support/orch_server.hpp"
#include "support/redis_server.hpp"

// Its own namespace: the unity build compiles this file with the rest of its folder.
namespace swarm_rollback_test {

using namespace orch;
using namespace orch::test;
using namespace std::chrono_literals;

namespace {

using Env = std::map<std::string, std::string>;
// swarm-app:fails runs /bin/false before the service's command (its entrypoint), so its tasks exit
// 1 at once; swarm-app:fails-too is the same image under another name (another release).
DockerEngine*& engine = share_engine([](DockerEngine& e) {
  e.must({"tag", e.image(), "orch-test/swarm-app:v2"});
  e.must({"create", "--name", "fails-src", "--network", "none", e.image()});
  e.must({"commit", "--change", "ENTRYPOINT [\"/bin/false\"]", "fails-src", "orch-test/swarm-app:fails"});
  e.must({"rm", "fails-src"});
  e.must({"tag", "orch-test/swarm-app:fails", "orch-test/swarm-app:fails-too"});
});

std::string image_of(const std::string& service) {
  auto image = engine->must({"service", "inspect", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}", service});
  return image.substr(0, image.find('@'));
}

TEST(SwarmRollback, ToSwarmsPreviousSpecOrToAnImage) {
  REQUIRE_ENGINE();
  SwarmMode swarm(*engine);
  RedisServer redis;
  Env env{{"DOCKER_HOST", engine->host()}, {"REDIS_URL", redis.url()}, {"ROLLBACK_HEALTH_TIMEOUT", "60s"}};
  swarm.create_service("app", {"--replicas", "2", "--stop-grace-period", "1s"}, {"sleep", "600"});
  ASSERT_TRUE(eventually([&] { return swarm.running_replicas("app") == 2; }, 60s));

  // Never updated: Swarm has no previous spec, and orch says so (a usage error, 64).
  auto none = run({ORCH_BINARY, "rollback", "--service", "app", "-o", "json"}, env);
  EXPECT_EQ(none.code, 64) << none.output;
  EXPECT_NE(none.output.find("no previous spec"), std::string::npos) << none.output;

  engine->must({"service", "update", "-d", "--no-resolve-image", "--image", "orch-test/swarm-app:v2", "app"});
  ASSERT_TRUE(eventually([&] { return image_of("app") == "orch-test/swarm-app:v2"; }, 30s));

  // A dry run says what it would do and changes nothing.
  auto dry = run({ORCH_BINARY, "rollback", "--service", "app", "--dry-run", "-o", "json"}, env);
  ASSERT_EQ(dry.code, 0) << dry.output;
  EXPECT_EQ(json::parse(dry.output)["to"], engine->image());
  EXPECT_EQ(image_of("app"), "orch-test/swarm-app:v2");

  auto r = run({ORCH_BINARY, "rollback", "--service", "app", "-o", "json"}, env);
  ASSERT_EQ(r.code, 0) << r.output;
  auto j = json::parse(r.output);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["from"], "orch-test/swarm-app:v2");
  EXPECT_EQ(j["to"], engine->image());
  // The engine's own record: Swarm rolled the spec back, and every task runs the previous image.
  EXPECT_EQ(image_of("app"), engine->image());
  EXPECT_EQ(engine->must({"service", "inspect", "--format", "{{.UpdateStatus.State}}", "app"}), "rollback_completed");
  EXPECT_TRUE(eventually([&] { return swarm.running_replicas("app") == 2; }, 20s));  // the old tasks stopped
  ASSERT_EQ(redis.events("rollback.started").size(), 1u);
  auto done = redis.events("rollback.succeeded");
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0]["data"]["service"], "app");
  EXPECT_EQ(done[0]["data"]["to"], engine->image());

  // --to an image: an ordinary update of the service to it.
  auto to = run({ORCH_BINARY, "rollback", "--service", "app", "--to", "orch-test/swarm-app:v2", "-o", "json"}, env);
  ASSERT_EQ(to.code, 0) << to.output;
  EXPECT_EQ(image_of("app"), "orch-test/swarm-app:v2");
  swarm.remove_service("app");
}

// What a reconcile records (rollback::releases_of): a swarm service's spec image, as Swarm stores
// it, is its release; its task containers are no release of their own; a service without a running
// container still counts as present.
TEST(SwarmReleases, ATaskContainerIsNoContainerRelease) {
  Config cfg;
  docker::ContainerSummary task{"t1", "web.1.abc", "busybox:1", "sha256:task", "running"};
  task.labels = {{"com.docker.swarm.task.id", "abc"}, {"com.docker.swarm.service.name", "web"}};
  docker::ContainerSummary plain{"c1", "db", "postgres:16", "sha256:db", "running"};
  docker::ContainerSummary lone_task{"t2", "job.1.def", "busybox:1", "sha256:job", "running"};
  lone_task.labels = {{"com.docker.swarm.task.id", "def"}, {"com.docker.swarm.service.name", "job"}};

  // Outside a swarm: the task-labelled container is still Swarm's (a worker's, a left swarm's).
  auto single = rollback::releases_of({task, plain}, cfg, {});
  ASSERT_EQ(single.running.size(), 1u);
  EXPECT_EQ(single.running[0].service, "db");
  EXPECT_FALSE(single.running[0].swarm);
  EXPECT_TRUE(single.complete);

  docker::SwarmService web;
  web.name = "web";
  web.spec_image = "busybox:1@sha256:0123";
  web.image = "busybox:1";
  docker::SwarmView view{true, std::vector<docker::SwarmService>{web}};
  auto r = rollback::releases_of({task, plain, lone_task}, cfg, view);
  ASSERT_EQ(r.running.size(), 2u);
  EXPECT_EQ(r.running[0].service, "web");
  EXPECT_EQ(r.running[0].image_id, "busybox:1@sha256:0123");
  EXPECT_EQ(r.running[0].image, "busybox:1");
  EXPECT_TRUE(r.running[0].swarm);
  EXPECT_EQ(r.running[1].service, "db");
  EXPECT_EQ(r.present, (std::set<std::string>{"web", "db"}));  // "job" has only a task: not present by it

  // A manager whose services could not be listed: nothing may be forgotten.
  EXPECT_FALSE(rollback::releases_of({plain}, cfg, docker::SwarmView{true, std::nullopt}).complete);

  web.desired = 2, web.running = 2, web.update_state = "completed";
  EXPECT_TRUE(rollback::swarm_service_healthy(web));
  for (const char* moving : {"updating", "rollback_started", "paused", "rollback_paused"}) {
    web.update_state = moving;
    EXPECT_FALSE(rollback::swarm_service_healthy(web)) << moving;
  }
  web.update_state = "";
  web.running = 1;
  EXPECT_FALSE(rollback::swarm_service_healthy(web));
  web.desired = web.running = 0;
  EXPECT_FALSE(rollback::swarm_service_healthy(web));  // nothing runs: nothing to call healthy
}

// One service's entry of the releases document of `orch serve` (state/documents.hpp), as Redis
// holds it; {current: {}} while there is none.
json releases(const RedisServer& redis, const std::string& service) {
  auto doc = json::parse(redis.cli({"GET", "orch:state:releases"}), nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains(service) || !doc[service].is_object())
    return json{{"current", json::object()}};
  auto h = doc[service];
  if (!h.contains("current") || !h["current"].is_object()) h["current"] = json::object();
  return h;
}

TEST(SwarmRollback, AFailingUpdateIsRolledBackToTheLastKnownGoodOnce) {
  REQUIRE_ENGINE();
  SwarmMode swarm(*engine);
  RedisServer redis;
  OrchServer orch({{"DOCKER_HOST", engine->host()},
                   {"REDIS_URL", redis.url()},
                   {"ORCH_LKG_AFTER", "1s"},
                   {"ROLLBACK_UNHEALTHY_AFTER", "2s"},
                   {"ROLLBACK_WINDOW", "5m"},
                   {"ROLLBACK_HEALTH_TIMEOUT", "60s"},
                   {"ORCH_RECONCILE_INTERVAL", "2s"},
                   {"HEALTH_INTERVAL", "1h"}});
  const std::string good = engine->image(), bad = "orch-test/swarm-app:fails", worse = "orch-test/swarm-app:fails-too";
  swarm.create_service("shop", {"--stop-grace-period", "1s", "--update-monitor", "2s"}, {"sleep", "600"});

  // Healthy (its one task running) for ORCH_LKG_AFTER: its spec image is last-known-good.
  ASSERT_TRUE(eventually([&] { return releases(redis, "shop").value("lkg", json::object()).value("image_id", "") == good; }, 60s))
      << releases(redis, "shop").dump() << orch.log();
  auto doc = releases(redis, "shop");
  EXPECT_EQ(doc["current"]["image_id"], good);
  EXPECT_EQ(doc["current"]["swarm"], true);
  EXPECT_EQ(doc["lkg"]["swarm"], true);
  // No orch-lkg tag: the image of a swarm service lives on its nodes (or a registry).
  EXPECT_NE(engine->docker({"image", "inspect", "orch-test/busybox:orch-lkg"}).code, 0);

  // An update whose tasks exit at once: Swarm pauses it (its default failure action), the service
  // is not healthy for ROLLBACK_UNHEALTHY_AFTER, and orch updates it back to the LKG.
  engine->must({"service", "update", "-d", "--no-resolve-image", "--image", bad, "shop"});
  ASSERT_TRUE(eventually([&] { return !redis.events("rollback.succeeded").empty() || !redis.events("rollback.failed").empty(); }, 90s))
      << orch.log();
  auto started = redis.events("rollback.started");
  ASSERT_EQ(started.size(), 1u) << orch.log();
  EXPECT_EQ(started[0]["data"]["service"], "shop");
  EXPECT_EQ(started[0]["data"]["from"], bad);
  EXPECT_EQ(started[0]["data"]["to"], good);
  EXPECT_NE(started[0]["data"]["reason"].get<std::string>().find("not healthy"), std::string::npos) << started[0].dump();
  auto done = redis.events("rollback.succeeded");
  ASSERT_EQ(done.size(), 1u) << redis.events("rollback.failed").size() << orch.log();
  EXPECT_EQ(done[0]["data"]["to"], good);
  // The engine's own record: the spec names the LKG again and its task runs.
  EXPECT_EQ(image_of("shop"), good);
  EXPECT_TRUE(eventually([&] { return swarm.running_replicas("shop") == 1; }, 20s));
  doc = releases(redis, "shop");
  ASSERT_TRUE(doc.contains("pinned") && doc["pinned"].is_string()) << doc.dump();
  EXPECT_NE(doc["pinned"].get<std::string>().find("automatic rollback"), std::string::npos) << doc.dump();
  EXPECT_EQ(doc["rolled_back"], json::array({bad})) << doc.dump();

  // Pinned: a second failing update is left alone past ROLLBACK_UNHEALTHY_AFTER.
  engine->must({"service", "update", "-d", "--no-resolve-image", "--image", worse, "shop"});
  ASSERT_TRUE(eventually([&] { return releases(redis, "shop")["current"].value("image_id", "") == worse; }, 20s))
      << releases(redis, "shop").dump() << orch.log();
  std::this_thread::sleep_for(6s);  // ROLLBACK_UNHEALTHY_AFTER and two ticks more
  EXPECT_EQ(image_of("shop"), worse);
  EXPECT_EQ(redis.events("rollback.started").size(), 1u) << orch.log();
  // Its task containers never were releases of their own: the release is the spec image.
  doc = releases(redis, "shop");
  EXPECT_EQ(doc["current"]["swarm"], true) << doc.dump();
  swarm.remove_service("shop");
}

// `orch rollback --service` against an engine (a stub swarm manager whose service "app" has a
// previous spec) that refuses the update, then one that accepts it but never gets there: both are
// a failed rollback (exit 2, rollback.failed with the reason); an engine that refuses GET /info
// is no swarm, and nothing is updated.
TEST(SwarmRollback, AnUpdateTheEngineRefusesOrThatNeverFinishesIsAFailedRollback) {
  RedisServer redis;
  const json service = {{"ID", "svc1"},
                        {"Version", {{"Index", 3}}},
                        {"Spec",
                         {{"Name", "app"},
                          {"TaskTemplate", {{"ContainerSpec", {{"Image", "orch-test/swarm-app:new"}}}}},
                          {"Mode", {{"Replicated", {{"Replicas", 1}}}}}}},
                        {"PreviousSpec", {{"TaskTemplate", {{"ContainerSpec", {{"Image", "orch-test/swarm-app:old"}}}}}}},
                        {"ServiceStatus", {{"DesiredTasks", 1}, {"RunningTasks", 1}}}};
  std::atomic<bool> refuse{true}, info_fails{false};
  std::atomic<int> updates{0};
  HttpStub stub([&](const ReceivedRequest& r) -> StubAnswer {
    std::string p = r.path;
    if (p == "/_ping") return {200, "OK", "text/plain", {{"Api-Version", "1.45"}}};
    if (p.rfind("/v1.45", 0) == 0) p = p.substr(6);
    if (p == "/info") {
      if (info_fails) return {500, R"({"message":"info is not allowed by the proxy"})"};
      return {200, json{{"Swarm", {{"LocalNodeState", "active"}, {"ControlAvailable", true}, {"NodeID", "n1"}}}}.dump()};
    }
    if (p == "/containers/json") return {200, "[]"};
    if (p == "/services") return {200, json::array({service}).dump()};
    if (p == "/services/svc1" && r.method == "GET") return {200, service.dump()};
    if (p == "/services/svc1/update") {
      ++updates;
      if (refuse) return {500, R"({"message":"update out of sequence"})"};
      return {200, R"({"Warnings":[]})"};
    }
    return {404, R"({"message":"page not found"})"};
  });
  const Env env{{"REDIS_URL", redis.url()}, {"DOCKER_HOST", "tcp://" + stub.url().substr(7)}, {"ROLLBACK_HEALTH_TIMEOUT", "1s"}};

  auto refused = run({ORCH_BINARY, "rollback", "--service", "app", "-o", "json"}, env);
  EXPECT_EQ(refused.code, 2) << refused.output;
  auto j = json::parse(refused.output.substr(refused.output.find("{\n")));
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["to"], "orch-test/swarm-app:old");
  EXPECT_NE(j["error"].get<std::string>().find("update out of sequence"), std::string::npos) << refused.output;
  EXPECT_EQ(updates.load(), 1);
  auto failed = redis.events("rollback.failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_NE(failed[0]["data"]["error"].get<std::string>().find("update out of sequence"), std::string::npos) << failed[0].dump();

  refuse = false;
  auto stuck = run({ORCH_BINARY, "rollback", "--service", "app", "-o", "json"}, env);
  EXPECT_EQ(stuck.code, 2) << stuck.output;
  j = json::parse(stuck.output.substr(stuck.output.find("{\n")));
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["error"], "not done within 1s (update state none)") << stuck.output;
  EXPECT_EQ(updates.load(), 2);
  ASSERT_EQ(redis.events("rollback.failed").size(), 2u);
  EXPECT_TRUE(redis.events("rollback.succeeded").empty());

  info_fails = true;
  auto blind = run({ORCH_BINARY, "rollback", "--service", "app", "-o", "json"}, env);
  EXPECT_EQ(blind.code, 64) << blind.output;  // looked for as a container, and there is none
  EXPECT_NE(blind.output.find("no container for service 'app'"), std::string::npos) << blind.output;
  EXPECT_EQ(updates.load(), 2) << "no swarm: no service update";
  EXPECT_EQ(redis.events("rollback.started").size(), 2u);
}

}  // namespace

}  // namespace swarm_rollback_test
