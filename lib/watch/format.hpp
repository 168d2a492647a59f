#pragma once
// What `orch watch` prints: filters and the human line format.
#include <deque>
#include <mutex>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/event.hpp"
#include "docker/client.hpp"

namespace orch::watch {

struct Filter {
  std::vector<std::string> services;  // matches subject, data.service or data.container
  std::vector<std::string> types;     // exact, or prefix with a trailing '*'
  bool matches(const Event& e) const;
};

// Drops the second copy of an event: with Redis and the engine both followed, a container event
// arrives from the engine and again as orch serve published it (same type, subject and engine
// time). Remembers the newest kRemembered.
class Dedupe {
 public:
  bool first_time(const Event& e);
  static constexpr size_t kRemembered = 4096;

 private:
  std::deque<std::string> order_;
  std::set<std::string> seen_;
};

// "19:31:57.123  heal.restarted      web-1  attempt=1 reason=unhealthy"
std::string human_line(const Event& e, bool colour);

// "docker: unreachable at unix:///var/run/docker.sock: ... (retrying)" once when a source goes,
// "docker: connected again" once when it is back: on a pipe too (a log file should say why it is
// quiet), never once per retry. Called from the source's thread.
class ConnectionLine {
 public:
  ConnectionLine(std::string source, std::ostream& out) : source_(std::move(source)), out_(out) {}
  void operator()(bool up, const std::string& why);

 private:
  std::mutex mu_;
  std::string source_;
  std::ostream& out_;
  std::optional<bool> up_;
  bool said_down_ = false;
};

// An engine event as a CloudEvent: container.<started|died|oom|unhealthy|healthy|...>; in swarm
// mode also swarm.service.* and swarm.node.* (docker/swarm_events.hpp).
Event from_engine(const docker::EventMessage& m, const Config& cfg);

}  // namespace orch::watch
