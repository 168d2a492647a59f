#pragma once
// `orch diagnose --history 24h` (SPEC §10): the history's figures for a person in a terminal
// (uptime, a sparkline of response times per service, the hourly counters, the timeline) or as
// JSON. Read where the history lives: Redis when REDIS_URL is set, else the memory of the
// running `orch serve` (GET /status?history=, at orch_url() with ORCH_API_TOKEN).
#include <string>

#include "config/config.hpp"
#include "core/duration.hpp"
#include "core/json.hpp"

namespace orch::history {

// history/store.hpp's summary over `window`. Throws UnreachableError when neither Redis nor orch
// serve can be read (exit 3), UsageError for a window beyond HISTORY_RETENTION.
json load_summary(const Config& cfg, Millis window);

// One character per slot of the window: ▁..█ by mean response time (scaled to the slowest), '×'
// where no probe found the service up, ' ' where there was no probe.
std::string sparkline(const json& series, long long since_ms, long long until_ms, size_t width);

// The table `orch diagnose --history` prints.
std::string render_table(const json& summary, bool colour);

}  // namespace orch::history
