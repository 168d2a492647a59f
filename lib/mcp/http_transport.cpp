#include "mcp/http_transport.hpp"

#include <spdlog/spdlog.h>

#include <sstream>

#include "core/text.hpp"

namespace orch::mcp {

using namespace std::chrono_literals;

static std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

HttpModule::HttpModule(ServeContext& ctx) : ctx_(ctx) {
  const auto& s = ctx.config.settings;
  Context mc{ctx.config, ctx.bus, ctx.docker, ctx.state, ctx.notifier, ctx.metrics, s.boolean("ORCH_MCP_READ_ONLY"),
             split_list(s.str("ORCH_MCP_ALLOW")), "", [&ctx] { return ctx.status.snapshot(); }};
  mc.orch_url = "http://127.0.0.1:" + s.str("PORT");
  server_ = std::make_unique<Server>(std::move(mc));
  auto& r = ctx.http.routes();
  ctx.http.allow("/mcp", "GET, POST, DELETE");
  ctx.http.guard("/mcp", http::Server::Rate::limited);
  r.Post("/mcp", [this](const httplib::Request& req, httplib::Response& res) { post(req, res); });
  r.Get("/mcp", [this](const httplib::Request& req, httplib::Response& res) { get(req, res); });
  r.Delete("/mcp", [this](const httplib::Request& req, httplib::Response& res) { del(req, res); });
}

HttpModule::~HttpModule() { stop(); }

void HttpModule::stop() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  for (auto& [id, s] : sessions_) {
    std::lock_guard slock(s->mu);
    s->closed = true;
    s->cv.notify_all();
    server_->detach(s->session.get());
  }
}

bool HttpModule::origin_allowed(const httplib::Request& req) const {
  if (!req.has_header("Origin")) return true;  // not a browser
  const auto origin = req.get_header_value("Origin");
  for (const char* local : {"http://localhost", "http://127.0.0.1", "https://localhost", "https://127.0.0.1", "http://[::1]"})
    if (origin == local || origin.rfind(std::string(local) + ":", 0) == 0) return true;
  for (const auto& allowed : split_list(ctx_.config.settings.str("ORCH_MCP_ORIGINS")))
    if (origin == allowed) return true;
  return false;
}

std::shared_ptr<HttpModule::HttpSession> HttpModule::find(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second;
}

void HttpModule::post(const httplib::Request& req, httplib::Response& res) {
  if (!origin_allowed(req)) return http::send_error(res, 403, "forbidden_origin", "Origin not allowed");
  if (!http::authorize_control(req, res, ctx_.config.settings.str("ORCH_API_TOKEN"))) return;
  if (req.has_header("MCP-Protocol-Version")) {
    auto v = req.get_header_value("MCP-Protocol-Version");
    if (std::find(kProtocolVersions.begin(), kProtocolVersions.end(), v) == kProtocolVersions.end())
      return http::send_error(res, 400, "unsupported_protocol_version", "MCP-Protocol-Version " + v + " is not supported");
  }
  auto msg = parse_json(req.body);
  if (msg.is_discarded()) return http::send_json(res, 400, {{"jsonrpc", "2.0"}, {"id", nullptr}, {"error", {{"code", -32700}, {"message", "parse error"}}}});
  const bool is_initialize = msg.is_object() && msg.value("method", "") == "initialize";
  std::shared_ptr<HttpSession> hs;
  std::string session_id = req.get_header_value("Mcp-Session-Id");
  if (is_initialize) {
    hs = std::make_shared<HttpSession>();
    session_id = new_uuid();
    std::weak_ptr<HttpSession> weak = hs;
    hs->session = std::make_unique<Session>([weak](const json& note) {
      if (auto s = weak.lock()) {
        std::lock_guard lock(s->mu);
        if (s->outbox.size() < 1000) s->outbox.push_back(to_text(note));
        s->cv.notify_all();
      }
    });
    std::lock_guard lock(mu_);
    if (stopping_) return http::send_error(res, 503, "stopping", "orch is shutting down");
    sessions_[session_id] = hs;
    server_->attach(hs->session.get());
  } else {
    if (session_id.empty()) return http::send_error(res, 400, "missing_session", "Mcp-Session-Id header is required after initialize");
    hs = find(session_id);
    if (!hs) return http::send_error(res, 404, "unknown_session", "unknown or ended Mcp-Session-Id: initialize again");
  }
  res.set_header("Mcp-Session-Id", session_id);
  // A tool call that asks for progress, from a client that accepts SSE, is answered with an event
  // stream: its progress notifications, then the response (the tool runs on this worker thread).
  const bool wants_progress = msg.is_object() && msg.value("method", "") == "tools/call" && msg.contains("params") &&
                              msg["params"].is_object() && msg["params"].contains("_meta") &&
                              msg["params"]["_meta"].is_object() && msg["params"]["_meta"].contains("progressToken");
  if (wants_progress && req.get_header_value("Accept").find("text/event-stream") != std::string::npos) {
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider("text/event-stream", [this, hs, msg](size_t, httplib::DataSink& sink) {
      bool open = true;
      auto send = [&](const json& m) {
        const std::string frame = "event: message\ndata: " + to_text(m) + "\n\n";
        if (open) open = sink.write(frame.data(), frame.size());
      };
      auto response = server_->handle(msg, *hs->session, send);
      if (!response.is_null()) send(response);
      sink.done();
      return false;
    });
    return;
  }
  auto response = server_->handle(msg, *hs->session);
  if (response.is_null()) {
    res.status = 202;  // notifications and responses from the client
    return;
  }
  http::send_json(res, 200, response);
}

void HttpModule::get(const httplib::Request& req, httplib::Response& res) {
  if (!origin_allowed(req)) return http::send_error(res, 403, "forbidden_origin", "Origin not allowed");
  if (!http::authorize_control(req, res, ctx_.config.settings.str("ORCH_API_TOKEN"))) return;
  auto hs = find(req.get_header_value("Mcp-Session-Id"));
  if (!hs) return http::send_error(res, req.has_header("Mcp-Session-Id") ? 404 : 400, "unknown_session", "initialize first");
  res.set_header("Cache-Control", "no-cache");
  res.set_header("Mcp-Session-Id", req.get_header_value("Mcp-Session-Id"));
  res.set_chunked_content_provider("text/event-stream", [this, hs](size_t, httplib::DataSink& sink) {
    std::unique_lock lock(hs->mu);
    hs->cv.wait_for(lock, 500ms, [&] { return hs->closed || !hs->outbox.empty() || ctx_.http.stopping(); });
    if (hs->closed || ctx_.http.stopping()) {
      sink.done();
      return false;
    }
    std::string out;
    while (!hs->outbox.empty()) {
      out += "event: message\ndata: " + hs->outbox.front() + "\n\n";
      hs->outbox.pop_front();
    }
    lock.unlock();
    if (out.empty()) return true;  // nothing yet; wait again (keeps shutdown prompt)
    return sink.write(out.data(), out.size());
  });
}

void HttpModule::del(const httplib::Request& req, httplib::Response& res) {
  if (!origin_allowed(req)) return http::send_error(res, 403, "forbidden_origin", "Origin not allowed");
  if (!http::authorize_control(req, res, ctx_.config.settings.str("ORCH_API_TOKEN"))) return;
  std::shared_ptr<HttpSession> hs;
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(req.get_header_value("Mcp-Session-Id"));
    if (it == sessions_.end()) return http::send_error(res, 404, "unknown_session", "no such session");
    hs = it->second;
    sessions_.erase(it);
  }
  server_->detach(hs->session.get());
  {
    std::lock_guard lock(hs->mu);
    hs->closed = true;
    hs->cv.notify_all();
  }
  res.status = 204;
}

}  // namespace orch::mcp
