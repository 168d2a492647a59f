#pragma once
// Keys seen within a time window, bounded in size (oldest dropped first). The in-process bus
// deduplicates with it; the Redis bus uses it while Redis is down.
#include <algorithm>
#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

namespace orch {

class DedupeCache {
 public:
  using Clock = std::chrono::steady_clock;
  explicit DedupeCache(size_t max_keys = 1'000'000) : max_keys_(max_keys) {
    expiry_.reserve(std::min<size_t>(max_keys, 1 << 16));  // no rehash stalls while it fills
  }

  // True when `key` is new (and remembers it until now + ttl); false when seen and not expired.
  bool insert(const std::string& key, std::chrono::milliseconds ttl, Clock::time_point now = Clock::now()) {
    std::lock_guard lock(mu_);
    expire(now);
    auto [it, inserted] = expiry_.try_emplace(key, now + ttl);
    if (!inserted) {
      if (it->second > now) return false;
      it->second = now + ttl;
    }
    order_.push_back({key, now + ttl});
    while (expiry_.size() > max_keys_ && !order_.empty()) {
      expiry_.erase(order_.front().first);
      order_.pop_front();
    }
    return true;
  }
  // Forgets a key (a publish that failed must not count as seen).
  void erase(const std::string& key) {
    std::lock_guard lock(mu_);
    expiry_.erase(key);
  }

 private:
  void expire(Clock::time_point now) {
    while (!order_.empty() && order_.front().second <= now) {
      auto it = expiry_.find(order_.front().first);
      if (it != expiry_.end() && it->second <= now) expiry_.erase(it);
      order_.pop_front();
    }
  }
  size_t max_keys_;
  std::mutex mu_;
  std::unordered_map<std::string, Clock::time_point> expiry_;
  std::deque<std::pair<std::string, Clock::time_point>> order_;
};

}  // namespace orch
