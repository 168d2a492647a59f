#include "heal/healer.hpp"
#include "core/clock.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "docker/identity.hpp"
#include "docker/recreate.hpp"
#include "heal/events.hpp"

namespace orch::heal {

using namespace std::chrono_literals;

Scope parse_scope(const std::string& s) {
  if (s == "labelled" || s == "labeled") return Scope::labelled;
  if (s == "all") return Scope::all;
  throw ConfigError("heal scope must be 'labelled' or 'all', got '" + s + "'");
}

json Action::to_json() const {
  json j = {{"container", container}, {"service", service}, {"reason", reason}, {"outcome", outcome}};
  if (!error.empty()) j["error"] = error;
  if (!detail.empty()) j["detail"] = detail;
  return j;
}

int PassReport::exit_code() const {
  int code = 0;
  for (const auto& a : actions) {
    if (a.outcome == "failed" || a.outcome == "quarantined") return 2;
    if (a.outcome == "restarted" || a.outcome == "would-restart" || a.outcome == "force-updated" || a.outcome == "would-force-update")
      code = 1;
  }
  return code;
}

json PassReport::to_json() const {
  json list = json::array();
  for (const auto& a : actions) list.push_back(a.to_json());
  return {{"actions", list}, {"exit_code", exit_code()}};
}

Healer::Healer(const Config& config, docker::Client& docker, docker::ContainerSource& containers, Bus& bus, Metrics& metrics,
               StateStore& state, Notifier& notifier, Clock& clock, Scope scope)
    : config_(config),
      docker_(docker),
      containers_(containers),
      bus_(bus),
      state_(state),
      notifier_(notifier),
      clock_(clock),
      scope_(scope),
      actions_(metrics.counter("orch_heal_actions_total", "Heal actions, by result", {"result"})),
      healthy_(metrics.gauge("orch_container_healthy", "1 healthy/running, 0 unhealthy/exited, per watched container", {"container"})) {
  sync_quarantine();
}

Healer::~Healer() { stop(); }

void Healer::start() { worker_ = std::thread([this] { worker(); }); }

void Healer::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

// Another process (orch heal --reset) may have changed the list: reload before deciding.
void Healer::sync_quarantine() {
  try {
    auto doc = state_.load(kQuarantineDocument);
    std::lock_guard lock(mu_);
    tracker_.load_quarantine(doc);
  } catch (const Error& e) {
    spdlog::warn("heal: cannot read the quarantine list: {}", e.what());
  }
}

bool Healer::in_scope(const std::string& name, const docker::Labels& labels) const {
  if (docker::monitor_only(labels)) return false;
  // A rollback's old container, stopped while its replacement is tried: healing it would fight
  // the rollback (its stop failed "is not running" when a restart of ours got there first).
  if (docker::moved_aside(name)) return false;
  // A swarm task's container is Swarm's to restart; orch heals its service (heal/service_healer.hpp).
  if (docker::swarm_task(labels)) return false;
  if (scope_ == Scope::all) return true;
  return docker::heal_labelled(labels);
}

const ServiceSpec* Healer::service_spec(const docker::ContainerInfo& c) const {
  return docker::configured_service(config_, c.name, c.labels);
}

std::string Healer::service_of(const docker::ContainerInfo& c) const { return docker::service_of(config_, c.name, c.labels); }

bool Healer::docker_will_restart(const docker::ContainerInfo& c) const {
  if (c.restart_policy == "always" || c.restart_policy == "unless-stopped") return true;
  if (c.restart_policy == "on-failure")
    return c.restart_max_retries == 0 || c.restart_count < c.restart_max_retries;
  return false;
}

Event Healer::publish(HealEvent kind, const HealData& data) {
  auto e = make_heal_event(kind, data);
  publish(e);
  return e;
}

void Healer::publish(const Event& e) {
  try {
    bus_.publish(e);
  } catch (const BusError& err) {
    spdlog::error("heal: event {} not stored: {}", e.type, err.what());
  }
}

void Healer::left_alone(const docker::ContainerInfo& c, const std::string& reason, const std::string& why, const char* from) {
  spdlog::info("heal: {}{} {}: left alone: {}", from, c.name, reason, why);
  publish(make_left_alone_event(c.name, service_of(c), reason, why));
}

// The exit code in a list entry's status ("Exited (137) 2 minutes ago"); nullopt when absent.
static std::optional<int> listed_exit_code(const std::string& status) {
  int code = 0;
  if (std::sscanf(status.c_str(), "Exited (%d)", &code) == 1) return code;
  return std::nullopt;
}

Healer::Assessment Healer::assess(const docker::ContainerInfo& c, const StopEvidence& evidence) const {
  Assessment a;
  if (c.running && c.health && c.health->status == "unhealthy") {
    a.reason = "unhealthy";
    return a;
  }
  if (c.running || c.restarting || c.status != "exited") return a;
  if (c.exit_code == 0 && !c.oom_killed) return a;  // a clean exit is not a failure
  if (docker_will_restart(c)) return a;             // Docker's own restart policy acts
  a.reason = c.oom_killed ? "oom" : "exited " + std::to_string(c.exit_code);
  auto verdict = exit_cause(c, evidence);
  if (verdict.cause != ExitCause::crashed) {
    a.left = verdict.why;
    a.person = verdict.cause == ExitCause::stopped;
  }
  return a;
}

void Healer::on_connected(long long ns) {
  std::lock_guard lock(mu_);
  live_since_ns_ = ns;
}

StopEvidence Healer::live_evidence(const std::string& id) {
  StopEvidence ev;
  std::lock_guard lock(mu_);
  if (auto it = stops_.find(id); it != stops_.end()) ev.events = it->second;
  if (live_since_ns_ > 0) ev.complete_from_ns = live_since_ns_;
  return ev;
}

void Healer::add_live_evidence(StopEvidence& ev) {
  std::lock_guard lock(mu_);
  for (const auto& [id, list] : stops_) ev.events.insert(ev.events.end(), list.begin(), list.end());
}

void Healer::on_event(const docker::EventMessage& m) {
  const auto now = clock_.now();
  const std::string& action = m.action;
  std::unique_lock lock(mu_);
  if (action == "destroy") {
    stops_.erase(m.id);
    last_oom_.erase(m.id);
    settled_.erase(m.id);
    settled_revision_.erase(m.id);
    return;
  }
  if (action == "kill" || action == "stop") {
    auto& list = stops_[m.id];
    list.push_back(m);
    if (list.size() > 4) list.erase(list.begin());  // a stop is at most kill, kill, stop
    return;
  }
  if (action == "oom") {
    last_oom_[m.id] = m.time_nano;
    return;
  }
  if (acting_.count(m.id)) {
    if (action != "start") return;
    acting_.erase(m.id);  // our restart completed: it runs from now on (ORCH_HEAL_RESET_AFTER counts from here)
  }
  const auto name = m.attribute("name");
  if (action == "health_status: healthy" || (action == "start")) {
    tracker_.on_healthy(name, now);
    healthy_.labels({name}).set(1);
    if (action == "health_status: healthy" && recovering_.erase(m.id)) {
      lock.unlock();
      publish(HealEvent::recovered, {name, docker::service_of(config_, name, m.attributes), 0, std::nullopt, "healthy again", ""});
      actions_.labels({"recovered"}).inc();
    }
    return;
  }
  if (action == "health_status: unhealthy") {
    healthy_.labels({name}).set(0);
    lock.unlock();
    docker::ContainerInfo c;
    try {
      c = docker_.inspect(m.id);
    } catch (const Error& e) {
      spdlog::warn("heal: cannot inspect {}: {}", name, e.what());
      return;
    }
    if (in_scope(c) && c.running && c.health && c.health->status == "unhealthy") schedule(c, "unhealthy");
    return;
  }
  if (action == "die") {
    healthy_.labels({name}).set(0);
    auto oom = last_oom_.find(m.id);
    const bool oom_event = oom != last_oom_.end() && m.time_nano - oom->second < 15'000'000'000LL;
    if (m.attribute("exitCode") == "0" && !oom_event) return;
    lock.unlock();
    on_die(m.id, m.attribute("exitCode"), oom_event);
  }
}

void Healer::on_die(const std::string& id, const std::string& exit_code, bool oom_event) {
  docker::ContainerInfo c;
  try {
    c = docker_.inspect(id);
  } catch (const Error& e) {
    spdlog::warn("heal: cannot inspect {}: {}", id, e.what());
    return;
  }
  if (!in_scope(c)) return;
  if (oom_event) c.oom_killed = true;  // the oom event came with this die
  // Docker may have restarted it already (inspect says running): the code is the die event's.
  if (docker_will_restart(c)) {
    left_alone(c, oom_event ? "oom" : "exited " + exit_code, "its restart policy '" + c.restart_policy + "' restarts it");
    return;
  }
  auto a = assess(c, live_evidence(c.id));
  if (!a.left.empty() && !a.person) {
    // The live stream began too recently to be sure (orch just started or reconnected): the
    // engine's own log may reach back further.
    auto ev = engine_evidence(docker_);
    add_live_evidence(ev);
    a = assess(c, ev);
  }
  if (a.reason.empty()) return;
  if (!a.left.empty()) {
    left_alone(c, a.reason, a.left);
    std::lock_guard lock(mu_);
    settled_[c.id] = c.finished_at;
    return;
  }
  schedule(c, a.reason);
}

void Healer::schedule(const docker::ContainerInfo& c, const std::string& reason) {
  std::vector<std::string> warnings;
  auto policy = policy_for(config_.settings, service_spec(c), c.labels, &warnings);
  for (const auto& w : warnings) spdlog::warn("heal: {}: {}", c.name, w);
  sync_quarantine();
  std::unique_lock lock(mu_);
  if (scheduled_.count(c.id) || acting_.count(c.id)) return;
  auto d = tracker_.on_failure(c.name, policy, clock_.now());
  if (d.verdict == Verdict::ignore) return;
  if (d.verdict == Verdict::quarantine) {
    tracker_.quarantine(c.name, clock_.now(), d.reason);
    auto list = tracker_.quarantine_list();
    lock.unlock();
    try {
      state_.save(kQuarantineDocument, list);
    } catch (const Error& e) {
      spdlog::error("heal: quarantine of {} not persisted: {}", c.name, e.what());
    }
    auto e = publish(HealEvent::quarantined, {c.name, service_of(c), policy.max_restarts, std::nullopt, d.reason, ""});
    actions_.labels({"quarantined"}).inc();
    notifier_.send(e, "orch quarantined " + c.name + " (" + d.reason + "); lift with: orch heal --reset " + c.name);
    spdlog::warn("heal: {} quarantined: {}", c.name, d.reason);
    return;
  }
  scheduled_.insert(c.id);
  jobs_.push_back({clock_.now() + d.delay, c.id, c.name, reason});
  std::push_heap(jobs_.begin(), jobs_.end(), std::greater<>());
  if (d.delay.count() > 0) spdlog::info("heal: {} {}: restart in {} (backoff)", c.name, reason, format_duration(d.delay));
  cv_.notify_all();
}

void Healer::reconcile(const std::vector<docker::ContainerSummary>& all) {
  sync_quarantine();
  std::optional<StopEvidence> engine_log;  // read when the first exited candidate needs it
  std::set<std::string> present, names;
  for (const auto& s : all) {
    present.insert(s.id);
    names.insert(s.name);
    const bool unhealthy = s.state == "running" && s.health() == "unhealthy";
    healthy_.labels({s.name}).set(s.state == "running" && !unhealthy ? 1 : 0);
    if (!in_scope(s.name, s.labels)) continue;
    if (!unhealthy && s.state != "exited") continue;
    if (s.state == "exited" && listed_exit_code(s.status) == 0) continue;
    {
      std::lock_guard lock(mu_);
      if (scheduled_.count(s.id) || acting_.count(s.id) || tracker_.quarantined(s.name)) continue;
      // Judged before and unchanged since (the cache says so): no inspect.
      if (auto it = settled_revision_.find(s.id); s.revision != 0 && it != settled_revision_.end() && it->second == s.revision) continue;
    }
    docker::ContainerInfo c;
    try {
      c = docker_.inspect(s.id);
    } catch (const docker::NotFoundError&) {
      continue;  // removed meanwhile
    } catch (const Error& e) {
      spdlog::warn("heal: reconcile: cannot inspect {}: {}", s.name, e.what());
      return;
    }
    if (!c.running) {
      std::lock_guard lock(mu_);
      if (auto it = settled_.find(c.id); it != settled_.end() && it->second == c.finished_at) {
        if (s.revision != 0) settled_revision_[c.id] = s.revision;
        continue;  // judged before
      }
    }
    if (!c.running && !engine_log) {
      engine_log = engine_evidence(docker_);
      add_live_evidence(*engine_log);
    }
    auto a = assess(c, c.running ? StopEvidence{} : *engine_log);
    if (a.reason.empty()) continue;
    if (!a.left.empty()) {
      left_alone(c, a.reason, a.left, "reconcile: ");
      std::lock_guard lock(mu_);
      settled_[c.id] = c.finished_at;
      if (s.revision != 0) settled_revision_[c.id] = s.revision;
      continue;
    }
    spdlog::info("heal: reconcile: {} {}: healing", c.name, a.reason);
    schedule(c, a.reason);
  }
  std::lock_guard lock(mu_);
  // A removed container's gauge goes with it. Under mu_: on_event sets gauges under it too, so no
  // series is dropped between its labels() and its set().
  healthy_.retain([&](const Labels& l) { return !l.empty() && names.count(l[0]); });
  for (auto it = settled_.begin(); it != settled_.end();) it = present.count(it->first) ? std::next(it) : settled_.erase(it);
  for (auto it = settled_revision_.begin(); it != settled_revision_.end();)
    it = present.count(it->first) ? std::next(it) : settled_revision_.erase(it);
}

void Healer::worker() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (jobs_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto now = clock_.now();
    if (jobs_.front().due > now) {
      cv_.wait_for(lock, std::chrono::duration_cast<std::chrono::milliseconds>(jobs_.front().due - now));
      continue;
    }
    std::pop_heap(jobs_.begin(), jobs_.end(), std::greater<>());
    Job job = jobs_.back();
    jobs_.pop_back();
    scheduled_.erase(job.id);
    acting_[job.id] = now;
    lock.unlock();
    act(job);
    lock.lock();
  }
}

bool Healer::restart_container(const docker::ContainerInfo& c, const Policy& p, std::string& error) {
  try {
    docker_.restart(c.id, p.stop_timeout_s ? p.stop_timeout_s : c.stop_timeout);
    return true;
  } catch (const Error& e) {
    error = e.what();
    return false;
  }
}

void Healer::record_heal(const std::string& container, const std::string& reason) {
  const long long now_ms = unix_ms();
  try {
    state_.update(kHealLogDocument, [&](json& doc) {
      if (!doc.is_object()) doc = json::object();
      auto& entry = doc[container];
      entry = {{"restarts", entry.is_object() ? entry.value("restarts", 0) + 1 : 1}, {"last_ms", now_ms}, {"reason", reason}};
      // Bounded: the containers healed longest ago go first.
      while (doc.size() > static_cast<size_t>(kHealLogMax)) {
        auto oldest = doc.begin();
        for (auto it = doc.begin(); it != doc.end(); ++it)
          if (it->value("last_ms", 0LL) < oldest->value("last_ms", 0LL)) oldest = it;
        doc.erase(oldest);
      }
    });
  } catch (const Error& e) {
    spdlog::debug("heal: heal record of {} not kept: {}", container, e.what());
  }
}

void Healer::act(const Job& job) {
  docker::ContainerInfo c;
  try {
    c = docker_.inspect(job.id);
  } catch (const Error& e) {
    std::lock_guard lock(mu_);
    acting_.erase(job.id);
    return;
  }
  auto policy = policy_for(config_.settings, service_spec(c), c.labels);
  // Still failing? A container that recovered while we waited out the backoff is left alone.
  bool failing = (c.health && c.health->status == "unhealthy") || (!c.running && !c.restarting);
  // `docker stop` reports its `stop` event just after the `die`: a stop that arrived while the
  // restart waited is a person's after all.
  if (failing && !c.running && exit_cause(c, live_evidence(c.id)).cause == ExitCause::stopped) {
    left_alone(c, job.reason, "stopped through the API while the restart waited");
    std::lock_guard lock(mu_);
    settled_[c.id] = c.finished_at;
    acting_.erase(job.id);
    return;
  }
  if (!failing) {
    left_alone(c, job.reason, c.restarting ? "Docker is restarting it already" : "running again before the restart was due");
    std::lock_guard lock(mu_);
    acting_.erase(job.id);
    return;
  }
  std::string error;
  // Said when decided: a restart waits for the stop timeout, and an operator watching the log
  // should see why orch acts before it has.
  spdlog::info("heal: restarting {} ({})", c.name, job.reason);
  bool ok = restart_container(c, policy, error);
  const auto now = clock_.now();
  int attempt = 0;
  Millis next{0};
  {
    std::lock_guard lock(mu_);
    // A failed restart counts against the budget too: reconciles retry it, and a container that
    // cannot be restarted ends quarantined instead of failing every reconcile for ever.
    attempt = tracker_.on_restarted(c.name, now);
    next = tracker_.delay_after(c.name, policy);
    if (ok) recovering_.insert(c.id);
    acting_.erase(job.id);
  }
  const auto service = service_of(c);
  if (ok) {
    actions_.labels({"restarted"}).inc();
    publish(HealEvent::restarted, {c.name, service, attempt, next.count() / 1000.0, job.reason, ""});
    spdlog::info("heal: restarted {} ({}; attempt {})", c.name, job.reason, attempt);
    record_heal(c.name, job.reason);
    restart_dependents(c);
  } else {
    actions_.labels({"failed"}).inc();
    auto e = publish(HealEvent::failed, {c.name, service, attempt, std::nullopt, job.reason, error});
    notifier_.send(e, "orch could not restart " + c.name + ": " + error);
    spdlog::error("heal: restart of {} failed: {}", c.name, error);
  }
}

void Healer::restart_dependents(const docker::ContainerInfo& healed) {
  docker::ContainerList all;
  try {
    all = containers_.containers();
  } catch (const Error& e) {
    spdlog::warn("heal: cannot list dependents of {}: {}", healed.name, e.what());
    return;
  }
  const auto service = service_of(healed);
  for (const auto& s : *all) {
    if (s.id == healed.id) continue;
    // The list carries the network mode: no inspect per container.
    bool depends = s.network_mode == "container:" + healed.id || s.network_mode == "container:" + healed.name;
    if (auto it = s.labels.find("orch.depends-on"); it != s.labels.end()) {
      std::stringstream ss(it->second);
      std::string item;
      while (std::getline(ss, item, ','))
        if (item == healed.name || item == service) depends = true;
    }
    if (!depends) continue;
    {
      std::lock_guard lock(mu_);
      acting_[s.id] = clock_.now();
    }
    const HealData data{s.name, docker::service_of(config_, s.name, s.labels), 1, 0.0, "depends on " + healed.name, ""};
    try {
      // Its own stop timeout, as for the healed one: orch.stop.timeout, else its StopTimeout.
      const auto stop_s = policy_for(config_.settings, docker::configured_service(config_, s.name, s.labels), s.labels).stop_timeout_s;
      docker_.restart(s.id, stop_s ? stop_s : docker_.inspect(s.id).stop_timeout);
      actions_.labels({"dependent_restarted"}).inc();
      publish(HealEvent::restarted, data);
      record_heal(s.name, data.reason);
    } catch (const Error& e) {
      spdlog::error("heal: restart of dependent {} failed: {}", s.name, e.what());
      actions_.labels({"failed"}).inc();
      auto failed = data;
      failed.next_delay_s.reset();
      failed.error = e.what();
      publish(HealEvent::failed, failed);
      std::lock_guard lock(mu_);
      acting_.erase(s.id);
    }
  }
}

PassReport Healer::run_pass(bool dry_run, const ContainerFilter& only) {
  PassReport report;
  sync_quarantine();
  auto all = containers_.containers();  // UnreachableError propagates: exit 3 (503 for POST /heal)
  std::optional<StopEvidence> engine_log;
  for (const auto& s : *all) {
    // Only failing containers in scope need a closer look.
    if (!in_scope(s.name, s.labels)) continue;
    const bool unhealthy = s.state == "running" && s.health() == "unhealthy";
    if (!unhealthy && (s.state != "exited" || listed_exit_code(s.status) == 0)) continue;
    docker::ContainerInfo c;
    try {
      c = docker_.inspect(s.id);
    } catch (const docker::NotFoundError&) {
      continue;  // removed meanwhile
    }
    if (only && !only(c)) continue;
    if (!c.running && !engine_log) {
      engine_log = engine_evidence(docker_);
      add_live_evidence(*engine_log);
    }
    auto assessment = assess(c, c.running ? StopEvidence{} : *engine_log);
    if (assessment.reason.empty()) continue;
    Action a{c.name, service_of(c), assessment.reason, "", "", ""};
    bool quarantined, busy;
    {
      std::lock_guard lock(mu_);
      quarantined = tracker_.quarantined(c.name);
      busy = scheduled_.count(c.id) || acting_.count(c.id);
    }
    if (!assessment.left.empty()) {
      a.outcome = assessment.person ? "left-alone" : "skipped";
      a.detail = assessment.left;
    } else if (quarantined) a.outcome = "quarantined";
    else if (busy) {
      a.outcome = "skipped";
      a.detail = "orch serve has a restart of it scheduled";
    } else if (dry_run) a.outcome = "would-restart";
    else {
      auto policy = policy_for(config_.settings, service_spec(c), c.labels);
      if (restart_container(c, policy, a.error)) {
        a.outcome = "restarted";
        actions_.labels({"restarted"}).inc();
        publish(HealEvent::restarted, {c.name, a.service, 1, 0.0, a.reason, ""});
        record_heal(c.name, a.reason);
      } else {
        a.outcome = "failed";
        actions_.labels({"failed"}).inc();
        publish(HealEvent::failed, {c.name, a.service, 1, std::nullopt, a.reason, a.error});
      }
    }
    report.actions.push_back(std::move(a));
  }
  return report;
}

bool Healer::reset(const std::string& container) {
  bool was;
  json list;
  sync_quarantine();
  {
    std::lock_guard lock(mu_);
    was = tracker_.quarantined(container);
    tracker_.reset(container);
    list = tracker_.quarantine_list();
  }
  state_.save(kQuarantineDocument, list);
  // The daemon (this process's or another's, through Redis) reconciles on it: a container that is
  // still failing is healed again at once, not at the next periodic reconcile.
  try {
    bus_.publish(make_event("heal.reset", container, {{"container", container}, {"was_quarantined", was}}));
  } catch (const BusError& e) {
    spdlog::warn("heal: event heal.reset not stored: {}", e.what());
  }
  return was;
}

}  // namespace orch::heal
