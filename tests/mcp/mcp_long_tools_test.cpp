// The long tools over MCP against a real engine (issue 18): rollback reports its steps while it
// waits for the new container's health, and a cancel during that wait really stops it — the
// replacement is removed and the previous container runs again under its own name.
#include <gtest/gtest.h>

#include <sstream>
#include <thread>

#include <regex>

#include "mcp/mcp_helpers.hpp"
#include "support/docker_engine.hpp"
#include "support/http_connection.hpp"
#include "support/orch_server.hpp"
#include "support/pipe_process.hpp"

// Its own namespace: the unity build compiles this file with the rest of its folder.
namespace mcp_long_tools_test {

using namespace orch;
using namespace orch::test;
using namespace orch::test::mcp;
using namespace std::chrono_literals;

namespace {

// rb:v2 has a health check whose first probe comes after 60 s: a container of it stays
// "starting" for the whole test, so the rollback waits until it is cancelled.
DockerEngine*& engine = share_engine([](DockerEngine& e) {
  e.must({"create", "--name", "rb-src", e.image(), "true"});
  e.must({"commit", "--change", R"(CMD ["sleep","3600"])", "--change", R"(HEALTHCHECK --interval=60s --start-period=60s CMD ["true"])",
          "rb-src", "orch-test/rb:v2"});
  e.must({"rm", "rb-src"});
});

struct McpLongTools : ::testing::Test {
  void TearDown() override {
    if (engine) engine->docker({"rm", "-f", "rb-app"});
  }
  std::string run_app() {
    engine->docker({"rm", "-f", "rb-app"});
    return engine->must({"run", "-d", "--network", "none", "--stop-timeout", "1", "--name", "rb-app", "--label", "orch.heal=true",
                         engine->image(), "sleep", "3600"});
  }
  bool restored(const std::string& old_id, std::chrono::milliseconds within) {
    const auto until = std::chrono::steady_clock::now() + within;
    do {
      auto r = engine->docker({"inspect", "-f", "{{.Id}} {{.State.Running}}", "rb-app"});
      if (r.code == 0 && r.output.rfind(old_id + " true", 0) == 0) return true;
      std::this_thread::sleep_for(100ms);
    } while (std::chrono::steady_clock::now() < until);
    return false;
  }
};

const std::string kToken = "mcp-token-1-0123456789";

json rollback_call(int id) {
  return {{"jsonrpc", "2.0"},
          {"id", id},
          {"method", "tools/call"},
          {"params",
           {{"name", "rollback"}, {"arguments", {{"service", "rb-app"}, {"to", "orch-test/rb:v2"}}}, {"_meta", {{"progressToken", id}}}}}};
}

// The SSE frame ids ("S-N") in `text`, in order.
std::vector<std::pair<long, long>> event_ids(const std::string& text) {
  std::vector<std::pair<long, long>> ids;
  std::regex id_line("(^|\n)id: ([0-9]+)-([0-9]+)\n");
  for (std::sregex_iterator it(text.begin(), text.end(), id_line), end; it != end; ++it)
    ids.emplace_back(std::stol((*it)[2]), std::stol((*it)[3]));
  return ids;
}

// Streamable HTTP, a 2025-11-25 session: a tool call's SSE answer starts with a priming event (an
// id, a retry interval, no data); losing the connection does not cancel the call, and GET with
// Last-Event-ID gets the rest of that stream — the frames not seen yet, then the answer. Ending the
// session (DELETE) cancels what still runs on it.
TEST_F(McpLongTools, HttpToolCallStreamsAreResumableAndOutliveTheConnection) {
  REQUIRE_ENGINE();
  const std::string old_id = run_app();
  OrchServer orch({{"REDIS_URL", ""},
                   {"ORCH_API_TOKEN", kToken},
                   {"DOCKER_HOST", engine->host()},
                   {"ORCH_RATE_LIMIT", "0"},
                   {"ROLLBACK_HEALTH_TIMEOUT", "10s"}});
  std::map<std::string, std::string> h{
      {"Authorization", "Bearer " + kToken}, {"Content-Type", "application/json"}, {"Accept", "application/json, text/event-stream"}};
  std::string session;
  {
    HttpConnection c(orch.port());
    const auto init = init_line("2025-11-25");
    auto r = c.request("POST", "/mcp", h, init.substr(0, init.find('\n')));
    ASSERT_EQ(r.status, 200) << r.body;
    session = r.header("mcp-session-id");
  }
  h["Mcp-Session-Id"] = session;
  h["MCP-Protocol-Version"] = "2025-11-25";
  long stream = 0, seen = 0;
  {
    HttpConnection c(orch.port());
    ASSERT_TRUE(c.send_request("POST", "/mcp", h, to_text(rollback_call(7))));
    auto head = c.read_head();
    ASSERT_EQ(head.status, 200);
    ASSERT_NE(head.header("content-type").find("text/event-stream"), std::string::npos);
    std::string raw;
    for (int i = 0; i < 50 && raw.find("waiting for the new container") == std::string::npos; ++i) raw += c.read_raw(200ms);
    ASSERT_NE(raw.find("waiting for the new container"), std::string::npos) << raw;
    EXPECT_NE(raw.find("retry: 1000\ndata: \n\n"), std::string::npos) << raw;  // the priming event
    auto ids = event_ids(raw);
    ASSERT_GE(ids.size(), 3u) << raw;
    EXPECT_EQ(ids[0].second, 0) << raw;  // the priming event comes first
    stream = ids.back().first;
    seen = ids.back().second;
  }  // the connection is gone, mid-call
  // Not cancelled: the replacement is still there being waited for.
  std::this_thread::sleep_for(1s);
  EXPECT_NE(engine->must({"inspect", "-f", "{{.Id}}", "rb-app"}), old_id);

  HttpConnection c(orch.port());
  auto resume = h;
  resume["Last-Event-ID"] = std::to_string(stream) + "-" + std::to_string(seen);
  // The answer comes when the 10 s health wait runs out and the old container is back: more than
  // read_response's default 10 s on a loaded machine (seen in CI).
  ASSERT_TRUE(c.send_request("GET", "/mcp", resume, ""));
  auto r = c.read_response(30s);
  ASSERT_EQ(r.status, 200);
  for (const auto& [s, n] : event_ids(r.body)) {
    EXPECT_EQ(s, stream) << r.body;
    EXPECT_GT(n, seen) << r.body;  // nothing seen before is sent again
  }
  // The answer: the health wait ran out (it was not cancelled), and the old container was put back.
  const auto at = r.body.find("data: {\"id\":7");
  ASSERT_NE(at, std::string::npos) << r.body;
  auto answer = json::parse(r.body.substr(at + 6, r.body.find('\n', at) - at - 6));
  EXPECT_EQ(answer["result"]["isError"], true) << answer;
  EXPECT_NE(to_text(answer).find("not healthy within 10 s"), std::string::npos) << answer;
  EXPECT_TRUE(restored(old_id, 5s));

  // A second call, then DELETE: the session's running call is cancelled and undone at once.
  HttpConnection c2(orch.port());
  ASSERT_TRUE(c2.send_request("POST", "/mcp", h, to_text(rollback_call(8))));
  ASSERT_EQ(c2.read_head().status, 200);
  std::string raw;
  for (int i = 0; i < 50 && raw.find("waiting for the new container") == std::string::npos; ++i) raw += c2.read_raw(200ms);
  ASSERT_NE(raw.find("waiting for the new container"), std::string::npos) << raw;
  // A fresh connection: `c` has been idle while the call started, and orch closes a connection idle
  // for its keep-alive timeout (2 s, as its Keep-Alive header says); on a loaded machine it had.
  HttpConnection c3(orch.port());
  EXPECT_EQ(c3.request("DELETE", "/mcp", h, "").status, 204);
  EXPECT_TRUE(restored(old_id, 3s)) << orch.log();
}

TEST_F(McpLongTools, RollbackReportsItsStepsAndACancelRestoresThePreviousContainer) {
  REQUIRE_ENGINE();
  const std::string old_id = run_app();
  TempDir state;
  Env env = kBase;
  env["DOCKER_HOST"] = engine->host();
  env["ORCH_STATE_DIR"] = state.path();
  env["ROLLBACK_HEALTH_TIMEOUT"] = "120s";
  PipeProcess proc({ORCH_BINARY, "mcp"}, env, state.file("stderr.log"));
  std::istringstream init(init_line("2025-11-25"));
  for (std::string line; std::getline(init, line);) ASSERT_TRUE(proc.write_line(line));
  ASSERT_TRUE(proc.read_line(10s));  // initialize's answer
  json call = {
      {"jsonrpc", "2.0"},
      {"id", 7},
      {"method", "tools/call"},
      {"params",
       {{"name", "rollback"}, {"arguments", {{"service", "rb-app"}, {"to", "orch-test/rb:v2"}}}, {"_meta", {{"progressToken", "rb"}}}}}};
  ASSERT_TRUE(proc.write_line(to_text(call)));

  // Progress: the steps in order, numbers increasing, until it waits for health.
  std::vector<json> progress;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto line = proc.read_line(20s);
    ASSERT_TRUE(line) << "no progress while rolling back";
    auto j = json::parse(*line);
    ASSERT_FALSE(j.contains("id")) << "answered before the health wait ended: " << j;
    if (j.value("method", "") != "notifications/progress") continue;
    progress.push_back(j["params"]);
    if (j["params"]["message"].get<std::string>().find("waiting for the new container to be healthy") != std::string::npos) break;
  }
  ASSERT_GE(progress.size(), 3u);
  for (size_t i = 0; i < progress.size(); ++i) {
    EXPECT_EQ(progress[i]["progressToken"], "rb");
    if (i > 0) {
      EXPECT_GT(progress[i]["progress"].get<double>(), progress[i - 1]["progress"].get<double>());
    }
  }
  EXPECT_NE(progress[1]["message"].get<std::string>().find("replacing rb-app"), std::string::npos) << progress[1];
  // The replacement runs under the service's name; the old container is aside, stopped.
  EXPECT_NE(engine->must({"inspect", "-f", "{{.Id}}", "rb-app"}), old_id);

  ASSERT_TRUE(proc.write_line(to_text(json{
      {"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", {{"requestId", 7}, {"reason", "operator changed mind"}}}})));
  // Undone within a few seconds (the wait polls every 250 ms), not after the 120 s timeout.
  EXPECT_TRUE(restored(old_id, 10s)) << engine->docker({"ps", "-a"}).output;
  // No container of the cancelled attempt is left, and the call gets no response (the spec's rule
  // for a cancelled request): the next request's answer is the next thing on the wire.
  EXPECT_EQ(engine->must({"ps", "-aq", "--filter", "ancestor=orch-test/rb:v2"}), "");
  ASSERT_TRUE(proc.write_line(R"({"jsonrpc":"2.0","id":8,"method":"ping"})"));
  for (auto line = proc.read_line(10s); line; line = proc.read_line(10s)) {
    auto j = json::parse(*line);
    if (!j.contains("id")) continue;
    EXPECT_EQ(j["id"], 8) << j;
    break;
  }
}

}  // namespace

}  // namespace mcp_long_tools_test
