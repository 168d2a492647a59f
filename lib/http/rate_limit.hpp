#pragma once
// Token buckets per client address: `limit` tokens a minute, up to `limit` at once. Used by the
// HTTP server for 429 answers (SPEC §5): failed authentications, and requests to control endpoints.
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/clock.hpp"

namespace orch::http {

class TokenBuckets {
 public:
  // limit_per_minute 0 = no limit. At most max_clients buckets are kept; when full, the buckets
  // that have refilled (idle clients) are dropped first, then the least recently used.
  TokenBuckets(long long limit_per_minute, const Clock& clock, size_t max_clients = 10'000);

  bool enabled() const { return limit_ > 0; }
  // Takes a token for `client`. Returns 0 when there was one, else how long until the next one.
  std::chrono::milliseconds take(const std::string& client);
  // How long until `client` has a token again (0 = it has one now); takes nothing. A bucket found
  // full again is forgotten, so the table empties when clients go quiet.
  std::chrono::milliseconds wait_for(const std::string& client);
  size_t clients() const;

 private:
  struct Bucket {
    double tokens;
    Clock::time_point updated;
  };
  double refilled(const Bucket& b, Clock::time_point now) const;
  std::chrono::milliseconds wait_from(double tokens) const;
  void make_room(Clock::time_point now);

  const double limit_;
  const Clock& clock_;
  const size_t max_clients_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
  std::atomic<size_t> size_{0};  // lets wait_for skip the lock while nobody has a bucket (the usual case)
};

}  // namespace orch::http
