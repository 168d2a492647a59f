#pragma once
// Human durations as operators write them: "250ms", "30s", "10m", "1h30m", "2d"; a bare number is
// seconds. Backoff ranges are "MIN:MAX" ("10s:300s").
#include <chrono>
#include <string>
#include <string_view>

namespace orch {

using Millis = std::chrono::milliseconds;

// Throws ConfigError on anything it cannot read.
Millis parse_duration(std::string_view text);
std::string format_duration(Millis d);
// How long something has run, at most two units: "40s", "12m", "3h4m", "3d4h" (tables, summaries).
std::string human_duration(long long seconds);

struct BackoffRange {
  Millis min{10'000};
  Millis max{300'000};
};
BackoffRange parse_backoff(std::string_view text);

}  // namespace orch
