#pragma once
// GET /health, /healthz, /readyz, /metrics (SPEC §5, §10).
#include "app/module.hpp"

namespace orch {

class HealthEndpoints final : public Module {
 public:
  explicit HealthEndpoints(ServeContext& ctx);
  const char* name() const override { return "health-endpoints"; }

 private:
  ServeContext& ctx_;
};

}  // namespace orch
