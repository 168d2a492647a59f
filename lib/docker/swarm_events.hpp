#pragma once
// The swarm.* events (issue 20, docs/swarm.md "Events") that the engine's service and node events
// become: one builder for `orch watch` (which prints them) and `orch serve` (which publishes a
// node going down). Task events arrive as container events with com.docker.swarm.* labels and
// stay container.* (docker/container_events.hpp), naming their service and task.
#include <string>

#include "core/event.hpp"
#include "docker/client.hpp"
#include "docker/swarm.hpp"

namespace orch::docker {

// swarm.service.<create|update|remove> for a service event; for a node event whose state changed,
// swarm.node.<state.new> (swarm.node.down, swarm.node.ready, ...), else swarm.node.<action>;
// "" for other event types.
std::string swarm_event_type(const EventMessage& m);

// {service|node: name, id, and the engine's attributes but the name: replicas.new/old,
// updatestate.new, state.new/old, ...}. Subject: the service's or node's name (its id without one).
Event swarm_event(const std::string& type, const EventMessage& m);

// The same event from a node's state as GET /nodes lists it, for a change orch saw between two
// looks (orch serve's reconcile): swarm.node.<state> with {node, id, state.new, state.old}.
Event node_state_event(const SwarmNode& n, const std::string& old_state);

// The task a container event is about ("web.1", from com.docker.swarm.task.name "web.1.<id>"),
// or "" outside swarm mode.
std::string task_of(const Labels& attributes);

}  // namespace orch::docker
