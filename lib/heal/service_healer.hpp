#pragma once
// Heal in swarm mode (issue 20, docs/swarm.md "Heal"): Swarm restarts a failed task itself, so
// orch acts only on what Swarm does not. A service whose tasks keep failing (kFailuresToHeal task
// failures since orch's last heal of it, within the policy's window; a task Swarm killed as
// unhealthy is a failure) is force-updated (`POST /services/{id}/update`
// with its current version and TaskTemplate.ForceUpdate + 1: every task is replaced), under the
// heal policy of containers (heal/policy.hpp: backoff, budget, quarantine; the same settings,
// `heal:` of a configured service, and the orch.heal.* labels on the service or its containers). A node that goes
// down is published (swarm.node.down) and notified. A quarantined service is kept in the
// containers' quarantine document (state/documents.hpp), so `orch heal --reset`, /status and a new
// leader see it. Runs from the healer's reconcile, on the
// leader only, so several orch replicas heal a service once.
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bus/bus.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"
#include "docker/swarm.hpp"
#include "heal/events.hpp"
#include "heal/healer.hpp"
#include "heal/policy.hpp"
#include "notify/notifier.hpp"
#include "state/documents.hpp"
#include "state/store.hpp"

namespace orch::heal {

// Failures since the last heal that make a service "keep failing": one is Swarm's to restart.
inline constexpr int kFailuresToHeal = 3;

class ServiceHealer {
 public:
  ServiceHealer(const Config& config, docker::Client& docker, Bus& bus, Notifier& notifier, StateStore& state, Clock& clock);

  // One look at the swarm: nothing when the engine is not a swarm manager (one GET /info). Else
  // lists services, their tasks and the nodes, publishes node state changes, and force-updates the
  // services that are due. Returns what it saw (the rollback module records swarm releases from
  // it: no second list). Throws UnreachableError.
  docker::SwarmView reconcile();
  // Lifts a service's quarantine and forgets its history (POST /heal {"reset"}; `orch heal
  // --reset <service>` lifts it in the shared quarantine document, read on every reconcile).
  bool reset(const std::string& service);
  // One pass now (`orch heal`, POST /heal, MCP's heal), after the containers' (Healer::run_pass):
  // appends an action per service in scope whose tasks keep failing (kFailuresToHeal since its
  // spec last changed, within the heal window): force-updated (or would-force-update with
  // `dry_run`), quarantined (left), or failed. No backoff: like the containers' pass, it is asked
  // for now; a force update changes the spec, so the failures before it no longer count. Nothing
  // outside a swarm manager (one GET /info). `only`, when given, narrows it (MCP's ORCH_MCP_ALLOW).
  using ServiceFilter = std::function<bool(const docker::SwarmService&)>;
  void run_pass(bool dry_run, PassReport& report, const ServiceFilter& only = {});

  // The service's force-update: its spec at its current version, ForceUpdate + 1.
  static void force_update(docker::Client& docker, const docker::SwarmService& s);

 private:
  void look_at(const docker::SwarmService& s, Clock::time_point now);
  struct Failures {
    int count = 0;
    std::string newest;  // the newest failed task's error (or state)
  };
  // The service's failed tasks after `since_ns` (engine time). Throws DockerError.
  Failures failures_since(const docker::SwarmService& s, long long since_ns);
  Policy policy_of(const docker::SwarmService& s) const;
  void nodes(const std::vector<docker::SwarmNode>& all);
  Event publish(const Event& e);
  bool in_scope(const docker::SwarmService& s) const;

  const Config& config_;
  docker::Client& docker_;
  Bus& bus_;
  Notifier& notifier_;
  StateStore& state_;
  Clock& clock_;
  mutable std::mutex mu_;
  Tracker tracker_;                                // keyed by service name; its quarantines live in kQuarantineDocument beside containers'
  std::map<std::string, long long> healed_at_ns_;  // service -> engine time of orch's last force update
  std::map<std::string, Clock::time_point> due_;   // service -> when its force update may run (backoff)
  std::map<std::string, std::string> due_reason_;
  std::map<std::string, bool> recovering_;         // healed, waiting for every task to run again
  std::map<std::string, std::string> node_state_;  // node id -> state last seen
};

}  // namespace orch::heal
