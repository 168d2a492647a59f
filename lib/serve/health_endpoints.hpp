#pragma once
// GET /health, /healthz, /readyz, /metrics (SPEC §5, §10).
#include <chrono>

#include "serve/module.hpp"

namespace orch {

class HealthEndpoints final : public Module {
 public:
  explicit HealthEndpoints(ServeContext& ctx);
  const char* name() const override { return "health-endpoints"; }

 private:
  json health_document();
  ServeContext& ctx_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace orch
