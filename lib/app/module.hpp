#pragma once
// The contract between `orch serve` and its features: each concern (webhook, healer, pipeline,
// health loop, MCP, live view) is a Module that registers its routes when built, runs its loops
// between start() and stop(), and reads the shared pieces from ServeContext. Features include
// this header, never serve/ (the composition root that includes every feature; ARCHITECTURE.md).
#include <memory>
#include <string>
#include <vector>

#include "app/status_board.hpp"
#include "bus/bus.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/stop_token.hpp"
#include "docker/cache.hpp"
#include "docker/client.hpp"
#include "history/store.hpp"
#include "http/server.hpp"
#include "metrics/metrics.hpp"
#include "notify/alerter.hpp"
#include "notify/notifier.hpp"
#include "state/store.hpp"

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
  // The engine's containers, kept in step by events (docker/cache.hpp): read lists here, never
  // docker.list(), so that orch serve lists once per ORCH_RECONCILE_INTERVAL whatever asks.
  docker::ContainerCache& containers;
  bool docker_expected;    // configured or default socket present: gates /readyz
  StateStore& state;       // quarantine, release history (Redis or files)
  Notifier& notifier;      // the alert providers (notify: and NOTIFY_WEBHOOK_URL; direct sends off)
  history::Store& history;  // probes, hourly counters, timeline (Redis or memory; history/store.hpp)
  notify::Alerter& alerts;  // incidents, silences (docs/alerting.md): the health loop feeds it probes
};

class Module {
 public:
  virtual ~Module() = default;
  virtual const char* name() const = 0;
  virtual void start() {}
  // Called first when the daemon stops, while the HTTP server still writes: the last moment to
  // end open streams with a message of their own.
  virtual void draining() {}
  // Called in reverse order of start, after the HTTP server stopped accepting.
  virtual void stop() {}
};

}  // namespace orch
