// orch serve: the long-lived daemon.
#include "cli.hpp"
#include "serve/daemon.hpp"
#include "serve/signals.hpp"

namespace orch::cli {
namespace {

struct ServeOptions {
  std::map<std::string, std::string> flags;
};

int run_serve(const GlobalOptions& g, const ServeOptions& o) {
  block_termination_signals();
  Config cfg = load(g, o.flags, /*daemon=*/true);
  Daemon daemon(cfg);
  daemon.start();
  auto waiter = spawn_signal_waiter([&daemon](int) { daemon.request_stop(); });
  daemon.run_until_stopped();
  release_signal_waiter(waiter);
  return 0;
}

Registrar register_serve({"serve", 10, [](CLI::App& root, GlobalOptions& g, CLI::App*& sub) {
                            auto o = std::make_shared<ServeOptions>();
                            sub = root.add_subcommand("serve",
                                                      "Run the daemon: HTTP API, webhook, event bus, watcher, healer, pipeline, MCP");
                            auto flag = [&](const char* name, const char* env, const char* help) {
                              sub->add_option_function<std::string>(
                                  name, [o, env](const std::string& v) { o->flags[env] = v; }, help);
                            };
                            flag("--port", "PORT", "HTTP port (env PORT, default 9000)");
                            flag("--bind", "BIND", "Listen address (env BIND, default 127.0.0.1)");
                            flag("--redis-url", "REDIS_URL", "Redis URL (env REDIS_URL; unset = in-process bus)");
                            flag("--scope", "ORCH_HEAL_SCOPE", "Heal scope: labelled (default) or all (env ORCH_HEAL_SCOPE)");
                            sub->add_flag_callback(
                                "--read-only", [o] { o->flags["ORCH_MCP_READ_ONLY"] = "true"; },
                                "MCP on /mcp refuses tools that change the stack (env ORCH_MCP_READ_ONLY)");
                            return std::function<int()>([&g, o] { return run_serve(g, *o); });
                          }});

}  // namespace
}  // namespace orch::cli
