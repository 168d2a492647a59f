#pragma once
// MCP Streamable HTTP on `orch serve` (/mcp): POST carries JSON-RPC (answered as JSON),
// GET opens a Server-Sent Events stream for the session's notifications, DELETE ends the session.
// Sessions are named by Mcp-Session-Id; Origin is checked (DNS-rebinding protection) and the
// bearer token rules of the other control endpoints apply.
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>

#include "mcp/server.hpp"
#include "serve/module.hpp"

namespace orch::mcp {

class HttpModule final : public orch::Module {
 public:
  explicit HttpModule(ServeContext& ctx);
  ~HttpModule() override;
  const char* name() const override { return "mcp"; }
  void stop() override;

 private:
  struct HttpSession {
    std::unique_ptr<Session> session;
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::string> outbox;  // notifications waiting for the GET stream
    bool closed = false;
  };
  bool origin_allowed(const httplib::Request& req) const;
  std::shared_ptr<HttpSession> find(const std::string& id);
  void post(const httplib::Request& req, httplib::Response& res);
  void get(const httplib::Request& req, httplib::Response& res);
  void del(const httplib::Request& req, httplib::Response& res);

  ServeContext& ctx_;
  std::unique_ptr<Server> server_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<HttpSession>> sessions_;
  bool stopping_ = false;
};

}  // namespace orch::mcp
