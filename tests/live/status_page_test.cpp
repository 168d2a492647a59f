// GET / in a real browser: headless Debian chromium (driven by playwright-core from tests/node)
// loads the status page from a real `orch serve` watching a real dockerd, and a webhook event
// published afterwards must appear on the page live (checked in the DOM and on screenshots).
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "core/json.hpp"
#include "support/docker_engine.hpp"
#include "support/orch_server.hpp"

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
  if (!std::filesystem::exists("/usr/bin/chromium")) GTEST_SKIP() << "chromium not installed (scripts/install-deps.sh installs it)";
  if (!std::filesystem::exists(kNodeDir + "/node_modules/playwright-core/package.json")) GTEST_SKIP() << "run `npm install` in tests/node";
  if (!DockerEngine::available()) GTEST_SKIP() << "dockerd or busybox-static not installed";
  DockerEngine docker;
  docker.must({"run", "-d", "--name", "page-web-1", "--network", "none", "--label", "com.docker.compose.service=web", "--health-cmd", "true",
               "--health-interval", "1s", docker.image(), "sleep", "600"});
  ASSERT_TRUE(eventually([&] { return docker.must({"inspect", "-f", "{{.State.Health.Status}}", "page-web-1"}) == "healthy"; }, 20s));
  TempDir state;
  write_file(state.file("heal-quarantine.json"), R"({"page-docling-1":{"since_ms":1764000000000,"reason":"5 heals within 30m"}})");
  OrchServer orch({{"REDIS_URL", ""}, {"DOCKER_HOST", docker.host()}, {"ORCH_STATE_DIR", state.path()}, {"TRUSTED_WEBHOOK_SECRET", kSecret},
                   {"WEB_API_URL", "http://127.0.0.1:9"}});  // nothing listens there: the page must show it down

  TempDir out;
  const std::string marker = "page-marker-7";
  Process browser({"node", kNodeDir + "/status_page.mjs", orch.url("/"), out.path(), marker}, {}, out.file("log"));
  json ready;
  ASSERT_TRUE(eventually([&] { return !(ready = line_after(read_file(out.file("log")), "ready ")).is_null(); }, 60s))
      << read_file(out.file("log"));
  EXPECT_TRUE(has_row(ready["containers"], {"page-web-1", "web", "running", "healthy"})) << ready.dump();
  EXPECT_TRUE(has_row(ready["quarantine"], {"page-docling-1", "2025-11-24T16:00:00Z", "5 heals within 30m"})) << ready.dump();
  EXPECT_TRUE(has_row(ready["components"], {"docker", "ok"})) << ready.dump();
  EXPECT_TRUE(has_row(ready["services"], {"web", "down"})) << ready.dump();
  EXPECT_TRUE(ready["external"].empty()) << "the page must not load external assets: " << ready.dump();

  json body = {{"modelName", "page"}, {"operation", "publish"},
               {"newValue", {{"id", marker}, {"lastUpdated", 7}, {"data", {{"url", "/live"}}}}}};
  ASSERT_EQ(orch.post("/webhook/builder", body.dump(), {{"x-builder-secret", kSecret}}).status, 202);
  json shown;
  ASSERT_TRUE(eventually([&] { return !(shown = line_after(read_file(out.file("log")), "shown ")).is_null(); }, 30s))
      << read_file(out.file("log"));
  EXPECT_EQ(browser.wait(30s), 0);
  ASSERT_FALSE(shown["events"].empty());
  EXPECT_NE(shown["events"][0].get<std::string>().find("content.published"), std::string::npos) << shown.dump();
  // The screenshots: real PNGs, and the event changed what is on screen.
  const auto before = read_file(out.file("before.png")), after = read_file(out.file("after.png"));
  ASSERT_GT(before.size(), 1000u);
  EXPECT_EQ(before.substr(1, 3), "PNG");
  EXPECT_EQ(after.substr(1, 3), "PNG");
  EXPECT_NE(before, after);
  // Kept for a person to look at when the test is run by hand.
  if (const char* keep = std::getenv("ORCH_KEEP_SCREENSHOT")) std::filesystem::copy_file(out.file("after.png"), keep, std::filesystem::copy_options::overwrite_existing);
}

}  // namespace
