#include "serve/health_endpoints.hpp"

#include "app/health.hpp"

namespace orch {

HealthEndpoints::HealthEndpoints(ServeContext& ctx) : ctx_(ctx) {
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

}  // namespace orch
