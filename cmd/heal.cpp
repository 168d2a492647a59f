// orch heal: one pass of the heal policy now.
#include <iomanip>
#include <iostream>

#include "cli.hpp"
#include "core/text.hpp"
#include "docker/client.hpp"
#include "docker/swarm.hpp"
#include "state/documents.hpp"
#include "heal/healer.hpp"
#include "heal/service_healer.hpp"
#include "notify/notifier.hpp"
#include "state/store.hpp"

namespace orch::cli {
namespace {

struct HealOptions {
  bool dry_run = false;
  std::string reset;
  std::map<std::string, std::string> flags;
};

int run_heal(const GlobalOptions& g, const HealOptions& o) {
  Config cfg = load(g, o.flags);
  docker::Client docker(docker::endpoint_from(cfg.settings));
  auto state = make_state_store(cfg.settings);
  auto bus = make_cli_bus(cfg);
  Metrics metrics;
  // Every provider of the configuration, as orch serve has them (silences are orch serve's).
  Notifier notifier(cfg.alerting.providers, notifier_options(cfg.settings), &metrics);
  heal::Healer healer(cfg, docker, docker, *bus, metrics, *state, notifier, SystemClock::instance(),
                      heal::parse_scope(cfg.settings.str("ORCH_HEAL_SCOPE")));
  if (!o.reset.empty()) {
    // A name that is neither quarantined nor a container or swarm service is most likely a typo:
    // said, rather than "reset" with nothing done. (An unreachable engine cannot tell: go on.)
    json quarantine = state->load(kQuarantineDocument);
    if (!quarantine.is_object() || !quarantine.contains(o.reset)) {
      bool known = true;
      try {
        docker.inspect(o.reset);
      } catch (const NotFoundError&) {
        known = false;
      } catch (const Error&) {}
      if (!known) {
        try {
          docker::inspect_service(docker, o.reset);
          known = true;
        } catch (const Error&) {}
      }
      if (!known)
        throw NotFoundError("nothing named '" + o.reset + "': no container or swarm service has that name, and it is not quarantined");
    }
    bool was = healer.reset(o.reset);
    if (structured(g)) print_document(g, json{{"reset", o.reset}, {"was_quarantined", was}});
    else if (!g.quiet) std::cout << o.reset << (was ? ": quarantine lifted\n" : ": was not quarantined; heal history cleared\n");
    return 0;
  }
  if (stderr_is_tty() && !g.quiet) std::cerr << "checking containers (and swarm services) on " << docker.endpoint().describe() << "...\n";
  auto report = healer.run_pass(o.dry_run);
  heal::ServiceHealer(cfg, docker, *bus, notifier, *state, SystemClock::instance()).run_pass(o.dry_run, report);  // swarm services
  bus->close();
  notifier.drain();
  if (structured(g)) {
    print_document(g, report.to_json());
  } else if (!g.quiet) {
    if (report.actions.empty()) std::cout << "nothing to heal\n";
    else {
      std::cout << std::left << std::setw(28) << "CONTAINER/SERVICE" << std::setw(18) << "SERVICE" << std::setw(14) << "REASON"
                << "OUTCOME\n";
      for (const auto& a : report.actions)
        std::cout << std::setw(28) << a.container.substr(0, 27) << std::setw(18) << a.service.substr(0, 17) << std::setw(14)
                  << a.reason << a.outcome << (a.error.empty() ? "" : ": " + a.error) << (a.detail.empty() ? "" : ": " + a.detail)
                  << "\n";
    }
  }
  return report.exit_code();
}

Registrar register_heal({"heal", 30, [](CLI::App& root, GlobalOptions& g, CLI::App*& sub) {
                           auto o = std::make_shared<HealOptions>();
                           sub = root.add_subcommand("heal", "Run one pass of the heal policy now");
                           sub->add_flag("--dry-run", o->dry_run, "Show what would be restarted (or force-updated); change nothing");
                           sub->add_option("--reset", o->reset,
                                           "Lift the quarantine of a container or swarm service and forget its heal history");
                           sub->add_option_function<std::string>(
                                  "--scope", [o](const std::string& v) { o->flags["ORCH_HEAL_SCOPE"] = v; },
                                  "labelled (orch.heal=true or autoheal=true; default) or all")
                               ->check(CLI::IsMember({"labelled", "all"}));
                           return std::function<int()>([&g, o] { return run_heal(g, *o); });
                         }});

}  // namespace
}  // namespace orch::cli
