#include "http/rate_limit.hpp"

#include <algorithm>
#include <cmath>

namespace orch::http {

TokenBuckets::TokenBuckets(long long limit_per_minute, const Clock& clock, size_t max_clients)
    : limit_(static_cast<double>(std::max(0LL, limit_per_minute))), clock_(clock), max_clients_(std::max<size_t>(1, max_clients)) {}

double TokenBuckets::refilled(const Bucket& b, Clock::time_point now) const {
  const double elapsed_min = std::chrono::duration<double, std::ratio<60>>(now - b.updated).count();
  return std::min(limit_, b.tokens + std::max(0.0, elapsed_min) * limit_);
}

std::chrono::milliseconds TokenBuckets::wait_from(double tokens) const {
  if (tokens >= 1.0) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(static_cast<long long>(std::ceil((1.0 - tokens) * 60'000.0 / limit_)));
}

std::chrono::milliseconds TokenBuckets::take(const std::string& client) {
  if (!enabled()) return std::chrono::milliseconds(0);
  const auto now = clock_.now();
  std::lock_guard lock(mu_);
  auto it = buckets_.find(client);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_clients_) make_room(now);
    it = buckets_.emplace(client, Bucket{limit_, now}).first;
    size_.store(buckets_.size(), std::memory_order_relaxed);
  }
  auto& b = it->second;
  b.tokens = refilled(b, now);
  b.updated = now;
  if (b.tokens < 1.0) return wait_from(b.tokens);
  b.tokens -= 1.0;
  return std::chrono::milliseconds(0);
}

std::chrono::milliseconds TokenBuckets::wait_for(const std::string& client) {
  if (!enabled() || size_.load(std::memory_order_relaxed) == 0) return std::chrono::milliseconds(0);
  std::lock_guard lock(mu_);
  auto it = buckets_.find(client);
  if (it == buckets_.end()) return std::chrono::milliseconds(0);
  const double tokens = refilled(it->second, clock_.now());
  if (tokens >= limit_) {
    buckets_.erase(it);
    size_.store(buckets_.size(), std::memory_order_relaxed);
  }
  return wait_from(tokens);
}

size_t TokenBuckets::clients() const {
  std::lock_guard lock(mu_);
  return buckets_.size();
}

// Called with mu_ held and the table full. A full bucket is the same as no bucket, so idle clients
// go first; a flood of distinct addresses can then only evict the least recently seen one.
void TokenBuckets::make_room(Clock::time_point now) {
  for (auto it = buckets_.begin(); it != buckets_.end();)
    it = refilled(it->second, now) >= limit_ ? buckets_.erase(it) : std::next(it);
  if (buckets_.size() < max_clients_) return;
  auto oldest = std::min_element(buckets_.begin(), buckets_.end(),
                                 [](const auto& a, const auto& b) { return a.second.updated < b.second.updated; });
  buckets_.erase(oldest);
}

}  // namespace orch::http
