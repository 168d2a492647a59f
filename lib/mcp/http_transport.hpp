#pragma once
// MCP Streamable HTTP on `orch serve` (/mcp, SPEC §9): POST carries JSON-RPC (answered as JSON,
// or as an SSE stream for a tool call that asks for progress), GET opens a Server-Sent Events
// stream for the session's notifications, DELETE ends the session; under 2026-07-28 a POST of
// subscriptions/listen is a long-lived SSE stream of its own. Sessions are named by
// Mcp-Session-Id, expire when idle and are capped in number; Host and Origin are checked
// (DNS-rebinding protection) and the bearer token rules of the other control endpoints apply.
#include <chrono>
#include <deque>
#include <map>
#include <memory>

#include "mcp/server.hpp"
#include "app/module.hpp"

namespace orch::mcp {

class HttpModule final : public orch::Module {
 public:
  explicit HttpModule(ServeContext& ctx);
  ~HttpModule() override;
  const char* name() const override { return "mcp"; }
  void draining() override;
  void stop() override;

 private:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kReplayEvents = 64, kReplays = 16;
  class Use;
  struct HttpSession {
    std::string id;
    std::unique_ptr<Session> session;
    std::mutex mu;                   // guards the members below; taken after the module's mu_
    std::deque<std::string> outbox;  // notifications waiting for a GET stream
    std::shared_ptr<http::OutStream> stream;  // the open GET stream, written by the HTTP loop
    std::shared_ptr<Use> stream_use;          // keeps the session in use while it is open
    // The SSE answers of tool calls, kept so that a client whose connection broke mid-call can
    // resume with GET + Last-Event-ID "S-N" (SEP-1699); breaking the connection does not cancel
    // (the spec: a client cancels with notifications/cancelled). Bounded: kReplayEvents per
    // stream (the oldest progress goes first), kReplays streams per session (finished ones go).
    struct Replay {
      json request_id;
      std::deque<std::pair<long, std::string>> frames;  // sequence number, the whole SSE frame
      long next_seq = 1;
      bool done = false;
      std::shared_ptr<http::OutStream> resumed;  // a GET that resumed this stream
    };
    std::map<long, Replay> replays;  // by stream number
    long next_stream = 1;
    bool closed = false;
    // Under the module's mu_: a session with a request or GET stream in progress is in use, so it
    // neither expires nor is evicted; its idle time counts from when the last one ended.
    int in_use = 0;
    Clock::time_point last_used = Clock::now();
  };
  // A 2026-07-28 subscriptions/listen: a session of its own, attached to the server for as long
  // as its stream is open. What it sends before the stream exists (the acknowledgement) waits.
  struct ListenStream {
    std::unique_ptr<Session> session;
    std::mutex mu;  // guards the three below
    std::shared_ptr<http::OutStream> stream;
    std::deque<std::string> pending;
    bool ended = false;
  };

  bool host_allowed(const httplib::Request& req) const;
  bool origin_allowed(const httplib::Request& req) const;
  // Host, Origin and the bearer token; false = answered (403/401).
  bool admit(const httplib::Request& req, httplib::Response& res);
  // A new session, after expired ones are dropped and, at the cap, the least recently used idle
  // one is evicted; null when every session is in use (answered 503).
  std::shared_ptr<Use> open_session(httplib::Response& res);
  // The session named `id`, in use; null when unknown, ended or expired.
  std::shared_ptr<Use> use_session(const std::string& id);
  void release(HttpSession& s);
  // Under mu_. Ends `s` (detached, its streams closed) and forgets it.
  void end_locked(std::shared_ptr<HttpSession> s, const char* why);
  void sweep_locked(Clock::time_point now);
  void post(const httplib::Request& req, httplib::Response& res);
  void post_modern(const httplib::Request& req, httplib::Response& res, const json& msg);
  void get(const httplib::Request& req, httplib::Response& res);
  // A tool call answered as a resumable SSE stream (legacy sessions).
  void post_stream(const httplib::Request& req, HttpSession& hs, const json& msg);
  // GET with a Last-Event-ID of a kept stream: its frames after that id, then the rest as they
  // come; false when the id names no kept stream.
  bool resume(const httplib::Request& req, const std::shared_ptr<Use>& use, const std::string& last_event_id);
  void del(const httplib::Request& req, httplib::Response& res);
  void post_listen(const httplib::Request& req, httplib::Response& res, const json& msg);
  // Forgets a listen (its client went away, or it was refused): detached from the server.
  void drop_listen(const std::shared_ptr<ListenStream>& l);

  ServeContext& ctx_;
  std::unique_ptr<Server> server_;
  std::vector<std::string> hosts_, origins_;  // ORCH_MCP_HOSTS, ORCH_MCP_ORIGINS
  std::string bind_;
  Clock::duration idle_;
  size_t max_sessions_;
  Clock::duration keep_alive_;
  Gauge* sessions_gauge_ = nullptr;
  Gauge* listens_gauge_ = nullptr;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<HttpSession>> sessions_;
  Clock::time_point next_sweep_ = Clock::now();
  bool stopping_ = false;
  // Open listen streams, at most max_sessions_ (as sessions are).
  std::map<ListenStream*, std::shared_ptr<ListenStream>> listens_;
};

}  // namespace orch::mcp
