// Which containers MCP's destructive tools may change (issue 15), against a real dockerd and the
// real `orch mcp`: orch's scope (heal-labelled, monitor-only never, configured services), and
// ORCH_MCP_ALLOW matched by service, compose service or container name.
#include <gtest/gtest.h>

#include "mcp/mcp_helpers.hpp"
#include "support/docker_engine.hpp"

// Its own namespace: the unity build compiles this file with the rest of its folder.
namespace mcp_scope_test {

using namespace orch;
using namespace orch::test;
using namespace orch::test::mcp;

namespace {

DockerEngine*& engine = share_engine();

struct McpScope : ::testing::Test {
  const std::vector<std::string> names = {"m-plain", "m-heal", "m-mon", "stack-web-1", "stack-redis-1", "hw-web-1", "hw-other"};
  void TearDown() override {
    if (!engine) return;
    std::vector<std::string> rm = {"rm", "-f"};
    rm.insert(rm.end(), names.begin(), names.end());
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
  // Calls `tool` once per argument set on one `orch mcp`; the replies in the same order.
  std::vector<json> calls(const std::string& tool, const std::vector<json>& arguments, Env extra = {}) {
    Env env = kBase;
    env["DOCKER_HOST"] = engine->host();
    for (auto& [k, v] : extra) env[k] = v;
    std::string input = init_line();
    for (size_t i = 0; i < arguments.size(); ++i) input += call_line(static_cast<int>(10 + i), tool, arguments[i]) + "\n";
    auto replies = raw_stdio(input, env);
    std::vector<json> out;
    for (size_t i = 0; i < arguments.size(); ++i) out.push_back(reply_to(replies, static_cast<int>(10 + i)));
    return out;
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

}  // namespace

}  // namespace mcp_scope_test
