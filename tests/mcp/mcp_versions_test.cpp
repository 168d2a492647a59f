// Issue 18: the five MCP revisions on both transports. 2026-07-28 is stateless (server/discover,
// the version in each request's _meta, no session); 2025-11-25 and older negotiate with
// initialize. Driven raw (what each revision puts on the wire) and by the official SDK v2 client
// in its three negotiation modes (tests/node/mcp_v2_client.mjs).
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "mcp/mcp_helpers.hpp"
#include "support/http_connection.hpp"
#include "support/orch_server.hpp"
#include "support/require.hpp"

// Its own namespace: the unity build compiles this file with the rest of its folder.
namespace mcp_versions_test {

using namespace orch;
using namespace orch::test;
using namespace orch::test::mcp;

namespace {

const std::string kModern = "2026-07-28";
const std::string kToken = "mcp-token-1-0123456789";
const std::string kNodeDir = std::string(ORCH_TESTS_DIR) + "/node";

json meta(const std::string& version = kModern, json extra = json::object()) {
  json m = {{"io.modelcontextprotocol/protocolVersion", version},
            {"io.modelcontextprotocol/clientInfo", {{"name", "raw"}, {"version", "0"}}},
            {"io.modelcontextprotocol/clientCapabilities", json::object()}};
  m.update(extra);
  return m;
}

// A modern request: params with the _meta envelope.
json modern(int id, const std::string& method, json params = json::object(), const std::string& version = kModern) {
  params["_meta"] = meta(version, params.value("_meta", json::object()));
  return {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}};
}

std::string lines(const std::vector<json>& messages) {
  std::string out;
  for (const auto& m : messages) out += to_text(m) + "\n";
  return out;
}

Env server_env() {
  return {{"REDIS_URL", ""}, {"ORCH_API_TOKEN", kToken}, {"DOCKER_HOST", "unix:///nonexistent/docker.sock"}, {"ORCH_RATE_LIMIT", "0"}};
}

// The headers a 2026-07-28 client sends with `request`.
std::map<std::string, std::string> modern_headers(const json& request, const std::string& version = kModern) {
  std::map<std::string, std::string> h{{"Authorization", "Bearer " + kToken},
                                       {"Content-Type", "application/json"},
                                       {"Accept", "application/json, text/event-stream"},
                                       {"MCP-Protocol-Version", version},
                                       {"Mcp-Method", request["method"]}};
  const auto& p = request["params"];
  if (p.contains("name")) h["Mcp-Name"] = p["name"];
  if (p.contains("uri")) h["Mcp-Name"] = p["uri"];
  return h;
}

TEST(McpVersions, StdioServerDiscoverAndStatelessRequests) {
  auto replies =
      raw_stdio(lines({modern(1, "server/discover"), modern(2, "tools/list"), modern(3, "resources/read", {{"uri", "orch://nope"}}),
                       modern(4, "tools/call", {{"name", "container_logs"}, {"arguments", {{"container", "x"}, {"tail", "x"}}}}),
                       modern(5, "ping", json::object(), "1900-01-01"), modern(6, "logging/setLevel", {{"level", "debug"}}),
                       modern(7, "resources/read", {{"uri", "orch://status"}})}));
  auto discover = reply_to(replies, 1);
  ASSERT_TRUE(discover.contains("result")) << discover;
  EXPECT_EQ(discover["result"]["supportedVersions"], json::array({"2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}));
  EXPECT_EQ(discover["result"]["resultType"], "complete");
  EXPECT_EQ(discover["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "orch");
  EXPECT_TRUE(discover["result"]["capabilities"].contains("tools"));
  EXPECT_EQ(discover["result"]["capabilities"]["resources"]["subscribe"], true);  // through subscriptions/listen

  auto tools = reply_to(replies, 2);
  ASSERT_TRUE(tools.contains("result")) << tools;
  EXPECT_EQ(tools["result"]["resultType"], "complete");
  EXPECT_EQ(tools["result"]["cacheScope"], "private");
  EXPECT_TRUE(tools["result"]["ttlMs"].is_number_integer());
  EXPECT_TRUE(tools["result"]["tools"][0].contains("outputSchema"));

  // 2026-07-28 reports an unknown resource as -32602, no longer -32002.
  EXPECT_EQ(reply_to(replies, 3)["error"]["code"], -32602) << reply_to(replies, 3);
  auto bad_args = reply_to(replies, 4);
  EXPECT_EQ(bad_args["result"]["isError"], true) << bad_args;
  EXPECT_EQ(bad_args["result"]["resultType"], "complete");

  auto unsupported = reply_to(replies, 5);
  EXPECT_EQ(unsupported["error"]["code"], -32022) << unsupported;
  EXPECT_EQ(unsupported["error"]["data"]["requested"], "1900-01-01");
  EXPECT_EQ(unsupported["error"]["data"]["supported"][0], kModern);
  // Removed in 2026-07-28: the level travels in each request's _meta.
  EXPECT_EQ(reply_to(replies, 6)["error"]["code"], -32601) << reply_to(replies, 6);
  auto read = reply_to(replies, 7);
  EXPECT_EQ(read["result"]["ttlMs"], 0) << read;
}

TEST(McpVersions, StdioInitializeNegotiatesEveryLegacyRevision) {
  for (const std::string v : {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}) {
    auto replies = raw_stdio(init_line(v) + R"({"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"orch://nope"}})"
                                            "\n");
    auto init = reply_to(replies, 1);
    EXPECT_EQ(init["result"]["protocolVersion"], v) << init;
    EXPECT_FALSE(init["result"].contains("resultType"));
    EXPECT_EQ(reply_to(replies, 2)["error"]["code"], -32002) << v;
  }
  // initialize is the legacy handshake: a client asking for a modern or unknown revision is
  // offered orch's newest legacy one.
  for (const std::string v : {"2026-07-28", "2099-01-01"}) {
    auto init = reply_to(raw_stdio(init_line(v)), 1);
    EXPECT_EQ(init["result"]["protocolVersion"], "2025-11-25") << v;
  }
}

TEST(McpVersions, StdioModernLogsOnlyWhenTheRequestAsksForALevel) {
  auto call = [](int id, json extra_meta) {
    return modern(id, "tools/call",
                  {{"name", "container_logs"}, {"arguments", {{"container", "x"}, {"tail", "x"}}}, {"_meta", extra_meta}});
  };
  auto replies = raw_stdio(lines({call(1, json::object()), call(2, {{"io.modelcontextprotocol/logLevel", "debug"}})}));
  int messages = 0;
  for (const auto& r : replies)
    if (r.value("method", "") == "notifications/message") ++messages;
  EXPECT_EQ(messages, 1);  // the refusal of call 2; call 1 asked for no level
}

TEST(McpVersions, HttpModernIsStatelessAndChecksHeaders) {
  OrchServer orch(server_env());
  HttpConnection c(orch.port());
  auto discover = modern(1, "server/discover");
  auto r = c.request("POST", "/mcp", modern_headers(discover), to_text(discover));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("mcp-session-id"), "");  // 2026-07-28 has no sessions
  auto body = json::parse(r.body);
  EXPECT_EQ(body["result"]["supportedVersions"][0], kModern);

  auto call = modern(2, "tools/call", {{"name", "container_logs"}, {"arguments", {{"container", "x"}, {"tail", "x"}}}});
  r = c.request("POST", "/mcp", modern_headers(call), to_text(call));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["result"]["isError"], true);

  // Headers that disagree with the body, or are missing: 400 HeaderMismatch.
  auto h = modern_headers(call);
  h["Mcp-Name"] = "diagnose";
  r = c.request("POST", "/mcp", h, to_text(call));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], -32020) << r.body;
  EXPECT_EQ(json::parse(r.body)["id"], 2);
  h = modern_headers(call);
  h["Mcp-Name"] = "=?base64?Y29udGFpbmVyX2xvZ3M=?=";  // "container_logs", encoded
  EXPECT_EQ(c.request("POST", "/mcp", h, to_text(call)).status, 200);
  h = modern_headers(call);
  h.erase("Mcp-Method");
  EXPECT_EQ(c.request("POST", "/mcp", h, to_text(call)).status, 400);
  h = modern_headers(call);
  h.erase("MCP-Protocol-Version");
  r = c.request("POST", "/mcp", h, to_text(call));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], -32020) << r.body;

  // A version orch does not speak, in the header or the body: 400 with the versions it does.
  auto old = modern(3, "tools/list", json::object(), "1900-01-01");
  r = c.request("POST", "/mcp", modern_headers(old, "1900-01-01"), to_text(old));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], -32022) << r.body;
  EXPECT_EQ(json::parse(r.body)["error"]["data"]["supported"][0], kModern);
  // A call with a progressToken is answered as an SSE stream: its progress, then the result.
  auto progress = modern(5, "tools/call", {{"name", "diagnose"}, {"arguments", json::object()}, {"_meta", {{"progressToken", "p5"}}}});
  r = c.request("POST", "/mcp", modern_headers(progress), to_text(progress));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.header("content-type").find("text/event-stream"), std::string::npos);
  EXPECT_EQ(r.header("x-accel-buffering"), "no");
  EXPECT_EQ(r.header("mcp-session-id"), "");
  EXPECT_NE(r.body.find(R"("progressToken":"p5")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("resultType":"complete")"), std::string::npos) << r.body;
  // An unknown method is 404 with -32601 (a legacy HTTP+SSE server's 404 has no such body).
  auto nope = modern(4, "no/such");
  r = c.request("POST", "/mcp", modern_headers(nope), to_text(nope));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], -32601) << r.body;
}

TEST(McpVersions, HttpLegacyInitializeStillOpensSessions) {
  OrchServer orch(server_env());
  HttpConnection c(orch.port());
  std::map<std::string, std::string> h{
      {"Authorization", "Bearer " + kToken}, {"Content-Type", "application/json"}, {"Accept", "application/json, text/event-stream"}};
  for (const std::string v : {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}) {
    auto init = init_line(v);
    auto r = c.request("POST", "/mcp", h, init.substr(0, init.find('\n')));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.header("mcp-session-id"), "");
    EXPECT_EQ(json::parse(r.body)["result"]["protocolVersion"], v);
    auto session = h;
    session["Mcp-Session-Id"] = r.header("mcp-session-id");
    if (v >= "2025-06-18") session["MCP-Protocol-Version"] = v;
    r = c.request("POST", "/mcp", session, R"({"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"orch://nope"}})");
    EXPECT_EQ(json::parse(r.body)["error"]["code"], -32002) << v << " " << r.body;
    // Another supported version than the one negotiated is served by the negotiated one: the
    // official conformance suite itself sends 2025-03-26 on 2025-11-25 sessions.
    session["MCP-Protocol-Version"] = v == "2025-06-18" ? "2025-11-25" : "2025-06-18";
    r = c.request("POST", "/mcp", session, R"({"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"orch://nope"}})");
    EXPECT_EQ(r.status, 200) << v << " " << r.body;
    EXPECT_EQ(json::parse(r.body)["error"]["code"], -32002) << r.body;
  }
  // An unknown MCP-Protocol-Version is a JSON-RPC error a client can act on, not orch's own shape.
  auto with_bad = h;
  with_bad["MCP-Protocol-Version"] = "1900-01-01";
  auto r = c.request("POST", "/mcp", with_bad, R"({"jsonrpc":"2.0","id":7,"method":"ping"})");
  EXPECT_EQ(r.status, 400);
  auto body = json::parse(r.body);
  EXPECT_EQ(body["error"]["code"], -32022) << r.body;
  EXPECT_EQ(body["id"], 7);
}

// 2026-07-28's subscriptions/listen over stdio: acknowledged first with what orch honours, its
// updates carry its id, a cancelled listen hears nothing more and gets no result, and the ones
// still open when stdin ends get their (empty) result: the graceful end.
TEST(McpListen, StdioAcknowledgesFollowsCancelsAndEndsGracefully) {
  auto listen = [](const std::string& id, json filter) {
    return json{
        {"jsonrpc", "2.0"}, {"id", id}, {"method", "subscriptions/listen"}, {"params", {{"_meta", meta()}, {"notifications", filter}}}};
  };
  const json both = {{"resourceSubscriptions", {"orch://status", "orch://events/recent", "orch://nope"}}, {"toolsListChanged", true}};
  const json cancel_l2 = {{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", {{"requestId", "l2"}}}};
  // A sync_test that cannot reach orch fails fast, and publishes on the bus as it does.
  auto sync = modern(9, "tools/call", {{"name", "sync_test"}, {"arguments", {{"timeout", "1s"}}}});
  auto replies = raw_stdio(lines({listen("l1", both), listen("l2", both), cancel_l2, listen("l1", both),
                                  listen("bad", {{"resourceSubscriptions", "orch://status"}}), listen("bad2", json::array()), sync}));
  std::vector<json> acks, updates;
  for (const auto& r : replies) {
    if (r.value("method", "") == "notifications/subscriptions/acknowledged") acks.push_back(r);
    if (r.value("method", "") == "notifications/resources/updated") updates.push_back(r);
  }
  ASSERT_EQ(acks.size(), 2u) << lines(replies);
  EXPECT_EQ(acks[0]["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], "l1");
  // Only the resources orch has; its lists never change, so no list-changed type is honoured.
  EXPECT_EQ(acks[0]["params"]["notifications"], json({{"resourceSubscriptions", {"orch://events/recent", "orch://status"}}}));
  // The acknowledgement is the first thing the listen sends.
  EXPECT_LT(std::find(replies.begin(), replies.end(), acks[0]) - replies.begin(),
            updates.empty() ? 0 : std::find(replies.begin(), replies.end(), updates[0]) - replies.begin());
  ASSERT_FALSE(updates.empty()) << lines(replies);
  for (const auto& u : updates) EXPECT_EQ(u["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], "l1") << u;
  // A second listen under an open one's id, and filters of the wrong shape: -32602.
  int duplicate = 0;
  for (const auto& r : replies)
    if (r.value("id", json()) == "l1" && r.contains("error")) duplicate = r["error"]["code"];
  EXPECT_EQ(duplicate, -32602) << lines(replies);
  EXPECT_EQ(reply_to(replies, "bad")["error"]["code"], -32602) << reply_to(replies, "bad");
  EXPECT_EQ(reply_to(replies, "bad2")["error"]["code"], -32602) << reply_to(replies, "bad2");
  // stdin ended: l1 gets its result (naming it), the cancelled l2 nothing.
  json end;
  for (const auto& r : replies)
    if (r.value("id", json()) == "l1" && r.contains("result")) end = r;
  ASSERT_TRUE(end.is_object()) << lines(replies);
  EXPECT_EQ(end["result"]["_meta"]["io.modelcontextprotocol/subscriptionId"], "l1");
  EXPECT_EQ(end["result"]["resultType"], "complete");
  EXPECT_TRUE(reply_to(replies, "l2").is_null()) << reply_to(replies, "l2");
}

// A legacy session keeps resources/subscribe; subscriptions/listen is not part of its revision.
TEST(McpListen, LegacySessionsAreToldToSubscribe) {
  auto replies = raw_stdio(
      init_line("2025-11-25") +
      R"({"jsonrpc":"2.0","id":2,"method":"subscriptions/listen","params":{"notifications":{"resourceSubscriptions":["orch://status"]}}})"
      "\n");
  auto r = reply_to(replies, 2);
  EXPECT_EQ(r["error"]["code"], -32601) << r;
  EXPECT_NE(r["error"]["message"].get<std::string>().find("resources/subscribe"), std::string::npos) << r;
}

// Over HTTP a listen is a POST answered by an open event stream: acknowledged, fed, capped by
// ORCH_MCP_MAX_SESSIONS, and when orch stops it ends with its result before the stream closes.
TEST(McpListen, HttpStreamIsCappedAndEndsGracefullyWhenOrchStops) {
  auto env = server_env();
  env["ORCH_MCP_MAX_SESSIONS"] = "1";
  env["TRUSTED_WEBHOOK_SECRET"] = "wh-secret-1-0123456789";
  OrchServer orch(env);
  const json listen = {{"jsonrpc", "2.0"},
                       {"id", "listen:1"},
                       {"method", "subscriptions/listen"},
                       {"params", {{"_meta", meta()}, {"notifications", {{"resourceSubscriptions", {"orch://events/recent"}}}}}}};
  auto h = modern_headers(listen);
  HttpConnection stream(orch.port());
  ASSERT_TRUE(stream.send_request("POST", "/mcp", h, to_text(listen)));
  auto head = stream.read_head();
  ASSERT_EQ(head.status, 200);
  EXPECT_NE(head.header("content-type").find("text/event-stream"), std::string::npos);
  std::string seen;
  for (int i = 0; i < 50 && seen.find("subscriptions/acknowledged") == std::string::npos; ++i)
    seen += stream.read_raw(std::chrono::milliseconds(100));
  EXPECT_NE(seen.find(R"("io.modelcontextprotocol/subscriptionId":"listen:1")"), std::string::npos) << seen;
  EXPECT_EQ(metric(orch, "orch_mcp_listens"), 1);

  // The cap: one more is refused before any acknowledgement, with a code a client may retry on.
  HttpConnection other(orch.port());
  auto busy = other.request("POST", "/mcp", h, to_text(listen));
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(json::parse(busy.body)["error"]["code"], -32003) << busy.body;
  // A client that cannot take an event stream is told so.
  auto json_only = h;
  json_only["Accept"] = "application/json";
  EXPECT_EQ(other.request("POST", "/mcp", json_only, to_text(listen)).status, 406);

  auto webhook =
      orch.post("/webhook/builder",
                R"({"modelName":"page","operation":"publish","newValue":{"id":"l1","name":"x","lastUpdated":5,"data":{"url":"/x"}}})",
                {{"x-builder-secret", "wh-secret-1-0123456789"}, {"Content-Type", "application/json"}});
  EXPECT_EQ(webhook.status, 202);
  for (int i = 0; i < 50 && seen.find("resources/updated") == std::string::npos; ++i)
    seen += stream.read_raw(std::chrono::milliseconds(100));
  EXPECT_NE(seen.find(R"("uri":"orch://events/recent")"), std::string::npos) << seen;

  EXPECT_EQ(orch.stop(), 0);
  seen += stream.read_raw(std::chrono::milliseconds(1000));
  const auto result = seen.find(R"({"id":"listen:1","jsonrpc":"2.0","result":)");
  ASSERT_NE(result, std::string::npos) << seen;
  EXPECT_NE(seen.find(R"("resultType":"complete")", result), std::string::npos) << seen;
}

// The official SDK v2 client (@modelcontextprotocol/client) in each negotiation mode.
bool v2_installed() { return std::filesystem::exists(kNodeDir + "/node_modules/@modelcontextprotocol/client/package.json"); }

json v2_client(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"node", kNodeDir + "/mcp_v2_client.mjs"};
  argv.insert(argv.end(), args.begin(), args.end());
  TempDir state;
  Env env = kBase;
  env["ORCH_STATE_DIR"] = state.path();
  auto r = run(argv, env, std::chrono::seconds(60));
  auto at = r.output.rfind("{\"negotiation\"");
  auto j = at == std::string::npos ? json() : json::parse(r.output.substr(at), nullptr, false);
  if (j.is_discarded() || j.is_null()) throw std::runtime_error("v2 client printed: " + r.output);
  return j;
}

void expect_works(const json& j, const std::string& era, const std::string& protocol) {
  ASSERT_TRUE(j["ok"]) << j.dump(2);
  EXPECT_EQ(j["era"], era) << j.dump(2);
  EXPECT_EQ(j["protocol"], protocol);
  EXPECT_EQ(j["server"]["name"], "orch");
  EXPECT_EQ(j["tools"].size(), 8u);
  EXPECT_EQ(j["titles"]["diagnose"], "Diagnose the stack");
  EXPECT_TRUE(j["diagnose"]["exit_code"].is_number()) << j["diagnose"];
  if (j["mode"] == "http") {
    EXPECT_EQ(j["progress"]["isError"], false) << j["progress"];
    EXPECT_EQ(j["progress"]["messages"], json::array({"probing services and containers", "done"})) << j["progress"];
  }
  EXPECT_EQ(j["argumentError"]["isError"], true);
  EXPECT_EQ(j["unknownTool"], -32602);
  EXPECT_EQ(j["resources"], json::array({"orch://status", "orch://events/recent"}));
  EXPECT_TRUE(j["statusRead"]);
  // The v2 client reads a legacy server's -32002 as its ResourceNotFoundError, whose code is the
  // 2026-07-28 one (the raw tests above check what orch puts on the wire in each era).
  EXPECT_EQ(j["unknownResource"], -32602);
  // Following orch://events/recent: an event made afterwards reaches the client. Under 2026-07-28
  // through subscriptions/listen: the acknowledgement honours only the resource orch has, each
  // update names the listen, and close() ends it on the client's side.
  ASSERT_FALSE(j["updates"].empty()) << j.dump(2);
  EXPECT_EQ(j["updates"][0]["uri"], "orch://events/recent");
  if (era == "modern") {
    EXPECT_EQ(j["honored"], json({{"resourceSubscriptions", {"orch://events/recent"}}})) << j.dump(2);
    EXPECT_TRUE(j["updates"][0]["subscriptionId"].is_string()) << j["updates"];
    EXPECT_EQ(j["closed"], "local");
  } else {
    EXPECT_TRUE(j["updates"][0]["subscriptionId"].is_null()) << j["updates"];
  }
}

TEST(McpVersions, SdkV2ClientEveryModeOverStdio) {
  ORCH_REQUIRE(v2_installed()) << "run `npm install` in tests/node";
  expect_works(v2_client({"legacy", "stdio", ORCH_BINARY}), "legacy", "2025-11-25");
  expect_works(v2_client({"auto", "stdio", ORCH_BINARY}), "modern", kModern);
  expect_works(v2_client({kModern, "stdio", ORCH_BINARY}), "modern", kModern);
}

TEST(McpVersions, SdkV2ClientEveryModeOverHttp) {
  ORCH_REQUIRE(v2_installed()) << "run `npm install` in tests/node";
  const std::string secret = "wh-secret-1-0123456789";
  auto env = server_env();
  env["TRUSTED_WEBHOOK_SECRET"] = secret;
  OrchServer orch(env);
  expect_works(v2_client({"legacy", "http", orch.url(), kToken, secret}), "legacy", "2025-11-25");
  auto modern_run = v2_client({"auto", "http", orch.url(), kToken, secret});
  expect_works(modern_run, "modern", kModern);
  EXPECT_TRUE(modern_run["sessionId"].is_null()) << modern_run;
  expect_works(v2_client({kModern, "http", orch.url(), kToken, secret}), "modern", kModern);
  // The client closed its listens: orch let them go (its stream's close is the cancel over HTTP).
  for (int i = 0; i < 50 && metric(orch, "orch_mcp_listens") != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(metric(orch, "orch_mcp_listens"), 0);
}

}  // namespace

namespace {

// 2025-11-25: serverInfo has icons; from 2025-06-18 on, diagnose and recent_events link to the
// resource that shows the same thing (resource_link). Older revisions get neither.
TEST(McpVersions, IconsAndResourceLinksFollowTheRevision) {
  for (const std::string v : {"2025-11-25", "2025-06-18", "2025-03-26"}) {
    auto replies =
        raw_stdio(init_line(v) + call_line(2, "diagnose", json::object()) + "\n" + call_line(3, "recent_events", json::object()) + "\n");
    auto init = reply_to(replies, 1);
    EXPECT_EQ(init["result"]["serverInfo"].contains("icons"), v == "2025-11-25") << v;
    if (v == "2025-11-25") {
      EXPECT_EQ(init["result"]["serverInfo"]["icons"][0]["mimeType"], "image/svg+xml");
    }
    const json diag = reply_to(replies, 2)["result"]["content"];
    const json events = reply_to(replies, 3)["result"]["content"];
    if (v == "2025-03-26") {
      EXPECT_EQ(diag.size(), 1u) << diag;
      continue;
    }
    ASSERT_EQ(diag.size(), 2u) << v << diag;
    EXPECT_EQ(diag[1]["type"], "resource_link");
    EXPECT_EQ(diag[1]["uri"], "orch://status");
    ASSERT_EQ(events.size(), 2u) << v << events;
    EXPECT_EQ(events[1]["uri"], "orch://events/recent");
  }
  auto discover = reply_to(raw_stdio(lines({modern(1, "server/discover")})), 1);
  EXPECT_TRUE(discover["result"]["_meta"]["io.modelcontextprotocol/serverInfo"].contains("icons")) << discover;
  // Each tool has an icon from 2025-11-25 on: the magnifier for tools that only look, the wrench
  // for those that change things.
  for (const std::string v : {"2025-11-25", "2025-06-18"}) {
    auto tools = reply_to(raw_stdio(init_line(v) + R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})" + "\n"), 2)["result"]["tools"];
    ASSERT_EQ(tools.size(), 8u) << tools;
    std::set<std::string> look, act;
    for (const auto& t : tools) {
      ASSERT_EQ(t.contains("icons"), v == "2025-11-25") << v << t;
      if (!t.contains("icons")) continue;
      EXPECT_EQ(t["icons"][0]["mimeType"], "image/svg+xml");
      (t["annotations"]["readOnlyHint"] ? look : act).insert(t["icons"][0]["src"].get<std::string>());
    }
    if (v == "2025-11-25") {
      EXPECT_EQ(look.size(), 1u);
      EXPECT_EQ(act.size(), 1u);
      EXPECT_NE(*look.begin(), *act.begin());
    }
  }
}

// JSON Schema 2020-12 is the default dialect from 2025-11-25 on: every tool's input and output
// schema compiles under Ajv's 2020 validator in strict mode (no unknown keyword, no ambiguous
// type), every default and example fits its property, and real results fit their output schemas.
TEST(McpVersions, ToolSchemasAreStrictJsonSchema2020_12) {
  ORCH_REQUIRE(v2_installed()) << "run `npm install` in tests/node";
  TempDir state;
  Env env = kBase;
  env["ORCH_STATE_DIR"] = state.path();
  auto r = run({"node", kNodeDir + "/schema_check.mjs", ORCH_BINARY}, env, std::chrono::seconds(60));
  auto at = r.output.rfind("{\"");
  ASSERT_NE(at, std::string::npos) << r.output;
  auto j = json::parse(r.output.substr(at));
  EXPECT_FALSE(j.contains("error")) << j;
  EXPECT_EQ(j["tools"], 8) << j;
  EXPECT_EQ(j["problems"], json::array()) << j;
  EXPECT_EQ(j["checked"], json::array({"diagnose", "recent_events"})) << j;
}

}  // namespace

namespace {

// A cancelled sync_test stops waiting at once (issue 18): its bus stage would otherwise wait out
// the whole timeout, as `orch mcp`'s in-process bus never sees what `orch serve` accepted.
TEST(McpCancellation, CancelledSyncTestStopsItsWork) {
  const std::string secret = "wh-secret-1-0123456789";
  OrchServer orch({{"REDIS_URL", ""}, {"TRUSTED_WEBHOOK_SECRET", secret}, {"DOCKER_HOST", "unix:///nonexistent/docker.sock"}});
  json call = {{"jsonrpc", "2.0"},
               {"id", 2},
               {"method", "tools/call"},
               {"params", {{"name", "sync_test"}, {"arguments", {{"timeout", "40s"}}}, {"_meta", {{"progressToken", "p"}}}}}};
  json cancel = {{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", {{"requestId", 2}, {"reason", "test"}}}};
  const std::string input = init_line("2025-11-25") + to_text(call) + "\n";
  TempDir state;
  Env env = kBase;
  env["ORCH_STATE_DIR"] = state.path();
  env["ORCH_URL"] = orch.url();
  env["TRUSTED_WEBHOOK_SECRET"] = secret;
  env["INPUT"] = input;
  env["CANCEL"] = to_text(cancel);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = run({"sh", "-c", "{ printf '%s' \"$INPUT\"; sleep 2; printf '%s\\n' \"$CANCEL\"; } | \"$0\" mcp", ORCH_BINARY}, env,
               std::chrono::seconds(60));
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.code, 0) << r.output;
  // Stopped within a few seconds of the cancel, not after the 40 s timeout.
  EXPECT_LT(took, std::chrono::seconds(15)) << r.output;
  EXPECT_NE(r.output.find("webhook ok"), std::string::npos) << r.output;           // it did run until then
  EXPECT_EQ(r.output.find(R"("id":2,"jsonrpc")"), std::string::npos) << r.output;  // and got no response
}

}  // namespace

}  // namespace mcp_versions_test
