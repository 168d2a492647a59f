#pragma once
// GET /health, /healthz, /readyz, /metrics (SPEC §5, §10).
#include "serve/module.hpp"

namespace orch {

// The /health document: the status board, the bus, version and uptime. Also MCP's orch://status.
json health_document(ServeContext& ctx);

class HealthEndpoints final : public Module {
 public:
  explicit HealthEndpoints(ServeContext& ctx);
  const char* name() const override { return "health-endpoints"; }

 private:
  ServeContext& ctx_;
};

}  // namespace orch
