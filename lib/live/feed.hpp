#pragma once
// One live viewer's share of the bus, for GET /events and GET /ws: subscribed before the backlog
// is read (so nothing falls between the two), de-duplicated at that seam by stream id, filtered by
// type prefix, and bounded: a viewer that stops reading is dropped, never the bus.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bus/bus.hpp"

namespace orch::live {

struct FeedOptions {
  std::string type_prefix;   // "content." keeps content.*; empty keeps all
  std::string resume_after;  // stream id: replay stored events after it first; empty = live only
  size_t max_queued = 10'000;
};

class Feed {
 public:
  Feed(Bus& bus, FeedOptions opts);
  Feed(const Feed&) = delete;
  Feed& operator=(const Feed&) = delete;

  enum class Status { ready, overflow, stopped };
  // Waits up to `wait` for events (returning early when `stopped()` turns true, checked at least
  // every `wait`), and moves them, filtered, into `out`. `out` may stay empty on ready.
  Status next(std::vector<Event>& out, std::chrono::milliseconds wait, const std::function<bool()>& stopped);

 private:
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Event> queue;
    bool overflow = false;
  };
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
  FeedOptions opts_;
  std::string last_sent_;
  Subscription sub_;  // last: unsubscribes before the queue goes
};

// Orders stream ids "<ms>-<seq>" (Redis) or "<n>-0" (in process).
bool stream_id_after(const std::string& a, const std::string& b);

}  // namespace orch::live
