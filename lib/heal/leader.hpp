#pragma once
// Only one `orch serve` per Docker host runs the healer (SPEC §11): the holder of a Redis lease
// `SET orch:leader <id> NX PX <lease>`, renewed every third of the lease. Losing Redis means
// losing the lease when it runs out; another instance takes over within one lease period.
// Without Redis the single instance is always the leader.
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "redis/client.hpp"
#include "core/duration.hpp"
#include "core/stop_token.hpp"

namespace orch::heal {

class LeaderLease {
 public:
  // `redis_url` empty: always leader. `on_change(bool leader)` runs on the lease thread.
  LeaderLease(std::string redis_url, std::string id, Millis lease, std::function<void(bool)> on_change);
  ~LeaderLease();
  bool is_leader() const { return leader_.load(); }

 private:
  void run();
  bool try_acquire_or_renew(redis::Client& c);
  std::string url_, id_;
  Millis lease_;
  std::function<void(bool)> on_change_;
  std::atomic<bool> leader_{false};
  StopSignal stop_;
  std::thread thread_;
};

}  // namespace orch::heal
