#include "live/fanout.hpp"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include <spdlog/spdlog.h>

#include "core/error.hpp"
#include "live/websocket.hpp"

namespace orch::live {

using SteadyClock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Fanout::Viewer {
  Viewer(int fd, Kind kind, std::unique_ptr<Feed> feed) : fd(fd), kind(kind), feed(std::move(feed)) {}
  int fd;
  Kind kind;
  std::unique_ptr<Feed> feed;
  std::string out;  // bytes not yet written, from `sent` on
  size_t sent = 0;
  bool want_write = false;
  ws::FrameParser parser;
  SteadyClock::time_point last_write = SteadyClock::now();
  std::optional<SteadyClock::time_point> close_by;  // closing: dropped once flushed and the peer answered, or then
};

Fanout::Fanout(Hub& hub, Gauge& sse_viewers, Gauge& ws_viewers, FanoutOptions opts)
    : hub_(hub), sse_viewers_(sse_viewers), ws_viewers_(ws_viewers), opts_(opts) {
  last_collect_ = SteadyClock::now() - opts_.pace;
  reactor_.watch(hub_.notify_fd(), EPOLLIN, [this](uint32_t) { on_notified(); });
  thread_ = std::thread([this] {
    // Viewers yield to the API under load (best effort: needs no privilege to lower our priority).
    ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), opts_.nice);
    tick();
    reactor_.run(1s);
  });
}

Fanout::~Fanout() { stop(); }

void Fanout::add(int fd, Kind kind, std::unique_ptr<Feed> feed) {
  auto v = std::make_unique<Viewer>(fd, kind, std::move(feed));
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      ::close(fd);
      return;
    }
  }
  (kind == Kind::sse ? sse_viewers_ : ws_viewers_).inc();
  Viewer* raw = v.release();
  reactor_.post([this, raw] { attach(std::unique_ptr<Viewer>(raw)); });
}

void Fanout::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      if (thread_.joinable()) thread_.join();
      return;
    }
    stopping_ = true;
  }
  reactor_.post([this] { begin_stop(); });
  if (thread_.joinable()) thread_.join();
}

void Fanout::attach(std::unique_ptr<Viewer> v) {
  const int fd = v->fd;
  if (static_cast<size_t>(fd) >= viewers_by_fd_.size()) viewers_by_fd_.resize(static_cast<size_t>(fd) + 1);
  Viewer* raw = v.get();
  viewers_by_fd_[static_cast<size_t>(fd)] = std::move(v);
  reactor_.watch(fd, EPOLLIN | EPOLLRDHUP, [this, raw](uint32_t events) { on_event(*raw, events); });
  if (stop_begun_) return begin_close(*raw, ws::kGoingAway, "server stopping");
  on_notified();  // a new viewer may have a backlog
}

// Events wait for the pace: a burst is sent as one batch per viewer, not one write per event.
void Fanout::on_notified() {
  hub_.clear_notification();
  if (collect_scheduled_ || stop_begun_) return;
  collect_scheduled_ = true;
  const auto wait = std::max<SteadyClock::duration>(SteadyClock::duration::zero(), last_collect_ + opts_.pace - SteadyClock::now());
  reactor_.after(wait, [this] {
    collect_scheduled_ = false;
    last_collect_ = SteadyClock::now();
    if (!stop_begun_) collect_all();
  });
}

void Fanout::on_event(Viewer& v, uint32_t events) {
  const int fd = v.fd;
  if (events & (EPOLLERR | EPOLLHUP)) return drop(fd);
  if (events & EPOLLOUT) flush(v);
  if (static_cast<size_t>(fd) < viewers_by_fd_.size() && viewers_by_fd_[static_cast<size_t>(fd)].get() == &v &&
      (events & (EPOLLIN | EPOLLRDHUP)))
    on_readable(v);
}

// Every `tick` (a second): keep-alives for quiet viewers, and closes that were not answered in time.
void Fanout::tick() {
  const auto now = SteadyClock::now();
  for (size_t fd = 0; fd < viewers_by_fd_.size(); ++fd) {
    auto& slot = viewers_by_fd_[fd];
    if (!slot) continue;
    Viewer& v = *slot;
    if (v.close_by) {
      if (now >= *v.close_by) drop(v.fd);
      continue;
    }
    const auto idle = now - v.last_write;
    if (v.kind == Kind::sse && idle >= opts_.sse_keepalive) {
      v.out += ": keep-alive\n\n";
      flush(v);
    } else if (v.kind == Kind::websocket && idle >= opts_.ws_ping) {
      v.out += ws::encode_frame(ws::Opcode::ping, "");
      flush(v);
    }
  }
  if (!stop_begun_) reactor_.after(opts_.tick, [this] { tick(); });
}

void Fanout::begin_stop() {
  stop_begun_ = true;
  stop_deadline_ = SteadyClock::now() + 1s;
  for (auto& slot : viewers_by_fd_)
    if (slot) begin_close(*slot, ws::kGoingAway, "server stopping");
  check_stopped();
}

// Stopping: done when every viewer is gone (WebSocket closes answered), or a second has passed.
void Fanout::check_stopped() {
  bool any = false;
  for (auto& slot : viewers_by_fd_) any = any || slot != nullptr;
  if (!any || SteadyClock::now() >= stop_deadline_) {
    for (size_t fd = 0; fd < viewers_by_fd_.size(); ++fd)
      if (viewers_by_fd_[fd]) drop(static_cast<int>(fd));
    reactor_.forget(hub_.notify_fd());
    reactor_.stop();
    return;
  }
  reactor_.after(50ms, [this] { check_stopped(); });
}

void Fanout::drop(int fd) {
  auto& slot = viewers_by_fd_[static_cast<size_t>(fd)];
  if (!slot) return;
  (slot->kind == Kind::sse ? sse_viewers_ : ws_viewers_).inc(-1);
  reactor_.forget(fd);
  ::close(fd);
  slot.reset();
}

void Fanout::flush(Viewer& v) {
  while (v.sent < v.out.size()) {
    const ssize_t n = ::send(v.fd, v.out.data() + v.sent, v.out.size() - v.sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      v.sent += static_cast<size_t>(n);
      v.last_write = SteadyClock::now();
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      return drop(v.fd);
    }
  }
  if (v.sent == v.out.size()) {
    v.out.clear();
    v.sent = 0;
  } else if (v.out.size() - v.sent > opts_.max_buffered) {
    spdlog::warn("live: dropping a viewer {} bytes behind", v.out.size() - v.sent);
    return drop(v.fd);
  }
  const bool want_write = !v.out.empty();
  if (want_write != v.want_write) {
    v.want_write = want_write;
    reactor_.modify(v.fd, EPOLLIN | EPOLLRDHUP | (want_write ? uint32_t{EPOLLOUT} : 0u));
  }
  // A closing SSE viewer, or a WebSocket whose close was answered, ends once flushed.
  if (v.close_by && v.out.empty() && (v.kind == Kind::sse || *v.close_by <= SteadyClock::now())) drop(v.fd);
}

void Fanout::begin_close(Viewer& v, uint16_t code, std::string_view reason) {
  if (v.close_by) return;
  v.close_by = SteadyClock::now() + opts_.close_wait;  // the client's close frame is awaited this long
  if (v.kind == Kind::websocket) v.out += ws::encode_close(code, reason);
  flush(v);
}

void Fanout::on_readable(Viewer& v) {
  char buf[16 * 1024];
  const ssize_t n = ::recv(v.fd, buf, sizeof buf, MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return drop(v.fd);  // the client went away
  if (n < 0 || v.kind == Kind::sse) return;  // an SSE client has nothing to say
  v.parser.feed(std::string_view(buf, static_cast<size_t>(n)));
  while (auto f = v.parser.next()) {
    if (f->opcode == ws::Opcode::ping) {
      v.out += ws::encode_frame(ws::Opcode::pong, f->payload);
    } else if (f->opcode == ws::Opcode::close) {
      if (v.close_by) return drop(v.fd);  // the answer to our close
      // Echo the code (RFC 6455 §5.5.1); the connection ends once that is written.
      const auto code = ws::close_code(f->payload);
      v.out += code == 1005 ? ws::encode_frame(ws::Opcode::close, "") : ws::encode_close(code);
      v.close_by = SteadyClock::now();
      return flush(v);
    }
    // The feed is one-way: client messages and pongs are ignored.
  }
  if (v.parser.error()) return begin_close(v, v.parser.error(), v.parser.error() == ws::kMessageTooBig ? "frame too large" : "protocol error");
  flush(v);
}

void Fanout::collect_all() {
  hub_.arm();  // before collecting: an event arriving meanwhile wakes us again
  std::vector<LiveEventPtr> batch;
  for (auto& slot : viewers_by_fd_) {
    if (!slot || slot->close_by) continue;
    Viewer& v = *slot;
    batch.clear();
    if (v.feed->collect(batch) == Hub::Status::overflow) {
      spdlog::warn("live: dropping a viewer that fell out of the event ring");
      begin_close(v, ws::kPolicyViolation, "viewer fell too far behind");
      continue;
    }
    if (batch.empty()) continue;
    size_t bytes = 0;
    for (const auto& e : batch) bytes += v.kind == Kind::sse ? e->sse.size() : e->ws.size();
    v.out.reserve(v.out.size() + bytes);
    for (const auto& e : batch) v.out += v.kind == Kind::sse ? e->sse : e->ws;
    flush(v);
  }
}

}  // namespace orch::live
