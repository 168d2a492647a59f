// The MCP server driven by the official TypeScript SDK client (tests/node/mcp_client.mjs) over
// stdio and Streamable HTTP, plus raw malformed JSON-RPC.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>

#include "core/json.hpp"
#include "mcp/mcp_helpers.hpp"
#include "support/orch_server.hpp"
#include "support/require.hpp"

// Its own namespace: the unity build compiles this file with the rest of its folder.
namespace mcp_test {

using namespace orch;
using namespace orch::test;

namespace {

using namespace orch::test::mcp;
const std::string kNodeDir = std::string(ORCH_TESTS_DIR) + "/node";

bool sdk_installed() { return std::filesystem::exists(kNodeDir + "/node_modules/@modelcontextprotocol/sdk/package.json"); }

json node_client(const std::vector<std::string>& args, Env env = kBase) {
  std::vector<std::string> argv = {"node", kNodeDir + "/mcp_client.mjs"};
  argv.insert(argv.end(), args.begin(), args.end());
  TempDir state;
  env["ORCH_STATE_DIR"] = state.path();
  auto r = run(argv, env, std::chrono::seconds(60));
  auto last = r.output.substr(r.output.rfind('{', r.output.rfind("\"mode\"")));
  auto j = json::parse(last, nullptr, false);
  if (j.is_discarded()) throw std::runtime_error("node client printed: " + r.output);
  return j;
}

#define REQUIRE_SDK() ORCH_REQUIRE(sdk_installed()) << "run `npm install` in tests/node (scripts/test.sh does)"

TEST(McpStdio, ToolsDiagnoseResourcesAndReadOnlyRefusal) {
  REQUIRE_SDK();
  auto j = node_client({"stdio", ORCH_BINARY, "--read-only"});
  ASSERT_TRUE(j["ok"]) << j.dump(2);
  EXPECT_EQ(j["server"]["name"], "orch");
  std::vector<std::string> tools = j["tools"];
  for (const char* t : {"diagnose", "list_containers", "container_logs", "restart_container", "heal", "rollback", "sync_test", "recent_events"})
    EXPECT_NE(std::find(tools.begin(), tools.end(), t), tools.end()) << t;
  EXPECT_TRUE(j["hasOutputSchema"]);
  EXPECT_EQ(j["annotations"]["diagnose"]["readOnlyHint"], true);
  EXPECT_EQ(j["annotations"]["restart_container"]["destructiveHint"], true);
  EXPECT_EQ(j["diagnose"]["isError"], false);
  EXPECT_TRUE(j["diagnose"]["exit_code"].is_number());  // structured content came back
  EXPECT_EQ(j["restart"]["isError"], true);
  EXPECT_NE(j["restart"]["text"].get<std::string>().find("read-only"), std::string::npos);
  EXPECT_EQ(j["resources"], json::array({"orch://status", "orch://events/recent"}));
  EXPECT_TRUE(j["readOk"]);
}

// Item 7 of issue 15 through the official client: argument mistakes are tool results with a
// message a model can act on; an unknown tool stays -32602; schemas carry enums and ranges; dry
// runs pass read-only mode; result text is compact; orch://status is the documented document;
// an unknown resource is -32002 with its uri.
void expect_usable(const json& j, bool read_only) {
  EXPECT_EQ(j["argumentError"]["isError"], true) << j.dump(2);
  EXPECT_EQ(j["argumentError"]["text"], "argument `tail` must be an integer between 1 and 1000; got \"x\"");
  EXPECT_EQ(j["missingArgument"]["isError"], true);
  EXPECT_NE(j["missingArgument"]["text"].get<std::string>().find("missing required argument `container`"), std::string::npos)
      << j["missingArgument"];
  EXPECT_EQ(j["unknownTool"], -32602);
  EXPECT_EQ(j["schemas"]["diagnose"]["properties"]["actions"]["items"]["enum"], json::array({"health", "logs", "metrics"}));
  EXPECT_EQ(j["schemas"]["container_logs"]["properties"]["tail"]["minimum"], 1);
  EXPECT_EQ(j["schemas"]["container_logs"]["properties"]["tail"]["maximum"], 1000);
  EXPECT_EQ(j["schemas"]["recent_events"]["properties"]["count"]["maximum"], 500);
  EXPECT_TRUE(j["schemas"]["sync_test"]["properties"]["timeout"].contains("pattern"));
  EXPECT_TRUE(j["diagnose"]["compactText"]);
  for (const auto& dry : j["dryRuns"]) {
    // Docker is unreachable here, so the dry runs fail, but for that reason, not read-only mode.
    EXPECT_EQ(dry["text"].get<std::string>().find("read-only"), std::string::npos) << dry;
  }
  EXPECT_EQ(j["unknownResource"]["code"], -32002) << j["unknownResource"];
  EXPECT_EQ(j["unknownResource"]["data"]["uri"], "orch://nope");
  (void)read_only;
}

TEST(McpStdio, ArgumentErrorsAreToolResultsAndStatusIsTheDiagnoseReport) {
  REQUIRE_SDK();
  auto j = node_client({"stdio", ORCH_BINARY, "--read-only"});
  ASSERT_TRUE(j["ok"]) << j.dump(2);
  expect_usable(j, true);
  // Under orch mcp, orch://status is a health-only diagnose report.
  std::set<std::string> keys = j["statusKeys"];
  for (const char* k : {"status", "exit_code", "services", "containers"}) EXPECT_TRUE(keys.count(k)) << k << " " << j["statusKeys"];
}

TEST(McpStdio, ResourceUpdateNotification) {
  REQUIRE_SDK();
  auto j = node_client({"stdio", ORCH_BINARY});
  ASSERT_TRUE(j["ok"]) << j.dump(2);
  ASSERT_FALSE(j["updates"].empty()) << j.dump(2);
  EXPECT_EQ(j["updates"][0], "orch://events/recent");
  EXPECT_GE(j["recentEvents"].get<int>(), 1);
}

TEST(McpStdio, MalformedJsonRpcGetsErrorsAndTheServerKeepsServing) {
  const std::string input =
      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2024-11-05\",\"capabilities\":{},"
      "\"clientInfo\":{\"name\":\"raw\",\"version\":\"0\"}}}\n"
      "this is not json\n"
      "{\"jsonrpc\":\"2.0\",\"id\":2}\n"
      "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"no/such\"}\n"
      "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{\"name\":\"no_such_tool\",\"arguments\":{}}}\n"
      "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\"}\n";
  TempDir state;
  Env env = kBase;
  env["ORCH_STATE_DIR"] = state.path();
  auto r = run({ORCH_BINARY, "mcp"}, env, std::chrono::seconds(30), input);
  ASSERT_EQ(r.code, 0) << r.output;
  std::map<std::string, int> codes;
  bool pong = false, negotiated_old = false;
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);) {
    auto j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;  // stderr lines
    if (j.contains("error")) codes[j["id"].dump()] = j["error"]["code"];
    if (j["id"] == 5 && j.contains("result")) pong = true;
    if (j["id"] == 1) negotiated_old = j["result"]["protocolVersion"] == "2024-11-05";
  }
  EXPECT_EQ(codes["null"], -32700);
  EXPECT_EQ(codes["2"], -32600);
  EXPECT_EQ(codes["3"], -32601);
  EXPECT_EQ(codes["4"], -32602);
  EXPECT_TRUE(pong);
  EXPECT_TRUE(negotiated_old);
}

TEST(McpStdio, LoggingLevelsAndMessages) {
  auto replies = raw_stdio(init_line("2025-06-18") +
                           R"({"jsonrpc":"2.0","id":2,"method":"logging/setLevel","params":{"level":"loud"}})" "\n"
                           R"({"jsonrpc":"2.0","id":3,"method":"logging/setLevel","params":{"level":"debug"}})" "\n"
                           R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"container_logs","arguments":{"container":"gone"}}})" "\n");
  std::map<int, json> by_id;
  std::vector<json> messages;
  for (const auto& j : replies) {
    if (j.is_object() && j.contains("id") && j["id"].is_number()) by_id[j["id"]] = j;
    if (j.is_object() && j.value("method", "") == "notifications/message") messages.push_back(j["params"]);
  }
  EXPECT_EQ(by_id[2]["error"]["code"], -32602);
  EXPECT_EQ(by_id[3]["result"], json::object());
  EXPECT_EQ(by_id[4]["result"]["isError"], true);  // Docker is unreachable: a tool failure, not a protocol error
  std::set<std::string> levels;
  for (const auto& m : messages) levels.insert(m["level"].get<std::string>());
  EXPECT_TRUE(levels.count("info")) << json(messages).dump();
  EXPECT_TRUE(levels.count("error")) << json(messages).dump();
}

// sync_test changes no container, so no container name allows it: a restricting list must name it.
TEST(McpStdio, AllowListWithoutSyncTestRefusesIt) {
  auto call_sync_test = [](const Env& env) {
    auto replies = raw_stdio(init_line("2025-06-18") +
                                 R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"sync_test","arguments":{"timeout":"1s"}}})" "\n",
                             env);
    for (const auto& j : replies)
      if (j.is_object() && j.value("id", json()) == 2) return j;
    ADD_FAILURE() << "no answer to the call: " << json(replies).dump();
    return json::object();
  };
  Env env = kBase;
  env["ORCH_MCP_ALLOW"] = "web,rag_service";
  json refused = call_sync_test(env);
  ASSERT_TRUE(refused.contains("result")) << refused.dump();
  EXPECT_EQ(refused["result"]["isError"], true);
  EXPECT_NE(refused["result"]["content"][0]["text"].get<std::string>().find("does not name sync_test"), std::string::npos) << refused.dump();
  // Named, it runs (and fails its stages here: nothing answers).
  env["ORCH_MCP_ALLOW"] = "web,sync_test";
  json ran = call_sync_test(env);
  ASSERT_TRUE(ran.contains("result")) << ran.dump();
  EXPECT_EQ(ran["result"]["content"][0]["text"].get<std::string>().find("ORCH_MCP_ALLOW"), std::string::npos) << ran.dump();
}

// Arguments the schema lets through but the tool cannot use are error results that say what
// would do: a service diagnose does not know (with the configured ones), a sync_test deadline
// outside 1s..1h.
TEST(McpStdio, DiagnoseOfAnUnknownServiceAndASyncTestDeadlineOutOfRangeAreRefused) {
  TempDir dir;
  write_file(dir.file("orch.yaml"), "services:\n  web:\n    url: http://127.0.0.1:9\n  rag:\n    url: http://127.0.0.1:9\n");
  auto ask = [](const Env& env) {
    auto replies =
        raw_stdio(init_line() + call_line(2, "diagnose", {{"services", {"web", "nope"}}}) + "\n" +
                      call_line(3, "sync_test", {{"timeout", "0.5s"}}) + "\n" + call_line(4, "sync_test", {{"timeout", "2h"}}) + "\n",
                  env);
    return std::vector<json>{reply_to(replies, 2), reply_to(replies, 3), reply_to(replies, 4)};
  };
  auto text = [](const json& reply) { return reply["result"]["content"][0]["text"].get<std::string>(); };
  Env configured = kBase;
  configured["ORCH_CONFIG"] = dir.file("orch.yaml");
  auto r = ask(configured);
  for (const auto& reply : r) ASSERT_EQ(reply["result"]["isError"], true) << reply;
  EXPECT_EQ(text(r[0]), "argument `services` item 1: no configured service is called \"nope\"; configured: web,rag");
  EXPECT_EQ(text(r[1]), "argument `timeout` must be between 1s and 1h; got \"0.5s\"");
  EXPECT_EQ(text(r[2]), "argument `timeout` must be between 1s and 1h; got \"2h\"");
  auto bare = ask(kBase);
  EXPECT_EQ(text(bare[0]), "argument `services` item 0: no configured service is called \"web\"; configured: none") << bare[0];
}

TEST(McpStdio, BatchesFollowTheNegotiatedVersion) {
  const std::string batch = R"([{"jsonrpc":"2.0","id":2,"method":"ping"},{"jsonrpc":"2.0","id":3,"method":"ping"}])" "\n";
  const std::string after = R"({"jsonrpc":"2.0","id":9,"method":"ping"})" "\n";
  // 2025-06-18 removed JSON-RPC batching: invalid request, and the server goes on.
  auto newest = raw_stdio(init_line("2025-06-18") + batch + after);
  ASSERT_EQ(newest.size(), 3u);
  EXPECT_EQ(newest[1]["error"]["code"], -32600);
  EXPECT_EQ(newest[2]["id"], 9);
  // 2025-03-26 allows them: one array with both answers.
  auto older = raw_stdio(init_line("2025-03-26") + batch + after);
  ASSERT_EQ(older.size(), 3u);
  ASSERT_TRUE(older[1].is_array());
  EXPECT_EQ(older[1].size(), 2u);
  EXPECT_EQ(older[1][0]["result"], json::object());
  EXPECT_EQ(older[2]["id"], 9);
}

TEST(McpHttp, SdkClientOverStreamableHttp) {
  REQUIRE_SDK();
  OrchServer orch(Env{{"REDIS_URL", ""}, {"ORCH_API_TOKEN", "mcp-token-1-0123456789"}, {"TRUSTED_WEBHOOK_SECRET", "wh-secret-1-0123456789"},
                      {"DOCKER_HOST", "unix:///nonexistent/docker.sock"}, {"ORCH_MCP_READ_ONLY", "true"}});
  auto j = node_client({"http", orch.url(), "mcp-token-1-0123456789", "wh-secret-1-0123456789"});
  ASSERT_TRUE(j["ok"]) << j.dump(2) << orch.log();
  expect_usable(j, true);
  EXPECT_EQ(j["protocol"], "2025-11-25");  // the v1 SDK's newest revision, which orch now speaks
  // Under orch serve, orch://status is the /health document.
  std::set<std::string> keys = j["statusKeys"];
  for (const char* k : {"status", "components", "version", "uptime_s"}) EXPECT_TRUE(keys.count(k)) << k << " " << j["statusKeys"];
  EXPECT_EQ(j["restart"]["isError"], true);
  EXPECT_EQ(j["webhookStatus"], 202);
  ASSERT_FALSE(j["updates"].empty()) << j.dump(2);
  EXPECT_EQ(j["updates"][0], "orch://events/recent");
  EXPECT_GE(j["recentEvents"].get<int>(), 1);
}

// docs/mcp.md: an origin listed in ORCH_MCP_ORIGINS is let in; one not listed is still 403.
TEST(McpHttp, OriginsListedInOrchMcpOriginsAreAllowed) {
  OrchServer orch(Env{{"REDIS_URL", ""},
                      {"ORCH_API_TOKEN", "mcp-token-1-0123456789"},
                      {"DOCKER_HOST", "unix:///nonexistent/docker.sock"},
                      {"ORCH_MCP_ORIGINS", "https://agent.example.com,https://other.example.com:8443"}});
  const std::string init =
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}})";
  const std::pair<std::string, std::string> auth{"Authorization", "Bearer mcp-token-1-0123456789"};
  EXPECT_EQ(orch.post("/mcp", init, {auth, {"Origin", "https://agent.example.com"}}).status, 200);
  EXPECT_EQ(orch.post("/mcp", init, {auth, {"Origin", "https://other.example.com:8443"}}).status, 200);
  auto refused = orch.post("/mcp", init, {auth, {"Origin", "https://evil.example"}});
  EXPECT_EQ(refused.status, 403);
  EXPECT_NE(refused.body.find("forbidden_origin"), std::string::npos) << refused.body;
}

TEST(McpHttp, TransportRules) {
  OrchServer orch(Env{{"REDIS_URL", ""}, {"ORCH_API_TOKEN", "mcp-token-1-0123456789"}, {"DOCKER_HOST", "unix:///nonexistent/docker.sock"}});
  const std::string init = R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}})";
  const std::pair<std::string, std::string> auth{"Authorization", "Bearer mcp-token-1-0123456789"};
  EXPECT_EQ(orch.post("/mcp", init).status, 401);
  EXPECT_EQ(orch.post("/mcp", init, {auth, {"Origin", "https://evil.example"}}).status, 403);
  EXPECT_EQ(orch.post("/mcp", init, {auth, {"MCP-Protocol-Version", "1999-01-01"}}).status, 400);
  auto bad = orch.post("/mcp", "{nope", {auth});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json::parse(bad.body)["error"]["code"], -32700);
  EXPECT_EQ(orch.post("/mcp", init, {auth, {"Origin", "https://agent.example.com"}}).status, 403);  // not listed here
  auto ok = orch.post("/mcp", init, {auth, {"Origin", "http://localhost:5173"}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto sid = ok.header("mcp-session-id");
  ASSERT_FALSE(sid.empty());
  EXPECT_EQ(json::parse(ok.body)["result"]["protocolVersion"], "2025-06-18");
  const std::string ping = R"({"jsonrpc":"2.0","id":2,"method":"ping"})";
  EXPECT_EQ(orch.post("/mcp", ping, {auth}).status, 400);                                  // no session
  EXPECT_EQ(orch.post("/mcp", ping, {auth, {"Mcp-Session-Id", "unknown"}}).status, 404);  // unknown session
  auto pong = orch.post("/mcp", ping, {auth, {"Mcp-Session-Id", sid}, {"MCP-Protocol-Version", "2025-06-18"}});
  EXPECT_EQ(pong.status, 200);
  EXPECT_EQ(json::parse(pong.body)["result"], json::object());
  EXPECT_EQ(orch.post("/mcp", R"({"jsonrpc":"2.0","method":"notifications/initialized"})", {auth, {"Mcp-Session-Id", sid}}).status, 202);
  // A tool call with a progress token, from a client that accepts SSE: progress events, then the response.
  const std::string call =
      R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"diagnose","arguments":{},"_meta":{"progressToken":"p1"}}})";
  auto sse = orch.post("/mcp", call, {auth, {"Mcp-Session-Id", sid}, {"Accept", "application/json, text/event-stream"}});
  ASSERT_EQ(sse.status, 200) << sse.body;
  EXPECT_NE(sse.header("content-type").find("text/event-stream"), std::string::npos);
  std::vector<json> events;
  std::istringstream frames(sse.body);
  int priming = 0;  // SEP-1699: an event with an id and empty data comes first
  for (std::string line; std::getline(frames, line);) {
    if (line == "data: " && events.empty()) ++priming;
    else if (line.rfind("data: ", 0) == 0) events.push_back(json::parse(line.substr(6)));
  }
  EXPECT_EQ(priming, 1) << sse.body;
  ASSERT_GE(events.size(), 2u) << sse.body;
  EXPECT_EQ(events.front()["method"], "notifications/progress");
  EXPECT_EQ(events.front()["params"]["progressToken"], "p1");
  EXPECT_EQ(events.back()["id"], 7);
  EXPECT_TRUE(events.back()["result"]["structuredContent"].contains("exit_code")) << events.back().dump();
  // Without a progress token the same call is plain JSON.
  auto plain = orch.post("/mcp", R"({"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"recent_events","arguments":{}}})",
                         {auth, {"Mcp-Session-Id", sid}, {"Accept", "application/json, text/event-stream"}});
  EXPECT_EQ(json::parse(plain.body)["id"], 8);
  http::Request del;
  del.method = "DELETE";
  del.url = orch.url("/mcp");
  del.headers = {auth, {"Mcp-Session-Id", sid}};
  EXPECT_EQ(http::send(del).status, 204);
  EXPECT_EQ(orch.post("/mcp", ping, {auth, {"Mcp-Session-Id", sid}}).status, 404);
}

}  // namespace

}  // namespace mcp_test
