#include "heal/module.hpp"

#include <spdlog/spdlog.h>

#include "docker/identity.hpp"
#include "http/fields.hpp"

namespace orch::heal {

std::string container_event_type(const docker::EventMessage& m) {
  if (m.action == "start") return "container.started";
  if (m.action == "die") return "container.died";
  if (m.action == "oom") return "container.oom";
  if (m.action == "health_status: unhealthy") return "container.unhealthy";
  if (m.action == "health_status: healthy") return "container.healthy";
  return "";
}

Module::Module(ServeContext& ctx)
    : ctx_(ctx),
      healer_(ctx.config, ctx.docker, ctx.bus, ctx.metrics, ctx.state, ctx.notifier, ctx.clock,
              parse_scope(ctx.config.settings.str("ORCH_HEAL_SCOPE"))),
      watcher_(ctx.docker, docker::WatcherCallbacks{[this](const docker::EventMessage& m) { on_container_event(m); },
                                                    [this] {
                                                      if (!lease_ || lease_->is_leader()) healer_.on_relist();
                                                    },
                                                    [this](bool up, const std::string& why) { on_connection(up, why); }}),
      docker_connected_(ctx.metrics.gauge("orch_docker_connected", "1 when the Docker engine is reachable").get()) {
  ctx.status.set_component("docker", Health::off, {{"endpoint", ctx.docker.endpoint().describe()}}, ctx.docker_expected);
  ctx.http.allow("/heal", "POST");
  ctx.http.guard("/heal", http::Server::Rate::limited);
  ctx.http.routes().Post("/heal", [this](const httplib::Request& req, httplib::Response& res) {
    if (!http::authorize_control(req, res, ctx_.config.settings.str("ORCH_API_TOKEN"))) return;
    auto parsed = http::read_json_object_or_empty(req, res);
    if (!parsed) return;
    const json& body = *parsed;
    try {
      if (body.contains("reset")) {
        const auto reset = http::field(body, "reset", "");
        if (reset.empty()) throw UsageError("reset must be a container name");
        bool was = healer_.reset(reset);
        return http::send_json(res, 200, {{"reset", reset}, {"was_quarantined", was}});
      }
      auto report = healer_.run_pass(http::field(body, "dry_run", false));
      http::send_json(res, 200, report.to_json());
    } catch (const UsageError& e) {
      http::send_error(res, 400, "bad_request", e.what());
    } catch (const UnreachableError& e) {
      http::send_error(res, 503, "docker_unreachable", e.what());
    }
  });
}

Module::~Module() { stop(); }

void Module::start() {
  const auto& s = ctx_.config.settings;
  lease_ = std::make_unique<LeaderLease>(s.str("REDIS_URL"), ctx_.instance_id, s.duration("ORCH_LEADER_LEASE"), nullptr);
  healer_.start();
  watcher_.start();
}

void Module::stop() {
  watcher_.stop();
  healer_.stop();
  lease_.reset();
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
  auto type = container_event_type(m);
  if (!type.empty()) {
    const auto name = m.attribute("name");
    json data = {{"container", name},
                 {"service", docker::service_of(ctx_.config, name, m.attributes)},
                 {"image", m.attribute("image")},
                 {"exit_code", m.attribute("exitCode").empty() ? json(nullptr) : json(std::atoi(m.attribute("exitCode").c_str()))}};
    try {
      ctx_.bus.publish(make_event(type, name, data));
    } catch (const BusError& e) {
      spdlog::error("container event not stored: {}", e.what());
    }
  }
  healer_.on_event(m);
}

}  // namespace orch::heal
