// GET / in a real browser: headless Debian chromium (driven by playwright-core from tests/node)
// loads the status page from a real `orch serve` watching a real dockerd, and a webhook event
// published afterwards must appear on the page live (checked in the DOM and on screenshots); the
// history's charts, uptime and the timeline of a real heal are drawn with /status's values, at
// desktop and phone width, dark and light.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "core/json.hpp"
#include "support/docker_engine.hpp"
#include "support/orch_server.hpp"
#include "support/standins.hpp"

// Its own namespace: the unity build compiles this file with the rest of its folder.
namespace status_page_test {

using namespace orch;
using namespace orch::test;
using namespace std::chrono_literals;

namespace {

const std::string kNodeDir = std::string(ORCH_TESTS_DIR) + "/node";
const std::string kSecret = "page-secret-1-0123456789";

// The JSON after `prefix` on the first line of `text` that starts with it; null when none yet.
json line_after(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0) return json::parse(line.substr(prefix.size()), nullptr, false);
  return nullptr;
}

bool has_row(const json& table, const std::vector<std::string>& cells) {
  for (const auto& row : table) {
    bool all = true;
    for (const auto& c : cells) all = all && std::find(row.begin(), row.end(), c) != row.end();
    if (all) return true;
  }
  return false;
}

TEST(StatusPage, HeadlessChromiumShowsContainersQuarantineAndLiveEvents) {
  ORCH_REQUIRE(std::filesystem::exists("/usr/bin/chromium")) << "chromium not installed (scripts/install-deps.sh installs it)";
  ORCH_REQUIRE(std::filesystem::exists(kNodeDir + "/node_modules/playwright-core/package.json")) << "run `npm install` in tests/node";
  ORCH_REQUIRE(DockerEngine::available()) << "dockerd or busybox-static not installed";
  DockerEngine docker;
  docker.must({"run", "-d", "--name", "page-web-1", "--network", "none", "--label", "com.docker.compose.service=web", "--health-cmd", "true",
               "--health-interval", "1s", docker.image(), "sleep", "600"});
  ASSERT_TRUE(eventually([&] { return docker.must({"inspect", "-f", "{{.State.Health.Status}}", "page-web-1"}) == "healthy"; }, 20s));
  // A labelled container that keeps failing: orch heals it, and the heal is on the timeline.
  docker.must({"run", "-d", "--name", "page-crash-1", "--network", "none", "--label", "orch.heal=true", docker.image(), "sh", "-c",
               "sleep 1; exit 3"});
  // One a person stopped before orch started: left alone, and the page says so (issue 23).
  docker.must({"run", "-d", "--name", "page-stopped-1", "--network", "none", "--label", "orch.heal=true", docker.image(), "sleep", "600"});
  docker.must({"kill", "page-stopped-1"});
  StandinServers standins;  // its frontend stand-in answers /health: rag_service is up
  TempDir state;
  write_file(state.file("heal-quarantine.json"), R"({"page-docling-1":{"since_ms":1764000000000,"reason":"5 heals within 30m"}})");
  OrchServer orch({{"REDIS_URL", ""},
                   {"DOCKER_HOST", docker.host()},
                   {"ORCH_STATE_DIR", state.path()},
                   {"TRUSTED_WEBHOOK_SECRET", kSecret},
                   {"WEB_API_URL", "http://127.0.0.1:9"},  // nothing listens there: the page must show it down
                   {"RAG_API_URL", standins.url(standins.web)},
                   {"HEALTH_INTERVAL", "300ms"},
                   {"DIAGNOSE_TIMEOUT", "1s"}});

  TempDir out;
  const std::string marker = "page-marker-7";
  Process browser({"node", kNodeDir + "/status_page.mjs", orch.url("/"), out.path(), marker, "heal.restarted"}, {}, out.file("log"));
  json ready;
  ASSERT_TRUE(eventually([&] { return !(ready = line_after(read_file(out.file("log")), "ready ")).is_null(); }, 60s))
      << read_file(out.file("log"));
  EXPECT_TRUE(has_row(ready["containers"], {"page-web-1", "web", "running", "healthy"})) << ready.dump();
  EXPECT_TRUE(has_row(ready["quarantine"], {"page-docling-1", "2025-11-24T16:00:00Z", "5 heals within 30m"})) << ready.dump();
  EXPECT_TRUE(has_row(ready["components"], {"docker", "ok"})) << ready.dump();
  EXPECT_TRUE(has_row(ready["services"], {"web", "down"})) << ready.dump();
  // Issue 23: the headline counts, and a down service shows why.
  EXPECT_NE(ready["headline"].get<std::string>().find("1/2 up"), std::string::npos) << ready.dump();
  ASSERT_EQ(ready["reasons"].size(), 1u) << ready.dump();
  EXPECT_NE(ready["reasons"][0].get<std::string>().find("127.0.0.1:9"), std::string::npos) << ready.dump();
  EXPECT_TRUE(ready["external"].empty()) << "the page must not load external assets: " << ready.dump();

  json body = {{"modelName", "page"}, {"operation", "publish"},
               {"newValue", {{"id", marker}, {"lastUpdated", 7}, {"data", {{"url", "/live"}}}}}};
  ASSERT_EQ(orch.post("/webhook/builder", body.dump(), {{"x-builder-secret", kSecret}}).status, 202);
  json shown;
  ASSERT_TRUE(eventually([&] { return !(shown = line_after(read_file(out.file("log")), "shown ")).is_null(); }, 30s))
      << read_file(out.file("log"));
  json history;
  ASSERT_TRUE(eventually([&] { return !(history = line_after(read_file(out.file("log")), "history ")).is_null(); }, 90s))
      << read_file(out.file("log"));
  EXPECT_EQ(browser.wait(30s), 0);
  ASSERT_FALSE(shown["events"].empty());
  // Newest first; the pipeline's ingest.* for it may already be above it.
  bool published = false;
  for (const auto& e : shown["events"]) {
    const auto text = e.get<std::string>();
    // Shown as a sentence a person reads, not as the type and its fields.
    published = published || (text.rfind("content.published | ", 0) == 0 && text.find(marker) != std::string::npos &&
                              text.find("was published") != std::string::npos);
  }
  EXPECT_TRUE(published) << shown.dump();
  // The decision not to heal is an event read as a sentence, not only a log line.
  bool left_alone = false;
  for (const auto& e : shown["events"]) {
    const auto text = e.get<std::string>();  // "<type> | <time> <sentence>"
    left_alone = left_alone || (text.rfind("heal.left_alone | ", 0) == 0 &&
                                text.find("orch left page-stopped-1 alone (exited 137): stopped") != std::string::npos);
  }
  EXPECT_TRUE(left_alone) << shown.dump();
  // The screenshots: real PNGs, and the event changed what is on screen.
  const auto before = read_file(out.file("before.png")), after = read_file(out.file("after.png"));
  ASSERT_GT(before.size(), 1000u);
  EXPECT_EQ(before.substr(1, 3), "PNG");
  EXPECT_EQ(after.substr(1, 3), "PNG");
  EXPECT_NE(before, after);
  // The history as drawn, against /status: one chart per service, a point per non-empty slot, the
  // down service's slots all red, the up one's none; uptime in the services table; the heal.
  ASSERT_EQ(history["charts"].size(), 2u) << history.dump();
  json web, rag;
  for (const auto& c : history["charts"]) (c["service"] == "web" ? web : rag) = c;
  ASSERT_EQ(rag["service"], "rag_service") << history.dump();
  for (const auto* c : {&web, &rag}) {
    EXPECT_GE((*c)["points"].get<int>(), 2) << history.dump();
    EXPECT_EQ((*c)["polyline_points"], (*c)["points"]) << history.dump();
    EXPECT_GT((*c)["width"].get<double>(), 200) << history.dump();
  }
  EXPECT_EQ(web["down"], web["points"]) << history.dump();
  EXPECT_EQ(web["red_bars"], web["points"]) << history.dump();
  EXPECT_EQ(rag["down"], 0) << history.dump();
  EXPECT_EQ(rag["red_bars"], 0) << history.dump();
  auto st = json::parse(orch.get("/status").body);
  const auto rag_series = st["history"]["services"]["rag_service"]["series"];
  double slowest = 1;
  for (const auto& p : rag_series) slowest = std::max(slowest, p["max_ms"].get<double>());
  EXPECT_LE(rag["max_ms"].get<double>(), slowest) << "the chart is scaled to the slowest slot /status reports";
  EXPECT_TRUE(has_row(history["services"], {"web", "down", "0.00%"})) << history.dump();
  EXPECT_TRUE(has_row(history["services"], {"rag_service", "ok", "100.00%"})) << history.dump();
  bool healed = false;
  for (const auto& row : history["timeline"]) healed = healed || (row[1] == "heal.restarted" && row[2] == "page-crash-1");
  EXPECT_TRUE(healed) << history.dump();
  EXPECT_NE(history["totals"].get<std::string>().find("heals "), std::string::npos) << history.dump();
  EXPECT_TRUE(history["external"].empty()) << history.dump();
  // Phone width: no sideways scrolling, charts still drawn across the screen; light and dark differ.
  EXPECT_LE(history["phone"]["overflow"].get<double>(), 0) << history.dump();
  for (const auto& c : history["phone"]["charts"]) EXPECT_GT(c["width"].get<double>(), 250) << history.dump();
  EXPECT_NE(history["phone"]["background"], history["dark_background"]) << history.dump();
  EXPECT_EQ(history["dark_background"], "rgb(15, 20, 25)");
  const auto phone = read_file(out.file("phone.png"));
  ASSERT_GT(phone.size(), 1000u);
  EXPECT_EQ(phone.substr(1, 3), "PNG");
  // Kept for a person to look at when the test is run by hand.
  if (const char* keep = std::getenv("ORCH_KEEP_SCREENSHOT")) {
    const auto opts = std::filesystem::copy_options::overwrite_existing;
    std::filesystem::copy_file(out.file("after.png"), keep, opts);
    std::filesystem::copy_file(out.file("history.png"), std::string(keep) + ".history.png", opts);  // desktop, full page
    std::filesystem::copy_file(out.file("phone.png"), std::string(keep) + ".phone.png", opts);      // 390 px, light
  }
}

}  // namespace

}  // namespace status_page_test
