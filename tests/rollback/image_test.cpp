// Image rollback against a real dockerd: release history, last-known-good, automatic rollback
// of a failing release, restore when the target fails, dry run.
#include <gtest/gtest.h>

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
void commit(DockerEngine& engine, const std::string& tag, const std::string& cmd) {
  engine.must({"create", "--name", "img-src", engine.image(), "true"});
  engine.must({"commit", "--change", cmd, "img-src", tag});
  engine.must({"rm", "img-src"});
}

// v1 is healthy (it creates /tmp/ok); v2 never is; broken exits at once.
DockerEngine*& engine = share_engine([](DockerEngine& e) {
  e.must({"tag", e.image(), "orch-test/app:base"});
  commit(e, "orch-test/app:v1", R"(CMD ["sh","-c","touch /tmp/ok; exec sleep 3600"])");
  commit(e, "orch-test/app:v2", R"(CMD ["sleep","3600"])");
  commit(e, "orch-test/app:broken", R"(CMD ["sh","-c","exit 7"])");
});

docker::Client client() { return docker::Client(docker::Endpoint{engine->socket(), "http://localhost", std::nullopt}); }

void run_app(const std::string& image, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"run", "-d", "--network", "none", "--name", "app", "--stop-timeout", "1",
                                   "--label", "orch.heal=true", "--label", "team=content", "-e", "MODE=prod",
                                   "--restart", "no", "--health-cmd", "test -f /tmp/ok", "--health-interval", "1s",
                                   "--health-retries", "1"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(image);
  engine->must(args);
}

std::string image_id(const std::string& ref) { return client().image_inspect(ref)["Id"]; }

struct ImageRollback : ::testing::Test {
  RedisServer redis;
  Env env() {
    return {{"REDIS_URL", redis.url()}, {"DOCKER_HOST", engine->host()}, {"ORCH_LKG_AFTER", "2s"},
            {"ORCH_HEAL_MAX_RESTARTS", "1"}, {"ORCH_HEAL_BACKOFF", "500ms:1s"}, {"ROLLBACK_HEALTH_TIMEOUT", "20s"}};
  }
  void TearDown() override {
    if (engine) engine->docker({"rm", "-f", "app"});
  }
  bool has_event(const std::string& type) { return redis.count(type) > 0; }
};

TEST_F(ImageRollback, FailingReleaseIsRolledBackToLastKnownGoodAndPinned) {
  REQUIRE_ENGINE();
  OrchServer orch(env());
  ASSERT_TRUE(eventually([&] { return orch.get("/readyz").status == 200; }, 20s));
  run_app("orch-test/app:v1");
  // v1 becomes last-known-good (and is tagged so it survives pruning).
  ASSERT_TRUE(eventually([&] { return engine->docker({"image", "inspect", "orch-test/app:orch-lkg"}).code == 0; }, 30s)) << orch.log();
  EXPECT_EQ(image_id("orch-test/app:orch-lkg"), image_id("orch-test/app:v1"));

  // Deploy v2 (same name and config): never healthy → healer restarts, quarantines → rollback.
  engine->must({"rm", "-f", "app"});
  run_app("orch-test/app:v2");
  ASSERT_TRUE(eventually([&] { return has_event("rollback.succeeded"); }, 60s)) << orch.log();
  auto c = client().inspect("app");
  EXPECT_EQ(c.image_id, image_id("orch-test/app:v1"));
  EXPECT_TRUE(c.running);
  EXPECT_EQ(c.label("team"), "content");
  EXPECT_EQ(c.label("orch.heal"), "true");
  EXPECT_EQ(c.label("orch.rollback.from"), image_id("orch-test/app:v2"));
  bool has_mode = false;
  for (const auto& e : c.raw["Config"]["Env"]) has_mode |= e == "MODE=prod";
  EXPECT_TRUE(has_mode);
  EXPECT_EQ(c.restart_policy, "no");
  ASSERT_TRUE(eventually([&] { return client().inspect("app").health->status == "healthy"; }, 20s));
  // Pinned until cleared.
  auto state = run({ORCH_BINARY, "rollback", "--clear", "app", "-o", "json"}, env());
  EXPECT_EQ(json::parse(state.output)["was_pinned"], true) << state.output;
  EXPECT_TRUE(engine->docker({"ps", "-a", "--filter", "name=orch-old", "-q"}).output.empty());
}

TEST_F(ImageRollback, ATargetThatFailsRestoresThePreviousContainer) {
  REQUIRE_ENGINE();
  run_app("orch-test/app:v1");
  ASSERT_TRUE(eventually([&] { return client().inspect("app").health->status == "healthy"; }, 20s));
  auto before = client().inspect("app");
  auto r = run({ORCH_BINARY, "rollback", "--service", "app", "--to", "orch-test/app:broken", "-o", "json"}, env());
  EXPECT_EQ(r.code, 2) << r.output;
  auto j = json::parse(r.output.substr(r.output.find("{\n")));  // after the warning on stderr
  EXPECT_EQ(j["ok"], false);
  EXPECT_NE(j["error"].get<std::string>().find("exited"), std::string::npos) << r.output;
  auto after = client().inspect("app");
  EXPECT_EQ(after.id, before.id);
  EXPECT_TRUE(after.running);
  EXPECT_EQ(after.name, "app");
  EXPECT_TRUE(has_event("rollback.failed"));

  // POST /rollback: an operation that ran and failed is 409 (it was 500), with the report as body;
  // an image that does not exist is 404; a service without a container 400 (README, "HTTP API").
  OrchServer orch(env());
  ASSERT_TRUE(eventually([&] { return orch.get("/readyz").status == 200; }, 20s)) << orch.log();
  auto failed = orch.post("/rollback", R"({"service":"app","to":"orch-test/app:broken"})");
  EXPECT_EQ(failed.status, 409) << failed.body;
  auto report = json::parse(failed.body);
  EXPECT_EQ(report["ok"], false) << failed.body;
  EXPECT_NE(report["error"].get<std::string>().find("exited"), std::string::npos) << failed.body;
  EXPECT_EQ(client().inspect("app").id, before.id);
  auto missing = orch.post("/rollback", R"({"service":"app","to":"orch-test/app:nonexistent"})");
  EXPECT_EQ(missing.status, 404) << missing.body;
  EXPECT_EQ(json::parse(missing.body)["error"], "not_found") << missing.body;
  auto nobody = orch.post("/rollback", R"({"service":"nope"})");
  EXPECT_EQ(nobody.status, 400) << nobody.body;
  EXPECT_EQ(json::parse(nobody.body)["error"], "bad_request") << nobody.body;
}

TEST_F(ImageRollback, DryRunChangesNothingAndNoHistoryIsAUsageError) {
  REQUIRE_ENGINE();
  run_app("orch-test/app:v2");
  auto before = client().inspect("app").id;
  auto none = run({ORCH_BINARY, "rollback", "--service", "app"}, env());
  EXPECT_EQ(none.code, 64) << none.output;  // no last-known-good recorded
  auto dry = run({ORCH_BINARY, "rollback", "--service", "app", "--to", "orch-test/app:v1", "--dry-run", "-o", "json"}, env());
  ASSERT_EQ(dry.code, 0) << dry.output;
  EXPECT_EQ(json::parse(dry.output)["dry_run"], true);
  EXPECT_EQ(client().inspect("app").id, before);
  EXPECT_EQ(client().inspect("app").image_id, image_id("orch-test/app:v2"));
  EXPECT_EQ(run({ORCH_BINARY, "rollback", "--service", "nope"}, env()).code, 64);
}

TEST_F(ImageRollback, ManualRollbackKeepsNameAndConfig) {
  REQUIRE_ENGINE();
  run_app("orch-test/app:v2");
  auto r = run({ORCH_BINARY, "rollback", "--service", "app", "--to", "orch-test/app:v1", "-o", "json"}, env());
  ASSERT_EQ(r.code, 0) << r.output;
  auto c = client().inspect("app");
  EXPECT_EQ(c.image_id, image_id("orch-test/app:v1"));
  EXPECT_EQ(c.health->status, "healthy");
  EXPECT_EQ(c.label("team"), "content");
  // A rollback is not rolled back again without an explicit target.
  EXPECT_EQ(run({ORCH_BINARY, "rollback", "--service", "app"}, env()).code, 64);
}

TEST_F(ImageRollback, PostRollbackServiceAndClearAnswerAsTheCommandDoes) {
  // docs/rollback.md: POST /rollback {"service"} / {"clear"} give the JSON of `orch rollback -o json`.
  REQUIRE_ENGINE();
  run_app("orch-test/app:v2");
  const auto before = client().inspect("app").id;
  OrchServer orch(env());
  ASSERT_TRUE(eventually([&] { return orch.get("/readyz").status == 200; }, 20s)) << orch.log();
  auto dry = orch.post("/rollback", R"({"service":"app","to":"orch-test/app:v1","dry_run":true})");
  ASSERT_EQ(dry.status, 200) << dry.body;
  auto cli = run({ORCH_BINARY, "rollback", "--service", "app", "--to", "orch-test/app:v1", "--dry-run", "-o", "json"}, env());
  ASSERT_EQ(cli.code, 0) << cli.output;
  auto from_http = json::parse(dry.body), from_cli = json::parse(cli.output.substr(cli.output.find('{')));
  auto keys = [](const json& j) {
    std::vector<std::string> out;
    for (const auto& [k, v] : j.items()) out.push_back(k);
    return out;
  };
  EXPECT_EQ(keys(from_http), keys(from_cli)) << dry.body << "\n" << cli.output;
  EXPECT_EQ(from_http["dry_run"], true);
  EXPECT_EQ(from_http["to"], from_cli["to"]);
  EXPECT_EQ(client().inspect("app").id, before);

  auto done = orch.post("/rollback", R"({"service":"app","to":"orch-test/app:v1"})");
  ASSERT_EQ(done.status, 200) << done.body << orch.log();
  EXPECT_EQ(json::parse(done.body)["ok"], true) << done.body;
  EXPECT_EQ(client().inspect("app").image_id, image_id("orch-test/app:v1"));
  EXPECT_TRUE(client().inspect("app").running);

  auto clear = orch.post("/rollback", R"({"clear":"app"})");
  ASSERT_EQ(clear.status, 200) << clear.body;
  EXPECT_EQ(json::parse(clear.body)["cleared"], "app") << clear.body;
  EXPECT_TRUE(json::parse(clear.body)["was_pinned"].is_boolean()) << clear.body;
  auto again = orch.post("/rollback", R"({"clear":"app"})");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(json::parse(again.body)["was_pinned"], false) << "nothing left to clear";
}

// SPEC §13: a service already running when orch serve starts gets its release recorded by the
// start's reconcile (no container.started event will come), becomes last-known-good after
// ORCH_LKG_AFTER, and a later `orch rollback --service` finds that last-known-good.
TEST_F(ImageRollback, AServiceRunningBeforeStartGetsAReleaseAndALastKnownGood) {
  REQUIRE_ENGINE();
  run_app("orch-test/app:v1");
  ASSERT_TRUE(eventually([&] { return client().inspect("app").health->status == "healthy"; }, 20s));
  auto releases = [&] {
    auto text = redis.cli({"GET", "orch:state:releases"});
    auto j = parse_json(text);
    return j.is_object() ? j : json::object();
  };
  {
    OrchServer orch(env());
    ASSERT_TRUE(eventually([&] { return orch.get("/readyz").status == 200; }, 20s));
    ASSERT_TRUE(eventually([&] { return releases().contains("app"); }, 10s)) << orch.log();
    EXPECT_EQ(releases()["app"]["current"]["image_id"], image_id("orch-test/app:v1"));
    ASSERT_TRUE(eventually([&] { return releases()["app"].contains("lkg"); }, 20s)) << orch.log();
    EXPECT_EQ(releases()["app"]["lkg"]["image_id"], image_id("orch-test/app:v1"));
  }
  // A new release deployed while orch is away; the last-known-good is there to go back to.
  engine->must({"rm", "-f", "app"});
  run_app("orch-test/app:v2");
  auto dry = run({ORCH_BINARY, "rollback", "--service", "app", "--dry-run", "-o", "json"}, env());
  ASSERT_EQ(dry.code, 0) << dry.output;
  // `output` holds stderr too: a log line (engine retry) may precede the JSON document.
  const auto at = dry.output.find("\n{");
  auto j = parse_json(at == std::string::npos ? dry.output : dry.output.substr(at + 1));
  ASSERT_FALSE(j.is_discarded()) << dry.output;
  EXPECT_EQ(j["dry_run"], true);
  EXPECT_NE(j["to"].get<std::string>().find(image_id("orch-test/app:v1").substr(0, 19)), std::string::npos) << dry.output;
  EXPECT_EQ(client().inspect("app").image_id, image_id("orch-test/app:v2"));
}

}  // namespace
