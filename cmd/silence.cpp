// orch silence: silences for alerts (docs/alerting.md): add, list, remove; kept in the state store,
// so orch serve (every instance) sees them at its next alert.
#include <iomanip>
#include <iostream>

#include "cli.hpp"
#include "core/clock.hpp"
#include "core/text.hpp"
#include "notify/alert.hpp"
#include "notify/silences.hpp"
#include "state/store.hpp"

namespace orch::cli {
namespace {

struct SilenceOptions {
  std::string service, duration = "1h", reason, target;
};

long long now_ms() { return SystemClock::instance().now().time_since_epoch().count(); }

int run_add(const GlobalOptions& g, const SilenceOptions& o) {
  Config cfg = load(g);
  auto state = make_state_store(cfg.settings);
  notify::Silences silences(*state, cfg.alerting.maintenance);
  Millis d;
  try {
    d = parse_duration(o.duration);
  } catch (const ConfigError& e) {
    throw UsageError(std::string("--for: ") + e.what());
  }
  auto s = silences.add(o.service, d, o.reason, now_ms());
  if (structured(g)) print_document(g, s.to_json());
  else if (!g.quiet) std::cout << "silenced " << s.service << " until " << rfc3339_ms(s.until_ms) << " (id " << s.id << ")\n";
  return 0;
}

int run_list(const GlobalOptions& g) {
  Config cfg = load(g);
  auto state = make_state_store(cfg.settings);
  notify::Silences silences(*state, cfg.alerting.maintenance);
  auto all = silences.active(now_ms());
  if (structured(g)) {
    json out = json::array();
    for (const auto& s : all) out.push_back(s.to_json());
    print_document(g, {{"silences", out}});
    return 0;
  }
  if (g.quiet) return 0;
  if (all.empty()) {
    std::cout << "no silences\n";
    return 0;
  }
  std::cout << std::left << std::setw(16) << "ID" << std::setw(20) << "SERVICE" << std::setw(26) << "UNTIL (UTC)" << std::setw(13)
            << "SOURCE"
            << "REASON\n";
  for (const auto& s : all)
    std::cout << std::setw(16) << s.id << std::setw(20) << s.service << std::setw(26) << rfc3339_ms(s.until_ms) << std::setw(13) << s.source
              << s.reason << "\n";
  return 0;
}

int run_remove(const GlobalOptions& g, const SilenceOptions& o) {
  Config cfg = load(g);
  auto state = make_state_store(cfg.settings);
  notify::Silences silences(*state, cfg.alerting.maintenance);
  int n = silences.remove(o.target, now_ms());
  if (structured(g)) print_document(g, {{"removed", n}});
  else if (!g.quiet) std::cout << (n ? "removed " + std::to_string(n) + " silence(s)\n" : "no silence matches " + o.target + "\n");
  // Nothing removed: the name was wrong (a maintenance window is changed in the config file).
  return n ? 0 : 2;
}

Registrar register_silence(
    {"silence", 45, [](CLI::App& root, GlobalOptions& g, CLI::App*& sub) {
       auto o = std::make_shared<SilenceOptions>();
       sub = root.add_subcommand("silence", "Silence alerts of a service for a while; list and remove silences");
       sub->require_subcommand(1);
       auto* add = sub->add_subcommand("add", "Silence SERVICE's alerts (* = every alert) for --for");
       add->add_option("service", o->service, "Service, container or subject to silence; * for everything")->required();
       add->add_option("--for", o->duration, "How long, e.g. 30m, 2h, 1d")->capture_default_str();
       add->add_option("--reason", o->reason, "Why (shown in /status, the status page and silence list)");
       auto* list = sub->add_subcommand("list", "List the silences and maintenance windows in force");
       auto* remove = sub->add_subcommand("remove", "Remove a silence by its id, or every silence of a service");
       remove->add_option("target", o->target, "Silence id or service")->required();
       return std::function<int()>([&g, o, add, list, remove] {
         if (add->parsed()) return run_add(g, *o);
         if (list->parsed()) return run_list(g);
         if (remove->parsed()) return run_remove(g, *o);
         return 64;
       });
     }});

}  // namespace
}  // namespace orch::cli
