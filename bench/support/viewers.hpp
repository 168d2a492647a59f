#pragma once
// What the benchmarks that watch orch share: live viewers on GET /events (SSE) or GET /ws, drained
// by one low-priority thread, and a value read from /metrics. For bench/live and bench/soak.
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "support/orch_server.hpp"

namespace orch::bench {

// N connected viewers of one kind, drained by one thread; counts bytes and closed connections.
class Viewers {
 public:
  Viewers(int port, int n, bool websocket);
  ~Viewers();
  Viewers(const Viewers&) = delete;
  Viewers& operator=(const Viewers&) = delete;
  size_t connected() const { return fds_.size() - closed_.load(); }
  long long bytes() const { return bytes_.load(); }

 private:
  int ep_;
  std::vector<int> fds_;
  std::thread reader_;
  std::atomic<bool> stop_{false};
  std::atomic<long long> bytes_{0};
  std::atomic<size_t> closed_{0};
};

// A metric without labels from orch's /metrics; -1 when absent.
double gauge(const test::OrchServer& orch, const std::string& name);

}  // namespace orch::bench
