#pragma once
// The compose projects on an engine, as `orch init` (issue 23) reads them: which are running, and
// one of them described service by service (config/init.hpp renders that as orch.yaml). Containers
// are told apart by compose's labels (com.docker.compose.project, com.docker.compose.service).
#include <optional>
#include <string>
#include <vector>

#include "config/init.hpp"
#include "docker/client.hpp"

namespace orch::docker {

inline constexpr const char* kComposeProjectLabel = "com.docker.compose.project";

// Projects with a running container, sorted.
std::vector<std::string> running_projects(const std::vector<ContainerSummary>& containers);

// The project to describe: `wanted` when some container has it, else the only running project.
// Throws UsageError (64) naming the projects when there is none, several, or `wanted` is unknown.
std::string choose_project(const std::vector<ContainerSummary>& containers, const std::string& wanted);

// A URL in a HEALTHCHECK's test (["CMD-SHELL", "curl -f http://localhost:8001/health || exit 1"],
// wget, or any command naming an http(s) URL), else nullopt.
std::optional<std::string> healthcheck_url(const std::vector<std::string>& test);

// The project's services (sorted by name), each with a health URL: from a HEALTHCHECK's URL
// (its port mapped to the published one when the container publishes it, else the service's name
// on the compose network), else from the first published TCP port (http://127.0.0.1:PORT/). One
// inspect per service (its first running container) for the HEALTHCHECK. `generated_at` is left
// to the caller.
InitProject describe_project(Client& engine, const std::vector<ContainerSummary>& containers, const std::string& project);

}  // namespace orch::docker
