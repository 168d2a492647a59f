// Image rollback against a real dockerd: release history, last-known-good, automatic rollback
// of a failing release, restore when the target fails, dry run.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <thread>

#include "core/json.hpp"
#include "docker/client.hpp"
#include "support/docker_engine.hpp"
#include "support/orch_server.hpp"
#include "support/receivers.hpp"
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

// v1 is healthy (it creates /tmp/ok); v2 never is; broken exits at once; short runs 2 s.
DockerEngine*& engine = share_engine([](DockerEngine& e) {
  e.must({"tag", e.image(), "orch-test/app:base"});
  commit(e, "orch-test/app:v1", R"(CMD ["sh","-c","touch /tmp/ok; exec sleep 3600"])");
  commit(e, "orch-test/app:v2", R"(CMD ["sleep","3600"])");
  commit(e, "orch-test/app:broken", R"(CMD ["sh","-c","exit 7"])");
  commit(e, "orch-test/app:short", R"(CMD ["sleep","2"])");
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
  // The name the last-known-good ran as, and its id (the name may point elsewhere by now).
  EXPECT_EQ(j["to"], "orch-test/app:v1 (" + image_id("orch-test/app:v1").substr(0, 19) + ")") << dry.output;
  EXPECT_EQ(client().inspect("app").image_id, image_id("orch-test/app:v2"));
}

// One service's entry of the releases document, as Redis holds it; {} while there is none.
json releases_of(const RedisServer& redis, const std::string& service) {
  auto doc = parse_json(redis.cli({"GET", "orch:state:releases"}));
  return doc.is_object() && doc.contains(service) && doc[service].is_object() ? doc[service] : json::object();
}

TEST_F(ImageRollback, AContainerNotHealthyAfterTheImageChangeIsRolledBackOncePerRelease) {
  // docs/rollback.md, automatic rollback of a plain container: a release not healthy
  // ROLLBACK_UNHEALTHY_AFTER after the image change is rolled back to its LKG, once per release,
  // pinned, and notified. orch.monitor-only keeps the healer (and its quarantine) out of it.
  REQUIRE_ENGINE();
  HttpReceiver notes;
  auto e = env();
  e["ROLLBACK_UNHEALTHY_AFTER"] = "3s";
  e["NOTIFY_WEBHOOK_URL"] = notes.url();
  OrchServer orch(e);
  ASSERT_TRUE(eventually([&] { return orch.get("/readyz").status == 200; }, 20s)) << orch.log();
  const std::vector<std::string> unhealed = {"--label", "orch.monitor-only=true"};
  const auto v1 = image_id("orch-test/app:v1"), v2 = image_id("orch-test/app:v2");
  run_app("orch-test/app:v1", unhealed);
  ASSERT_TRUE(eventually([&] { return releases_of(redis, "app").value("lkg", json::object()).value("image_id", "") == v1; }, 30s))
      << orch.log();

  engine->must({"rm", "-f", "app"});
  run_app("orch-test/app:v2", unhealed);
  const auto deployed = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] { return has_event("rollback.succeeded") || has_event("rollback.failed"); }, 30s)) << orch.log();
  EXPECT_GE(std::chrono::steady_clock::now() - deployed, 3s) << "rolled back before ROLLBACK_UNHEALTHY_AFTER";
  ASSERT_TRUE(has_event("rollback.succeeded")) << orch.log();
  const auto started = redis.events("rollback.started");
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0]["data"]["from"], v2);
  EXPECT_EQ(started[0]["data"]["to"], v1);
  EXPECT_EQ(started[0]["data"]["reason"], "not healthy 3s after the image change") << started[0].dump();
  auto c = client().inspect("app");
  EXPECT_EQ(c.image_id, v1);
  EXPECT_EQ(c.label("orch.rollback.from"), v2);
  auto h = releases_of(redis, "app");
  EXPECT_NE(h.value("pinned", "").find("automatic rollback"), std::string::npos) << h.dump();
  EXPECT_EQ(h["rolled_back"], json::array({v2})) << h.dump();
  // The notification (NOTIFY_WEBHOOK_URL's {"text", "event"}).
  auto notified = [&] {
    int n = 0;
    for (const auto& r : notes.requests()) {
      // A state alert (the unhealthy v2, say) carries "event": null (docs/alerting.md).
      auto j = parse_json(r.body);
      if (!j.is_object() || !j.contains("event") || !j["event"].is_object()) continue;
      if (j["event"].value("type", "") == "rollback.succeeded" && j.value("text", "").find("rolled back app") != std::string::npos) ++n;
    }
    return n;
  };
  EXPECT_TRUE(eventually([&] { return notified() == 1; }, 10s)) << orch.log();

  // Once per release: unpinned and deployed again, the same failing image is left alone.
  ASSERT_EQ(run({ORCH_BINARY, "rollback", "--clear", "app"}, env()).code, 0);
  engine->must({"rm", "-f", "app"});
  run_app("orch-test/app:v2", unhealed);
  ASSERT_TRUE(eventually([&] { return releases_of(redis, "app").value("current", json::object()).value("image_id", "") == v2; }, 10s))
      << orch.log();
  std::this_thread::sleep_for(5500ms);  // ROLLBACK_UNHEALTHY_AFTER and a 2 s tick more
  EXPECT_EQ(client().inspect("app").image_id, v2);
  EXPECT_EQ(redis.events("rollback.started").size(), 1u) << orch.log();
  EXPECT_EQ(notified(), 1);
}

TEST_F(ImageRollback, TheReplacementKeepsMountsNetworksAndAliasesAndMustRunThreeSeconds) {
  // docs/rollback.md: the new container has the old one's mounts (a named volume, a bind, and the
  // anonymous volume of `-v /anon` with its data) and networks with their aliases (two networks:
  // an engine before API 1.44 takes one at create); without a health check it must run 3 s.
  REQUIRE_ENGINE();
  TempDir bound;
  write_file(bound.file("config"), "from the host\n");
  engine->must({"network", "create", "rb-front"});
  engine->must({"network", "create", "rb-back"});
  engine->must({"volume", "create", "rb-named"});
  engine->must({"run", "-d", "--name", "app", "--stop-timeout", "1", "--network", "rb-front", "--network-alias", "app-front", "-v",
                "rb-named:/named", "-v", bound.path() + ":/bound:ro", "-v", "/anon", "orch-test/app:v2"});
  engine->must({"network", "connect", "--alias", "app-back", "rb-back", "app"});
  engine->must({"exec", "app", "sh", "-c", "echo kept > /anon/data; echo named > /named/data"});
  const auto old = client().inspect("app");
  auto mounts_of = [](const docker::ContainerInfo& c) {
    std::map<std::string, std::string> out;  // destination -> type:name-or-source:rw
    for (const auto& m : c.raw.value("Mounts", json::array()))
      out[m.value("Destination", "")] =
          m.value("Type", "") + ":" + m.value("Name", m.value("Source", "")) + ":" + (m.value("RW", false) ? "rw" : "ro");
    return out;
  };
  auto aliases_of = [](const docker::ContainerInfo& c, const std::string& network) {
    std::set<std::string> out;
    const auto networks = c.raw.value("NetworkSettings", json::object()).value("Networks", json::object());
    for (const auto& a : networks.value(network, json::object()).value("Aliases", json::array())) out.insert(a.get<std::string>());
    out.erase(c.id.substr(0, 12));  // the engine's own alias of every container
    return out;
  };

  // A target that exits after 2 s is not accepted: it had to run 3 s. The old container is back.
  const auto t0 = std::chrono::steady_clock::now();
  auto short_lived = run({ORCH_BINARY, "rollback", "--service", "app", "--to", "orch-test/app:short", "-o", "json"}, env());
  EXPECT_EQ(short_lived.code, 2) << short_lived.output;
  EXPECT_NE(short_lived.output.find("exited with 0"), std::string::npos) << short_lived.output;
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_EQ(client().inspect("app").id, old.id);
  EXPECT_TRUE(client().inspect("app").running);

  const auto t1 = std::chrono::steady_clock::now();
  auto r = run({ORCH_BINARY, "rollback", "--service", "app", "--to", "orch-test/app:v1", "-o", "json"}, env());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_GE(std::chrono::steady_clock::now() - t1, 3s) << "accepted before it ran 3 s";
  const auto now = client().inspect("app");
  EXPECT_NE(now.id, old.id);
  EXPECT_EQ(now.image_id, image_id("orch-test/app:v1"));
  EXPECT_EQ(mounts_of(now), mounts_of(old));
  EXPECT_EQ(mounts_of(now)["/anon"].rfind("volume:", 0), 0u) << mounts_of(now)["/anon"];
  EXPECT_EQ(engine->must({"exec", "app", "cat", "/anon/data", "/named/data", "/bound/config"}), "kept\nnamed\nfrom the host");
  EXPECT_EQ(now.raw.value("HostConfig", json::object()).value("NetworkMode", ""), "rb-front");
  EXPECT_EQ(aliases_of(now, "rb-front"), (std::set<std::string>{"app-front"}));
  EXPECT_EQ(aliases_of(now, "rb-back"), (std::set<std::string>{"app-back"}));
  EXPECT_TRUE(engine->docker({"ps", "-a", "--filter", "name=orch-old", "-q"}).output.empty());

  engine->must({"rm", "-f", "-v", "app"});
  engine->docker({"network", "rm", "rb-front", "rb-back"});
  engine->docker({"volume", "rm", "rb-named"});
}

TEST_F(ImageRollback, AServiceGoneLongerThanTheRetentionIsForgottenByTheDaemon) {
  // docs/rollback.md: a service without any container for ROLLBACK_HISTORY_RETENTION is dropped
  // from the release history at a reconcile of orch serve; one that still has its container stays.
  REQUIRE_ENGINE();
  auto e = env();
  e["ROLLBACK_HISTORY_RETENTION"] = "1s";
  e["ORCH_RECONCILE_INTERVAL"] = "300ms";
  OrchServer orch(e);
  ASSERT_TRUE(eventually([&] { return orch.get("/readyz").status == 200; }, 20s)) << orch.log();
  run_app("orch-test/app:v1");
  engine->must({"run", "-d", "--network", "none", "--name", "app-keep", "--label", "orch.heal=true", "orch-test/app:v1"});
  auto releases = [&] {
    const auto text = redis.cli({"GET", "orch:state:releases"});
    return text.find('{') == std::string::npos ? json::object() : json::parse(text);
  };
  ASSERT_TRUE(eventually([&] { return releases().contains("app") && releases().contains("app-keep"); }, 20s)) << orch.log();
  engine->must({"rm", "-f", "app"});
  ASSERT_TRUE(eventually([&] { return !releases().contains("app"); }, 15s)) << releases().dump() << orch.log();
  // Said once it is saved: the log line follows the document.
  EXPECT_TRUE(eventually([&] { return orch.log().find("release: app forgotten") != std::string::npos; }, 5s)) << orch.log();
  EXPECT_TRUE(releases().contains("app-keep")) << releases().dump();
  engine->docker({"rm", "-f", "app-keep"});
}

}  // namespace
