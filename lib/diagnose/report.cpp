#include "diagnose/report.hpp"

#include <algorithm>
#include <cctype>
#include <future>
#include <thread>

#include "core/text.hpp"
#include "docker/identity.hpp"
#include "state/documents.hpp"
#include "docker/recreate.hpp"
#include "http/client.hpp"
#include "redis/client.hpp"

namespace orch::diagnose {

const char* to_string(ServiceState s) {
  switch (s) {
    case ServiceState::up: return "up";
    case ServiceState::degraded: return "degraded";
    case ServiceState::down: return "down";
    case ServiceState::unreachable: return "unreachable";
    case ServiceState::unknown: return "unknown";
  }
  return "?";
}

json ServiceReport::to_json() const {
  json j = {{"name", name}, {"url", url}, {"state", to_string(state)}, {"status", status},
            {"response_ms", response_ms}, {"failed_conditions", failed_conditions}};
  if (!observed.empty()) j["observed"] = observed;
  if (!error.empty()) j["error"] = error;
  return j;
}

ServiceReport probe_service(const ServiceSpec& s, std::chrono::milliseconds timeout) {
  ServiceReport r;
  r.name = s.name;
  r.url = s.url.empty() ? "" : s.url + s.health;
  if (s.url.empty()) {
    r.error = "no url configured";
    return r;
  }
  auto conditions = parse_conditions(s.expect);
  http::Request req;
  req.url = r.url;
  req.timeout = timeout;
  req.connect_timeout = std::min<std::chrono::milliseconds>(timeout, std::chrono::milliseconds(3000));
  http::Response res;
  try {
    res = http::send(req);
  } catch (const http::TransportError& e) {
    r.state = ServiceState::unreachable;
    r.error = e.what();
    return r;
  }
  r.status = res.status;
  r.response_ms = res.elapsed.count();
  Probe p{res.status, r.response_ms, res.body};
  json body = parse_json(res.body);
  if (body.is_discarded()) body = nullptr;
  for (const auto& c : conditions)
    if (!c.holds(p, body)) {
      r.failed_conditions.push_back(c.text);
      r.observed[c.text] = c.observed(p, body);
    }
  // A second probe for readiness (`ready:`; docling_service derived from DOCLING_API_URL gets
  // docling-serve's /ready): alive but not ready, e.g. while models load (503), is degraded.
  if (auto ready = s.extra.find("ready"); ready != s.extra.end() && ready->is_string() && res.status < 500) {
    req.url = s.url + ready->get<std::string>();
    std::string failed;
    try {
      if (auto rr = http::send(req); rr.status >= 300) failed = "GET " + ready->get<std::string>() + " answered " + std::to_string(rr.status);
    } catch (const http::TransportError& e) {
      failed = "GET " + ready->get<std::string>() + ": " + e.what();
    }
    if (!failed.empty()) r.failed_conditions.push_back("[READY] " + failed);
  }
  if (res.status >= 500) r.state = ServiceState::down;
  else if (!r.failed_conditions.empty() || (conditions.empty() && res.status >= 400)) r.state = ServiceState::degraded;
  else r.state = ServiceState::up;
  return r;
}

std::vector<ServiceReport> probe_services(const std::vector<ServiceSpec>& services, std::chrono::milliseconds timeout) {
  std::vector<std::future<ServiceReport>> futures;
  for (const auto& s : services) futures.push_back(std::async(std::launch::async, [&s, timeout] { return probe_service(s, timeout); }));
  std::vector<ServiceReport> out;
  for (auto& f : futures) out.push_back(f.get());
  return out;
}

json ContainerReport::to_json() const {
  json j = {{"name", name},
            {"service", service},
            {"state", state},
            {"health", health},
            {"failing_streak", failing_streak},
            {"last_probe_output", last_probe_output},
            {"restart_count", restart_count},
            {"oom_killed", oom_killed},
            {"exit_code", exit_code},
            {"error_lines", error_lines},
            {"orch_restarts", orch_restarts}};
  if (uptime_s >= 0) {
    j["started_at"] = started_at;
    j["uptime_s"] = uptime_s;
  }
  if (last_heal_ms > 0) j["last_heal"] = {{"at_ms", last_heal_ms}, {"reason", last_heal_reason}};
  j["quarantined"] = quarantined.empty() ? json(nullptr) : json(quarantined);
  if (stats)
    j["stats"] = {{"cpu_percent", stats->cpu_percent}, {"memory_bytes", stats->memory_usage},
                  {"memory_limit_bytes", stats->memory_limit}, {"memory_percent", stats->memory_percent}};
  return j;
}

bool looks_like_error(const std::string& line) {
  std::string lower(line);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* word : {"error", "exception", "fatal", "panic", "traceback", "critical"})
    if (lower.find(word) != std::string::npos) return true;
  return false;
}

static bool has(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

static void validate_actions(const Options& o) {
  for (const auto& a : o.actions)
    if (!has({"health", "logs", "metrics", "restart", "rebuild"}, a))
      throw UsageError("unknown action '" + a + "' (health, logs, metrics, restart, rebuild)");
}

void validate(const Config& cfg, const Options& o, const std::vector<std::string>& also_known) {
  validate_actions(o);
  for (const auto& s : o.services)
    if (!cfg.service(s) && !has(also_known, s)) throw UsageError("unknown service '" + s + "'");
}

int Report::exit_code() const {
  bool could_not_check = false, critical = false, warning = false;
  if (docker.value("expected", false) && !docker.value("reachable", false)) could_not_check = true;
  if (redis.value("configured", false) && !redis.value("reachable", false)) could_not_check = true;
  // A service that refuses connections or times out is down, as Nagios check_http says: orch did
  // check it. UNKNOWN is for what stops orch from checking at all (engine, Redis, nothing to check).
  for (const auto& s : services) {
    if (s.state == ServiceState::unreachable || s.state == ServiceState::down) critical = true;
    if (s.state == ServiceState::degraded) warning = true;
  }
  if (services.empty() && containers.empty() && (!swarm || swarm->services.empty())) could_not_check = true;
  for (const auto& c : containers) {
    if (c.state != "running" || c.health == "unhealthy") critical = true;
    else if (c.oom_killed || !c.error_lines.empty() || c.restart_count > 0) warning = true;
  }
  for (const auto& a : actions) {
    if (!a.value("ok", false)) critical = true;
    else warning = true;  // something was changed
  }
  if (swarm) {
    for (const auto& s : swarm->services) {
      if (s.state == "down") critical = true;
      else if (s.state == "degraded" || s.failed_recently || s.health == "unhealthy") warning = true;
    }
    for (const auto& n : swarm->nodes)
      if (n.state == "down" || n.state == "disconnected") warning = true;  // Swarm reschedules its tasks
  }
  if (could_not_check) return 3;
  if (critical) return 2;
  if (warning) return 1;
  return 0;
}

std::string Report::summary() const {
  std::map<std::string, int> services_by_state;
  for (const auto& s : services) ++services_by_state[to_string(s.state)];
  std::vector<std::string> parts;
  for (const char* st : {"up", "degraded", "down", "unreachable", "unknown"})
    if (services_by_state[st]) parts.push_back(std::to_string(services_by_state[st]) + " " + st);
  std::string out = services.empty() ? "" : join(parts, ", ");
  if (!containers.empty()) {
    // A container that is not running is counted by its state (exited, restarting...), not as
    // "unhealthy": its last health status is stale.
    std::map<std::string, int> by;
    std::vector<std::string> order;
    int quarantined = 0;
    for (const auto& c : containers) {
      std::string k = c.state != "running" ? c.state : c.health == "none" ? "running" : c.health;
      if (!by.count(k)) order.push_back(k);
      ++by[k];
      if (!c.quarantined.empty()) ++quarantined;
    }
    std::vector<std::string> cs;
    for (const auto& k : order) cs.push_back(std::to_string(by[k]) + " " + k);
    out += (out.empty() ? "" : " · ") + std::to_string(containers.size()) + (containers.size() == 1 ? " container: " : " containers: ") +
           join(cs, ", ");
    if (quarantined) out += " · " + std::to_string(quarantined) + " quarantined";
  }
  if (swarm && !swarm->services.empty()) {
    int ok = 0;
    for (const auto& s : swarm->services) ok += s.state == "running" || s.state == "up";
    out += (out.empty() ? "" : " · ") + std::to_string(ok) + "/" + std::to_string(swarm->services.size()) + " swarm services running";
  }
  return out;
}

std::string Report::nothing_checked() const {
  if (!services.empty() || !containers.empty() || (swarm && !swarm->services.empty())) return "";
  if (!docker.value("reachable", false) && docker.value("expected", false)) return "";  // said by docker.error
  return "nothing to check: no services are configured (WEB_API_URL, RAG_API_URL, DOCLING_API_URL or services: in "
         "orch.yaml) and no container is labelled orch.heal=true, autoheal=true or orch.monitor-only=true";
}

json Report::to_json() const {
  json s = json::array(), c = json::array(), a = json::array();
  for (const auto& x : services) s.push_back(x.to_json());
  for (const auto& x : containers) c.push_back(x.to_json());
  for (const auto& x : actions) a.push_back(x);
  static const char* names[] = {"ok", "warning", "critical", "unknown"};
  int code = exit_code();
  json j = {{"status", names[code]}, {"exit_code", code}, {"summary", summary()}, {"took_ms", took_ms}, {"services", s},
            {"containers", c},       {"docker", docker},  {"redis", redis},       {"actions", a}};
  if (!state_error.empty()) j["state_error"] = state_error;
  if (swarm) {
    json ss = json::array();
    for (const auto& x : swarm->services) ss.push_back(x.to_json());
    j["swarm"] = swarm->to_json();
    j["swarm_services"] = ss;
  }
  if (const auto why = nothing_checked(); !why.empty()) j["message"] = why;
  return j;
}

static json check_redis(const Config& cfg) {
  if (!cfg.settings.has("REDIS_URL")) return {{"configured", false}};
  json r = {{"configured", true}};
  try {
    auto t0 = std::chrono::steady_clock::now();
    redis::Client c(redis::parse_url(cfg.settings.str("REDIS_URL")));
    c.command({"PING"});
    r["reachable"] = true;
    r["latency_ms"] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  } catch (const Error& e) {
    r["reachable"] = false;
    r["error"] = e.what();
  }
  return r;
}

// Names that are not configured services may be the swarm's services: those are checked once the
// engine has answered.
static bool names_all_configured(const Config& cfg, const Options& o) {
  return std::all_of(o.services.begin(), o.services.end(), [&](const std::string& s) { return cfg.service(s) != nullptr; });
}

Report run(const Config& cfg, docker::Client& docker, docker::ContainerSource& containers, const Options& o) {
  validate_actions(o);
  if (names_all_configured(cfg, o)) validate(cfg, o);
  const auto start = std::chrono::steady_clock::now();
  std::vector<ServiceSpec> selected;
  for (const auto& s : cfg.services)
    if (o.services.empty() || has(o.services, s.name)) selected.push_back(s);

  Report report;
  auto redis = std::async(std::launch::async, [&] { return check_redis(cfg); });

  // Containers of the selected services (by container name or compose service).
  report.docker = {{"endpoint", docker.endpoint().describe()}, {"expected", docker::docker_expected(cfg.settings)}};
  docker::ContainerList listed;
  try {
    listed = containers.containers();
    report.docker["reachable"] = true;
    report.docker["api_version"] = docker.api_version();
    // Swarm mode is detected, not configured: an engine in a swarm adds its services to the report.
    // An engine (or a proxy in front of it) that refuses GET /info is taken as not in a swarm.
    docker::SwarmInfo info;
    try {
      info = docker::swarm_info(docker);
    } catch (const docker::DockerError&) {
    } catch (const docker::NotFoundError&) {}
    if (info.active()) {
      auto wanted = [&](const std::string& name) {
        if (o.services.empty()) return true;
        for (const auto& n : o.services) {
          const auto* spec = cfg.service(n);
          if (n == name || (spec && docker::swarm_service_matches(*spec, name))) return true;
        }
        return false;
      };
      report.swarm = diagnose_swarm(docker, info, wanted);
    }
  } catch (const UnreachableError& e) {
    report.docker["reachable"] = false;
    report.docker["error"] = e.what();
  }
  if (!names_all_configured(cfg, o)) {
    std::vector<std::string> swarm_names;
    if (report.swarm)
      for (const auto& s : report.swarm->services) swarm_names.push_back(s.name);
    validate(cfg, o, swarm_names);
  }
  report.services = probe_services(selected, o.timeout);
  struct Match {
    std::string id, service;
  };
  std::vector<Match> matches;
  // The containers of the selected services; without a selection, every container orch looks
  // after: labelled ones count even when no service is configured (and all of them under
  // ORCH_HEAL_SCOPE=all).
  const bool scope_all = cfg.settings.str("ORCH_HEAL_SCOPE") == "all";
  static const std::vector<docker::ContainerSummary> none;
  for (const auto& c : listed ? *listed : none) {
    const auto* spec = docker::configured_service(cfg, c.name, c.labels);
    if (spec) {
      if (o.services.empty() || has(o.services, spec->name)) matches.push_back({c.id, spec->name});
    } else if (o.services.empty() && (scope_all || docker::in_orch_scope(cfg, c.name, c.labels))) {
      if (docker::moved_aside(c.name)) continue;
      matches.push_back({c.id, docker::service_of(cfg, c.name, c.labels)});
    }
  }
  // The quarantine list and orch's heal record, read once for every container.
  json quarantine = json::object(), heal_log = json::object();
  if (o.state && !matches.empty()) {
    try {
      if (auto q = o.state->load(kQuarantineDocument); q.is_object()) quarantine = std::move(q);
      if (auto h = o.state->load(kHealLogDocument); h.is_object()) heal_log = std::move(h);
    } catch (const Error& e) {
      report.state_error = e.what();
    }
  }
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const bool want_logs = has(o.actions, "logs") || has(o.actions, "health");
  const bool want_metrics = has(o.actions, "metrics");
  std::vector<std::future<ContainerReport>> futures;
  for (const auto& m : matches) {
    futures.push_back(std::async(std::launch::async, [&, m] {
      ContainerReport r;
      r.service = m.service;
      try {
        auto info = docker.inspect(m.id);
        r.name = info.name;
        r.state = info.status;
        r.health = info.health ? info.health->status : "none";
        if (info.health) {
          r.failing_streak = info.health->failing_streak;
          r.last_probe_output = info.health->last_output;
        }
        r.restart_count = info.restart_count;
        if (info.running && !info.started_at.empty())
          if (auto t = docker::engine_time_ns(info.started_at)) {
            r.started_at = info.started_at;
            r.uptime_s = std::max<long long>(0, now_s - *t / 1'000'000'000);
          }
        if (auto q = quarantine.find(info.name); q != quarantine.end() && q->is_object())
          r.quarantined = q->value("reason", std::string("quarantined"));
        if (auto h = heal_log.find(info.name); h != heal_log.end() && h->is_object()) {
          r.orch_restarts = h->value("restarts", 0);
          r.last_heal_ms = h->value("last_ms", 0LL);
          r.last_heal_reason = h->value("reason", std::string());
        }
        r.oom_killed = info.oom_killed;
        r.exit_code = info.exit_code;
        if (want_logs)
          for (const auto& l : docker.logs(m.id, o.tail, info.tty))
            if (looks_like_error(l.text)) r.error_lines.push_back(l.text);
        if (r.error_lines.size() > 20) r.error_lines.erase(r.error_lines.begin(), r.error_lines.end() - 20);
        if (want_metrics && info.running) r.stats = docker.stats(m.id);
      } catch (const Error& e) {
        r.state = "unknown";
        r.error_lines.push_back(std::string("orch: ") + e.what());
      }
      return r;
    }));
  }
  for (auto& f : futures) report.containers.push_back(f.get());

  for (const auto& action : {"restart", "rebuild"}) {
    if (!has(o.actions, action)) continue;
    for (const auto& m : matches) {
      json result = {{"action", action}, {"service", m.service}, {"container", m.id.substr(0, 12)}};
      try {
        if (std::string(action) == "restart") {
          docker.restart(m.id);
          result["ok"] = true;
        } else if (cfg.settings.has("REBUILD_WEBHOOK_URL")) {
          http::Request req;
          req.method = "POST";
          req.url = cfg.settings.str("REBUILD_WEBHOOK_URL");
          req.headers.emplace_back("Content-Type", "application/json");
          req.body = to_text(json{{"service", m.service}, {"container", m.id}});
          auto res = http::send(req);
          result["ok"] = res.status < 300;
          result["webhook_status"] = res.status;
        } else {
          auto info = docker.inspect(m.id);
          auto rr = docker::recreate(docker, info, "", [](const std::string&, std::string&) { return true; });
          result["ok"] = rr.ok;
          if (!rr.ok) result["error"] = rr.error;
          else result["new_container"] = rr.new_id.substr(0, 12);
        }
      } catch (const Error& e) {
        result["ok"] = false;
        result["error"] = e.what();
      }
      report.actions.push_back(result);
    }
  }
  report.redis = redis.get();
  report.took_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace orch::diagnose
