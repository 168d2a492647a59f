#pragma once
// Serves every live viewer (GET /events and GET /ws) from one thread: epoll over the viewers'
// sockets and the Hub's notification, non-blocking writes, at most one batch per viewer every
// `pace`. The thread runs at the lowest CPU priority (nice 19): viewers get the CPU the API
// leaves, so a saturating burst of webhooks lags the viewers instead of slowing the API. A viewer
// more than `max_buffered` bytes or the Hub's ring behind is disconnected, and resumes losslessly
// with Last-Event-ID (bench/live measures both sides).
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "live/feed.hpp"
#include "metrics/metrics.hpp"

namespace orch::live {

struct FanoutOptions {
  std::chrono::milliseconds pace{50};
  size_t max_buffered = 4 << 20;  // per viewer
  int nice = 19;
  std::chrono::seconds sse_keepalive{15};
  std::chrono::seconds ws_ping{30};
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
  void run();
  void collect_all();
  void on_readable(Viewer& v);
  void flush(Viewer& v);
  void begin_close(Viewer& v, uint16_t code, std::string_view reason);
  void drop(int fd);

  Hub& hub_;
  Gauge& sse_viewers_;
  Gauge& ws_viewers_;
  FanoutOptions opts_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: new viewers or stop
  std::mutex mu_;
  std::vector<std::unique_ptr<Viewer>> incoming_;
  bool stopping_ = false;
  std::vector<std::unique_ptr<Viewer>> viewers_by_fd_;  // index = fd; owned by the thread
  std::thread thread_;
};

}  // namespace orch::live
