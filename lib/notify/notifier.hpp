#pragma once
// Operator notifications (SPEC §7): heal failures, quarantine and rollbacks are POSTed as JSON to
// NOTIFY_WEBHOOK_URL (Slack/Teams-style relays, Alertmanager webhook receivers, ...). Best effort:
// sent from a background thread with a timeout, failures logged, never blocking a heal.
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "core/event.hpp"

namespace orch {

class Notifier {
 public:
  explicit Notifier(std::string url);
  ~Notifier();
  // Queues {"text": "<summary>", "event": <CloudEvent>}; a no-op without a URL.
  void send(const Event& e, const std::string& summary);
  // Waits until the queue is empty (tests, shutdown).
  void drain();

 private:
  void run();
  std::string url_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool stopping_ = false;
  int in_flight_ = 0;
  std::thread worker_;
};

}  // namespace orch
