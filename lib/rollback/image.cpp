#include "rollback/image.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "docker/recreate.hpp"
#include "docker/identity.hpp"
#include "rollback/swarm.hpp"
#include "state/documents.hpp"

namespace orch::rollback {

using namespace std::chrono_literals;
constexpr const char* kDoc = kReleasesDocument;

bool Releases::record_start(const std::string& service, const std::string& image_id, const std::string& image, long long now_ms) {
  bool is_new = false;
  store_.update(kDoc, [&](json& doc) {
    if (!doc.is_object()) doc = json::object();
    auto& s = doc[service];
    if (!s.is_object()) s = json::object();
    if (s.contains("current") && s["current"].value("image_id", "") == image_id) return;
    is_new = true;
    s["current"] = {{"image_id", image_id}, {"image", image}, {"since_ms", now_ms}};
  });
  return is_new;
}

std::vector<std::string> Releases::record_running(const std::vector<Running>& running, long long now_ms) {
  auto is_new = [](const json& doc, const Running& r) {
    return !doc.is_object() || !doc.contains(r.service) || !doc[r.service].is_object() || !doc[r.service].contains("current") ||
           !doc[r.service]["current"].is_object() || doc[r.service]["current"].value("image_id", "") != r.image_id;
  };
  const json before = store_.load(kDoc);
  if (std::none_of(running.begin(), running.end(), [&](const Running& r) { return is_new(before, r); })) return {};
  std::vector<std::string> changed;
  store_.update(kDoc, [&](json& doc) {
    if (!doc.is_object()) doc = json::object();
    for (const auto& r : running) {
      if (!is_new(doc, r)) continue;
      auto& s = doc[r.service];
      if (!s.is_object()) s = json::object();
      if (s.contains("current") && s["current"].is_object() && s["current"].value("swarm", false) != r.swarm) {
        s.erase("lkg");
        s.erase("rolled_back");
      }
      s["current"] = {{"image_id", r.image_id}, {"image", r.image}, {"since_ms", now_ms}};
      if (r.swarm) s["current"]["swarm"] = true;
      changed.push_back(r.service);
    }
  });
  return changed;
}

void Releases::set_lkg(const std::string& service, const std::string& image_id, const std::string& image, long long now_ms, bool swarm) {
  store_.update(kDoc, [&](json& doc) {
    if (!doc.is_object()) doc = json::object();
    doc[service]["lkg"] = {{"image_id", image_id}, {"image", image}, {"since_ms", now_ms}};
    if (swarm) doc[service]["lkg"]["swarm"] = true;
  });
}

json Releases::get(const std::string& service) {
  auto doc = store_.load(kDoc);
  if (!doc.is_object() || !doc.contains(service)) return json::object();
  return doc[service];
}

void Releases::pin(const std::string& service, const std::string& reason) {
  store_.update(kDoc, [&](json& doc) {
    if (!doc.is_object()) doc = json::object();
    doc[service]["pinned"] = reason;
  });
}

bool Releases::clear(const std::string& service) {
  bool was = false;
  store_.update(kDoc, [&](json& doc) {
    if (!doc.is_object() || !doc.contains(service)) return;
    was = doc[service].contains("pinned") && !doc[service]["pinned"].is_null();
    doc[service].erase("pinned");
  });
  return was;
}

void Releases::mark_rolled_back(const std::string& service, const std::string& release_image_id) {
  store_.update(kDoc, [&](json& doc) {
    if (!doc.is_object()) doc = json::object();
    auto& done = doc[service]["rolled_back"];
    // Once: rollback_service marks what it replaced, and the automatic rollback marks the release.
    if (!done.is_array()) done = json::array();
    if (std::find(done.begin(), done.end(), release_image_id) == done.end()) done.push_back(release_image_id);
  });
}

// gone_since_ms marks a service without a container; forgetting drops the longest gone first.
static std::vector<std::string> prune(json& doc, const std::set<std::string>& present, long long now_ms, Millis retention,
                                      size_t max_services, bool& changed) {
  std::vector<std::string> forgotten;
  if (!doc.is_object()) return forgotten;
  std::vector<std::pair<long long, std::string>> gone;  // since, service
  for (auto& [service, h] : doc.items()) {
    if (!h.is_object()) continue;
    if (present.count(service)) {
      if (h.contains("gone_since_ms")) h.erase("gone_since_ms"), changed = true;
      continue;
    }
    if (!h.contains("gone_since_ms") || !h["gone_since_ms"].is_number_integer()) h["gone_since_ms"] = now_ms, changed = true;
    gone.emplace_back(h["gone_since_ms"].get<long long>(), service);
  }
  std::sort(gone.begin(), gone.end());
  size_t kept = doc.size();
  for (const auto& [since, service] : gone) {
    if (now_ms - since <= retention.count() && kept <= max_services) break;
    doc.erase(service);
    forgotten.push_back(service);
    --kept;
    changed = true;
  }
  return forgotten;
}

std::vector<std::string> Releases::forget_gone(const std::set<std::string>& present, long long now_ms, Millis retention,
                                               size_t max_services) {
  json before = store_.load(kDoc);
  bool changed = false;
  prune(before, present, now_ms, retention, max_services, changed);
  if (!changed) return {};
  std::vector<std::string> forgotten;
  store_.update(kDoc, [&](json& doc) {
    bool ignored = false;
    forgotten = prune(doc, present, now_ms, retention, max_services, ignored);
  });
  return forgotten;
}

json ServiceResult::to_json() const {
  json j = {{"service", service}, {"container", container}, {"from", from}, {"to", to}, {"ok", ok}, {"dry_run", dry_run}};
  if (!error.empty()) j["error"] = error;
  return j;
}

static std::string wanted_container(const Config& cfg, const std::string& service) {
  if (const auto* spec = cfg.service(service)) return spec->container;
  return service;
}

ServiceContainers::ServiceContainers(const std::vector<docker::ContainerSummary>& all, const Config& cfg) : all_(all), cfg_(cfg) {
  for (size_t i = 0; i < all.size(); ++i) {
    if (docker::moved_aside(all[i].name)) continue;
    by_name_.try_emplace(all[i].name, i);
    by_service_.try_emplace(docker::service_of(cfg, all[i].name, all[i].labels), i);
  }
}

const docker::ContainerSummary* ServiceContainers::find(const std::string& service) const {
  size_t best = all_.size();
  if (auto it = by_name_.find(wanted_container(cfg_, service)); it != by_name_.end()) best = it->second;
  if (auto it = by_service_.find(service); it != by_service_.end()) best = std::min(best, it->second);
  return best < all_.size() ? &all_[best] : nullptr;
}

const docker::ContainerSummary* find_service_summary(const std::vector<docker::ContainerSummary>& all, const Config& cfg,
                                                     const std::string& service) {
  return ServiceContainers(all, cfg).find(service);
}

docker::ContainerInfo find_service_container(docker::Client& docker, docker::ContainerSource& containers, const Config& cfg,
                                             const std::string& service) {
  const auto all = containers.containers();
  if (const auto* c = find_service_summary(*all, cfg, service)) return docker.inspect(c->id);
  throw UsageError("no container for service '" + service + "' (looked for name or compose service '" + wanted_container(cfg, service) +
                   "')");
}

// Healthy (or, without a health check, running for 3 s) before the deadline.
static bool wait_healthy(docker::Client& docker, const std::string& id, const ServiceOptions& o, std::string& why) {
  const auto timeout = o.health_timeout;
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + timeout;
  std::optional<std::chrono::steady_clock::time_point> running_since;
  auto next_report = start;
  while (std::chrono::steady_clock::now() < deadline) {
    if (o.cancelled && o.cancelled()) {
      why = "cancelled while waiting for the new container to be healthy";
      return false;
    }
    if (o.on_step && std::chrono::steady_clock::now() >= next_report) {
      const auto waited = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start).count();
      o.on_step("waiting for the new container to be healthy: " + std::to_string(waited) + " s of " +
                std::to_string(timeout.count() / 1000) + " s");
      next_report += 2s;
    }
    auto c = docker.inspect(id);
    if (!c.running && !c.restarting) {
      why = "the new container exited with " + std::to_string(c.exit_code);
      return false;
    }
    if (c.health) {
      if (c.health->status == "healthy") return true;
      if (c.health->status == "unhealthy") {
        why = "the new container is unhealthy: " + c.health->last_output;
        return false;
      }
    } else if (c.running) {
      if (!running_since) running_since = std::chrono::steady_clock::now();
      if (std::chrono::steady_clock::now() - *running_since >= 3s) return true;
    }
    std::this_thread::sleep_for(250ms);
  }
  why = "the new container was not healthy within " + std::to_string(timeout.count() / 1000) + " s";
  return false;
}

// Keep the new image's own defaults (command, entrypoint, env, labels) where the old container
// only had its image's: drop from the body what the old image supplied.
static json without_image_defaults(json body, const json& old_image_config) {
  auto same = [&](const char* key) { return body.contains(key) && old_image_config.contains(key) && body[key] == old_image_config[key]; };
  for (const char* key : {"Cmd", "Entrypoint", "WorkingDir", "User", "Healthcheck"})
    if (same(key)) body.erase(key);
  if (body.contains("Env") && old_image_config.contains("Env") && body["Env"].is_array()) {
    json env = json::array();
    for (const auto& e : body["Env"])
      if (std::find(old_image_config["Env"].begin(), old_image_config["Env"].end(), e) == old_image_config["Env"].end()) env.push_back(e);
    body["Env"] = env;
  }
  if (body.contains("Labels") && old_image_config.contains("Labels") && old_image_config["Labels"].is_object())
    for (const auto& [k, v] : old_image_config["Labels"].items())
      if (body["Labels"].contains(k) && body["Labels"][k] == v) body["Labels"].erase(k);
  return body;
}

ServiceResult rollback_service(docker::Client& docker, docker::ContainerSource& containers, Releases& releases, const Config& cfg, Bus* bus,
                               const ServiceOptions& o) {
  // In swarm mode the unit is the service: Swarm's own rollback, or an update to the LKG when
  // automatic (rollback/swarm.hpp).
  if (auto swarm = find_swarm_service(docker, cfg, o.service)) {
    if (!o.automatic) return rollback_swarm_service(docker, *swarm, bus, o);
    auto history = releases.get(swarm->name);  // recorded under the swarm service's own name
    if (history.contains("pinned") && !history["pinned"].is_null())
      throw UsageError(swarm->name + " is pinned after a rollback; lift with orch rollback --clear " + swarm->name);
    ServiceOptions to_lkg = o;
    if (to_lkg.to.empty()) {
      if (!history.contains("lkg") || !history["lkg"].value("swarm", false))
        throw UsageError("no last-known-good spec image is recorded for swarm service '" + swarm->name + "'");
      to_lkg.to = history["lkg"].value("image_id", "");
    }
    if (to_lkg.to == swarm->spec_image) throw UsageError(swarm->name + " already runs " + to_lkg.to);
    return rollback_swarm_service(docker, *swarm, bus, to_lkg);
  }
  ServiceResult r;
  r.service = o.service;
  r.dry_run = o.dry_run;
  auto c = find_service_container(docker, containers, cfg, o.service);
  // A swarm task's container is Swarm's: replacing it would fight Swarm (roll back its service).
  if (docker::swarm_task(c.labels)) throw UsageError(c.name + " is a task of a swarm service: roll back the service");
  r.container = c.name;
  r.from = c.image + " (" + c.image_id.substr(0, 19) + ")";
  auto history = releases.get(o.service);
  if (c.label("orch.rollback.from") != "" && o.to.empty())
    throw UsageError(c.name + " was made by a rollback; orch does not roll back a rollback (give --to to choose an image)");
  if (o.automatic && history.contains("pinned") && !history["pinned"].is_null())
    throw UsageError(o.service + " is pinned after a rollback; lift with orch rollback --clear " + o.service);
  std::string target = o.to, shown = o.to;
  if (target.empty()) {
    if (!history.contains("lkg")) throw UsageError("no last-known-good image is recorded for '" + o.service + "'; give --to IMAGE");
    // Rolled back to by id (the name may have moved on since), shown by the name it ran as.
    target = history["lkg"].value("image_id", "");
    shown = history["lkg"].value("image", "");
    if (shown.empty()) shown = target;
  }
  auto target_image = docker.image_inspect(target);  // NotFound: a usage error below
  const std::string target_id = target_image.value("Id", "");
  if (target_id == c.image_id) throw UsageError(o.service + " already runs " + shown);
  r.to = shown + (target_id.rfind(shown, 0) == 0 ? "" : " (" + target_id.substr(0, 19) + ")");
  if (o.dry_run) {
    r.ok = true;
    return r;
  }
  auto publish = [&](const std::string& type, json extra) {
    if (!bus) return;
    json data = {{"service", o.service}, {"from", c.image_id}, {"to", target_id}, {"reason", o.reason}};
    for (auto& [k, v] : extra.items()) data[k] = v;
    try {
      bus->publish(make_event(type, o.service, data));
    } catch (const BusError& e) {
      spdlog::error("event {} not stored: {}", type, e.what());
    }
  };
  // Cancelled before anything changed: nothing to undo, nothing to announce.
  if (o.cancelled && o.cancelled()) {
    r.error = "cancelled before the container was replaced";
    return r;
  }
  publish("rollback.started", json::object());
  json old_image_config = json::object();
  try {
    old_image_config = docker.image_inspect(c.image_id).value("Config", json::object());
  } catch (const Error&) {
  }
  // Build the replacement's body from the old container minus its image's defaults.
  docker::ContainerInfo templ = c;
  templ.raw["Config"] = without_image_defaults(templ.raw.value("Config", json::object()), old_image_config);
  templ.raw["Config"]["Labels"]["orch.rollback.from"] = c.image_id;
  if (o.on_step) o.on_step("replacing " + c.name + " with a container of " + r.to);
  auto rr =
      docker::recreate(docker, templ, target_id, [&](const std::string& id, std::string& why) { return wait_healthy(docker, id, o, why); });
  r.ok = rr.ok;
  r.error = rr.error;
  if (rr.ok) {
    releases.mark_rolled_back(o.service, c.image_id);
    publish("rollback.succeeded", json::object());
  } else {
    publish("rollback.failed", {{"error", rr.error}});
  }
  return r;
}

}  // namespace orch::rollback
