#pragma once
// The live view of `orch serve`: GET /events (Server-Sent Events of the bus, resumable with
// Last-Event-ID), GET /ws (the same events as WebSocket text frames), GET /status (the stack
// at a glance, as JSON) and GET / (a self-contained status page fed by /health, /status and /events).
#include <atomic>

#include "live/feed.hpp"
#include "serve/module.hpp"

namespace orch::live {

class Module final : public orch::Module {
 public:
  explicit Module(ServeContext& ctx);
  const char* name() const override { return "live"; }
  void stop() override { stopping_ = true; }

 private:
  void events(const httplib::Request& req, httplib::Response& res);
  void websocket(const httplib::Request& req, httplib::Response& res);
  void run_websocket(int fd, Feed& feed);
  void page(const httplib::Request& req, httplib::Response& res);
  void status(const httplib::Request& req, httplib::Response& res);
  bool authorized(const httplib::Request& req, httplib::Response& res);
  bool stopping() const { return stopping_ || ctx_.http.stopping(); }
  ServeContext& ctx_;
  Gauge& viewers_;
  Gauge& ws_viewers_;
  std::atomic<bool> stopping_{false};
};

// GET /status: what /health does not show: containers (state, health, service) and the heal
// quarantine list. Docker or the state store being down shows as an error field, never a 5xx.
json stack_status(ServeContext& ctx);

// The SSE frame for one event: "id: ..\nevent: ..\ndata: ..\n\n".
std::string sse_frame(const Event& e);

// The WebSocket text of one event: its CloudEvent JSON plus the extension attribute `streamid`
// (the stream id, for resuming with ?last_event_id=).
std::string ws_message(const Event& e);

}  // namespace orch::live
