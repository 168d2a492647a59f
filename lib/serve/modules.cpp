// The modules of `orch serve`, in start order (stopped in reverse).
#include "diagnose/module.hpp"
#include "heal/module.hpp"
#include "mcp/http_transport.hpp"
#include "pipeline/pipeline.hpp"
#include "rollback/module.hpp"
#include "serve/health_endpoints.hpp"
#include "serve/module.hpp"
#include "webhook/endpoint.hpp"

namespace orch {

std::vector<std::unique_ptr<Module>> make_modules(ServeContext& ctx) {
  std::vector<std::unique_ptr<Module>> m;
  m.push_back(std::make_unique<HealthEndpoints>(ctx));
  m.push_back(std::make_unique<webhook::Endpoint>(ctx));
  m.push_back(std::make_unique<heal::Module>(ctx));
  m.push_back(std::make_unique<diagnose::Module>(ctx));
  m.push_back(std::make_unique<pipeline::Module>(ctx));
  m.push_back(std::make_unique<rollback::Module>(ctx));
  m.push_back(std::make_unique<mcp::HttpModule>(ctx));
  return m;
}

}  // namespace orch
