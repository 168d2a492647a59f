// GET /events (Server-Sent Events with resume), the status page, and `orch watch --remote`.
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <thread>

#include "core/json.hpp"
#include "live/endpoints.hpp"
#include "live/sse_client.hpp"
#include "support/orch_server.hpp"
#include "support/redis_server.hpp"

using namespace orch;
using namespace orch::test;
using namespace std::chrono_literals;

namespace {

using Env = std::map<std::string, std::string>;
const std::string kSecret = "live-secret-1-0123456789";

std::string publish(const OrchServer& orch, int n) {
  json body = {{"modelName", "page"}, {"operation", "publish"},
               {"newValue", {{"id", "p" + std::to_string(n)}, {"lastUpdated", 1000 + n}, {"data", {{"url", "/p"}}}}}};
  auto r = orch.post("/webhook/builder", body.dump(), {{"x-builder-secret", kSecret}});
  return json::parse(r.body).value("event_id", "");
}

// Reads SSE frames from GET /events until `count` frames arrived.
std::vector<live::SseParser::Frame> read_frames(const OrchServer& orch, size_t count, std::vector<std::pair<std::string, std::string>> headers,
                                                const std::string& query = "") {
  std::vector<live::SseParser::Frame> frames;
  live::SseParser parser;
  http::Request req;
  req.url = orch.url("/events" + query);
  req.timeout = 0ms;
  req.headers = std::move(headers);
  auto deadline = std::chrono::steady_clock::now() + 10s;
  http::stream(
      req,
      [&](std::string_view chunk) {
        parser.feed(chunk, [&](const live::SseParser::Frame& f) { frames.push_back(f); });
        return frames.size() < count;
      },
      [&] { return std::chrono::steady_clock::now() > deadline; });
  return frames;
}

TEST(Sse, ResumesAfterLastEventIdWithoutGapsOrDuplicates) {
  RedisServer redis;
  OrchServer orch(Env{{"REDIS_URL", redis.url()}, {"TRUSTED_WEBHOOK_SECRET", kSecret}, {"DOCKER_HOST", "unix:///nonexistent.sock"}});
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(publish(orch, i));
  auto all = read_frames(orch, 3, {}, "?last_event_id=0-0");
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(json::parse(all[0].data)["id"], ids[0]);
  EXPECT_EQ(all[0].event, "content.published");
  // Resume after the first: the other two, then a live one.
  std::atomic<bool> done{false};
  std::vector<live::SseParser::Frame> resumed;
  std::thread reader([&] {
    resumed = read_frames(orch, 3, {{"Last-Event-ID", all[0].id}});
    done = true;
  });
  std::this_thread::sleep_for(500ms);
  ids.push_back(publish(orch, 3));
  reader.join();
  ASSERT_EQ(resumed.size(), 3u);
  EXPECT_EQ(json::parse(resumed[0].data)["id"], ids[1]);
  EXPECT_EQ(json::parse(resumed[1].data)["id"], ids[2]);
  EXPECT_EQ(json::parse(resumed[2].data)["id"], ids[3]);
  EXPECT_TRUE(live::stream_id_after(resumed[2].id, resumed[1].id));
}

TEST(Sse, TokenRulesAndTypeFilter) {
  OrchServer orch(Env{{"REDIS_URL", ""}, {"TRUSTED_WEBHOOK_SECRET", kSecret}, {"ORCH_API_TOKEN", "live-token-1-0123456789"},
                      {"DOCKER_HOST", "unix:///nonexistent.sock"}});
  EXPECT_EQ(orch.get("/events").status, 401);
  EXPECT_EQ(orch.get("/").status, 401);
  auto page = orch.get("/?token=live-token-1-0123456789");
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("EventSource"), std::string::npos);
  EXPECT_EQ(page.body.find("<script src"), std::string::npos);  // no external assets
  EXPECT_EQ(page.body.find("<link"), std::string::npos);
  publish(orch, 1);
  auto frames = read_frames(orch, 1, {{"Authorization", "Bearer live-token-1-0123456789"}}, "?last_event_id=0-0&type=content.*");
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].event, "content.published");
}

TEST(Watch, RemoteFollowsAnotherOrchServe) {
  OrchServer orch(Env{{"REDIS_URL", ""}, {"TRUSTED_WEBHOOK_SECRET", kSecret}, {"DOCKER_HOST", "unix:///nonexistent.sock"}});
  TempDir d;
  Process watch({ORCH_BINARY, "watch", "--remote", orch.url(), "-o", "ndjson"}, {{"REDIS_URL", ""}}, d.file("out"));
  std::this_thread::sleep_for(700ms);
  auto id = publish(orch, 42);
  ASSERT_TRUE(eventually([&] { return read_file(d.file("out")).find(id) != std::string::npos; })) << read_file(d.file("out"));
  auto line = read_file(d.file("out"));
  line = line.substr(line.find("{\"data\""));
  EXPECT_EQ(json::parse(line.substr(0, line.find('\n')))["type"], "content.published");
  watch.signal(SIGINT);
  EXPECT_EQ(watch.wait(5s), 0);
}

}  // namespace
