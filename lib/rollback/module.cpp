#include "rollback/module.hpp"
#include "core/clock.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "docker/identity.hpp"
#include "docker/recreate.hpp"
#include "http/control.hpp"
#include "http/fields.hpp"
#include "rollback/deploy.hpp"
#include "rollback/repos.hpp"
#include "rollback/swarm.hpp"
#include "state/documents.hpp"

namespace orch::rollback {

using namespace std::chrono_literals;

Module::Module(ServeContext& ctx) : ctx_(ctx), releases_(ctx.state) {
  configured_repos(ctx.config.settings);  // a malformed ROLLBACK_REPOS stops orch serve (78)
  http::control(ctx.http, "/rollback", ctx.config.settings.str("ORCH_API_TOKEN"), [this](const json& body) -> http::Reply {
    const auto& s = ctx_.config.settings;
    if (const auto clear = http::field(body, "clear", ""); !clear.empty()) {
      bool was = releases_.clear(clear);
      return json{{"cleared", clear}, {"was_pinned", was}};
    }
    if (const auto service = http::field(body, "service", ""); !service.empty()) {
      ServiceOptions o;
      o.service = service;
      o.to = http::field(body, "to", "");
      o.dry_run = http::field(body, "dry_run", false);
      o.health_timeout = s.duration("ROLLBACK_HEALTH_TIMEOUT");
      auto r = rollback_service(ctx_.docker, ctx_.containers, releases_, ctx_.config, &ctx_.bus, o);
      // A rollback that ran, failed and was restored: the status of every failed operation, with
      // its report (what was tried, the error) as the body.
      return {r.ok ? 200 : http::kOperationFailed, r.to_json()};
    }
    if (const auto repo = http::field(body, "repo", ""); !repo.empty()) {
      GitOptions o;
      o.to = http::field(body, "to", "");
      o.steps = http::field(body, "steps", 1);
      o.mode = http::field(body, "mode", "checkout");
      o.dry_run = http::field(body, "dry_run", false);
      o.tag_pattern = s.str("ROLLBACK_TAG_PATTERN");
      o.repo = resolve_repo(s, repo);  // only ROLLBACK_REPOS, by name or exact path: else 400
      return rollback_and_deploy(s, o);
    }
    throw UsageError("give service or repo");
  });
}

Module::~Module() { stop(); }

void Module::start() {
  sub_ = ctx_.bus.subscribe([this](const Event& e) { on_event(e); }, {"container.started", "heal.quarantined"});
  thread_ = std::thread([this] {
    while (!stop_.wait_for(2s)) tick();
  });
}

void Module::stop() {
  sub_.reset();
  stop_.request_stop();
  if (thread_.joinable()) thread_.join();
  std::vector<std::thread> running;
  {
    std::lock_guard lock(mu_);
    running.swap(rollbacks_);
  }
  for (auto& t : running) t.join();
}

// From the cache when it holds the container with its image id (it inspected it when it was
// created), else from the engine.
docker::ContainerSummary Module::container(const std::string& name) {
  if (auto c = ctx_.containers.find(name); c && !c->image_id.empty()) return *c;
  const auto info = ctx_.docker.inspect(name);
  docker::ContainerSummary c;
  c.id = info.id;
  c.name = info.name;
  c.image = info.image;
  c.image_id = info.image_id;
  c.labels = info.labels;
  return c;
}

void Module::reconcile(const std::vector<docker::ContainerSummary>& all, const docker::SwarmView& swarm) {
  swarm_manager_ = swarm.manager;
  const auto found = releases_of(all, ctx_.config, swarm);
  const auto& s = ctx_.config.settings;
  if (found.complete)  // a manager whose services could not be listed: the swarm's are not gone
    for (const auto& service : releases_.forget_gone(found.present, unix_ms(), s.duration("ROLLBACK_HISTORY_RETENTION"),
                                                     static_cast<size_t>(s.integer("ROLLBACK_HISTORY_MAX")))) {
      spdlog::info("release: {} forgotten (no container for {}, or over ROLLBACK_HISTORY_MAX)", service,
                   format_duration(s.duration("ROLLBACK_HISTORY_RETENTION")));
      std::lock_guard lock(mu_);
      healthy_since_ms_.erase(service);
    }
  for (const auto& service : releases_.record_running(found.running, unix_ms())) {
    spdlog::info("release: {} runs a release not recorded before (found by reconcile)", service);
    std::lock_guard lock(mu_);
    healthy_since_ms_.erase(service);
  }
}

void Module::on_event(const Event& e) {
  if (!is_leader_()) return;  // the leader's module records and acts
  if (e.type == "container.started") {
    try {
      const auto c = container(e.data.value("container", e.subject));
      // A swarm task's container is no release of its own: its service's spec image is (reconcile).
      if (docker::moved_aside(c.name) || docker::swarm_task(c.labels)) return;
      auto service = docker::service_of(ctx_.config, c.name, c.labels);
      if (releases_.record_start(service, c.image_id, c.image, unix_ms())) {
        spdlog::info("release: {} now runs {} ({})", service, c.image, c.image_id.substr(0, 19));
        std::lock_guard lock(mu_);
        healthy_since_ms_.erase(service);
      }
    } catch (const Error& err) {
      spdlog::debug("release: cannot record {}: {}", e.subject, err.what());
    }
  } else if (e.type == "heal.quarantined") {
    try {
      const std::string name = e.data.value("container", e.subject);
      // A swarm service's quarantine (heal/service_healer.hpp) names the service, under which its
      // release is recorded.
      if (const auto h = releases_.get(name); h.contains("current") && h["current"].value("swarm", false)) {
        std::lock_guard lock(mu_);
        rollbacks_.emplace_back([this, name] { automatic(name, "quarantined by the healer"); });
        return;
      }
      const auto c = container(name);
      std::lock_guard lock(mu_);
      rollbacks_.emplace_back(
          [this, service = docker::service_of(ctx_.config, c.name, c.labels)] { automatic(service, "quarantined by the healer"); });
    } catch (const Error&) {
    }
  }
}

// Each tick: promote healthy releases to last-known-good; roll back ones not healthy in time.
void Module::tick() {
  if (!is_leader_()) return;
  json doc;
  docker::ContainerList all;
  try {
    doc = ctx_.state.load(kReleasesDocument);
    if (!doc.is_object()) return;
    all = ctx_.containers.containers();  // the cache's: no engine request, whatever the number of services
  } catch (const Error&) {
    return;
  }
  const auto is_swarm = [](const json& h) { return h.is_object() && h.contains("current") && h["current"].value("swarm", false); };
  // Swarm services: one GET /services?status=true per tick, on a swarm manager with a swarm release
  // recorded; outside a swarm, nothing more than the cache.
  std::optional<std::vector<docker::SwarmService>> services;
  if (swarm_manager_ && std::any_of(doc.begin(), doc.end(), is_swarm)) {
    try {
      services = docker::list_services(ctx_.docker);
    } catch (const Error& e) {
      spdlog::debug("release: cannot list swarm services: {}", e.what());
    }
  }
  if (services) {
    // A new spec is a release from the tick that sees it, not only from the next reconcile.
    std::vector<Releases::Running> changed;
    for (const auto& x : *services)
      if (doc.contains(x.name) && is_swarm(doc[x.name]) && doc[x.name]["current"].value("image_id", "") != x.spec_image)
        changed.push_back({x.name, x.spec_image, x.image, true});
    try {
      for (const auto& service : releases_.record_running(changed, unix_ms())) {
        spdlog::info("release: swarm service {} now runs {}", service, doc[service]["current"].value("image", ""));
        std::lock_guard lock(mu_);
        healthy_since_ms_.erase(service);
      }
      if (!changed.empty()) doc = ctx_.state.load(kReleasesDocument);
    } catch (const Error& e) {
      spdlog::debug("release: {}", e.what());
      return;
    }
  }
  const ServiceContainers by_service(*all, ctx_.config);
  const auto& s = ctx_.config.settings;
  const long long now = unix_ms();
  for (const auto& [service, h] : doc.items()) {
    if (!h.is_object() || !h.contains("current")) continue;
    const auto& cur = h["current"];
    const std::string image_id = cur.value("image_id", "");
    const bool swarm = is_swarm(h);
    bool is_lkg = h.contains("lkg") && h["lkg"].value("image_id", "") == image_id;
    bool healthy = false;
    if (swarm) {
      if (!services) continue;
      // (A lambda may not capture a structured binding before clang 16: the fuzz build's clang-15.)
      const std::string& name = service;
      const auto x = std::find_if(services->begin(), services->end(), [&](const docker::SwarmService& v) { return v.name == name; });
      if (x == services->end() || x->spec_image != image_id) continue;
      healthy = swarm_service_healthy(*x);
    } else {
      const auto* c = by_service.find(service);
      if (!c || c->image_id != image_id) continue;
      const auto health = c->health();
      healthy = c->state == "running" && (health.empty() || health == "healthy");
    }
    long long since = 0;
    {
      std::lock_guard lock(mu_);
      if (!healthy) healthy_since_ms_.erase(service);
      else since = healthy_since_ms_.try_emplace(service, now).first->second;
    }
    if (healthy && !is_lkg && now - since >= s.duration("ORCH_LKG_AFTER").count()) {
      releases_.set_lkg(service, image_id, cur.value("image", ""), now, swarm);
      // A tag keeps the image from `docker image prune`. Not for a swarm service: its image is on
      // the nodes that run its tasks (or in a registry), not necessarily on this engine.
      std::string repo = cur.value("image", "");
      repo = repo.substr(0, repo.rfind(':') == std::string::npos || repo.rfind(':') < repo.rfind('/') ? repo.size() : repo.rfind(':'));
      try {
        if (!swarm && !repo.empty() && repo.rfind("sha256", 0) != 0) ctx_.docker.image_tag(image_id, repo, "orch-lkg");
      } catch (const Error& e) {
        spdlog::warn("release: cannot tag {}:orch-lkg: {}", repo, e.what());
      }
      spdlog::info("release: {} ({}) is last-known-good", service, cur.value("image", ""));
    }
    const long long age = now - cur.value("since_ms", now);
    if (!healthy && !is_lkg && age >= s.duration("ROLLBACK_UNHEALTHY_AFTER").count() && age <= s.duration("ROLLBACK_WINDOW").count())
      automatic(service, "not healthy " + format_duration(s.duration("ROLLBACK_UNHEALTHY_AFTER")) + " after the image change");
  }
}

void Module::automatic(const std::string& service, const std::string& reason) {
  const auto& s = ctx_.config.settings;
  auto h = releases_.get(service);
  if (!h.contains("current") || !h.contains("lkg")) return;
  const std::string current = h["current"].value("image_id", "");
  if (h["lkg"].value("image_id", "") == current) return;
  if (unix_ms() - h["current"].value("since_ms", 0LL) > s.duration("ROLLBACK_WINDOW").count()) return;
  if (h.contains("pinned") && !h["pinned"].is_null()) return;
  if (h.contains("rolled_back"))
    for (const auto& id : h["rolled_back"])
      if (id == current) return;  // once per release
  ServiceOptions o;
  o.service = service;
  o.automatic = true;
  o.reason = reason;
  o.health_timeout = s.duration("ROLLBACK_HEALTH_TIMEOUT");
  ServiceResult r;
  try {
    r = rollback_service(ctx_.docker, ctx_.containers, releases_, ctx_.config, &ctx_.bus, o);
  } catch (const UsageError& e) {
    // A refusal (no LKG of the service's kind, a container made by a rollback) holds for this
    // release: said once, not on every tick of the window.
    releases_.mark_rolled_back(service, current);
    spdlog::warn("automatic rollback of {} not done: {}", service, e.what());
    return;
  } catch (const Error& e) {
    spdlog::warn("automatic rollback of {} not done: {}", service, e.what());  // tried again on the next tick
    return;
  }
  releases_.mark_rolled_back(service, current);
  if (r.ok) {
    releases_.pin(service, "automatic rollback: " + reason);
    // The replacement carries the same name (a swarm service keeps its own): lift the healer's
    // quarantine of that name.
    ctx_.state.update(kQuarantineDocument, [&](json& q) {
      if (q.is_object()) q.erase(r.container);
    });
  }
  ctx_.notifier.send(make_event(r.ok ? "rollback.succeeded" : "rollback.failed", service, r.to_json()),
                     "orch " + std::string(r.ok ? "rolled back " : "could not roll back ") + service + " (" + reason + ")" +
                         (r.ok ? "; pinned until: orch rollback --clear " + service : ": " + r.error));
  spdlog::warn("automatic rollback of {} {}: {}", service, r.ok ? "done" : "failed", reason);
}

}  // namespace orch::rollback
