// The official MCP conformance suite (@modelcontextprotocol/conformance, server side) against a real
// `orch serve`, through tests/node/conformance.mjs (which gives the CLI `glob`'s globSync on Node
// older than 22). Only the scenarios that fit orch run: the others call fixed test tools and
// resources (test_error_handling, test://watched-resource, json_schema_2020_12_tool, prompts,
// sampling, elicitation...) that a control plane has no business exposing.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "mcp/mcp_helpers.hpp"
#include "support/orch_server.hpp"
#include "support/require.hpp"

using namespace orch;
using namespace orch::test;

namespace {

const std::string kNodeDir = std::string(ORCH_TESTS_DIR) + "/node";

bool conformance_installed() { return std::filesystem::exists(kNodeDir + "/node_modules/@modelcontextprotocol/conformance/package.json"); }

struct Outcome {
  int passed = -1, total = -1, failed = -1, warnings = -1;
  std::string output;
};

Outcome scenario(const OrchServer& orch, const std::string& name) {
  auto r = run({"node", kNodeDir + "/conformance.mjs", "server", "--url", orch.url("/mcp"), "--scenario", name},
               {{"NO_COLOR", "1"}, {"FORCE_COLOR", "0"}}, std::chrono::seconds(120));
  Outcome o;
  o.output = r.output;
  std::smatch m;
  if (std::regex_search(r.output, m, std::regex(R"(Passed: (\d+)/(\d+), (\d+) failed, (\d+) warnings)")))
    o = {std::stoi(m[1]), std::stoi(m[2]), std::stoi(m[3]), std::stoi(m[4]), r.output};
  return o;
}

TEST(McpConformance, ServerScenariosThatApplyToOrch) {
  ORCH_REQUIRE(conformance_installed()) << "run `npm install` in tests/node";
  // No ORCH_API_TOKEN: /mcp answers loopback only, as a local MCP server the suite expects (its
  // client sends no credentials; dns-rebinding-protection is about exactly this set-up).
  OrchServer orch({{"REDIS_URL", ""}, {"DOCKER_HOST", "unix:///nonexistent/docker.sock"}, {"ORCH_RATE_LIMIT", "0"}});
  for (const std::string name :
       {"server-initialize", "ping", "logging-set-level", "tools-list", "resources-list", "prompts-list", "server-sse-multiple-streams",
        "dns-rebinding-protection"}) {
    auto o = scenario(orch, name);
    EXPECT_GT(o.total, 0) << name << "\n" << o.output;
    EXPECT_EQ(o.failed, 0) << name << "\n" << o.output;
    EXPECT_EQ(o.warnings, 0) << name << "\n" << o.output;
    EXPECT_EQ(o.passed, o.total) << name << "\n" << o.output;
  }
  // server-sse-polling calls its test_reconnection tool: orch answers that unknown tool with a
  // plain JSON error, so the suite has no SSE stream to judge and must find nothing wrong.
  auto sse = scenario(orch, "server-sse-polling");
  EXPECT_EQ(sse.failed, 0) << sse.output;
  EXPECT_EQ(sse.warnings, 0) << sse.output;
}

}  // namespace
