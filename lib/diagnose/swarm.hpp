#pragma once
// The swarm part of `orch diagnose` (issue 20, docs/diagnose.md "Swarm mode", docs/swarm.md): in
// swarm mode the unit is the service, so the report shows each service's desired and running
// replicas, its failing tasks with their error and node, the last health output, and the nodes.
// Built once here for the CLI, POST /diagnose and MCP's diagnose (they share report.hpp's run()).
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/json.hpp"
#include "docker/swarm.hpp"

namespace orch::diagnose {

struct SwarmTaskReport {
  std::string id, node, state, error, at;  // node: its hostname (else its id); at: Status.Timestamp
  long slot = 0;
  std::optional<int> exit_code;
  json to_json() const;
};

// up: every desired task runs (or none is desired) · degraded: some run, fewer than desired ·
// down: tasks are desired and none runs.
struct SwarmServiceReport {
  std::string id, name, mode, image, state;
  long desired = 0, running = 0;
  std::string health;                          // healthy, unhealthy, starting; "none" without a health check;
                                               // "unknown" when no task container is on this node
  std::string last_health_output;              // of the task container looked at (this node's only)
  std::vector<SwarmTaskReport> failing_tasks;  // newest first, at most kFailingTasksShown
  bool failed_recently = false;                // a task failed within kRecentFailure
  json to_json() const;
};

inline constexpr size_t kFailingTasksShown = 5;
// A task failure this recent makes a service whose replicas all run a WARNING: it is crash-looping
// or was just healed. Older failures stay listed (Swarm keeps 5 tasks per slot) without warning.
inline constexpr std::chrono::minutes kRecentFailure{10};

struct SwarmSection {
  docker::SwarmInfo info;
  std::vector<SwarmServiceReport> services;
  std::vector<docker::SwarmNode> nodes;
  std::string error;  // why services could not be read (a worker node, an engine error)
  json to_json() const;
};

// Reads the engine's swarm (a manager's services, tasks and nodes), the services for which
// `wanted(name)` holds; each service with a health check has the container of its newest
// task on this node inspected for the last health output. Throws UnreachableError.
SwarmSection diagnose_swarm(docker::Client& docker, const docker::SwarmInfo& info, const std::function<bool(const std::string&)>& wanted);

}  // namespace orch::diagnose
