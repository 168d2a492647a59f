#pragma once
// Serves every live viewer (GET /events and GET /ws) from one thread: an event loop
// (core/reactor) over the viewers' sockets and the Hub's notification, non-blocking writes, at
// most one batch per viewer every `pace`. The thread runs at the lowest CPU priority (nice 19): viewers get the CPU the API
// leaves, so a saturating burst of webhooks lags the viewers instead of slowing the API. A viewer
// more than `max_buffered` bytes or the Hub's ring behind is disconnected, and resumes losslessly
// with Last-Event-ID (bench/live measures both sides).
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/reactor.hpp"
#include "live/feed.hpp"
#include "metrics/metrics.hpp"

namespace orch::live {

struct FanoutOptions {
  std::chrono::milliseconds pace{50};
  size_t max_buffered = 4 << 20;  // per viewer
  int nice = 19;
  // docs/live.md's promises to viewers, not settings; tests shorten them to see them happen.
  std::chrono::milliseconds sse_keepalive{15'000};  // ": keep-alive" after this much silence
  std::chrono::milliseconds ws_ping{30'000};        // a ping after this much silence
  std::chrono::milliseconds tick{1'000};            // how often quiet and closing viewers are looked at
  std::chrono::milliseconds close_wait{1'000};      // how long a WebSocket's answer to our close is awaited
};

class Fanout {
 public:
  enum class Kind { sse, websocket };
  Fanout(Hub& hub, Gauge& sse_viewers, Gauge& ws_viewers, FanoutOptions opts = {});
  ~Fanout();
  Fanout(const Fanout&) = delete;
  Fanout& operator=(const Fanout&) = delete;

  // Takes ownership of `fd`, whose response head (SSE) or handshake (WebSocket) is already sent.
  void add(int fd, Kind kind, std::unique_ptr<Feed> feed);
  // WebSocket viewers get close 1001 "server stopping" (and a moment to answer); then every
  // connection is closed and the thread joined. Idempotent.
  void stop();

 private:
  struct Viewer;
  // All on the loop's thread.
  void attach(std::unique_ptr<Viewer> v);
  void on_notified();
  void collect_all();
  void on_event(Viewer& v, uint32_t events);
  void on_readable(Viewer& v);
  void flush(Viewer& v);
  void begin_close(Viewer& v, uint16_t code, std::string_view reason);
  void drop(int fd);
  void tick();
  void begin_stop();
  void check_stopped();

  Hub& hub_;
  Gauge& sse_viewers_;
  Gauge& ws_viewers_;
  FanoutOptions opts_;
  Reactor reactor_;
  std::mutex mu_;
  bool stopping_ = false;  // guarded by mu_: add() refuses once set
  // Loop thread only.
  std::vector<std::unique_ptr<Viewer>> viewers_by_fd_;  // index = fd
  bool collect_scheduled_ = false;
  std::chrono::steady_clock::time_point last_collect_;
  bool stop_begun_ = false;
  std::chrono::steady_clock::time_point stop_deadline_;
  std::thread thread_;
};

}  // namespace orch::live
