#pragma once
// `orch status`: serve's /health and /status read over HTTP (ORCH_URL, ORCH_API_TOKEN) and told
// on one screen: the verdict, each service with its reason and uptime, the containers by state,
// what is quarantined, the pipeline's queue and dead letters.
#include <string>

#include "core/json.hpp"

namespace orch {
class Settings;
}

namespace orch::live {

// {"url", "health": /health's document, "status": /status's}. Throws UnreachableError when orch
// serve does not answer, UsageError (exit 64) when it refuses the token.
json fetch_summary(const Settings& s, const std::string& url);
// The screen. `colour`: ANSI colours for the states.
std::string render_summary(const json& summary, bool colour);
// 0 all up, 1 degraded or something quarantined or dead-lettered, 2 a service or container down.
int summary_exit_code(const json& summary);

}  // namespace orch::live
