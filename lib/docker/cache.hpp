#pragma once
// The engine's containers as `orch serve` knows them (SPEC §7, §13), kept in one place the way a
// Kubernetes shared informer keeps its objects: one full list when the watcher connects (on start
// and after every reconnect), the engine's container events applied in between, and a re-list
// every ORCH_RECONCILE_INTERVAL for what the events did not say. Heal, rollback, /status and the
// status page, diagnose and MCP read their lists here, so an idle daemon costs the engine one list
// per interval whatever the number of containers and services (bench/engine, docs/heal.md). Only
// the details of one container (inspect, logs, stats) still go to the engine.
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/duration.hpp"
#include "core/stop_token.hpp"
#include "docker/client.hpp"
#include "docker/watcher.hpp"

namespace orch::docker {

class ContainerCache final : public ContainerSource {
 public:
  enum class ListReason { connected, interval };
  // What a listener hears after the cache changed, on the cache's threads (the watcher's for
  // events and the list after a connect; the re-lister's for the periodic list). Every member may
  // be empty. Listeners are added before start() and live longer than the cache runs.
  struct Listener {
    std::function<void(bool up, const std::string& why)> on_connection;  // up: listed, in step
    std::function<void(const EventMessage&)> on_event;                   // a container event, already applied
    std::function<void(ListReason)> on_list;                             // a full list was installed
  };

  // `relist_interval` 0: lists only when the watcher (re)connects.
  ContainerCache(Client& client, Millis relist_interval);
  ~ContainerCache() override;
  ContainerCache(const ContainerCache&) = delete;
  ContainerCache& operator=(const ContainerCache&) = delete;

  void add_listener(Listener listener);
  void start();
  void stop();

  // Every container, newest first. Throws UnreachableError while the cache is not in step with
  // the engine (the watcher lost it, or could not reach it at start): stale containers are not
  // served. A call while the first connect and list are still on their way waits for them (at
  // most kFirstListWait), as informer users wait for the first sync: a request that arrives just
  // after `orch serve` started is not told that a reachable engine is unreachable.
  ContainerList containers() override;
  static constexpr Millis kFirstListWait{5000};  // beyond the client's 3 s connect timeout
  // One container by id or name, from what the cache holds; nullopt when it holds none.
  std::optional<ContainerSummary> find(const std::string& id_or_name) const;
  // Changes with every change of the containers held.
  unsigned long long generation() const;

 private:
  // A container and what its `status` text is made of, so events can change it.
  struct Entry {
    ContainerSummary c;
    std::string health;  // healthy, unhealthy, starting, "" (no health check)
    bool has_health = false;
    int exit_code = 0;
    bool engine_status = true;  // c.status is the engine's own text (no event since the list)
  };
  using Entries = std::map<std::string, Entry>;
  // An event seen while a list was on its way, with the detail it came with (replayed on the list).
  struct Seen {
    EventMessage event;
    std::optional<ContainerInfo> detail;
    bool gone = false;
  };

  void list_now(ListReason reason);
  void on_engine_event(const EventMessage& m);
  void on_watcher_connection(bool up, const std::string& why);
  void relist_loop();
  void apply(Entries& entries, const Seen& seen);
  static Entry entry_of(const ContainerSummary& s);
  static Entry entry_of(const ContainerInfo& c);
  static std::string status_text(const Entry& e);

  Client& client_;
  Millis relist_interval_;
  std::vector<Listener> listeners_;
  Watcher watcher_;

  std::mutex list_mu_;     // one list at a time (watcher's connect, re-lister)
  mutable std::mutex mu_;  // guards what follows
  Entries entries_;
  bool in_step_ = false;
  std::string error_ = "not listed yet";
  bool started_ = false;  // start() ran and no stop(): a first list is on its way
  bool settled_ = false;  // the first connect and list ended, either way
  std::condition_variable settled_cv_;
  bool listing_ = false;  // a list is on its way: events are also kept in pending_
  std::vector<Seen> pending_;
  unsigned long long generation_ = 0;
  unsigned long long next_revision_ = 0;
  ContainerList snapshot_;  // built on demand for generation_ (snapshot_generation_)
  unsigned long long snapshot_generation_ = ~0ULL;

  StopSignal stop_;
  std::thread relister_;
};

}  // namespace orch::docker
