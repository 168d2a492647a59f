#pragma once
// Time is injected so the daemon's loops (healer backoff, health loop, dedupe windows, leases)
// can be driven by a fake clock in unit tests.
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace orch {

// Wall-clock time since the Unix epoch, as events, the history and the engine's `since` count it.
inline long long unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
inline long long unix_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class Clock {
 public:
  using duration = std::chrono::milliseconds;
  using time_point = std::chrono::time_point<std::chrono::system_clock, duration>;
  virtual ~Clock() = default;
  virtual time_point now() const = 0;
  // Blocks until `d` has passed on this clock.
  virtual void sleep_for(duration d) = 0;
};

class SystemClock final : public Clock {
 public:
  time_point now() const override {
    return std::chrono::time_point_cast<duration>(std::chrono::system_clock::now());
  }
  void sleep_for(duration d) override;
  static SystemClock& instance();
};

// A clock that only moves when a test advances it. sleep_for blocks until the fake time has
// advanced far enough, so a loop under test runs exactly as it would in real time.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(time_point start = time_point(std::chrono::hours(24 * 365 * 50)))
      : now_(start) {}
  time_point now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  void sleep_for(duration d) override {
    std::unique_lock lock(mu_);
    auto until = now_ + d;
    ++sleepers_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return now_ >= until; });
    --sleepers_;
  }
  void advance(duration d) {
    std::lock_guard lock(mu_);
    now_ += d;
    cv_.notify_all();
  }
  // Waits until `n` threads are blocked in sleep_for: lets a test advance time deterministically.
  void wait_for_sleepers(int n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return sleepers_ >= n; });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  time_point now_;
  int sleepers_ = 0;
};

}  // namespace orch
