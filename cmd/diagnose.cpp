// orch diagnose: one-shot report on services and containers; Nagios-style exit code.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli.hpp"
#include "core/duration.hpp"
#include "core/text.hpp"
#include "diagnose/report.hpp"
#include "docker/client.hpp"
#include "history/report.hpp"

namespace orch::cli {
namespace {

struct DiagnoseOptions {
  std::vector<std::string> services, actions;
  int tail = 200;
  std::string history;  // --history 24h: the history's figures instead of a probe
};

std::string fit(std::string s, size_t n) {
  if (s.size() > n) s = s.substr(0, n - 1) + "~";
  s.resize(n, ' ');
  return s;
}

// A detail that does not fit its column goes on under it, broken between words: a reason is
// never cut off.
void print_wrapped(const std::string& detail, size_t indent, size_t width) {
  auto lines = wrap_words(detail, width);
  for (size_t i = 0; i < lines.size(); ++i) std::cout << (i ? std::string(indent, ' ') : "") << lines[i] << "\n";
}

void print_table(const diagnose::Report& r, bool colour) {
  auto paint = [&](const std::string& state, const std::string& text) {
    if (!colour) return text;
    const char* c = state == "up" || state == "running" || state == "healthy" ? "\033[32m"
                    : state == "degraded" || state == "starting"             ? "\033[33m"
                                                                             : "\033[31m";
    return std::string(c) + text + "\033[0m";
  };
  if (!r.services.empty()) {
    std::cout << fit("SERVICE", 18) << fit("STATE", 12) << fit("HTTP", 6) << fit("TIME", 8) << "DETAIL\n";
    for (const auto& s : r.services) {
      std::vector<std::string> details;
      if (!s.error.empty()) details.push_back(s.error);
      // As Gatus shows it: the condition, and what the probe saw.
      for (const auto& f : s.failed_conditions) {
        auto seen = s.observed.find(f);
        details.push_back(f + " failed" + (seen == s.observed.end() ? "" : ": got " + seen->second));
      }
      std::cout << fit(s.name, 18) << paint(diagnose::to_string(s.state), fit(diagnose::to_string(s.state), 12))
                << fit(s.status ? std::to_string(s.status) : "-", 6) << fit(std::to_string(s.response_ms) + "ms", 8);
      if (details.empty()) std::cout << "\n";
      for (size_t i = 0; i < details.size(); ++i) {
        if (i) std::cout << std::string(44, ' ');
        print_wrapped(details[i], 44, 36);
      }
    }
  }
  if (!r.containers.empty()) {
    const bool metrics = std::any_of(r.containers.begin(), r.containers.end(), [](const auto& c) { return c.stats.has_value(); });
    // Within 80 columns: CONTAINER STATE HEALTH UPTIME RESTARTS [CPU MEM] HEALED.
    std::cout << (r.services.empty() ? "" : "\n") << fit("CONTAINER", 20) << fit("STATE", 9) << fit("HEALTH", 10) << fit("UPTIME", 7)
              << fit("RESTARTS", 9) << (metrics ? fit("CPU", 7) + fit("MEM", 10) : "") << "HEALED\n";
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    for (const auto& c : r.containers) {
      // A container that is not running has no current health: its last check is stale, and
      // "exited" says what is wrong.
      const std::string health = c.state != "running" ? "-" : c.health == "none" ? "no check" : c.health;
      // RESTARTS is Docker's count; HEALED is orch's ("2x 12m": twice, the last 12 minutes ago),
      // since restarts through the API leave Docker's at 0.
      std::string restarts = std::to_string(c.restart_count);
      if (c.oom_killed) restarts += " OOM";
      std::cout << fit(c.name, 20) << paint(c.state, fit(c.state, 9)) << paint(health == "no check" ? "healthy" : health, fit(health, 10))
                << fit(c.uptime_s >= 0 ? human_duration(c.uptime_s) : "-", 7) << fit(restarts, 9);
      if (metrics) {
        char cpu[16] = "-", mem[24] = "-";
        if (c.stats) {
          std::snprintf(cpu, sizeof cpu, "%.1f%%", c.stats->cpu_percent);
          std::snprintf(mem, sizeof mem, "%.1fMiB", static_cast<double>(c.stats->memory_usage) / 1048576.0);
        }
        std::cout << fit(cpu, 7) << fit(mem, 10);
      }
      std::cout << (c.last_heal_ms > 0
                        ? std::to_string(c.orch_restarts) + "x " + human_duration(std::max<long long>(0, (now_ms - c.last_heal_ms) / 1000))
                        : "-")
                << "\n";
      if (!c.quarantined.empty()) print_wrapped("  quarantined: " + c.quarantined + "; lift with: orch heal --reset " + c.name, 4, 76);
      if (c.last_heal_ms > 0 && !c.last_heal_reason.empty()) print_wrapped("  last heal by orch: " + c.last_heal_reason, 4, 76);
      if (c.state == "running" && c.health == "unhealthy" && !c.last_probe_output.empty()) {
        std::string probe = c.last_probe_output;
        while (!probe.empty() && (probe.back() == '\n' || probe.back() == '\r')) probe.pop_back();
        print_wrapped("  probe: " + probe.substr(0, 300), 4, 76);
      }
      if (c.state != "running") std::cout << "    exit code " << c.exit_code << "\n";
      for (const auto& l : c.error_lines) std::cout << "  log: " << l.substr(0, 200) << "\n";
    }
  }
  if (r.swarm) {
    const auto& sw = *r.swarm;
    std::cout << "\nswarm: node " << sw.info.node_id.substr(0, 12) << (sw.info.control_available ? " (manager)" : " (worker)") << ", "
              << sw.info.nodes << " node(s)";
    for (const auto& n : sw.nodes)
      if (n.state != "ready")
        std::cout << "; " << (n.hostname.empty() ? n.id : n.hostname) << " " << n.id.substr(0, 12) << " is " << n.state;
    std::cout << "\n";
    if (!sw.error.empty()) std::cout << "  " << sw.error << "\n";
    if (!sw.services.empty()) {
      std::cout << "\n" << fit("SWARM SERVICE", 22) << fit("STATE", 10) << fit("REPLICAS", 10) << fit("HEALTH", 11) << "IMAGE\n";
      for (const auto& s : sw.services) {
        std::cout << fit(s.name, 22) << paint(s.state, fit(s.state, 10))
                  << fit(std::to_string(s.running) + "/" + std::to_string(s.desired), 10)
                  << paint(s.health == "none" ? "healthy" : s.health, fit(s.health, 11)) << s.image.substr(0, 26) << "\n";
        if (!s.last_health_output.empty() && s.health != "healthy")
          std::cout << "  probe: " << s.last_health_output.substr(0, 70) << (s.last_health_output.back() == '\n' ? "" : "\n");
        for (const auto& t : s.failing_tasks)
          std::cout << "  task " << s.name << "." << t.slot << " " << t.state << " on " << t.node.substr(0, 16) << ": "
                    << t.error.substr(0, 40) << "\n";
      }
    }
  }
  if (!r.docker.value("reachable", false) && r.docker.value("expected", false))
    std::cout << "\ndocker: unreachable (" << r.docker.value("error", "") << ")\n";
  if (r.redis.value("configured", false)) {
    if (r.redis.value("reachable", false)) std::cout << "\nredis: ok (" << static_cast<int>(r.redis.value("latency_ms", 0.0)) << " ms)\n";
    else std::cout << "\nredis: unreachable (" << r.redis.value("error", "") << ")\n";
  }
  for (const auto& a : r.actions)
    std::cout << a.value("action", "") << " " << a.value("service", "") << ": " << (a.value("ok", false) ? "ok" : "FAILED " + a.value("error", "")) << "\n";
  if (const auto why = r.nothing_checked(); !why.empty()) std::cout << "\n" << why << "\n";
  if (!r.state_error.empty()) std::cout << "\nstate: unreadable (" << r.state_error << "): quarantine and heal record not shown\n";
  static const char* names[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};
  const auto summary = r.summary();
  std::cout << "\n" << names[r.exit_code()] << (summary.empty() ? "" : ": " + summary) << " (" << r.took_ms << " ms)\n";
}

// --history: exit 0 once the figures are read (3 when they cannot be: Redis or orch serve down).
int run_history(const GlobalOptions& g, const Config& cfg, const std::string& window) {
  Millis w;
  try {
    w = parse_duration(window);
  } catch (const std::exception&) {
    throw UsageError("--history takes a duration such as 24h or 7d");
  }
  auto doc = history::load_summary(cfg, w);
  if (structured(g)) print_document(g, doc);
  else if (!g.quiet) std::cout << history::render_table(doc, use_colour());
  return 0;
}

int run_diagnose(const GlobalOptions& g, const DiagnoseOptions& o) {
  Config cfg = load(g);
  if (!o.history.empty()) return run_history(g, cfg, o.history);
  docker::Client docker(docker::endpoint_from(cfg.settings));
  diagnose::Options opts;
  opts.services = o.services;
  if (!o.actions.empty()) opts.actions = o.actions;
  opts.tail = o.tail;
  opts.timeout = cfg.settings.duration("DIAGNOSE_TIMEOUT");
  auto state = make_state_store(cfg.settings);
  opts.state = state.get();
  auto report = diagnose::run(cfg, docker, docker, opts);
  if (structured(g)) print_document(g, report.to_json());
  else if (!g.quiet) print_table(report, use_colour());
  return report.exit_code();
}

Registrar register_diagnose(
    {"diagnose", 15, [](CLI::App& root, GlobalOptions& g, CLI::App*& sub) {
       auto o = std::make_shared<DiagnoseOptions>();
       sub = root.add_subcommand("diagnose", "One-shot report on services and containers (exit 0 OK, 1 warning, 2 critical, 3 unknown)");
       sub->add_option("--services", o->services, "Only these services (comma-separated)")->delimiter(',');
       sub->add_option("--actions", o->actions, "health,logs,metrics,restart,rebuild (default health)")->delimiter(',');
       sub->add_option("--tail", o->tail, "Log lines to scan for errors (default 200)");
       sub->add_option(
           "--history", o->history,
           "Instead of probing: uptime, a response-time sparkline per service and the hourly counts over this window (e.g. 24h, 7d)");
       return std::function<int()>([&g, o] { return run_diagnose(g, *o); });
     }});

}  // namespace
}  // namespace orch::cli
