#include "serve/health_endpoints.hpp"

#include <chrono>

namespace orch {

namespace {
// When orch serve started: the first HealthEndpoints (the first module) fixes it.
std::chrono::steady_clock::time_point started() {
  static const auto at = std::chrono::steady_clock::now();
  return at;
}
}  // namespace

HealthEndpoints::HealthEndpoints(ServeContext& ctx) : ctx_(ctx) {
  started();
  auto& r = ctx.http.routes();
  // The probe lane: a Docker HEALTHCHECK must never wait behind a sync-test or a rollback.
  for (const char* path : {"/healthz", "/readyz", "/health", "/metrics"}) {
    ctx.http.allow(path, "GET");
    ctx.http.probe(path);
  }
  r.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    http::send_json(res, 200, {{"status", "ok"}});
  });
  r.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    auto doc = health_document(ctx_);
    bool ready = ctx_.status.ready() && doc["components"]["redis"]["connected"].get<bool>();
    http::send_json(res, ready ? 200 : 503, {{"ready", ready}, {"components", doc["components"]}});
  });
  r.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    http::send_json(res, 200, health_document(ctx_));
  });
  r.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    auto h = ctx_.bus.health();
    ctx_.metrics.gauge("orch_outbox_depth", "Events waiting in the on-disk outbox").get().set(static_cast<double>(h.outbox_depth));
    ctx_.metrics.gauge("orch_redis_connected", "1 when the Redis bus is connected (or the in-process bus is used)")
        .get()
        .set(h.connected ? 1 : 0);
    res.set_content(ctx_.metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
  });
}

json health_document(ServeContext& ctx) {
  auto doc = ctx.status.snapshot();
  auto bus = ctx.bus.health();
  json redis = {{"kind", bus.kind}, {"connected", bus.connected}, {"outbox_depth", bus.outbox_depth}};
  if (!bus.error.empty()) redis["error"] = bus.error;
  redis["status"] = bus.connected ? "ok" : "down";
  doc["components"]["redis"] = redis;
  if (!bus.connected && doc["status"] == "ok") doc["status"] = "degraded";
  doc["version"] = ORCH_VERSION;
  doc["uptime_s"] = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started()).count();
  return doc;
}

}  // namespace orch
