#pragma once
// Follows the engine's container events (not exec_*), reconnecting with backoff and `since=` the
// last event seen, and re-listing containers after every (re)connect because the engine keeps only
// 256 events: whatever happened while we were away is found by the re-list.
#include <functional>
#include <set>
#include <string>
#include <vector>
#include <thread>

#include "core/stop_token.hpp"
#include "docker/client.hpp"

namespace orch::docker {

struct WatcherCallbacks {
  std::function<void(const EventMessage&)> on_event;
  std::function<void()> on_relist;               // after each (re)connect, before new events
  std::function<void(bool, const std::string&)> on_connection;  // engine reachable or not, why
};

class Watcher {
 public:
  // `types`: the engine event types followed; "container" events are passed on without exec_*.
  // `orch watch` adds "service" and "node" (swarm mode: docker/swarm_events.hpp); an engine outside
  // a swarm sends none of those.
  Watcher(Client& client, WatcherCallbacks callbacks, std::vector<std::string> types = {"container"});
  ~Watcher();
  void start();
  void stop();

 private:
  void run();
  Client& client_;
  WatcherCallbacks cb_;
  std::vector<std::string> types_;
  StopSignal stop_;
  std::thread thread_;
};

// True for events the healer and `orch watch` care about: container events other than exec_*.
bool is_container_event(const EventMessage& m);

}  // namespace orch::docker
