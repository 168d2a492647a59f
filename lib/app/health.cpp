#include "app/health.hpp"

#include <chrono>

namespace orch {

namespace {
std::chrono::steady_clock::time_point started() {
  static const auto at = std::chrono::steady_clock::now();
  return at;
}
}  // namespace

void mark_started() { started(); }

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
