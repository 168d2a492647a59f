#include "live/endpoints.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>

#include <spdlog/spdlog.h>

#include "core/text.hpp"
#include "docker/identity.hpp"
#include "http/connection.hpp"
#include "http/control.hpp"
#include "live/badge.hpp"
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

json history_status(ServeContext& ctx, Millis window) {
  json doc = json::object();
  std::vector<std::string> names;
  for (const auto& s : ctx.config.services) names.push_back(s.name);
  const long long now = std::chrono::duration_cast<std::chrono::milliseconds>(ctx.clock.now().time_since_epoch()).count();
  try {
    doc["history"] = history::summary(ctx.history, names, now, window);
  } catch (const Error& e) {
    doc["history"] = nullptr;
    doc["history_error"] = e.what();
  }
  try {
    auto q = ctx.bus.queue_stats(kPipelineGroup);
    doc["pipeline"] = {{"queue_depth", q.group_exists && q.waiting >= 0 ? json(q.waiting) : json(nullptr)},
                       {"in_progress", q.pending},
                       {"dead_letters", q.dead}};
    // Off without a stage to run: `orch sync-test` and the page say so rather than wait.
    doc["pipeline"]["enabled"] = ctx.config.settings.has("DOCLING_API_URL") || ctx.config.settings.has("RAG_API_URL");
  } catch (const Error& e) {
    doc["pipeline"] = nullptr;
    doc["pipeline_error"] = e.what();
  }
  return doc;
}

// ?history=<duration> (default 24h), within the retention; anything else is a 400.
Millis history_window(ServeContext& ctx, const json& query) {
  if (!query.contains("history")) return std::chrono::hours(24);
  Millis w;
  try {
    w = parse_duration(query["history"].get<std::string>());
  } catch (const std::exception&) {
    throw UsageError("history must be a duration such as 24h or 7d");
  }
  const auto max = ctx.config.settings.duration("HISTORY_RETENTION");
  if (w <= Millis(0) || w > max) throw UsageError("history must be above 0 and at most HISTORY_RETENTION (" + format_duration(max) + ")");
  return w;
}

json stack_status(ServeContext& ctx, Millis window) {
  json doc = json::object();
  json containers = json::array();
  try {
    const auto all = ctx.containers.containers();  // the cache's: no engine request (held: the list may be replaced meanwhile)
    for (const auto& c : *all) {
      auto service = docker::service_of(ctx.config, c.name, c.labels);
      containers.push_back({{"name", c.name}, {"service", service}, {"image", c.image}, {"state", c.state},
                            {"health", c.health()}, {"status", c.status}});
    }
    doc["containers"] = std::move(containers);
  } catch (const Error& e) {
    doc["containers"] = nullptr;
    doc["containers_error"] = e.what();
  }
  doc.update(history_status(ctx, window));
  try {
    auto quarantine = ctx.state.load(kQuarantineDocument);
    doc["quarantine"] = quarantine.is_object() ? quarantine : json::object();
  } catch (const Error& e) {
    doc["quarantine"] = nullptr;
    doc["quarantine_error"] = e.what();
  }
  doc.update(ctx.alerts.status());  // silences (and maintenance windows in force), open incidents
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
  ctx.http.routes().Get(R"(/badge/([^/]+)\.svg)", [this](const httplib::Request& req, httplib::Response& res) { badge(req, res); });
  http::control(ctx.http, "/status", ctx.config.settings.str("ORCH_API_TOKEN"),
                [this](const json& query) -> http::Reply { return stack_status(ctx_, history_window(ctx_, query)); },
                {.method = "GET", .rate = http::Server::Rate::unlimited, .token_in_query = true});
}

// Bearer token, or ?token= (browsers' EventSource and WebSocket cannot send headers), or loopback
// without a token.
bool Module::authorized(const httplib::Request& req, httplib::Response& res) {
  return http::authorize(req, res, ctx_.config.settings.str("ORCH_API_TOKEN"), /*token_in_query=*/true);
}

void Module::page(const httplib::Request& req, httplib::Response& res) {
  if (!authorized(req, res)) {
    // A browser gets a page that asks for the token (401 stays the status); with no token
    // configured, the JSON says this page answers on loopback only.
    if (res.status == 401 && !ctx_.config.settings.str("ORCH_API_TOKEN").empty() &&
        req.get_header_value("Accept").find("text/html") != std::string::npos)
      res.set_content(login_page_html(), "text/html; charset=utf-8");
    return;
  }
  res.set_content(status_page_html(), "text/html; charset=utf-8");
}

// No token (live/badge.hpp says why); unknown services are 404 like any other path. Each badge is
// kept for 30 s, so a README viewed often costs the store one read per service and period.
void Module::badge(const httplib::Request& req, httplib::Response& res) {
  const std::string service = req.matches[1];
  const bool known =
      std::any_of(ctx_.config.services.begin(), ctx_.config.services.end(), [&](const auto& s) { return s.name == service; });
  if (!known) return http::send_error(res, 404, "not_found", "no service named " + service);
  const std::string period = req.has_param("period") ? req.get_param_value("period") : "24h";
  if (period != "24h" && period != "7d") return http::send_error(res, 400, "bad_request", "period must be 24h or 7d");
  const auto now = ctx_.clock.now();
  std::string svg;
  {
    std::lock_guard lock(badges_mu_);
    auto it = badges_.find(service + "/" + period);
    if (it != badges_.end() && now - it->second.first < std::chrono::seconds(30)) svg = it->second.second;
  }
  if (svg.empty()) {
    const long long now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    const long long since = now_ms - (period == "7d" ? 7 : 1) * 24 * history::kHourMs;
    std::optional<double> up;
    try {
      up = history::uptime(ctx_.history.hours(since), service, since);
    } catch (const Error& e) {
      spdlog::warn("badge {}: history not readable: {}", service, e.what());
    }
    svg = badge_svg(service + " " + period, uptime_text(up), uptime_colour(up));
    std::lock_guard lock(badges_mu_);
    badges_[service + "/" + period] = {now, svg};
  }
  res.set_header("Cache-Control", "max-age=60");
  res.set_content(svg, "image/svg+xml");
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
