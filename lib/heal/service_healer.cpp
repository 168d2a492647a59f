#include "heal/service_healer.hpp"
#include "core/clock.hpp"

#include <spdlog/spdlog.h>

#include <set>

#include "core/text.hpp"
#include "docker/identity.hpp"
#include "docker/swarm_events.hpp"

namespace orch::heal {

ServiceHealer::ServiceHealer(const Config& config, docker::Client& docker, Bus& bus, Notifier& notifier, StateStore& state, Clock& clock)
    : config_(config), docker_(docker), bus_(bus), notifier_(notifier), state_(state), clock_(clock) {}

Event ServiceHealer::publish(const Event& e) {
  try {
    bus_.publish(e);
  } catch (const BusError& err) {
    spdlog::error("heal: event {} not stored: {}", e.type, err.what());
  }
  return e;
}

// As for containers (Healer::in_scope): orch.heal=true or autoheal=true on the service (compose
// `deploy: labels:`) or on its containers (compose `labels:`), or everything under
// ORCH_HEAL_SCOPE=all; never one labelled orch.monitor-only=true.
bool ServiceHealer::in_scope(const docker::SwarmService& s) const {
  if (docker::monitor_only(s.labels) || docker::monitor_only(s.container_labels)) return false;
  return docker::heal_labelled(s.labels) || docker::heal_labelled(s.container_labels) || config_.settings.str("ORCH_HEAL_SCOPE") == "all";
}

void ServiceHealer::force_update(docker::Client& docker, const docker::SwarmService& s) {
  // The current version: an update naming an older one is refused (409), as Swarm's CLI does.
  const auto now = docker::inspect_service(docker, s.id);
  json spec = now.spec;
  if (!spec["TaskTemplate"].is_object()) spec["TaskTemplate"] = json::object();
  spec["TaskTemplate"]["ForceUpdate"] = now.force_update + 1;
  docker::Client::checked(
      docker.request("POST", "/services/" + http::url_encode(s.id) + "/update?version=" + std::to_string(now.version), to_text(spec)),
      "update service " + s.name);
}

docker::SwarmView ServiceHealer::reconcile() {
  docker::SwarmView view;
  const auto info = docker::swarm_info(docker_);
  if (!info.manager()) return view;  // not in a swarm, or a worker: nothing to read here
  view.manager = true;
  std::vector<docker::SwarmService> services;
  std::vector<docker::SwarmNode> all_nodes;
  try {
    services = docker::list_services(docker_);
    view.services = services;
    all_nodes = docker::list_nodes(docker_);
  } catch (const docker::DockerError& e) {
    spdlog::warn("swarm: {}", e.what());
    return view;
  }
  json quarantined;
  try {
    quarantined = state_.load(kQuarantineDocument);  // an `orch heal --reset` elsewhere is seen
  } catch (const Error& e) {
    spdlog::warn("swarm heal: cannot read the quarantine list: {}", e.what());
    return view;  // judged without it, a quarantined service could be healed again
  }
  std::lock_guard lock(mu_);
  tracker_.load_quarantine(quarantined);
  nodes(all_nodes);
  const auto now = clock_.now();
  for (const auto& s : services) {
    try {
      look_at(s, now);
    } catch (const docker::DockerError& e) {
      spdlog::warn("swarm heal: {}: {}", s.name, e.what());
    }
  }
  // What the engine no longer has is forgotten: the maps hold the swarm's services and nodes of
  // now, not every one ever seen.
  std::set<std::string> names, node_ids;
  for (const auto& s : services) names.insert(s.name);
  for (const auto& n : all_nodes) node_ids.insert(n.id);
  auto keep_only = [](auto& map, const std::set<std::string>& live) {
    std::erase_if(map, [&](const auto& kv) { return !live.count(kv.first); });
  };
  keep_only(healed_at_ns_, names);
  keep_only(due_, names);
  keep_only(due_reason_, names);
  keep_only(recovering_, names);
  keep_only(node_state_, node_ids);
  return view;
}

void ServiceHealer::nodes(const std::vector<docker::SwarmNode>& all) {
  for (const auto& n : all) {
    auto it = node_state_.find(n.id);
    const std::string old = it == node_state_.end() ? "" : it->second;
    node_state_[n.id] = n.state;
    // A node found down on the first look is announced too: it may have gone down before orch started.
    if (n.state == old || (old.empty() && n.state != "down")) continue;
    if (n.state != "down" && old != "down") continue;  // ready <-> unknown while joining: no news
    auto e = publish(docker::node_state_event(n, old));
    if (n.state == "down")
      notifier_.send(e, "swarm node " + (n.hostname.empty() ? n.id : n.hostname) + " (" + n.id.substr(0, 12) + ", " + n.role + ") is down" +
                            (n.message.empty() ? "" : ": " + n.message));
  }
}

Policy ServiceHealer::policy_of(const docker::SwarmService& s) const {
  // orch.heal.* labels on the service win over those on its containers.
  docker::Labels labels = s.labels;
  labels.insert(s.container_labels.begin(), s.container_labels.end());
  return policy_for(config_.settings, docker::configured_swarm_service(config_, s.name), labels);
}

ServiceHealer::Failures ServiceHealer::failures_since(const docker::SwarmService& s, long long since_ns) {
  Failures f;
  for (const auto& t : docker::list_tasks(docker_, s.id)) {  // newest first
    if (!t.failed()) continue;
    const auto at = docker::engine_time_ns(t.timestamp);
    if (!at || *at <= since_ns) continue;
    if (f.count++ == 0) f.newest = t.error.empty() ? t.state : t.error;
  }
  return f;
}

static long long system_now_ns() { return unix_ns(); }

// Failures count since the service's spec last changed (a heal or a deploy replaces its tasks: the
// engine's UpdatedAt, the same for every orch replica and for `orch heal`), within the window.
static long long failures_counted_from(const docker::SwarmService& s, const Policy& policy, long long now_ns, long long healed_at_ns) {
  long long since_ns = std::max(healed_at_ns, now_ns - std::chrono::duration_cast<std::chrono::nanoseconds>(policy.window).count());
  if (const auto updated = docker::engine_time_ns(s.updated_at)) since_ns = std::max(since_ns, *updated);
  return since_ns;
}

void ServiceHealer::look_at(const docker::SwarmService& s, Clock::time_point now) {
  if (!in_scope(s)) return;
  const auto& key = s.name;
  const Policy policy = policy_of(s);
  const long long now_ns = system_now_ns();
  const auto found = failures_since(s, failures_counted_from(s, policy, now_ns, healed_at_ns_[key]));
  const int failures = found.count;
  std::string reason = found.newest;
  if (failures == 0 && s.running >= s.desired) {
    // Every task runs and none failed since the last heal: healthy (the backoff resets after
    // ORCH_HEAL_RESET_AFTER of this, as for containers).
    due_.erase(key);
    tracker_.on_healthy(key, now);
    if (recovering_.erase(key)) publish(make_heal_event(HealEvent::recovered, {key, key, 0, std::nullopt, "every task running again"}));
    return;
  }
  if (failures < kFailuresToHeal) return;  // Swarm's own restarts may still do it
  if (tracker_.quarantined(key)) return;
  reason = std::to_string(failures) + " tasks failed: " + reason;
  if (!due_.count(key)) {
    const auto d = tracker_.on_failure(key, policy, now);
    if (d.verdict == Verdict::quarantine) {
      tracker_.quarantine(key, now, d.reason);
      recovering_.erase(key);
      const auto entry = tracker_.quarantine_list()[key];
      state_.update(kQuarantineDocument, [&](json& doc) {
        if (!doc.is_object()) doc = json::object();
        doc[key] = entry;
      });
      auto e = publish(make_heal_event(HealEvent::quarantined, {key, key, policy.max_restarts, std::nullopt, d.reason}));
      notifier_.send(e, "orch quarantined swarm service " + key + " (" + d.reason + "); lift with: orch heal --reset " + key);
      return;
    }
    if (d.verdict != Verdict::restart) return;
    due_[key] = now + d.delay;
  }
  if (now < due_[key]) return;  // backoff still running: the next reconcile looks again
  due_.erase(key);
  const int attempt = tracker_.on_restarted(key, now);
  const double next_delay_s = std::chrono::duration<double>(tracker_.delay_after(key, policy)).count();
  try {
    force_update(docker_, s);
    healed_at_ns_[key] = now_ns;
    recovering_[key] = true;
    spdlog::info("swarm heal: force update of {} (attempt {}): {}", key, attempt, reason);
    publish(make_heal_event(HealEvent::restarted, {key, key, attempt, next_delay_s, reason}));
  } catch (const Error& e) {
    HealData d{key, key, attempt, next_delay_s, reason};
    d.error = e.what();
    auto ev = publish(make_heal_event(HealEvent::failed, d));
    notifier_.send(ev, "orch could not force-update swarm service " + key + ": " + e.what());
  }
}

void ServiceHealer::run_pass(bool dry_run, PassReport& report, const ServiceFilter& only) {
  if (!docker::swarm_info(docker_).manager()) return;
  std::vector<docker::SwarmService> services;
  try {
    services = docker::list_services(docker_);
  } catch (const docker::DockerError& e) {
    spdlog::warn("swarm: {}", e.what());  // the containers' actions of the pass are still reported
    return;
  }
  {
    const auto quarantined = state_.load(kQuarantineDocument);  // orch serve's, and resets since
    std::lock_guard lock(mu_);
    tracker_.load_quarantine(quarantined);
  }
  for (const auto& s : services) {
    if (!in_scope(s) || (only && !only(s))) continue;
    const auto found = failures_since(s, failures_counted_from(s, policy_of(s), system_now_ns(), 0));
    if (found.count < kFailuresToHeal) continue;  // Swarm's own restarts may still do it
    Action a{s.name, s.name, std::to_string(found.count) + " tasks failed: " + found.newest, "", "", ""};
    bool quarantined;
    {
      std::lock_guard lock(mu_);
      quarantined = tracker_.quarantined(s.name);
    }
    if (quarantined) a.outcome = "quarantined";
    else if (dry_run) a.outcome = "would-force-update";
    else {
      try {
        force_update(docker_, s);
        a.outcome = "force-updated";
        spdlog::info("swarm heal: force update of {} (orch heal): {}", s.name, a.reason);
        publish(make_heal_event(HealEvent::restarted, {s.name, s.name, 1, 0.0, a.reason}));
      } catch (const Error& e) {
        a.outcome = "failed";
        a.error = e.what();
        HealData d{s.name, s.name, 1, std::nullopt, a.reason};
        d.error = e.what();
        publish(make_heal_event(HealEvent::failed, d));
      }
    }
    report.actions.push_back(std::move(a));
  }
}

bool ServiceHealer::reset(const std::string& service) {
  std::lock_guard lock(mu_);
  const bool was = tracker_.quarantined(service);
  tracker_.reset(service);  // the document itself: the container healer's reset of the same name
  due_.erase(service);
  healed_at_ns_.erase(service);
  return was;
}

}  // namespace orch::heal
