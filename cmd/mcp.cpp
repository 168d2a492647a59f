// orch mcp: an MCP server over stdio (newline-delimited JSON-RPC) for Claude Code / Claude Desktop.
// stdout carries only the protocol; logs go to stderr.
#include <iostream>

#include "cli.hpp"
#include "config/orch_url.hpp"
#include "diagnose/report.hpp"
#include "docker/client.hpp"
#include "log/log.hpp"
#include "mcp/server.hpp"
#include "mcp/stdio.hpp"
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
  mcp::Context ctx{cfg,
                   *bus,
                   docker,
                   docker,
                   *state,
                   notifier,
                   metrics,
                   s.boolean("ORCH_MCP_READ_ONLY"),
                   mcp::split_list(s.str("ORCH_MCP_ALLOW")),
                   orch_url(s),
                   [&] {
                     diagnose::Options d;
                     d.timeout = s.duration("DIAGNOSE_TIMEOUT");
                     return diagnose::run(cfg, docker, docker, d).to_json();
                   }};
  mcp::Server server(ctx);
  mcp::serve_stdio(server, std::cin, std::cout);
  bus->close();
  return 0;
}

Registrar register_mcp({"mcp", 60, [](CLI::App& root, GlobalOptions& g, CLI::App*& sub) {
                          auto o = std::make_shared<McpOptions>();
                          sub = root.add_subcommand("mcp", "MCP server over stdio for Claude Code, Claude Desktop and other agents");
                          sub->add_flag("--read-only", o->read_only, "Refuse tools that change the stack (env ORCH_MCP_READ_ONLY)");
                          return std::function<int()>([&g, o] { return run_mcp(g, *o); });
                        }});

}  // namespace
}  // namespace orch::cli
