#pragma once
// Sends alerts to the configured providers (SPEC §7, docs/alerting.md): the `notify:` list of the
// config file and NOTIFY_WEBHOOK_URL (a generic webhook). Never blocks the caller (a heal, the
// health loop, the bus thread): alerts wait in one bounded queue (ORCH_ALERT_QUEUE, the oldest
// dropped beyond) for one background worker, which sends each with a timeout and retries on 5xx,
// 429 (its Retry-After honoured) and transport errors with a doubling delay, then gives up with a
// log line. orch_notifications_total{provider,result} counts sent, failed, dropped, silenced.
// Provider URLs are secrets: logs show them through mask_url_beyond_host().
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/alerting.hpp"
#include "core/event.hpp"
#include "metrics/metrics.hpp"
#include "notify/alert.hpp"

namespace orch {

class Settings;

struct NotifierOptions {
  std::chrono::milliseconds timeout{10'000};
  int attempts = 4;
  std::chrono::milliseconds retry_delay{2'000};
  size_t queue_max = 1000;
};
NotifierOptions notifier_options(const Settings& s);

class Notifier {
 public:
  // A generic webhook at `url` (empty: sends nothing): what the one-shot commands used to build.
  explicit Notifier(std::string url);
  Notifier(std::vector<NotifyProvider> providers, NotifierOptions options, Metrics* metrics = nullptr);
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // A one-shot alert made from `e` (heal failure, quarantine, rollback) with `summary` as its line.
  // Off (a no-op) once set_direct(false): in `orch serve` the alerter takes these from the bus.
  void send(const Event& e, const std::string& summary);
  void set_direct(bool on) { direct_ = on; }

  // Queues `a` for every provider whose filter takes it; `silenced` counts it instead of sending.
  void dispatch(const Alert& a, bool silenced = false);
  // Waits until nothing is queued or being sent, at most `limit` (tests, shutdown).
  void drain(std::chrono::milliseconds limit = std::chrono::seconds(15));
  size_t queued() const;
  bool empty() const { return providers_.empty(); }
  const std::vector<NotifyProvider>& providers() const { return providers_; }

 private:
  struct Job {
    size_t provider;
    Alert alert;
    int attempt = 1;
    std::chrono::steady_clock::time_point not_before;
  };
  enum class Outcome { sent, retry, failed };
  void run();
  Outcome deliver(const Job& job, std::chrono::milliseconds& retry_after);
  void count(size_t provider, const char* result);

  std::vector<NotifyProvider> providers_;
  NotifierOptions options_;
  Family<Counter>* counter_ = nullptr;
  bool direct_ = true;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  int in_flight_ = 0;
  std::thread worker_;
};

}  // namespace orch
