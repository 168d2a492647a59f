#pragma once
// Which service a container belongs to, and whether orch may act on it (SPEC §2, §7): one answer
// for events, heal, rollback, diagnose, status and MCP, so that `container.died` and
// `heal.restarted` always name a container's service the same way.
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "docker/client.hpp"

namespace orch::docker {

inline constexpr const char* kComposeServiceLabel = "com.docker.compose.service";
// A swarm task's container carries its service's name (docs/swarm.md).
inline constexpr const char* kSwarmServiceLabel = "com.docker.swarm.service.name";

// The configured service whose `container` is the container's name or compose service, else null.
const ServiceSpec* configured_service(const Config& cfg, std::string_view name, const Labels& labels);
// The configured service's name, else the compose service label, else the swarm service label,
// else the container name.
std::string service_of(const Config& cfg, std::string_view name, const Labels& labels);

// The swarm services a configured service stands for: its `container` (default its name) as the
// swarm service's name, or as `<stack>_<container>` under `docker stack deploy` (docs/swarm.md).
bool swarm_service_matches(const ServiceSpec& spec, std::string_view swarm_service_name);
// The configured service a swarm service stands for, else null.
const ServiceSpec* configured_swarm_service(const Config& cfg, std::string_view swarm_service_name);

// A swarm task's container (com.docker.swarm.task.id): Swarm restarts it, not orch's container healer.
bool swarm_task(const Labels& labels);

// orch.heal=true, or autoheal=true (docker-autoheal's label).
bool heal_labelled(const Labels& labels);
// orch.monitor-only=true: watched and reported, never acted on.
bool monitor_only(const Labels& labels);
// What orch looks after: containers labelled for healing (or monitor-only) and the containers of
// configured services. Destructive actions on anything else need an explicit widening
// (ORCH_HEAL_SCOPE=all, ORCH_MCP_ALLOW).
bool in_orch_scope(const Config& cfg, std::string_view name, const Labels& labels);

// A list of names (ORCH_MCP_ALLOW) matches a container by its service (service_of), its compose
// service label or its container name.
bool matches_names(const std::vector<std::string>& names, const Config& cfg, std::string_view name, const Labels& labels);

}  // namespace orch::docker
