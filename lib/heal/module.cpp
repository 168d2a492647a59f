#include "heal/module.hpp"
#include "core/clock.hpp"

#include <spdlog/spdlog.h>

#include "docker/container_events.hpp"
#include "http/control.hpp"
#include "http/fields.hpp"

namespace orch::heal {

Module::Module(ServeContext& ctx)
    : ctx_(ctx),
      healer_(ctx.config, ctx.docker, ctx.containers, ctx.bus, ctx.metrics, ctx.state, ctx.notifier, ctx.clock,
              parse_scope(ctx.config.settings.str("ORCH_HEAL_SCOPE"))),
      service_healer_(ctx.config, ctx.docker, ctx.bus, ctx.notifier, ctx.state, ctx.clock),
      docker_connected_(ctx.metrics.gauge("orch_docker_connected", "1 when the Docker engine is reachable").get()),
      reconciles_(ctx.metrics.counter("orch_reconcile_total", "Reconciles of the engine's whole state (SPEC §13)").get()) {
  ctx.status.set_component("docker", Health::off, {{"endpoint", ctx.docker.endpoint().describe()}}, ctx.docker_expected);
  ctx.containers.add_listener({[this](bool up, const std::string& why) { on_connection(up, why); },
                               [this](const docker::EventMessage& m) { on_container_event(m); },
                               [this](docker::ContainerCache::ListReason reason) { on_list(reason); }});
  http::control(ctx.http, "/heal", ctx.config.settings.str("ORCH_API_TOKEN"), [this](const json& body) -> http::Reply {
    if (body.contains("reset")) {
      const auto reset = http::field(body, "reset", "");
      if (reset.empty()) throw UsageError("reset must be a container name");
      // A container or a swarm service: the healer lifts the name in the quarantine document.
      const bool service = service_healer_.reset(reset), container = healer_.reset(reset);
      return json{{"reset", reset}, {"was_quarantined", container || service}};
    }
    const bool dry_run = http::field(body, "dry_run", false);
    auto report = healer_.run_pass(dry_run);
    service_healer_.run_pass(dry_run, report);
    return report.to_json();
  });
}

Module::~Module() { stop(); }

void Module::start() {
  const auto& s = ctx_.config.settings;
  // A new leader has not seen the events of its time as a follower: reconcile at once.
  lease_ = std::make_unique<LeaderLease>(s.str("REDIS_URL"), ctx_.instance_id, s.duration("ORCH_LEADER_LEASE"), [this](bool leader) {
    if (leader) request_reconcile();
  });
  healer_.start();
  reconciler_ = std::thread([this] { reconcile_loop(); });
  // `orch heal --reset` (here through POST /heal, or another process through Redis) lifted a
  // quarantine: a container still failing is healed again now, not at the next periodic reconcile.
  reset_sub_ = ctx_.bus.subscribe([this](const Event&) { request_reconcile(); }, {"heal.reset"});
}

void Module::stop() {
  reset_sub_.reset();
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (reconciler_.joinable()) reconciler_.join();
  healer_.stop();
  lease_.reset();
}

void Module::on_reconcile(ReconcileListener listener) { listeners_.push_back(std::move(listener)); }

bool Module::is_leader() const { return !lease_ || lease_->is_leader(); }

void Module::request_reconcile() {
  {
    std::lock_guard lock(mu_);
    requested_ = true;
  }
  cv_.notify_all();
}

void Module::on_list(docker::ContainerCache::ListReason reason) {
  // Connected (again): events from now on arrive live, so a die seen later is judged by the
  // kill/stop events seen with it.
  if (reason == docker::ContainerCache::ListReason::connected) healer_.on_connected(unix_ns());
  request_reconcile();
}

// One thread runs every reconcile, so two never overlap; requests made meanwhile coalesce. The
// interval is the cache's: each of its periodic lists asks for one.
void Module::reconcile_loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait(lock, [&] { return stopping_ || requested_; });
    if (stopping_) break;
    requested_ = false;
    lock.unlock();
    reconcile_now();
    lock.lock();
  }
}

void Module::reconcile_now() {
  if (!is_leader()) return;  // the leader reconciles; a follower catches up when it takes over
  docker::ContainerList all;
  try {
    all = ctx_.containers.containers();  // as the cache's last list and the events since left them
  } catch (const Error& e) {
    spdlog::debug("reconcile skipped: {}", e.what());  // the cache's next list asks again
    return;
  }
  reconciles_.inc();
  spdlog::debug("reconcile: {} containers", all->size());
  try {
    healer_.reconcile(*all);
  } catch (const Error& e) {
    spdlog::warn("reconcile: healer: {}", e.what());
  }
  docker::SwarmView swarm;
  try {
    swarm = service_healer_.reconcile();  // one GET /info outside a swarm
  } catch (const Error& e) {
    spdlog::warn("reconcile: swarm: {}", e.what());
  }
  for (const auto& listener : listeners_) {
    try {
      listener(*all, swarm);
    } catch (const Error& e) {
      spdlog::warn("reconcile: {}", e.what());
    }
  }
}

void Module::on_connection(bool up, const std::string& why) {
  docker_connected_.set(up ? 1 : 0);
  json detail = {{"endpoint", ctx_.docker.endpoint().describe()}};
  if (!up) detail["error"] = why;
  if (up) detail["api_version"] = ctx_.docker.api_version();
  ctx_.status.set_component("docker", up ? Health::ok : (ctx_.docker_expected ? Health::down : Health::off), detail,
                            ctx_.docker_expected);
}

void Module::on_container_event(const docker::EventMessage& m) {
  if (lease_ && !lease_->is_leader()) return;  // one instance per host reports and heals
  if (const auto type = docker::container_event_type(m); !type.empty()) {
    try {
      ctx_.bus.publish(docker::container_event(type, m, ctx_.config));
    } catch (const BusError& e) {
      spdlog::error("container event not stored: {}", e.what());
    }
  }
  healer_.on_event(m);
}

}  // namespace orch::heal
