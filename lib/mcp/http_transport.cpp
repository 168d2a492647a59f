#include "mcp/http_transport.hpp"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <optional>

#include "core/crypto.hpp"
#include "core/number.hpp"
#include "core/text.hpp"
#include "app/health.hpp"
#include "config/orch_url.hpp"

namespace orch::mcp {

using namespace std::chrono_literals;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

// The name part of a Host value: "Orch.Internal:9000" -> "orch.internal", "[::1]:9000" -> "[::1]".
std::string host_name(const std::string& host) {
  if (!host.empty() && host.front() == '[') return host.substr(0, host.find(']') + 1);
  return host.substr(0, host.rfind(':'));
}

bool ipv4_literal(const std::string& s) {
  in_addr a{};
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

// A socket address as it appears in a Host value: "10.0.0.5", "[fd00::5]".
std::string as_host(std::string addr) {
  if (addr.rfind("::ffff:", 0) == 0 && ipv4_literal(addr.substr(7))) addr = addr.substr(7);
  return addr.find(':') != std::string::npos ? "[" + lower(addr) + "]" : addr;
}

std::string sse_frame(const std::string& data) { return "event: message\ndata: " + data + "\n\n"; }
// A frame of a resumable stream: its id is "stream-sequence".
std::string sse_frame(long stream, long seq, const std::string& data) {
  return "id: " + std::to_string(stream) + "-" + std::to_string(seq) + "\n" + sse_frame(data);
}
// SEP-1699's priming event: an id and no data, sent first, so a client whose connection breaks
// before any message can still resume; `retry` is how long it waits before it does.
std::string priming_frame(long stream) { return "id: " + std::to_string(stream) + "-0\nretry: 1000\ndata: \n\n"; }

// The id of a JSON-RPC request, for an error answered before it is dispatched (null when absent or
// of a type MCP does not allow).
json request_id(const json& msg) {
  if (!msg.is_object()) return nullptr;
  auto id = msg.find("id");
  return id != msg.end() && (id->is_string() || id->is_number_integer()) ? *id : json();
}

}  // namespace

class HttpModule::Use {
 public:
  Use(HttpModule& module, std::shared_ptr<HttpSession> s) : module_(module), s_(std::move(s)) {}
  ~Use() { module_.release(*s_); }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;
  HttpSession& operator*() const { return *s_; }
  HttpSession* operator->() const { return s_.get(); }
  const std::shared_ptr<HttpSession>& shared() const { return s_; }

 private:
  HttpModule& module_;
  std::shared_ptr<HttpSession> s_;
};

HttpModule::HttpModule(ServeContext& ctx) : ctx_(ctx) {
  const auto& s = ctx.config.settings;
  Context mc{ctx.config,
             ctx.bus,
             ctx.docker,
             ctx.containers,
             ctx.state,
             ctx.notifier,
             ctx.metrics,
             s.boolean("ORCH_MCP_READ_ONLY"),
             split_list(s.str("ORCH_MCP_ALLOW")),
             "",
             [&ctx] { return health_document(ctx); }};
  mc.orch_url = orch_url(s);
  server_ = std::make_unique<Server>(std::move(mc));
  for (const auto& h : split_list(s.str("ORCH_MCP_HOSTS"))) hosts_.push_back(lower(h));
  origins_ = split_list(s.str("ORCH_MCP_ORIGINS"));
  bind_ = lower(s.str("BIND"));
  idle_ = s.duration("ORCH_MCP_SESSION_IDLE");
  max_sessions_ = static_cast<size_t>(std::max<long long>(1, s.integer("ORCH_MCP_MAX_SESSIONS")));
  keep_alive_ = std::max<Clock::duration>(s.duration("ORCH_MCP_KEEPALIVE"), 100ms);
  sessions_gauge_ = &ctx.metrics.gauge("orch_mcp_sessions", "Open MCP Streamable HTTP sessions").get();
  listens_gauge_ = &ctx.metrics.gauge("orch_mcp_listens", "Open MCP subscriptions/listen streams (2026-07-28)").get();
  auto& r = ctx.http.routes();
  ctx.http.allow("/mcp", "GET, POST, DELETE");
  ctx.http.guard("/mcp", http::Server::Rate::limited);
  r.Post("/mcp", [this](const httplib::Request& req, httplib::Response& res) { post(req, res); });
  r.Get("/mcp", [this](const httplib::Request& req, httplib::Response& res) { get(req, res); });
  r.Delete("/mcp", [this](const httplib::Request& req, httplib::Response& res) { del(req, res); });
}

HttpModule::~HttpModule() { stop(); }

void HttpModule::draining() {
  std::map<ListenStream*, std::shared_ptr<ListenStream>> ended;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;  // no new session or listen from now on
    ended.swap(listens_);
    listens_gauge_->set(0);
  }
  // Each listen gets its result (the graceful end a client can tell from a broken connection);
  // the stream then ends with its last chunk.
  for (auto& [raw, l] : ended) {
    server_->end_listens(*l->session);
    server_->detach(l->session.get());
    std::lock_guard lock(l->mu);
    l->ended = true;
    if (l->stream) l->stream->finish();
  }
}

void HttpModule::stop() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  while (!sessions_.empty()) end_locked(sessions_.begin()->second, "stopping");
}

// DNS rebinding: a page from evil.example, its name re-pointed at 127.0.0.1, reaches orch with
// `Host: evil.example`. Names orch is known by are loopback ones, the address the connection
// came in on (a literal address cannot be rebound), BIND, and ORCH_MCP_HOSTS.
bool HttpModule::host_allowed(const httplib::Request& req) const {
  if (!req.has_header("Host")) return false;  // HTTP/1.1 requires it; the SDK's check refuses it too
  const std::string host = lower(req.get_header_value("Host"));
  const std::string name = host_name(host);
  if (name == "localhost" || name == "[::1]" || (name.rfind("127.", 0) == 0 && ipv4_literal(name))) return true;
  if (!req.local_addr.empty() && name == as_host(req.local_addr)) return true;
  if (!bind_.empty() && bind_ != "0.0.0.0" && bind_ != "::" && name == as_host(bind_)) return true;
  for (const auto& allowed : hosts_)
    if (allowed == "*" || allowed == host || allowed == name) return true;
  return false;
}

bool HttpModule::origin_allowed(const httplib::Request& req) const {
  if (!req.has_header("Origin")) return true;  // not a browser
  const auto origin = req.get_header_value("Origin");
  for (const char* local : {"http://localhost", "http://127.0.0.1", "https://localhost", "https://127.0.0.1", "http://[::1]"})
    if (origin == local || origin.rfind(std::string(local) + ":", 0) == 0) return true;
  return std::find(origins_.begin(), origins_.end(), origin) != origins_.end();
}

bool HttpModule::admit(const httplib::Request& req, httplib::Response& res) {
  if (!host_allowed(req)) {
    http::send_error(res, 403, "forbidden_host",
                     "Host '" + req.get_header_value("Host") + "' is not a name of this server; add it to ORCH_MCP_HOSTS");
    return false;
  }
  if (!origin_allowed(req)) {
    http::send_error(res, 403, "forbidden_origin", "Origin not allowed; add it to ORCH_MCP_ORIGINS");
    return false;
  }
  return http::authorize_control(req, res, ctx_.config.settings.str("ORCH_API_TOKEN"));
}

void HttpModule::end_locked(std::shared_ptr<HttpSession> s, const char* why) {
  sessions_.erase(s->id);
  server_->detach(s->session.get());
  std::vector<json> running;
  {
    std::lock_guard slock(s->mu);
    s->closed = true;
    // Its GET stream ends with its last chunk (the HTTP loop then calls the stream's on_close).
    if (s->stream) s->stream->finish();
    for (auto& [number, r] : s->replays) {
      if (!r.done) running.push_back(r.request_id);
      if (r.resumed) r.resumed->finish();
    }
  }
  // A call still running on an ended session has nobody to answer: it is cancelled.
  for (const auto& id : running) s->session->cancel(id);
  sessions_gauge_->set(static_cast<double>(sessions_.size()));
  spdlog::debug("mcp session {} ended: {}", s->id, why);
}

void HttpModule::sweep_locked(Clock::time_point now) {
  std::vector<std::shared_ptr<HttpSession>> expired;
  for (const auto& [id, s] : sessions_)
    if (s->in_use == 0 && now - s->last_used > idle_) expired.push_back(s);
  for (const auto& s : expired) end_locked(s, "idle");
  next_sweep_ = now + 1s;
}

std::shared_ptr<HttpModule::Use> HttpModule::open_session(httplib::Response& res) {
  auto hs = std::make_shared<HttpSession>();
  hs->id = new_uuid();
  std::weak_ptr<HttpSession> weak = hs;
  hs->session = std::make_unique<Session>([weak](const json& note) {
    if (auto s = weak.lock()) {
      std::lock_guard lock(s->mu);
      if (s->stream && s->stream->send(sse_frame(to_text(note)))) return;
      if (s->outbox.size() < 1000) s->outbox.push_back(to_text(note));  // until a GET stream opens
    }
  });
  std::lock_guard lock(mu_);
  if (stopping_) {
    http::send_error(res, 503, "stopping", "orch is shutting down");
    return nullptr;
  }
  const auto now = Clock::now();
  if (now >= next_sweep_ || sessions_.size() >= max_sessions_) sweep_locked(now);
  if (sessions_.size() >= max_sessions_) {
    // A client that went away without DELETE leaves its session behind; the one unused longest
    // makes room. Its client, if it comes back, gets 404 and initializes again (as the spec says).
    std::shared_ptr<HttpSession> oldest;
    for (const auto& [id, s] : sessions_)
      if (s->in_use == 0 && (!oldest || s->last_used < oldest->last_used)) oldest = s;
    if (!oldest) {
      res.set_header("Retry-After", "5");
      http::send_error(res, 503, "too_many_sessions",
                       "all " + std::to_string(max_sessions_) + " MCP sessions are in use (ORCH_MCP_MAX_SESSIONS); retry later");
      return nullptr;
    }
    spdlog::info("mcp: {} sessions open (ORCH_MCP_MAX_SESSIONS), evicting the least recently used one", sessions_.size());
    end_locked(oldest, "evicted");
  }
  sessions_[hs->id] = hs;
  hs->in_use = 1;
  sessions_gauge_->set(static_cast<double>(sessions_.size()));
  server_->attach(hs->session.get());
  return std::make_shared<Use>(*this, hs);
}

std::shared_ptr<HttpModule::Use> HttpModule::use_session(const std::string& id) {
  std::lock_guard lock(mu_);
  const auto now = Clock::now();
  if (now >= next_sweep_) sweep_locked(now);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return nullptr;
  auto s = it->second;
  if (s->in_use == 0 && now - s->last_used > idle_) {
    end_locked(s, "idle");
    return nullptr;
  }
  ++s->in_use;
  return std::make_shared<Use>(*this, s);
}

void HttpModule::release(HttpSession& s) {
  std::lock_guard lock(mu_);
  --s.in_use;
  s.last_used = Clock::now();
}

void HttpModule::post(const httplib::Request& req, httplib::Response& res) {
  if (!admit(req, res)) return;
  auto msg = parse_json(req.body);
  if (msg.is_discarded()) {
    const std::string why = json_too_deep(req.body) ? "parse error: nested deeper than " + std::to_string(kMaxJsonDepth) + " levels"
                                                    : "parse error: not JSON";
    return http::send_json(res, 400, error_response(nullptr, kParseError, why));
  }
  const std::string header_version = req.get_header_value("MCP-Protocol-Version");
  // Modern (2026-07-28): the body declares its version in _meta, or the header names a modern one.
  if (declares_version(msg) || is_modern_version(header_version)) return post_modern(req, res, msg);
  // An MCP-Protocol-Version orch does not speak: a JSON-RPC error listing those it does, which a
  // client recognises and retries with (no header at all is 2025-03-26 or older: allowed).
  if (!header_version.empty() && !is_supported_version(header_version))
    return http::send_json(res, 400, unsupported_version_response(request_id(msg), header_version));
  // Only typed reads: a member of the wrong type must reach the server's -32600, not throw here.
  auto member_is = [&](const char* key, const char* value) {
    return msg.is_object() && msg.contains(key) && msg[key].is_string() && msg[key] == value;
  };
  std::shared_ptr<Use> use;
  if (member_is("method", "initialize") && member_is("jsonrpc", "2.0")) {
    use = open_session(res);
    if (!use) return;
  } else {
    const std::string id = req.get_header_value("Mcp-Session-Id");
    if (id.empty()) return http::send_error(res, 400, "missing_session", "Mcp-Session-Id header is required after initialize");
    use = use_session(id);
    if (!use) return http::send_error(res, 404, "unknown_session", "unknown, ended or expired Mcp-Session-Id: initialize again");
  }
  HttpSession& hs = **use;
  res.set_header("Mcp-Session-Id", hs.id);
  // A tool call that asks for progress, from a client that accepts SSE, is answered with an event
  // stream: its progress notifications, then the response (the tool runs on this worker thread).
  const bool wants_progress = member_is("method", "tools/call") && msg.contains("params") && msg["params"].is_object() &&
                              msg["params"].contains("_meta") && msg["params"]["_meta"].is_object() &&
                              msg["params"]["_meta"].contains("progressToken");
  if (wants_progress && req.get_header_value("Accept").find("text/event-stream") != std::string::npos) return post_stream(req, hs, msg);
  auto response = server_->handle(msg, *hs.session);
  if (response.is_null()) {
    res.status = 202;  // notifications, responses from the client, a cancelled call
    return;
  }
  http::send_json(res, 200, response);
}

void HttpModule::post_stream(const httplib::Request& req, HttpSession& hs, const json& msg) {
  // Written by this worker as the tool runs (chunked); the connection stays usable afterwards.
  http::ChunkedReply reply(req, 200, "text/event-stream", {{"Cache-Control", "no-cache"}, {"Mcp-Session-Id", hs.id}});
  if (!reply.ok()) return;
  long stream = 0;
  {
    std::lock_guard lock(hs.mu);
    stream = hs.next_stream++;
    for (auto it = hs.replays.begin(); hs.replays.size() >= kReplays && it != hs.replays.end();)
      it = it->second.done ? hs.replays.erase(it) : std::next(it);
    hs.replays[stream].request_id = request_id(msg);
  }
  bool open = reply.write(priming_frame(stream));
  // Each message is kept before it is written: a client that lost the connection gets it again
  // with Last-Event-ID. Losing the connection does not stop the tool.
  auto send = [&](const json& m) {
    std::string frame;
    {
      std::lock_guard lock(hs.mu);
      auto& r = hs.replays[stream];
      frame = sse_frame(stream, r.next_seq++, to_text(m));
      r.frames.emplace_back(r.next_seq - 1, frame);
      if (r.frames.size() > kReplayEvents) r.frames.pop_front();
      if (r.resumed) r.resumed->send(frame);
    }
    if (open) open = reply.write(frame);
  };
  auto response = server_->handle(msg, *hs.session, send);
  if (!response.is_null()) send(response);
  {
    std::lock_guard lock(hs.mu);
    auto& r = hs.replays[stream];
    r.done = true;
    if (r.resumed) r.resumed->finish();  // its answer is out: the resumed stream ends as this one does
  }
  if (open && reply.ok()) reply.end();
}

// 2026-07-28: no session. The headers must mirror the body (MCP-Protocol-Version, Mcp-Method,
// Mcp-Name) so that what a proxy routed on is what orch runs; an unknown method is 404.
void HttpModule::post_modern(const httplib::Request& req, httplib::Response& res, const json& msg) {
  const json id = request_id(msg);
  auto mismatch = [&](const std::string& why) {
    http::send_json(res, 400, error_response(id, kHeaderMismatch, "Header mismatch: " + why));
  };
  const std::string header_version = req.get_header_value("MCP-Protocol-Version");
  std::string body_version;
  const bool declared = declares_version(msg, &body_version);
  const bool is_request = msg.is_object() && msg.contains("id");
  if (!is_request && msg.is_object() && msg.contains("method")) {
    res.status = 202;  // 2026-07-28 defines no client notifications over HTTP; accepted and ignored
    return;
  }
  if (!declared) {
    if (!is_supported_version(header_version)) return http::send_json(res, 400, unsupported_version_response(id, header_version));
    return mismatch("MCP-Protocol-Version is " + header_version + " but the body's params._meta has no " + kMetaProtocolVersion);
  }
  if (!is_modern_version(body_version)) return http::send_json(res, 400, unsupported_version_response(id, body_version));
  if (header_version.empty()) return mismatch("the MCP-Protocol-Version header is required");
  if (header_version != body_version)
    return mismatch("MCP-Protocol-Version header value '" + header_version + "' does not match body value '" + body_version + "'");
  const std::string method = msg.contains("method") && msg["method"].is_string() ? msg["method"].get<std::string>() : "";
  if (!req.has_header("Mcp-Method")) return mismatch("the Mcp-Method header is required");
  if (req.get_header_value("Mcp-Method") != method)
    return mismatch("Mcp-Method header value '" + req.get_header_value("Mcp-Method") + "' does not match body value '" + method + "'");
  const char* name_field = method == "tools/call" || method == "prompts/get" ? "name" : method == "resources/read" ? "uri" : nullptr;
  if (name_field) {
    const auto& params = msg["params"];
    const std::string body_name =
        params.contains(name_field) && params[name_field].is_string() ? params[name_field].get<std::string>() : "";
    if (!req.has_header("Mcp-Name")) return mismatch("the Mcp-Name header is required for " + method);
    std::string header_name = req.get_header_value("Mcp-Name");
    // Values that are not plain header text come as =?base64?...?=.
    if (header_name.size() >= 11 && header_name.rfind("=?base64?", 0) == 0 && header_name.compare(header_name.size() - 2, 2, "?=") == 0) {
      auto decoded = base64_decode(header_name.substr(9, header_name.size() - 11));
      if (!decoded) return mismatch("Mcp-Name is not valid base64");
      header_name = *decoded;
    }
    if (header_name != body_name)
      return mismatch("Mcp-Name header value '" + header_name + "' does not match body value '" + body_name + "'");
  }
  if (method == "subscriptions/listen") return post_listen(req, res, msg);
  // Stateless: a session for this request alone, never attached (no subscriptions). Whatever it
  // would send outside the request's own stream has nowhere to go.
  Session session([](const json&) {});
  const bool wants_stream = msg["params"].contains("_meta") && msg["params"]["_meta"].is_object() &&
                            msg["params"]["_meta"].contains("progressToken") && method == "tools/call";
  if (wants_stream && req.get_header_value("Accept").find("text/event-stream") != std::string::npos) {
    http::ChunkedReply reply(req, 200, "text/event-stream", {{"Cache-Control", "no-cache"}, {"X-Accel-Buffering", "no"}});
    if (!reply.ok()) return;
    // 2026-07-28: closing the stream is the cancellation; the tool stops at its next report.
    auto send = [&](const json& m) {
      if (!reply.write(sse_frame(to_text(m)))) session.cancel(id);
    };
    auto response = server_->handle(msg, session, send);
    if (!response.is_null()) send(response);
    if (reply.ok()) reply.end();
    return;
  }
  auto response = server_->handle(msg, session);
  if (response.is_null()) {
    res.status = 202;
    return;
  }
  const bool unknown_method = response.contains("error") && response["error"].value("code", 0) == kMethodNotFound;
  http::send_json(res, unknown_method ? 404 : 200, response);
}

void HttpModule::post_listen(const httplib::Request& req, httplib::Response& res, const json& msg) {
  const json id = request_id(msg);
  if (req.get_header_value("Accept").find("text/event-stream") == std::string::npos)
    return http::send_json(
        res, 406,
        error_response(id, kInvalidRequest, "subscriptions/listen is answered as an event stream: Accept must include text/event-stream"));
  auto l = std::make_shared<ListenStream>();
  std::weak_ptr<ListenStream> weak = l;
  l->session = std::make_unique<Session>([weak](const json& m) {
    if (auto held = weak.lock()) {
      std::lock_guard lock(held->mu);
      auto frame = sse_frame(to_text(m));
      if (held->stream) held->stream->send(std::move(frame));
      else if (held->pending.size() < 1000) held->pending.push_back(std::move(frame));
    }
  });
  {
    std::lock_guard lock(mu_);
    if (stopping_) return http::send_error(res, 503, "stopping", "orch is shutting down");
    if (listens_.size() >= max_sessions_) {
      res.set_header("Retry-After", "5");
      return http::send_json(res, 503,
                             error_response(id, kServerBusy,
                                            "all " + std::to_string(max_sessions_) +
                                                " subscriptions/listen streams are open (ORCH_MCP_MAX_SESSIONS); retry later",
                                            {{"retryable", true}}));
    }
    listens_[l.get()] = l;
    listens_gauge_->set(static_cast<double>(listens_.size()));
  }
  server_->attach(l->session.get());
  auto response = server_->handle(msg, *l->session);
  if (!response.is_null()) {  // refused before the acknowledgement (its filter, a duplicate id)
    drop_listen(l);
    return http::send_json(res, 200, response);
  }
  http::OutStreamOptions o;
  o.headers = {{"Cache-Control", "no-cache"}, {"X-Accel-Buffering", "no"}};
  o.keep_alive = std::chrono::duration_cast<std::chrono::milliseconds>(keep_alive_);
  // The client closing the stream is its cancel (it sends notifications/cancelled too, but over
  // HTTP that carries no session to tell whose listen it was). The loops that run this are
  // joined before the module goes.
  o.on_close = [this, weak] {
    if (auto held = weak.lock()) drop_listen(held);
  };
  auto stream = http::detach_stream(req, std::move(o));
  if (!stream) {
    drop_listen(l);
    return http::send_error(res, 500, "internal", "cannot stream on this connection");
  }
  std::lock_guard lock(l->mu);
  l->stream = stream;
  for (auto& frame : l->pending) stream->send(std::move(frame));
  l->pending.clear();
  if (l->ended) stream->finish();  // orch began to stop meanwhile: the result is out
}

void HttpModule::drop_listen(const std::shared_ptr<ListenStream>& l) {
  {
    std::lock_guard lock(mu_);
    if (listens_.erase(l.get()) == 0) return;  // already dropped, or ended by draining()
    listens_gauge_->set(static_cast<double>(listens_.size()));
  }
  server_->detach(l->session.get());
}

void HttpModule::get(const httplib::Request& req, httplib::Response& res) {
  if (!admit(req, res)) return;
  const std::string id = req.get_header_value("Mcp-Session-Id");
  if (id.empty()) return http::send_error(res, 400, "missing_session", "Mcp-Session-Id header is required: initialize first");
  auto use = use_session(id);
  if (!use) return http::send_error(res, 404, "unknown_session", "unknown, ended or expired Mcp-Session-Id: initialize again");
  if (const auto last = req.get_header_value("Last-Event-ID"); !last.empty() && resume(req, use, last)) return;
  // The stream is written by the HTTP front end's loop: no worker waits on it while it is open.
  std::weak_ptr<HttpSession> weak = use->shared();
  http::OutStreamOptions o;
  o.headers = {{"Cache-Control", "no-cache"}, {"Mcp-Session-Id", id}};
  o.keep_alive = std::chrono::duration_cast<std::chrono::milliseconds>(keep_alive_);
  auto self = std::make_shared<std::weak_ptr<http::OutStream>>();
  o.on_close = [weak, self] {
    std::shared_ptr<Use> released;  // dropped outside the session's lock (it takes the module's)
    if (auto s = weak.lock()) {
      std::lock_guard lock(s->mu);
      if (s->stream && s->stream == self->lock()) {  // not a newer stream that replaced this one
        s->stream.reset();
        released = std::move(s->stream_use);
      }
    }
  };
  auto stream = http::detach_stream(req, std::move(o));
  if (!stream) return http::send_error(res, 500, "internal", "cannot stream on this connection");
  *self = stream;
  HttpSession& hs = **use;
  std::shared_ptr<http::OutStream> previous;
  std::shared_ptr<Use> previous_use;
  {
    std::lock_guard lock(hs.mu);
    if (hs.closed) {
      stream->finish();
      return;
    }
    previous = std::move(hs.stream);  // one stream per session: a newer GET replaces it
    previous_use = std::move(hs.stream_use);
    hs.stream = stream;
    hs.stream_use = use;
    while (!hs.outbox.empty()) {
      stream->send(sse_frame(hs.outbox.front()));
      hs.outbox.pop_front();
    }
  }
  if (previous) previous->finish();
}

bool HttpModule::resume(const httplib::Request& req, const std::shared_ptr<Use>& use, const std::string& last_event_id) {
  const auto dash = last_event_id.find('-');
  if (dash == std::string::npos) return false;  // not one of orch's ids: a plain GET stream
  std::optional<long> stream_no, seen;
  try {
    stream_no = parse_integer(std::string_view(last_event_id).substr(0, dash), 1, LONG_MAX);
    seen = parse_integer(std::string_view(last_event_id).substr(dash + 1), 0, LONG_MAX);
  } catch (const Error&) {
    return false;
  }
  HttpSession& hs = **use;
  {
    std::lock_guard lock(hs.mu);
    if (!hs.replays.contains(*stream_no)) return false;
  }
  std::weak_ptr<HttpSession> weak = use->shared();
  http::OutStreamOptions o;
  o.headers = {{"Cache-Control", "no-cache"}, {"Mcp-Session-Id", hs.id}};
  o.keep_alive = std::chrono::duration_cast<std::chrono::milliseconds>(keep_alive_);
  auto self = std::make_shared<std::weak_ptr<http::OutStream>>();
  auto held = std::make_shared<std::shared_ptr<Use>>(use);  // the session stays in use while it is open
  const long number = *stream_no;
  o.on_close = [weak, self, held, number] {
    std::shared_ptr<Use> released;  // dropped outside the session's lock (it takes the module's)
    if (auto s = weak.lock()) {
      std::lock_guard lock(s->mu);
      if (auto it = s->replays.find(number); it != s->replays.end() && it->second.resumed == self->lock()) it->second.resumed.reset();
    }
    released = std::move(*held);
  };
  auto stream = http::detach_stream(req, std::move(o));
  if (!stream) return false;
  *self = stream;
  std::shared_ptr<http::OutStream> previous;
  std::lock_guard lock(hs.mu);
  auto it = hs.replays.find(number);
  if (it == hs.replays.end() || hs.closed) {  // dropped meanwhile
    stream->finish();
    return true;
  }
  auto& r = it->second;
  for (const auto& [seq, frame] : r.frames)
    if (seq > *seen) stream->send(frame);
  if (r.done) {
    stream->finish();
    return true;
  }
  previous = std::exchange(r.resumed, stream);  // the newest reconnection gets what follows
  if (previous) previous->finish();
  return true;
}

void HttpModule::del(const httplib::Request& req, httplib::Response& res) {
  if (!admit(req, res)) return;
  std::lock_guard lock(mu_);
  auto it = sessions_.find(req.get_header_value("Mcp-Session-Id"));
  if (it == sessions_.end()) return http::send_error(res, 404, "unknown_session", "no such session");
  end_locked(it->second, "deleted");
  res.status = 204;
}

}  // namespace orch::mcp
