#include "live/endpoints.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>

#include <spdlog/spdlog.h>

#include "core/text.hpp"
#include "docker/identity.hpp"
#include "http/connection.hpp"
#include "http/control.hpp"
#include "live/status_page.hpp"
#include "live/websocket.hpp"
#include "state/documents.hpp"

namespace orch::live {

using namespace std::chrono_literals;

namespace {

constexpr auto kWriteTimeout = 5s;

// Query and header parameters shared by /events and /ws.
FeedOptions feed_options(const httplib::Request& req) {
  FeedOptions o;
  o.type_prefix = req.has_param("type") ? req.get_param_value("type") : "";
  o.resume_after = req.has_header("Last-Event-ID") ? req.get_header_value("Last-Event-ID")
                                                   : (req.has_param("last_event_id") ? req.get_param_value("last_event_id") : "");
  return o;
}

// Whether a comma-separated header value holds `token`, ignoring case ("keep-alive, Upgrade").
bool header_has_token(const std::string& value, std::string_view token) {
  size_t start = 0;
  while (start <= value.size()) {
    size_t end = value.find(',', start);
    if (end == std::string::npos) end = value.size();
    std::string_view item(value.data() + start, end - start);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) item.remove_prefix(1);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) item.remove_suffix(1);
    if (iequals(item, token)) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

json stack_status(ServeContext& ctx) {
  json doc = json::object();
  json containers = json::array();
  try {
    for (const auto& c : *ctx.containers.containers()) {  // the cache's: no engine request
      auto service = docker::service_of(ctx.config, c.name, c.labels);
      containers.push_back({{"name", c.name}, {"service", service}, {"image", c.image}, {"state", c.state},
                            {"health", c.health()}, {"status", c.status}});
    }
    doc["containers"] = std::move(containers);
  } catch (const Error& e) {
    doc["containers"] = nullptr;
    doc["containers_error"] = e.what();
  }
  try {
    auto quarantine = ctx.state.load(kQuarantineDocument);
    doc["quarantine"] = quarantine.is_object() ? quarantine : json::object();
  } catch (const Error& e) {
    doc["quarantine"] = nullptr;
    doc["quarantine_error"] = e.what();
  }
  return doc;
}

Module::Module(ServeContext& ctx)
    : ctx_(ctx),
      hub_(ctx.bus),
      fanout_(hub_, ctx.metrics.gauge("orch_live_viewers", "Connected /events viewers").get(),
              ctx.metrics.gauge("orch_live_ws_viewers", "Connected /ws viewers").get()) {
  ctx.http.allow("/events", "GET");
  ctx.http.allow("/ws", "GET");
  ctx.http.allow("/", "GET");
  for (const char* path : {"/events", "/ws", "/"}) ctx.http.guard(path, http::Server::Rate::unlimited);
  ctx.http.routes().Get("/events", [this](const httplib::Request& req, httplib::Response& res) { events(req, res); });
  ctx.http.routes().Get("/ws", [this](const httplib::Request& req, httplib::Response& res) { websocket(req, res); });
  ctx.http.routes().Get("/", [this](const httplib::Request& req, httplib::Response& res) { page(req, res); });
  http::control(ctx.http, "/status", ctx.config.settings.str("ORCH_API_TOKEN"),
                [this](const json&) -> http::Reply { return stack_status(ctx_); },
                {.method = "GET", .rate = http::Server::Rate::unlimited, .token_in_query = true});
}

// Bearer token, or ?token= (browsers' EventSource and WebSocket cannot send headers), or loopback
// without a token.
bool Module::authorized(const httplib::Request& req, httplib::Response& res) {
  return http::authorize(req, res, ctx_.config.settings.str("ORCH_API_TOKEN"), /*token_in_query=*/true);
}

void Module::page(const httplib::Request& req, httplib::Response& res) {
  if (!authorized(req, res)) return;
  res.set_content(status_page_html(), "text/html; charset=utf-8");
}

void Module::hand_over(const httplib::Request& req, httplib::Response& res, const std::string& head, Fanout::Kind kind) {
  // Attach before the head goes out, so a client that acts on "open" sees its own events.
  auto feed = std::make_unique<Feed>(hub_, ctx_.bus, feed_options(req));
  const int fd = http::take_connection(req);
  if (fd < 0) return http::send_error(res, 500, "internal", "cannot take over the connection");
  res.status = kind == Fanout::Kind::sse ? 200 : 101;  // for the access log; httplib's own reply is dropped
  if (!http::send_all(fd, head, kWriteTimeout)) {
    ::close(fd);
    return;
  }
  fanout_.add(fd, kind, std::move(feed));
}

void Module::events(const httplib::Request& req, httplib::Response& res) {
  if (!authorized(req, res)) return;
  // No Content-Length and no chunking: the stream ends when the connection does.
  hand_over(req, res,
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\n"
            "Connection: close\r\n\r\n",
            Fanout::Kind::sse);
}

void Module::websocket(const httplib::Request& req, httplib::Response& res) {
  if (!authorized(req, res)) return;
  if (!header_has_token(req.get_header_value("Upgrade"), "websocket") || !header_has_token(req.get_header_value("Connection"), "upgrade")) {
    res.set_header("Upgrade", "websocket");
    res.set_header("Connection", "Upgrade");
    return http::send_error(res, 426, "upgrade_required", "GET /ws is a WebSocket endpoint: send Upgrade: websocket");
  }
  if (req.get_header_value("Sec-WebSocket-Version") != "13") {
    res.set_header("Sec-WebSocket-Version", "13");
    return http::send_error(res, 426, "upgrade_required", "only WebSocket version 13 is supported");
  }
  const auto key = req.get_header_value("Sec-WebSocket-Key");
  if (!ws::valid_client_key(key)) return http::send_error(res, 400, "bad_request", "Sec-WebSocket-Key must be the base64 of 16 bytes");
  hand_over(req, res,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + ws::accept_key(key) +
                "\r\n\r\n",
            Fanout::Kind::websocket);
}

}  // namespace orch::live
