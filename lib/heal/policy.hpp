#pragma once
// The heal policy (SPEC §7), as pure logic over an injected time: kubelet + Swarm defaults —
// first restart at once, then 10 s doubling to 300 s (±10 % jitter), backoff reset after 10 min
// healthy, at most 5 heals per container per 30 min, then quarantine.
#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/duration.hpp"
#include "core/json.hpp"

namespace orch {
class Settings;
struct ServiceSpec;
}

namespace orch::heal {

struct Policy {
  int max_restarts = 5;
  Millis window{30 * 60'000};
  BackoffRange backoff{Millis(10'000), Millis(300'000)};
  Millis reset_after{10 * 60'000};
  double jitter = 0.10;
  std::optional<int> stop_timeout_s;  // orch.stop.timeout, else the container's own
};

// Defaults from the settings, then the service's `heal:` overrides, then the container's labels
// (orch.heal.max-restarts, orch.heal.window, orch.heal.backoff, orch.stop.timeout). A bad label
// value is ignored with the reason in `warnings`.
Policy policy_for(const Settings& s, const ServiceSpec* service, const std::map<std::string, std::string>& labels,
                  std::vector<std::string>* warnings = nullptr);

enum class Verdict { restart, quarantine, ignore };

struct Decision {
  Verdict verdict = Verdict::ignore;
  Millis delay{0};      // restart after this long (backoff still running)
  int attempt = 0;      // 1 for the first heal in a streak
  Millis next_delay{0}; // what the following heal would wait
  std::string reason;
};

// Per-container heal history. Not thread safe: the healer serialises calls.
class Tracker {
 public:
  explicit Tracker(unsigned seed = std::random_device{}()) : rng_(seed) {}

  Decision on_failure(const std::string& container, const Policy& p, Clock::time_point now);
  // A restart was made (or tried): returns its attempt number in the streak, 1 for the first.
  int on_restarted(const std::string& container, Clock::time_point now);
  // What the next failure's restart would wait after the last one (no side effects on the streak).
  Millis delay_after(const std::string& container, const Policy& p);
  void on_healthy(const std::string& container, Clock::time_point now);

  bool quarantined(const std::string& container) const;
  void quarantine(const std::string& container, Clock::time_point now, const std::string& reason);
  void reset(const std::string& container);
  json quarantine_list() const;  // {name: {since, reason}}
  void load_quarantine(const json& doc);

 private:
  struct State {
    std::vector<Clock::time_point> heals;  // within the window
    int streak = 0;                        // heals since the last healthy reset
    std::optional<Clock::time_point> last_heal;
    std::optional<Clock::time_point> healthy_since;
  };
  Millis backoff_delay(const Policy& p, int streak);
  std::map<std::string, State> states_;
  std::map<std::string, json> quarantined_;
  std::mt19937 rng_;
};

}  // namespace orch::heal
