#pragma once
// The healer inside `orch serve`, plus POST /heal. Level-triggered (SPEC §13): the engine's whole
// state is reconciled after every full list of the container cache (on start, after every
// reconnect of its watcher, and every ORCH_RECONCILE_INTERVAL) and when this instance becomes the
// leader; the cache's events only make it react sooner. It reads the cache, never lists itself.
// In swarm mode each reconcile also looks at the swarm's services and nodes (service_healer.hpp).
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "heal/healer.hpp"
#include "heal/leader.hpp"
#include "heal/service_healer.hpp"
#include "app/module.hpp"

namespace orch::heal {

class Module final : public orch::Module {
 public:
  // A reconcile's container list and what it saw of the swarm (docker::SwarmView: not a manager
  // outside a swarm).
  using ReconcileListener = std::function<void(const std::vector<docker::ContainerSummary>&, const docker::SwarmView&)>;
  explicit Module(ServeContext& ctx);
  ~Module() override;
  const char* name() const override { return "healer"; }
  void start() override;
  void stop() override;

  // Also handed each reconcile's container list and swarm services (the rollback module records
  // releases from them), so a reconcile lists the engine's containers and services once. Register
  // before start().
  void on_reconcile(ReconcileListener listener);
  // This instance holds the healer lease (always, without Redis).
  bool is_leader() const;

 private:
  void on_container_event(const docker::EventMessage& m);
  void on_connection(bool up, const std::string& why);
  void on_list(docker::ContainerCache::ListReason reason);
  void request_reconcile();
  void reconcile_loop();
  void reconcile_now();
  ServeContext& ctx_;
  Healer healer_;
  ServiceHealer service_healer_;  // swarm mode: services and nodes, from the same reconciles
  std::unique_ptr<LeaderLease> lease_;
  Gauge& docker_connected_;
  Counter& reconciles_;
  std::vector<ReconcileListener> listeners_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool requested_ = false;  // the cache's first list asks for the first reconcile
  bool stopping_ = false;
  std::thread reconciler_;
  Subscription reset_sub_;  // heal.reset from any process: reconcile now
};

}  // namespace orch::heal
