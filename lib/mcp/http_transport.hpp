#pragma once
// MCP Streamable HTTP on `orch serve` (/mcp, SPEC §9): POST carries JSON-RPC (answered as JSON,
// or as an SSE stream for a tool call that asks for progress), GET opens a Server-Sent Events
// stream for the session's notifications, DELETE ends the session. Sessions are named by
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
  void stop() override;

 private:
  using Clock = std::chrono::steady_clock;
  class Use;
  struct HttpSession {
    std::string id;
    std::unique_ptr<Session> session;
    std::mutex mu;                   // guards the three below; taken after the module's mu_
    std::deque<std::string> outbox;  // notifications waiting for a GET stream
    std::shared_ptr<http::OutStream> stream;  // the open GET stream, written by the HTTP loop
    std::shared_ptr<Use> stream_use;          // keeps the session in use while it is open
    bool closed = false;
    // Under the module's mu_: a session with a request or GET stream in progress is in use, so it
    // neither expires nor is evicted; its idle time counts from when the last one ended.
    int in_use = 0;
    Clock::time_point last_used = Clock::now();
  };
  // Holds a session in use for as long as it lives (a request, or an open GET stream).

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
  void del(const httplib::Request& req, httplib::Response& res);

  ServeContext& ctx_;
  std::unique_ptr<Server> server_;
  std::vector<std::string> hosts_, origins_;  // ORCH_MCP_HOSTS, ORCH_MCP_ORIGINS
  std::string bind_;
  Clock::duration idle_;
  size_t max_sessions_;
  Clock::duration keep_alive_;
  Gauge* sessions_gauge_ = nullptr;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<HttpSession>> sessions_;
  Clock::time_point next_sweep_ = Clock::now();
  bool stopping_ = false;
};

}  // namespace orch::mcp
