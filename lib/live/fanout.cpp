#include "live/fanout.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include <spdlog/spdlog.h>

#include "core/error.hpp"
#include "live/websocket.hpp"

namespace orch::live {

using Clock = std::chrono::steady_clock;
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
  Clock::time_point last_write = Clock::now();
  std::optional<Clock::time_point> close_by;  // closing: dropped once flushed and the peer answered, or then
};

Fanout::Fanout(Hub& hub, Gauge& sse_viewers, Gauge& ws_viewers, FanoutOptions opts)
    : hub_(hub), sse_viewers_(sse_viewers), ws_viewers_(ws_viewers), opts_(opts) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) throw Error(ExitCode::unknown, "live fan-out: epoll/eventfd failed");
  for (int fd : {wake_fd_, hub_.notify_fd()}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  }
  thread_ = std::thread([this] { run(); });
}

Fanout::~Fanout() {
  stop();
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

void Fanout::add(int fd, Kind kind, std::unique_ptr<Feed> feed) {
  auto v = std::make_unique<Viewer>(fd, kind, std::move(feed));
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    incoming_.push_back(std::move(v));
  }
  (kind == Kind::sse ? sse_viewers_ : ws_viewers_).inc();
  const uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

void Fanout::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  const uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

void Fanout::drop(int fd) {
  auto& slot = viewers_by_fd_[static_cast<size_t>(fd)];
  if (!slot) return;
  (slot->kind == Kind::sse ? sse_viewers_ : ws_viewers_).inc(-1);
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  ::close(fd);
  slot.reset();
}

void Fanout::flush(Viewer& v) {
  while (v.sent < v.out.size()) {
    const ssize_t n = ::send(v.fd, v.out.data() + v.sent, v.out.size() - v.sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      v.sent += static_cast<size_t>(n);
      v.last_write = Clock::now();
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
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (want_write ? uint32_t{EPOLLOUT} : 0u);
    ev.data.fd = v.fd;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, v.fd, &ev);
  }
  // A closing SSE viewer, or a WebSocket whose close was answered, ends once flushed.
  if (v.close_by && v.out.empty() && (v.kind == Kind::sse || *v.close_by <= Clock::now())) drop(v.fd);
}

void Fanout::begin_close(Viewer& v, uint16_t code, std::string_view reason) {
  if (v.close_by) return;
  v.close_by = Clock::now() + 1s;  // the client's close frame is awaited this long
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
      v.close_by = Clock::now();
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

void Fanout::run() {
  // Viewers yield to the API under load (best effort: needs no privilege to lower our priority).
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), opts_.nice);
  auto last_collect = Clock::now() - opts_.pace;
  auto last_tick = Clock::now();
  bool pending = false;
  bool stopping = false;
  Clock::time_point stop_deadline;
  epoll_event events[256];
  for (;;) {
    auto now = Clock::now();
    int timeout_ms = 1000;
    if (pending) timeout_ms = static_cast<int>(std::max<long long>(0, std::chrono::duration_cast<std::chrono::milliseconds>(last_collect + opts_.pace - now).count()));
    if (stopping) timeout_ms = 50;
    const int n = ::epoll_wait(epoll_fd_, events, 256, timeout_ms);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == wake_fd_) {
        uint64_t count;
        [[maybe_unused]] auto r = ::read(wake_fd_, &count, sizeof count);
        std::vector<std::unique_ptr<Viewer>> fresh;
        {
          std::lock_guard lock(mu_);
          fresh.swap(incoming_);
          if (stopping_ && !stopping) {
            stopping = true;
            stop_deadline = Clock::now() + 1s;
          }
        }
        for (auto& v : fresh) {
          const int vfd = v->fd;
          if (static_cast<size_t>(vfd) >= viewers_by_fd_.size()) viewers_by_fd_.resize(static_cast<size_t>(vfd) + 1);
          viewers_by_fd_[static_cast<size_t>(vfd)] = std::move(v);
          epoll_event ev{};
          ev.events = EPOLLIN | EPOLLRDHUP;
          ev.data.fd = vfd;
          ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, vfd, &ev);
        }
        pending = true;  // a new viewer may have a backlog
        if (stopping) {
          for (auto& slot : viewers_by_fd_)
            if (slot) begin_close(*slot, ws::kGoingAway, "server stopping");
        }
      } else if (fd == hub_.notify_fd()) {
        hub_.clear_notification();
        pending = true;
      } else if (static_cast<size_t>(fd) < viewers_by_fd_.size() && viewers_by_fd_[static_cast<size_t>(fd)]) {
        Viewer& v = *viewers_by_fd_[static_cast<size_t>(fd)];
        if (events[i].events & (EPOLLERR | EPOLLHUP)) {
          drop(fd);
          continue;
        }
        if (events[i].events & EPOLLOUT) flush(v);
        if (viewers_by_fd_[static_cast<size_t>(fd)] && (events[i].events & (EPOLLIN | EPOLLRDHUP))) on_readable(v);
      }
    }
    now = Clock::now();
    if (stopping) {
      bool any = false;
      for (auto& slot : viewers_by_fd_) any = any || slot != nullptr;
      if (!any || now >= stop_deadline) {
        for (size_t fd = 0; fd < viewers_by_fd_.size(); ++fd)
          if (viewers_by_fd_[fd]) drop(static_cast<int>(fd));
        return;
      }
      continue;
    }
    if (pending && now >= last_collect + opts_.pace) {
      pending = false;
      last_collect = now;
      collect_all();
    }
    if (now - last_tick >= 1s) {
      last_tick = now;
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
    }
  }
}

}  // namespace orch::live
