#pragma once
// What `orch watch` prints: filters and the human line format.
#include <deque>
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

// An engine event as a CloudEvent: container.<started|died|oom|unhealthy|healthy|...>; in swarm
// mode also swarm.service.* and swarm.node.* (docker/swarm_events.hpp).
Event from_engine(const docker::EventMessage& m, const Config& cfg);

}  // namespace orch::watch
