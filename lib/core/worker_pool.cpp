#include "core/worker_pool.hpp"

#include <pthread.h>

#include <vector>

namespace orch {

WorkerPool::WorkerPool(std::string name, size_t max_threads, size_t max_queue, std::chrono::milliseconds idle_timeout)
    : name_(std::move(name)), max_threads_(std::max<size_t>(1, max_threads)), max_queue_(max_queue), idle_timeout_(idle_timeout) {}

WorkerPool::~WorkerPool() { shutdown(); }

size_t WorkerPool::threads() const {
  std::lock_guard lock(mu_);
  return alive_;
}

size_t WorkerPool::busy() const {
  std::lock_guard lock(mu_);
  return busy_;
}

void WorkerPool::reap_locked(std::vector<std::thread>& out) {
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (it->done) {
      out.push_back(std::move(it->thread));
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
}

bool WorkerPool::try_submit(std::function<void()> task) {
  std::vector<std::thread> finished;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return false;
    reap_locked(finished);
    // Work already waiting counts against the threads that will take it: the idle ones and those
    // started but not yet waiting (counting only idle ones refused work a thread was about to take).
    const size_t waiting = queue_.size();
    const size_t free = alive_ - busy_;
    if (free <= waiting) {
      if (alive_ < max_threads_) {
        auto& w = workers_.emplace_back();
        ++alive_;
        w.thread = std::thread([this, self = &w] { work(self); });
      } else if (waiting - free >= max_queue_) {
        return false;
      }
    }
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
  for (auto& t : finished) t.join();
  return true;
}

void WorkerPool::work(Worker* self) {
  const std::string thread_name = name_.substr(0, 15);
  pthread_setname_np(pthread_self(), thread_name.c_str());
  std::unique_lock lock(mu_);
  for (;;) {
    ++idle_;
    const bool woke = cv_.wait_for(lock, idle_timeout_, [&] { return stopping_ || !queue_.empty(); });
    --idle_;
    if (queue_.empty()) {
      if (stopping_ || !woke) break;  // shut down, or idle long enough: this thread ends
      continue;
    }
    auto task = std::move(queue_.front());
    queue_.pop_front();
    ++busy_;
    lock.unlock();
    task();
    task = nullptr;  // what it captured is released outside the lock
    lock.lock();
    --busy_;
  }
  --alive_;
  self->done = true;  // joined by the next submit or by shutdown
}

void WorkerPool::shutdown() {
  std::list<Worker> all;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  // Threads finish the queue first (they exit only when it is empty).
  {
    std::lock_guard lock(mu_);
    all.splice(all.end(), workers_);
  }
  for (auto& w : all)
    if (w.thread.joinable()) w.thread.join();
}

}  // namespace orch
