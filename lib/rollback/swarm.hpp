#pragma once
// Rollback of a swarm service (issue 20, docs/swarm.md "Rollback"): `orch rollback --service`,
// POST /rollback and MCP's rollback take the same path in both modes; in swarm mode the service's
// previous spec is Swarm's own (`POST /services/{id}/update?rollback=previous` with its current
// version), or `--to IMAGE` updates the service to that image. The automatic rollback of `orch
// serve` updates it to its last-known-good spec image, under the containers' policy
// (rollback/module.hpp): a swarm service's release is its spec image, not its task containers'.
#include <optional>
#include <set>
#include <vector>

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
// there is nothing to roll back to (no previous spec and no --to). An automatic rollback comes
// with `to` = the LKG spec image (rollback_service takes it from the release history).
ServiceResult rollback_swarm_service(docker::Client& docker, const docker::SwarmService& s, Bus* bus, const ServiceOptions& o);

// Healthy, for last-known-good and the automatic rollback: every desired task runs (RunningTasks
// >= DesiredTasks > 0) and Swarm is not moving or stuck (UpdateStatus not updating,
// rollback_started, paused, rollback_paused).
bool swarm_service_healthy(const docker::SwarmService& s);

// What one reconcile records (rollback::Module::reconcile): the release of each service — the image
// id of its first running container (as the list orders them), or a swarm service's spec image —
// and the services present for Releases::forget_gone (with a container, or a swarm service). A
// swarm task's container is no release of its own (Swarm owns it). A container named like a swarm
// service is left to the service, as rollback_service does. `complete` is false when the engine is
// a swarm manager whose services could not be listed: nothing may be forgotten then.
struct ReconcileReleases {
  std::vector<Releases::Running> running;
  std::set<std::string> present;
  bool complete = true;
};
ReconcileReleases releases_of(const std::vector<docker::ContainerSummary>& all, const Config& cfg, const docker::SwarmView& swarm);

}  // namespace orch::rollback
