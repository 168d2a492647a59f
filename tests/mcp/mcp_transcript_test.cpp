// The worked session of docs/mcp.md, as a test: what Claude Code does when asked "web is down, fix
// it" — diagnose, read the logs, a dry-run heal, then the heal — over `orch mcp` (stdio) against a
// real Docker engine. The exchange is written to <build>/mcp-transcript.jsonl ("> " = client,
// "< " = orch), which is what docs/mcp.md shows.
#include <gtest/gtest.h>

#include <fstream>
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
  // web crashes on its first run only (a restart finds /tmp/ran and keeps running).
  engine->docker({"rm", "-f", "web-1"});
  engine->must({"run", "-d", "--network", "none", "--stop-timeout", "1", "--name", "web-1", "--label", "orch.heal=true", "--label",
                "com.docker.compose.service=web", engine->image(), "sh", "-c",
                "test -f /tmp/ran && exec sleep 3600; touch /tmp/ran; echo 'listening on :3000'; echo 'FATAL: cannot reach rag_service: "
                "connection refused' >&2; exit 3"});
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
  for (const auto& w : out["wire"]) {
    transcript << (w["from"] == "client" ? "> " : "< ") << to_text(w["message"]) << "\n";
    if (w["from"] == "orch") replies.push_back(w["message"]);
  }
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
