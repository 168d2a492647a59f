#pragma once
// `orch serve`: builds the shared pieces, starts the modules, serves until asked to stop, then
// shuts down in order (stop accepting, finish in-flight requests, stop loops, flush the bus).
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/stop_token.hpp"

namespace orch {

class Bus;
class Metrics;
namespace http {
class Server;
}

// Builds the bus REDIS_URL asks for (Redis with outbox, or in-process). `groups`: the consumer
// groups that must exist before it stores its first event (RedisBusOptions::groups).
std::unique_ptr<Bus> make_bus(const Config& config, Metrics* metrics = nullptr, std::vector<std::string> groups = {});

class Daemon {
 public:
  explicit Daemon(const Config& config);
  ~Daemon();
  // Starts everything; returns the bound HTTP port.
  int start();
  // Builds every part and module, so every route of `orch serve` is registered, and starts
  // nothing: no module, no engine watcher, no socket. start() does this first. For driving the
  // routes without a daemon around them (the HTTP fuzz harness: Server::start_unlistened).
  http::Server& assemble();
  // Blocks until request_stop() (e.g. from a signal handler thread), then shuts down.
  void run_until_stopped();
  void request_stop() { stop_.request_stop(); }
  void shutdown();

 private:
  struct Parts;
  const Config& config_;
  StopSignal stop_;
  std::unique_ptr<Parts> parts_;
};

}  // namespace orch
