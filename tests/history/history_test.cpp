// The history store (lib/history) in memory and against a real redis-server: probes kept and
// trimmed by count and age, uptime from the hourly counts, an idempotent timeline, a second
// store on the same Redis (a restarted orch serve) seeing what the first kept; the recorder
// filling the timeline from the bus and the hourly counters from the metrics; and
// `orch diagnose --history` reading them from Redis or from a running orch serve.
#include "history/store.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>

#include "bus/bus.hpp"
#include "history/recorder.hpp"
#include "history/report.hpp"
#include "metrics/metrics.hpp"
#include "support/http_stub.hpp"
#include "support/orch_server.hpp"
#include "support/redis_server.hpp"
#include "support/standins.hpp"

using namespace orch;
using namespace orch::test;
using namespace std::chrono_literals;

namespace {

constexpr long long kHour = history::kHourMs;

long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

history::Probe probe(long long t, const char* state, long long ms = 10) { return {t, state, std::string(state) == "down" ? 0 : 200, ms}; }

Event event_at(const std::string& type, const std::string& subject, long long t) {
  Event e = make_event(type, subject, {{"container", subject}});
  std::time_t secs = t / 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, t % 1000);
  e.time = buf;
  return e;
}

// Each test runs on both stores; the Redis one on its own redis-server.
class HistoryStore : public ::testing::TestWithParam<const char*> {
 protected:
  std::unique_ptr<history::Store> make(history::Limits l = {}) {
    if (std::string(GetParam()) == "memory") return history::make_memory_store(l);
    if (!redis_) redis_ = std::make_unique<RedisServer>();
    return history::make_redis_store(redis_->url(), l);
  }
  std::unique_ptr<RedisServer> redis_;
};

TEST_P(HistoryStore, KeepsEveryProbeAndComputesUptimeOver24hAnd7d) {
  auto store = make();
  EXPECT_EQ(std::string(store->kind()), GetParam());
  const long long now = now_ms();
  // Two days ago: down twice. In the last hour: up three times, degraded once (not up).
  store->record_probe("web", probe(now - 48 * kHour, "down"));
  store->record_probe("web", probe(now - 48 * kHour + 1000, "down"));
  store->record_probe("web", probe(now - 30 * 60 * 1000, "up", 12));
  store->record_probe("web", probe(now - 20 * 60 * 1000, "degraded", 900));
  store->record_probe("web", probe(now - 10 * 60 * 1000, "up", 14));
  store->record_probe("web", probe(now - 1000, "up", 16));
  store->record_probe("rag_service", probe(now - 1000, "down"));

  auto all = store->probes("web", now - 7 * 24 * kHour);
  ASSERT_EQ(all.size(), 6u);
  EXPECT_EQ(all[0].state, "down");
  EXPECT_EQ(all[0].code, 0);
  EXPECT_EQ(all[3].response_ms, 900);
  EXPECT_EQ(all[3].code, 200);
  EXPECT_EQ(all[3].time_ms, now - 20 * 60 * 1000);
  EXPECT_EQ(store->probes("web", now - kHour).size(), 4u);

  auto hours = store->hours(now - 7 * 24 * kHour);
  EXPECT_DOUBLE_EQ(*history::uptime(hours, "web", now - 24 * kHour), 75.0);
  EXPECT_DOUBLE_EQ(*history::uptime(hours, "web", now - 7 * 24 * kHour), 50.0);
  EXPECT_DOUBLE_EQ(*history::uptime(hours, "rag_service", now - 24 * kHour), 0.0);
  EXPECT_FALSE(history::uptime(hours, "docling_service", now - 24 * kHour).has_value());

  auto doc = history::summary(*store, {"web", "rag_service", "docling_service"}, now, Millis(24 * kHour));
  EXPECT_DOUBLE_EQ(doc["services"]["web"]["uptime_24h"].get<double>(), 75.0);
  EXPECT_DOUBLE_EQ(doc["services"]["web"]["uptime_7d"].get<double>(), 50.0);
  EXPECT_EQ(doc["services"]["web"]["probes"], 4);
  EXPECT_EQ(doc["services"]["web"]["last"]["response_ms"], 16);
  EXPECT_TRUE(doc["services"]["docling_service"]["uptime_24h"].is_null());
  // The series: 4 probes of the last 24 h in at most 96 buckets; means of what fell in each.
  const auto& s = doc["services"]["web"]["series"];
  ASSERT_GE(s.size(), 3u);
  ASSERT_LE(s.size(), 4u);
  double n = 0, max = 0;
  for (const auto& b : s) {
    n += b["n"].get<double>();
    max = std::max(max, b["max_ms"].get<double>());
  }
  EXPECT_EQ(n, 4);
  EXPECT_EQ(max, 900);
}

TEST_P(HistoryStore, TrimsProbesByCountAndByAge) {
  auto store = make({.retention = Millis(24 * kHour), .max_probes = 10, .max_timeline = 3});
  const long long now = now_ms();
  store->record_probe("web", probe(now - 30 * kHour, "up"));  // older than the retention once newer ones come
  for (int i = 0; i < 25; ++i) store->record_probe("web", probe(now - 1000 * (25 - i), i % 2 ? "up" : "down", i));
  auto kept = store->probes("web", 0);
  ASSERT_EQ(kept.size(), 10u);
  EXPECT_EQ(kept.front().response_ms, 15);  // the newest ten
  EXPECT_EQ(kept.back().response_ms, 24);

  auto store2 = make({.retention = Millis(24 * kHour), .max_probes = 100, .max_timeline = 3});
  store2->record_probe("rag", probe(now - 30 * kHour, "up"));
  store2->record_probe("rag", probe(now - 1000, "up"));
  ASSERT_EQ(store2->probes("rag", 0).size(), 1u);  // the 30 h old one is gone
  // The hour of the old probe is gone too (memory: trimmed; Redis: it expires with its key).
  for (int i = 0; i < 5; ++i) store->record_event(event_at("heal.restarted", "c" + std::to_string(i), now - 5000 + i));
  auto t = store->timeline(0);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t.back()["subject"], "c4");
  EXPECT_EQ(t.front()["subject"], "c2");
}

TEST_P(HistoryStore, TimelineKeepsAnEventOnceAndCountsHealsAndRollbacksPerHour) {
  auto store = make();
  const long long now = now_ms();
  auto heal = event_at("heal.restarted", "web-1", now - 2 * kHour);
  store->record_event(heal);
  store->record_event(heal);  // a second instance saw the same event on the bus
  store->record_event(event_at("heal.quarantined", "web-1", now - 2 * kHour + 10));
  store->record_event(event_at("rollback.started", "web", now - 1000));
  store->record_event(event_at("rollback.succeeded", "web", now - 500));
  auto t = store->timeline(now - 24 * kHour);
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[0]["type"], "heal.restarted");
  EXPECT_EQ(t[0]["time_ms"], now - 2 * kHour);
  EXPECT_EQ(t[0]["data"]["container"], "web-1");
  EXPECT_EQ(t[3]["type"], "rollback.succeeded");
  EXPECT_EQ(store->timeline(now - kHour).size(), 2u);

  store->add(now, {{"webhooks.accepted", 3}, {"webhooks.refused", 1}, {"jobs.seconds", 0.25}, {"jobs.timed", 0}});
  store->add(now, {{"webhooks.accepted", 2}});
  auto doc = history::summary(*store, {}, now, Millis(24 * kHour));
  double heals = 0, quarantines = 0, rollbacks = 0, accepted = 0, refused = 0, seconds = 0;
  for (const auto& h : doc["hourly"]) {
    const auto& c = h["counters"];
    heals += c.value("heals", 0.0);
    quarantines += c.value("quarantines", 0.0);
    rollbacks += c.value("rollbacks", 0.0);
    accepted += c.value("webhooks.accepted", 0.0);
    refused += c.value("webhooks.refused", 0.0);
    seconds += c.value("jobs.seconds", 0.0);
    EXPECT_FALSE(c.contains("jobs.timed"));  // zeros are not stored
  }
  EXPECT_EQ(heals, 1);
  EXPECT_EQ(quarantines, 1);
  EXPECT_EQ(rollbacks, 1);
  EXPECT_EQ(accepted, 5);
  EXPECT_EQ(refused, 1);
  EXPECT_DOUBLE_EQ(seconds, 0.25);
}

INSTANTIATE_TEST_SUITE_P(Stores, HistoryStore, ::testing::Values("memory", "redis"));

// What one orch serve kept on Redis, the next one (a restart, another instance) reads.
TEST(HistoryRedis, AnotherStoreOnTheSameRedisSeesTheHistory) {
  RedisServer redis;
  const long long now = now_ms();
  {
    auto first = history::make_redis_store(redis.url());
    first->record_probe("web", probe(now - 2000, "up", 21));
    first->record_probe("web", probe(now - 1000, "down"));
    first->record_event(event_at("heal.restarted", "web-1", now - 1500));
  }
  auto second = history::make_redis_store(redis.url());
  auto p = second->probes("web", 0);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].response_ms, 21);
  EXPECT_EQ(*history::uptime(second->hours(now - kHour), "web", now - kHour), 50.0);
  EXPECT_EQ(second->timeline(0).size(), 1u);
  // Bounded in Redis by itself: the hour's hash expires after the retention.
  auto ttl = std::stoll(redis.cli({"PTTL", "orch:history:hour:" + std::to_string(history::hour_of(now - 1000))}));
  EXPECT_GT(ttl, 7 * 24 * kHour - 60'000);
  EXPECT_LE(ttl, 7 * 24 * kHour + kHour);
}

TEST(HistoryRedis, ADownRedisIsAnErrorTheCallerSees) {
  RedisServer redis;
  auto store = history::make_redis_store(redis.url());
  redis.stop();
  EXPECT_THROW(store->record_probe("web", probe(now_ms(), "up")), UnreachableError);
}

TEST(HistoryRecorder, TimelineFromTheBusHourlyCountersFromTheMetrics) {
  auto store = history::make_memory_store();
  auto bus = make_memory_bus();
  Metrics metrics;
  auto& webhooks = metrics.counter("orch_webhooks_received_total", "", {"result"});
  auto& jobs = metrics.counter("orch_pipeline_jobs_total", "", {"result"});
  auto& seconds = metrics.histogram("orch_pipeline_job_seconds", "", {}, {0.1, 1, 10});
  history::Recorder rec(*store, *bus, metrics, Millis(3'600'000));  // samples only when asked
  rec.start();
  bus->publish(make_event("heal.restarted", "web-1", {{"container", "web-1"}}));
  bus->publish(make_event("content.published", "page/1", json::object()));  // not on the timeline
  bus->publish(make_event("heal.left_alone", "web-2", json::object()));     // nor a decision not to act
  bus->publish(make_event("rollback.failed", "web", json::object()));
  webhooks.labels({"accepted"}).inc(4);
  webhooks.labels({"duplicate"}).inc(2);
  webhooks.labels({"unauthorized"}).inc(1);
  webhooks.labels({"too_large"}).inc(1);
  jobs.labels({"succeeded"}).inc(2);
  jobs.labels({"dead_lettered"}).inc(1);
  seconds.get().observe(0.5);
  seconds.get().observe(2.5);
  rec.sample();
  webhooks.labels({"accepted"}).inc(1);  // counted once more at stop, not twice
  rec.stop();

  auto t = store->timeline(0);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0]["type"], "heal.restarted");
  EXPECT_EQ(t[1]["type"], "rollback.failed");
  auto hours = store->hours(now_ms() - kHour);
  std::map<std::string, double> sum;
  for (const auto& h : hours)
    for (const auto& [k, v] : h.counters) sum[k] += v;
  EXPECT_EQ(sum["webhooks.accepted"], 5);
  EXPECT_EQ(sum["webhooks.refused"], 2);
  EXPECT_EQ(sum["jobs.succeeded"], 2);
  EXPECT_EQ(sum["jobs.dead_lettered"], 1);
  EXPECT_DOUBLE_EQ(sum["jobs.seconds"], 3.0);
  EXPECT_EQ(sum["jobs.timed"], 2);
  // After stop the bus no longer reaches the store.
  bus->publish(make_event("heal.restarted", "web-2", json::object()));
  EXPECT_EQ(store->timeline(0).size(), 2u);
}

TEST(HistoryReport, SparklineDrawsSlotsByTimeAndMarksDownAndGaps) {
  const json series =
      json::array({{{"t", 0}, {"ms", 10}, {"up", 1.0}}, {{"t", 100}, {"ms", 80}, {"up", 1.0}}, {{"t", 300}, {"ms", 40}, {"up", 0.0}}});
  // Four slots of 100 ms: fastest, slowest, nothing, down.
  EXPECT_EQ(history::sparkline(series, 0, 400, 4), "▁█ ×");
  EXPECT_EQ(history::sparkline(json::array(), 0, 400, 3), "   ");
}

// orch diagnose --history against a real orch serve probing a stand-in (up) and a closed port
// (down): from Redis directly, and without Redis from orch serve's /status.
TEST(HistoryReport, DiagnoseHistoryReadsRedisOrTheRunningOrchServe) {
  RedisServer redis;
  StandinServers standins;
  const std::string token = "history-cli-token-0123456789";
  std::map<std::string, std::string> env = {{"ORCH_API_TOKEN", token},
                                            {"DOCKER_HOST", "unix:///nonexistent.sock"},
                                            {"WEB_API_URL", standins.url(standins.web)},
                                            {"RAG_API_URL", "http://127.0.0.1:9"},
                                            {"HEALTH_INTERVAL", "200ms"},
                                            {"DIAGNOSE_TIMEOUT", "1s"},
                                            {"ORCH_CONFIG", ""}};
  for (const std::string& redis_url : {redis.url(), std::string()}) {
    SCOPED_TRACE(redis_url.empty() ? "memory" : "redis");
    auto serve_env = env;
    serve_env["REDIS_URL"] = redis_url;
    OrchServer orch(serve_env);
    auto cli_env = serve_env;
    cli_env["ORCH_URL"] = orch.url();
    json doc;
    ASSERT_TRUE(eventually(
        [&] {
          auto r = run({ORCH_BINARY, "diagnose", "--history", "24h", "-o", "json"}, cli_env);
          if (r.code != 0) return false;
          doc = json::parse(r.output, nullptr, false);
          return doc.is_object() && doc["services"]["web"].value("probes", 0) >= 2 &&
                 doc["services"]["rag_service"].value("probes", 0) >= 2;
        },
        20s));
    EXPECT_EQ(doc["store"], redis_url.empty() ? "memory" : "redis");
    EXPECT_DOUBLE_EQ(doc["services"]["web"]["uptime_24h"].get<double>(), 100.0);
    EXPECT_DOUBLE_EQ(doc["services"]["rag_service"]["uptime_24h"].get<double>(), 0.0);
    auto table = run({ORCH_BINARY, "diagnose", "--history", "24h"}, cli_env);
    ASSERT_EQ(table.code, 0) << table.output;
    EXPECT_NE(table.output.find("web               100.00%"), std::string::npos) << table.output;
    EXPECT_NE(table.output.find("rag_service       0.00%"), std::string::npos) << table.output;
    EXPECT_NE(table.output.find("×"), std::string::npos) << table.output;  // rag_service's slot is down
    EXPECT_EQ(run({ORCH_BINARY, "diagnose", "--history", "30d"}, cli_env).code, 64);
    EXPECT_EQ(run({ORCH_BINARY, "diagnose", "--history", "soon"}, cli_env).code, 64);
  }
  // Without Redis and without a running orch serve, the figures cannot be read: UNKNOWN.
  auto cli_env = env;
  cli_env["REDIS_URL"] = "";
  cli_env["ORCH_URL"] = refused_url();
  auto r = run({ORCH_BINARY, "diagnose", "--history", "24h"}, cli_env);
  EXPECT_EQ(r.code, 3) << r.output;
  EXPECT_NE(r.output.find("orch serve"), std::string::npos) << r.output;
}

// What orch serve's /status hands `orch diagnose --history` when there is no Redis, as a stub
// answers it: the mean time of a pipeline job and the last ten entries of the timeline are shown;
// an orch serve that refuses or keeps no history is UNKNOWN (exit 3), with the reason.
TEST(HistoryReport, TheTableShowsTheMeanJobTimeAndTheLastTenTimelineEntries) {
  json timeline = json::array();
  for (int i = 0; i < 12; ++i)
    timeline.push_back({{"time_ms", 1700000000000LL + i * 60'000LL}, {"type", "heal.restarted"}, {"subject", "web-" + std::to_string(i)}});
  const json history = {
      {"now_ms", 1700000720000LL},
      {"window_ms", 86'400'000LL},
      {"services", json::object()},
      {"hourly", json::array({json{{"counters", {{"jobs.succeeded", 3}, {"jobs.timed", 4}, {"jobs.seconds", 10}, {"heals", 12}}}}})},
      {"timeline", timeline}};
  HttpStub orch([&](const ReceivedRequest& r) {
    if (r.path == "/status") return StubAnswer{200, json{{"history", history}}.dump()};
    return StubAnswer{404, "{}"};
  });
  const std::map<std::string, std::string> env = {{"REDIS_URL", ""}, {"ORCH_URL", orch.url()}, {"ORCH_CONFIG", ""}, {"NO_COLOR", "1"}};
  auto r = run({ORCH_BINARY, "diagnose", "--history", "24h"}, env);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("pipeline jobs 3 succeeded, 0 dead-lettered, mean 2.50 s · heals 12"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("web-1\n"), std::string::npos) << "more than the last ten:\n" << r.output;
  EXPECT_NE(r.output.find("11-14 22:15  heal.restarted      web-2\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("11-14 22:24  heal.restarted      web-11\n"), std::string::npos) << r.output;

  HttpStub refusing([](const ReceivedRequest&) { return StubAnswer{503, R"({"error":"busy"})"}; });
  auto busy = run({ORCH_BINARY, "diagnose", "--history", "24h"}, {{"REDIS_URL", ""}, {"ORCH_URL", refusing.url()}, {"ORCH_CONFIG", ""}});
  EXPECT_EQ(busy.code, 3) << busy.output;
  EXPECT_NE(busy.output.find("orch serve answered 503 to GET /status"), std::string::npos) << busy.output;

  HttpStub without([](const ReceivedRequest&) {
    return StubAnswer{200, R"({"history":null,"history_error":"redis: connection refused"})"};
  });
  auto none = run({ORCH_BINARY, "diagnose", "--history", "24h"}, {{"REDIS_URL", ""}, {"ORCH_URL", without.url()}, {"ORCH_CONFIG", ""}});
  EXPECT_EQ(none.code, 3) << none.output;
  EXPECT_NE(none.output.find("orch serve has no history: redis: connection refused"), std::string::npos) << none.output;
}

}  // namespace
