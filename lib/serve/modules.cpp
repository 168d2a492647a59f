#include "serve/modules.hpp"

#include "diagnose/module.hpp"
#include "heal/module.hpp"
#include "live/endpoints.hpp"
#include "mcp/http_transport.hpp"
#include "pipeline/pipeline.hpp"
#include "rollback/module.hpp"
#include "serve/health_endpoints.hpp"
#include "webhook/endpoint.hpp"

namespace orch {

std::vector<std::unique_ptr<Module>> make_modules(ServeContext& ctx) {
  std::vector<std::unique_ptr<Module>> m;
  m.push_back(std::make_unique<HealthEndpoints>(ctx));
  m.push_back(std::make_unique<webhook::Endpoint>(ctx));
  auto healer = std::make_unique<heal::Module>(ctx);
  auto rollback = std::make_unique<rollback::Module>(ctx);
  // One reconcile lists the engine's containers (and, in swarm mode, services) once, for the healer
  // and the release history; releases are recorded and rolled back by the healer's leader only.
  healer->on_reconcile(
      [r = rollback.get()](const std::vector<docker::ContainerSummary>& all, const docker::SwarmView& swarm) { r->reconcile(all, swarm); });
  rollback->set_leader_check([h = healer.get()] { return h->is_leader(); });
  // Alerts go out from the healer's leader only (docs/alerting.md: one sender, no duplicates).
  ctx.alerts.set_leader_check([h = healer.get()] { return h->is_leader(); });
  m.push_back(std::move(healer));
  m.push_back(std::make_unique<diagnose::Module>(ctx));
  m.push_back(std::make_unique<pipeline::Module>(ctx));
  m.push_back(std::move(rollback));
  m.push_back(std::make_unique<mcp::HttpModule>(ctx));
  m.push_back(std::make_unique<live::Module>(ctx));
  return m;
}

}  // namespace orch
