#pragma once
// What the benchmarks share: a closed-loop webhook load generator (keep-alive connections, one
// epoll loop, as wrk does, so it stays light on CPU) and percentiles.
#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace orch::bench {

inline const std::string kWebhookSecret = "bench-secret-0123456789";

struct LoadResult {
  double seconds = 0;
  std::vector<double> latencies_us;  // of accepted (202) requests, send to complete response
  long long errors = 0;
  std::map<int, long long> error_statuses;  // status (-1: connection closed) -> count
  double per_second() const { return seconds > 0 ? static_cast<double>(latencies_us.size()) / seconds : 0; }
};

// Sends distinct, HMAC-signed Builder.io publish webhooks (no dedupe hits) to 127.0.0.1:port over
// `connections` keep-alive connections for `seconds`. Throws std::runtime_error if it cannot connect.
LoadResult run_webhook_load(int port, int connections, double seconds, long long first_id = 0);

// The p-quantile (0..1) of v; 0 for an empty v.
double percentile(std::vector<double> v, double p);

}  // namespace orch::bench
