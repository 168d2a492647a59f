// The content pipeline and sync-test end to end: real redis-server, real `orch serve`, and the
// stand-ins for docling-serve, the RAG service and the frontend.
#include <gtest/gtest.h>

#include <sstream>

#include "bus/redis.hpp"
#include "core/json.hpp"
#include "http/client.hpp"
#include "pipeline/sync_test.hpp"
#include "support/orch_server.hpp"
#include "support/redis_server.hpp"
#include "webhook/signature.hpp"

using namespace orch;
using namespace orch::test;
using namespace std::chrono_literals;

namespace {

using Env = std::map<std::string, std::string>;
const std::string kSecret = "pipeline-secret-1";

struct Standins {
  int docling = free_port(), rag = free_port(), web = free_port();
  Process proc;
  explicit Standins(std::vector<std::string> knobs = {}) {
    std::vector<std::string> argv = {ORCH_STANDINS, "--docling-port", std::to_string(docling), "--rag-port", std::to_string(rag),
                                     "--web-port", std::to_string(web)};
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
  RedisConnection c(RedisUrl{"127.0.0.1", redis.port()}, 2s);
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
  return orch.post("/webhook/builder", b, {{"x-builder-signature", "sha256=" + webhook::to_hex(webhook::hmac_sha256(kSecret, b))}});
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
    RedisConnection c(RedisUrl{"127.0.0.1", redis.port()}, 2s);
    return c.command({"XLEN", "orch:dead"}).integer == 1;
  }, 15s)) << orch.log();
  auto evs = events(redis);
  EXPECT_EQ(count(evs, "ingest.failed", "rag"), 3);
  bool final_seen = false;
  for (const auto& e : evs)
    if (e["type"] == "ingest.failed" && e["data"].value("final", false)) final_seen = true;
  EXPECT_TRUE(final_seen);
  RedisConnection c(RedisUrl{"127.0.0.1", redis.port()}, 2s);
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

TEST(Pipeline, AJobOfAKilledInstanceIsFinishedByTheNext) {
  RedisServer redis;
  Standins s({"--rag-hang-ms", "3000"});
  auto env = merge(s.env(), {{"REDIS_URL", redis.url()}, {"PIPELINE_CLAIM_IDLE", "1s"}, {"RAG_TIMEOUT", "10s"}});
  auto first = std::make_unique<OrchServer>(env);
  ASSERT_EQ(publish(*first, "survivor", 1).status, 202);
  ASSERT_TRUE(eventually([&] { return s.calls()["reindex"] == 1; }, 10s));  // hanging inside the RAG call
  first->process().signal(SIGKILL);
  first.reset();
  OrchServer second(env);
  ASSERT_TRUE(eventually([&] { return s.calls()["indexed"] == 1; }, 20s)) << second.log();
  EXPECT_GE(s.calls()["reindex"], 2);
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

TEST(SyncTest, AnUnreachableServiceExits3) {
  RedisServer redis;
  Standins s;
  auto env = merge(s.env(), {{"REDIS_URL", redis.url()}, {"RAG_API_URL", "http://127.0.0.1:" + std::to_string(free_port())},
                             {"PIPELINE_MAX_ATTEMPTS", "1"}});
  OrchServer orch(env);
  env["ORCH_URL"] = orch.url();
  auto r = run({ORCH_BINARY, "sync-test", "-o", "json", "--timeout", "10s"}, env);
  EXPECT_EQ(r.code, 3) << r.output;
  auto down = run({ORCH_BINARY, "sync-test", "--timeout", "5s", "--orch-url", "http://127.0.0.1:" + std::to_string(free_port())}, env);
  EXPECT_EQ(down.code, 3) << down.output;
}

TEST(SyncTest, WithoutRedisOrchServeRunsItAndTableOutput) {
  Standins s;
  auto env = merge(s.env(), {{"REDIS_URL", ""}});
  OrchServer orch(env);
  env["ORCH_URL"] = orch.url();
  auto r = run({ORCH_BINARY, "sync-test", "--timeout", "20s"}, env);
  ASSERT_EQ(r.code, 0) << r.output << orch.log();
  EXPECT_NE(r.output.find("frontend"), std::string::npos);
  EXPECT_NE(r.output.find("in sync"), std::string::npos);
}

}  // namespace
