#pragma once
// The alerting of `orch serve` (docs/alerting.md; SPEC §7): turns what orch sees into alerts for
// the Notifier. Fed by
//   - the health loop, once per probe (observe_service): incidents of services down or degraded;
//   - the container cache (watch): a container's health at every list and health_status event:
//     incidents of containers unhealthy in orch's scope;
//   - the bus: one-shot alerts for heal.failed, heal.quarantined, rollback.succeeded/failed,
//     ingest.failed with final=true (a dead letter), synctest.failed, swarm.node.down.
// Thresholds: ORCH_ALERT_FAILURES / ORCH_ALERT_RECOVERIES, or a service's `alert:` overrides.
// Silences and maintenance windows turn a send into a count. Only the leader sends (the healer's
// lease, set_leader_check): every instance tracks incidents, so a new leader resolves what the old
// one opened; without Redis the one instance is the leader.
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "bus/bus.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"
#include "docker/cache.hpp"
#include "notify/incidents.hpp"
#include "notify/notifier.hpp"
#include "notify/silences.hpp"

namespace orch::notify {

class Alerter {
 public:
  Alerter(const Config& config, Bus& bus, StateStore& state, Notifier& notifier, Clock& clock);
  ~Alerter();
  void set_leader_check(std::function<bool()> is_leader);
  // Listens to the cache's lists and events; call before the cache starts.
  void watch(docker::ContainerCache& cache);
  void start();  // subscribes to the bus
  void stop();

  // One probe of a service: state up, degraded or down (unreachable is down); `detail` is one line.
  void observe_service(const std::string& service, const std::string& state, const std::string& detail);

  // For /status: {"silences": [{id, service, until, reason, source}], "incidents": [...]}.
  json status();
  Silences& silences() { return silences_; }

 private:
  void on_signal(const Signal& s);
  void on_event(const Event& e);
  void observe_containers(docker::ContainerCache& cache);
  void observe_container(const docker::ContainerSummary& c);
  void send(const Alert& a);
  // The open incidents in kIncidentsDocument: read at start, written by the leader at each change.
  void restore_incidents();
  void save_incidents();
  bool leader() const;
  long long now_ms() const;
  std::pair<int, int> thresholds(const std::string& service) const;

  const Config& config_;
  Bus& bus_;
  Notifier& notifier_;
  StateStore& state_;
  Clock& clock_;
  Silences silences_;
  IncidentTracker incidents_;
  std::function<bool()> is_leader_;
  std::mutex mu_;
  std::set<std::string> notified_;     // incident ids whose firing message went out
  std::map<std::string, Alert> held_;  // key -> firing held back by a silence (sent if it ends first)
  Subscription sub_;
};

}  // namespace orch::notify
