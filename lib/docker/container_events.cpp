#include "docker/container_events.hpp"

#include <cstdlib>

#include "docker/identity.hpp"
#include "docker/swarm_events.hpp"

namespace orch::docker {

std::string container_event_type(const EventMessage& m) {
  if (m.action == "start") return "container.started";
  if (m.action == "die") return "container.died";
  if (m.action == "oom") return "container.oom";
  if (m.action == "health_status: unhealthy") return "container.unhealthy";
  if (m.action == "health_status: healthy") return "container.healthy";
  return "";
}

Event container_event(const std::string& type, const EventMessage& m, const Config& cfg) {
  const auto name = m.attribute("name");
  const auto exit_code = m.attribute("exitCode");
  json data = {{"container", name},
               {"service", service_of(cfg, name, m.attributes)},
               {"image", m.attribute("image")},
               {"exit_code", exit_code.empty() ? json(nullptr) : json(std::atoi(exit_code.c_str()))}};
  if (auto task = task_of(m.attributes); !task.empty()) data["task"] = task;  // swarm mode only
  auto e = make_event(type, name, std::move(data));
  // When it happened, as the engine says: also what lets `orch watch` tell its own copy of an
  // engine event from the one orch serve published.
  if (m.time_nano > 0) e.time = rfc3339_ms(m.time_nano / 1'000'000);
  return e;
}

}  // namespace orch::docker
