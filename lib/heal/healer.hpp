#pragma once
// The healer (SPEC §7, §13): decides from Docker events and from reconciles of the engine's whole
// state which containers to restart, applies the policy (backoff, budget, quarantine), restarts
// them and their dependents, and reports every action on the bus, in /metrics and to the notifier.
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bus/bus.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"
#include "docker/client.hpp"
#include "heal/events.hpp"
#include "heal/exit_cause.hpp"
#include "heal/policy.hpp"
#include "metrics/metrics.hpp"
#include "notify/notifier.hpp"
#include "state/documents.hpp"
#include "state/store.hpp"

namespace orch::heal {

enum class Scope { labelled, all };
Scope parse_scope(const std::string& s);  // throws ConfigError

// What one pass did (or would do) to one container.
struct Action {
  std::string container;
  std::string service;
  std::string reason;   // unhealthy, exited 1, oom
  // restarted, would-restart, quarantined, failed, left-alone, skipped; for a swarm service
  // (ServiceHealer::run_pass, `container` = `service` = its name): force-updated, would-force-update
  std::string outcome;
  std::string error;
  std::string detail;   // why it was left alone (a person stopped it) or skipped (orch cannot tell)
  json to_json() const;
};

struct PassReport {
  std::vector<Action> actions;
  int exit_code() const;  // SPEC §3: 0 nothing to do (or only left alone), 1 healed, 2 failed/quarantined
  json to_json() const;
};

class Healer {
 public:
  // `containers`: where lists come from (orch serve: its cache; orch heal: the engine).
  Healer(const Config& config, docker::Client& docker, docker::ContainerSource& containers, Bus& bus, Metrics& metrics, StateStore& state,
         Notifier& notifier, Clock& clock, Scope scope);
  ~Healer();

  // Live mode (orch serve): feed it container events; restarts run on a worker thread.
  void start();
  void stop();
  void on_event(const docker::EventMessage& m);
  // The watcher (re)connected at `ns` (engine time): events from then on arrive live, so a die
  // seen later is judged by the kill/stop events seen with it.
  void on_connected(long long ns);
  // Reconcile (SPEC §13) from one list of every container: schedules what should be healed by the
  // same rules as events (person-stopped ones, quarantined ones and those already scheduled are
  // left), refreshes the health gauges and reloads the quarantine list. Inspects only failing
  // containers in scope (and, with the cache's revisions, not again one judged before that has not
  // changed since) and reads the engine's event log at most once.
  void reconcile(const std::vector<docker::ContainerSummary>& all);

  // One pass now over every container in scope (orch heal, POST /heal); `only`, when given,
  // narrows it further (MCP's ORCH_MCP_ALLOW).
  using ContainerFilter = std::function<bool(const docker::ContainerInfo&)>;
  PassReport run_pass(bool dry_run, const ContainerFilter& only = {});
  // Lifts quarantine and forgets the heal history of `container` (orch heal --reset).
  bool reset(const std::string& container);

  bool in_scope(const std::string& name, const docker::Labels& labels) const;
  bool in_scope(const docker::ContainerInfo& c) const { return in_scope(c.name, c.labels); }
  std::string service_of(const docker::ContainerInfo& c) const;

 private:
  struct Job {
    Clock::time_point due;
    std::string id, name, reason;
    bool operator>(const Job& o) const { return due > o.due; }
  };
  // What a container needs: `reason` (unhealthy, oom, exited N) empty = nothing; `left` set =
  // failed but not to be healed (a person stopped it: `person`; or orch cannot tell).
  struct Assessment {
    std::string reason;
    std::string left;
    bool person = false;
  };
  Assessment assess(const docker::ContainerInfo& c, const StopEvidence& evidence) const;
  // What the events seen live say about `id`'s stops, complete since the watcher connected.
  StopEvidence live_evidence(const std::string& id);
  void add_live_evidence(StopEvidence& ev);
  void on_die(const std::string& id, const std::string& exit_code, bool oom_event);
  void schedule(const docker::ContainerInfo& c, const std::string& reason);
  void worker();
  void act(const Job& job);
  bool restart_container(const docker::ContainerInfo& c, const Policy& p, std::string& error);
  // orch's own count and time of restarts (kHealLogDocument), read by diagnose: Docker's
  // RestartCount does not count restarts through the API.
  void record_heal(const std::string& container, const std::string& reason);
  void restart_dependents(const docker::ContainerInfo& healed);
  bool docker_will_restart(const docker::ContainerInfo& c) const;
  Event publish(HealEvent kind, const HealData& data);  // also returned for the notifier
  void publish(const Event& e);
  // A failure orch saw and decided not to act on: logged and published as heal.left_alone, so the
  // decision is on the bus and the page, not only in the log. `from` prefixes the log line.
  void left_alone(const docker::ContainerInfo& c, const std::string& reason, const std::string& why, const char* from = "");
  void sync_quarantine();
  const ServiceSpec* service_spec(const docker::ContainerInfo& c) const;

  const Config& config_;
  docker::Client& docker_;
  docker::ContainerSource& containers_;
  Bus& bus_;
  StateStore& state_;
  Notifier& notifier_;
  Clock& clock_;
  Scope scope_;
  Family<Counter>& actions_;
  Family<Gauge>& healthy_;

  std::mutex mu_;
  std::condition_variable cv_;
  Tracker tracker_;
  std::vector<Job> jobs_;                 // min-heap on due
  std::set<std::string> scheduled_;       // container ids with a pending job
  std::map<std::string, Clock::time_point> acting_;    // id -> since: orch's own restart in progress
  std::map<std::string, std::vector<docker::EventMessage>> stops_;  // id -> its last kill/stop events seen live
  std::map<std::string, long long> last_oom_;          // id -> engine time of its last oom event
  std::map<std::string, std::string> settled_;         // id -> FinishedAt of an exit judged not to heal
  std::map<std::string, unsigned long long> settled_revision_;  // id -> its cache revision when judged
  std::set<std::string> recovering_;      // healed, waiting to be healthy again
  long long live_since_ns_ = 0;           // when the watcher last connected; 0 = not watching
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace orch::heal
