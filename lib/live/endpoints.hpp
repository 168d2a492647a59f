#pragma once
// The live view of `orch serve`: GET /events (Server-Sent Events of the bus, resumable with
// Last-Event-ID) and GET / (a self-contained status page fed by /health and /events).
#include <atomic>

#include "serve/module.hpp"

namespace orch::live {

class Module final : public orch::Module {
 public:
  explicit Module(ServeContext& ctx);
  const char* name() const override { return "live"; }
  void stop() override { stopping_ = true; }

 private:
  void events(const httplib::Request& req, httplib::Response& res);
  void page(const httplib::Request& req, httplib::Response& res);
  bool authorized(const httplib::Request& req, httplib::Response& res);
  ServeContext& ctx_;
  Gauge& viewers_;
  std::atomic<bool> stopping_{false};
};

// Orders stream ids "<ms>-<seq>" (Redis) or "<n>-0" (in process).
bool stream_id_after(const std::string& a, const std::string& b);

// The SSE frame for one event: "id: ..\nevent: ..\ndata: ..\n\n".
std::string sse_frame(const Event& e);

}  // namespace orch::live
