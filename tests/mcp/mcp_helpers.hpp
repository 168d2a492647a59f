#pragma once
// What the MCP test files share: the base environment (no Redis, Docker unreachable, no config
// file) and raw newline-delimited JSON-RPC against a real `orch mcp`.
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "core/text.hpp"
#include "support/orch_server.hpp"
#include "support/process.hpp"

namespace orch::test::mcp {

using Env = std::map<std::string, std::string>;
inline const Env kBase{{"REDIS_URL", ""}, {"DOCKER_HOST", "unix:///nonexistent/docker.sock"}, {"ORCH_CONFIG", ""}};

// Runs `orch mcp` on `input` to EOF: one JSON value per reply line (stderr lines are skipped).
inline std::vector<json> raw_stdio(const std::string& input, Env env = kBase, std::vector<std::string> args = {}) {
  TempDir state;
  env["ORCH_STATE_DIR"] = state.path();
  std::vector<std::string> argv = {ORCH_BINARY, "mcp"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run(argv, env, std::chrono::seconds(60), input);
  EXPECT_EQ(r.code, 0) << r.output;
  std::vector<json> out;
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);) {
    auto j = json::parse(line, nullptr, false);
    if (!j.is_discarded() && (j.is_object() || j.is_array())) out.push_back(j);
  }
  return out;
}

// A gauge or counter of orch serve's /metrics; -1 when absent.
inline double metric(const OrchServer& orch, const std::string& name) {
  auto body = orch.get("/metrics").body;
  auto at = body.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::stod(body.substr(at + name.size() + 2));
}

inline std::string init_line(const std::string& version = "2025-06-18") {
  return R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":")" + version +
         R"(","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}})" + "\n" +
         R"({"jsonrpc":"2.0","method":"notifications/initialized"})" + "\n";
}

// One tools/call request, without the newline.
inline std::string call_line(int id, const std::string& tool, const json& arguments) {
  return to_text(json{{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/call"}, {"params", {{"name", tool}, {"arguments", arguments}}}});
}

// The reply with this id among `replies` (null when there is none).
inline json reply_to(const std::vector<json>& replies, const json& id) {
  for (const auto& j : replies)
    if (j.is_object() && j.contains("id") && j["id"] == id && (j.contains("result") || j.contains("error"))) return j;
  return nullptr;
}

// A JSON-RPC id nested `depth` arrays deep: 150,000 (300 KB, under the 1 MiB body limit) once
// overflowed the stack of whoever copied it.
inline std::string deep_id_request(size_t depth) {
  return R"({"jsonrpc":"2.0","method":"ping","id":)" + std::string(depth, '[') + std::string(depth, ']') + "}";
}

}  // namespace orch::test::mcp
