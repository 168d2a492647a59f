#include "http/front.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <thread>
#include <unordered_map>

#include "core/error.hpp"
#include "core/reactor.hpp"
#include "core/text.hpp"
#include "core/worker_pool.hpp"
#include "http/connection.hpp"
#include "http/server.hpp"  // send_error

namespace orch::http {

using SteadyClock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr size_t kReadPerRound = 256 * 1024;  // per connection: one client cannot hog a round

// ---------------------------------------------------------------------------------------------
// Request heads (RFC 9112), checked before anything reaches a handler.

struct Refusal {
  int status;
  const char* code;
  std::string message;
};

}  // namespace

// Head and ChunkDecoder are members of Front::Conn (a class of the header): a type of the
// anonymous namespace there is what GCC's -Wsubobject-linkage warns about.
namespace wire {

struct Head {
  std::string method, target, version;
  httplib::Headers headers;
  std::optional<size_t> content_length;
  bool chunked = false;
  bool keep_alive = true;
  bool expect_continue = false;
};

}  // namespace wire

using wire::Head;

namespace {

bool is_token_char(char ch) {
  return std::isalnum(static_cast<unsigned char>(ch)) || std::strchr("!#$%&'*+-.^_`|~", ch) != nullptr;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A Content-Length value: digits only (a list of equal values is one value, RFC 9110 §8.6).
std::optional<size_t> parse_length(std::string_view value, bool& bad) {
  std::optional<size_t> result;
  for (auto rest = value; !rest.empty();) {
    const auto comma = rest.find(',');
    const auto item = trim(rest.substr(0, comma));
    rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma + 1);
    size_t n = 0;
    if (item.empty() || item.size() > 18) return bad = true, std::nullopt;
    for (char ch : item)
      if (ch < '0' || ch > '9') return bad = true, std::nullopt;
    std::from_chars(item.data(), item.data() + item.size(), n);
    if (result && *result != n) return bad = true, std::nullopt;
    result = n;
  }
  if (!result) bad = true;
  return result;
}

// Parses a complete head (without its final CRLF CRLF). nullopt: a refusal was filled in.
std::optional<Head> parse_head(std::string_view text, const FrontLimits& limits, Refusal& refusal) {
  auto refuse = [&](int status, const char* code, std::string message) -> std::optional<Head> {
    refusal = {status, code, std::move(message)};
    return std::nullopt;
  };
  Head h;
  const auto line_end = text.find("\r\n");
  const std::string_view line = text.substr(0, line_end);
  if (line.size() > limits.request_line) return refuse(414, "uri_too_long", "request line is over the limit");
  const auto sp1 = line.find(' ');
  const auto sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return refuse(400, "bad_request", "malformed request line");
  const auto method = line.substr(0, sp1), target = line.substr(sp1 + 1, sp2 - sp1 - 1), version = line.substr(sp2 + 1);
  if (method.empty() || !std::all_of(method.begin(), method.end(), is_token_char)) return refuse(400, "bad_request", "malformed method");
  if (target.empty() || target.find_first_of(" \t\r\n") != std::string_view::npos ||
      std::any_of(target.begin(), target.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x21 || ch == 0x7f; }))
    return refuse(400, "bad_request", "malformed request target");
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    if (version.rfind("HTTP/", 0) == 0) return refuse(505, "version_not_supported", "only HTTP/1.0 and HTTP/1.1 are served");
    return refuse(400, "bad_request", "malformed request line");
  }
  h.method = std::string(method);
  h.target = std::string(target);
  h.version = std::string(version);

  size_t fields = 0;
  bool has_host = false, bad_length = false, has_te = false;
  std::string_view connection, expect;
  std::string transfer_encoding;
  for (auto rest = line_end == std::string_view::npos ? std::string_view() : text.substr(line_end + 2); !rest.empty();) {
    const auto end = rest.find("\r\n");
    const std::string_view field = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 2);
    if (field.size() > limits.header_line) return refuse(431, "header_too_large", "a header line is over the limit");
    if (++fields > limits.header_fields) return refuse(431, "header_too_large", "too many header fields");
    if (field.find_first_of("\r\n") != std::string_view::npos || field.find('\0') != std::string_view::npos)
      return refuse(400, "bad_request", "a bare CR, LF or NUL in a header");
    // Obsolete line folding (a line starting with white space) is refused (RFC 9112 §5.2).
    const auto colon = field.find(':');
    if (colon == 0 || colon == std::string_view::npos) return refuse(400, "bad_request", "malformed header field");
    const auto name = field.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), is_token_char)) return refuse(400, "bad_request", "malformed header field name");
    const auto value = trim(field.substr(colon + 1));
    if (iequals(name, "Content-Length")) {
      auto n = parse_length(value, bad_length);
      if (bad_length) return refuse(400, "bad_request", "malformed Content-Length");
      if (h.content_length && *h.content_length != *n) return refuse(400, "bad_request", "conflicting Content-Length headers");
      h.content_length = n;
      continue;
    }
    if (iequals(name, "Transfer-Encoding")) {
      has_te = true;
      if (!transfer_encoding.empty()) transfer_encoding += ",";
      transfer_encoding += std::string(value);
      continue;
    }
    if (iequals(name, "Host")) {
      if (has_host) return refuse(400, "bad_request", "more than one Host header");
      has_host = true;
    }
    if (iequals(name, "Connection")) connection = value;
    if (iequals(name, "Expect")) {
      expect = value;
      continue;  // answered here, never passed on
    }
    h.headers.emplace(std::string(name), std::string(value));
  }
  if (h.version == "HTTP/1.1" && !has_host) return refuse(400, "bad_request", "HTTP/1.1 requests need a Host header");
  if (has_te) {
    // A request with both framings is the smuggling pattern (RFC 9112 §6.3): refuse, close.
    if (h.content_length) return refuse(400, "bad_request", "Content-Length together with Transfer-Encoding");
    if (h.version == "HTTP/1.0") return refuse(400, "bad_request", "Transfer-Encoding in an HTTP/1.0 request");
    std::string te(trim(transfer_encoding));
    std::transform(te.begin(), te.end(), te.begin(), [](unsigned char ch) { return std::tolower(ch); });
    if (te != "chunked") return refuse(501, "not_implemented", "only the chunked transfer coding is understood");
    h.chunked = true;
  }
  if (!expect.empty()) {
    if (!iequals(expect, "100-continue")) return refuse(417, "expectation_failed", "only Expect: 100-continue is understood");
    h.expect_continue = true;
  }
  h.keep_alive = h.version == "HTTP/1.1" ? !iequals(connection, "close") : iequals(connection, "keep-alive");
  return h;
}

}  // namespace

namespace wire {

// The chunked transfer coding, decoded as bytes arrive. States follow RFC 9112 §7.1.
class ChunkDecoder {
 public:
  enum class Status { more, done, bad, too_large };
  // Consumes what it can of `data` (advancing `used`), appending the payload to `body`.
  Status feed(std::string_view data, size_t& used, std::string& body, size_t limit, size_t line_limit) {
    used = 0;
    while (used < data.size() || state_ == State::done) {
      if (state_ == State::done) return Status::done;
      const auto rest = data.substr(used);
      if (state_ == State::data) {
        const size_t n = std::min(remaining_, rest.size());
        body.append(rest.substr(0, n));
        used += n;
        remaining_ -= n;
        if (remaining_ == 0) state_ = State::data_end;
        continue;
      }
      const auto eol = rest.find("\r\n");
      if (eol == std::string_view::npos) return rest.size() > line_limit ? Status::bad : Status::more;
      const auto line = rest.substr(0, eol);
      used += eol + 2;
      switch (state_) {
        case State::size: {
          const auto hex = trim(line.substr(0, line.find(';')));  // chunk extensions are ignored
          if (hex.empty() || hex.size() > 15) return Status::bad;
          size_t n = 0;
          auto [p, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), n, 16);
          if (ec != std::errc() || p != hex.data() + hex.size()) return Status::bad;  // "-1", "0x10", junk
          if (body.size() + n > limit) return Status::too_large;
          remaining_ = n;
          state_ = n == 0 ? State::trailer : State::data;
          break;
        }
        case State::data_end:
          if (!line.empty()) return Status::bad;
          state_ = State::size;
          break;
        case State::trailer:
          if (line.empty()) state_ = State::done;  // trailer fields are dropped
          else if (++trailers_ > 64) return Status::bad;
          break;
        default: return Status::bad;
      }
    }
    return state_ == State::done ? Status::done : Status::more;
  }

 private:
  enum class State { size, data, data_end, trailer, done };
  State state_ = State::size;
  size_t remaining_ = 0;
  int trailers_ = 0;
};

}  // namespace wire

using wire::ChunkDecoder;

namespace {

// RFC 9110 §15 (and RFC 6585's 428/429/431/511); a code without a registered phrase gets none,
// which RFC 9112 §4 allows ("HTTP/1.1 299 "): a made-up phrase would mislead a reader.
const char* reason_of(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 511: return "Network Authentication Required";
    default: return "";
  }
}

bool wait_for(int fd, short what, std::chrono::milliseconds timeout) {
  pollfd p{fd, what, 0};
  for (;;) {
    const int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (r >= 0 || errno != EINTR) return r > 0;
  }
}

std::string chunk_of(std::string_view bytes) {
  char size[24];
  auto [end, ec] = std::to_chars(size, size + sizeof size, bytes.size(), 16);
  std::string out(size, end);
  out += "\r\n";
  out.append(bytes);
  out += "\r\n";
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// A connection and what it is doing.

struct StreamState;

struct Front::Conn {
  int fd = -1;
  Front::Loop* loop = nullptr;
  std::string peer_ip, local_ip;
  int peer_port = 0, local_port = 0;
  std::string in;     // received, not yet consumed
  size_t in_off = 0;  // consumed prefix of `in`
  std::string out;    // answers not yet sent

  // The request being received.
  enum class Phase { idle, head, body } phase = Phase::idle;
  size_t scanned = 0;  // of unread(): searched for the head's end already
  SteadyClock::time_point request_start;
  std::optional<Head> head;
  ChunkDecoder chunks;
  std::string body;
  bool continue_sent = false;
  // parse() stopped for more bytes of a request begun: after EOF it can never be complete.
  bool incomplete = false;

  // Answers.
  std::vector<std::shared_ptr<Exchange>> pending;  // batched, answered in order
  // A refusal that came after batched requests still unanswered: sent after their answers.
  std::string refusal;
  int awaiting = 0;          // of `pending`, those whose batch is not done yet
  bool ready = false;        // in this round's list
  bool peer_closed = false;  // read EOF
  bool broken = false;       // a socket error: close without answering
  bool close_after = false;  // close once the answers are out
  bool refused = false;      // a framing error was answered: nothing more is read as a request
  // After a refusal: our side is shut down and what the client still sends is read and dropped
  // for a moment, so that closing does not reset the connection before it read the answer.
  bool lingering = false;
  SteadyClock::time_point linger_until;
  size_t lingered = 0;  // bytes dropped while lingering: a client that keeps sending is cut off
  uint32_t interest = 0;     // what the reactor watches for it now
  SteadyClock::time_point since = SteadyClock::now();  // last progress

  // A complete request for a worker, in the form httplib reads.
  std::optional<Lane> lane;
  std::string request;
  size_t request_off = 0;
  // Set on the worker.
  bool taken = false;          // take_connection(): the descriptor left with the handler
  bool answered = false;       // a handler wrote the answer itself: httplib's writes are dropped
  bool must_close = false;     // a handler's answer could not be finished
  bool request_keep_alive = true;
  std::shared_ptr<StreamState> stream;  // detach_stream()

  std::string_view unread() const { return std::string_view(in).substr(in_off); }
  void compact() {
    in.erase(0, in_off);
    in_off = 0;
  }
  void reset_request() {
    phase = Phase::idle;
    scanned = 0;
    head.reset();
    chunks = ChunkDecoder{};
    body.clear();
    continue_sent = false;
  }
};

// The shared part of a detached response stream: producers on any thread, the loop writes.
struct StreamState final : OutStream, std::enable_shared_from_this<StreamState> {
  OutStreamOptions opts;
  Front::Loop* loop = nullptr;
  Front::Conn* conn = nullptr;  // loop thread only; null once the stream ended
  mutable std::mutex mu;
  std::string queued;   // chunks not yet handed to the loop
  bool closed = false;  // no more sends
  bool finishing = false;
  bool flush_posted = false;
  SteadyClock::time_point last_send = SteadyClock::now();
  Reactor::TimerId keep_alive_timer = 0;

  bool send(std::string bytes) override;
  void finish() override;
  bool open() const override {
    std::lock_guard lock(mu);
    return !closed;
  }
  // With `mu` held: has the loop take the queued bytes (once per batch of sends).
  void post_flush_locked();
};

// ---------------------------------------------------------------------------------------------
// One event loop and the connections it owns (those not on a worker).

class Front::Loop {
 public:
  Loop(Front& front, size_t index);
  void start() { thread_ = std::thread([this] { reactor_.run(100ms); }); }
  void join() {
    reactor_.wake();
    if (thread_.joinable()) thread_.join();
  }
  Reactor& reactor() { return reactor_; }
  // A new connection, or one back from a worker (any thread).
  void give(std::unique_ptr<Conn> c);
  void listen_on(int fd);
  // Loop thread.
  void flush_stream(StreamState& s);
  void end_stream(Conn& c, bool close_conn);
  ~Loop();

 private:
  Front& front_;
  const FrontOptions& opts_;
  size_t index_;
  Reactor reactor_;
  std::thread thread_;
  std::unordered_map<Conn*, std::unique_ptr<Conn>> conns_;
  std::vector<Conn*> ready_;
  std::mutex done_mu_;
  std::vector<std::shared_ptr<struct Round>> done_;  // batches whose handler called done
  SteadyClock::time_point next_sweep_ = SteadyClock::now();
  bool stop_seen_ = false;
  int listen_fd_ = -1;

  void adopt(std::unique_ptr<Conn> c);
  void on_event(Conn& c, uint32_t events);
  void on_accept();
  void round();
  void mark_ready(Conn& c);
  void read_from(Conn& c);
  size_t read_allowance(const Conn& c) const;
  void parse(Conn& c, std::map<const BatchHandler*, std::shared_ptr<Round>>& batches);
  void refuse(Conn& c, int status, const char* code, const std::string& message, std::string_view path = {},
              const httplib::Headers* headers = nullptr);
  void dispatch(const BatchHandler& handler, std::shared_ptr<Round> round);
  void take_done();
  void answer(Conn& c);
  void flush(Conn& c);
  void watch(Conn& c);
  void hand_to_worker(Conn& c);
  void close_conn(Conn& c);
  void sweep(SteadyClock::time_point now);
  void finish_stopping();
  void schedule_keep_alive(std::shared_ptr<StreamState> s);
  void linger(Conn& c);
  friend struct StreamState;
};

// A batch handed to its handler: it keeps the exchanges alive until the handler is done with them.
struct Round {
  std::vector<std::shared_ptr<Exchange>> exchanges;
  std::vector<Front::Conn*> conns;  // exchange i came on conns[i]
  std::atomic<bool> finished{false};
};

namespace {
thread_local Front::Conn* tl_current = nullptr;  // the connection a worker is serving now
thread_local Front* tl_front = nullptr;

// httplib's request processing on a complete request: reads come from memory, writes go to the
// socket (unless a handler answered itself, or took the connection).
class ConnStream final : public httplib::Stream {
 public:
  ConnStream(Front::Conn& c, std::chrono::milliseconds timeout) : c_(c), timeout_(timeout) {}
  bool is_readable() const override { return c_.request_off < c_.request.size(); }
  bool is_writable() const override { return c_.fd >= 0 && wait_for(c_.fd, POLLOUT, timeout_); }
  ssize_t read(char* ptr, size_t size) override {
    const size_t n = std::min(size, c_.request.size() - c_.request_off);
    std::memcpy(ptr, c_.request.data() + c_.request_off, n);
    c_.request_off += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    if (c_.taken || c_.answered) return static_cast<ssize_t>(size);  // httplib's own answer, not wanted
    if (c_.fd < 0 || c_.broken) return -1;
    if (!send_all(c_.fd, std::string_view(ptr, size), timeout_)) {
      c_.broken = true;
      return -1;
    }
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = c_.peer_ip;
    port = c_.peer_port;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = c_.local_ip;
    port = c_.local_port;
  }
  // httplib refuses descriptors >= FD_SETSIZE (select); ours are never select()ed.
  socket_t socket() const override { return 0; }

 private:
  Front::Conn& c_;
  std::chrono::milliseconds timeout_;
};

// The head of an answer the handler writes itself (chunked).
std::string stream_head(const Front::Conn& c, int status, const std::string& content_type,
                        const std::vector<std::pair<std::string, std::string>>& headers, const std::string& keep_alive_line) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason_of(status) + "\r\n";
  out += "Content-Type: " + content_type + "\r\n";
  for (const auto& [k, v] : headers) out += k + ": " + v + "\r\n";
  out += "Transfer-Encoding: chunked\r\n";
  out += c.request_keep_alive ? keep_alive_line : "Connection: close\r\n";
  out += "\r\n";
  return out;
}

// Header lines as one log field ("X-Request-Id: wh-3").
std::string trim_crlf(std::string lines) {
  for (auto pos = lines.find("\r\n"); pos != std::string::npos; pos = lines.find("\r\n", pos))
    lines.replace(pos, 2, pos + 2 == lines.size() ? "" : "; ");
  return lines;
}

std::string error_answer(int status, const char* code, const std::string& message, const std::string& extra_headers = {}) {
  httplib::Response res;
  send_error(res, status, code, message);
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason_of(status) + "\r\n";
  out += extra_headers;
  out += "Content-Type: application/json\r\nConnection: close\r\nContent-Length: " + std::to_string(res.body.size()) + "\r\n\r\n";
  out += res.body;
  return out;
}
}  // namespace

// ---------------------------------------------------------------------------------------------

Front::Front(FrontOptions opts)
    : opts_(std::move(opts)),
      keep_alive_line_("Keep-Alive: timeout=" + std::to_string(opts_.keep_alive_timeout.count()) +
                       ", max=" + std::to_string(opts_.keep_alive_max) + "\r\n") {}

Front::~Front() {
  stop();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

void Front::add_batch_route(const std::string& path, BatchHandler handler) { routes_[path] = std::move(handler); }

int Front::listen(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string where = host + ":" + std::to_string(port);
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 || !found)
    throw ConfigError("cannot listen on " + where + ": not an address of this host");
  std::string why = "unknown reason";
  for (auto* ai = found; ai && listen_fd_ < 0; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) continue;
    // SO_REUSEADDR only: with SO_REUSEPORT (httplib's default) a second orch serve started without
    // error and the kernel split the connections between the two.
    const int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, SOMAXCONN) == 0) {
      listen_fd_ = fd;
      break;
    }
    why = errno == EADDRINUSE ? "address already in use (another orch serve, or another program, listens there)" : std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(found);
  if (listen_fd_ < 0) throw ConfigError("cannot listen on " + where + ": " + why);
  std::string ip;
  int bound = 0;
  address_of(listen_fd_, false, ip, bound);
  return bound;
}

void Front::start() {
  probe_pool_ = std::make_unique<WorkerPool>("http-probe", opts_.probe_threads, 4096);
  control_pool_ = std::make_unique<WorkerPool>("http-control", opts_.control_threads, opts_.control_queue);
  general_pool_ = std::make_unique<WorkerPool>("http-worker", opts_.general_threads, opts_.general_queue);
  for (size_t i = 0; i < std::max<size_t>(1, opts_.loops); ++i) loops_.push_back(std::make_unique<Loop>(*this, i));
  if (listen_fd_ >= 0) loops_.front()->listen_on(listen_fd_);
  for (auto& loop : loops_) loop->start();
  started_ = true;
}

void Front::stop() {
  if (!started_) return;
  started_ = false;
  stopping_ = true;
  for (auto& loop : loops_) loop->reactor().wake();
  for (auto& loop : loops_) loop->join();
  for (auto* pool : {probe_pool_.get(), control_pool_.get(), general_pool_.get()})
    if (pool) pool->shutdown();
  loops_.clear();
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
}

bool Front::count_in(const std::string& address) {
  if (open_.load() >= opts_.limits.connections) return false;
  std::lock_guard lock(per_address_mu_);
  auto& n = per_address_[address];
  if (n >= opts_.limits.connections_per_address) {
    if (n == 0) per_address_.erase(address);
    return false;
  }
  ++n;
  ++open_;
  return true;
}

void Front::count_out(const std::string& address) {
  std::lock_guard lock(per_address_mu_);
  auto it = per_address_.find(address);
  if (it == per_address_.end()) return;
  --open_;
  if (--it->second == 0) per_address_.erase(it);
}

Front::Loop::Loop(Front& front, size_t index) : front_(front), opts_(front.opts_), index_(index) {
  reactor_.on_round([this] { round(); });
}

Front::Loop::~Loop() {
  for (auto& [c, owned] : conns_)
    if (c->fd >= 0) ::close(c->fd);
}

void Front::Loop::schedule_keep_alive(std::shared_ptr<StreamState> s) {
  s->keep_alive_timer = reactor_.after(s->opts.keep_alive, [this, s] {
    s->keep_alive_timer = 0;
    if (!s->conn) return;
    SteadyClock::time_point last;
    {
      std::lock_guard lock(s->mu);
      last = s->last_send;
    }
    if (SteadyClock::now() - last >= s->opts.keep_alive) s->send(s->opts.keep_alive_text);
    schedule_keep_alive(s);
  });
}

void Front::Loop::linger(Conn& c) {
  ::shutdown(c.fd, SHUT_WR);
  c.lingering = true;
  c.linger_until = SteadyClock::now() + 2s;
  c.interest = EPOLLIN | EPOLLRDHUP;
  reactor_.modify(c.fd, c.interest);
}

void Front::Loop::listen_on(int fd) {
  listen_fd_ = fd;
  reactor_.watch(fd, EPOLLIN, [this](uint32_t) { on_accept(); });
}

void Front::Loop::on_accept() {
  for (int i = 0; i < 64; ++i) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE) spdlog::warn("http: out of file descriptors; a connection waits in the backlog");
      return;  // EAGAIN: all taken
    }
    auto c = std::make_unique<Conn>();
    c->fd = fd;
    if (!address_of(fd, true, c->peer_ip, c->peer_port)) c->peer_ip = "unix";
    address_of(fd, false, c->local_ip, c->local_port);
    if (front_.stopping_ || !front_.count_in(c->peer_ip)) {
      // Over the caps: a short answer if the socket takes it at once, then close.
      static const std::string busy = error_answer(503, "too_many_connections", "too many connections; retry later");
      if (opts_.refused && !front_.stopping_) opts_.refused("", 503, "too_many_connections");
      [[maybe_unused]] auto n = ::send(fd, busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(fd);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto& loop = *front_.loops_[front_.next_loop_++ % front_.loops_.size()];
    if (&loop == this) adopt(std::move(c));
    else loop.give(std::move(c));
  }
}

void Front::serve_socket(int fd, const std::string& peer_ip, int peer_port, const std::string& local_ip, int local_port) {
  if (!started_ || stopping_ || !count_in(peer_ip)) {
    ::close(fd);
    return;
  }
  const int flags = ::fcntl(fd, F_GETFL, 0);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  auto c = std::make_unique<Conn>();
  c->fd = fd;
  c->peer_ip = peer_ip;
  c->peer_port = peer_port;
  c->local_ip = local_ip;
  c->local_port = local_port;
  loops_[next_loop_++ % loops_.size()]->give(std::move(c));
}

void Front::Loop::give(std::unique_ptr<Conn> c) {
  Conn* raw = c.release();
  reactor_.post([this, raw] { adopt(std::unique_ptr<Conn>(raw)); });
}

void Front::Loop::adopt(std::unique_ptr<Conn> owned) {
  Conn* c = owned.get();
  c->loop = this;
  c->interest = EPOLLIN | EPOLLRDHUP;
  if (!reactor_.watch(c->fd, c->interest, [this, c](uint32_t events) { on_event(*c, events); })) {
    front_.count_out(c->peer_ip);
    ::close(c->fd);
    return;
  }
  c->since = SteadyClock::now();
  conns_.emplace(c, std::move(owned));
  if (c->stream) {
    // Back from the worker that started a detached stream: the loop writes it from now on.
    {
      std::lock_guard lock(c->stream->mu);
      c->stream->conn = c;
    }
    auto s = c->stream;
    flush_stream(*s);
    if (s->conn && s->opts.keep_alive.count() > 0) schedule_keep_alive(s);
    return;
  }
  // Bytes a worker's request did not use (a pipelined next request) are served without new input.
  if (!c->unread().empty()) mark_ready(*c);
}

void Front::Loop::mark_ready(Conn& c) {
  if (c.ready) return;
  c.ready = true;
  ready_.push_back(&c);
}

void Front::Loop::on_event(Conn& c, uint32_t events) {
  if (c.stream) {
    // A streaming connection: the client only ever closes it (what it sends is dropped).
    if (events & EPOLLOUT) flush(c);
    if (!conns_.count(&c)) return;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      char buf[4096];
      const ssize_t n = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) || (events & (EPOLLHUP | EPOLLERR)))
        end_stream(c, true);
    }
    return;
  }
  if (events & EPOLLOUT) flush(c);
  if (!conns_.count(&c)) return;
  if (events & EPOLLERR) c.broken = true;
  if (c.lingering) {
    read_from(c);  // dropped; EOF ends the wait
    if (c.peer_closed || c.broken || (events & EPOLLHUP)) close_conn(c);
    return;
  }
  if (!(c.interest & EPOLLOUT) && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))) {
    read_from(c);
    if ((events & EPOLLHUP) && !(events & EPOLLIN)) c.peer_closed = true;
    watch(c);
  }
  mark_ready(c);
}

size_t Front::Loop::read_allowance(const Conn& c) const {
  // Nothing is buffered beyond what the request being received may still need (plus one head for
  // a pipelined next one): a header line of a gigabyte costs at most the head limit.
  const auto& l = opts_.limits;
  const size_t have = c.in.size() - c.in_off;
  size_t cap = l.head + 1;
  if (c.phase == Conn::Phase::body && c.head) {
    if (c.head->content_length) cap = *c.head->content_length + l.head + 1;
    else cap = opts_.body_limit - std::min(opts_.body_limit, c.body.size()) + 64 * 1024 + l.head;  // chunk framing
  }
  if (c.refused) return 64 * 1024;  // read and dropped until the answer is out
  return have >= cap ? 0 : std::min(kReadPerRound, cap - have);
}

void Front::Loop::read_from(Conn& c) {
  char buf[64 * 1024];
  size_t got = 0;
  for (;;) {
    size_t allowed = read_allowance(c);
    if (allowed == 0 || got >= kReadPerRound) break;
    const ssize_t n = ::recv(c.fd, buf, std::min(sizeof buf, allowed), 0);
    if (n > 0) {
      if (c.refused) {  // after a framing error nothing is a request any more
        got += static_cast<size_t>(n);
        c.lingered += static_cast<size_t>(n);
        if (c.lingering && c.lingered > (1u << 20)) {
          c.peer_closed = true;  // enough: close now (the answer had its chance)
          break;
        }
        continue;
      }
      if (c.phase == Conn::Phase::idle) {
        c.phase = Conn::Phase::head;
        c.request_start = SteadyClock::now();
      }
      c.in.append(buf, static_cast<size_t>(n));
      c.incomplete = false;  // until parse() has looked at these bytes
      got += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) c.peer_closed = true;
    else if (errno == EINTR) continue;
    else if (errno != EAGAIN && errno != EWOULDBLOCK) c.broken = true;
    break;
  }
  if (got > 0) c.since = SteadyClock::now();
}

void Front::Loop::refuse(Conn& c, int status, const char* code, const std::string& message, std::string_view path,
                         const httplib::Headers* headers) {
  const std::string extra = headers && opts_.refusal_headers ? opts_.refusal_headers(path, *headers) : std::string();
  spdlog::info("http refused {} ({}) peer={}{}: {}", status, code, c.peer_ip, extra.empty() ? "" : " " + trim_crlf(extra), message);
  if (opts_.refused) opts_.refused(path, status, code);
  // Answers go out in the order of the requests: earlier batched ones first (the HTTP fuzz harness
  // found the refusal sent before them, and their answers after its `Connection: close`).
  (c.pending.empty() ? c.out : c.refusal) += error_answer(status, code, message, extra);
  c.close_after = true;
  c.refused = true;
  c.compact();
  c.in.clear();
  c.reset_request();
}

void Front::Loop::parse(Conn& c, std::map<const BatchHandler*, std::shared_ptr<Round>>& batches) {
  const auto& limits = opts_.limits;
  c.incomplete = false;
  while (!c.close_after && !c.lane && !c.broken && !c.refused) {
    auto data = c.unread();
    if (data.empty()) break;
    if (c.phase == Conn::Phase::idle) {
      c.phase = Conn::Phase::head;
      c.request_start = SteadyClock::now();
    }
    if (c.phase == Conn::Phase::head) {
      // Clients may send empty lines between requests (RFC 9112 §2.2).
      if (c.scanned == 0)
        while (data.rfind("\r\n", 0) == 0) {
          c.in_off += 2;
          data = c.unread();
        }
      const size_t from = c.scanned > 3 ? c.scanned - 3 : 0;
      const auto head_end = data.find("\r\n\r\n", from);
      // Line ends are CRLF: a bare LF is refused now rather than waited on until the deadline.
      for (size_t k = std::max<size_t>(from, 1); k < (head_end == std::string_view::npos ? data.size() : head_end); ++k)
        if (data[k] == '\n' && data[k - 1] != '\r') return refuse(c, 400, "bad_request", "a line of the request head ends with a bare LF");
      if (!data.empty() && data[0] == '\n') return refuse(c, 400, "bad_request", "a line of the request head ends with a bare LF");
      if (head_end == std::string_view::npos) {
        c.scanned = data.size();
        const auto first_crlf = data.find("\r\n");
        if (first_crlf == std::string_view::npos && data.size() > limits.request_line)
          return refuse(c, 414, "uri_too_long", "request line is over the limit");
        const auto last_crlf = data.rfind("\r\n");
        if (last_crlf != std::string_view::npos && data.size() - last_crlf - 2 > limits.header_line)
          return refuse(c, 431, "header_too_large", "a header line is over the limit");
        if (data.size() > limits.head) return refuse(c, 431, "header_too_large", "request head is over the limit");
        c.incomplete = true;
        break;  // more is coming
      }
      if (head_end + 4 > limits.head + 4) return refuse(c, 431, "header_too_large", "request head is over the limit");
      Refusal why{};
      auto head = parse_head(data.substr(0, head_end), limits, why);
      if (!head) return refuse(c, why.status, why.code, why.message);
      if (head->content_length && *head->content_length > opts_.body_limit)
        return refuse(c, 413, "payload_too_large", "request body is over the limit",
                      std::string_view(head->target).substr(0, head->target.find('?')), &head->headers);
      c.in_off += head_end + 4;
      c.head = std::move(head);
      c.phase = Conn::Phase::body;
      data = c.unread();
    }
    // The body, framed by Content-Length or chunked.
    auto& h = *c.head;
    bool complete = false;
    if (h.chunked) {
      size_t used = 0;
      switch (c.chunks.feed(data, used, c.body, opts_.body_limit, limits.header_line)) {
        case ChunkDecoder::Status::bad: return refuse(c, 400, "bad_request", "malformed chunked body");
        case ChunkDecoder::Status::too_large:
          return refuse(c, 413, "payload_too_large", "request body is over the limit",
                        std::string_view(h.target).substr(0, h.target.find('?')), &h.headers);
        case ChunkDecoder::Status::done: complete = true; break;
        case ChunkDecoder::Status::more: break;
      }
      c.in_off += used;
    } else {
      const size_t length = h.content_length.value_or(0);
      if (data.size() >= length) {
        c.body.assign(data.substr(0, length));
        c.in_off += length;
        complete = true;
      }
    }
    if (!complete) {
      c.incomplete = true;
      // Not before the answers to earlier requests still pending: a 1xx belongs to the oldest one.
      if (h.expect_continue && !c.continue_sent && c.pending.empty()) {
        c.out += "HTTP/1.1 100 Continue\r\n\r\n";
        c.continue_sent = true;
      }
      break;
    }

    // A complete request: served on the loop (batched route) or by a worker.
    const std::string_view path = std::string_view(h.target).substr(0, h.target.find('?'));
    const BatchHandler* handler = nullptr;
    if (h.method == "POST")
      if (auto route = front_.routes_.find(h.target); route != front_.routes_.end()) handler = &route->second;
    if (!h.keep_alive || front_.stopping_) c.close_after = true;
    if (handler) {
      auto ex = std::make_shared<Exchange>();
      auto& req = ex->req;
      req.method = std::move(h.method);
      req.target = req.path = std::move(h.target);
      req.version = std::move(h.version);
      req.headers = std::move(h.headers);
      req.body = std::move(c.body);
      req.remote_addr = c.peer_ip;
      req.remote_port = c.peer_port;
      req.local_addr = c.local_ip;
      req.local_port = c.local_port;
      // As httplib does, so handlers see the same request either way.
      req.set_header("REMOTE_ADDR", req.remote_addr);
      req.set_header("REMOTE_PORT", std::to_string(req.remote_port));
      req.set_header("LOCAL_ADDR", req.local_addr);
      req.set_header("LOCAL_PORT", std::to_string(req.local_port));
      ex->res.version = "HTTP/1.1";
      if (!opts_.admit || opts_.admit(req, ex->res)) {
        auto& round = batches[handler];
        if (!round) round = std::make_shared<Round>();
        round->exchanges.push_back(ex);
        round->conns.push_back(&c);
        ++c.awaiting;
      }
      c.pending.push_back(std::move(ex));
      c.reset_request();
      continue;
    }
    // For httplib: the request rewritten with its body whole and framed by Content-Length.
    c.lane = opts_.lane ? opts_.lane(h.method, path) : Lane::general;
    c.request_keep_alive = !c.close_after;
    std::string& r = c.request;
    r.clear();
    r.reserve(h.target.size() + 256 + c.body.size());
    r += h.method;
    r += ' ';
    r += h.target;
    r += ' ';
    r += h.version;
    r += "\r\n";
    for (const auto& [name, value] : h.headers) {
      r += name;
      r += ": ";
      r += value;
      r += "\r\n";
    }
    if (!c.body.empty() || h.content_length) r += "Content-Length: " + std::to_string(c.body.size()) + "\r\n";
    r += "\r\n";
    r += c.body;
    c.request_off = 0;
    c.reset_request();
    break;
  }
  c.compact();
}

void Front::Loop::answer(Conn& c) {
  if (front_.stopping_) c.close_after = true;  // the last answers of a stopping server say so
  for (size_t i = 0; i < c.pending.size(); ++i) {
    auto& req = c.pending[i]->req;
    auto& res = c.pending[i]->res;
    if (res.status == -1) send_error(res, 500, "internal", "internal error");
    if (opts_.after) opts_.after(req, res);
    const bool last_before_close = c.close_after && i + 1 == c.pending.size() && c.refusal.empty();
    auto& out = c.out;
    out += "HTTP/1.1 ";
    out += std::to_string(res.status);
    out += ' ';
    out += reason_of(res.status);
    out += "\r\n";
    bool typed = false;
    for (const auto& [name, value] : res.headers) {
      if (iequals(name, "Content-Length") || iequals(name, "Connection") || iequals(name, "Keep-Alive")) continue;
      typed = typed || iequals(name, "Content-Type");
      out += name;
      out += ": ";
      out += value;
      out += "\r\n";
    }
    if (last_before_close) {
      out += "Connection: close\r\n";
    } else {
      if (req.version == "HTTP/1.0") out += "Connection: keep-alive\r\n";  // 1.0 closes unless told
      out += front_.keep_alive_line_;
    }
    if (!res.body.empty() && !typed) out += "Content-Type: text/plain\r\n";
    out += "Content-Length: " + std::to_string(res.body.size()) + "\r\n\r\n";
    out += res.body;
  }
  c.pending.clear();
  c.out += c.refusal;
  c.refusal.clear();
}

void Front::Loop::flush(Conn& c) {
  size_t sent = 0;
  while (sent < c.out.size()) {
    const ssize_t n = ::send(c.fd, c.out.data() + sent, c.out.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    c.broken = true;
    break;
  }
  if (sent > 0) c.since = SteadyClock::now();
  c.out.erase(0, sent);
  if (c.broken) {
    if (c.stream) end_stream(c, true);
    else mark_ready(c);
    return;
  }
  if (c.stream) {
    // A finished stream whose last chunk is out: the connection serves requests again.
    bool done = false;
    {
      std::lock_guard lock(c.stream->mu);
      done = c.out.empty() && c.stream->finishing && c.stream->queued.empty();
    }
    if (done) return end_stream(c, !c.request_keep_alive || front_.stopping_);
    const uint32_t want = EPOLLIN | EPOLLRDHUP | (c.out.empty() ? 0u : uint32_t{EPOLLOUT});
    if (want != c.interest) {
      c.interest = want;
      reactor_.modify(c.fd, want);
    }
    return;
  }
  watch(c);
}

void Front::Loop::watch(Conn& c) {
  // Backpressure: a client that does not read its answers is not read from either, and one that
  // sends ahead while its answers are pending is read up to one full request.
  uint32_t want = EPOLLIN | EPOLLRDHUP;
  if (!c.out.empty()) want = EPOLLOUT;
  else if (read_allowance(c) == 0) want = 0;  // (hang-ups and errors are still reported)
  if (want == c.interest) return;
  c.interest = want;
  reactor_.modify(c.fd, want);
}

void Front::Loop::close_conn(Conn& c) {
  if (c.stream) {
    end_stream(c, true);
    return;
  }
  reactor_.forget(c.fd);
  ::close(c.fd);
  front_.count_out(c.peer_ip);
  conns_.erase(&c);  // `ready_` may still name it: round() checks membership
}

void Front::Loop::end_stream(Conn& c, bool close_conn) {
  auto s = std::move(c.stream);
  std::function<void()> on_close;
  {
    std::lock_guard lock(s->mu);
    s->closed = true;
    s->conn = nullptr;
    s->queued.clear();
    on_close = std::move(s->opts.on_close);
  }
  if (s->keep_alive_timer) reactor_.cancel(s->keep_alive_timer);
  if (on_close) on_close();
  if (close_conn || c.broken) {
    this->close_conn(c);
    return;
  }
  c.since = SteadyClock::now();
  watch(c);
  mark_ready(c);  // requests pipelined behind the stream
}

void Front::Loop::flush_stream(StreamState& s) {
  std::string bytes;
  bool finishing;
  {
    std::lock_guard lock(s.mu);
    s.flush_posted = false;
    if (!s.conn) return;
    bytes.swap(s.queued);
    finishing = s.finishing;
  }
  Conn& c = *s.conn;
  c.out += bytes;
  if (!c.out.empty() || finishing) flush(c);
}

void Front::Loop::hand_to_worker(Conn& c) {
  auto lane = *c.lane;
  c.lane.reset();
  auto& pool = lane == Lane::probe ? *front_.probe_pool_ : lane == Lane::control ? *front_.control_pool_ : *front_.general_pool_;
  reactor_.forget(c.fd);
  auto node = conns_.extract(&c);
  Conn* raw = node.mapped().release();
  raw->ready = false;
  ++front_.on_workers_;
  const bool taken = pool.try_submit([this, raw] {
    std::unique_ptr<Conn> c(raw);
    ConnStream stream(*c, opts_.read_timeout);
    tl_current = c.get();
    tl_front = &front_;
    bool closed = false;
    bool ok = false;
    try {
      ok = opts_.process(stream, front_.stopping_.load() || !c->request_keep_alive, closed);
    } catch (const std::exception& e) {
      spdlog::error("http: request processing failed: {}", e.what());
    }
    tl_current = nullptr;
    tl_front = nullptr;
    c->request.clear();
    c->request_off = 0;
    if (c->taken) {
      front_.count_out(c->peer_ip);
    } else if (c->stream || (ok && !closed && !c->broken && !c->must_close && c->request_keep_alive &&
                             (!c->peer_closed || !c->unread().empty()) && !front_.stopping_)) {
      // A client that ended its side may have pipelined more requests before: the loop answers
      // them and closes once the bytes are used up.
      c->answered = false;
      give(std::move(c));
    } else {
      front_.count_out(c->peer_ip);
      ::close(c->fd);
    }
    --front_.on_workers_;  // after the hand-back: a stopping loop must not miss it
    reactor_.wake();
  });
  if (!taken) {
    // Every worker of the lane busy and its queue full: say so now (the request was read whole,
    // so the connection can go on).
    --front_.on_workers_;
    std::unique_ptr<Conn> back(raw);
    back->request.clear();
    back->out += "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n" + front_.keep_alive_line_;
    httplib::Response res;
    send_error(res, 503, "busy", lane == Lane::control ? "too many control requests at once; retry shortly" : "server busy; retry shortly");
    if (opts_.refused) opts_.refused("", 503, "busy");
    back->out += "Content-Length: " + std::to_string(res.body.size()) + "\r\n\r\n" + res.body;
    adopt(std::move(back));
    if (conns_.count(raw)) flush(*raw);
  }
}

void Front::Loop::sweep(SteadyClock::time_point now) {
  const auto& l = opts_.limits;
  std::vector<Conn*> expired, late;
  for (auto& [c, owned] : conns_) {
    if (c->awaiting > 0) continue;  // its handler holds the exchanges
    if (c->stream) {
      if (!c->out.empty() && now - c->since > opts_.read_timeout) expired.push_back(c);  // a reader that stopped reading
      continue;
    }
    if (c->lingering) {
      if (front_.stopping_ || now >= c->linger_until) expired.push_back(c);
      continue;
    }
    const auto idle = now - c->since;
    const bool receiving = c->phase != Conn::Phase::idle && !c->refused;
    if (front_.stopping_) {
      // A request not fully received is not in flight; only answers being sent get time.
      if (c->out.empty() || idle > opts_.read_timeout) expired.push_back(c);
      continue;
    }
    if (receiving && c->out.empty()) {
      const auto age = now - c->request_start;
      const bool head_late = c->phase == Conn::Phase::head && age > l.head_deadline;
      if (head_late || age > l.request_deadline || idle > opts_.read_timeout) late.push_back(c);
      continue;
    }
    if (idle > (c->out.empty() && c->unread().empty() ? opts_.keep_alive_timeout : opts_.read_timeout)) expired.push_back(c);
  }
  for (auto* c : expired) close_conn(*c);
  for (auto* c : late) {
    // Slowloris: a request that does not arrive in time is answered 408 and closed.
    refuse(*c, 408, "request_timeout", "the request did not arrive in time");
    flush(*c);
    if (conns_.count(c) && c->out.empty() && !c->broken) linger(*c);
    else if (conns_.count(c) && c->broken) close_conn(*c);
  }
}

void Front::Loop::dispatch(const BatchHandler& handler, std::shared_ptr<Round> round) {
  std::vector<Exchange*> batch;
  for (auto& ex : round->exchanges) batch.push_back(ex.get());
  auto done = [this, round] {
    if (round->finished.exchange(true)) return;
    {
      std::lock_guard lock(done_mu_);
      done_.push_back(round);
    }
    reactor_.wake();
  };
  try {
    handler(batch, done);
  } catch (const std::exception& e) {
    // The requests still unanswered get 500 when their connection is answered.
    spdlog::error("http POST {}: handler failed: {}", batch.front()->req.path, e.what());
    done();
  }
}

void Front::Loop::take_done() {
  std::vector<std::shared_ptr<Round>> finished;
  {
    std::lock_guard lock(done_mu_);
    finished.swap(done_);
  }
  for (auto& round : finished)
    for (auto* c : round->conns) {
      --c->awaiting;
      mark_ready(*c);
    }
}

void Front::Loop::round() {
  take_done();
  // New requests of a connection wait until its earlier answers are out (responses stay in order).
  std::map<const BatchHandler*, std::shared_ptr<Round>> batches;
  for (size_t i = 0; i < ready_.size(); ++i) {
    Conn* c = ready_[i];
    if (!conns_.count(c)) continue;
    if (c->out.empty() && c->awaiting == 0 && !c->stream) parse(*c, batches);
  }
  for (auto& [handler, round] : batches) dispatch(*handler, round);
  take_done();  // handlers that answered at once (the in-process bus)

  std::vector<Conn*> ready;
  ready.swap(ready_);
  for (auto* c : ready) {
    if (!conns_.count(c)) continue;
    c->ready = false;
    if (c->stream || c->awaiting > 0) continue;  // answered when its batch is done
    if (!c->pending.empty()) answer(*c);
    if (!c->out.empty() && !c->broken) flush(*c);
    if (!conns_.count(c) || c->stream) continue;
    // A client that ended its side in the middle of a request can never finish it: closed now
    // rather than when the head or request deadline passes (up to a minute later).
    const bool done_reading = c->peer_closed && (c->unread().empty() || c->incomplete) && !c->lane;
    if (c->lingering) continue;
    if (c->broken || (c->out.empty() && done_reading)) close_conn(*c);
    else if (c->out.empty() && c->lane) hand_to_worker(*c);  // it closes afterwards if asked to
    else if (c->out.empty() && c->close_after) {
      if (c->refused && !c->peer_closed) linger(*c);
      else close_conn(*c);
    } else {
      watch(*c);
    }
  }

  const auto now = SteadyClock::now();
  if (front_.stopping_ || now >= next_sweep_) {
    sweep(now);
    next_sweep_ = now + 250ms;
  }
  if (front_.stopping_) finish_stopping();
}

void Front::Loop::finish_stopping() {
  if (!stop_seen_) {
    stop_seen_ = true;
    if (listen_fd_ >= 0) reactor_.forget(listen_fd_);
    // Streams end with their last chunk.
    std::vector<Conn*> streams;
    for (auto& [c, owned] : conns_)
      if (c->stream) streams.push_back(c);
    for (auto* c : streams) end_stream(*c, true);
  }
  if (conns_.empty() && front_.on_workers_ == 0) reactor_.stop();
}

// ---------------------------------------------------------------------------------------------
// Handler side.

int take_connection(const httplib::Request& req) {
  Front::Conn* c = tl_current;
  if (!c || c->fd < 0 || c->peer_port != req.remote_port) return -1;
  c->taken = true;
  const int fd = c->fd;
  c->fd = -1;
  return fd;
}

ChunkedReply::ChunkedReply(const httplib::Request& req, int status, const std::string& content_type,
                           const std::vector<std::pair<std::string, std::string>>& headers)
    : conn_(tl_current) {
  if (!conn_ || conn_->fd < 0 || conn_->peer_port != req.remote_port || !tl_front) {
    ok_ = false;
    conn_ = nullptr;
    return;
  }
  conn_->answered = true;
  ok_ = send_all(conn_->fd, stream_head(*conn_, status, content_type, headers, tl_front->keep_alive_line()), std::chrono::seconds(5));
}

ChunkedReply::~ChunkedReply() {
  if (conn_ && !ended_) conn_->must_close = true;  // the client cannot tell where the answer ends
}

bool ChunkedReply::write(std::string_view bytes) {
  if (!conn_ || !ok_) return false;
  if (bytes.empty()) return true;
  ok_ = send_all(conn_->fd, chunk_of(bytes), std::chrono::seconds(5));
  return ok_;
}

void ChunkedReply::end() {
  if (!conn_ || ended_) return;
  ended_ = true;
  ok_ = ok_ && send_all(conn_->fd, "0\r\n\r\n", std::chrono::seconds(5));
  if (!ok_) conn_->must_close = true;
}

void StreamState::post_flush_locked() {
  if (flush_posted || !loop) return;
  flush_posted = true;
  loop->reactor().post([self = shared_from_this()] { self->loop->flush_stream(*self); });
}

bool StreamState::send(std::string bytes) {
  std::lock_guard lock(mu);
  if (closed || finishing) return false;
  queued += chunk_of(bytes);
  last_send = SteadyClock::now();
  if (queued.size() > opts.max_buffered) {
    // A reader this far behind is dropped rather than buffered without end.
    spdlog::warn("http: a response stream fell {} bytes behind; closing it", queued.size());
    closed = true;
    queued.clear();
    loop->reactor().post([self = shared_from_this()] {
      if (self->conn) self->loop->end_stream(*self->conn, true);
    });
    return false;
  }
  post_flush_locked();
  return true;
}

void StreamState::finish() {
  std::lock_guard lock(mu);
  if (finishing || closed) return;
  finishing = true;
  queued += "0\r\n\r\n";
  post_flush_locked();
}

std::shared_ptr<OutStream> detach_stream(const httplib::Request& req, OutStreamOptions opts) {
  Front::Conn* c = tl_current;
  if (!c || c->fd < 0 || c->peer_port != req.remote_port || !tl_front || !c->loop) return nullptr;
  if (!send_all(c->fd, stream_head(*c, 200, opts.content_type, opts.headers, tl_front->keep_alive_line()), std::chrono::seconds(5))) {
    c->must_close = true;
    return nullptr;
  }
  c->answered = true;
  auto s = std::make_shared<StreamState>();
  s->opts = std::move(opts);
  s->loop = c->loop;
  c->stream = s;
  return s;
}

}  // namespace orch::http
