#pragma once
// The live view of `orch serve`: GET /events (Server-Sent Events of the bus, resumable with
// Last-Event-ID), GET /ws (the same events as WebSocket text frames), GET /status (the stack
// at a glance, as JSON) and GET / (a self-contained status page fed by /health, /status and
// /events). The handlers check the request, take the connection from the HTTP server and hand it
// to the Fanout, so viewers hold no HTTP worker.
#include <atomic>
#include <map>
#include <mutex>

#include "live/fanout.hpp"
#include "live/hub.hpp"
#include "app/module.hpp"

namespace orch::live {

class Module final : public orch::Module {
 public:
  explicit Module(ServeContext& ctx);
  const char* name() const override { return "live"; }
  void stop() override { fanout_.stop(); }

 private:
  void events(const httplib::Request& req, httplib::Response& res);
  void websocket(const httplib::Request& req, httplib::Response& res);
  void page(const httplib::Request& req, httplib::Response& res);
  void badge(const httplib::Request& req, httplib::Response& res);
  bool authorized(const httplib::Request& req, httplib::Response& res);
  // Takes the connection, writes `head` on it and hands it to the fan-out.
  void hand_over(const httplib::Request& req, httplib::Response& res, const std::string& head, Fanout::Kind kind);
  ServeContext& ctx_;
  Hub hub_;  // before fanout_: the fan-out's viewers detach from it when they go
  Fanout fanout_;
  std::mutex badges_mu_;
  std::map<std::string, std::pair<Clock::time_point, std::string>> badges_;  // "service/period" -> (made, svg)
};

// GET /status: what /health does not show: containers (state, health, service; from the container
// cache) and the heal quarantine list. Docker or the state store being down shows as an error
// field, never a 5xx.
// `?history=7d` widens the history part (below; default 24h, 400 beyond HISTORY_RETENTION).
json stack_status(ServeContext& ctx, Millis window = std::chrono::hours(24));
Millis history_window(ServeContext& ctx, const json& query);
// The history part of /status (history/store.hpp's summary over `window`: uptime 24 h and 7 d,
// the response-time series, hourly counters, the heal/quarantine/rollback timeline) and the
// pipeline's queue depth and dead letters; a store that cannot be read shows as an error field.
json history_status(ServeContext& ctx, Millis window);

}  // namespace orch::live
