#include "http/front.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "core/error.hpp"
#include "core/text.hpp"
#include "http/connection.hpp"
#include "http/server.hpp"  // send_error

namespace orch::http {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Front::Conn {
  int fd = -1;
  std::string peer_ip, local_ip;
  int peer_port = 0, local_port = 0;
  std::string in;     // received, not yet consumed
  size_t in_off = 0;  // consumed prefix of `in`
  std::string out;    // answers not yet sent
  std::vector<std::shared_ptr<Exchange>> pending;  // parsed, answered in order
  int awaiting = 0;          // of `pending`, those whose batch is not done yet
  bool ready = false;        // in this round's list
  bool peer_closed = false;  // read EOF
  bool broken = false;       // a socket error: close without answering
  bool close_after = false;  // close once the answers are out
  bool to_worker = false;    // hand over to httplib once the answers are out
  uint32_t interest = EPOLLIN | EPOLLRDHUP;  // what epoll watches for it now (see watch())
  Clock::time_point since = Clock::now();  // last progress

  std::string_view unread() const { return std::string_view(in).substr(in_off); }
  void compact() {
    in.erase(0, in_off);
    in_off = 0;
  }
};

namespace {

constexpr size_t kMaxHead = 16 * 1024;      // larger heads go to httplib, which answers 400/414
constexpr size_t kReadPerRound = 256 * 1024;  // per connection: one client cannot hog a round

bool wait_for(int fd, short what, std::chrono::milliseconds timeout) {
  pollfd p{fd, what, 0};
  for (;;) {
    const int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (r >= 0 || errno != EINTR) return r > 0;
  }
}

// httplib's request processing on a connection the loop handed over: the bytes the loop already
// read come first, then the socket (non-blocking; waits up to the read timeout like httplib).
class ConnStream final : public httplib::Stream {
 public:
  ConnStream(Front::Conn& c, std::chrono::milliseconds timeout);
  bool is_readable() const override;
  bool is_writable() const override { return wait_for(fd(), POLLOUT, timeout_); }
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override {
    return send_all(fd(), std::string_view(ptr, size), timeout_) ? static_cast<ssize_t>(size) : -1;
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override { return fd(); }

 private:
  int fd() const;
  Front::Conn& c_;
  std::chrono::milliseconds timeout_;
};

const char* reason_of(int status) {
  switch (status) {
    case 200: return "OK";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return status < 300 ? "OK" : status < 500 ? "Bad Request" : "Internal Server Error";
  }
}

bool is_token_char(char ch) {
  return std::isalnum(static_cast<unsigned char>(ch)) || std::strchr("!#$%&'*+-.^_`|~", ch) != nullptr;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// What the loop needs of a request head it serves itself. Anything it does not fully understand
// is left to httplib (which has the complete, tested rules and error answers).
struct Head {
  std::string_view method, target, version;
  std::string_view fields;  // the header lines, after the request line
  httplib::Headers headers;
  size_t content_length = 0;
  bool keep_alive = true;
};

bool parse_request_line(std::string_view head, Head& h) {
  const auto line_end = head.find("\r\n");
  const std::string_view line = head.substr(0, line_end);
  const auto sp1 = line.find(' ');
  const auto sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return false;
  h.method = line.substr(0, sp1);
  h.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  h.version = line.substr(sp2 + 1);
  h.fields = line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2);
  return h.version == "HTTP/1.1" || h.version == "HTTP/1.0";
}

bool parse_fields(size_t body_limit, Head& h) {
  bool has_length = false;
  std::string_view connection;
  for (auto rest = h.fields; !rest.empty();) {
    const auto end = rest.find("\r\n");
    const std::string_view field = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 2);
    const auto colon = field.find(':');
    if (colon == 0 || colon == std::string_view::npos || field.find_first_of("\r\n") != std::string_view::npos) return false;
    const auto name = field.substr(0, colon);
    for (char ch : name)
      if (!is_token_char(ch)) return false;  // also refuses obsolete line folding
    const auto value = trim(field.substr(colon + 1));
    if (iequals(name, "Transfer-Encoding") || iequals(name, "Expect")) return false;
    if (iequals(name, "Content-Length")) {
      if (has_length || value.empty() || value.size() > 9) return false;
      for (char ch : value)
        if (ch < '0' || ch > '9') return false;
      h.content_length = std::stoul(std::string(value));
      if (h.content_length > body_limit) return false;  // httplib answers 413
      has_length = true;
    }
    if (iequals(name, "Connection")) connection = value;
    h.headers.emplace(std::string(name), std::string(value));
  }
  h.keep_alive = h.version == "HTTP/1.1" ? !iequals(connection, "close") : iequals(connection, "keep-alive");
  return has_length;
}

}  // namespace

ConnStream::ConnStream(Front::Conn& c, std::chrono::milliseconds timeout) : c_(c), timeout_(timeout) {}

int ConnStream::fd() const { return c_.fd; }

bool ConnStream::is_readable() const { return !c_.unread().empty() || wait_for(fd(), POLLIN, timeout_); }

ssize_t ConnStream::read(char* ptr, size_t size) {
  // httplib reads a request head one byte at a time: refill a buffer rather than recv per byte.
  // What is read past this request stays in the connection's buffer for the next one.
  if (c_.unread().empty()) {
    c_.compact();
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(fd(), buf, sizeof buf, 0);
      if (n > 0) {
        c_.in.append(buf, static_cast<size_t>(n));
        break;
      }
      if (n == 0) return 0;
      if (errno == EINTR) continue;
      if ((errno != EAGAIN && errno != EWOULDBLOCK) || !wait_for(fd(), POLLIN, timeout_)) return -1;
    }
  }
  const auto buffered = c_.unread();
  const size_t n = std::min(size, buffered.size());
  std::memcpy(ptr, buffered.data(), n);
  c_.in_off += n;
  return static_cast<ssize_t>(n);
}

void ConnStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  ip = c_.peer_ip;
  port = c_.peer_port;
}

void ConnStream::get_local_ip_and_port(std::string& ip, int& port) const {
  ip = c_.local_ip;
  port = c_.local_port;
}

// A batch handed to its handler: it keeps the exchanges alive until the handler is done with them.
struct Round {
  std::vector<std::shared_ptr<Exchange>> exchanges;
  std::vector<Front::Conn*> conns;  // exchange i came on conns[i]
  std::atomic<bool> finished{false};
};

// One epoll thread and the connections it owns (those not on a worker).
class Front::Loop {
 public:
  explicit Loop(Front& front);
  ~Loop();
  void start() { thread_ = std::thread([this] { run(); }); }
  void join() {
    wake();
    if (thread_.joinable()) thread_.join();
  }
  // A new connection, or one back from a worker (any thread).
  void give(std::unique_ptr<Conn> c);
  void wake();

 private:
  Front& front_;
  const FrontOptions& opts_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;
  std::mutex inbox_mu_;
  std::vector<std::unique_ptr<Conn>> inbox_;
  std::unordered_map<Conn*, std::unique_ptr<Conn>> conns_;  // loop thread only
  std::mutex done_mu_;
  std::vector<std::shared_ptr<Round>> done_;  // batches whose handler called done

  void run();
  void dispatch(const BatchHandler& handler, std::shared_ptr<Round> round);
  void take_done(std::vector<Conn*>& ready);
  void take_inbox(std::vector<Conn*>& ready);
  void read_from(Conn& c);
  void parse(Conn& c, std::map<const BatchHandler*, std::shared_ptr<Round>>& batches);
  void answer(Conn& c);
  void flush(Conn& c);
  void watch(Conn& c);
  void hand_to_worker(Conn& c);
  void close_conn(Conn& c);
  void sweep(Clock::time_point now);
};

Front::Front(FrontOptions opts)
    : opts_(std::move(opts)),
      keep_alive_line_("Keep-Alive: timeout=" + std::to_string(opts_.keep_alive_timeout.count()) +
                       ", max=" + std::to_string(opts_.keep_alive_max) + "\r\n") {}

Front::~Front() { stop(); }

void Front::add_batch_route(const std::string& path, BatchHandler handler) { routes_[path] = std::move(handler); }

void Front::start() {
  workers_ = std::make_unique<httplib::ThreadPool>(opts_.workers);
  for (size_t i = 0; i < std::max<size_t>(1, opts_.loops); ++i) loops_.push_back(std::make_unique<Loop>(*this));
  for (auto& loop : loops_) loop->start();
  started_ = true;
}

void Front::stop() {
  if (!started_) return;
  started_ = false;
  stopping_ = true;
  for (auto& loop : loops_) loop->join();
  workers_->shutdown();
  loops_.clear();  // closes what was handed in after a loop ended
}

void Front::adopt(int fd) {
  if (stopping_ || loops_.empty()) {
    ::close(fd);
    return;
  }
  auto c = std::make_unique<Conn>();
  c->fd = fd;
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  if (!address_of(fd, true, c->peer_ip, c->peer_port)) c->peer_ip.clear();
  address_of(fd, false, c->local_ip, c->local_port);
  auto& loop = *loops_[next_loop_++ % loops_.size()];
  loop.give(std::move(c));
}

Front::Loop::Loop(Front& front) : front_(front), opts_(front.opts_) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epoll_fd_ < 0 || wake_fd_ < 0) throw OperationError(std::string("http front end: ") + std::strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // the wake-up descriptor
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
}

Front::Loop::~Loop() {
  for (auto& c : inbox_) ::close(c->fd);
  for (auto& [c, owned] : conns_) ::close(c->fd);
  ::close(epoll_fd_);
  ::close(wake_fd_);
}

void Front::Loop::give(std::unique_ptr<Conn> c) {
  {
    std::lock_guard lock(inbox_mu_);
    inbox_.push_back(std::move(c));
  }
  wake();
}

void Front::Loop::wake() {
  const uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

void Front::Loop::take_inbox(std::vector<Conn*>& ready) {
  std::vector<std::unique_ptr<Conn>> arrived;
  {
    std::lock_guard lock(inbox_mu_);
    arrived.swap(inbox_);
  }
  for (auto& owned : arrived) {
    Conn* c = owned.get();
    epoll_event ev{};
    c->interest = ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.ptr = c;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
      ::close(c->fd);
      continue;
    }
    c->since = Clock::now();
    conns_.emplace(c, std::move(owned));
    // Bytes a worker read past its request (a pipelined next one) are served without new input.
    if (!c->unread().empty() && !c->ready) {
      c->ready = true;
      ready.push_back(c);
    }
  }
}

void Front::Loop::read_from(Conn& c) {
  char buf[64 * 1024];
  size_t got = 0;
  while (got < kReadPerRound) {
    const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n > 0) {
      c.in.append(buf, static_cast<size_t>(n));
      got += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) c.peer_closed = true;
    else if (errno == EINTR) continue;
    else if (errno != EAGAIN && errno != EWOULDBLOCK) c.broken = true;
    break;
  }
  if (got > 0) c.since = Clock::now();
}

void Front::Loop::parse(Conn& c, std::map<const BatchHandler*, std::shared_ptr<Round>>& batches) {
  while (!c.close_after && !c.to_worker && !c.broken) {
    const auto data = c.unread();
    if (data.empty()) break;
    const auto head_end = data.find("\r\n\r\n");
    if (head_end == std::string_view::npos) {
      if (data.size() > kMaxHead) c.to_worker = true;
      // A request line that is not one of ours needs no more bytes to be passed on.
      else if (auto sp = data.find(' '); sp != std::string_view::npos && data.substr(0, sp) != "POST") c.to_worker = true;
      break;
    }
    // The request line decides whose request it is before any header is parsed.
    Head head;
    const BatchHandler* handler = nullptr;
    if (head_end <= kMaxHead && parse_request_line(data.substr(0, head_end), head) && head.method == "POST")
      if (auto route = front_.routes_.find(head.target); route != front_.routes_.end()) handler = &route->second;
    if (!handler || !parse_fields(opts_.body_limit, head)) {
      c.to_worker = true;
      break;
    }
    const size_t total = head_end + 4 + head.content_length;
    if (data.size() < total) break;  // the body is still coming

    auto ex = std::make_shared<Exchange>();
    auto& req = ex->req;
    req.method = std::string(head.method);
    req.target = req.path = std::string(head.target);
    req.version = std::string(head.version);
    req.headers = std::move(head.headers);
    req.body = std::string(data.substr(head_end + 4, head.content_length));
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
    c.in_off += total;
    if (!head.keep_alive || front_.stopping_) c.close_after = true;
    if (!opts_.admit || opts_.admit(req, ex->res)) {
      auto& round = batches[handler];
      if (!round) round = std::make_shared<Round>();
      round->exchanges.push_back(ex);
      round->conns.push_back(&c);
      ++c.awaiting;
    }
    c.pending.push_back(std::move(ex));
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
    const bool last_before_close = c.close_after && i + 1 == c.pending.size();
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
    return;
  }
  if (sent > 0) c.since = Clock::now();
  c.out.erase(0, sent);
  watch(c);
}

void Front::Loop::watch(Conn& c) {
  // Backpressure: a client that does not read its answers is not read from either, and one that
  // sends ahead while its answers are pending is read up to one full request.
  uint32_t want = EPOLLIN | EPOLLRDHUP;
  if (!c.out.empty()) want = EPOLLOUT;
  else if (c.awaiting > 0 && c.unread().size() >= opts_.body_limit + kMaxHead) want = 0;
  if (want == c.interest) return;
  c.interest = want;
  epoll_event ev{};
  ev.events = want;
  ev.data.ptr = &c;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
}

void Front::Loop::close_conn(Conn& c) {
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
  ::close(c.fd);
  conns_.erase(&c);
}

void Front::Loop::hand_to_worker(Conn& c) {
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
  auto node = conns_.extract(&c);
  Conn* raw = node.mapped().release();
  raw->to_worker = false;
  raw->ready = false;
  ++front_.on_workers_;
  front_.workers_->enqueue([this, raw] {
    std::unique_ptr<Conn> c(raw);
    ConnStream stream(*c, opts_.read_timeout);
    bool closed = false;
    const bool ok = opts_.process(stream, front_.stopping_.load(), closed);
    c->compact();
    // A handler that took the connection (take_connection) left /dev/null at this descriptor.
    struct stat st {};
    const bool still_ours = ::fstat(c->fd, &st) == 0 && S_ISSOCK(st.st_mode);
    if (ok && !closed && still_ours && !front_.stopping_) {
      std::lock_guard lock(inbox_mu_);
      inbox_.push_back(std::move(c));
    } else {
      ::close(c->fd);
    }
    --front_.on_workers_;  // after the hand-back: a stopping loop must not miss it
    wake();
  });
}

void Front::Loop::sweep(Clock::time_point now) {
  std::vector<Conn*> expired;
  for (auto& [c, owned] : conns_) {
    if (c->awaiting > 0) continue;  // its handler holds the exchanges
    const auto idle = now - c->since;
    // Stopping: a request not fully received is not in flight; only answers being sent get time.
    const bool expired_now = front_.stopping_ ? c->out.empty() || idle > opts_.read_timeout
                                       : idle > (c->out.empty() && c->unread().empty() ? opts_.keep_alive_timeout : opts_.read_timeout);
    if (expired_now) expired.push_back(c);
  }
  for (auto* c : expired) close_conn(*c);
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
    wake();
  };
  try {
    handler(batch, done);
  } catch (const std::exception& e) {
    // The requests still unanswered get 500 when their connection is answered.
    spdlog::error("http POST {}: handler failed: {}", batch.front()->req.path, e.what());
    done();
  }
}

void Front::Loop::take_done(std::vector<Conn*>& ready) {
  std::vector<std::shared_ptr<Round>> finished;
  {
    std::lock_guard lock(done_mu_);
    finished.swap(done_);
  }
  for (auto& round : finished) {
    for (auto* c : round->conns) {
      --c->awaiting;
      if (!c->ready) {
        c->ready = true;
        ready.push_back(c);
      }
    }
  }
}

void Front::Loop::run() {
  epoll_event events[256];
  auto next_sweep = Clock::now();
  std::vector<Conn*> ready;
  std::map<const BatchHandler*, std::shared_ptr<Round>> batches;
  for (;;) {
    const int n = ::epoll_wait(epoll_fd_, events, 256, 100);
    ready.clear();
    take_inbox(ready);
    for (int i = 0; i < n; ++i) {
      auto* c = static_cast<Conn*>(events[i].data.ptr);
      if (!c) {
        uint64_t count;
        [[maybe_unused]] auto r = ::read(wake_fd_, &count, sizeof count);
        continue;
      }
      if (events[i].events & EPOLLOUT) flush(*c);
      if (!(c->interest & EPOLLOUT) && (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        read_from(*c);
        watch(*c);
      }
      if (!c->ready) {
        c->ready = true;
        ready.push_back(c);
      }
    }
    take_done(ready);

    // New requests of a connection wait until its earlier answers are out (responses stay in order).
    batches.clear();
    for (auto* c : ready)
      if (c->out.empty() && c->awaiting == 0) parse(*c, batches);
    for (auto& [handler, round] : batches) dispatch(*handler, round);
    take_done(ready);  // handlers that answered at once (the in-process bus)

    for (auto* c : ready) {
      c->ready = false;
      if (c->awaiting > 0) continue;  // answered when its batch is done
      if (!c->pending.empty()) answer(*c);
      if (!c->out.empty() && !c->broken) flush(*c);
      if (c->broken || (c->out.empty() && (c->close_after || (c->peer_closed && !c->to_worker)))) close_conn(*c);
      else if (c->out.empty() && c->to_worker) hand_to_worker(*c);
      else watch(*c);
    }

    const auto now = Clock::now();
    if (front_.stopping_ || now >= next_sweep) {
      sweep(now);
      next_sweep = now + 250ms;
    }
    if (front_.stopping_ && conns_.empty() && front_.on_workers_ == 0) {
      std::lock_guard lock(inbox_mu_);
      if (inbox_.empty()) break;
    }
  }
}

}  // namespace orch::http
