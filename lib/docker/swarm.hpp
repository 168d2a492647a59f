#pragma once
// Swarm mode as the engine reports it (issue 20, docs/swarm.md): whether the engine is in a swarm
// (GET /info `Swarm`), and, on a manager, its services, tasks and nodes (GET /services?status=true,
// /tasks, /nodes: Engine API v1.41 shapes, checked against dockerd 20.10). Swarm mode is detected,
// never configured: an engine outside a swarm reads as `active() == false` and nothing else changes.
#include <optional>
#include <string>
#include <vector>

#include "docker/client.hpp"

namespace orch::docker {

struct SwarmInfo {
  std::string local_node_state;    // inactive, pending, active, error, locked ("" when the engine did not say)
  bool control_available = false;  // this node is a manager: services, tasks and nodes can be read here
  std::string node_id, node_addr, error;
  long nodes = 0, managers = 0;
  bool active() const { return local_node_state == "active"; }
  // Services can be listed here: an active node that is a manager (a worker answers 503).
  bool manager() const { return active() && control_available; }
  json to_json() const;
};

struct SwarmService {
  std::string id, name, image;                // image: the spec's, without the digest the CLI may add (shown)
  std::string spec_image;                     // Spec.TaskTemplate.ContainerSpec.Image as Swarm stores it (name:tag@sha256:...)
  unsigned long long version = 0;             // Version.Index: an update must name it (optimistic locking)
  std::string mode;                           // replicated, global, replicated-job, global-job
  long desired = 0, running = 0;              // ServiceStatus.DesiredTasks / RunningTasks
  long long force_update = 0;                 // Spec.TaskTemplate.ForceUpdate
  bool has_healthcheck = false;               // Spec.TaskTemplate.ContainerSpec.Healthcheck with a test
  Labels labels;                              // Spec.Labels (the service's: compose `deploy: labels:`)
  Labels container_labels;                    // Spec.TaskTemplate.ContainerSpec.Labels (compose `labels:`)
  std::string update_state;                   // UpdateStatus.State: updating, completed, rollback_completed, ...
  std::string updated_at;                     // UpdatedAt: the spec's last change (RFC 3339)
  std::optional<std::string> previous_image;  // PreviousSpec's image: set when Swarm can roll back
  json spec;                                  // the whole Spec, for an update
};

// What one look at the swarm found (a reconcile's): whether the engine is a swarm manager, and its
// services when they could be listed (nullopt: a manager whose list failed this time).
struct SwarmView {
  bool manager = false;
  std::optional<std::vector<SwarmService>> services;
};

struct SwarmTask {
  std::string id, service_id, node_id, container_id;
  long slot = 0;
  std::string state;           // Status.State: new ... running, complete, failed, rejected, shutdown, orphaned
  std::string desired_state;   // running, shutdown, ready
  std::string message, error;  // Status.Message, Status.Err
  std::optional<int> exit_code;
  std::string timestamp;  // Status.Timestamp (RFC 3339)
  // Ended in failure: failed (non-zero exit, unhealthy), rejected (no image, no node fits).
  bool failed() const { return state == "failed" || state == "rejected"; }
};

struct SwarmNode {
  std::string id, hostname, role, availability;
  std::string state;  // Status.State: unknown, down, ready, disconnected
  std::string addr, message;
  bool leader = false;
};

// The engine's answers read into orch's types. Like the container readers (client.hpp), they never
// throw: a missing member, or one of another type, reads as empty or zero.
SwarmInfo swarm_from_info(const json& info);
std::vector<SwarmService> services_from_json(const json& j);
std::vector<SwarmTask> tasks_from_json(const json& j);
std::vector<SwarmNode> nodes_from_json(const json& j);

// GET /info, read for its Swarm member. Throws UnreachableError.
SwarmInfo swarm_info(Client& c);
// GET /services?status=true (the replica counts need v1.41). Throws DockerError on a non-manager.
std::vector<SwarmService> list_services(Client& c);
SwarmService inspect_service(Client& c, const std::string& id_or_name);
// GET /tasks, optionally of one service (by id or name), newest first.
std::vector<SwarmTask> list_tasks(Client& c, const std::string& service = "");
std::vector<SwarmNode> list_nodes(Client& c);

}  // namespace orch::docker
