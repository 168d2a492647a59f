#include "live/endpoints.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>

#include <spdlog/spdlog.h>

#include "heal/healer.hpp"
#include "http/connection.hpp"
#include "live/status_page.hpp"
#include "live/websocket.hpp"

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
    if (item.size() == token.size() &&
        std::equal(item.begin(), item.end(), token.begin(), [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
      return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

std::string sse_frame(const Event& e) {
  return "id: " + e.stream_id + "\nevent: " + e.type + "\ndata: " + e.to_string() + "\n\n";
}

std::string ws_message(const Event& e) {
  auto j = e.to_json();
  if (!e.stream_id.empty()) j["streamid"] = e.stream_id;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json stack_status(ServeContext& ctx) {
  json doc = json::object();
  json containers = json::array();
  try {
    for (const auto& c : ctx.docker.list(true)) {
      auto service = c.labels.count("com.docker.compose.service") ? c.labels.at("com.docker.compose.service") : c.name;
      containers.push_back({{"name", c.name}, {"service", service}, {"image", c.image}, {"state", c.state},
                            {"health", c.health()}, {"status", c.status}});
    }
    doc["containers"] = std::move(containers);
  } catch (const Error& e) {
    doc["containers"] = nullptr;
    doc["containers_error"] = e.what();
  }
  try {
    auto quarantine = ctx.state.load(heal::kQuarantineDocument);
    doc["quarantine"] = quarantine.is_object() ? quarantine : json::object();
  } catch (const Error& e) {
    doc["quarantine"] = nullptr;
    doc["quarantine_error"] = e.what();
  }
  return doc;
}

Module::Module(ServeContext& ctx)
    : ctx_(ctx),
      viewers_(ctx.metrics.gauge("orch_live_viewers", "Connected /events viewers").get()),
      ws_viewers_(ctx.metrics.gauge("orch_live_ws_viewers", "Connected /ws viewers").get()) {
  ctx.http.allow("/events", "GET");
  ctx.http.allow("/ws", "GET");
  ctx.http.allow("/status", "GET");
  ctx.http.allow("/", "GET");
  ctx.http.routes().Get("/events", [this](const httplib::Request& req, httplib::Response& res) { events(req, res); });
  ctx.http.routes().Get("/ws", [this](const httplib::Request& req, httplib::Response& res) { websocket(req, res); });
  ctx.http.routes().Get("/status", [this](const httplib::Request& req, httplib::Response& res) { status(req, res); });
  ctx.http.routes().Get("/", [this](const httplib::Request& req, httplib::Response& res) { page(req, res); });
}

// Bearer token, or ?token= (browsers' EventSource and WebSocket cannot send headers), or loopback
// without a token.
bool Module::authorized(const httplib::Request& req, httplib::Response& res) {
  const auto& token = ctx_.config.settings.str("ORCH_API_TOKEN");
  if (!token.empty() && req.has_param("token") && http::constant_time_equal(req.get_param_value("token"), token)) return true;
  return http::authorize_control(req, res, token);
}

void Module::page(const httplib::Request& req, httplib::Response& res) {
  if (!authorized(req, res)) return;
  res.set_content(status_page_html(), "text/html; charset=utf-8");
}

void Module::status(const httplib::Request& req, httplib::Response& res) {
  if (!authorized(req, res)) return;
  http::send_json(res, 200, stack_status(ctx_));
}

void Module::events(const httplib::Request& req, httplib::Response& res) {
  if (!authorized(req, res)) return;
  struct Viewer {
    explicit Viewer(Bus& bus, FeedOptions o) : feed(bus, std::move(o)) {}
    Feed feed;
    std::chrono::steady_clock::time_point last_write = std::chrono::steady_clock::now();
  };
  auto viewer = std::make_shared<Viewer>(ctx_.bus, feed_options(req));
  viewers_.inc();
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, viewer](size_t, httplib::DataSink& sink) {
        std::vector<Event> batch;
        // Short waits: shutdown is noticed within half a second (nobody signals this viewer then).
        if (viewer->feed.next(batch, 500ms, [this] { return stopping(); }) != Feed::Status::ready) {
          sink.done();
          return false;
        }
        std::string out;
        for (const auto& e : batch) out += sse_frame(e);
        const auto now = std::chrono::steady_clock::now();
        if (out.empty()) {
          if (now - viewer->last_write < 15s) return true;
          out = ": keep-alive\n\n";
        }
        viewer->last_write = now;
        return sink.write(out.data(), out.size());
      },
      [this, viewer](bool) { viewers_.inc(-1); });
}

void Module::websocket(const httplib::Request& req, httplib::Response& res) {
  if (!authorized(req, res)) return;
  if (!header_has_token(req.get_header_value("Upgrade"), "websocket") || !header_has_token(req.get_header_value("Connection"), "upgrade")) {
    res.set_header("Upgrade", "websocket");
    res.set_header("Connection", "Upgrade");
    http::send_error(res, 426, "upgrade_required", "GET /ws is a WebSocket endpoint: send Upgrade: websocket");
    return;
  }
  if (req.get_header_value("Sec-WebSocket-Version") != "13") {
    res.set_header("Sec-WebSocket-Version", "13");
    http::send_error(res, 426, "upgrade_required", "only WebSocket version 13 is supported");
    return;
  }
  const auto key = req.get_header_value("Sec-WebSocket-Key");
  if (!ws::valid_client_key(key)) {
    http::send_error(res, 400, "bad_request", "Sec-WebSocket-Key must be the base64 of 16 bytes");
    return;
  }
  const int fd = http::connection_socket(req);
  if (fd < 0) {
    http::send_error(res, 500, "internal", "cannot take over the connection");
    return;
  }
  // Subscribe before the handshake completes, so a client that publishes right after "open"
  // sees its own event.
  auto opts = feed_options(req);
  const std::string handshake = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
                                ws::accept_key(key) + "\r\n\r\n";
  res.status = 101;  // what httplib would log; its own reply goes nowhere (see connection_socket)
  {
    Feed feed(ctx_.bus, std::move(opts));
    if (http::send_all(fd, handshake, kWriteTimeout)) {
      ws_viewers_.inc();
      run_websocket(fd, feed);
      ws_viewers_.inc(-1);
    }
  }
  ::shutdown(fd, SHUT_RDWR);
}

// Serves one upgraded connection on this worker thread until either side closes: events out as
// text frames; pings answered; the close handshake honoured; a ping every 30 s of silence.
void Module::run_websocket(int fd, Feed& feed) {
  ws::FrameParser parser;
  auto last_write = std::chrono::steady_clock::now();
  auto send = [&](const std::string& bytes) {
    last_write = std::chrono::steady_clock::now();
    return http::send_all(fd, bytes, kWriteTimeout);
  };
  // Server-initiated close: send ours, then give the client a moment to answer with its own.
  auto close_and_wait = [&](uint16_t code, std::string_view reason) {
    if (!send(ws::encode_close(code, reason))) return;
    const auto deadline = std::chrono::steady_clock::now() + 1s;
    char buf[4096];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      parser.feed(std::string_view(buf, static_cast<size_t>(n)));
      while (auto f = parser.next())
        if (f->opcode == ws::Opcode::close) return;
      if (parser.error()) return;
    }
  };
  std::vector<Event> batch;
  char buf[16 * 1024];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;  // the client went away without a close frame
      parser.feed(std::string_view(buf, static_cast<size_t>(n)));
      while (auto f = parser.next()) {
        switch (f->opcode) {
          case ws::Opcode::ping:
            if (!send(ws::encode_frame(ws::Opcode::pong, f->payload))) return;
            break;
          case ws::Opcode::close: {
            // Echo the code (RFC 6455 §5.5.1), then the connection is done.
            const auto code = ws::close_code(f->payload);
            send(code == 1005 ? ws::encode_frame(ws::Opcode::close, "") : ws::encode_close(code));
            return;
          }
          default:
            break;  // the feed is one-way: client messages and pongs are ignored
        }
      }
      if (parser.error()) {
        close_and_wait(parser.error(), parser.error() == ws::kMessageTooBig ? "frame too large" : "protocol error");
        return;
      }
    }
    batch.clear();
    // 200 ms: how long a client's ping or close waits at most while no events flow.
    switch (feed.next(batch, 200ms, [this] { return stopping(); })) {
      case Feed::Status::stopped:
        close_and_wait(ws::kGoingAway, "server stopping");
        return;
      case Feed::Status::overflow:
        close_and_wait(ws::kPolicyViolation, "viewer fell too far behind");
        return;
      case Feed::Status::ready:
        break;
    }
    std::string out;
    for (const auto& e : batch) out += ws::encode_frame(ws::Opcode::text, ws_message(e));
    if (!out.empty()) {
      if (!send(out)) return;
    } else if (std::chrono::steady_clock::now() - last_write > 30s) {
      if (!send(ws::encode_frame(ws::Opcode::ping, ""))) return;
    }
  }
}

}  // namespace orch::live
