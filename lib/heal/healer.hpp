#pragma once
// The healer (SPEC §7): decides from Docker events (and a periodic pass) which containers to
// restart, applies the policy (backoff, budget, quarantine), restarts them and their dependents,
// and reports every action on the bus, in /metrics and to the notifier.
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
#include "heal/policy.hpp"
#include "metrics/metrics.hpp"
#include "notify/notifier.hpp"
#include "state/store.hpp"

namespace orch::heal {

// The state document (StateStore) holding the quarantine list: {container: {since, reason}}.
inline constexpr const char* kQuarantineDocument = "heal-quarantine";

enum class Scope { labelled, all };
Scope parse_scope(const std::string& s);  // throws ConfigError

// What one pass did (or would do) to one container.
struct Action {
  std::string container;
  std::string service;
  std::string reason;   // unhealthy, exited 1, oom
  std::string outcome;  // restarted, would-restart, quarantined, failed, skipped
  std::string error;
  json to_json() const;
};

struct PassReport {
  std::vector<Action> actions;
  int exit_code() const;  // SPEC §3: 0 nothing to do, 1 healed, 2 failed/quarantined
  json to_json() const;
};

class Healer {
 public:
  Healer(const Config& config, docker::Client& docker, Bus& bus, Metrics& metrics, StateStore& state,
         Notifier& notifier, Clock& clock, Scope scope);
  ~Healer();

  // Live mode (orch serve): feed it container events; restarts run on a worker thread.
  void start();
  void stop();
  void on_event(const docker::EventMessage& m);
  // After a (re)connect to the engine: heal what failed while we were not looking.
  void on_relist();

  // One pass now over every container in scope (orch heal, POST /heal); `only`, when given,
  // narrows it further (MCP's ORCH_MCP_ALLOW).
  using ContainerFilter = std::function<bool(const docker::ContainerInfo&)>;
  PassReport run_pass(bool dry_run, const ContainerFilter& only = {});
  // Lifts quarantine and forgets the heal history of `container` (orch heal --reset).
  bool reset(const std::string& container);

  bool in_scope(const docker::ContainerInfo& c) const;
  std::string service_of(const docker::ContainerInfo& c) const;

 private:
  struct Job {
    Clock::time_point due;
    std::string id, name, reason;
    bool operator>(const Job& o) const { return due > o.due; }
  };
  void trigger(const std::string& id, const std::string& reason);
  void worker();
  void act(const Job& job);
  bool restart_container(const docker::ContainerInfo& c, const Policy& p, std::string& error);
  void restart_dependents(const docker::ContainerInfo& healed);
  bool docker_will_restart(const docker::ContainerInfo& c) const;
  void publish(const std::string& type, const std::string& subject, json data);
  void sync_quarantine();
  const ServiceSpec* service_spec(const docker::ContainerInfo& c) const;

  const Config& config_;
  docker::Client& docker_;
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
  std::map<std::string, Clock::time_point> last_kill_; // id -> time of a kill/stop from the API
  std::map<std::string, Clock::time_point> last_oom_;
  std::set<std::string> recovering_;      // healed, waiting to be healthy again
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace orch::heal
