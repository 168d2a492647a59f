// GET /events (Server-Sent Events with resume), the status page, and `orch watch --remote`.
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <filesystem>
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

std::string publish(const OrchServer& orch, int n, const std::string& operation = "publish") {
  json body = {{"modelName", "page"},
               {"operation", operation},
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
  // Two types on the stream, so the filter has something to leave out.
  const auto first = publish(orch, 1), unpublished = publish(orch, 2, "unpublish"), second = publish(orch, 3);
  ASSERT_FALSE(unpublished.empty());
  auto frames = read_frames(orch, 2, {{"Authorization", "Bearer live-token-1-0123456789"}}, "?last_event_id=0-0&type=content.pub*");
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].event, "content.published");
  EXPECT_EQ(json::parse(frames[0].data)["id"], first);
  EXPECT_EQ(frames[1].event, "content.published");
  EXPECT_EQ(json::parse(frames[1].data)["id"], second);
  // And the other way round: only the unpublish.
  frames = read_frames(orch, 1, {{"Authorization", "Bearer live-token-1-0123456789"}}, "?last_event_id=0-0&type=content.unpublished");
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(json::parse(frames[0].data)["id"], unpublished);
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

TEST(Status, AnUnreadableStateStoreIsNullWithTheReasonAndStill200) {
  // docs/live.md: when the state store cannot be read, quarantine is null, quarantine_error says
  // why, and the answer is still 200. With Redis the store is Redis: stopped, it cannot be read.
  RedisServer redis;
  OrchServer orch(Env{{"REDIS_URL", redis.url()}, {"DOCKER_HOST", "unix:///nonexistent.sock"}});
  auto before = orch.get("/status");
  ASSERT_EQ(before.status, 200) << before.body;
  EXPECT_TRUE(json::parse(before.body)["quarantine"].is_object()) << before.body;
  redis.stop();
  auto res = orch.get("/status");
  ASSERT_EQ(res.status, 200) << res.body;
  auto j = json::parse(res.body);
  EXPECT_TRUE(j["quarantine"].is_null()) << res.body;
  ASSERT_TRUE(j.contains("quarantine_error")) << res.body;
  EXPECT_FALSE(j["quarantine_error"].get<std::string>().empty());
  EXPECT_TRUE(j["containers"].is_null()) << "no engine here either";
  EXPECT_TRUE(j.contains("containers_error"));
  EXPECT_EQ(orch.get("/healthz").status, 200);

  // Without Redis the store is $ORCH_STATE_DIR: a directory where heal-quarantine.json should be
  // cannot be read (mode 000 would not stop root), and is not taken for an empty list.
  OrchServer files(Env{{"REDIS_URL", ""}, {"DOCKER_HOST", "unix:///nonexistent.sock"}});
  EXPECT_TRUE(json::parse(files.get("/status").body)["quarantine"].is_object());
  std::filesystem::create_directories(files.state_dir() + "/heal-quarantine.json/x");
  auto unreadable = files.get("/status");
  ASSERT_EQ(unreadable.status, 200) << unreadable.body;
  auto u = json::parse(unreadable.body);
  EXPECT_TRUE(u["quarantine"].is_null()) << unreadable.body;
  EXPECT_NE(u.value("quarantine_error", "").find("heal-quarantine.json"), std::string::npos) << unreadable.body;
}

}  // namespace
