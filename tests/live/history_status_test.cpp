// The history in a real `orch serve` (SPEC §10): the health loop's probes reach GET /status as
// uptime and series, survive a restart with Redis (the state lives there), stay in memory without
// it; GET /badge/{service}.svg answers without a token; the pipeline's queue and dead letters show.
#include <gtest/gtest.h>

#include "core/json.hpp"
#include "support/orch_server.hpp"
#include "support/redis_server.hpp"
#include "support/standins.hpp"

using namespace orch;
using namespace orch::test;
using namespace std::chrono_literals;

namespace {

const std::string kToken = "history-token-0123456789";
using Env = std::map<std::string, std::string>;
const std::vector<std::pair<std::string, std::string>> kAuth = {{"Authorization", "Bearer " + kToken}};

json status(const OrchServer& orch, const std::string& query = "") {
  auto r = orch.get("/status" + query, kAuth);
  EXPECT_EQ(r.status, 200) << r.body;
  return json::parse(r.body, nullptr, false);
}

long long probes_of(const json& st, const std::string& service) {
  if (!st.is_object() || !st["history"].is_object()) return 0;
  return st["history"]["services"][service].value("probes", 0LL);
}

Env env_for(const StandinServers& s, const std::string& redis_url) {
  return {{"REDIS_URL", redis_url},
          {"ORCH_API_TOKEN", kToken},
          {"DOCKER_HOST", "unix:///nonexistent.sock"},
          {"WEB_API_URL", s.url(s.web)},
          {"RAG_API_URL", "http://127.0.0.1:9"},  // nothing listens: down on every probe
          {"HEALTH_INTERVAL", "200ms"},
          {"DIAGNOSE_TIMEOUT", "1s"}};
}

TEST(HistoryStatus, ProbesBecomeUptimeAndSeriesAndSurviveARestartWithRedis) {
  RedisServer redis;
  StandinServers standins;
  OrchServer orch(env_for(standins, redis.url()));
  ASSERT_TRUE(eventually([&] { return probes_of(status(orch), "web") >= 3 && probes_of(status(orch), "rag_service") >= 3; }, 20s));
  auto st = status(orch);
  const auto& web = st["history"]["services"]["web"];
  EXPECT_EQ(st["history"]["store"], "redis");
  EXPECT_DOUBLE_EQ(web["uptime_24h"].get<double>(), 100.0);
  EXPECT_DOUBLE_EQ(web["uptime_7d"].get<double>(), 100.0);
  EXPECT_EQ(web["last"]["state"], "up");
  EXPECT_EQ(web["last"]["code"], 200);
  ASSERT_FALSE(web["series"].empty());
  EXPECT_DOUBLE_EQ(web["series"].back()["up"].get<double>(), 1.0);
  const auto& rag = st["history"]["services"]["rag_service"];
  EXPECT_DOUBLE_EQ(rag["uptime_24h"].get<double>(), 0.0);
  EXPECT_EQ(rag["last"]["state"], "down");
  EXPECT_TRUE(st["history"]["services"].contains("docling_service") == false);  // not configured
  // What Redis holds is what /status counted.
  EXPECT_GE(std::stoll(redis.cli({"XLEN", "orch:history:probes:web"})), 3);

  // The pipeline (RAG is configured) and its dead letters, as Redis has them.
  ASSERT_TRUE(eventually([&] { return status(orch)["pipeline"]["queue_depth"].is_number(); }, 10s)) << status(orch).dump();
  EXPECT_EQ(status(orch)["pipeline"]["dead_letters"], 0);
  redis.cli({"XADD", "orch:dead", "*", "event", "{}", "reason", "{}"});
  EXPECT_EQ(status(orch)["pipeline"]["dead_letters"], 1);

  // A restarted orch serve starts from what Redis kept, not from zero.
  ASSERT_EQ(orch.stop(), 0);
  const long long before = std::stoll(redis.cli({"XLEN", "orch:history:probes:web"}));
  orch.restart();
  ASSERT_TRUE(eventually([&] { return orch.get("/healthz").status == 200; }, 10s));
  EXPECT_GE(probes_of(status(orch), "web"), before);
  EXPECT_DOUBLE_EQ(status(orch)["history"]["services"]["web"]["uptime_24h"].get<double>(), 100.0);

  // ?history= widens the window up to HISTORY_RETENTION; beyond it, or not a duration, is 400.
  EXPECT_EQ(status(orch, "?history=7d")["history"]["window_ms"], 7LL * 24 * 3600 * 1000);
  EXPECT_EQ(orch.get("/status?history=30d", kAuth).status, 400);
  EXPECT_EQ(orch.get("/status?history=soon", kAuth).status, 400);
  EXPECT_EQ(orch.get("/status").status, 401);  // still behind the token
}

TEST(HistoryStatus, BadgeNeedsNoTokenAndShowsTheUptime) {
  StandinServers standins;
  OrchServer orch(env_for(standins, ""));
  ASSERT_TRUE(eventually([&] { return probes_of(status(orch), "rag_service") >= 2 && probes_of(status(orch), "web") >= 2; }, 20s));
  EXPECT_EQ(status(orch)["history"]["store"], "memory");
  auto web = orch.get("/badge/web.svg");  // no Authorization
  ASSERT_EQ(web.status, 200);
  EXPECT_EQ(web.header("content-type"), "image/svg+xml");
  EXPECT_NE(web.body.find("<svg"), std::string::npos);
  EXPECT_NE(web.body.find("aria-label=\"web 24h: 100%\""), std::string::npos) << web.body;
  EXPECT_NE(web.body.find("#4c1"), std::string::npos);  // green
  auto rag = orch.get("/badge/rag_service.svg?period=7d");
  ASSERT_EQ(rag.status, 200);
  EXPECT_NE(rag.body.find("aria-label=\"rag_service 7d: 0.0%\""), std::string::npos) << rag.body;
  EXPECT_NE(rag.body.find("#e05d44"), std::string::npos);  // red
  EXPECT_EQ(orch.get("/badge/nope.svg").status, 404);
  EXPECT_EQ(orch.get("/badge/web.svg?period=1y").status, 400);
  // Names are escaped into the SVG, never markup: an unknown name is a 404 before any SVG.
  EXPECT_EQ(orch.get("/badge/%3Cscript%3E.svg").status, 404);
}

}  // namespace
