#include "rollback/swarm.hpp"

#include <spdlog/spdlog.h>

#include <thread>

#include "core/text.hpp"
#include "docker/identity.hpp"

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

ServiceResult rollback_swarm_service(docker::Client& docker, const docker::SwarmService& s, Bus* bus, const ServiceOptions& o) {
  if (o.automatic) throw UsageError(s.name + " is a swarm service: automatic rollback of swarm services is not done yet");
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
  while (true) {
    if (o.cancelled && o.cancelled()) {
      r.error = "cancelled while Swarm rolls back (the rollback goes on)";
      break;
    }
    for (const auto& x : docker::list_services(docker)) {
      if (x.id != s.id) continue;
      state = x.update_state;
      // The spec names the target at once; Swarm then replaces the tasks (updating /
      // rollback_started) and says when it is done.
      const bool moving = state == "updating" || state == "rollback_started";
      if (x.image == r.to && !moving && x.running >= x.desired) r.ok = true;
      if (state == "paused" || state == "rollback_paused") r.error = "Swarm's update is " + state;
    }
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
