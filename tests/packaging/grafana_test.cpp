// packaging/grafana/orch.json is a Grafana dashboard that can only show what orch exports: every
// metric its queries name is declared in a real `orch serve`'s /metrics (with Redis and the
// pipeline, so the bus and pipeline families exist), and the panels are laid out on Grafana's
// 24-column grid with unique ids and the dashboard's one datasource input.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <sstream>

#include "core/json.hpp"
#include "support/orch_server.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"
#include "support/standins.hpp"

using namespace orch;
using namespace orch::test;

namespace {

const std::string kDashboard = std::string(ORCH_TESTS_DIR) + "/../packaging/grafana/orch.json";

TEST(Grafana, EveryQueriedMetricIsOneOrchServeExports) {
  auto dash = json::parse(read_file(kDashboard), nullptr, false);
  ASSERT_TRUE(dash.is_object()) << kDashboard << " is not JSON";
  RedisServer redis;
  StandinServers standins;
  OrchServer orch({{"REDIS_URL", redis.url()}, {"DOCKER_HOST", "unix:///nonexistent.sock"}, {"RAG_API_URL", standins.url(standins.web)}});
  auto metrics = orch.get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  std::map<std::string, std::string> declared;  // name -> type
  std::istringstream lines(metrics.body);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_match(line, m, std::regex(R"(# TYPE (\S+) (\S+))"))) declared[m[1]] = m[2];
  }
  ASSERT_FALSE(declared.empty()) << metrics.body;

  std::set<std::string> used;
  size_t queries = 0;
  const std::regex name(R"(\borch_[a-z_]+)");
  for (const auto& panel : dash["panels"]) {
    for (const auto& t : panel.value("targets", json::array())) {
      const auto expr = t.value("expr", "");
      ++queries;
      for (std::sregex_iterator it(expr.begin(), expr.end(), name), end; it != end; ++it) {
        std::string n = it->str();
        for (const char* suffix : {"_bucket", "_sum", "_count"}) {
          const std::string s = suffix;
          const auto base = n.size() > s.size() ? n.substr(0, n.size() - s.size()) : n;
          if (n.ends_with(s) && declared.count(base) && declared[base] == "histogram") n = base;
        }
        used.insert(n);
        EXPECT_TRUE(declared.count(n)) << "the dashboard queries " << n << ", which /metrics does not have (panel \""
                                       << panel.value("title", "") << "\")";
      }
    }
  }
  EXPECT_GE(queries, 15u);
  // The figures SPEC §10 lists are on it.
  for (const char* n : {"orch_webhooks_received_total", "orch_events_published_total", "orch_outbox_depth", "orch_pipeline_jobs_total",
                        "orch_pipeline_job_seconds", "orch_heal_actions_total", "orch_container_healthy", "orch_service_up",
                        "orch_service_response_ms", "orch_redis_connected", "orch_docker_connected"})
    EXPECT_TRUE(used.count(n)) << n << " is not on the dashboard";
}

TEST(Grafana, PanelsFitTheGridWithUniqueIdsAndTheOneDatasource) {
  auto dash = json::parse(read_file(kDashboard), nullptr, false);
  ASSERT_TRUE(dash.is_object());
  EXPECT_EQ(dash["uid"], "orch-overview");
  ASSERT_EQ(dash["__inputs"].size(), 1u);
  EXPECT_EQ(dash["__inputs"][0]["pluginId"], "prometheus");
  std::set<int> ids;
  for (const auto& p : dash["panels"]) {
    EXPECT_TRUE(ids.insert(p["id"].get<int>()).second) << "duplicate panel id " << p["id"];
    const auto& g = p["gridPos"];
    EXPECT_GE(g["x"].get<int>(), 0);
    EXPECT_LE(g["x"].get<int>() + g["w"].get<int>(), 24) << p["title"];
    if (p["type"] == "row") continue;
    EXPECT_EQ(p["datasource"]["uid"], "${DS_PROMETHEUS}") << p["title"];
    EXPECT_FALSE(p["targets"].empty()) << p["title"];
  }
}

}  // namespace
