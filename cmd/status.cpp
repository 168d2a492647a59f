// orch status: one screen of what orch serve knows (its /health and /status).
#include <iostream>

#include "cli.hpp"
#include "config/orch_url.hpp"
#include "config/settings.hpp"
#include "live/summary.hpp"

namespace orch::cli {
namespace {

struct StatusOptions {
  std::string url;
};

int run_status(const GlobalOptions& g, const StatusOptions& o) {
  Config cfg = load(g);
  const std::string url = !o.url.empty() ? o.url : orch_url(cfg.settings);
  auto summary = live::fetch_summary(cfg.settings, url);
  if (structured(g)) print_document(g, summary);
  else if (!g.quiet) std::cout << live::render_summary(summary, use_colour());
  return live::summary_exit_code(summary);
}

Registrar register_status({"status", 12, [](CLI::App& root, GlobalOptions& g, CLI::App*& sub) {
                             auto o = std::make_shared<StatusOptions>();
                             sub = root.add_subcommand(
                                 "status",
                                 "One screen of what orch serve knows: services, containers, quarantine, pipeline (exit 0 all "
                                 "up, 1 warning, 2 down, 3 orch serve unreachable)");
                             sub->add_option("--url", o->url,
                                             "orch serve to ask (default $ORCH_URL, else BIND and PORT: http://127.0.0.1:$PORT)");
                             return std::function<int()>([&g, o] { return run_status(g, *o); });
                           }});

}  // namespace
}  // namespace orch::cli
