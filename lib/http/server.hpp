#pragma once
// The HTTP server of `orch serve`: orch's own front end (http/front.hpp: listening socket, event
// loops, every byte of every request read and checked there, worker lanes) with cpp-httplib's
// routing and request processing behind it; a body limit, rate limits and JSON errors (SPEC §5).
#include <httplib.h>

#include <atomic>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "core/clock.hpp"
#include "core/json.hpp"
#include "http/front.hpp"
#include "http/rate_limit.hpp"

namespace orch::http {

struct ServerOptions {
  std::string bind = "127.0.0.1";
  int port = 9000;  // 0 = any free port (tests)
  size_t threads = 16;  // workers for requests outside the probe and control lanes (ORCH_HTTP_THREADS)
  size_t body_limit = 1 << 20;
  // Per client address and minute; 0 = no limit (ORCH_AUTH_FAILURE_LIMIT, ORCH_RATE_LIMIT).
  long long auth_failures_per_minute = 0;
  long long requests_per_minute = 0;
  const Clock* clock = nullptr;  // null = the system clock
  size_t control_threads = 4;    // long control requests at once (ORCH_CONTROL_CONCURRENCY)
  size_t control_queue = 16;     // control requests that may wait for one; 503 `busy` beyond
  size_t max_connections = 10'000, max_connections_per_address = 256;
  std::chrono::seconds head_timeout{10};  // a request head must arrive within this (408)
};

// httplib's routing and request processing; it never listens (the front end owns the sockets).
class HttplibCore final : public httplib::Server {
 public:
  // httplib writes a content provider's answer only while its listening socket is valid (else it
  // is "shutting down" and cuts the body). It never has one here, so a value other than
  // INVALID_SOCKET stands for "serving"; httplib's listen() and stop(), the only code that uses it
  // as a descriptor, are never called.
  HttplibCore() { svr_sock_ = -2; }
  using httplib::Server::process_request;  // protected in httplib; the front end's workers call it
};

class Server {
 public:
  explicit Server(ServerOptions opts);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Modules register their routes here before start().
  httplib::Server& routes() { return server_; }
  // POST `path` answered on the front end's loop in batches (one handler call for every such
  // request of a round; see http/front.hpp). Requests the loop leaves to httplib (a chunked body,
  // say) reach the same handler as a batch of one.
  void post_batched(const std::string& path, BatchHandler handler);

  // Listens and serves. Throws ConfigError when the address cannot be listened on.
  void start();
  // Serves without listening: only connections handed over with serve_socket (the HTTP fuzz
  // harness drives every route of `orch serve` through socketpairs, no network involved).
  void start_unlistened();
  // A connected socket served as if it had been accepted from peer_ip:peer_port (see Front).
  void serve_socket(int fd, const std::string& peer_ip, int peer_port) {
    front_.serve_socket(fd, peer_ip, peer_port, opts_.bind, opts_.port);
  }
  // Stops accepting, lets in-flight requests finish, joins the workers.
  void stop();
  int port() const { return port_; }
  // Declares the methods a path answers, so other methods get 405 with an Allow header.
  void allow(const std::string& path, const std::string& methods);
  // Every answer on `path` carries X-Request-Id, the client's (when usable_request_id) or
  // `<prefix>-N`: the handler's own (request_id()) and those the server and front end make before
  // it runs (429 of the limits, 405, 413). Before start().
  void tag_requests(const std::string& path, const std::string& prefix) { tagged_[path] = prefix; }
  // Observes error answers the server makes itself (404/405/413...) for one path, for metrics.
  void on_error(const std::string& path, std::function<void(int status)> observer);
  bool stopping() const { return stopping_.load(); }

  // Declares a path that checks credentials. A client address whose authentications failed too
  // often (its 401s used up auth_failures_per_minute) gets 429 on every guarded path until its
  // bucket refills; on a Rate::limited path every request also counts against requests_per_minute.
  // Probes and /metrics stay unguarded: a limit must never fail a healthcheck.
  // A limited path is also a control request: it runs in the control lane (bounded concurrency,
  // 503 `busy` beyond), apart from probes and everything else.
  enum class Rate { unlimited, limited };
  void guard(const std::string& path, Rate rate);
  // A liveness/readiness/metrics path: served by the probe lane, which control work never fills.
  void probe(const std::string& path) { probes_.insert(path); }
  // Called with "auth_failures" or "requests" for each 429 the limits answer (metrics).
  void on_rate_limited(std::function<void(const char* reason)> observer) { on_rate_limited_ = std::move(observer); }
  // Called for each request or connection the front end refuses itself (framing, limits, caps,
  // a full lane) with the status and error code it answered (metrics). Before start().
  void on_refused(std::function<void(int status, std::string_view code)> observer) { on_refused_ = std::move(observer); }

 private:
  ServerOptions opts_;
  Front front_;
  HttplibCore server_;
  int port_ = 0;
  std::set<std::string, std::less<>> probes_;
  std::atomic<bool> stopping_{false};
  std::map<std::string, std::function<void(int)>> error_observers_;
  std::map<std::string, std::string> allowed_methods_;
  std::map<std::string, Rate> guarded_;
  std::map<std::string, std::string, std::less<>> tagged_;  // path -> request id prefix
  TokenBuckets auth_failures_, requests_;
  std::function<void(const char*)> on_rate_limited_;
  std::function<void(int, std::string_view)> on_refused_;

  bool admit(const httplib::Request& req, httplib::Response& res);
  Lane lane_of(std::string_view path) const;
  // Every 401 (webhook or control endpoint) spends one of the client's failure tokens.
  void count_auth_failure(const httplib::Request& req, const httplib::Response& res);
  // Sets X-Request-Id on an answer the server makes itself for a tagged path; returns it ("" when untagged).
  std::string tag(const httplib::Request& req, httplib::Response& res) const;
};

// A client's X-Request-Id is echoed into answers and logs: only short ids of visible, unambiguous
// characters are taken (no control characters, spaces or quotes).
bool usable_request_id(std::string_view id);
// The client's id when usable, else `<prefix>-N` (N counts up per process).
std::string request_id(const std::string* client, std::string_view prefix);

// {"error": code, "message": message} with `status`.
void send_error(httplib::Response& res, int status, std::string_view code, std::string_view message);
void send_json(httplib::Response& res, int status, const json& body);

// Parses a JSON request body; on failure answers 415 (not JSON) or 400 (bad JSON) and returns null.
std::optional<json> read_json_body(const httplib::Request& req, httplib::Response& res);

// Body of a control request (POST /diagnose, /heal, /sync-test): an empty body is `{}`; otherwise
// as read_json_body, and a JSON value that is not an object answers 400. nullopt = answered.
std::optional<json> read_json_object_or_empty(const httplib::Request& req, httplib::Response& res);

// Control endpoints (SPEC §5): with a token, `Authorization: Bearer <token>` compared in constant
// time; without one, only loopback peers. Answers 401 itself and returns false when refused.
bool authorize_control(const httplib::Request& req, httplib::Response& res, const std::string& api_token);

// The token of an `Authorization: Bearer <token>` header (scheme in any case, RFC 7235), else nullopt.
std::optional<std::string_view> bearer_token(std::string_view authorization);

bool is_loopback(const std::string& addr);

}  // namespace orch::http
