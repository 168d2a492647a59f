#include "serve/health_endpoints.hpp"

namespace orch {

HealthEndpoints::HealthEndpoints(ServeContext& ctx) : ctx_(ctx) {
  auto& r = ctx.http.routes();
  for (const char* path : {"/healthz", "/readyz", "/health", "/metrics"}) ctx.http.allow(path, "GET");
  r.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    http::send_json(res, 200, {{"status", "ok"}});
  });
  r.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    auto doc = health_document();
    bool ready = ctx_.status.ready() && doc["components"]["redis"]["connected"].get<bool>();
    http::send_json(res, ready ? 200 : 503, {{"ready", ready}, {"components", doc["components"]}});
  });
  r.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    http::send_json(res, 200, health_document());
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

json HealthEndpoints::health_document() {
  auto doc = ctx_.status.snapshot();
  auto bus = ctx_.bus.health();
  json redis = {{"kind", bus.kind}, {"connected", bus.connected}, {"outbox_depth", bus.outbox_depth}};
  if (!bus.error.empty()) redis["error"] = bus.error;
  redis["status"] = bus.connected ? "ok" : "down";
  doc["components"]["redis"] = redis;
  if (!bus.connected && doc["status"] == "ok") doc["status"] = "degraded";
  doc["version"] = ORCH_VERSION;
  doc["uptime_s"] = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_).count();
  return doc;
}

}  // namespace orch
