#include "notify/alerter.hpp"

#include <spdlog/spdlog.h>

#include "docker/identity.hpp"
#include "state/documents.hpp"

namespace orch::notify {

Alerter::Alerter(const Config& config, Bus& bus, StateStore& state, Notifier& notifier, Clock& clock)
    : config_(config), bus_(bus), notifier_(notifier), state_(state), clock_(clock), silences_(state, config.alerting.maintenance) {}

Alerter::~Alerter() { stop(); }

void Alerter::set_leader_check(std::function<bool()> is_leader) { is_leader_ = std::move(is_leader); }

bool Alerter::leader() const { return !is_leader_ || is_leader_(); }

long long Alerter::now_ms() const { return clock_.now().time_since_epoch().count(); }

std::pair<int, int> Alerter::thresholds(const std::string& service) const {
  int failures = static_cast<int>(config_.settings.integer("ORCH_ALERT_FAILURES"));
  int recoveries = static_cast<int>(config_.settings.integer("ORCH_ALERT_RECOVERIES"));
  if (const auto* s = config_.service(service)) {
    if (s->alert_failures) failures = *s->alert_failures;
    if (s->alert_recoveries) recoveries = *s->alert_recoveries;
  }
  return {failures, recoveries};
}

void Alerter::start() {
  if (notifier_.empty()) return;  // no provider: nothing to send, nothing to listen to
  restore_incidents();
  sub_ = bus_.subscribe([this](const Event& e) { on_event(e); }, one_shot_types());
}

namespace {

json incident_json(const Alert& a, bool notified) {
  return {{"type", a.type},       {"severity", to_string(a.severity)}, {"subject", a.subject}, {"service", a.service},
          {"summary", a.summary}, {"description", a.description},      {"id", a.incident_id},  {"starts_at", a.starts_at},
          {"notified", notified}};
}

std::optional<Alert> incident_of(const json& j) {
  if (!j.is_object() || !j.value("id", json()).is_string() || !j.value("type", json()).is_string()) return std::nullopt;
  Alert a;
  a.type = j.value("type", "");
  a.status = "firing";
  try {
    a.severity = parse_severity(j.value("severity", "warning"), "incident");
  } catch (const Error&) {
    a.severity = Severity::warning;
  }
  a.subject = j.value("subject", "");
  a.service = j.value("service", "");
  a.summary = j.value("summary", "");
  a.description = j.value("description", "");
  a.incident_id = j.value("id", "");
  a.starts_at = j.value("starts_at", "");
  return a;
}

}  // namespace

// A restart in the middle of an incident neither pages again nor forgets to resolve it: the open
// incidents come back as they were, told or held by a silence. A service no longer configured has
// no probe to resolve it: its incident is dropped; a container gone is resolved by the next list.
void Alerter::restore_incidents() {
  json doc;
  try {
    doc = state_.load(kIncidentsDocument);
  } catch (const Error& e) {
    spdlog::warn("alerting: open incidents not read ({}): an incident still open is reported again", e.what());
    return;
  }
  if (!doc.is_object()) return;
  std::map<std::string, Alert> open;
  std::lock_guard lock(mu_);
  for (const auto& [key, j] : doc.items()) {
    auto a = incident_of(j);
    if (!a) continue;
    if (key.rfind("service:", 0) == 0 && !config_.service(key.substr(8))) continue;
    if (j.value("notified", false)) notified_.insert(a->incident_id);
    else held_[key] = *a;
    open.emplace(key, std::move(*a));
  }
  if (!open.empty()) spdlog::info("alerting: {} open incident(s) carried over from before the restart", open.size());
  incidents_.restore(open);
}

void Alerter::save_incidents() {
  if (notifier_.empty() || !leader()) return;  // the leader's view is the one kept
  json doc = json::object();
  {
    const auto open = incidents_.open_alerts();
    std::lock_guard lock(mu_);
    for (const auto& [key, a] : open) doc[key] = incident_json(a, notified_.count(a.incident_id) > 0);
  }
  try {
    state_.save(kIncidentsDocument, doc);
  } catch (const Error& e) {
    spdlog::warn("alerting: open incidents not kept: {}", e.what());
  }
}

void Alerter::stop() { sub_ = Subscription(); }

void Alerter::watch(docker::ContainerCache& cache) {
  docker::ContainerCache::Listener l;
  l.on_list = [this, &cache](docker::ContainerCache::ListReason) { observe_containers(cache); };
  l.on_event = [this, &cache](const docker::EventMessage& m) {
    if (m.action.rfind("health_status: ", 0) != 0) return;
    if (auto c = cache.find(m.id)) observe_container(*c);
  };
  cache.add_listener(std::move(l));
}

void Alerter::observe_service(const std::string& service, const std::string& state, const std::string& detail) {
  auto [failures, recoveries] = thresholds(service);
  Signal s;
  s.key = "service:" + service;
  s.bad = state != "up";
  s.type = state == "degraded" ? "service.degraded" : "service.down";
  s.severity = state == "degraded" ? Severity::warning : Severity::critical;
  s.subject = s.service = service;
  s.what = service + (s.bad ? " is " + state : " is up again");
  s.detail = detail;
  s.failures = failures;
  s.recoveries = recoveries;
  on_signal(s);
}

void Alerter::observe_container(const docker::ContainerSummary& c) {
  const auto health = c.health();
  if (health != "healthy" && health != "unhealthy") return;  // starting, or no health check
  if (!docker::in_orch_scope(config_, c.name, c.labels)) return;
  const auto service = docker::service_of(config_, c.name, c.labels);
  auto [failures, recoveries] = thresholds(service);
  Signal s;
  s.key = "container:" + c.name;
  s.bad = health == "unhealthy";
  s.type = "container.unhealthy";
  s.severity = Severity::warning;
  s.subject = c.name;
  s.service = service;
  s.what = "container " + c.name + (s.bad ? " is unhealthy" : " is healthy again");
  s.detail = s.bad ? c.status : "";
  s.failures = failures;
  s.recoveries = recoveries;
  on_signal(s);
}

void Alerter::observe_containers(docker::ContainerCache& cache) {
  std::vector<std::string> present;
  try {
    for (const auto& c : *cache.containers()) {
      present.push_back("container:" + c.name);
      observe_container(c);
    }
  } catch (const Error& e) {
    return;  // not in step with the engine: no signal rather than a false one
  }
  const auto closed = incidents_.close_missing("container:", present, now_ms());
  for (const auto& a : closed) send(a);
  if (!closed.empty()) save_incidents();
}

void Alerter::on_signal(const Signal& s) {
  if (auto a = incidents_.observe(s, now_ms())) {
    send(*a);
    save_incidents();
    return;
  }
  // Still bad, its firing held back by a silence that has ended since: send it now.
  if (!s.bad) return;
  std::optional<Alert> held;
  {
    std::lock_guard lock(mu_);
    auto it = held_.find(s.key);
    if (it == held_.end()) return;
    held = it->second;
  }
  if (!leader() || silences_.matching({held->service, held->subject}, now_ms())) return;
  {
    std::lock_guard lock(mu_);
    held_.erase(s.key);
    notified_.insert(held->incident_id);
  }
  spdlog::info("alert {} {} (silence over)", held->type, held->subject);
  notifier_.dispatch(*held);
  save_incidents();
}

void Alerter::on_event(const Event& e) {
  auto a = one_shot_alert(e);
  if (!a) return;
  send(*a);
}

void Alerter::send(const Alert& a) {
  if (notifier_.empty()) return;
  const std::string key = a.incident_id.substr(0, a.incident_id.rfind('@'));
  if (!a.one_shot && a.status == "resolved") {
    std::lock_guard lock(mu_);
    held_.erase(key);
    // One resolved message per firing message: an incident nobody was told of ends quietly.
    if (!notified_.erase(a.incident_id)) return;
  }
  if (!leader()) {
    // The leader's alerter sends; this one keeps the incident, as told, so that it resolves it
    // should it lead by then.
    if (!a.one_shot && a.status == "firing") {
      std::lock_guard lock(mu_);
      notified_.insert(a.incident_id);
    }
    return;
  }
  const auto silence = silences_.matching({a.service, a.subject}, now_ms());
  if (silence && !a.one_shot && a.status == "firing") {
    std::lock_guard lock(mu_);
    held_[key] = a;
  } else if (!a.one_shot && a.status == "firing") {
    std::lock_guard lock(mu_);
    notified_.insert(a.incident_id);
  }
  if (silence)
    spdlog::info("alert {} {} {} silenced ({} until {}: {})", a.type, a.status, a.subject, silence->source, rfc3339_ms(silence->until_ms),
                 silence->reason);
  else spdlog::info("alert {} {} {}: {}", a.type, a.status, a.subject, a.summary);
  notifier_.dispatch(a, silence.has_value());
}

json Alerter::status() {
  json out = {{"silences", json::array()}, {"incidents", incidents_.open_json()}};
  try {
    for (const auto& s : silences_.active(now_ms())) out["silences"].push_back(s.to_json());
  } catch (const Error& e) {
    out["silences_error"] = e.what();
  }
  return out;
}

}  // namespace orch::notify
