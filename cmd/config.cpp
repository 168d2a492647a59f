// orch config: the effective configuration and where each value came from; --check validates,
// reporting every mistake at once (with -o json as [{file, line, column, message}]).
#include <iomanip>
#include <iostream>

#include "cli.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "log/log.hpp"
#include "pipeline/docling.hpp"
#include "webhook/signature.hpp"

namespace orch::cli {
namespace {

struct ConfigOptions {
  bool check = false;
};

// The mistakes as a JSON array, for -o json: [{file, line, column, message}], secrets masked.
json problems_json(const ConfigError& e) {
  json all = json::array();
  if (const auto* many = dynamic_cast<const ConfigProblems*>(&e))
    for (const auto& p : many->problems) all.push_back(p.to_json());
  else all.push_back(ConfigProblem{"", 0, 0, e.what()}.to_json());
  for (auto& p : all) p["message"] = redacted(p.value("message", ""));
  return all;
}

int run_config(const GlobalOptions& g, const ConfigOptions& o) {
  Config cfg;
  try {
    cfg = load(g);  // throws ConfigError (exit 78) on anything invalid; main prints it
  } catch (const ConfigError& e) {
    if (!structured(g)) throw;
    if (!g.quiet) print_document(g, problems_json(e));
    return static_cast<int>(e.code());
  }
  if (o.check) {
    // What orch serve's features check when they start, so that --check says what serve would.
    webhook::secret_header_name(cfg.settings.str("WEBHOOK_SECRET_HEADER"));
    if (cfg.settings.has("DOCLING_API_URL")) pipeline::DoclingApi::from(cfg.settings);
    if (!g.quiet) std::cout << "configuration OK" << (cfg.file.empty() ? "" : " (" + cfg.file + ")") << "\n";
    return 0;
  }
  if (structured(g)) {
    print_document(g, cfg.to_json());
    return 0;
  }
  if (g.quiet) return 0;
  std::cout << "config file: " << (cfg.file.empty() ? "(none)" : cfg.file) << "\n\n";
  std::cout << std::left << std::setw(34) << "SETTING" << std::setw(9) << "SOURCE" << "VALUE\n";
  for (const auto& spec : setting_specs()) {
    std::cout << std::setw(34) << spec.env << std::setw(9) << to_string(cfg.settings.source(spec.env))
              << cfg.settings.display(spec.env) << "\n";
  }
  std::cout << "\nSERVICES\n";
  if (cfg.services.empty()) std::cout << "  (none: set WEB_API_URL, RAG_API_URL, DOCLING_API_URL or a services: section)\n";
  for (const auto& s : cfg.services)
    std::cout << "  " << std::setw(18) << s.name << std::setw(9) << to_string(s.source) << mask_url_secret(s.url)
              << s.health << "  container=" << s.container << "\n";
  if (!cfg.alerting.providers.empty()) std::cout << "\nALERT PROVIDERS\n";
  for (const auto& p : cfg.alerting.providers)
    std::cout << "  " << std::setw(18) << p.name << std::setw(9) << p.type << mask_url_beyond_host(p.url)
              << "  min_severity=" << to_string(p.min_severity) << (p.events.empty() ? "" : "  events=" + to_text(json(p.events))) << "\n";
  if (!cfg.alerting.maintenance.empty()) std::cout << "\nMAINTENANCE WINDOWS (UTC)\n";
  for (const auto& w : cfg.alerting.maintenance)
    std::cout << "  " << std::setw(24) << w.window << (w.services.empty() ? std::string("every service") : to_text(json(w.services)))
              << "  " << w.reason << "\n";
  return 0;
}

Registrar register_config({"config", 80, [](CLI::App& root, GlobalOptions& g, CLI::App*& sub) {
                             auto o = std::make_shared<ConfigOptions>();
                             sub = root.add_subcommand("config", "Print the effective configuration with the source of each value");
                             sub->add_flag("--check", o->check, "Validate the configuration; exit 0, or 78 when it is invalid");
                             return std::function<int()>([&g, o] { return run_config(g, *o); });
                           }});

}  // namespace
}  // namespace orch::cli
