// The content pipeline and sync-test end to end: real redis-server, real `orch serve`, and the
// stand-ins for docling-serve, the RAG service and the frontend.
#include <gtest/gtest.h>

#include <sstream>

#include "redis/connection.hpp"
#include "bus/redis_bus.hpp"
#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/text.hpp"
#include "http/client.hpp"
#include "pipeline/synctest.hpp"
#include "support/orch_server.hpp"
#include "support/redis_server.hpp"

using namespace orch;
using namespace orch::test;
using namespace std::chrono_literals;

namespace {

using Env = std::map<std::string, std::string>;
const std::string kSecret = "pipeline-secret-1-0123456789";

struct Standins {
  int docling = free_port(), rag = free_port(), web = free_port(), builder = free_port();
  Process proc;
  explicit Standins(std::vector<std::string> knobs = {}) {
    std::vector<std::string> argv = {ORCH_STANDINS, "--docling-port", std::to_string(docling), "--rag-port", std::to_string(rag),
                                     "--web-port", std::to_string(web), "--builder-port", std::to_string(builder),
                                     "--builder-secret", kSecret};
    argv.insert(argv.end(), knobs.begin(), knobs.end());
    proc = Process(argv);
    eventually([&] {
      try {
        return calls()["reindex"] == 0;
      } catch (const std::exception&) {
        return false;
      }
    });
  }
  std::string url(int port) const { return "http://127.0.0.1:" + std::to_string(port); }
  json calls() const {
    http::Request r;
    r.url = url(rag) + "/_calls";
    return json::parse(http::send(r).body);
  }
  Env env() const {
    return {{"DOCLING_API_URL", url(docling)}, {"RAG_API_URL", url(rag)}, {"WEB_API_URL", url(web)},
            {"TRUSTED_WEBHOOK_SECRET", kSecret}, {"PIPELINE_BACKOFF", "100ms:200ms"}, {"PIPELINE_MAX_ATTEMPTS", "3"},
            {"DOCKER_HOST", "\x01unset"}, {"HEALTH_INTERVAL", "1h"}};
  }
};

Env merge(Env a, const Env& b) {
  for (const auto& [k, v] : b) a[k] = v;
  return a;
}

std::vector<json> events(const RedisServer& redis, const char* stream = "orch:events") {
  redis::Connection c(redis::Url{"127.0.0.1", redis.port()}, 2s);
  std::vector<json> out;
  for (const auto& e : c.command({"XRANGE", stream, "-", "+"}).elements)
    for (size_t i = 0; i + 1 < e.elements[1].elements.size(); i += 2)
      if (e.elements[1].elements[i].str == "event") out.push_back(json::parse(e.elements[1].elements[i + 1].str));
  return out;
}

int count(const std::vector<json>& evs, const std::string& type, const std::string& stage = "") {
  int n = 0;
  for (const auto& e : evs)
    if (e["type"] == type && (stage.empty() || e["data"].value("stage", "") == stage)) ++n;
  return n;
}

http::Response publish(const OrchServer& orch, const std::string& id, long long revision, const std::string& op = "publish") {
  json body = {{"modelName", "page"},
               {"operation", op},
               {"newValue", {{"id", id}, {"name", id}, {"lastUpdated", revision}, {"data", {{"url", "/pages/" + id}}}}}};
  auto b = body.dump();
  return orch.post("/webhook/builder", b, {{"x-builder-signature", "sha256=" + to_hex(hmac_sha256(kSecret, b))}});
}

TEST(Pipeline, PublishIsConvertedIndexedAndSyncTestPasses) {
  RedisServer redis;
  Standins s;
  auto env = merge(s.env(), {{"REDIS_URL", redis.url()}});
  OrchServer orch(env);
  ASSERT_EQ(publish(orch, "about", 1).status, 202);
  ASSERT_TRUE(eventually([&] { return count(events(redis), "ingest.succeeded", "rag") == 1; }, 15s)) << orch.log();
  auto evs = events(redis);
  EXPECT_EQ(count(evs, "ingest.started", "docling"), 1);
  EXPECT_EQ(count(evs, "ingest.succeeded", "docling"), 1);
  EXPECT_EQ(s.calls()["convert"], 1);
  EXPECT_EQ(s.calls()["indexed"], 1);

  env["ORCH_URL"] = orch.url();
  auto r = run({ORCH_BINARY, "sync-test", "-o", "json", "--timeout", "20s"}, env);
  ASSERT_EQ(r.code, 0) << r.output << orch.log();
  auto j = json::parse(r.output);
  EXPECT_EQ(j["passed"], true);
  std::vector<std::string> names;
  for (const auto& st : j["stages"]) {
    names.push_back(st["name"]);
    EXPECT_TRUE(st["ok"]);
    EXPECT_GE(st["ms"].get<long long>(), 0);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"webhook", "bus", "docling", "rag", "frontend"}));
  EXPECT_EQ(count(events(redis), "synctest.passed"), 1);
  auto metrics = orch.get("/metrics").body;
  EXPECT_NE(metrics.find("orch_pipeline_jobs_total{result=\"succeeded\"} 2"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("orch_pipeline_job_seconds_count 2"), std::string::npos) << metrics;
}

TEST(Pipeline, RagFailingTwiceThenSucceedingIsRetried) {
  RedisServer redis;
  Standins s({"--rag-fail", "2"});
  OrchServer orch(merge(s.env(), {{"REDIS_URL", redis.url()}}));
  ASSERT_EQ(publish(orch, "retry-me", 1).status, 202);
  ASSERT_TRUE(eventually([&] { return count(events(redis), "ingest.succeeded", "rag") == 1; }, 15s)) << orch.log();
  auto evs = events(redis);
  EXPECT_EQ(count(evs, "ingest.failed", "rag"), 2);
  for (const auto& e : evs) {
    if (e["type"] == "ingest.succeeded" && e["data"]["stage"] == "rag") {
      EXPECT_EQ(e["data"]["attempt"], 3);
    }
  }
  EXPECT_TRUE(events(redis, "orch:dead").empty());
  EXPECT_EQ(s.calls()["reindex"], 3);
}

TEST(Pipeline, RagAlwaysFailingEndsInTheDeadLetterStream) {
  RedisServer redis;
  Standins s({"--rag-fail-always"});
  OrchServer orch(merge(s.env(), {{"REDIS_URL", redis.url()}}));
  ASSERT_EQ(publish(orch, "doomed", 7).status, 202);
  ASSERT_TRUE(eventually([&] {
    redis::Connection c(redis::Url{"127.0.0.1", redis.port()}, 2s);
    return c.command({"XLEN", "orch:dead"}).integer == 1;
  }, 15s)) << orch.log();
  auto evs = events(redis);
  EXPECT_EQ(count(evs, "ingest.failed", "rag"), 3);
  bool final_seen = false;
  for (const auto& e : evs)
    if (e["type"] == "ingest.failed" && e["data"].value("final", false)) final_seen = true;
  EXPECT_TRUE(final_seen);
  redis::Connection c(redis::Url{"127.0.0.1", redis.port()}, 2s);
  auto dead = c.command({"XRANGE", "orch:dead", "-", "+"}).elements[0].elements[1].elements;
  EXPECT_EQ(dead[0].str, "event");
  EXPECT_EQ(json::parse(dead[1].str)["data"]["id"], "doomed");
  EXPECT_NE(orch.get("/metrics").body.find("orch_pipeline_jobs_total{result=\"dead_lettered\"} 1"), std::string::npos);
}

TEST(Pipeline, DuplicateWebhookMakesOneJobAndUnpublishDeletes) {
  RedisServer redis;
  Standins s;
  OrchServer orch(merge(s.env(), {{"REDIS_URL", redis.url()}}));
  ASSERT_EQ(publish(orch, "twice", 5).status, 202);
  ASSERT_EQ(publish(orch, "twice", 5).status, 200);
  ASSERT_TRUE(eventually([&] { return s.calls()["indexed"] == 1; }, 10s));
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(s.calls()["reindex"], 1);
  ASSERT_EQ(publish(orch, "twice", 6, "unpublish").status, 202);
  ASSERT_TRUE(eventually([&] { return s.calls()["indexed"] == 0; }, 10s));
  EXPECT_EQ(s.calls()["delete"], 1);
}

TEST(Pipeline, DoclingRequestFormOptionsAndApiKeyAreConfigurable) {
  RedisServer redis;
  Standins s({"--docling-api-key", "dk-1"});
  auto env = merge(s.env(), {{"REDIS_URL", redis.url()}, {"PIPELINE_MAX_ATTEMPTS", "1"}});
  {
    // Without the key docling answers 401: not retried, dead-lettered at once.
    OrchServer orch(env);
    ASSERT_EQ(publish(orch, "keyless", 1).status, 202);
    ASSERT_TRUE(eventually([&] { return count(events(redis), "ingest.failed", "docling") == 1; }, 10s)) << orch.log();
    EXPECT_EQ(s.calls()["reindex"], 0);
  }
  OrchServer orch(merge(env, {{"DOCLING_API_KEY", "dk-1"}, {"DOCLING_SOURCE_FORM", "http_sources"},
                              {"DOCLING_OPTIONS", R"({"do_ocr":false,"to_formats":["html"]})"}, {"DOCLING_TO_FORMAT", "md"}}));
  ASSERT_EQ(publish(orch, "keyed", 1).status, 202);
  ASSERT_TRUE(eventually([&] { return s.calls()["indexed"] == 1; }, 10s)) << orch.log();
  auto sent = s.calls()["last_convert"];
  EXPECT_EQ(sent["http_sources"][0]["url"], s.url(s.web) + "/pages/keyed");
  EXPECT_FALSE(sent.contains("sources"));
  EXPECT_EQ(sent["options"]["do_ocr"], false);
  EXPECT_EQ(sent["options"]["to_formats"], json::array({"md"}));  // DOCLING_TO_FORMAT wins: the text is read from it
  EXPECT_EQ(orch.get("/metrics").body.find("dk-1"), std::string::npos);
}

TEST(Pipeline, BadDoclingSettingsStopOrchServeAtStart) {
  Standins s;
  auto env = merge(s.env(), {{"DOCLING_OPTIONS", "[1,2]"}, {"PORT", std::to_string(free_port())}, {"ORCH_CONFIG", ""}});
  auto r = run({ORCH_BINARY, "serve"}, env, 20s);
  EXPECT_EQ(r.code, 78) << r.output;
  EXPECT_NE(r.output.find("DOCLING_OPTIONS"), std::string::npos) << r.output;
  env["DOCLING_OPTIONS"] = "";
  env["DOCLING_SOURCE_FORM"] = "files";
  r = run({ORCH_BINARY, "serve"}, env, 20s);
  EXPECT_EQ(r.code, 78) << r.output;
}

TEST(Pipeline, ARedeliveredRevisionIsNotProcessedAgain) {
  // The webhook's own dedupe is bypassed: the same (id, revision) arrives on the bus twice, as a
  // redelivery or a second webhook id would bring it. The done-set in Redis makes it one job.
  RedisServer redis;
  Standins s;
  OrchServer orch(merge(s.env(), {{"REDIS_URL", redis.url()}}));
  TempDir dir;
  auto bus = make_redis_bus({redis::Url{"127.0.0.1", redis.port()}, dir.path() + "/outbox"});
  json data = {{"model", "page"}, {"id", "again"}, {"name", "again"}, {"url", "/pages/again"}, {"revision", "42"}, {"operation", "publish"}};
  bus->publish(make_event("content.published", "page/again", data));
  ASSERT_TRUE(eventually([&] { return count(events(redis), "ingest.succeeded", "rag") == 1; }, 10s)) << orch.log();
  bus->publish(make_event("content.published", "page/again", data));
  ASSERT_TRUE(eventually([&] {
    return orch.get("/metrics").body.find("orch_pipeline_jobs_total{result=\"duplicate\"} 1") != std::string::npos;
  }, 10s)) << orch.get("/metrics").body;
  EXPECT_EQ(s.calls()["convert"], 1);
  EXPECT_EQ(s.calls()["reindex"], 1);
  // A new revision is a new job.
  data["revision"] = "43";
  bus->publish(make_event("content.published", "page/again", data));
  ASSERT_TRUE(eventually([&] { return s.calls()["reindex"] == 2; }, 10s));
  bus->close();
}

TEST(Pipeline, AJobOfAKilledInstanceIsFinishedByTheOther) {
  // Two instances share the consumer group; the one that took the job hangs inside the RAG call
  // and is SIGKILLed; the survivor takes the entry over (XAUTOCLAIM after PIPELINE_CLAIM_IDLE).
  RedisServer redis;
  Standins s({"--rag-hang-ms", "3000"});
  auto env = merge(s.env(), {{"REDIS_URL", redis.url()}, {"PIPELINE_CLAIM_IDLE", "1s"}, {"RAG_TIMEOUT", "10s"}});
  std::map<std::string, std::unique_ptr<OrchServer>> orch;
  orch["inst-a"] = std::make_unique<OrchServer>(merge(env, {{"ORCH_INSTANCE_ID", "inst-a"}}));
  orch["inst-b"] = std::make_unique<OrchServer>(merge(env, {{"ORCH_INSTANCE_ID", "inst-b"}}));
  ASSERT_EQ(publish(*orch["inst-a"], "survivor", 1).status, 202);
  ASSERT_TRUE(eventually([&] { return s.calls()["reindex"] == 1; }, 10s));  // hanging inside the RAG call
  redis::Connection c(redis::Url{"127.0.0.1", redis.port()}, 2s);
  auto pending = c.command({"XPENDING", "orch:events", "orch-pipeline", "-", "+", "10"}).elements;
  ASSERT_EQ(pending.size(), 1u);
  const std::string consumer = pending[0].elements[1].str;  // <instance>-<worker>
  const std::string victim = consumer.substr(0, consumer.rfind('-'));
  const std::string survivor = victim == "inst-a" ? "inst-b" : "inst-a";
  ASSERT_TRUE(orch.count(victim)) << consumer;
  orch[victim]->process().signal(SIGKILL);
  orch[victim].reset();
  ASSERT_TRUE(eventually([&] {
    return orch[survivor]->get("/metrics").body.find("orch_pipeline_jobs_total{result=\"succeeded\"} 1") != std::string::npos;
  }, 20s)) << orch[survivor]->log();
  EXPECT_EQ(s.calls()["reindex"], 2);
  EXPECT_EQ(s.calls()["indexed"], 1);
  ASSERT_TRUE(eventually([&] {
    return c.command({"XPENDING", "orch:events", "orch-pipeline", "-", "+", "10"}).elements.empty();
  }, 5s));  // acknowledged by the survivor
}

TEST(SyncTest, NamesTheFailingStageAndExits2) {
  RedisServer redis;
  Standins s({"--docling-fail-always"});
  auto env = merge(s.env(), {{"REDIS_URL", redis.url()}, {"PIPELINE_MAX_ATTEMPTS", "1"}});
  OrchServer orch(env);
  env["ORCH_URL"] = orch.url();
  auto r = run({ORCH_BINARY, "sync-test", "-o", "json", "--timeout", "10s"}, env);
  ASSERT_EQ(r.code, 2) << r.output;
  auto j = json::parse(r.output);
  EXPECT_EQ(j["failed_stage"], "docling");
  EXPECT_EQ(j["stages"].size(), 3u);
  EXPECT_EQ(count(events(redis), "synctest.failed"), 1);
}

TEST(SyncTest, AStageServiceThatRefusesIsCritical2OnlyOrchOrRedisUnreachableIs3) {
  RedisServer redis;
  Standins s;
  auto env = merge(s.env(), {{"REDIS_URL", redis.url()}, {"RAG_API_URL", "http://127.0.0.1:" + std::to_string(free_port())},
                             {"PIPELINE_MAX_ATTEMPTS", "1"}});
  {
    OrchServer orch(env);
    env["ORCH_URL"] = orch.url();
    // The RAG service refuses connections: its stage failed (2, as Nagios check_http says), naming it.
    auto r = run({ORCH_BINARY, "sync-test", "-o", "json", "--timeout", "10s"}, env);
    EXPECT_EQ(r.code, 2) << r.output;
    EXPECT_EQ(json::parse(r.output.substr(r.output.find('{')))["failed_stage"], "rag") << r.output;
    // orch itself unreachable: the test could not run at all (3).
    auto down = run({ORCH_BINARY, "sync-test", "--timeout", "5s", "--orch-url", "http://127.0.0.1:" + std::to_string(free_port())}, env);
    EXPECT_EQ(down.code, 3) << down.output;
    // Redis unreachable: 3 too.
    auto no_redis = env;
    no_redis["REDIS_URL"] = "redis://127.0.0.1:" + std::to_string(free_port());
    auto nr = run({ORCH_BINARY, "sync-test", "-o", "json", "--timeout", "5s"}, no_redis);
    EXPECT_EQ(nr.code, 3) << nr.output;
  }  // stopped: it shares the consumer group, and with a working docling it could take the next job

  // Docling down is seen through orch's ingest.failed (unreachable): the docling stage failed, 2.
  RedisServer redis2;
  auto no_docling = merge(s.env(), {{"REDIS_URL", redis2.url()}, {"DOCLING_API_URL", "http://127.0.0.1:" + std::to_string(free_port())},
                                    {"PIPELINE_MAX_ATTEMPTS", "1"}});
  OrchServer orch2(no_docling);
  no_docling["ORCH_URL"] = orch2.url();
  auto d = run({ORCH_BINARY, "sync-test", "-o", "json", "--timeout", "10s"}, no_docling);
  EXPECT_EQ(d.code, 2) << d.output;
  auto dj = json::parse(d.output.substr(d.output.find('{')));
  EXPECT_EQ(dj["failed_stage"], "docling");
  EXPECT_NE(to_text(dj["stages"]).find("docling unreachable"), std::string::npos) << d.output;
}

TEST(SyncTest, WithABuilderKeyWritesAnEntryAndFollowsBuildersWebhook) {
  RedisServer redis;
  Standins s;
  auto env = merge(s.env(), {{"REDIS_URL", redis.url()}, {"BUILDER_PRIVATE_KEY", "bpk-test-key"},
                             {"BUILDER_WRITE_URL", s.url(s.builder) + "/api/v1/write"}});
  OrchServer orch(env);
  http::Request target;
  target.method = "POST";
  target.url = s.url(s.builder) + "/_webhook_target";
  target.body = orch.url("/webhook/builder");
  ASSERT_EQ(http::send(target).status, 200);
  env["ORCH_URL"] = orch.url();
  env.erase("TRUSTED_WEBHOOK_SECRET");  // the CLI does not sign anything on this path
  auto r = run({ORCH_BINARY, "sync-test", "-o", "json", "--timeout", "20s"}, env);
  ASSERT_EQ(r.code, 0) << r.output << orch.log();
  EXPECT_EQ(s.calls()["write"], 1);
  EXPECT_EQ(s.calls()["authorization"], "Bearer bpk-test-key");
  // The entry orch ingested is the one Builder created (its id, not sync-test's own).
  bool ingested = false;
  for (const auto& e : events(redis))
    if (e["type"] == "ingest.succeeded" && e["data"]["id"].get<std::string>().rfind("bld", 0) == 0) ingested = true;
  EXPECT_TRUE(ingested);

  // A refused key is the webhook stage failing: exit 2.
  env["BUILDER_WRITE_URL"] = s.url(s.builder) + "/nowhere";
  auto refused = run({ORCH_BINARY, "sync-test", "-o", "json", "--timeout", "5s"}, env);
  EXPECT_EQ(refused.code, 2) << refused.output;
  EXPECT_EQ(json::parse(refused.output)["failed_stage"], "webhook");
}

TEST(SyncTest, WithoutRedisOrchServeRunsItAndTableOutput) {
  Standins s;
  auto env = merge(s.env(), {{"REDIS_URL", ""}, {"ORCH_API_TOKEN", "tok-123-0123456789"}});
  OrchServer orch(env);
  env["ORCH_URL"] = orch.url();
  auto r = run({ORCH_BINARY, "sync-test", "--timeout", "20s"}, env);  // goes through POST /sync-test
  ASSERT_EQ(r.code, 0) << r.output << orch.log();
  EXPECT_NE(r.output.find("frontend"), std::string::npos);
  EXPECT_NE(r.output.find("in sync"), std::string::npos);

  // POST /sync-test itself: token required, bad input refused, the same JSON as the CLI.
  EXPECT_EQ(orch.post("/sync-test", "{}", {{"Content-Type", "application/json"}}).status, 401);
  const std::vector<std::pair<std::string, std::string>> auth = {{"Content-Type", "application/json"},
                                                                 {"Authorization", "Bearer tok-123-0123456789"}};
  EXPECT_EQ(orch.post("/sync-test", R"({"timeout":"soon"})", auth).status, 400);
  EXPECT_EQ(orch.post("/sync-test", "[1]", auth).status, 400);
  auto res = orch.post("/sync-test", R"({"marker":"handmade42","timeout":"20s"})", auth);
  ASSERT_EQ(res.status, 200) << res.body;
  auto j = json::parse(res.body);
  EXPECT_EQ(j["marker"], "handmade42");
  EXPECT_EQ(j["passed"], true);
  EXPECT_EQ(j["stages"].size(), 5u);
}

}  // namespace
