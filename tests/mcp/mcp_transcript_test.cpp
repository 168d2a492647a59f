// The worked session of docs/mcp.md, as a test: what Claude Code does when asked "web is down, fix
// it" — diagnose, read the logs, a dry-run heal, then the heal — over `orch mcp` (stdio) against a
// real Docker engine. The exchange is written to <build>/mcp-transcript.jsonl ("> " = client,
// "< " = orch), and the test fails when docs/mcp.md no longer shows what it sees.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <thread>

#include "support/process.hpp"

#include "mcp/mcp_helpers.hpp"
#include "support/docker_engine.hpp"

using namespace orch;
using namespace orch::test;
using namespace orch::test::mcp;
using namespace std::chrono_literals;

namespace {

DockerEngine*& engine = share_engine();

TEST(McpTranscript, DiagnoseLogsDryRunHeal) {
  REQUIRE_ENGINE();
  // web crashes on its first run only (a restart finds /tmp/ran and keeps running). The pause
  // between its two lines keeps their order in the engine's log fixed.
  engine->docker({"rm", "-f", "web-1"});
  engine->must({"run", "-d", "--network", "none", "--stop-timeout", "1", "--name", "web-1", "--label", "orch.heal=true", "--label",
                "com.docker.compose.service=web", engine->image(), "sh", "-c",
                "test -f /tmp/ran && exec sleep 3600; touch /tmp/ran; echo 'listening on :3000'; sleep 0.2; echo 'FATAL: cannot reach "
                "rag_service: connection refused' >&2; exit 3"});
  for (int i = 0; i < 100 && engine->must({"inspect", "-f", "{{.State.Status}}", "web-1"}) != "exited"; ++i)
    std::this_thread::sleep_for(100ms);

  TempDir state;
  Env env = kBase;
  env["DOCKER_HOST"] = engine->host();
  env["ORCH_STATE_DIR"] = state.path();
  const json steps = json::array({json::array({"diagnose", {{"actions", {"health", "logs"}}}}),
                                  json::array({"container_logs", {{"container", "web-1"}, {"tail", 5}}}),
                                  json::array({"heal", {{"dry_run", true}}}), json::array({"heal", json::object()})});
  auto r = run({"node", std::string(ORCH_TESTS_DIR) + "/node/mcp_session.mjs", ORCH_BINARY, to_text(steps)}, env, 120s);
  auto at = r.output.rfind("{\"error\"");
  ASSERT_NE(at, std::string::npos) << r.output;
  auto out = json::parse(r.output.substr(at));
  ASSERT_TRUE(out["error"].is_null()) << out["error"];
  std::vector<json> replies;
  std::ofstream transcript(std::string(ORCH_BUILD_DIR) + "/mcp-transcript.jsonl");
  std::string shown;  // what docs/mcp.md shows: text content that repeats structuredContent becomes a note
  for (const auto& w : out["wire"]) {
    transcript << (w["from"] == "client" ? "> " : "< ") << to_text(w["message"]) << "\n";
    json m = w["message"];
    if (m.contains("result") && m["result"].contains("structuredContent"))
      for (auto& c : m["result"]["content"])
        if (c["type"] == "text" && json::parse(c["text"].get<std::string>()) == m["result"]["structuredContent"])
          c["text"] = "(the structuredContent below, as compact JSON text)";
    shown += (w["from"] == "client" ? "> " : "< ") + to_text(m) + "\n";
    if (w["from"] == "orch") replies.push_back(w["message"]);
  }
  // docs/mcp.md shows this run: the same messages, but for the engine's temporary socket and the
  // time diagnose took. On a difference, build/mcp-transcript.md is the block to paste.
  std::ofstream(std::string(ORCH_BUILD_DIR) + "/mcp-transcript.md") << shown;
  auto volatile_parts = [](std::string text) {
    text = std::regex_replace(text, std::regex("orch-test-[A-Za-z0-9]+"), "orch-test-X");
    return std::regex_replace(text, std::regex("\"took_ms\":[0-9]+"), "\"took_ms\":0");
  };
  std::ifstream docs_file(std::string(ORCH_TESTS_DIR) + "/../docs/mcp.md");
  const std::string docs((std::istreambuf_iterator<char>(docs_file)), std::istreambuf_iterator<char>());
  const auto begin = docs.find("```\n> ");
  ASSERT_NE(begin, std::string::npos) << "docs/mcp.md has no transcript block";
  const auto end = docs.find("```", begin + 4);
  EXPECT_EQ(volatile_parts(docs.substr(begin + 4, end - begin - 4)), volatile_parts(shown))
      << "docs/mcp.md's transcript is not what this test sees now: replace it with " << ORCH_BUILD_DIR << "/mcp-transcript.md";
  // The SDK client numbers its requests from 0 (initialize): the four calls are 1 to 4.
  auto structured = [&](int id) { return reply_to(replies, id)["result"]["structuredContent"]; };
  EXPECT_NE(structured(1)["status"], "ok") << structured(1);
  EXPECT_NE(reply_to(replies, 2)["result"]["content"][0]["text"].get<std::string>().find("connection refused"), std::string::npos)
      << reply_to(replies, 2);
  auto dry = structured(3)["actions"];
  ASSERT_EQ(dry.size(), 1u) << structured(3);
  EXPECT_EQ(dry[0]["outcome"], "would-restart");
  auto healed = structured(4)["actions"];
  ASSERT_EQ(healed.size(), 1u) << structured(4);
  EXPECT_EQ(healed[0]["container"], "web-1");
  EXPECT_EQ(healed[0]["outcome"], "restarted");
  EXPECT_EQ(engine->must({"inspect", "-f", "{{.State.Status}}", "web-1"}), "running");
}

}  // namespace
