#pragma once
// What `orch serve` is made of. Each concern (webhook, healer, pipeline, health loop, MCP, live
// view) is a Module: it registers its routes when built, runs its loops between start() and
// stop(), and reads the shared pieces from ServeContext.
#include <memory>
#include <string>
#include <vector>

#include "bus/bus.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/stop_token.hpp"
#include "docker/client.hpp"
#include "notify/notifier.hpp"
#include "state/store.hpp"
#include "http/server.hpp"
#include "metrics/metrics.hpp"
#include "serve/status_board.hpp"

namespace orch {

struct ServeContext {
  const Config& config;
  Bus& bus;
  Metrics& metrics;
  http::Server& http;
  StatusBoard& status;
  Clock& clock;
  StopSignal& stop;
  std::string instance_id;
  docker::Client& docker;  // may be unreachable: calls throw UnreachableError
  bool docker_expected;    // configured or default socket present: gates /readyz
  StateStore& state;       // quarantine, release history (Redis or files)
  Notifier& notifier;      // NOTIFY_WEBHOOK_URL
};

class Module {
 public:
  virtual ~Module() = default;
  virtual const char* name() const = 0;
  virtual void start() {}
  // Called in reverse order of start, after the HTTP server stopped accepting.
  virtual void stop() {}
};

// The modules of `orch serve`, in start order. Add a new concern here.
std::vector<std::unique_ptr<Module>> make_modules(ServeContext& ctx);

}  // namespace orch
