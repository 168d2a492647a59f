#pragma once
// The history of the stack (SPEC §10): every health probe of every service, hourly counters
// (probes and uptime per service, webhooks, pipeline jobs and their latency) and a timeline of
// heal, quarantine and rollback events, kept for HISTORY_RETENTION (7 days). In Redis when
// REDIS_URL is set (shared by the instances on that Redis, kept across restarts: the state lives
// there, not in the process), else in memory, capped per service (HISTORY_MAX_PROBES).
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/duration.hpp"
#include "core/event.hpp"
#include "core/json.hpp"

namespace orch {
class Settings;
}

namespace orch::history {

struct Probe {
  long long time_ms = 0;
  std::string state;  // up | degraded | down
  int code = 0;       // HTTP status; 0 when nothing answered
  long long response_ms = 0;
};

// One hour's counters: "probes.<service>", "up.<service>", "response_ms.<service>" (sum),
// "webhooks.accepted", "webhooks.refused", "jobs.succeeded", "jobs.dead_lettered",
// "jobs.seconds" (sum of job durations), "jobs.timed" (jobs in that sum).
struct Hour {
  long long start_ms = 0;
  std::map<std::string, double> counters;
};

struct Limits {
  Millis retention{7LL * 24 * 3600 * 1000};
  size_t max_probes = 20160;  // per service: 7 days at the default 30 s HEALTH_INTERVAL
  size_t max_timeline = 5000;
};
Limits limits_from(const Settings& s);

inline constexpr long long kHourMs = 3600LL * 1000;
inline long long hour_of(long long time_ms) { return time_ms - time_ms % kHourMs; }

class Store {
 public:
  virtual ~Store() = default;
  // Keeps the probe and counts it in its hour. Throws UnreachableError when Redis is down.
  virtual void record_probe(const std::string& service, const Probe& p) = 0;
  // The probes of `service` taken at or after `since_ms`, oldest first.
  virtual std::vector<Probe> probes(const std::string& service, long long since_ms) = 0;
  // Adds each counter to the hour holding `time_ms` (zeros are skipped).
  virtual void add(long long time_ms, const std::map<std::string, double>& counters) = 0;
  // The hours from the one holding `since_ms` on that have counters, oldest first.
  virtual std::vector<Hour> hours(long long since_ms) = 0;
  // Keeps a heal.* / rollback.* event on the timeline. Idempotent: every instance sharing a
  // Redis sees every event on the bus, and the timeline keeps it once.
  virtual void record_event(const Event& e) = 0;
  // Timeline entries ({time_ms, type, subject, data}) at or after `since_ms`, oldest first.
  virtual std::vector<json> timeline(long long since_ms) = 0;
  // "redis" or "memory".
  virtual const char* kind() const = 0;
};

std::unique_ptr<Store> make_memory_store(Limits limits = {});
std::unique_ptr<Store> make_redis_store(const std::string& redis_url, Limits limits = {});
// Redis when REDIS_URL is set, else memory.
std::unique_ptr<Store> make_store(const Settings& s);

// Percent of `service`'s probes in [since_ms, now] that found it up (degraded counts as not up, as
// Gatus counts a failed condition), from the hourly counts: windows begin on the hour. nullopt
// when there was no probe.
std::optional<double> uptime(const std::vector<Hour>& hours, const std::string& service, long long since_ms);

// The probes downsampled to at most `buckets` points, each {t, ms (mean), max_ms, up (fraction),
// n}: what the status page charts and `orch diagnose --history` draws as a sparkline.
json series(const std::vector<Probe>& probes, long long since_ms, long long until_ms, size_t buckets);

// The figures of GET /status and `orch diagnose --history`: per service uptime_24h, uptime_7d,
// last probe and the series over `window` (from its first probe when the history is younger:
// series_from_ms); the hourly counters; the timeline.
json summary(Store& store, const std::vector<std::string>& services, long long now_ms, Millis window);

}  // namespace orch::history
