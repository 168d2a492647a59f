// Unsubscribing from either bus while a handler runs on another thread: reset() returns only after
// that call, so the handler's owner may go right after (what `orch serve` does at stop).
#include "bus/subscribers.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "bus/redis_bus.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"

using namespace orch;
using namespace orch::test;
using namespace std::chrono_literals;

namespace {

// What a module's handler touches: plain fields, as in the modules (no atomics to hide a race
// from ThreadSanitizer), read by the test once reset() has returned.
struct Owner {
  std::atomic<bool> started{false};
  int calls = 0;
  bool finished = false;
};

Bus::Handler slow_handler(Owner& owner) {
  return [&owner](const Event&) {
    owner.started = true;
    std::this_thread::sleep_for(300ms);  // still running when the test resets the subscription
    ++owner.calls;
    owner.finished = true;
  };
}

TEST(Subscribers, ResetOnTheInProcessBusWaitsForAHandlerRunningOnAPublisherThread) {
  auto bus = make_memory_bus();
  auto owner = std::make_unique<Owner>();
  auto sub = bus->subscribe(slow_handler(*owner), {"t"});
  std::thread publisher([&] { bus->publish(make_event("t", "s", {})); });
  ASSERT_TRUE(eventually([&] { return owner->started.load(); }, 5s));
  sub.reset();
  const bool finished_at_reset = owner->finished;
  publisher.join();  // (so a failure below does not free the owner under a running handler)
  EXPECT_TRUE(finished_at_reset) << "reset() returned while the handler was still running";
  EXPECT_EQ(owner->calls, 1);
  // The owner goes, as a stopped module does; a later event finds no handler to call.
  owner.reset();
  bus->publish(make_event("t", "s", {}));
}

TEST(Subscribers, ResetOnTheRedisBusWaitsForAHandlerRunningOnTheReaderThread) {
  RedisServer redis;
  TempDir dir;
  RedisBusOptions o;
  o.url = redis::parse_url(redis.url());
  o.outbox_path = dir.file("outbox.ndjson");
  auto bus = make_redis_bus(o);
  auto owner = std::make_unique<Owner>();
  auto sub = bus->subscribe(slow_handler(*owner), {"t"});
  std::this_thread::sleep_for(200ms);  // the reader starts at the stream's end
  bus->publish(make_event("t", "s", {}));
  ASSERT_TRUE(eventually([&] { return owner->started.load(); }, 5s));
  sub.reset();
  const bool finished_at_reset = owner->finished;
  if (!finished_at_reset) std::this_thread::sleep_for(1s);  // (a failure below must not free a running handler's owner)
  EXPECT_TRUE(finished_at_reset) << "reset() returned while the handler was still running";
  EXPECT_EQ(owner->calls, 1);
  owner.reset();  // the owner goes, as a stopped module does
  bus->publish(make_event("t", "s", {}));
  std::this_thread::sleep_for(100ms);  // a call after reset() would touch the freed owner
  bus->close();
}

TEST(Subscribers, AHandlerMayUnsubscribeItself) {
  auto bus = make_memory_bus();
  int calls = 0;
  Subscription sub;
  sub = bus->subscribe([&](const Event&) {
    ++calls;
    sub.reset();  // on its own call's thread: must not wait for itself
  });
  bus->publish(make_event("a", "s", {}));
  bus->publish(make_event("b", "s", {}));
  EXPECT_EQ(calls, 1);
}

TEST(Subscribers, AHandlerThatThrowsStillEndsItsCall) {
  auto bus = make_memory_bus();
  auto sub = bus->subscribe([](const Event&) { throw std::runtime_error("handler broke"); });
  EXPECT_THROW(bus->publish(make_event("a", "s", {})), std::runtime_error);
  sub.reset();  // would wait forever for a call counted as still running (the suite's timeout fails it)
  EXPECT_NO_THROW(bus->publish(make_event("a", "s", {})));
}

TEST(Subscribers, OnlyTheWantedTypesAreDeliveredAndAsked) {
  Subscribers subs;
  std::vector<std::string> seen;
  EXPECT_FALSE(subs.wants("heal.restarted"));
  auto sub = subs.add([&](const Event& e) { seen.push_back(e.type); }, {"heal."});
  EXPECT_TRUE(subs.wants("heal.restarted"));
  EXPECT_FALSE(subs.wants("content.published"));
  subs.deliver(make_event("content.published", "s", {}));
  subs.deliver(make_event("heal.restarted", "s", {}));
  EXPECT_EQ(seen, (std::vector<std::string>{"heal.restarted"}));
  sub.reset();
  EXPECT_FALSE(subs.wants("heal.restarted"));
}

}  // namespace
