#pragma once
// Rollback of a swarm service (issue 20, docs/swarm.md "Rollback"): `orch rollback --service`,
// POST /rollback and MCP's rollback take the same path in both modes; in swarm mode the service's
// previous spec is Swarm's own (`POST /services/{id}/update?rollback=previous` with its current
// version), or `--to IMAGE` updates the service to that image.
#include <optional>

#include "bus/bus.hpp"
#include "config/config.hpp"
#include "docker/swarm.hpp"
#include "rollback/image.hpp"

namespace orch::rollback {

// The swarm service `service` names (its own name, or a configured service's: docker/identity.hpp)
// when the engine is a swarm manager; nullopt otherwise (then the service is a container's).
std::optional<docker::SwarmService> find_swarm_service(docker::Client& docker, const Config& cfg, const std::string& service);

// Rolls the swarm service back and waits, up to `o.health_timeout`, for Swarm to finish
// (UpdateStatus rollback_completed / completed, every desired task running). Publishes
// rollback.started / succeeded / failed with {service, from, to, reason}. Throws UsageError when
// there is nothing to roll back to (no previous spec and no --to) or for an automatic rollback
// (orch's last-known-good for swarm services is not done yet).
ServiceResult rollback_swarm_service(docker::Client& docker, const docker::SwarmService& s, Bus* bus, const ServiceOptions& o);

}  // namespace orch::rollback
