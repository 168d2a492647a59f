#include "core/reactor.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"

namespace orch {

namespace {
// An event carries its descriptor and the generation it was watched under: a descriptor closed
// and reused within one round must not receive the events of its predecessor.
uint64_t tag(int fd, uint64_t generation) { return (generation << 32) | static_cast<uint32_t>(fd); }
}  // namespace

Reactor::Reactor() {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epoll_fd_ < 0 || wake_fd_ < 0) throw Error(ExitCode::unknown, std::string("event loop: ") + std::strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = tag(wake_fd_, 0);
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
}

Reactor::~Reactor() {
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

bool Reactor::watch(int fd, uint32_t events, FdHandler handler) {
  if (fd < 0) return false;
  if (static_cast<size_t>(fd) >= watched_.size()) watched_.resize(static_cast<size_t>(fd) + 1);
  auto& w = watched_[static_cast<size_t>(fd)];
  const bool known = static_cast<bool>(w.handler);
  w.events = events;
  w.handler = std::move(handler);
  if (!known) w.generation = (next_generation_++) & 0xFFFFFFFFu;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = tag(fd, w.generation);
  if (::epoll_ctl(epoll_fd_, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) != 0) {
    w = Watched{};
    return false;
  }
  return true;
}

void Reactor::modify(int fd, uint32_t events) {
  if (fd < 0 || static_cast<size_t>(fd) >= watched_.size()) return;
  auto& w = watched_[static_cast<size_t>(fd)];
  if (!w.handler || w.events == events) return;
  w.events = events;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = tag(fd, w.generation);
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
}

void Reactor::forget(int fd) {
  if (fd < 0 || static_cast<size_t>(fd) >= watched_.size()) return;
  auto& w = watched_[static_cast<size_t>(fd)];
  if (!w.handler) return;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  // The handler may be the one running now: destroy it after it returns.
  auto dead = std::move(w.handler);
  w = Watched{};
  post([dead = std::move(dead)] {});
}

Reactor::TimerId Reactor::after(Clock::duration delay, std::function<void()> f) {
  const TimerId id = next_timer_++;
  const auto due = Clock::now() + delay;
  timers_.emplace(due, std::make_pair(id, std::move(f)));
  timer_due_.emplace(id, due);
  return id;
}

void Reactor::cancel(TimerId id) {
  auto it = timer_due_.find(id);
  if (it == timer_due_.end()) return;
  auto [first, last] = timers_.equal_range(it->second);
  for (auto t = first; t != last; ++t)
    if (t->second.first == id) {
      timers_.erase(t);
      break;
    }
  timer_due_.erase(it);
}

void Reactor::post(std::function<void()> f) {
  {
    std::lock_guard lock(posted_mu_);
    posted_.push_back(std::move(f));
  }
  wake();
}

void Reactor::wake() {
  const uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

void Reactor::stop() {
  {
    std::lock_guard lock(posted_mu_);
    stop_ = true;
  }
  wake();
}

void Reactor::run_posted() {
  std::vector<std::function<void()>> work;
  {
    std::lock_guard lock(posted_mu_);
    work.swap(posted_);
  }
  for (auto& f : work) f();
}

void Reactor::run_timers() {
  const auto now = Clock::now();
  while (!timers_.empty() && timers_.begin()->first <= now) {
    auto node = timers_.extract(timers_.begin());
    timer_due_.erase(node.mapped().first);
    node.mapped().second();
  }
}

void Reactor::run(Clock::duration max_wait) {
  loop_thread_ = std::this_thread::get_id();
  epoll_event events[256];
  for (;;) {
    {
      std::lock_guard lock(posted_mu_);
      if (stop_) break;
    }
    auto wait = max_wait;
    if (!timers_.empty()) wait = std::min<Clock::duration>(wait, std::max<Clock::duration>(Clock::duration::zero(), timers_.begin()->first - Clock::now()));
    {
      std::lock_guard lock(posted_mu_);
      if (!posted_.empty()) wait = Clock::duration::zero();
    }
    const int timeout_ms = static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count());
    const int n = ::epoll_wait(epoll_fd_, events, 256, timeout_ms);
    for (int i = 0; i < n; ++i) {
      const int fd = static_cast<int>(events[i].data.u64 & 0xFFFFFFFFu);
      const uint64_t generation = events[i].data.u64 >> 32;
      if (fd == wake_fd_ && generation == 0) {
        uint64_t count;
        [[maybe_unused]] auto r = ::read(wake_fd_, &count, sizeof count);
        continue;
      }
      if (static_cast<size_t>(fd) >= watched_.size()) continue;
      auto& w = watched_[static_cast<size_t>(fd)];
      if (!w.handler || w.generation != generation) continue;  // forgotten (or reused) this round
      auto handler = w.handler;  // the handler may forget (and so destroy) itself
      handler(events[i].events);
    }
    run_posted();
    run_timers();
    if (on_round_) on_round_();
  }
  loop_thread_ = {};
}

}  // namespace orch
