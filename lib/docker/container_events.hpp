#pragma once
// The container.* bus events (SPEC §4) that engine events become: one builder for `orch serve`
// (which publishes them) and `orch watch` (which prints them), so both say the same thing.
#include <string>

#include "config/config.hpp"
#include "core/event.hpp"
#include "docker/client.hpp"

namespace orch::docker {

// container.started / died / oom / unhealthy / healthy for the engine's start, die, oom and
// health_status actions; "" for the actions orch does not report.
std::string container_event_type(const EventMessage& m);

// An event of `type` about the engine event's container: {container, service, image, exit_code}
// (exit_code null when the engine gave none), and `task` ("web.1") for a swarm task's container.
Event container_event(const std::string& type, const EventMessage& m, const Config& cfg);

}  // namespace orch::docker
