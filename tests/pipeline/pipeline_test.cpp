// The content pipeline and sync-test end to end: real redis-server, real `orch serve`, and the
// stand-ins for docling-serve, the RAG service and the frontend.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "redis/connection.hpp"
#include "bus/redis_bus.hpp"
#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/text.hpp"
#include "http/client.hpp"
#include "pipeline/synctest.hpp"
#include "support/http_stub.hpp"
#include "support/orch_server.hpp"
#include "support/redis_server.hpp"
#include "support/signing.hpp"
#include "support/standins.hpp"

using namespace orch;
using namespace orch::test;
using namespace std::chrono_literals;

namespace {

using Env = std::map<std::string, std::string>;
const std::string kSecret = "pipeline-secret-1-0123456789";

// A page entry as Builder sends it: the URL (/pages/<id>) in the urlPath query, the text in a Text block.
json page_entry(const std::string& id, long long revision) {
  return {{"id", id},
          {"name", id},
          {"published", "published"},
          {"lastUpdated", revision},
          {"modelId", "mdl-page"},
          {"query", json::array({{{"property", "urlPath"}, {"operator", "is"}, {"value", "/pages/" + id}}})},
          {"data",
           {{"title", id},
            {"blocks", json::array({{{"@type", "@builder.io/sdk:Element"},
                                     {"component", {{"name", "Text"}, {"options", {{"text", "text of " + id}}}}}}})}}}};
}

struct Standins : StandinServers {
  using StandinServers::StandinServers;
  // An entry that exists in Builder (the frontend renders it at /pages/<id>).
  json page(const std::string& id, long long revision) const {
    auto e = page_entry(id, revision);
    auto seeded = e;
    seeded["modelName"] = "page";
    post(builder, "/_entries", seeded.dump());
    return e;
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

// Builder's webhook for `entry` (a page), signed.
http::Response publish_entry(const OrchServer& orch, const json& entry, const std::string& op = "publish") {
  json body = {{"modelName", "page"}, {"operation", op}, {"newValue", entry}};
  auto b = body.dump();
  return orch.post("/webhook/builder", b, builder_signed(b, kSecret));
}

// Builder's publish webhook for a page that exists in the Builder stand-in (so the frontend
// stand-in renders it and docling can fetch it).
http::Response publish(const OrchServer& orch, const Standins& s, const std::string& id, long long revision, const std::string& op = "publish") {
  return publish_entry(orch, s.page(id, revision), op);
}

TEST(Pipeline, PublishIsConvertedIndexedAndSyncTestPasses) {
  RedisServer redis;
  Standins s({"--web-synctest-route"});
  auto env = merge(s.env(), {{"REDIS_URL", redis.url()}});
  OrchServer orch(env);
  ASSERT_EQ(publish(orch, s, "about", 1).status, 202);
  ASSERT_TRUE(eventually([&] { return redis.count("ingest.succeeded", "rag") == 1; }, 15s)) << orch.log();
  EXPECT_EQ(redis.count("ingest.started", "docling"), 1);
  EXPECT_EQ(redis.count("ingest.succeeded", "docling"), 1);
  EXPECT_EQ(s.calls()["convert"], 1);
  EXPECT_EQ(s.calls()["indexed"], 1);
  // The text indexed is what the frontend renders of the page (its Text block), as docling
  // converted it from the page's URL; the entry's data is not what is indexed.
  auto doc = s.calls()["index"]["about"];
  EXPECT_EQ(s.calls()["last_convert"]["sources"][0]["url"], s.url(s.web) + "/pages/about");
  EXPECT_NE(doc["text"].get<std::string>().find("text of about"), std::string::npos) << doc;
  EXPECT_EQ(doc["url"], "/pages/about");

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
  EXPECT_EQ(redis.count("synctest.passed"), 1);
  auto metrics = orch.get("/metrics").body;
  EXPECT_NE(metrics.find("orch_pipeline_jobs_total{result=\"succeeded\"} 2"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("orch_pipeline_job_seconds_count 2"), std::string::npos) << metrics;
}

TEST(Pipeline, RagFailingTwiceThenSucceedingIsRetried) {
  RedisServer redis;
  Standins s({"--rag-fail", "2"});
  OrchServer orch(merge(s.env(), {{"REDIS_URL", redis.url()}}));
  ASSERT_EQ(publish(orch, s, "retry-me", 1).status, 202);
  ASSERT_TRUE(eventually([&] { return redis.count("ingest.succeeded", "rag") == 1; }, 15s)) << orch.log();
  auto evs = redis.events();
  EXPECT_EQ(redis.count("ingest.failed", "rag"), 2);
  for (const auto& e : evs) {
    if (e["type"] == "ingest.succeeded" && e["data"]["stage"] == "rag") {
      EXPECT_EQ(e["data"]["attempt"], 3);
    }
  }
  EXPECT_TRUE(redis.events("", "orch:dead").empty());
  EXPECT_EQ(s.calls()["reindex"], 3);
}

TEST(Pipeline, RagAlwaysFailingEndsInTheDeadLetterStream) {
  RedisServer redis;
  Standins s({"--rag-fail-always"});
  OrchServer orch(merge(s.env(), {{"REDIS_URL", redis.url()}}));
  ASSERT_EQ(publish(orch, s, "doomed", 7).status, 202);
  ASSERT_TRUE(eventually(
      [&] {
        redis::Connection c(redis::Url{"127.0.0.1", redis.port()}, 2s);
        return c.command({"XLEN", "orch:dead"}).integer == 1;
      },
      15s))
      << orch.log();
  auto evs = redis.events();
  EXPECT_EQ(redis.count("ingest.failed", "rag"), 3);
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
  ASSERT_EQ(publish(orch, s, "twice", 5).status, 202);
  ASSERT_EQ(publish(orch, s, "twice", 5).status, 200);
  ASSERT_TRUE(eventually([&] { return s.calls()["indexed"] == 1; }, 10s));
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(s.calls()["reindex"], 1);
  ASSERT_EQ(publish(orch, s, "twice", 6, "unpublish").status, 202);
  ASSERT_TRUE(eventually([&] { return s.calls()["indexed"] == 0; }, 10s));
  EXPECT_EQ(s.calls()["delete"], 1);
}

TEST(Pipeline, WithOnlyOneOfDoclingAndRagOnlyThatStageRuns) {
  // docs/pipeline.md: "With only one of them, only that stage runs" -- for removals too (an
  // unpublish with docling alone was dead-lettered: "RAG_API_URL is not set").
  Standins s;
  {
    RedisServer redis;
    auto env = merge(s.env(), {{"REDIS_URL", redis.url()}});
    env.erase("RAG_API_URL");
    OrchServer orch(env);
    ASSERT_EQ(publish(orch, s, "docling-only", 1).status, 202);
    ASSERT_TRUE(eventually([&] { return redis.count("ingest.succeeded", "docling") == 1; }, 10s)) << orch.log();
    ASSERT_EQ(publish(orch, s, "docling-only", 2, "unpublish").status, 202);
    ASSERT_TRUE(eventually(
        [&] { return orch.get("/metrics").body.find("orch_pipeline_jobs_total{result=\"succeeded\"} 2") != std::string::npos; }, 10s))
        << orch.get("/metrics").body << orch.log();
    EXPECT_EQ(redis.count("ingest.failed"), 0);
    EXPECT_EQ(redis.count("ingest.started", "rag"), 0);
    EXPECT_TRUE(redis.events("", "orch:dead").empty());
    EXPECT_EQ(s.calls()["reindex"], 0);
    EXPECT_EQ(s.calls()["delete"], 0);
  }
  RedisServer redis;
  auto env = merge(s.env(), {{"REDIS_URL", redis.url()}});
  env.erase("DOCLING_API_URL");
  OrchServer orch(env);
  ASSERT_EQ(publish(orch, s, "rag-only", 1).status, 202);
  ASSERT_TRUE(eventually([&] { return s.calls()["indexed"] == 1; }, 10s)) << orch.log();
  ASSERT_EQ(publish(orch, s, "rag-only", 2, "unpublish").status, 202);
  ASSERT_TRUE(eventually([&] { return s.calls()["indexed"] == 0; }, 10s)) << orch.log();
  EXPECT_EQ(s.calls()["delete"], 1);
  EXPECT_EQ(s.calls()["convert"], 1);  // the docling-only run's one conversion: none here
  EXPECT_EQ(redis.count("ingest.started", "docling"), 0);
  EXPECT_EQ(redis.count("ingest.failed"), 0);
  EXPECT_TRUE(redis.events("", "orch:dead").empty());
}

TEST(Pipeline, DoclingApiKeyOptionsAndTheInbodyTarget) {
  RedisServer redis;
  Standins s({"--docling-api-key", "dk-1"});
  auto env = merge(s.env(), {{"REDIS_URL", redis.url()}, {"PIPELINE_MAX_ATTEMPTS", "1"}});
  {
    // Without the key docling answers 401: not retried, dead-lettered at once, though three
    // attempts are allowed (with one, a retried 401 would look the same).
    OrchServer orch(merge(env, {{"PIPELINE_MAX_ATTEMPTS", "3"}}));
    ASSERT_EQ(publish(orch, s, "keyless", 1).status, 202);
    ASSERT_TRUE(eventually([&] { return redis.count("ingest.failed", "docling") == 1; }, 10s)) << orch.log();
    ASSERT_TRUE(eventually([&] { return !redis.events("", "orch:dead").empty(); }, 5s)) << orch.log();
    std::this_thread::sleep_for(600ms);  // PIPELINE_BACKOFF is 100-200 ms: a retry would be here by now
    EXPECT_EQ(redis.count("ingest.failed", "docling"), 1);
    EXPECT_EQ(redis.events("ingest.failed")[0]["data"]["final"], true);
    EXPECT_EQ(s.calls()["reindex"], 0);
  }
  OrchServer orch(merge(env, {{"DOCLING_API_KEY", "dk-1"}, {"DOCLING_OPTIONS", R"({"do_ocr":false,"to_formats":["html"]})"},
                              {"DOCLING_TO_FORMAT", "md"}}));
  ASSERT_EQ(publish(orch, s, "keyed", 1).status, 202);
  ASSERT_TRUE(eventually([&] { return s.calls()["indexed"] == 1; }, 10s)) << orch.log();
  auto sent = s.calls()["last_convert"];
  EXPECT_EQ(sent["sources"][0]["url"], s.url(s.web) + "/pages/keyed");
  EXPECT_EQ(sent["sources"][0]["kind"], "http");
  EXPECT_EQ(sent["target"], json({{"kind", "inbody"}}));
  EXPECT_EQ(sent["options"]["do_ocr"], false);
  EXPECT_EQ(sent["options"]["to_formats"], json::array({"md"}));  // DOCLING_TO_FORMAT wins: the text is read from it
  EXPECT_EQ(orch.get("/metrics").body.find("dk-1"), std::string::npos);
}

TEST(Docling, AServerWithArtifactStorageStillAnswersTheDocument) {
  // docling-serve turns an omitted target into presigned_url when it has artifact storage: the
  // answer then carries no document. orch always asks for the document in the body.
  RedisServer redis;
  Standins s({"--docling-artifacts"});
  OrchServer orch(merge(s.env(), {{"REDIS_URL", redis.url()}, {"PIPELINE_MAX_ATTEMPTS", "1"}}));
  ASSERT_EQ(publish(orch, s, "stored", 1).status, 202);
  ASSERT_TRUE(eventually([&] { return redis.count("ingest.succeeded", "rag") + redis.count("ingest.failed") > 0; }, 10s));
  EXPECT_EQ(redis.count("ingest.succeeded", "rag"), 1) << orch.log();
  EXPECT_NE(s.calls()["index"]["stored"].value("text", "").find("text of stored"), std::string::npos);
}

TEST(Docling, TheZeroXApiIsOneSettingAndTheOneXServerRefusesItsForm) {
  RedisServer redis;
  Standins v1;
  // The 0.x body on a 1.x server: FastAPI's 422 naming the missing `sources`.
  auto r422 = v1.post(v1.docling, "/v1/convert/source", R"({"http_sources":[{"url":"http://x/"}]})");
  EXPECT_EQ(r422.status, 422);
  EXPECT_EQ(json::parse(r422.body)["detail"][0]["loc"], json::array({"body", "sources"}));

  Standins legacy({"--docling-legacy"});
  auto env = merge(legacy.env(), {{"REDIS_URL", redis.url()}, {"PIPELINE_MAX_ATTEMPTS", "1"}, {"DOCLING_API_VERSION", "v1alpha"}});
  {
    OrchServer orch(env);
    ASSERT_EQ(publish(orch, legacy, "old-server", 1).status, 202);
    ASSERT_TRUE(eventually([&] { return legacy.calls()["indexed"] == 1; }, 10s)) << orch.log();
    auto sent = legacy.calls()["last_convert"];
    EXPECT_EQ(sent["http_sources"][0]["url"], legacy.url(legacy.web) + "/pages/old-server");
    EXPECT_FALSE(sent.contains("sources"));
    EXPECT_FALSE(sent.contains("target"));  // 0.x has none
  }
  // The deprecated DOCLING_SOURCE_FORM=http_sources still means the 0.x API.
  RedisServer redis2;
  OrchServer orch(merge(legacy.env(), {{"REDIS_URL", redis2.url()}, {"DOCLING_SOURCE_FORM", "http_sources"}}));
  ASSERT_EQ(publish(orch, legacy, "old-form", 1).status, 202);
  ASSERT_TRUE(eventually([&] { return legacy.calls()["indexed"] == 2; }, 10s)) << orch.log();
}

TEST(Docling, TaskResultNotFoundIsRetried) {
  // A failed task, or a result held by another docling worker, reads back as 404.
  RedisServer redis;
  Standins s({"--docling-lose", "2"});
  OrchServer orch(merge(s.env(), {{"REDIS_URL", redis.url()}}));
  ASSERT_EQ(publish(orch, s, "lost", 1).status, 202);
  ASSERT_TRUE(eventually([&] { return redis.count("ingest.succeeded", "rag") == 1; }, 10s)) << orch.log();
  EXPECT_EQ(redis.count("ingest.failed", "docling"), 2);
  EXPECT_TRUE(redis.events("", "orch:dead").empty());
}

TEST(Docling, ItsSyncWaitRunningOutIsA504FromAReachableService) {
  // docling-serve answers 504 after DOCLING_SERVE_MAX_SYNC_WAIT (120 s): orch's own timeout is
  // longer, so the 504 arrives and is retried as "reachable, slow" rather than "unreachable".
  auto cfg = run({ORCH_BINARY, "config", "-o", "json"}, {{"ORCH_CONFIG", ""}});
  ASSERT_EQ(cfg.code, 0) << cfg.output;
  EXPECT_GT(parse_duration(json::parse(cfg.output)["settings"]["DOCLING_TIMEOUT"]["value"].get<std::string>()), 120s);
  // The stand-in's wait scaled down: 400 ms, for a conversion that takes 2 s.
  RedisServer redis;
  Standins s({"--docling-slow-ms", "2000", "--docling-max-wait-ms", "400"});
  OrchServer orch(merge(s.env(), {{"REDIS_URL", redis.url()}, {"PIPELINE_MAX_ATTEMPTS", "2"}}));
  ASSERT_EQ(publish(orch, s, "long-doc", 1).status, 202);
  ASSERT_TRUE(eventually([&] { return redis.count("ingest.failed", "docling") == 2; }, 10s)) << orch.log();
  for (const auto& e : redis.events()) {
    if (e["type"] != "ingest.failed") continue;
    EXPECT_EQ(e["data"]["unreachable"], false);
    EXPECT_NE(e["data"]["error"].get<std::string>().find("504"), std::string::npos) << e;
    EXPECT_NE(e["data"]["error"].get<std::string>().find("DOCLING_MODE=async"), std::string::npos) << e;
  }
}

TEST(Docling, NullContentIsAFailedConversionNeverTheTextNull) {
  RedisServer redis;
  Standins s({"--docling-null-content"});
  OrchServer orch(merge(s.env(), {{"REDIS_URL", redis.url()}, {"PIPELINE_MAX_ATTEMPTS", "1"}}));
  ASSERT_EQ(publish(orch, s, "empty", 1).status, 202);
  ASSERT_TRUE(eventually([&] { return redis.count("ingest.failed", "docling") + redis.count("ingest.succeeded", "rag") > 0; }, 10s));
  EXPECT_EQ(redis.count("ingest.failed", "docling"), 1) << orch.log();
  EXPECT_EQ(s.calls()["reindex"], 0);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(s.calls()["indexed"], 0) << s.calls()["index"];
}

TEST(Docling, AsyncModePollsTheTaskAndReportsProgress) {
  RedisServer redis;
  Standins s({"--docling-slow-ms", "1500"});
  OrchServer orch(merge(s.env(), {{"REDIS_URL", redis.url()}, {"DOCLING_MODE", "async"}, {"DOCLING_POLL_WAIT", "1s"}}));
  ASSERT_EQ(publish(orch, s, "book", 1).status, 202);
  ASSERT_TRUE(eventually([&] { return redis.count("ingest.succeeded", "rag") == 1; }, 15s)) << orch.log();
  std::vector<std::string> states;
  for (const auto& e : redis.events())
    if (e["type"] == "ingest.progress") {
      EXPECT_EQ(e["data"]["stage"], "docling");
      EXPECT_EQ(e["data"]["id"], "book");
      EXPECT_EQ(e["data"]["task_id"].get<std::string>().rfind("task-", 0), 0u);
      states.push_back(e["data"]["task_status"]);
    }
  ASSERT_FALSE(states.empty());
  EXPECT_EQ(states.back(), "success");
  EXPECT_GE(s.calls()["poll"].get<int>(), 1);
  EXPECT_NE(s.calls()["index"]["book"].value("text", "").find("text of book"), std::string::npos);
}

TEST(Docling, AStopDuringAnAsyncTaskLeavesTheJobPendingForAnotherInstance) {
  RedisServer redis;
  Standins s({"--docling-slow-ms", "4000"});
  auto env = merge(s.env(), {{"REDIS_URL", redis.url()}, {"DOCLING_MODE", "async"}, {"DOCLING_POLL_WAIT", "500ms"},
                             {"PIPELINE_CLAIM_IDLE", "1s"}});
  auto first = std::make_unique<OrchServer>(merge(env, {{"ORCH_INSTANCE_ID", "first"}}));
  ASSERT_EQ(publish(*first, s, "interrupted", 1).status, 202);
  ASSERT_TRUE(eventually([&] { return redis.count("ingest.progress") > 0; }, 10s)) << first->log();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(first->stop(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s) << "the stop waits for one poll at most, not for the task";
  redis::Connection c(redis::Url{"127.0.0.1", redis.port()}, 2s);
  ASSERT_EQ(c.command({"XPENDING", "orch:events", "orch-pipeline", "-", "+", "10"}).elements.size(), 1u) << "left unacknowledged";
  EXPECT_EQ(redis.count("ingest.succeeded", "docling"), 0);
  first.reset();
  OrchServer second(merge(env, {{"ORCH_INSTANCE_ID", "second"}}));
  ASSERT_TRUE(eventually([&] { return redis.count("ingest.succeeded", "rag") == 1; }, 20s)) << second.log();
  ASSERT_TRUE(eventually([&] { return c.command({"XPENDING", "orch:events", "orch-pipeline", "-", "+", "10"}).elements.empty(); }, 5s));
}

TEST(Rag, TheApiKeyIsSentAsABearerToken) {
  RedisServer redis;
  Standins s({"--rag-api-key", "rag-key-1"});
  auto env = merge(s.env(), {{"REDIS_URL", redis.url()}, {"PIPELINE_MAX_ATTEMPTS", "1"}});
  {
    // Without RAG_API_KEY the RAG service refuses: 401, not retried though three attempts are allowed.
    OrchServer orch(merge(env, {{"PIPELINE_MAX_ATTEMPTS", "3"}}));
    ASSERT_EQ(publish(orch, s, "keyless", 1).status, 202);
    ASSERT_TRUE(eventually([&] { return redis.count("ingest.failed", "rag") == 1; }, 10s)) << orch.log();
    std::this_thread::sleep_for(600ms);  // past PIPELINE_BACKOFF (100-200 ms)
    EXPECT_EQ(redis.count("ingest.failed", "rag"), 1);
    EXPECT_EQ(s.calls()["reindex"], 1);
    EXPECT_EQ(redis.events("", "orch:dead").size(), 1u);
  }
  OrchServer orch(merge(env, {{"RAG_API_KEY", "rag-key-1"}}));
  ASSERT_EQ(publish(orch, s, "keyed", 1).status, 202);
  ASSERT_TRUE(eventually([&] { return s.calls()["indexed"] == 1; }, 10s)) << orch.log();
  EXPECT_EQ(s.calls()["rag_authorization"], "Bearer rag-key-1");
  EXPECT_EQ(orch.get("/metrics").body.find("rag-key-1"), std::string::npos);
  EXPECT_EQ(run({ORCH_BINARY, "config"}, merge(env, {{"RAG_API_KEY", "rag-key-1"}, {"ORCH_CONFIG", ""}})).output.find("rag-key-1"), std::string::npos);
}

// orch serve's pipeline with scripted stubs (tests/support/http_stub) in place of docling-serve and
// the RAG service: the tests see exactly what reached each service, and answer what the real ones
// answer (REAL-APIS.md), one request at a time.
Env stub_env(const HttpStub& docling, const HttpStub& rag) {
  return {{"DOCLING_API_URL", docling.url()},  {"RAG_API_URL", rag.url()},         {"WEB_API_URL", "http://web.invalid:3000"},
          {"TRUSTED_WEBHOOK_SECRET", kSecret}, {"PIPELINE_BACKOFF", "50ms:100ms"}, {"PIPELINE_MAX_ATTEMPTS", "3"},
          {"DOCKER_HOST", "\x01unset"},        {"HEALTH_INTERVAL", "1h"}};
}

// What the pipeline sent a stub: every request but orch's GET probes of the service (/health, /ready).
std::vector<ReceivedRequest> pipeline_calls(const HttpStub& stub) {
  std::vector<ReceivedRequest> out;
  for (auto& r : stub.requests())
    if (r.method != "GET") out.push_back(std::move(r));
  return out;
}

// The data of every `type` event of the page `id` (at `stage`), oldest first.
std::vector<json> stage_events(const RedisServer& redis, const std::string& type, const std::string& id, const std::string& stage) {
  std::vector<json> out;
  for (const auto& e : redis.events(type))
    if (e["type"] == type && e["data"]["id"] == id && e["data"]["stage"] == stage) out.push_back(e["data"]);
  return out;
}

TEST(Rag, TheConfiguredMethodsPathsAndContentSourceAreWhatReachesTheServices) {
  // docs/pipeline.md: docling converts <CONTENT_SOURCE_URL><data.url> (not WEB_API_URL's page);
  // a `partial_success` is a conversion whose document is indexed; the re-index is
  // RAG_REINDEX_METHOD {RAG_API_URL}{RAG_REINDEX_PATH} with {id, model, url, text}, the delete
  // RAG_DELETE_METHOD {RAG_API_URL}{RAG_DELETE_PATH}, `{id}` replaced, with {id, model, url}.
  HttpStub docling([](const ReceivedRequest&) {
    // docling-serve 1.x's answer when some pages failed: the rest of the document, and the errors.
    return StubAnswer{200, R"({"document":{"filename":"d0c41","md_content":"# Converted part","json_content":null,)"
                           R"("html_content":null,"text_content":null,"doctags_content":null},"status":"partial_success",)"
                           R"("errors":[{"component_type":"document_backend","module_name":"docling.backend",)"
                           R"("error_message":"page 2 could not be parsed"}],"processing_time":0.41,"timings":{}})"};
  });
  HttpStub rag([](const ReceivedRequest&) { return StubAnswer{200, R"({"ok":true})"}; });
  RedisServer redis;
  OrchServer orch(merge(stub_env(docling, rag), {{"REDIS_URL", redis.url()},
                                                 {"CONTENT_SOURCE_URL", "http://frontend.internal:8080/preview"},
                                                 {"RAG_REINDEX_METHOD", "PUT"},
                                                 {"RAG_REINDEX_PATH", "/v2/index"},
                                                 {"RAG_DELETE_METHOD", "DELETE"},
                                                 {"RAG_DELETE_PATH", "/v2/documents/{id}"}}));
  ASSERT_EQ(publish_entry(orch, page_entry("d0c41", 1)).status, 202);
  ASSERT_TRUE(eventually([&] { return redis.count("ingest.succeeded", "rag") == 1; }, 10s)) << orch.log();
  const auto conversions = pipeline_calls(docling);
  ASSERT_EQ(conversions.size(), 1u);
  EXPECT_EQ(conversions[0].method, "POST");
  EXPECT_EQ(conversions[0].path, "/v1/convert/source");
  EXPECT_EQ(json::parse(conversions[0].body)["sources"],
            json::array({{{"kind", "http"}, {"url", "http://frontend.internal:8080/preview/pages/d0c41"}}}));
  EXPECT_EQ(stage_events(redis, "ingest.succeeded", "d0c41", "docling").size(), 1u);
  EXPECT_EQ(redis.count("ingest.failed"), 0);
  auto calls = pipeline_calls(rag);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].method, "PUT");
  EXPECT_EQ(calls[0].path, "/v2/index");
  EXPECT_EQ(json::parse(calls[0].body), json({{"id", "d0c41"}, {"model", "page"}, {"url", "/pages/d0c41"}, {"text", "# Converted part"}}));

  ASSERT_EQ(publish_entry(orch, page_entry("d0c41", 2), "unpublish").status, 202);
  ASSERT_TRUE(eventually([&] { return redis.count("ingest.succeeded", "rag") == 2; }, 10s)) << orch.log();
  calls = pipeline_calls(rag);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].method, "DELETE");
  EXPECT_EQ(calls[1].path, "/v2/documents/d0c41");
  EXPECT_EQ(json::parse(calls[1].body), json({{"id", "d0c41"}, {"model", "page"}, {"url", "/pages/d0c41"}}));
  EXPECT_EQ(pipeline_calls(docling).size(), 1u);  // a removal converts nothing
  EXPECT_TRUE(redis.events("", "orch:dead").empty());
}

TEST(Pipeline, A408OrA429IsRetriedAndTheLastAttemptDeadLetters) {
  // docs/pipeline.md: a 4xx other than 408/429 is not retried; these two are, like a 5xx, up to
  // PIPELINE_MAX_ATTEMPTS (3 here). Two pages at once: "busy" is refused once by each service
  // (docling 429, RAG 408) and then indexed; RAG answers "throttled" 429 on every attempt, so it
  // ends in orch:dead after the third.
  std::mutex mu;
  std::map<std::string, int> asked;  // requests per "<service> <page>"
  auto nth = [&](const std::string& key) {
    std::lock_guard lock(mu);
    return ++asked[key];
  };
  HttpStub docling([&](const ReceivedRequest& r) {
    if (r.method == "GET") return StubAnswer{200, R"({"status":"ok"})"};  // orch's probe of the service
    const std::string page = json::parse(r.body)["sources"][0]["url"].get<std::string>();
    if (nth("docling " + page.substr(page.rfind('/') + 1)) == 1 && page.ends_with("/busy"))
      return StubAnswer{429, R"({"detail":"Too Many Requests"})"};
    return StubAnswer{200, R"({"document":{"md_content":"# page"},"status":"success","errors":[]})"};
  });
  HttpStub rag([&](const ReceivedRequest& r) {
    if (r.method == "GET") return StubAnswer{200, R"({"status":"ok"})"};
    const std::string id = json::parse(r.body).value("id", "");
    const int n = nth("rag " + id);
    if (id == "busy" && n == 1) return StubAnswer{408, "Request Timeout", "text/plain"};
    if (id == "throttled") return StubAnswer{429, R"({"error":"rate limited"})"};
    return StubAnswer{200, R"({"ok":true})"};
  });
  RedisServer redis;
  OrchServer orch(merge(stub_env(docling, rag), {{"REDIS_URL", redis.url()}}));
  ASSERT_EQ(publish_entry(orch, page_entry("busy", 1)).status, 202);
  ASSERT_EQ(publish_entry(orch, page_entry("throttled", 1)).status, 202);
  ASSERT_TRUE(eventually(
      [&] { return stage_events(redis, "ingest.succeeded", "busy", "rag").size() == 1 && redis.events("", "orch:dead").size() == 1; }, 10s))
      << orch.log();

  const auto docling_failed = stage_events(redis, "ingest.failed", "busy", "docling");
  ASSERT_EQ(docling_failed.size(), 1u);
  EXPECT_EQ(docling_failed[0]["attempt"], 1);
  EXPECT_EQ(docling_failed[0]["final"], false);
  EXPECT_EQ(docling_failed[0]["unreachable"], false);
  EXPECT_EQ(docling_failed[0]["error"], R"(docling answered 429: {"detail":"Too Many Requests"})");
  EXPECT_EQ(stage_events(redis, "ingest.succeeded", "busy", "docling").at(0)["attempt"], 2);
  const auto rag_failed = stage_events(redis, "ingest.failed", "busy", "rag");
  ASSERT_EQ(rag_failed.size(), 1u);
  EXPECT_EQ(rag_failed[0]["final"], false);
  EXPECT_EQ(rag_failed[0]["error"], "rag answered 408: Request Timeout");
  EXPECT_EQ(stage_events(redis, "ingest.succeeded", "busy", "rag").at(0)["attempt"], 2);

  const auto throttled = stage_events(redis, "ingest.failed", "throttled", "rag");
  ASSERT_EQ(throttled.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(throttled[i]["attempt"], i + 1);
    EXPECT_EQ(throttled[i]["final"], i == 2);
    EXPECT_EQ(throttled[i]["error"], R"(rag answered 429: {"error":"rate limited"})");
  }
  EXPECT_EQ(stage_events(redis, "ingest.succeeded", "throttled", "rag").size(), 0u);
  // The dead letter: the content event and the reason {stage, attempts, error}.
  redis::Connection c(redis::Url{"127.0.0.1", redis.port()}, 2s);
  const auto fields = c.command({"XRANGE", "orch:dead", "-", "+"}).elements.at(0).elements.at(1).elements;
  json event, reason;
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    if (fields[i].str == "event") event = json::parse(fields[i + 1].str);
    if (fields[i].str == "reason") reason = json::parse(fields[i + 1].str);
  }
  EXPECT_EQ(event["type"], "content.published");
  EXPECT_EQ(event["data"]["id"], "throttled");
  EXPECT_EQ(reason, json({{"stage", "rag"}, {"attempts", 3}, {"error", R"(rag answered 429: {"error":"rate limited"})"}}));
  {
    std::lock_guard lock(mu);  // one request per attempt
    EXPECT_EQ(asked["docling busy"], 2);
    EXPECT_EQ(asked["rag busy"], 2);
    EXPECT_EQ(asked["docling throttled"], 1);
    EXPECT_EQ(asked["rag throttled"], 3);
  }
  EXPECT_NE(orch.get("/metrics").body.find("orch_pipeline_jobs_total{result=\"dead_lettered\"} 1"), std::string::npos);
}

TEST(Pipeline, ARetryAfterIsWaitedBeforeTheNextAttempt) {
  // docs/pipeline.md: a 429 or 503 with Retry-After (seconds) is asked again no sooner than it says,
  // however short PIPELINE_BACKOFF is (50 ms here); without one the backoff alone decides.
  std::mutex mu;
  std::map<std::string, std::vector<std::chrono::steady_clock::time_point>> at;  // RAG calls per page
  HttpStub docling([](const ReceivedRequest& r) {
    if (r.method == "GET") return StubAnswer{200, R"({"status":"ok"})"};
    return StubAnswer{200, R"({"document":{"md_content":"# page"},"status":"success","errors":[]})"};
  });
  HttpStub rag([&](const ReceivedRequest& r) {
    if (r.method == "GET") return StubAnswer{200, R"({"status":"ok"})"};
    const std::string id = json::parse(r.body).value("id", "");
    size_t n;
    {
      std::lock_guard lock(mu);
      at[id].push_back(std::chrono::steady_clock::now());
      n = at[id].size();
    }
    if (n == 1 && id == "asked-to-wait") return StubAnswer{429, R"({"error":"slow down"})", "application/json", {{"Retry-After", "2"}}};
    if (n == 1 && id == "unavailable") return StubAnswer{503, R"({"error":"restarting"})", "application/json", {{"Retry-After", "1"}}};
    if (n == 1) return StubAnswer{429, R"({"error":"slow down"})"};
    return StubAnswer{200, R"({"ok":true})"};
  });
  RedisServer redis;
  OrchServer orch(merge(stub_env(docling, rag), {{"REDIS_URL", redis.url()}}));
  for (const char* id : {"asked-to-wait", "unavailable", "no-advice"}) ASSERT_EQ(publish_entry(orch, page_entry(id, 1)).status, 202);
  ASSERT_TRUE(eventually([&] { return redis.count("ingest.succeeded", "rag") == 3; }, 15s)) << orch.log();
  std::lock_guard lock(mu);
  for (const auto& [id, times] : at) ASSERT_EQ(times.size(), 2u) << id;
  EXPECT_GE(at["asked-to-wait"][1] - at["asked-to-wait"][0], 2s);
  EXPECT_GE(at["unavailable"][1] - at["unavailable"][0], 1s);
  EXPECT_LT(at["no-advice"][1] - at["no-advice"][0], 1s);  // PIPELINE_BACKOFF's 50 ms (and the job's own pace)
}

TEST(Pipeline, BadDoclingSettingsStopOrchServeAtStart) {
  Standins s;
  auto env = merge(s.env(), {{"DOCLING_OPTIONS", "[1,2]"}, {"PORT", std::to_string(free_port())}, {"ORCH_CONFIG", ""}});
  auto r = run({ORCH_BINARY, "serve"}, env, 20s);
  EXPECT_EQ(r.code, 78) << r.output;
  EXPECT_NE(r.output.find("DOCLING_OPTIONS"), std::string::npos) << r.output;
  env["DOCLING_OPTIONS"] = "";
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"DOCLING_SOURCE_FORM", "files"}, {"DOCLING_TO_FORMAT", "pdf"}, {"DOCLING_API_VERSION", "v2"}, {"DOCLING_MODE", "later"}}) {
    auto bad = merge(env, {{name, value}});
    r = run({ORCH_BINARY, "serve"}, bad, 20s);
    EXPECT_EQ(r.code, 78) << name << "=" << value << ": " << r.output;
    EXPECT_NE(r.output.find(name), std::string::npos) << r.output;
    auto check = run({ORCH_BINARY, "config", "--check"}, bad);  // says what serve would
    EXPECT_EQ(check.code, 78) << name << "=" << value << ": " << check.output;
    EXPECT_NE(check.output.find(name), std::string::npos) << check.output;
  }
  EXPECT_EQ(run({ORCH_BINARY, "config", "--check"}, env).code, 0);
}

TEST(Pipeline, ARedeliveredRevisionIsNotProcessedAgain) {
  // The webhook's own dedupe is bypassed: the same (id, revision) arrives on the bus twice, as a
  // redelivery or a second webhook id would bring it. The done-set in Redis makes it one job.
  RedisServer redis;
  Standins s;
  OrchServer orch(merge(s.env(), {{"REDIS_URL", redis.url()}}));
  TempDir dir;
  auto bus = make_redis_bus({redis::Url{"127.0.0.1", redis.port()}, dir.path() + "/outbox"});
  s.page("again", 42);
  json data = {{"model", "page"}, {"id", "again"}, {"name", "again"}, {"url", "/pages/again"}, {"revision", "42"}, {"operation", "publish"}};
  bus->publish(make_event("content.published", "page/again", data));
  ASSERT_TRUE(eventually([&] { return redis.count("ingest.succeeded", "rag") == 1; }, 10s)) << orch.log();
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

TEST(Pipeline, ARefusedAcknowledgementLeavesTheJobPendingAndOrchRunning) {
  // Redis refuses XACK (an ACL here; a Redis that goes away between the job and its
  // acknowledgement does the same): every acknowledgement fails, the job's and those of the
  // non-content events that reach the group too. orch stays up, nothing is lost, and once XACK is
  // allowed again the entries are taken over and acknowledged without indexing the page twice.
  RedisServer redis;
  Standins s;
  ASSERT_EQ(redis.cli({"ACL", "SETUSER", "default", "-xack"}), "OK\n");
  OrchServer orch(merge(s.env(), {{"REDIS_URL", redis.url()}, {"PIPELINE_CLAIM_IDLE", "1s"}}));
  ASSERT_EQ(publish(orch, s, "acl", 1).status, 202);
  ASSERT_TRUE(eventually([&] { return redis.count("ingest.succeeded", "rag") == 1; }, 15s)) << orch.log();
  ASSERT_TRUE(eventually([&] { return orch.log().find("left for a retry") != std::string::npos; }, 10s)) << orch.log();
  std::this_thread::sleep_for(2s);  // more failed acknowledgements, of the claimed entries too
  ASSERT_TRUE(orch.process().running()) << orch.log();
  EXPECT_EQ(orch.get("/healthz").status, 200);
  redis::Connection c(redis::Url{"127.0.0.1", redis.port()}, 2s);
  EXPECT_FALSE(c.command({"XPENDING", "orch:events", "orch-pipeline", "-", "+", "10"}).elements.empty());

  ASSERT_EQ(redis.cli({"ACL", "SETUSER", "default", "+xack"}), "OK\n");
  EXPECT_TRUE(eventually(
      [&] {
        return c.command({"XPENDING", "orch:events", "orch-pipeline", "-", "+", "10"}).elements.empty();
      },
      15s))
      << orch.log();
  EXPECT_EQ(s.calls()["indexed"], 1);
  EXPECT_TRUE(orch.process().running());
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
  ASSERT_EQ(publish(*orch["inst-a"], s, "survivor", 1).status, 202);
  ASSERT_TRUE(eventually([&] { return s.calls()["reindex"] == 1; }, 10s));  // hanging inside the RAG call
  redis::Connection c(redis::Url{"127.0.0.1", redis.port()}, 2s);
  // The job's entry, among the pending ones: a worker may hold another event of the stream (one the
  // pipeline publishes itself) for the moment between reading and acknowledging it.
  std::string job;
  for (const auto& e : redis.entries())
    if (e.event.value("type", "") == "content.published") job = e.id;
  ASSERT_FALSE(job.empty());
  std::string consumer;  // <instance>-<worker>
  for (const auto& p : c.command({"XPENDING", "orch:events", "orch-pipeline", "-", "+", "10"}).elements)
    if (p.elements[0].str == job) consumer = p.elements[1].str;
  ASSERT_FALSE(consumer.empty()) << "the job " << job << " is not pending";
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
  EXPECT_EQ(redis.count("synctest.failed"), 1);
}

TEST(SyncTest, AStageServiceThatRefusesIsCritical2OnlyOrchOrRedisUnreachableIs3) {
  RedisServer redis;
  Standins s({"--web-synctest-route"});
  auto env = merge(s.env(), {{"REDIS_URL", redis.url()}, {"RAG_API_URL", refused_url()}, {"PIPELINE_MAX_ATTEMPTS", "1"}});
  {
    OrchServer orch(env);
    env["ORCH_URL"] = orch.url();
    // The RAG service refuses connections: its stage failed (2, as Nagios check_http says), naming it.
    auto r = run({ORCH_BINARY, "sync-test", "-o", "json", "--timeout", "10s"}, env);
    EXPECT_EQ(r.code, 2) << r.output;
    EXPECT_EQ(json::parse(r.output.substr(r.output.find('{')))["failed_stage"], "rag") << r.output;
    // orch itself unreachable: the test could not run at all (3).
    auto down = run({ORCH_BINARY, "sync-test", "--timeout", "5s", "--orch-url", refused_url()}, env);
    EXPECT_EQ(down.code, 3) << down.output;
    // Redis unreachable: 3 too.
    auto no_redis = env;
    no_redis["REDIS_URL"] = "redis://127.0.0.1:" + std::to_string(refused_port());
    auto nr = run({ORCH_BINARY, "sync-test", "-o", "json", "--timeout", "5s"}, no_redis);
    EXPECT_EQ(nr.code, 3) << nr.output;
  }  // stopped: it shares the consumer group, and with a working docling it could take the next job

  // Docling down is seen through orch's ingest.failed (unreachable): the docling stage failed, 2.
  RedisServer redis2;
  auto no_docling = merge(s.env(), {{"REDIS_URL", redis2.url()}, {"DOCLING_API_URL", refused_url()}, {"PIPELINE_MAX_ATTEMPTS", "1"}});
  OrchServer orch2(no_docling);
  no_docling["ORCH_URL"] = orch2.url();
  auto d = run({ORCH_BINARY, "sync-test", "-o", "json", "--timeout", "10s"}, no_docling);
  EXPECT_EQ(d.code, 2) << d.output;
  auto dj = json::parse(d.output.substr(d.output.find('{')));
  EXPECT_EQ(dj["failed_stage"], "docling");
  EXPECT_NE(to_text(dj["stages"]).find("docling unreachable"), std::string::npos) << d.output;
}

TEST(SyncTest, WrongSecretFrontendUnreachableAndTheTimeoutEachFailTheirStage) {
  // docs/pipeline.md: every stage within --timeout; a stage's service refusing connections fails
  // that stage (2, naming it); orch refusing the webhook fails "webhook".
  RedisServer redis;
  Standins s({"--web-synctest-route"});
  auto env = merge(s.env(), {{"REDIS_URL", redis.url()}, {"PIPELINE_MAX_ATTEMPTS", "1"}});
  OrchServer orch(env);
  env["ORCH_URL"] = orch.url();
  auto report = [](const RunResult& r) { return json::parse(r.output.substr(r.output.find('{'))); };

  auto wrong =
      run({ORCH_BINARY, "sync-test", "-o", "json", "--timeout", "10s"}, merge(env, {{"TRUSTED_WEBHOOK_SECRET", "not-the-secret-0123456"}}));
  EXPECT_EQ(wrong.code, 2) << wrong.output;
  EXPECT_EQ(report(wrong)["failed_stage"], "webhook") << wrong.output;
  EXPECT_NE(wrong.output.find("401"), std::string::npos) << wrong.output;

  auto closed = run({ORCH_BINARY, "sync-test", "-o", "json", "--timeout", "10s"}, merge(env, {{"WEB_API_URL", refused_url()}}));
  EXPECT_EQ(closed.code, 2) << closed.output;
  auto cj = report(closed);
  EXPECT_EQ(cj["failed_stage"], "frontend") << closed.output;
  EXPECT_EQ(cj["stages"].size(), 5u) << "webhook, bus, docling and rag passed first: " << closed.output;

  // Docling slower than the whole budget: the docling stage fails when --timeout runs out.
  RedisServer redis2;
  Standins slow({"--web-synctest-route", "--docling-slow-ms", "5000"});
  auto slow_env = merge(slow.env(), {{"REDIS_URL", redis2.url()}, {"PIPELINE_MAX_ATTEMPTS", "1"}});
  OrchServer slow_orch(slow_env);
  slow_env["ORCH_URL"] = slow_orch.url();
  const auto t0 = std::chrono::steady_clock::now();
  auto late = run({ORCH_BINARY, "sync-test", "-o", "json", "--timeout", "2s"}, slow_env);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(late.code, 2) << late.output;
  EXPECT_EQ(report(late)["failed_stage"], "docling") << late.output;
  EXPECT_GE(took, 2s);
  EXPECT_LT(took, 4500ms) << "the stage gave up when --timeout ran out, not when docling answered";
}

// The Write API path against the Builder stand-in, which (like Builder.io) delivers its webhook
// unsigned, with the custom header configured for it.
struct BuilderPath {
  Standins& s;
  Env env;
  OrchServer orch;
  BuilderPath(Standins& standins, const RedisServer& redis, Env extra = {}, const std::string& webhook_path = "/webhook/builder")
      : s(standins),
        env(merge(merge(standins.env(), {{"REDIS_URL", redis.url()}, {"BUILDER_PRIVATE_KEY", "bpk-test-key"},
                                         {"BUILDER_WRITE_URL", standins.url(standins.builder) + "/api/v1/write"}}),
                  extra)),
        orch(env) {
    EXPECT_EQ(s.post(s.builder, "/_webhook_target", orch.url(webhook_path)).status, 200);
    env["ORCH_URL"] = orch.url();
    env.erase("TRUSTED_WEBHOOK_SECRET");  // the CLI does not sign anything on this path
  }
  RunResult sync_test(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {ORCH_BINARY, "sync-test", "-o", "json", "--timeout", "15s", "--via", "builder"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run(argv, env);
  }
};

// Issue 23: the Write API is used only when asked (--via builder): a key that happens to be set
// does not change what the test does; and an orch serve whose pipeline is off makes the test fail
// at once, naming why, instead of waiting out its timeout.
TEST(SyncTest, WriteApiOnlyWhenAskedAndAPipelineThatIsOffFailsAtOnce) {
  RedisServer redis;
  Standins s({"--builder-header", "Authorization: Bearer " + kSecret});
  BuilderPath b(s, redis);
  b.env["TRUSTED_WEBHOOK_SECRET"] = kSecret;
  auto plain = run({ORCH_BINARY, "sync-test", "-o", "json", "--timeout", "15s"}, b.env);
  EXPECT_EQ(s.calls()["write"], 0) << plain.output;  // the signed webhook, not the Write API
  EXPECT_EQ(json::parse(plain.output.substr(plain.output.find('{')))["stages"][0]["name"], "webhook") << plain.output;

  Env off = {{"REDIS_URL", redis.url()}, {"TRUSTED_WEBHOOK_SECRET", kSecret}, {"DOCKER_HOST", "unix:///nonexistent/docker.sock"}};
  OrchServer idle(off);
  off["ORCH_URL"] = idle.url();
  const auto t0 = std::chrono::steady_clock::now();
  auto r = run({ORCH_BINARY, "sync-test", "-o", "json", "--timeout", "60s"}, off);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  EXPECT_EQ(r.code, 2) << r.output;
  auto j = json::parse(r.output.substr(r.output.find('{')));
  EXPECT_EQ(j["failed_stage"], "pipeline") << r.output;
  EXPECT_NE(to_text(j["stages"]).find("pipeline is off"), std::string::npos) << r.output;
  // Without Redis orch serve runs the test itself, and says the same.
  Env local = {{"REDIS_URL", ""}, {"TRUSTED_WEBHOOK_SECRET", kSecret}, {"DOCKER_HOST", "unix:///nonexistent/docker.sock"}};
  OrchServer alone(local);
  local["ORCH_URL"] = alone.url();
  auto l = run({ORCH_BINARY, "sync-test", "-o", "json", "--timeout", "60s"}, local);
  EXPECT_EQ(l.code, 2) << l.output;
  EXPECT_NE(l.output.find("pipeline is off"), std::string::npos) << l.output;
}

TEST(SyncTest, WithABuilderKeyWritesAPageFollowsBuildersWebhookAndDeletesTheEntry) {
  RedisServer redis;
  Standins s({"--builder-header", "Authorization: Bearer " + kSecret, "--rag-api-key", "rk-1"});
  BuilderPath b(s, redis, {{"RAG_API_KEY", "rk-1"}});
  auto r = b.sync_test();
  ASSERT_EQ(r.code, 0) << r.output << b.orch.log();
  auto j = json::parse(r.output);
  const std::string marker = j["marker"];
  EXPECT_EQ(s.calls()["write"], 1);
  EXPECT_EQ(s.calls()["authorization"], "Bearer bpk-test-key");
  EXPECT_GE(s.calls()["query"].get<int>(), 1);
  EXPECT_EQ(s.calls()["rag_authorization"], "Bearer rk-1");  // sync-test's query carries the key too
  // A page model: the URL as the urlPath query, the marker as a Text block in data.blocks.
  auto written = s.calls()["last_write"];
  EXPECT_EQ(written["query"][0]["property"], "urlPath");
  EXPECT_EQ(written["query"][0]["operator"], "is");
  EXPECT_EQ(written["query"][0]["value"], "/orch-sync-test/" + marker);
  EXPECT_EQ(written["data"]["blocks"][0]["@type"], "@builder.io/sdk:Element");
  EXPECT_EQ(written["data"]["blocks"][0]["component"]["name"], "Text");
  EXPECT_EQ(written["data"]["blocks"][0]["component"]["options"]["text"], "sync marker " + marker);
  EXPECT_FALSE(written["data"].contains("url"));
  // The entry orch ingested is the one Builder created (its id, not sync-test's own) ...
  const std::string id = j["test_entry"]["id"];
  EXPECT_EQ(id.rfind("bld", 0), 0u);
  bool ingested = false;
  for (const auto& e : redis.events())
    if (e["type"] == "ingest.succeeded" && e["data"]["id"] == id) ingested = true;
  EXPECT_TRUE(ingested);
  // ... and it is deleted afterwards; Builder's delete webhook then empties the RAG index too.
  EXPECT_EQ(j["test_entry"]["state"], "deleted");
  EXPECT_EQ(s.calls()["write_deletes"], json::array({"page/" + id}));
  EXPECT_TRUE(eventually([&] { return s.calls()["indexed"] == 0; }, 10s)) << s.calls()["index"];

  // --keep leaves it for debugging.
  auto kept = b.sync_test({"--keep"});
  ASSERT_EQ(kept.code, 0) << kept.output;
  EXPECT_EQ(json::parse(kept.output)["test_entry"]["state"], "kept");
  EXPECT_EQ(s.calls()["write_deletes"].size(), 1u);
  EXPECT_EQ(s.calls()["entries"], 1);

  // A refused key is the webhook stage failing: exit 2, nothing to delete.
  b.env["BUILDER_WRITE_URL"] = s.url(s.builder) + "/nowhere";
  auto refused = b.sync_test();
  EXPECT_EQ(refused.code, 2) << refused.output;
  EXPECT_EQ(json::parse(refused.output)["failed_stage"], "webhook");
  EXPECT_FALSE(json::parse(refused.output).contains("test_entry"));
}

TEST(SyncTest, TheTestEntryIsDeletedAlsoWhenAStageFailed) {
  RedisServer redis;
  Standins s({"--builder-header", "x-builder-secret: " + kSecret, "--docling-fail-always"});
  BuilderPath b(s, redis, {{"PIPELINE_MAX_ATTEMPTS", "1"}});
  auto r = b.sync_test();
  ASSERT_EQ(r.code, 2) << r.output << b.orch.log();
  auto j = json::parse(r.output);
  EXPECT_EQ(j["failed_stage"], "docling");
  EXPECT_EQ(j["test_entry"]["state"], "deleted");
  EXPECT_EQ(s.calls()["write_deletes"].size(), 1u);
  EXPECT_EQ(s.calls()["entries"], 0);
}

TEST(SyncTest, PassesAgainstAVectorSearchThatFindsTheEntryButNotTheMarker) {
  // The RAG stand-in as a vector search: it returns the nearest documents by id and score, and
  // neither echoes the marker nor its text. A data model this time: data.url and data.text.
  RedisServer redis;
  Standins s({"--builder-header", "x-builder-secret: " + kSecret, "--rag-vector"});
  BuilderPath b(s, redis);
  auto r = b.sync_test({"--model", "article"});
  ASSERT_EQ(r.code, 0) << r.output << b.orch.log();
  auto written = s.calls()["last_write"];
  const std::string marker = json::parse(r.output)["marker"];
  EXPECT_EQ(written["data"]["url"], "/orch-sync-test/" + marker);
  EXPECT_EQ(written["data"]["text"], "sync marker " + marker);
  EXPECT_FALSE(written.contains("query"));
}

TEST(SyncTest, APayloadLessWebhookIsLookedUpInTheContentApi) {
  // Builder's "Disable Payload": the webhook carries no entry (here: no body at all), so the
  // model comes from the webhook URL and the change from the Content API.
  RedisServer redis;
  Standins s({"--builder-header", "x-builder-secret: " + kSecret, "--builder-disable-payload", "--builder-api-key", "pub-key-1"});
  {
    // Without BUILDER_API_KEY the webhook cannot be resolved: 400 naming the setting.
    OrchServer orch(merge(s.env(), {{"REDIS_URL", redis.url()}}));
    auto res = orch.post("/webhook/builder?model=page", "", {{"x-builder-secret", kSecret}});
    EXPECT_EQ(res.status, 400) << res.body;
    EXPECT_NE(res.body.find("BUILDER_API_KEY"), std::string::npos) << res.body;
  }
  BuilderPath b(s, redis, {{"BUILDER_API_KEY", "pub-key-1"}, {"BUILDER_CONTENT_URL", s.url(s.builder)}}, "/webhook/builder?model=page");
  auto r = b.sync_test();
  ASSERT_EQ(r.code, 0) << r.output << b.orch.log();
  const std::string id = json::parse(r.output)["test_entry"]["id"];
  auto query = s.calls()["content_query"].get<std::string>();
  for (const char* part : {"apiKey=pub-key-1", "sort.lastUpdated=-1", "limit=1", "cachebust=true"})
    EXPECT_NE(query.find(part), std::string::npos) << query;
  bool unresolved = false, resolved = false;
  for (const auto& e : redis.events()) {
    if (e["type"] == "content.changed" && e["data"].value("unresolved", false)) unresolved = true;
    if (e["type"] == "content.published" && e["data"]["id"] == id && e["data"]["url"] == "/orch-sync-test/" + json::parse(r.output)["marker"].get<std::string>())
      resolved = true;
  }
  EXPECT_TRUE(unresolved);
  EXPECT_TRUE(resolved);
  EXPECT_NE(b.orch.get("/metrics").body.find("orch_pipeline_jobs_total{result=\"resolved\"} 1"), std::string::npos);
}

TEST(SyncTest, WithoutRedisOrchServeRunsItAndTableOutput) {
  Standins s({"--web-synctest-route"});
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

// The stand-ins never share a port: a port another process listens on (with SO_REUSEPORT, as
// httplib's default binds) is an error, not a second listener the kernel splits connections with.
// When free_port() once gave two of its servers the same port, orch's calls to docling sometimes
// reached the RAG stand-in and got its empty 404 (the landing's CI failure of stop 30).
TEST(StandIns, APortAnotherProcessListensOnIsRefusedNotShared) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int yes = 1;
  ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &yes, sizeof yes), 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 8), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const auto taken = std::to_string(ntohs(addr.sin_port));
  auto r = run({ORCH_STANDINS, "--docling-port", taken}, {}, 5s);
  ::close(fd);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("docling cannot listen on 127.0.0.1:" + taken), std::string::npos) << r.output;
  // Left to choose, it takes four ports of its own and says which.
  StandinServers s;
  EXPECT_EQ(std::set<int>({s.docling, s.rag, s.web, s.builder}).size(), 4u) << s.log();
  EXPECT_EQ(s.calls()["reindex"], 0);
}

}  // namespace
