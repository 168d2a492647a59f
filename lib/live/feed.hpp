#pragma once
// One live viewer's position in the Hub: attached before the backlog is read (so nothing falls
// between the two), de-duplicated at that seam by stream id, filtered by type prefix.
#include <deque>
#include <string>
#include <vector>

#include "live/hub.hpp"

namespace orch::live {

struct FeedOptions {
  std::string type_prefix;   // "content." or "content.*" keeps content.*; empty keeps all
  std::string resume_after;  // stream id: replay stored events after it first; empty = live only
};

class Feed {
 public:
  // Reads the backlog from `bus` (Redis down: none; live events still flow).
  Feed(Hub& hub, Bus& bus, FeedOptions opts);
  ~Feed() { hub_.detach(); }
  Feed(const Feed&) = delete;
  Feed& operator=(const Feed&) = delete;

  // Moves what arrived since the last call, filtered, into `out`; never waits.
  Hub::Status collect(std::vector<LiveEventPtr>& out);

 private:
  Hub& hub_;
  FeedOptions opts_;
  uint64_t cursor_;
  std::vector<LiveEventPtr> backlog_;
  std::string last_sent_;
};

// Orders stream ids "<ms>-<seq>" (Redis) or "<n>-0" (in process).
bool stream_id_after(const std::string& a, const std::string& b);

}  // namespace orch::live
