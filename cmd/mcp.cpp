// orch mcp: an MCP server over stdio (newline-delimited JSON-RPC) for Claude Code / Claude Desktop.
// stdout carries only the protocol; logs go to stderr.
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "cli.hpp"
#include "core/text.hpp"
#include "diagnose/report.hpp"
#include "docker/client.hpp"
#include "log/log.hpp"
#include "mcp/server.hpp"
#include "notify/notifier.hpp"
#include "state/store.hpp"

namespace orch::cli {
namespace {

struct McpOptions {
  bool read_only = false;
};

int run_mcp(const GlobalOptions& g, const McpOptions& o) {
  std::map<std::string, std::string> flags;
  if (o.read_only) flags["ORCH_MCP_READ_ONLY"] = "true";
  Config cfg = load(g, flags);
  const auto& s = cfg.settings;
  docker::Client docker(docker::endpoint_from(s));
  auto bus = make_cli_bus(cfg);
  auto state = make_state_store(s);
  Notifier notifier(s.str("NOTIFY_WEBHOOK_URL"));
  Metrics metrics;
  std::vector<std::string> allow;
  std::stringstream ss(s.str("ORCH_MCP_ALLOW"));
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) allow.push_back(item);
  mcp::Context ctx{cfg, *bus, docker, *state, notifier, metrics, s.boolean("ORCH_MCP_READ_ONLY"), allow,
                   s.has("ORCH_URL") ? s.str("ORCH_URL") : "http://127.0.0.1:" + s.str("PORT"),
                   [&] {
                     diagnose::Options d;
                     d.timeout = s.duration("DIAGNOSE_TIMEOUT");
                     return diagnose::run(cfg, docker, d).to_json();
                   }};
  mcp::Server server(ctx);
  std::mutex out_mu;
  auto write = [&](const json& m) {
    std::lock_guard lock(out_mu);
    std::cout << to_text(m) << "\n" << std::flush;
  };
  mcp::Session session(write);
  server.attach(&session);
  // tools/call runs on its own thread so that ping, cancellation and notifications flow while a
  // long tool (sync_test, rollback) works; everything else is answered in order, so initialize,
  // logging/setLevel and subscriptions take effect before the lines after them.
  std::vector<std::thread> inflight;
  for (std::string line; std::getline(std::cin, line);) {
    if (line.empty() || line == "\r") continue;
    auto msg = parse_json(line);
    const bool long_running = msg.is_object() && msg.value("method", json()) == "tools/call";
    if (!long_running) {
      auto reply = msg.is_discarded() ? server.handle_text(line, session) : server.handle(msg, session);
      if (!reply.is_null()) write(reply);
      continue;
    }
    inflight.emplace_back([&, msg] {
      auto reply = server.handle(msg, session);
      if (!reply.is_null()) write(reply);
    });
  }
  for (auto& t : inflight) t.join();
  server.detach(&session);
  bus->close();
  return 0;
}

Registrar reg({"mcp", 60, [](CLI::App& root, GlobalOptions& g, CLI::App*& sub) {
  auto o = std::make_shared<McpOptions>();
  sub = root.add_subcommand("mcp", "MCP server over stdio for Claude Code, Claude Desktop and other agents");
  sub->add_flag("--read-only", o->read_only, "Refuse tools that change the stack (env ORCH_MCP_READ_ONLY)");
  return std::function<int()>([&g, o] { return run_mcp(g, *o); });
}});

}  // namespace
}  // namespace orch::cli
