#include "http/server.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <future>

#include "core/crypto.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "http/connection.hpp"

namespace orch::http {

// The first X-Request-Id of a request, as the webhook reads it (httplib's Headers compare names
// case-insensitively); null when there is none.
static const std::string* client_request_id(const httplib::Headers& headers) {
  auto [first, last] = headers.equal_range("X-Request-Id");
  return first == last ? nullptr : &first->second;
}

static const Clock& clock_of(const ServerOptions& opts) { return opts.clock ? *opts.clock : SystemClock::instance(); }

// Told to httplib (which advertises them) and to the front end (which enforces them).
constexpr int kKeepAliveSeconds = 2;
constexpr int kKeepAliveMax = 100000;

Server::Server(ServerOptions opts)
    : opts_(std::move(opts)),
      front_(FrontOptions{.body_limit = opts_.body_limit,
                          .keep_alive_timeout = std::chrono::seconds(kKeepAliveSeconds),
                          .keep_alive_max = kKeepAliveMax,
                          .limits = {.head_deadline = opts_.head_timeout,
                                     .connections = opts_.max_connections,
                                     .connections_per_address = opts_.max_connections_per_address},
                          .control_threads = opts_.control_threads,
                          .general_threads = opts_.threads,
                          .control_queue = opts_.control_queue,
                          .lane = [this](std::string_view, std::string_view path) { return lane_of(path); },
                          .admit = [this](const httplib::Request& req, httplib::Response& res) { return admit(req, res); },
                          .after = [this](const httplib::Request& req, httplib::Response& res) { count_auth_failure(req, res); },
                          .refused =
                              [this](std::string_view path, int status, std::string_view code) {
                                if (auto it = error_observers_.find(std::string(path)); it != error_observers_.end()) it->second(status);
                                if (on_refused_) on_refused_(status, code);
                              },
                          .refusal_headers = [this](std::string_view path, const httplib::Headers& headers) -> std::string {
                            auto it = tagged_.find(path);
                            if (it == tagged_.end()) return {};
                            return "X-Request-Id: " + request_id(client_request_id(headers), it->second) + "\r\n";
                          },
                          .process = [this](httplib::Stream& stream, bool close_connection,
                                            bool& closed) { return server_.process_request(stream, close_connection, closed, nullptr); }}),
      auth_failures_(opts_.auth_failures_per_minute, clock_of(opts_)),
      requests_(opts_.requests_per_minute, clock_of(opts_)) {
  // Runs before the route's handler: a refused client costs no handler work.
  server_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    return admit(req, res) ? httplib::Server::HandlerResponse::Unhandled : httplib::Server::HandlerResponse::Handled;
  });
  server_.set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) { count_auth_failure(req, res); });
  // httplib never accepts: its task queue is never used, so it gets no threads.
  server_.new_task_queue = [] { return new httplib::ThreadPool(0); };
  server_.set_keep_alive_max_count(kKeepAliveMax);
  server_.set_keep_alive_timeout(kKeepAliveSeconds);
  server_.set_payload_max_length(opts_.body_limit);
  // Every error status gets a JSON body unless the handler wrote one.
  server_.set_error_handler(httplib::Server::HandlerWithResponse(
      [this](const httplib::Request& req, httplib::Response& res) -> httplib::Server::HandlerResponse {
    if (auto it = error_observers_.find(req.path); it != error_observers_.end()) it->second(res.status);
    if (!res.has_header("X-Request-Id")) tag(req, res);
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    if (res.status == 404) {
      if (auto it = allowed_methods_.find(req.path); it != allowed_methods_.end()) {
        res.status = 405;
        res.set_header("Allow", it->second);
      }
    }
    switch (res.status) {
      case 404: send_error(res, 404, "not_found", "no such endpoint"); break;
      case 405: send_error(res, 405, "method_not_allowed", "method not allowed on this endpoint"); break;
      case 413: send_error(res, 413, "payload_too_large", "request body is over the limit"); break;
      case 400: send_error(res, 400, "bad_request", "malformed request"); break;
      default: send_error(res, res.status, "error", "request failed"); break;
    }
    return httplib::Server::HandlerResponse::Handled;
  }));
  server_.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    spdlog::error("http {} {}: handler failed: {}", req.method, req.path, what);
    send_error(res, 500, "internal", "internal error");
  });
}

// Each connection is a descriptor: the soft limit (often 1024) would refuse connections long
// before the front end's own caps do.
static void raise_descriptor_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
}

Server::~Server() { stop(); }

void Server::allow(const std::string& path, const std::string& methods) { allowed_methods_[path] = methods; }

void Server::guard(const std::string& path, Rate rate) { guarded_[path] = rate; }

bool Server::admit(const httplib::Request& req, httplib::Response& res) {
  auto it = guarded_.find(req.path);
  if (it == guarded_.end()) return true;
  // The front end read the whole request already, so a refusal keeps the connection usable.
  auto refuse = [&](std::chrono::milliseconds wait, const char* reason, const char* message) {
    res.set_header("Retry-After", std::to_string((wait.count() + 999) / 1000));
    send_error(res, 429, "rate_limited", message);
    if (on_rate_limited_) on_rate_limited_(reason);
    const auto id = tag(req, res);
    spdlog::info("http {} {} refused 429 ({}) peer={}{}", req.method, req.path, reason, req.remote_addr, id.empty() ? "" : " req=" + id);
    return false;
  };
  if (auto wait = auth_failures_.wait_for(req.remote_addr); wait.count() > 0)
    return refuse(wait, "auth_failures", "too many failed authentications from this address; retry later");
  if (it->second == Rate::limited) {
    if (auto wait = requests_.take(req.remote_addr); wait.count() > 0)
      return refuse(wait, "requests", "too many requests from this address; retry later");
  }
  return true;
}

std::string Server::tag(const httplib::Request& req, httplib::Response& res) const {
  auto it = tagged_.find(req.path);
  if (it == tagged_.end()) return {};
  auto id = request_id(client_request_id(req.headers), it->second);
  res.set_header("X-Request-Id", id);
  return id;
}

bool usable_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (unsigned char c : id)
    if (!std::isalnum(c) && std::string_view("._:/+=@-").find(static_cast<char>(c)) == std::string_view::npos) return false;
  return true;
}

std::string request_id(const std::string* client, std::string_view prefix) {
  static std::atomic<unsigned long long> next{0};
  if (client && usable_request_id(*client)) return *client;
  return std::string(prefix) + "-" + std::to_string(++next);
}

void Server::count_auth_failure(const httplib::Request& req, const httplib::Response& res) {
  if (res.status == 401) auth_failures_.take(req.remote_addr);
}

void Server::post_batched(const std::string& path, BatchHandler handler) {
  front_.add_batch_route(path, handler);
  server_.Post(path, [handler](const httplib::Request& req, httplib::Response& res) {
    // On a worker: waiting for the handler's done is fine here.
    Exchange one{req, std::move(res)};
    std::promise<void> answered;
    handler({&one}, [&answered] { answered.set_value(); });
    answered.get_future().wait();
    res = std::move(one.res);
  });
}

void Server::on_error(const std::string& path, std::function<void(int)> observer) {
  error_observers_[path] = std::move(observer);
}

Lane Server::lane_of(std::string_view path) const {
  if (probes_.count(path)) return Lane::probe;
  if (auto it = guarded_.find(std::string(path)); it != guarded_.end() && it->second == Rate::limited) return Lane::control;
  return Lane::general;
}

void Server::start() {
  raise_descriptor_limit();
  port_ = front_.listen(opts_.bind, opts_.port);
  front_.start();
}

void Server::start_unlistened() {
  raise_descriptor_limit();
  front_.start();
}

void Server::stop() {
  stopping_ = true;
  front_.stop();
}

void send_error(httplib::Response& res, int status, std::string_view code, std::string_view message) {
  send_json(res, status, json{{"error", code}, {"message", message}});
}

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(to_text(body), "application/json");
}

std::optional<json> read_json_body(const httplib::Request& req, httplib::Response& res) {
  auto type = req.get_header_value("Content-Type");
  if (!type.empty() && type.find("json") == std::string::npos) {
    send_error(res, 415, "unsupported_media_type", "body must be application/json");
    return std::nullopt;
  }
  auto body = parse_json(req.body);
  if (body.is_discarded()) {
    send_error(res, 400, "bad_json",
               json_too_deep(req.body) ? "body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels" : "body is not valid JSON");
    return std::nullopt;
  }
  return body;
}

std::optional<json> read_json_object_or_empty(const httplib::Request& req, httplib::Response& res) {
  if (req.body.empty()) return json::object();
  auto body = read_json_body(req, res);
  if (body && !body->is_object()) {
    send_error(res, 400, "bad_request", "body must be a JSON object");
    return std::nullopt;
  }
  return body;
}

bool is_loopback(const std::string& addr) {
  return addr.rfind("127.", 0) == 0 || addr == "::1" || addr.rfind("::ffff:127.", 0) == 0;
}

std::optional<std::string_view> bearer_token(std::string_view authorization) {
  // RFC 7235: the scheme is case-insensitive and followed by one or more spaces.
  constexpr std::string_view scheme = "bearer";
  if (authorization.size() <= scheme.size() || !iequals(authorization.substr(0, scheme.size()), scheme) ||
      authorization[scheme.size()] != ' ')
    return std::nullopt;
  auto token = authorization.substr(scheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty()) return std::nullopt;
  return token;
}

bool authorize_control(const httplib::Request& req, httplib::Response& res, const std::string& api_token) {
  if (api_token.empty()) {
    if (is_loopback(req.remote_addr)) return true;
    send_error(res, 401, "unauthorized", "no ORCH_API_TOKEN is configured: control endpoints answer only on loopback");
    return false;
  }
  const auto auth = req.get_header_value("Authorization");
  if (auto token = bearer_token(auth); token && constant_time_equal(*token, api_token)) return true;
  res.set_header("WWW-Authenticate", "Bearer");
  send_error(res, 401, "unauthorized", auth.empty() ? "missing bearer token" : "wrong bearer token");
  return false;
}

}  // namespace orch::http
