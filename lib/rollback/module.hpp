#pragma once
// Automatic rollback in `orch serve`: records each service's release (image) as its containers
// start and, at every reconcile (SPEC §13), for the containers already running and, in swarm mode,
// for the swarm services (their spec image: rollback/swarm.hpp), forgetting services gone longer
// than ROLLBACK_HISTORY_RETENTION (or beyond ROLLBACK_HISTORY_MAX); promotes a release to
// last-known-good after ORCH_LKG_AFTER healthy (tagging a container's image REPO:orch-lkg so it is
// not pruned), and rolls a service back to it — once per release — when, within ROLLBACK_WINDOW of
// the release, the container (or swarm service) is quarantined by the healer or has not been
// healthy for ROLLBACK_UNHEALTHY_AFTER. The service is then pinned. Only the healer's leader does
// this (SPEC §11). Also POST /rollback, for services and for the repositories in ROLLBACK_REPOS.
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "docker/swarm.hpp"
#include "rollback/git.hpp"
#include "rollback/image.hpp"
#include "app/module.hpp"

namespace orch::rollback {

class Module final : public orch::Module {
 public:
  explicit Module(ServeContext& ctx);
  ~Module() override;
  const char* name() const override { return "rollback"; }
  void start() override;
  void stop() override;

  // Records a release for every running container of the list (one reconcile's) and every swarm
  // service the reconcile saw (docker::SwarmView; not a manager outside a swarm).
  void reconcile(const std::vector<docker::ContainerSummary>& all, const docker::SwarmView& swarm = {});
  // Whether this instance may act (the healer's leader); default: always.
  void set_leader_check(std::function<bool()> is_leader) { is_leader_ = std::move(is_leader); }

 private:
  void on_event(const Event& e);
  void tick();  // every 2 s, from the container cache
  void automatic(const std::string& service, const std::string& reason);
  docker::ContainerSummary container(const std::string& name);

  ServeContext& ctx_;
  Releases releases_;
  std::mutex mu_;
  std::map<std::string, long long> healthy_since_ms_;  // per service, while healthy
  Subscription sub_;
  StopSignal stop_;
  std::thread thread_;
  std::vector<std::thread> rollbacks_;  // automatic rollbacks run off the bus thread; joined at stop
  std::function<bool()> is_leader_ = [] { return true; };
  // The last reconcile found a swarm manager: only then does the tick list the services (one
  // GET /services?status=true), and only while a swarm release is recorded.
  std::atomic<bool> swarm_manager_{false};
};

}  // namespace orch::rollback
