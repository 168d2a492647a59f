// Heal in swarm mode (heal/service_healer.hpp, docs/swarm.md "Heal") end to end: a real dockerd in
// swarm mode, a real redis-server, two real `orch serve` replicas sharing it, a notification
// receiver; and a second dockerd joined as a worker that goes down.
#include <gtest/gtest.h>

#include <httplib.h>

#include <atomic>
#include <ctime>
#include <sstream>

#include "core/json.hpp"
#include "heal/heal_docs.hpp"
#include "redis/connection.hpp"
#include "support/docker_engine.hpp"
#include "support/http_stub.hpp"
#include "support/orch_server.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"

// Its own namespace: the unity build compiles this file with the rest of its folder.
namespace swarm_heal_test {

using namespace orch;
using namespace orch::test;
using namespace std::chrono_literals;

namespace {

using Env = std::map<std::string, std::string>;
DockerEngine*& engine = share_engine();

// A receiver for NOTIFY_WEBHOOK_URL.
class Receiver {
 public:
  Receiver() {
    server_.Post("/notify", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      notes_.push_back(json::parse(req.body));
      res.status = 204;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/notify"; }
  std::vector<json> notes() {
    std::lock_guard lock(mu_);
    return notes_;
  }

 private:
  httplib::Server server_;
  std::mutex mu_;
  std::vector<json> notes_;
  int port_ = 0;
  std::thread thread_;
};

long long force_update_of(const std::string& service) {
  return std::stoll(engine->must({"service", "inspect", "--format", "{{.Spec.TaskTemplate.ForceUpdate}}", service}));
}

// A service whose tasks keep failing is force-updated with backoff, then quarantined when the
// budget is used up, and notified; two orch replicas on one Redis heal it once, not twice.
TEST(SwarmHeal, FailingServiceIsForceUpdatedOnceByTwoReplicasThenQuarantined) {
  REQUIRE_ENGINE();
  SwarmMode swarm(*engine);
  RedisServer redis;
  Receiver receiver;
  Env env{{"REDIS_URL", redis.url()},
          {"DOCKER_HOST", engine->host()},
          {"ORCH_RECONCILE_INTERVAL", "1s"},
          {"NOTIFY_WEBHOOK_URL", receiver.url()},
          {"ORCH_HEAL_BACKOFF", "1s:2s"}};
  OrchServer a(env), b(env);
  ASSERT_TRUE(eventually([&] { return a.get("/readyz").status == 200 && b.get("/readyz").status == 200; }, 20s));
  // Out of scope (no orch.heal label), failing the same way: never touched.
  swarm.create_service("plain", {"--restart-delay", "1s"}, {"sh", "-c", "sleep 1; exit 3"});
  swarm.create_service("crash", {"--label", "orch.heal=true", "--label", "orch.heal.max-restarts=2", "--restart-delay", "1s"},
                       {"sh", "-c", "sleep 1; exit 3"});

  ASSERT_TRUE(eventually([&] { return !redis.events("heal.quarantined").empty(); }, 120s)) << a.log() << b.log();
  auto restarted = redis.events("heal.restarted");
  ASSERT_EQ(restarted.size(), 2u) << a.log() << b.log();
  EXPECT_EQ(restarted[0]["subject"], "crash");
  EXPECT_EQ(restarted[0]["data"]["service"], "crash");
  EXPECT_EQ(restarted[0]["data"]["attempt"], 1);
  EXPECT_EQ(restarted[1]["data"]["attempt"], 2);
  EXPECT_NE(restarted[0]["data"]["reason"].get<std::string>().find("tasks failed: task: non-zero exit (3)"), std::string::npos)
      << restarted[0].dump();
  // The engine's own record: two force updates, not four (each replica would have made its own).
  EXPECT_EQ(force_update_of("crash"), 2);
  EXPECT_EQ(force_update_of("plain"), 0);
  auto q = redis.events("heal.quarantined");
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0]["data"]["service"], "crash");
  ASSERT_TRUE(eventually([&] { return !receiver.notes().empty(); }, 10s));
  EXPECT_EQ(receiver.notes()[0]["event"]["type"], "heal.quarantined");
  EXPECT_NE(receiver.notes()[0]["text"].get<std::string>().find("orch heal --reset crash"), std::string::npos);
  // Each heal.* event carries exactly docs/heal.md's fields, in swarm mode too.
  const auto documented = documented_heal_fields();
  for (const auto& e : redis.events("heal.")) EXPECT_EQ(field_names(e["data"]), documented.at(e["type"])) << e.dump();

  // Quarantined: no more force updates while it keeps failing.
  std::this_thread::sleep_for(6s);
  EXPECT_EQ(force_update_of("crash"), 2);
  EXPECT_EQ(redis.events("heal.restarted").size(), 2u);
  // The quarantine is in the shared document (`orch heal --reset` and /status see it); POST /heal's
  // reset lifts it and forgets the history: heals start again at attempt 1.
  auto status = json::parse(a.get("/status").body);
  EXPECT_NE(status.dump().find("crash"), std::string::npos) << status.dump();
  for (auto* o : {&a, &b}) EXPECT_EQ(o->post("/heal", R"({"reset":"crash"})").status, 200);
  ASSERT_TRUE(eventually([&] { return redis.events("heal.restarted").size() == 3; }, 60s)) << a.log() << b.log();
  EXPECT_EQ(redis.events("heal.restarted")[2]["data"]["attempt"], 1);
  EXPECT_EQ(force_update_of("crash"), 3);
  swarm.remove_service("crash");
  swarm.remove_service("plain");
}

// `orch heal` (the one-shot pass, no orch serve) treats a swarm service as orch serve does: one
// whose tasks keep failing is reported by --dry-run and force-updated by the pass; one failing
// fewer times is Swarm's; one out of scope is never touched; a quarantined one is left (exit 2).
TEST(SwarmHeal, OrchHealPassForceUpdatesAServiceWhoseTasksKeepFailing) {
  REQUIRE_ENGINE();
  SwarmMode swarm(*engine);
  RedisServer redis;
  const Env env{{"REDIS_URL", redis.url()}, {"DOCKER_HOST", engine->host()}};
  swarm.create_service("crashing", {"--label", "orch.heal=true", "--restart-delay", "1s"}, {"sh", "-c", "sleep 1; exit 5"});
  swarm.create_service("outside", {"--restart-delay", "1s"}, {"sh", "-c", "sleep 1; exit 5"});
  // Three failed tasks of "crashing" (about 2 s each), as the engine counts them.
  ASSERT_TRUE(eventually(
      [&] {
        std::istringstream ids(engine->must({"service", "ps", "crashing", "--filter", "desired-state=shutdown", "--format", "{{.ID}}"}));
        int n = 0;
        for (std::string id; std::getline(ids, id);) n += !id.empty();
        return n >= 3;
      },
      60s));
  auto dry = run({ORCH_BINARY, "heal", "--dry-run", "-o", "json"}, env);
  ASSERT_EQ(dry.code, 1) << dry.output;
  auto report = json::parse(dry.output.substr(dry.output.find('{')));
  ASSERT_EQ(report["actions"].size(), 1u) << report.dump();
  EXPECT_EQ(report["actions"][0]["container"], "crashing");
  EXPECT_EQ(report["actions"][0]["service"], "crashing");
  EXPECT_EQ(report["actions"][0]["outcome"], "would-force-update");
  EXPECT_NE(report["actions"][0]["reason"].get<std::string>().find("tasks failed: task: non-zero exit (5)"), std::string::npos)
      << report.dump();
  EXPECT_EQ(force_update_of("crashing"), 0);

  auto pass = run({ORCH_BINARY, "heal", "-o", "json"}, env);
  ASSERT_EQ(pass.code, 1) << pass.output;
  report = json::parse(pass.output.substr(pass.output.find('{')));
  ASSERT_EQ(report["actions"].size(), 1u) << report.dump();
  EXPECT_EQ(report["actions"][0]["outcome"], "force-updated");
  EXPECT_EQ(force_update_of("crashing"), 1);
  EXPECT_EQ(force_update_of("outside"), 0);
  auto restarted = redis.events("heal.restarted");
  ASSERT_EQ(restarted.size(), 1u);
  EXPECT_EQ(restarted[0]["data"]["service"], "crashing");
  // Right after the force update its failures start again from zero: nothing to do.
  auto again = run({ORCH_BINARY, "heal", "--dry-run", "-o", "json"}, env);
  EXPECT_EQ(again.code, 0) << again.output;

  // Quarantined (by orch serve, in the shared document): reported, left alone, exit 2.
  redis.cli({"SET", "orch:state:heal-quarantine", R"({"crashing":{"since_ms":1,"reason":"test"}})"});
  ASSERT_TRUE(eventually(
      [&] {
        auto r = run({ORCH_BINARY, "heal", "-o", "json"}, env);
        return r.code == 2 && r.output.find("\"quarantined\"") != std::string::npos;
      },
      60s));
  EXPECT_EQ(force_update_of("crashing"), 1);
  EXPECT_EQ(run({ORCH_BINARY, "heal", "--reset", "crashing"}, env).code, 0);
  swarm.remove_service("crashing");
  swarm.remove_service("outside");
}

// A task container of a swarm service labelled orch.heal=true is Swarm's to restart: the container
// healer leaves it (no heal.* event for it), while container.* events name its service and task.
TEST(SwarmHeal, TaskContainersAreLeftToSwarm) {
  REQUIRE_ENGINE();
  SwarmMode swarm(*engine);
  RedisServer redis;
  OrchServer orch(Env{{"REDIS_URL", redis.url()}, {"DOCKER_HOST", engine->host()}, {"ORCH_RECONCILE_INTERVAL", "1s"}});
  ASSERT_TRUE(eventually([&] { return orch.get("/readyz").status == 200; }, 20s));
  swarm.create_service("labelled", {"--container-label", "orch.heal=true", "--restart-delay", "20s"}, {"sh", "-c", "sleep 1; exit 4"});
  ASSERT_TRUE(eventually(
      [&] {
        for (const auto& e : redis.events("container.died"))
          if (e["data"]["service"] == "labelled") return true;
        return false;
      },
      30s))
      << orch.log();
  json died;
  for (const auto& e : redis.events("container.died"))
    if (e["data"]["service"] == "labelled") died = e;
  EXPECT_EQ(died["data"]["task"], "labelled.1");
  EXPECT_EQ(died["data"]["exit_code"], 4);
  std::this_thread::sleep_for(3s);  // several reconciles
  // (The service healer would act only after three failures: 40 s away with a 20 s restart delay.)
  EXPECT_TRUE(redis.events("heal.").empty()) << redis.events("heal.")[0].dump();
  swarm.remove_service("labelled");
}

// A worker whose dockerd stops: orch serve on the manager publishes swarm.node.down and notifies.
TEST(SwarmHeal, NodeDownIsPublishedAndNotified) {
  REQUIRE_ENGINE();
  DockerEngine worker;
  SwarmMode swarm(*engine);
  const auto worker_id = swarm.join_worker(worker);
  RedisServer redis;
  Receiver receiver;
  OrchServer orch(Env{{"REDIS_URL", redis.url()},
                      {"DOCKER_HOST", engine->host()},
                      {"ORCH_RECONCILE_INTERVAL", "1s"},
                      {"NOTIFY_WEBHOOK_URL", receiver.url()}});
  ASSERT_TRUE(eventually([&] { return orch.get("/readyz").status == 200; }, 20s));
  std::this_thread::sleep_for(2s);  // orch has seen both nodes ready
  EXPECT_TRUE(redis.events("swarm.node.").empty());
  worker.stop();
  ASSERT_TRUE(eventually([&] { return !redis.events("swarm.node.down").empty(); }, 90s)) << orch.log();
  auto down = redis.events("swarm.node.down");
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0]["data"]["id"], worker_id);
  EXPECT_EQ(down[0]["data"]["state.old"], "ready");
  ASSERT_TRUE(eventually([&] { return !receiver.notes().empty(); }, 10s));
  EXPECT_EQ(receiver.notes()[0]["event"]["type"], "swarm.node.down");
  EXPECT_NE(receiver.notes()[0]["text"].get<std::string>().find("is down"), std::string::npos);
  // Back: swarm.node.ready, without a notification.
  worker.start();
  ASSERT_TRUE(eventually([&] { return !redis.events("swarm.node.ready").empty(); }, 60s)) << orch.log();
  EXPECT_EQ(receiver.notes().size(), 1u);
}

// RFC 3339 UTC, as the engine writes a task's Status.Timestamp.
std::string engine_time(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.000000000Z", &tm);
  return buf;
}

// `orch heal` against an engine (a stub: a swarm manager with one labelled service whose three
// tasks failed) that refuses the force update: the action is "failed" with the engine's words,
// heal.failed is published, exit 2. An engine that cannot list its services: the pass reports
// the containers (none) and says why services were not looked at, exit 0.
TEST(SwarmHeal, OrchHealPassReportsAForceUpdateTheEngineRefuses) {
  RedisServer redis;
  const json service = {{"ID", "svc1"},
                        {"Version", {{"Index", 7}}},
                        {"Spec",
                         {{"Name", "crashing"},
                          {"Labels", {{"orch.heal", "true"}}},
                          {"TaskTemplate", {{"ContainerSpec", {{"Image", "busybox"}}}}},
                          {"Mode", {{"Replicated", {{"Replicas", 1}}}}}}},
                        {"ServiceStatus", {{"DesiredTasks", 1}, {"RunningTasks", 0}}},
                        {"UpdatedAt", "2020-01-01T00:00:00Z"}};
  json tasks = json::array();
  for (int i = 1; i <= 3; ++i)
    tasks.push_back({{"ID", "t" + std::to_string(i)},
                     {"ServiceID", "svc1"},
                     {"Slot", 1},
                     {"DesiredState", "shutdown"},
                     {"Status",
                      {{"State", "failed"},
                       {"Err", "task: non-zero exit (5)"},
                       {"Timestamp", engine_time(std::chrono::system_clock::now() - std::chrono::seconds(10 * i))}}}});
  std::atomic<bool> services_fail{false};
  HttpStub stub([&](const ReceivedRequest& r) -> StubAnswer {
    std::string p = r.path;
    if (p == "/_ping") return {200, "OK", "text/plain", {{"Api-Version", "1.45"}}};
    if (p.rfind("/v1.45", 0) == 0) p = p.substr(6);
    if (p == "/info") return {200, json{{"Swarm", {{"LocalNodeState", "active"}, {"ControlAvailable", true}, {"NodeID", "n1"}}}}.dump()};
    if (p == "/containers/json") return {200, "[]"};
    if (p == "/services") {
      if (services_fail) return {500, R"({"message":"this node is not a swarm manager any more"})"};
      return {200, json::array({service}).dump()};
    }
    if (p == "/services/svc1" && r.method == "GET") return {200, service.dump()};
    if (p == "/services/svc1/update") return {500, R"({"message":"update out of sequence"})"};
    if (p == "/tasks") return {200, tasks.dump()};
    return {404, R"({"message":"page not found"})"};
  });
  const Env env{{"REDIS_URL", redis.url()}, {"DOCKER_HOST", "tcp://" + stub.url().substr(7)}};

  auto pass = run({ORCH_BINARY, "heal", "-o", "json"}, env);
  EXPECT_EQ(pass.code, 2) << pass.output;
  auto report = json::parse(pass.output.substr(pass.output.find('{')));
  ASSERT_EQ(report["actions"].size(), 1u) << report.dump();
  EXPECT_EQ(report["actions"][0]["container"], "crashing");
  EXPECT_EQ(report["actions"][0]["outcome"], "failed");
  EXPECT_NE(report["actions"][0]["error"].get<std::string>().find("update out of sequence"), std::string::npos) << report.dump();
  EXPECT_NE(report["actions"][0]["reason"].get<std::string>().find("3 tasks failed: task: non-zero exit (5)"), std::string::npos)
      << report.dump();
  int updates = 0;
  for (const auto& r : stub.requests()) updates += r.method == "POST" && r.path.find("/services/svc1/update") != std::string::npos;
  EXPECT_EQ(updates, 1);
  auto failed = redis.events("heal.failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["data"]["service"], "crashing");
  EXPECT_NE(failed[0]["data"]["error"].get<std::string>().find("update out of sequence"), std::string::npos) << failed[0].dump();
  EXPECT_TRUE(redis.events("heal.restarted").empty());
  const auto documented = documented_heal_fields();
  EXPECT_EQ(field_names(failed[0]["data"]), documented.at("heal.failed")) << failed[0].dump();

  services_fail = true;
  auto blind = run({ORCH_BINARY, "heal", "-o", "json"}, env);
  EXPECT_EQ(blind.code, 0) << blind.output;
  EXPECT_TRUE(json::parse(blind.output.substr(blind.output.find('{')))["actions"].empty()) << blind.output;
  EXPECT_NE(blind.output.find("this node is not a swarm manager any more"), std::string::npos) << blind.output;
  EXPECT_EQ(redis.events("heal.failed").size(), 1u);
}

}  // namespace

}  // namespace swarm_heal_test
