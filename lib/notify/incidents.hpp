#pragma once
// Incidents (docs/alerting.md): what turns a stream of checks into exactly one "firing" and one
// "resolved" message. A service's health probe, a container's health as the cache sees it, are
// signals, good or bad; an incident opens after `failures` bad signals in a row and closes after
// `recoveries` good ones in a row, whatever the number of probes in between (the Gatus / Uptime
// Kuma thresholds). Level-triggered: a service already down when orch starts opens an incident
// after the threshold as if the fall had been seen. One per key; thread-safe. The alerter keeps
// the open ones in the state store, so a restart neither pages again nor forgets to resolve.
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "notify/alert.hpp"

namespace orch::notify {

struct Signal {
  std::string key;  // "service:web", "container:web-1": one incident at a time per key
  bool bad = false;
  std::string type;  // the alert type while bad: service.down, service.degraded, container.unhealthy
  Severity severity = Severity::warning;
  std::string subject, service;
  std::string what;    // "web is down" (bad) / "web is up" (good)
  std::string detail;  // "connection refused", "HTTP 503"
  int failures = 2, recoveries = 2;
};

class IncidentTracker {
 public:
  // The firing or resolved alert this signal causes, or nullopt (most signals: a streak grows).
  std::optional<Alert> observe(const Signal& s, long long now_ms);
  // Closes open incidents whose key starts with `prefix` and is not in `present` (a container
  // removed while unhealthy): their resolved alerts.
  std::vector<Alert> close_missing(const std::string& prefix, const std::vector<std::string>& present, long long now_ms);
  // Open incidents, for /status: [{id, type, subject, severity, since}].
  json open_json() const;
  bool is_open(const std::string& key) const;
  // The open incidents' firing alerts by key, to keep them across a restart; restore() opens them
  // again (a key this process has opened itself meanwhile is kept as it is).
  std::map<std::string, Alert> open_alerts() const;
  void restore(const std::map<std::string, Alert>& open);

 private:
  struct State {
    int bad = 0, good = 0;
    bool open = false;
    Alert firing;  // while open
  };
  Alert resolve(State& st, const std::string& why, long long now_ms);
  mutable std::mutex mu_;
  std::map<std::string, State> states_;
};

}  // namespace orch::notify
