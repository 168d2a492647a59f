#pragma once
// The /health document of `orch serve` (SPEC §5): the status board, the bus, version and uptime.
// Also what /readyz and MCP's orch://status report.
#include "app/module.hpp"

namespace orch {

json health_document(ServeContext& ctx);
// Fixes the moment uptime_s counts from; the first call wins (the daemon makes it before anything).
void mark_started();

}  // namespace orch
