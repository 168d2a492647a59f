#include "diagnose/module.hpp"

#include <spdlog/spdlog.h>

#include "http/control.hpp"
#include "http/fields.hpp"

namespace orch::diagnose {

std::string ChangeDetector::observe(const ServiceReport& r) {
  auto state = r.state == ServiceState::unreachable ? ServiceState::down : r.state;
  auto it = last_.find(r.name);
  bool changed = it == last_.end() || it->second != state;
  last_[r.name] = state;
  if (!changed) return "";
  switch (state) {
    case ServiceState::up: return "service.up";
    case ServiceState::degraded: return "service.degraded";
    case ServiceState::down: return "service.down";
    default: return "";
  }
}

Module::Module(ServeContext& ctx)
    : ctx_(ctx),
      up_(ctx.metrics.gauge("orch_service_up", "1 up, 0.5 degraded, 0 down, per service", {"service"})),
      response_ms_(ctx.metrics.gauge("orch_service_response_ms", "Last health probe response time, per service", {"service"})) {
  http::control(ctx.http, "/diagnose", ctx.config.settings.str("ORCH_API_TOKEN"), [this](const json& body) -> http::Reply {
    Options o;
    o.timeout = ctx_.config.settings.duration("DIAGNOSE_TIMEOUT");
    o.services = http::field(body, "services", o.services);
    o.actions = http::field(body, "actions", o.actions);
    o.tail = http::field(body, "tail", o.tail);
    o.state = &ctx_.state;
    return run(ctx_.config, ctx_.docker, ctx_.containers, o).to_json();  // validate()s first: UsageError, 400
  });
}

Module::~Module() { stop(); }

void Module::probe_once() {
  auto reports = probe_services(ctx_.config.services, ctx_.config.settings.duration("DIAGNOSE_TIMEOUT"));
  for (const auto& r : reports) {
    Health h = r.state == ServiceState::up ? Health::ok : r.state == ServiceState::degraded ? Health::degraded : Health::down;
    json detail = {{"url", r.url}, {"status_code", r.status}, {"response_ms", r.response_ms}, {"failed_conditions", r.failed_conditions}};
    if (!r.error.empty()) detail["error"] = r.error;
    ctx_.status.set_service(r.name, h, detail);
    record(r, h);
    ctx_.alerts.observe_service(r.name,
                                h == Health::ok         ? "up"
                                : h == Health::degraded ? "degraded"
                                                        : "down",
                                r.error.empty() ? "HTTP " + std::to_string(r.status) : r.error);
    up_.labels({r.name}).set(h == Health::ok ? 1 : h == Health::degraded ? 0.5 : 0);
    response_ms_.labels({r.name}).set(static_cast<double>(r.response_ms));
    auto type = changes_.observe(r);
    if (type.empty()) continue;
    json data = {{"service", r.name}, {"url", r.url}, {"status", r.status}, {"response_ms", r.response_ms},
                 {"failed_conditions", r.failed_conditions}};
    try {
      ctx_.bus.publish(make_event(type, r.name, data));
    } catch (const BusError& e) {
      spdlog::error("event {} not stored: {}", type, e.what());
    }
    spdlog::info("{} {} ({})", type, r.name, r.error.empty() ? std::to_string(r.status) : r.error);
  }
}

// Every probe goes to the history (uptime, response-time charts); a store that is down costs the
// probe's record, never the loop.
void Module::record(const ServiceReport& r, Health h) {
  const char* state = h == Health::ok ? "up" : (h == Health::degraded ? "degraded" : "down");
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(ctx_.clock.now().time_since_epoch()).count();
  history::Probe p{now, state, static_cast<int>(r.status), r.response_ms};
  try {
    ctx_.history.record_probe(r.name, p);
  } catch (const Error& e) {
    spdlog::warn("history: probe of {} not kept: {}", r.name, e.what());
  }
}

void Module::start() {
  if (ctx_.config.services.empty()) return;
  thread_ = std::thread([this] {
    const auto interval = ctx_.config.settings.duration("HEALTH_INTERVAL");
    do {
      probe_once();
    } while (!stop_.wait_for(interval));
  });
}

void Module::stop() {
  stop_.request_stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace orch::diagnose
