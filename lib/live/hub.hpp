#pragma once
// The live module's one view of the bus, shared by every viewer of /events and /ws: one
// subscription (taken while anyone watches), each event rendered once (SSE frame and WebSocket
// frame) into a bounded ring, viewers reading the ring by sequence number. Per event the bus
// thread does O(1) work however many viewers there are; a viewer that falls out of the ring is
// told so (and disconnected; it resumes with Last-Event-ID).
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bus/bus.hpp"

namespace orch::live {

struct LiveEvent {
  std::string stream_id;
  std::string type;
  std::string sse;  // "id: ..\nevent: ..\ndata: <CloudEvent>\n\n"
  std::string ws;   // a WebSocket text frame: the CloudEvent plus "streamid"
  static std::shared_ptr<const LiveEvent> from(const Event& e);
};
using LiveEventPtr = std::shared_ptr<const LiveEvent>;

// The SSE frame of one event.
std::string sse_frame(const Event& e);
// The WebSocket message of one event: its CloudEvent JSON plus the extension attribute
// `streamid` (the stream id, for resuming with ?last_event_id=).
std::string ws_message(const Event& e);

class Hub {
 public:
  explicit Hub(Bus& bus, size_t capacity = 20'000);
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // A viewer starts reading at the current head; the first one subscribes to the bus.
  uint64_t attach();
  // The last one to leave unsubscribes.
  void detach();

  enum class Status { ready, overflow };
  // Appends the events after `cursor` to `out` and advances it; never waits.
  Status collect(uint64_t& cursor, std::vector<LiveEventPtr>& out);

  // Becomes readable (an eventfd) after arm() once an event arrives: a reader calls arm() before
  // collecting, then waits for this descriptor. Drain it with clear_notification().
  int notify_fd() const { return notify_fd_; }
  void arm() { armed_ = true; }
  void clear_notification();

 private:
  void on_event(const Event& e);
  Bus& bus_;
  const size_t capacity_;
  const int notify_fd_;
  std::atomic<bool> armed_{true};
  std::mutex mu_;
  std::deque<LiveEventPtr> ring_;
  uint64_t first_seq_ = 0;  // sequence number of ring_.front()
  size_t readers_ = 0;
  Subscription sub_;
};

}  // namespace orch::live
