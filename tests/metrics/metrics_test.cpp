// The Prometheus registry (lib/metrics): families render in the text format, and a dropped series
// (a removed container's) leaves the rendering while a snapshot taken before still reads it.
#include "metrics/metrics.hpp"

#include <gtest/gtest.h>

using namespace orch;

TEST(Metrics, RetainDropsTheRejectedSeriesFromTheRendering) {
  Metrics m;
  auto& healthy = m.gauge("orch_container_healthy", "per container", {"container"});
  healthy.labels({"web-1"}).set(1);
  healthy.labels({"gone-1"}).set(0);
  auto text = m.render();
  EXPECT_NE(text.find("orch_container_healthy{container=\"web-1\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("orch_container_healthy{container=\"gone-1\"} 0"), std::string::npos) << text;

  const auto snapshot = healthy.series();
  healthy.retain([](const Labels& l) { return l.at(0) != "gone-1"; });
  text = m.render();
  EXPECT_NE(text.find("container=\"web-1\""), std::string::npos) << text;
  EXPECT_EQ(text.find("gone-1"), std::string::npos) << text;
  // The snapshot still holds both: a render in progress never reads a freed series.
  ASSERT_EQ(snapshot.size(), 2u);
  EXPECT_EQ(snapshot[0].first, (Labels{"gone-1"}));
  EXPECT_EQ(snapshot[0].second->value(), 0);
  // A series asked for again after it was dropped starts anew.
  EXPECT_EQ(healthy.labels({"gone-1"}).value(), 0);
  healthy.labels({"gone-1"}).set(1);
  EXPECT_NE(m.render().find("orch_container_healthy{container=\"gone-1\"} 1"), std::string::npos);
}

TEST(Metrics, CountersAndHistogramsRender) {
  Metrics m;
  m.counter("orch_heal_actions_total", "Heal actions", {"result"}).labels({"restarted"}).inc();
  auto& h = m.histogram("orch_webhook_seconds", "Webhook latency", {}, {0.01, 0.1});
  h.get().observe(0.05);
  const auto text = m.render();
  EXPECT_NE(text.find("# TYPE orch_heal_actions_total counter"), std::string::npos) << text;
  EXPECT_NE(text.find("orch_heal_actions_total{result=\"restarted\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("orch_webhook_seconds_bucket{le=\"0.01\"} 0"), std::string::npos) << text;
  EXPECT_NE(text.find("orch_webhook_seconds_bucket{le=\"0.1\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("orch_webhook_seconds_count 1"), std::string::npos) << text;
  // Declared again under the same name: the same family.
  EXPECT_EQ(&m.counter("orch_heal_actions_total", "Heal actions", {"result"}), m.find_counter("orch_heal_actions_total"));
}
