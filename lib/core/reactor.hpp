#pragma once
// One small event loop for everything orch does with sockets (redis's `ae`, in C++): descriptors
// watched with epoll, one-shot timers, work posted from other threads with a wake-up, and a hook
// at the end of every round. The HTTP front end runs one per core, the live fan-out one of its own;
// both own their sockets from accept to close. Not thread safe except post(), wake() and stop():
// everything else is called on the loop's thread (or before run()).
#include <sys/epoll.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace orch {

class Reactor {
 public:
  using Clock = std::chrono::steady_clock;
  using FdHandler = std::function<void(uint32_t events)>;  // EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLHUP, EPOLLERR
  using TimerId = uint64_t;

  Reactor();
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  // Starts (or replaces) watching `fd` for `events`; the handler runs on the loop. Returns false
  // when epoll refuses the descriptor.
  bool watch(int fd, uint32_t events, FdHandler handler);
  // Changes what `fd` is watched for (0 = nothing, the handler stays).
  void modify(int fd, uint32_t events);
  // Stops watching `fd` (it is not closed). Safe from inside the fd's own handler.
  void forget(int fd);

  // Runs `f` once on the loop after `delay`. Cancelled timers never run.
  TimerId after(Clock::duration delay, std::function<void()> f);
  void cancel(TimerId id);

  // Any thread: runs `f` on the loop soon, in the order posted.
  void post(std::function<void()> f);
  // Any thread: makes a waiting loop go round once.
  void wake();
  // Runs after the events and timers of every round (batching: the front end answers what a round
  // collected).
  void on_round(std::function<void()> f) { on_round_ = std::move(f); }

  // Runs the loop on the calling thread until stop(); `max_wait` bounds a round's sleep.
  void run(Clock::duration max_wait = std::chrono::milliseconds(250));
  // Any thread: the loop returns after its current round.
  void stop();
  bool on_loop_thread() const { return std::this_thread::get_id() == loop_thread_; }

 private:
  struct Watched {
    uint32_t events = 0;
    FdHandler handler;
    uint64_t generation = 0;  // tells a reused descriptor from the one an event was for
  };
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::vector<Watched> watched_;  // index = descriptor
  uint64_t next_generation_ = 1;
  std::multimap<Clock::time_point, std::pair<TimerId, std::function<void()>>> timers_;
  std::map<TimerId, Clock::time_point> timer_due_;
  TimerId next_timer_ = 1;
  std::mutex posted_mu_;
  std::vector<std::function<void()>> posted_;
  std::function<void()> on_round_;
  bool stop_ = false;  // guarded by posted_mu_
  std::thread::id loop_thread_;

  void run_posted();
  void run_timers();
};

}  // namespace orch
