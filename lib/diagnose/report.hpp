#pragma once
// `orch diagnose` / POST /diagnose (SPEC §3, §5): probes services in parallel, looks at their
// containers, Redis, and runs the requested actions. One JSON shape for both, documented in
// docs/diagnose.md.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/json.hpp"
#include "diagnose/conditions.hpp"
#include "diagnose/swarm.hpp"
#include "docker/client.hpp"
#include "state/store.hpp"

namespace orch::diagnose {

// up: every condition holds · degraded: reachable, a condition fails · down: 5xx ·
// unreachable: refused, timed out, no DNS. Down and unreachable are both CRITICAL (SPEC §3).
enum class ServiceState { up, degraded, down, unreachable, unknown };
const char* to_string(ServiceState s);

struct ServiceReport {
  std::string name, url;
  ServiceState state = ServiceState::unknown;
  long status = 0;
  long long response_ms = 0;
  std::vector<std::string> failed_conditions;
  std::map<std::string, std::string> observed;  // failed condition -> what the probe saw
  std::string error;
  json to_json() const;
};

// Probes one service: GET url+health with `timeout`; conditions from `expect` (default: status
// below 400 is up, 4xx degraded, 5xx down).
ServiceReport probe_service(const ServiceSpec& s, std::chrono::milliseconds timeout);
// All at once, each on its own thread: the whole takes as long as the slowest.
std::vector<ServiceReport> probe_services(const std::vector<ServiceSpec>& services, std::chrono::milliseconds timeout);

struct ContainerReport {
  std::string name, service, state, health;
  int failing_streak = 0;
  std::string last_probe_output;
  int restart_count = 0;
  bool oom_killed = false;
  int exit_code = 0;
  std::optional<docker::Stats> stats;
  std::vector<std::string> error_lines;
  std::string started_at;   // running: since when (RFC 3339), for the uptime
  long long uptime_s = -1;  // -1: not running
  // orch's own record (state store): Docker's RestartCount stays 0 after restarts through the API.
  int orch_restarts = 0;
  long long last_heal_ms = 0;  // 0: never healed by orch
  std::string last_heal_reason;
  std::string quarantined;  // the reason, or "" when not quarantined
  json to_json() const;
};

struct Options {
  std::vector<std::string> services;  // empty = all
  std::vector<std::string> actions = {"health"};  // health, logs, metrics, restart, rebuild
  int tail = 200;                     // log lines read for error lines
  std::chrono::milliseconds timeout{5000};
  // Where the quarantine list and orch's heal record are read (optional: without it those columns
  // stay empty). Unreadable: noted in the report, not an error.
  StateStore* state = nullptr;
};
// Throws UsageError for an unknown action or service; `also_known`: names that are not configured
// services but may be selected (the swarm's services, in swarm mode).
void validate(const Config& cfg, const Options& o, const std::vector<std::string>& also_known = {});

struct Report {
  std::vector<ServiceReport> services;
  std::vector<ContainerReport> containers;
  json docker;  // {reachable, endpoint, error?}
  json redis;   // {configured, reachable, latency_ms, error?}
  std::vector<json> actions;  // restart / rebuild results
  // Swarm mode only (the engine is an active swarm node): its services, tasks and nodes.
  std::optional<SwarmSection> swarm;
  long long took_ms = 0;
  std::string state_error;  // the state store could not be read
  // "2 up, 1 down · 3 containers: 2 healthy, 1 unhealthy · 1 quarantined": what a person reads first.
  std::string summary() const;
  // SPEC §3: 2 for a service down or unreachable, a container not running or unhealthy, a swarm
  // service with no task running; 1 for a swarm service degraded, with a task failed recently,
  // or a swarm node down; 3 when orch could not check (engine or Redis unreachable, or nothing to
  // check at all).
  int exit_code() const;
  // Why nothing was checked, or "" when something was.
  std::string nothing_checked() const;
  json to_json() const;
};

// `containers`: where the list comes from (orch serve: its cache; orch diagnose: the engine); each
// selected container is then inspected (and its logs and stats read) on the engine.
Report run(const Config& cfg, docker::Client& docker, docker::ContainerSource& containers, const Options& o);

// Error-looking log lines: error, exception, fatal, panic, traceback, critical (case-insensitive).
bool looks_like_error(const std::string& line);

}  // namespace orch::diagnose
