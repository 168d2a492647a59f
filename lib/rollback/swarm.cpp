#include "rollback/swarm.hpp"

#include <spdlog/spdlog.h>

#include <thread>

#include "core/text.hpp"
#include "docker/identity.hpp"
#include "docker/recreate.hpp"

namespace orch::rollback {

std::optional<docker::SwarmService> find_swarm_service(docker::Client& docker, const Config& cfg, const std::string& service) {
  try {
    if (!docker::swarm_info(docker).manager()) return std::nullopt;
  } catch (const docker::DockerError&) {
    return std::nullopt;  // an engine (or proxy) that refuses GET /info: not a swarm orch can use
  }
  const auto* spec = cfg.service(service);
  for (const auto& s : docker::list_services(docker))
    if (s.name == service || (spec && docker::swarm_service_matches(*spec, s.name))) return s;
  return std::nullopt;
}

bool swarm_service_healthy(const docker::SwarmService& s) {
  const auto& u = s.update_state;
  return s.desired > 0 && s.running >= s.desired && u != "updating" && u != "rollback_started" && u != "paused" && u != "rollback_paused";
}

ReconcileReleases releases_of(const std::vector<docker::ContainerSummary>& all, const Config& cfg, const docker::SwarmView& swarm) {
  ReconcileReleases out;
  std::set<std::string> swarm_names, seen;
  if (swarm.manager && !swarm.services) out.complete = false;
  if (swarm.services)
    for (const auto& s : *swarm.services) {
      swarm_names.insert(s.name);
      out.present.insert(s.name);
      if (!s.spec_image.empty()) out.running.push_back({s.name, s.spec_image, s.image, true});
    }
  for (const auto& c : all) {
    if (docker::moved_aside(c.name) || docker::swarm_task(c.labels)) continue;
    auto service = docker::service_of(cfg, c.name, c.labels);
    if (swarm_names.count(service)) continue;
    out.present.insert(service);
    if (c.state != "running" || c.image_id.empty()) continue;
    if (!seen.insert(service).second) continue;  // the first running container of a service
    out.running.push_back({service, c.image_id, c.image});
  }
  return out;
}

ServiceResult rollback_swarm_service(docker::Client& docker, const docker::SwarmService& s, Bus* bus, const ServiceOptions& o) {
  ServiceResult r;
  r.service = o.service;
  r.container = s.name;  // the unit in swarm mode is the service
  r.dry_run = o.dry_run;
  r.from = s.image;
  if (o.to.empty() && !s.previous_image)
    throw UsageError("swarm service '" + s.name + "' has no previous spec to roll back to (it was never updated); give --to IMAGE");
  r.to = o.to.empty() ? *s.previous_image : o.to;
  if (o.dry_run) {
    r.ok = true;
    return r;
  }
  auto publish = [&](const std::string& type, json extra) {
    if (!bus) return;
    json data = {{"service", o.service}, {"from", r.from}, {"to", r.to}, {"reason", o.reason}};
    for (auto& [k, v] : extra.items()) data[k] = v;
    try {
      bus->publish(make_event(type, o.service, std::move(data)));
    } catch (const BusError& e) {
      spdlog::error("rollback: event {} not stored: {}", type, e.what());
    }
  };
  publish("rollback.started", json::object());
  if (o.on_step) o.on_step("rolling " + s.name + " back to " + r.to);
  const auto now = docker::inspect_service(docker, s.id);  // the current version, or the update is refused
  std::string path = "/services/" + http::url_encode(s.id) + "/update?version=" + std::to_string(now.version);
  json spec = now.spec;
  if (o.to.empty()) {
    path += "&rollback=previous";  // Swarm's own previous spec; the body is not used
  } else {
    spec["TaskTemplate"]["ContainerSpec"]["Image"] = o.to;
  }
  try {
    docker::Client::checked(docker.request("POST", path, to_text(spec)), "update service " + s.name);
  } catch (const docker::DockerError& e) {
    r.error = e.what();
    publish("rollback.failed", {{"error", r.error}});
    return r;
  }
  // Done when Swarm says so and every desired task runs again.
  const auto until = std::chrono::steady_clock::now() + o.health_timeout;
  std::string state;
  std::chrono::steady_clock::time_point settled_since{};  // the epoch: not settled
  while (true) {
    if (o.cancelled && o.cancelled()) {
      r.error = "cancelled while Swarm rolls back (the rollback goes on)";
      break;
    }
    bool settled = false;
    for (const auto& x : docker::list_services(docker)) {
      if (x.id != s.id) continue;
      state = x.update_state;
      // The spec names the target at once (as given, or, for Swarm's previous spec, as shown);
      // Swarm then replaces the tasks (updating / rollback_started) and says when it is done.
      const bool target = x.image == r.to || x.spec_image == r.to;
      const bool moving = state == "updating" || state == "rollback_started";
      if (target && !moving && x.running >= x.desired) {
        if (state == "completed" || state == "rollback_completed") r.ok = true;
        // An update resets UpdateStatus until Swarm's updater starts (and one that replaces no
        // task never sets it): a task of the old spec may run for a moment then, so only a
        // steady 3 s counts, as for a container without a health check.
        else settled = true;
      }
      if (target && (state == "paused" || state == "rollback_paused")) r.error = "Swarm's update is " + state;
    }
    const auto t = std::chrono::steady_clock::now();
    if (!settled) settled_since = {};
    else if (settled_since == std::chrono::steady_clock::time_point{}) settled_since = t;
    else if (t - settled_since >= std::chrono::seconds(3)) r.ok = true;
    if (r.ok || !r.error.empty()) break;
    if (std::chrono::steady_clock::now() >= until) {
      r.error = "not done within " + format_duration(std::chrono::duration_cast<Millis>(o.health_timeout)) + " (update state " +
                (state.empty() ? "none" : state) + ")";
      break;
    }
    if (o.on_step) o.on_step("waiting for Swarm: " + (state.empty() ? std::string("updating") : state));
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  publish(r.ok ? "rollback.succeeded" : "rollback.failed", r.ok ? json::object() : json{{"error", r.error}});
  return r;
}

}  // namespace orch::rollback
