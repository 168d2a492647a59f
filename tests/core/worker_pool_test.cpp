// core/worker_pool: threads only while there is work, a bounded queue, everything joined.
#include "core/worker_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

using namespace orch;
using namespace std::chrono_literals;

namespace {

// Tasks that block until released.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  std::atomic<int> ran{0};
  std::function<void()> task() {
    return [this] {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return open; });
      ++ran;
    };
  }
  void release() {
    {
      std::lock_guard lock(mu);
      open = true;
    }
    cv.notify_all();
  }
};

bool eventually(const std::function<bool()>& f, std::chrono::milliseconds within = 2s) {
  for (auto until = std::chrono::steady_clock::now() + within; std::chrono::steady_clock::now() < until;) {
    if (f()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return f();
}

}  // namespace

TEST(WorkerPool, RunsThreadsPlusQueueAtOnceAndRefusesTheRest) {
  WorkerPool pool("test", 2, 2);
  Gate gate;
  // Submitted back to back, before any thread has started: the threads about to start count as
  // free, so exactly threads + queue tasks are taken (a pool that counted only idle threads
  // refused the third one here).
  int accepted = 0;
  for (int i = 0; i < 6; ++i) accepted += pool.try_submit(gate.task());
  EXPECT_EQ(accepted, 4);
  EXPECT_LE(pool.threads(), 2u);
  EXPECT_TRUE(eventually([&] { return pool.busy() == 2; }));
  EXPECT_FALSE(pool.try_submit(gate.task())) << "two running, two waiting: full";
  gate.release();
  EXPECT_TRUE(eventually([&] { return gate.ran == 4; }));
  EXPECT_TRUE(pool.try_submit(gate.task()));
  EXPECT_TRUE(eventually([&] { return gate.ran == 5; }));
}

TEST(WorkerPool, ThreadsStartOnDemandAndEndWhenIdle) {
  WorkerPool pool("test", 4, 8, 100ms);
  EXPECT_EQ(pool.threads(), 0u) << "no work, no thread";
  std::atomic<int> done{0};
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(pool.try_submit([&] { ++done; }));
  EXPECT_TRUE(eventually([&] { return done == 3; }));
  EXPECT_GE(pool.threads(), 1u);
  EXPECT_TRUE(eventually([&] { return pool.threads() == 0; })) << "idle threads end after idle_timeout";
  // And come back for new work.
  ASSERT_TRUE(pool.try_submit([&] { ++done; }));
  EXPECT_TRUE(eventually([&] { return done == 4; }));
}

TEST(WorkerPool, ShutdownRunsWhatIsQueuedThenRefuses) {
  WorkerPool pool("test", 1, 10);
  std::atomic<int> done{0};
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(pool.try_submit([&] {
      std::this_thread::sleep_for(10ms);
      ++done;
    }));
  pool.shutdown();
  EXPECT_EQ(done, 5);
  EXPECT_EQ(pool.threads(), 0u);
  EXPECT_FALSE(pool.try_submit([&] { ++done; }));
}
