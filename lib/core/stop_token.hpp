#pragma once
// A cooperative stop signal for the daemon's long-lived loops: wait_for() is an interruptible sleep.
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace orch {

class StopSignal {
 public:
  void request_stop() {
    std::lock_guard lock(mu_);
    stopped_ = true;
    cv_.notify_all();
  }
  bool stop_requested() const {
    std::lock_guard lock(mu_);
    return stopped_;
  }
  // Returns true if stop was requested before `d` elapsed.
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> d) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, d, [&] { return stopped_; });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
};

}  // namespace orch
