#pragma once
// Keys seen within a time window, bounded in size (oldest dropped first). The in-process bus
// deduplicates with it; the Redis bus uses it while Redis is down.
#include <algorithm>
#include <chrono>
#include <cstdint>
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
    auto [it, inserted] = expiry_.try_emplace(key, Seen{now + ttl, next_seq_});
    if (!inserted) {
      if (it->second.until > now) return false;
      it->second = Seen{now + ttl, next_seq_};
    }
    order_.push_back({key, now + ttl, next_seq_++});
    // Over the cap, the oldest go. An entry of order_ whose key was erased or inserted again since
    // is stale: dropping it forgets nothing (it must not take the key's newer entry with it), and
    // order_ is capped too, so erase/insert cycles of one key cannot grow it.
    while ((expiry_.size() > max_keys_ || order_.size() > 2 * max_keys_) && !order_.empty()) {
      forget_if_current(order_.front());
      order_.pop_front();
    }
    return true;
  }
  // Entries held, stale ones included: what its memory grows with (at most twice the cap).
  size_t entries() {
    std::lock_guard lock(mu_);
    return order_.size();
  }
  // Forgets a key (a publish that failed must not count as seen).
  void erase(const std::string& key) {
    std::lock_guard lock(mu_);
    expiry_.erase(key);
  }

 private:
  struct Seen {
    Clock::time_point until;
    uint64_t seq;  // which entry of order_ is this key's current one
  };
  struct Entry {
    std::string key;
    Clock::time_point until;
    uint64_t seq;
  };
  void forget_if_current(const Entry& e) {
    auto it = expiry_.find(e.key);
    if (it != expiry_.end() && it->second.seq == e.seq) expiry_.erase(it);
  }
  void expire(Clock::time_point now) {
    while (!order_.empty() && order_.front().until <= now) {
      forget_if_current(order_.front());
      order_.pop_front();
    }
  }
  size_t max_keys_;
  std::mutex mu_;
  std::unordered_map<std::string, Seen> expiry_;
  std::deque<Entry> order_;
  uint64_t next_seq_ = 0;
};

}  // namespace orch
