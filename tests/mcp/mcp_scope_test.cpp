// Which containers MCP's destructive tools may change (issue 15), against a real dockerd and the
// real `orch mcp`: orch's scope (heal-labelled, monitor-only never, configured services), and
// ORCH_MCP_ALLOW matched by service, compose service or container name. Then what the container
// tools answer an agent: lists, logs, and rollback's refusals and failures (issue 24).
#include <gtest/gtest.h>

#include <sstream>

#include "mcp/mcp_helpers.hpp"
#include "support/docker_engine.hpp"
#include "support/pipe_process.hpp"

// Its own namespace: the unity build compiles this file with the rest of its folder.
namespace mcp_scope_test {

using namespace orch;
using namespace orch::test;
using namespace orch::test::mcp;

namespace {

DockerEngine*& engine = share_engine();

struct McpScope : ::testing::Test {
  const std::vector<std::string> names = {"m-plain", "m-heal", "m-mon", "stack-web-1", "stack-redis-1", "hw-web-1", "hw-other"};
  const std::vector<std::string> tool_names = {"t-ran", "t-exited", "t-good", "t-sick"};  // the tool tests' own
  void TearDown() override {
    if (!engine) return;
    std::vector<std::string> rm = {"rm", "-f"};
    rm.insert(rm.end(), names.begin(), names.end());
    rm.insert(rm.end(), tool_names.begin(), tool_names.end());
    engine->docker(rm);
  }
  void run_container(const std::string& name, const std::vector<std::string>& labels, const std::string& command = "sleep 3600") {
    std::vector<std::string> args = {"run", "-d", "--network", "none", "--stop-timeout", "1", "--name", name};
    for (const auto& l : labels) {
      args.push_back("--label");
      args.push_back(l);
    }
    args.insert(args.end(), {engine->image(), "sh", "-c", command});
    engine->must(args);
  }
  std::string started_at(const std::string& name) { return engine->must({"inspect", "-f", "{{.State.StartedAt}}", name}); }
  // Calls each {tool, arguments} on one `orch mcp`, the next when the last is answered (calls
  // sent together run at once); the replies in the same order, null where none came.
  std::vector<json> session(const std::vector<std::pair<std::string, json>>& tool_calls, Env extra = {}) {
    TempDir state;
    Env env = kBase;
    env["DOCKER_HOST"] = engine->host();
    env["ORCH_STATE_DIR"] = state.path();
    for (auto& [k, v] : extra) env[k] = v;
    PipeProcess proc({ORCH_BINARY, "mcp"}, env, state.file("stderr.log"));
    std::istringstream init(init_line());
    for (std::string line; std::getline(init, line);) proc.write_line(line);
    std::vector<json> out;
    for (size_t i = 0; i <= tool_calls.size(); ++i) {  // 0 is initialize's answer
      if (i > 0) proc.write_line(call_line(static_cast<int>(10 + i), tool_calls[i - 1].first, tool_calls[i - 1].second));
      json reply = nullptr;
      while (reply.is_null()) {
        const auto line = proc.read_line(std::chrono::seconds(60));
        if (!line) break;
        auto j = json::parse(*line, nullptr, false);
        if (j.is_object() && j.contains("id") && (j.contains("result") || j.contains("error"))) reply = j;
      }
      if (i > 0) out.push_back(reply);
    }
    return out;
  }
  // Calls `tool` once per argument set on one `orch mcp`.
  std::vector<json> calls(const std::string& tool, const std::vector<json>& arguments, Env extra = {}) {
    std::vector<std::pair<std::string, json>> tool_calls;
    for (const auto& a : arguments) tool_calls.emplace_back(tool, a);
    return session(tool_calls, std::move(extra));
  }
  static std::string text(const json& reply) { return reply["result"]["content"][0]["text"]; }
};

TEST_F(McpScope, RestartOnlyInScopeOrAllowedNeverMonitorOnly) {
  REQUIRE_ENGINE();
  run_container("m-plain", {});
  run_container("m-heal", {"orch.heal=true"});
  run_container("m-mon", {"orch.monitor-only=true", "orch.heal=true"});
  run_container("stack-web-1", {"com.docker.compose.service=web", "com.docker.compose.project=stack"});
  run_container("stack-redis-1", {"com.docker.compose.service=redis", "com.docker.compose.project=stack"});
  std::map<std::string, std::string> before;
  for (const auto& n : names)
    if (n.rfind("hw-", 0) != 0) before[n] = started_at(n);

  // No allow list: orch's scope. The unlabelled container used to be restarted.
  auto r = calls("restart_container", {{{"container", "m-plain"}}, {{"container", "m-heal"}}, {{"container", "m-mon"}},
                                       {{"container", "stack-web-1"}}});
  EXPECT_EQ(r[0]["result"]["isError"], true) << r[0];
  EXPECT_NE(text(r[0]).find("outside orch's scope"), std::string::npos) << r[0];
  EXPECT_EQ(r[1]["result"]["isError"], false) << r[1];
  EXPECT_EQ(r[1]["result"]["structuredContent"]["restarted"], true);
  EXPECT_EQ(r[2]["result"]["isError"], true) << r[2];
  EXPECT_NE(text(r[2]).find("monitor-only"), std::string::npos) << r[2];
  EXPECT_EQ(r[3]["result"]["isError"], true) << r[3];
  EXPECT_EQ(started_at("m-plain"), before["m-plain"]);
  EXPECT_NE(started_at("m-heal"), before["m-heal"]);
  EXPECT_EQ(started_at("m-mon"), before["m-mon"]);
  EXPECT_EQ(started_at("stack-web-1"), before["stack-web-1"]);
  before["m-heal"] = started_at("m-heal");

  // ORCH_MCP_ALLOW=web: the compose service `web` (stack-web-1) is allowed although outside the
  // scope; everything else is refused, labelled ones included; monitor-only stays untouchable.
  auto a = calls("restart_container", {{{"container", "stack-web-1"}}, {{"container", "stack-redis-1"}}, {{"container", "m-heal"}},
                                       {{"container", "m-mon"}}},
                 {{"ORCH_MCP_ALLOW", "web"}});
  EXPECT_EQ(a[0]["result"]["isError"], false) << a[0];
  for (int i = 1; i < 4; ++i) EXPECT_EQ(a[i]["result"]["isError"], true) << a[i];
  EXPECT_NE(text(a[1]).find("ORCH_MCP_ALLOW"), std::string::npos) << a[1];
  EXPECT_NE(text(a[3]).find("monitor-only"), std::string::npos) << a[3];
  EXPECT_NE(started_at("stack-web-1"), before["stack-web-1"]);
  EXPECT_EQ(started_at("stack-redis-1"), before["stack-redis-1"]);
  EXPECT_EQ(started_at("m-heal"), before["m-heal"]);

  // The container name matches too; a list of several, with blanks, is read item by item.
  auto n = calls("restart_container", {{{"container", "stack-redis-1"}}}, {{"ORCH_MCP_ALLOW", "web, stack-redis-1"}});
  EXPECT_EQ(n[0]["result"]["isError"], false) << n[0];

  // rollback follows the same rule: the service `redis` is found (compose label) and refused.
  auto rb = calls("rollback", {{{"service", "redis"}, {"to", engine->image()}}}, {{"ORCH_MCP_ALLOW", "web"}});
  EXPECT_EQ(rb[0]["result"]["isError"], true) << rb[0];
  EXPECT_NE(text(rb[0]).find("ORCH_MCP_ALLOW"), std::string::npos) << rb[0];
}

TEST_F(McpScope, HealWithAllowListRestartsOnlyTheAllowed) {
  REQUIRE_ENGINE();
  // Both heal-labelled, both exited 3 without a restart policy: a heal pass restarts both.
  run_container("hw-web-1", {"orch.heal=true", "com.docker.compose.service=web"}, "exit 3");
  run_container("hw-other", {"orch.heal=true"}, "exit 3");
  ASSERT_EQ(engine->must({"wait", "hw-web-1"}), "3");
  ASSERT_EQ(engine->must({"wait", "hw-other"}), "3");
  const auto web_before = started_at("hw-web-1"), other_before = started_at("hw-other");

  // A dry run is allowed in read-only mode and shows what the allow list lets through.
  auto dry = calls("heal", {{{"dry_run", true}}}, {{"ORCH_MCP_ALLOW", "web"}, {"ORCH_MCP_READ_ONLY", "true"}});
  ASSERT_EQ(dry[0]["result"]["isError"], false) << dry[0];
  auto dry_actions = dry[0]["result"]["structuredContent"]["actions"];
  ASSERT_EQ(dry_actions.size(), 1u) << dry[0];
  EXPECT_EQ(dry_actions[0]["container"], "hw-web-1");
  EXPECT_EQ(dry_actions[0]["outcome"], "would-restart");

  auto healed = calls("heal", {json::object()}, {{"ORCH_MCP_ALLOW", "web"}});
  ASSERT_EQ(healed[0]["result"]["isError"], false) << healed[0];
  auto actions = healed[0]["result"]["structuredContent"]["actions"];
  ASSERT_EQ(actions.size(), 1u) << healed[0];
  EXPECT_EQ(actions[0]["container"], "hw-web-1");
  EXPECT_EQ(actions[0]["outcome"], "restarted");
  EXPECT_NE(started_at("hw-web-1"), web_before);
  EXPECT_EQ(started_at("hw-other"), other_before);
}

// list_containers: `all: false` is what runs; each entry says whether this server may change it
// and why not. container_logs: the newest `tail` lines, each with its stream.
TEST_F(McpScope, ListContainersAndTheirLogs) {
  REQUIRE_ENGINE();
  // The engine times each line as its stream's copier reads it: lines of two streams written at
  // once may be logged in either order, so they are written apart.
  run_container("t-ran", {"orch.heal=true"}, "echo one; sleep 0.2; echo two >&2; sleep 0.2; echo three; sleep 3600");
  run_container("t-exited", {}, "exit 0");
  ASSERT_EQ(engine->must({"wait", "t-exited"}), "0");
  ASSERT_TRUE(eventually([&] { return engine->docker({"logs", "t-ran"}).output.find("three") != std::string::npos; }));
  auto r = session({{"list_containers", json::object()},
                    {"list_containers", {{"all", false}}},
                    {"container_logs", {{"container", "t-ran"}, {"tail", 2}}}});
  auto by_name = [](const json& reply) {
    std::map<std::string, json> out;
    for (const auto& c : reply["result"]["structuredContent"]["containers"]) out[c["name"]] = c;
    return out;
  };
  ASSERT_EQ(r[0]["result"]["isError"], false) << r[0];
  auto all = by_name(r[0]);
  ASSERT_TRUE(all.count("t-ran") && all.count("t-exited")) << r[0];
  EXPECT_EQ(all["t-ran"]["state"], "running");
  EXPECT_EQ(all["t-ran"]["may_change"], true);
  EXPECT_FALSE(all["t-ran"].contains("why_not")) << all["t-ran"];
  EXPECT_EQ(all["t-exited"]["state"], "exited");
  EXPECT_EQ(all["t-exited"]["may_change"], false);
  EXPECT_NE(all["t-exited"]["why_not"].get<std::string>().find("outside orch's scope"), std::string::npos) << all["t-exited"];
  EXPECT_EQ(all["t-ran"]["id"].get<std::string>().size(), 12u);
  auto running = by_name(r[1]);
  EXPECT_TRUE(running.count("t-ran")) << r[1];
  EXPECT_FALSE(running.count("t-exited")) << r[1];

  ASSERT_EQ(r[2]["result"]["isError"], false) << r[2];
  EXPECT_EQ(r[2]["result"]["structuredContent"]["container"], "t-ran");
  EXPECT_EQ(r[2]["result"]["structuredContent"]["lines"],
            json::parse(R"([{"stream": "stderr", "text": "two"}, {"stream": "stdout", "text": "three"}])"))
      << r[2];
}

// rollback over MCP: the refusals an agent can act on say which argument to pass (`to`, not the
// CLI's --to); a dry run is answered as one; a replacement that turns unhealthy is an error result
// saying the previous container was restored, and why; each attempt is on the bus, for recent_events.
TEST_F(McpScope, RollbackRefusalsFailuresAndTheirEvents) {
  REQUIRE_ENGINE();
  engine->must({"rm", "-f", "t-src"});
  engine->must({"create", "--name", "t-src", engine->image(), "true"});
  engine->must({"commit", "--change", R"(CMD ["sleep","3600"])", "t-src", "orch-test/mcp-rb:next"});
  engine->must({"rm", "t-src"});
  // Health checks every second: "healthy" or "unhealthy" a second after the start.
  for (const auto& name : {"t-good", "t-sick"}) engine->docker({"rm", "-f", name});
  auto with_health = [&](const std::string& name, const std::string& check) {
    engine->must({"run", "-d", "--network", "none", "--stop-timeout", "1", "--name", name, "--label", "orch.heal=true", "--health-cmd",
                  check, "--health-interval", "1s", "--health-retries", "1", engine->image(), "sleep", "3600"});
    return engine->must({"inspect", "-f", "{{.Id}}", name});
  };
  with_health("t-good", "true");
  const auto sick_id = with_health("t-sick", "false");
  const std::string next = "orch-test/mcp-rb:next";
  auto r = session({{"rollback", {{"service", "t-good"}}},
                    {"rollback", {{"service", "t-good"}, {"to", next}, {"dry_run", true}}},
                    {"rollback", {{"service", "t-good"}, {"to", next}}},
                    {"rollback", {{"service", "t-good"}}},
                    {"rollback", {{"service", "t-sick"}, {"to", next}}},
                    {"recent_events", {{"type", "rollback."}, {"count", 2}}},
                    {"recent_events", {{"type", "heal."}}}},
                   {{"ROLLBACK_HEALTH_TIMEOUT", "30s"}});

  EXPECT_EQ(r[0]["result"]["isError"], true) << r[0];
  EXPECT_EQ(text(r[0]), "no last-known-good image is recorded for 't-good'; pass `to` (an image reference or id) to choose one");

  EXPECT_EQ(r[1]["result"]["isError"], false) << r[1];
  EXPECT_EQ(r[1]["result"]["structuredContent"]["dry_run"], true) << r[1];
  EXPECT_EQ(r[1]["result"]["structuredContent"]["ok"], true) << r[1];

  ASSERT_EQ(r[2]["result"]["isError"], false) << r[2];
  EXPECT_EQ(r[2]["result"]["structuredContent"]["ok"], true) << r[2];
  EXPECT_EQ(engine->must({"inspect", "-f", "{{.Image}} {{.State.Running}}", "t-good"}),
            engine->must({"image", "inspect", "-f", "{{.Id}}", next}) + " true");

  // The replacement carries orch.rollback.from: without `to`, orch does not roll it back.
  EXPECT_EQ(r[3]["result"]["isError"], true) << r[3];
  EXPECT_EQ(text(r[3]), "t-good was made by a rollback; orch does not roll back a rollback: pass `to` (an image) to choose one");

  EXPECT_EQ(r[4]["result"]["isError"], true) << r[4];
  EXPECT_EQ(text(r[4]).rfind("rollback failed, the previous container was restored: the new container is unhealthy", 0), 0u) << r[4];
  EXPECT_EQ(engine->must({"inspect", "-f", "{{.Id}} {{.State.Running}}", "t-sick"}), sick_id + " true");
  EXPECT_EQ(engine->must({"ps", "-aq", "--filter", "ancestor=" + next}), engine->must({"inspect", "-f", "{{.Id}}", "t-good"}).substr(0, 12))
      << "the refused replacement was left";

  // Four rollback events (started and succeeded, started and failed): `count` keeps the newest.
  ASSERT_EQ(r[5]["result"]["isError"], false) << r[5];
  const auto events = r[5]["result"]["structuredContent"]["events"];
  ASSERT_EQ(events.size(), 2u) << r[5];
  EXPECT_EQ(events[0]["type"], "rollback.started");
  EXPECT_EQ(events[1]["type"], "rollback.failed");
  EXPECT_EQ(events[1]["data"]["service"], "t-sick");
  EXPECT_EQ(r[6]["result"]["structuredContent"]["events"], json::array()) << r[6];
}

}  // namespace

}  // namespace mcp_scope_test
