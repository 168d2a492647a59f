#pragma once
// A bounded pool of worker threads that exist only while there is work: a thread starts when a
// task finds none idle (up to `max_threads`), and ends after `idle_timeout` without work, so an
// idle daemon holds no workers (orch once held 256 from start). The queue is bounded too: a task
// beyond it is refused, and the caller answers "busy" instead of piling up work. Every thread is
// joined by shutdown().
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <thread>

namespace orch {

class WorkerPool {
 public:
  WorkerPool(std::string name, size_t max_threads, size_t max_queue,
             std::chrono::milliseconds idle_timeout = std::chrono::seconds(10));
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False when the pool is full (every thread busy and `max_queue` tasks waiting) or shut down.
  bool try_submit(std::function<void()> task);
  // Runs what is queued, then joins every thread. Later submissions are refused.
  void shutdown();

  size_t threads() const;  // alive now
  size_t busy() const;     // running a task now

 private:
  struct Worker {
    std::thread thread;
    bool done = false;
  };
  void work(Worker* self);
  void reap_locked(std::vector<std::thread>& out);

  const std::string name_;
  const size_t max_threads_, max_queue_;
  const std::chrono::milliseconds idle_timeout_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::list<Worker> workers_;
  size_t idle_ = 0, busy_ = 0, alive_ = 0;
  bool stopping_ = false;
};

}  // namespace orch
