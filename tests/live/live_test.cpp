// GET /events (Server-Sent Events with resume), the status page, and `orch watch --remote`.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <sstream>
#include <filesystem>
#include <thread>

#include "core/json.hpp"
#include "live/endpoints.hpp"
#include "live/sse_client.hpp"
#include "support/docker_engine.hpp"
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
  // A browser without the token is asked for it (issue 23), not shown a JSON 401; a wrong one too.
  for (const std::string path : {"/", "/?token=wrong"}) {
    auto login = orch.get(path, {{"Accept", "text/html,application/xhtml+xml"}});
    EXPECT_EQ(login.status, 401);
    EXPECT_NE(login.body.find("<form method=\"get\" action=\"/\">"), std::string::npos) << login.body;
    EXPECT_NE(login.body.find("name=\"token\""), std::string::npos);
    EXPECT_EQ(login.body.find("live-token"), std::string::npos);  // never the token itself
  }
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

// Issue 23: `orch status` is one screen of what orch serve knows; a script gets the documents; a
// wrong token and a stopped daemon are told apart.
TEST(StatusCommand, OneScreenOfWhatServeKnows) {
  const std::string token = "status-token-1-0123456789";
  OrchServer orch(Env{{"REDIS_URL", ""},
                      {"ORCH_API_TOKEN", token},
                      {"DOCKER_HOST", "unix:///nonexistent.sock"},
                      {"WEB_API_URL", "http://127.0.0.1:9"},
                      {"HEALTH_INTERVAL", "300ms"},
                      {"DIAGNOSE_TIMEOUT", "1s"}});
  Env env{{"REDIS_URL", ""}, {"ORCH_URL", orch.url()}, {"ORCH_API_TOKEN", token}, {"ORCH_CONFIG", ""}};
  ASSERT_TRUE(eventually([&] { return orch.get("/health").body.find("\"down\"") != std::string::npos; }, 10s));
  auto r = run({ORCH_BINARY, "status"}, env);
  EXPECT_EQ(r.code, 2) << r.output;  // a service is down
  EXPECT_NE(r.output.find("services: 0/1 up"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("web"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("127.0.0.1:9"), std::string::npos) << r.output;  // why it is down
  EXPECT_NE(r.output.find("pipeline:"), std::string::npos) << r.output;
  // -o ndjson: the whole summary as one compact JSON document on one line.
  auto nd = run({ORCH_BINARY, "status", "-o", "ndjson"}, env);
  ASSERT_EQ(std::count(nd.output.begin(), nd.output.end(), '\n'), 1) << nd.output;
  auto j = json::parse(nd.output);
  EXPECT_EQ(j["health"]["components"]["services"]["web"]["status"], "down");
  EXPECT_EQ(j["status"]["pipeline"]["enabled"], false);
  auto no_token = env;
  no_token.erase("ORCH_API_TOKEN");
  auto refused = run({ORCH_BINARY, "status"}, no_token);
  EXPECT_EQ(refused.code, 64) << refused.output;
  EXPECT_NE(refused.output.find("ORCH_API_TOKEN"), std::string::npos) << refused.output;
  orch.stop();
  auto gone = run({ORCH_BINARY, "status", "-o", "json"}, env);
  EXPECT_EQ(gone.code, 3) << gone.output;
  EXPECT_EQ(json::parse(gone.output)["error"]["kind"], "unreachable") << gone.output;  // errors as JSON under -o json
}

// Issue 23: `orch watch` prints each container event once although it reads it twice (from the
// engine and as orch serve published it on Redis), starts with a backlog (--since), says which
// signal killed a container, and says once, on a pipe too, that the engine is unreachable.
TEST(Watch, EachEventOnceWithBacklogSignalsAndOneUnreachableLine) {
  ORCH_REQUIRE(DockerEngine::available()) << "dockerd or busybox-static not installed";
  DockerEngine engine;
  RedisServer redis;
  OrchServer orch(Env{{"REDIS_URL", redis.url()}, {"DOCKER_HOST", engine.host()}});
  ASSERT_TRUE(eventually([&] { return orch.get("/readyz").status == 200; }, 20s)) << orch.log();
  engine.must({"run", "-d", "--network", "none", "--name", "w-killed", engine.image(), "sleep", "600"});
  engine.must({"kill", "--signal", "KILL", "w-killed"});
  ASSERT_TRUE(eventually([&] { return !redis.events("container.died").empty(); }, 10s)) << orch.log();

  TempDir d;
  Env env{{"REDIS_URL", redis.url()}, {"DOCKER_HOST", engine.host()}, {"ORCH_CONFIG", ""}};
  Process watch({ORCH_BINARY, "watch", "--since", "5m", "--service", "w-killed", "-o", "ndjson"}, env, d.file("out"));
  std::this_thread::sleep_for(3s);
  watch.signal(SIGINT);
  EXPECT_EQ(watch.wait(5s), 0);
  int died = 0;
  json kill;
  std::istringstream lines(read_file(d.file("out")));
  for (std::string line; std::getline(lines, line);) {
    auto e = json::parse(line, nullptr, false);
    if (e.is_discarded() || !e.is_object()) continue;
    if (e["type"] == "container.died") ++died;
    if (e["type"] == "container.kill") kill = e;
  }
  EXPECT_EQ(died, 1) << read_file(d.file("out"));  // the engine's copy and serve's: printed once
  ASSERT_TRUE(kill.is_object()) << read_file(d.file("out"));
  EXPECT_EQ(kill["data"]["signal"], 9);
  Process human({ORCH_BINARY, "watch", "--since", "5m", "--service", "w-killed", "--no-bus"}, env, d.file("human"));
  ASSERT_TRUE(eventually([&] { return read_file(d.file("human")).find("container.died") != std::string::npos; }, 10s));
  human.signal(SIGINT);
  human.wait(5s);
  EXPECT_NE(read_file(d.file("human")).find("exit_code=137 (SIGKILL)"), std::string::npos) << read_file(d.file("human"));

  Process blind({ORCH_BINARY, "watch", "--no-bus"},
                Env{{"REDIS_URL", ""}, {"DOCKER_HOST", "unix:///nonexistent/docker.sock"}, {"ORCH_CONFIG", ""}}, d.file("blind"));
  // Said once it is known, then never again on the retries (watch/format's ConnectionLine has the
  // whole sequence in tests/watch): a second more of retries here.
  ASSERT_TRUE(eventually([&] { return read_file(d.file("blind")).find("docker: unreachable") != std::string::npos; }, 5s));
  std::this_thread::sleep_for(1s);
  blind.signal(SIGINT);
  blind.wait(5s);
  const auto said = read_file(d.file("blind"));
  size_t count = 0;
  for (size_t at = said.find("docker: unreachable"); at != std::string::npos; at = said.find("docker: unreachable", at + 1)) ++count;
  EXPECT_EQ(count, 1u) << said;
  engine.docker({"rm", "-f", "w-killed"});
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
