// The MCP Inspector's CLI mode (@modelcontextprotocol/inspector-cli, what
// `npx @modelcontextprotocol/inspector --cli` runs; tests/node/inspector_cli.mjs) lists and calls
// orch's tools over stdio (`orch mcp`) and Streamable HTTP (`orch serve`'s /mcp with its token).
#include <gtest/gtest.h>

#include <filesystem>

#include "mcp/mcp_helpers.hpp"
#include "support/orch_server.hpp"
#include "support/require.hpp"

// Its own namespace: the unity build compiles this file with the rest of its folder.
namespace mcp_inspector_test {

using namespace orch;
using namespace orch::test;
using namespace orch::test::mcp;

namespace {

const std::string kNodeDir = std::string(ORCH_TESTS_DIR) + "/node";
const std::string kToken = "mcp-token-1-0123456789";

// The Inspector prints the result as one JSON document.
json inspector(std::vector<std::string> args) {
  args.insert(args.begin(), {"node", kNodeDir + "/inspector_cli.mjs"});
  TempDir state;
  Env env = kBase;
  env["ORCH_STATE_DIR"] = state.path();
  auto r = run(args, env, std::chrono::seconds(60));
  auto at = r.output.find("{\n");
  auto j = at == std::string::npos ? json() : json::parse(r.output.substr(at), nullptr, false);
  if (j.is_discarded() || j.is_null()) throw std::runtime_error("inspector printed: " + r.output);
  return j;
}

void expect_tools(const json& list) {
  ASSERT_TRUE(list.contains("tools")) << list;
  EXPECT_EQ(list["tools"].size(), 8u);
  EXPECT_EQ(list["tools"][0]["name"], "diagnose");
  EXPECT_EQ(list["tools"][0]["annotations"]["readOnlyHint"], true);
}

TEST(McpInspector, CliListsAndCallsToolsOverStdio) {
  ORCH_REQUIRE(std::filesystem::exists(kNodeDir + "/node_modules/@modelcontextprotocol/inspector-cli/package.json"))
      << "run `npm install` in tests/node";
  expect_tools(inspector({ORCH_BINARY, "mcp", "--method", "tools/list"}));
  auto diag = inspector({ORCH_BINARY, "mcp", "--method", "tools/call", "--tool-name", "diagnose"});
  EXPECT_EQ(diag["isError"], false) << diag;
  EXPECT_EQ(diag["structuredContent"]["exit_code"], 3);  // Docker unreachable, nothing configured: UNKNOWN
  auto logs =
      inspector({ORCH_BINARY, "mcp", "--method", "tools/call", "--tool-name", "container_logs", "--tool-arg", "container=web", "tail=5"});
  EXPECT_EQ(logs["isError"], true) << logs;  // no engine: a tool error the model can read
}

TEST(McpInspector, CliListsAndCallsToolsOverHttp) {
  ORCH_REQUIRE(std::filesystem::exists(kNodeDir + "/node_modules/@modelcontextprotocol/inspector-cli/package.json"))
      << "run `npm install` in tests/node";
  OrchServer orch({{"REDIS_URL", ""}, {"ORCH_API_TOKEN", kToken}, {"DOCKER_HOST", "unix:///nonexistent/docker.sock"}});
  const std::vector<std::string> target = {orch.url("/mcp"), "--transport", "http", "--header", "Authorization: Bearer " + kToken};
  auto with = [&](std::vector<std::string> more) {
    auto args = target;
    args.insert(args.end(), more.begin(), more.end());
    return inspector(args);
  };
  expect_tools(with({"--method", "tools/list"}));
  auto diag = with({"--method", "tools/call", "--tool-name", "diagnose"});
  EXPECT_EQ(diag["isError"], false) << diag;
  auto resources = with({"--method", "resources/list"});
  EXPECT_EQ(resources["resources"][0]["uri"], "orch://status") << resources;
}

}  // namespace

}  // namespace mcp_inspector_test
