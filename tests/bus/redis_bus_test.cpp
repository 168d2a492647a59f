// The Redis bus against a real redis-server: stream + channel, dedupe, outbox, consumer groups.
#include "bus/redis_bus.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <filesystem>
#include <fstream>
#include <thread>

#include <unistd.h>

#include "bus/outbox.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"
#include "support/require.hpp"

using namespace orch;
using namespace orch::test;
using namespace std::chrono_literals;

namespace {

struct Fixture : ::testing::Test {
  RedisServer redis;
  TempDir dir;
  std::unique_ptr<Bus> make(size_t outbox_max = 1000, std::vector<std::string> groups = {}) {
    RedisBusOptions o;
    o.groups = std::move(groups);
    o.url = redis::parse_url(redis.url());
    o.outbox_path = dir.file("state/outbox.ndjson");
    o.outbox_max = outbox_max;
    o.connect_timeout = 200ms;
    return make_redis_bus(o);
  }
  long long stream_len(const char* stream = kEventsStream) {
    redis::Connection c(redis::parse_url(redis.url()), 1s);
    return c.command({"XLEN", stream}).integer;
  }
};

using RedisBusTest = Fixture;

TEST_F(RedisBusTest, PublishStoresInStreamWithId) {
  auto bus = make();
  auto r = bus->publish(make_event("heal.restarted", "web-1", {{"attempt", 1}}));
  EXPECT_FALSE(r.queued);
  EXPECT_NE(r.stream_id.find('-'), std::string::npos);
  auto recent = bus->recent(10);
  ASSERT_EQ(recent.size(), 1u);
  EXPECT_EQ(recent[0].type, "heal.restarted");
  EXPECT_EQ(recent[0].stream_id, r.stream_id);
  EXPECT_EQ(recent[0].data["attempt"], 1);
}

TEST_F(RedisBusTest, ReadAfterResumesExactly) {
  auto bus = make();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(bus->publish(make_event("t", "s", {{"i", i}})).stream_id);
  auto after = bus->read_after(ids[1], 100);
  ASSERT_EQ(after.size(), 3u);
  EXPECT_EQ(after[0].data["i"], 2);
  EXPECT_EQ(bus->read_after("", 2).size(), 2u);
  EXPECT_EQ(bus->recent(2).back().data["i"], 4);
}

TEST_F(RedisBusTest, PublishUniqueDeduplicatesAcrossBusInstances) {
  auto a = make();
  EXPECT_TRUE(a->publish_unique(make_event("t", "s", {}), "k1", 1h));
  EXPECT_FALSE(a->publish_unique(make_event("t", "s", {}), "k1", 1h));
  TempDir other;
  RedisBusOptions o;
  o.url = redis::parse_url(redis.url());
  o.outbox_path = other.file("outbox.ndjson");
  auto b = make_redis_bus(o);
  EXPECT_FALSE(b->publish_unique(make_event("t", "s", {}), "k1", 1h));
  EXPECT_TRUE(b->publish_unique(make_event("t", "s", {}), "k2", 1h));
  EXPECT_EQ(stream_len(), 2);
}

TEST_F(RedisBusTest, ABatchIsStoredInOrderWithDuplicatesLeftOut) {
  auto bus = make();
  ASSERT_TRUE(bus->publish_unique(make_event("t", "s", {{"n", 0}}), "seen-before", 1h));
  std::vector<Bus::UniqueEvent> batch = {{make_event("t", "s", {{"n", 1}}), "k1", 1h},
                                         {make_event("t", "s", {{"n", 2}}), "seen-before", 1h},
                                         {make_event("t", "s", {{"n", 3}}), "", 1h},  // no key: never a duplicate
                                         {make_event("t", "s", {{"n", 4}}), "k1", 1h},  // twice in one batch
                                         {make_event("t", "s", {{"n", 5}}), "k5", 1h}};
  auto receipts = bus->publish_unique_batch(batch);
  ASSERT_EQ(receipts.size(), 5u);
  EXPECT_TRUE(receipts[0]);
  EXPECT_FALSE(receipts[1]);
  EXPECT_TRUE(receipts[2]);
  EXPECT_FALSE(receipts[3]);
  EXPECT_TRUE(receipts[4]);
  auto stored = bus->recent(10);
  ASSERT_EQ(stored.size(), 4u);
  std::vector<int> order;
  for (const auto& e : stored) order.push_back(e.data["n"]);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 3, 5}));
  EXPECT_EQ(stored[1].stream_id, receipts[0]->stream_id);
  EXPECT_EQ(stored[3].stream_id, receipts[4]->stream_id);
  // Another instance (no local memory of the keys) learns the duplicates from Redis itself.
  TempDir other;
  RedisBusOptions o;
  o.url = redis::parse_url(redis.url());
  o.outbox_path = other.file("outbox.ndjson");
  auto again = make_redis_bus(o)->publish_unique_batch({{make_event("t", "s", {}), "k5", 1h}, {make_event("t", "s", {}), "k6", 1h}});
  EXPECT_FALSE(again[0]);
  EXPECT_TRUE(again[1]);
}

TEST_F(RedisBusTest, AsynchronousBatchesReportOnceEach) {
  auto bus = make();
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::vector<std::optional<PublishReceipt>>> results;
  auto done = [&](std::vector<std::optional<PublishReceipt>> receipts, std::exception_ptr error) {
    EXPECT_FALSE(error);
    std::lock_guard lock(mu);
    results.push_back(std::move(receipts));
    cv.notify_all();
  };
  // Two batches from two threads at once; the second repeats a key of the first.
  std::thread other([&] { bus->publish_unique_batch_async({{make_event("t", "s", {{"n", 1}}), "x", 1h}}, done); });
  bus->publish_unique_batch_async({{make_event("t", "s", {{"n", 2}}), "y", 1h}, {make_event("t", "s", {{"n", 3}}), "z", 1h}}, done);
  other.join();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return results.size() == 2; }));
  }
  size_t stored = 0;
  for (const auto& r : results)
    for (const auto& receipt : r) stored += receipt && !receipt->stream_id.empty();
  EXPECT_EQ(stored, 3u);
  EXPECT_EQ(stream_len(), 3);
  bus->close();  // batches handed over before close were written; later ones are refused
  EXPECT_THROW(bus->publish_unique_batch_async({{make_event("t", "s", {}), "late", 1h}}, done), BusError);
}

TEST_F(RedisBusTest, ABatchGoesToTheOutboxWhenRedisIsDown) {
  auto bus = make();
  redis.stop();
  auto receipts = bus->publish_unique_batch({{make_event("t", "s", {{"n", 1}}), "a", 1h}, {make_event("t", "s", {{"n", 2}}), "b", 1h}});
  ASSERT_EQ(receipts.size(), 2u);
  EXPECT_TRUE(receipts[0] && receipts[0]->queued);
  EXPECT_TRUE(receipts[1] && receipts[1]->queued);
  EXPECT_EQ(bus->health().outbox_depth, 2u);
}

TEST_F(RedisBusTest, ARedeliveryWhileRedisIsDownIsStillADuplicate) {
  auto bus = make();
  ASSERT_TRUE(bus->publish_unique(make_event("t", "s", {{"n", 1}}), "k", 1h));  // stored in Redis
  redis.stop();
  EXPECT_FALSE(bus->publish_unique(make_event("t", "s", {{"n", 1}}), "k", 1h));  // known here
  auto queued = bus->publish_unique(make_event("t", "s", {{"n", 2}}), "k2", 1h);
  ASSERT_TRUE(queued);
  EXPECT_TRUE(queued->queued);
  EXPECT_FALSE(bus->publish_unique(make_event("t", "s", {{"n", 2}}), "k2", 1h));
  EXPECT_EQ(bus->health().outbox_depth, 1u);
}

// Redis dies under a batch that carries a redelivery of an event it already stored: the batch goes
// to the outbox, and the redelivery must stay a duplicate there. It used to be written to the
// outbox as a new event and answered 202, for an event the flush then never stores.
TEST_F(RedisBusTest, ARedeliveryInABatchThatFailsStaysADuplicate) {
  auto bus = make();
  ASSERT_TRUE(bus->publish_unique(make_event("t", "s", {{"n", 1}}), "stored", 1h));
  redis.kill();  // the bus learns it only when the next batch fails under it
  auto receipts =
      bus->publish_unique_batch({{make_event("t", "s", {{"n", 1}}), "stored", 1h}, {make_event("t", "s", {{"n", 2}}), "new", 1h}});
  ASSERT_EQ(receipts.size(), 2u);
  EXPECT_FALSE(receipts[0]) << "the redelivery was accepted as a new event";
  ASSERT_TRUE(receipts[1]);
  EXPECT_TRUE(receipts[1]->queued);
  EXPECT_EQ(bus->health().outbox_depth, 1u);
}

TEST_F(RedisBusTest, ARedeliveryAfterARestartWhileRedisIsDownIsStillADuplicate) {
  // The dedupe record is as durable as the outbox: orch restarts, Redis is still down, the CMS
  // sends the same delivery again.
  redis.stop();
  {
    auto bus = make();
    auto first = bus->publish_unique(make_event("t", "s", {{"n", 1}}), "delivery-1", 1h);
    ASSERT_TRUE(first && first->queued);
    bus->close();
  }
  auto bus = make();
  EXPECT_FALSE(bus->publish_unique(make_event("t", "s", {{"n", 1}}), "delivery-1", 1h)) << "a new event for a redelivery";
  EXPECT_EQ(bus->health().outbox_depth, 1u);
  redis.start();
  ASSERT_TRUE(eventually([&] { return bus->health().outbox_depth == 0; }, 15s));
  EXPECT_EQ(stream_len(), 1);
  // Flushed: Redis holds the key now, so the redelivery is still a duplicate.
  EXPECT_FALSE(bus->publish_unique(make_event("t", "s", {{"n", 1}}), "delivery-1", 1h));
}

TEST_F(RedisBusTest, AnEventThatCouldNotBeStoredIsNotADuplicateWhenItComesAgain) {
  auto bus = make(/*outbox_max=*/1);
  redis.stop();
  ASSERT_TRUE(bus->publish_unique(make_event("t", "s", {}), "first", 1h));  // fills the outbox
  EXPECT_THROW(bus->publish_unique(make_event("t", "s", {}), "second", 1h), BusError);
  redis.start();
  // Once there is room again, the refused delivery is taken, not answered as a duplicate.
  ASSERT_TRUE(eventually([&] { return bus->health().outbox_depth == 0; }));
  auto again = bus->publish_unique(make_event("t", "s", {}), "second", 1h);
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->queued);
  EXPECT_EQ(stream_len(kEventsStream), 2);
}

TEST_F(RedisBusTest, LiveSubscribersSeeEventsFromEveryInstance) {
  auto a = make();
  std::mutex mu;
  std::vector<std::string> seen;
  auto sub = a->subscribe([&](const Event& e) {
    std::lock_guard lock(mu);
    seen.push_back(e.type);
  });
  std::this_thread::sleep_for(200ms);  // the reader starts at the stream's end
  redis::Connection c(redis::parse_url(redis.url()), 1s);
  a->publish(make_event("one", "s", {}));
  TempDir other;
  RedisBusOptions o;
  o.url = redis::parse_url(redis.url());
  o.outbox_path = other.file("outbox.ndjson");
  make_redis_bus(o)->publish(make_event("two", "s", {}));
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mu);
    return seen.size() == 2;
  }));
  std::lock_guard lock(mu);
  EXPECT_EQ(seen, (std::vector<std::string>{"one", "two"}));
}

TEST_F(RedisBusTest, TypedSubscribersGetOnlyTheirTypesAndEntriesCarryTheType) {
  auto bus = make();
  std::mutex mu;
  std::vector<std::string> heal, all;
  auto typed = bus->subscribe(
      [&](const Event& e) {
        std::lock_guard lock(mu);
        heal.push_back(e.type);
      },
      {"heal.", "container.started"});
  std::this_thread::sleep_for(200ms);  // the reader starts at the stream's end
  for (const char* type : {"content.published", "heal.restarted", "container.started", "container.died", "heal.failed"})
    bus->publish(make_event(type, "s", {}));
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mu);
    return heal.size() == 3;
  }));
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(heal, (std::vector<std::string>{"heal.restarted", "container.started", "heal.failed"}));
  }
  // The stream entry names its type in a field of its own, which readers filter on unparsed.
  redis::Connection c(redis::parse_url(redis.url()), 1s);
  auto entries = c.command({"XRANGE", kEventsStream, "-", "+", "COUNT", "1"});
  const auto& fields = entries.elements[0].elements[1].elements;
  ASSERT_EQ(fields.size(), 4u);
  EXPECT_EQ(fields[2].str, "type");
  EXPECT_EQ(fields[3].str, "content.published");
  // An untyped subscriber alongside still gets everything.
  auto every = bus->subscribe([&](const Event& e) {
    std::lock_guard lock(mu);
    all.push_back(e.type);
  });
  std::this_thread::sleep_for(100ms);
  bus->publish(make_event("content.deleted", "s", {}));
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mu);
    return all.size() == 1;
  }));
  std::lock_guard lock(mu);
  EXPECT_EQ(heal.size(), 3u);
}

TEST_F(RedisBusTest, OutboxHoldsEventsWhileRedisIsDownAndFlushesInOrder) {
  auto bus = make();
  bus->publish(make_event("before", "s", {}));
  redis.stop();
  for (int i = 0; i < 50; ++i) {
    auto r = bus->publish(make_event("during", "s", {{"i", i}}));
    EXPECT_TRUE(r.queued);
  }
  EXPECT_EQ(bus->health().outbox_depth, 50u);
  EXPECT_FALSE(bus->health().connected);
  EXPECT_THROW(bus->recent(1), UnreachableError);
  redis.start();  // a fresh, empty Redis
  ASSERT_TRUE(eventually([&] { return bus->health().outbox_depth == 0; }, 15s));
  auto events = bus->read_after("", 100);
  ASSERT_EQ(events.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(events[i].data["i"], i);
  EXPECT_TRUE(bus->health().connected);
}

TEST_F(RedisBusTest, AFlushRepeatedAfterItWasStoredStoresNothingTwice) {
  // docs/webhook.md: a flush interrupted and repeated stores nothing twice. The worst case: every
  // record was stored but orch died before it emptied the outbox, so it sends them all again (in
  // chunks of 500: three here), events with their own dedupe key and events without one.
  redis.stop();
  std::vector<std::string> ids;
  {
    auto bus = make(5000);
    for (int i = 0; i < 1200; ++i) {
      auto e = make_event("content.published", "page/p" + std::to_string(i), {{"i", i}});
      ids.push_back(e.id);
      if (i % 2) {
        ASSERT_TRUE(bus->publish(e).queued);
      } else {
        auto r = bus->publish_unique(e, "wh:flush-" + std::to_string(i), std::chrono::hours(24));
        ASSERT_TRUE(r && r->queued);
      }
    }
    bus->close();
  }
  const auto outbox = dir.file("state/outbox.ndjson");
  const auto copy = read_file(outbox);
  ASSERT_FALSE(copy.empty());
  redis.start();
  {
    auto bus = make(5000);
    ASSERT_TRUE(eventually([&] { return bus->health().outbox_depth == 0; }, 15s));
    bus->close();
  }
  ASSERT_EQ(stream_len(), 1200);
  write_file(outbox, copy);  // as if the first flush had never been acknowledged
  auto bus = make(5000);
  ASSERT_TRUE(eventually([&] { return bus->health().outbox_depth == 0; }, 15s));
  EXPECT_EQ(stream_len(), 1200);
  std::map<std::string, int> seen;
  for (const auto& e : redis.events()) ++seen[e["id"]];
  ASSERT_EQ(seen.size(), ids.size());
  for (const auto& id : ids) EXPECT_EQ(seen[id], 1) << id;
}

TEST_F(RedisBusTest, OutboxSurvivesARestartOfOrch) {
  redis.stop();
  {
    auto bus = make();
    for (int i = 0; i < 3; ++i) bus->publish(make_event("kept", "s", {{"i", i}}));
    bus->close();
  }
  redis.start();
  auto bus = make();
  ASSERT_TRUE(eventually([&] { return stream_len() == 3; }, 15s));
  EXPECT_EQ(bus->read_after("", 10)[2].data["i"], 2);
}

TEST_F(RedisBusTest, ConsumersGoneSilentAreForgottenOnceTheyHoldNothing) {
  // Each instance (hostname-pid) is a consumer; restarts must not grow the group for good. Silent
  // for 60 x claim_idle (3 s here) and holding nothing: deleted. One that died holding an entry
  // goes once the entry is taken over.
  auto bus = make();
  const Millis claim_idle = 50ms;
  auto consumers = [&] {
    std::set<std::string> names;
    redis::Connection c(redis::Url{"127.0.0.1", redis.port()}, 2s);
    for (const auto& entry : c.command({"XINFO", "CONSUMERS", "orch:events", "g"}).elements)
      for (size_t i = 0; i + 1 < entry.elements.size(); i += 2)
        if (entry.elements[i].str == "name") names.insert(entry.elements[i + 1].str);
    return names;
  };
  auto live = bus->work_queue("g", "live", claim_idle);
  EXPECT_FALSE(live->next(10ms));  // the group exists
  for (int i = 0; i < 2; ++i) bus->publish(make_event("content.published", "s", {{"i", i}}));
  {
    auto finished = bus->work_queue("g", "finished", claim_idle);
    auto item = finished->next(1s);
    ASSERT_TRUE(item);
    finished->ack(*item);
    auto holder = bus->work_queue("g", "holder", claim_idle);
    ASSERT_TRUE(holder->next(1s));  // dies holding it
  }
  const auto before = consumers();  // (Redis adds "live" on its first entry)
  EXPECT_TRUE(before.count("finished") && before.count("holder"));
  std::optional<WorkItem> taken_over;
  for (auto until = std::chrono::steady_clock::now() + 6s; std::chrono::steady_clock::now() < until && consumers().size() > 1;)
    if (auto item = live->next(100ms)) {
      taken_over = item;
      live->ack(*item);
    }
  EXPECT_EQ(consumers(), (std::set<std::string>{"live"}));
  ASSERT_TRUE(taken_over);
  EXPECT_EQ(taken_over->event.data["i"], 1);  // the holder's entry was not lost with it
}

TEST_F(RedisBusTest, FullOutboxRefusesLoudly) {
  redis.stop();
  auto bus = make(5);
  for (int i = 0; i < 5; ++i) bus->publish(make_event("x", "s", {}));
  EXPECT_THROW(bus->publish(make_event("x", "s", {})), BusError);
}

TEST_F(RedisBusTest, TheGroupsItIsToldOfExistBeforeItsFirstEvent) {
  // A webhook stored in the first moment of a first start, before the pipeline's workers first
  // read (a work queue makes its group then, from new entries on), is still a job: orch serve's bus
  // makes the pipeline's group before it stores anything (serve/make_bus.cpp). Seen in CI: the
  // event of a webhook sent as orch serve became ready was never converted.
  auto bus = make(1000, {"told"});
  bus->publish(make_event("content.published", "s", {{"i", 1}}));
  auto late = bus->work_queue("told", "late", 300ms);
  auto item = late->next(1s);
  ASSERT_TRUE(item);
  EXPECT_EQ(item->event.data["i"], 1);
  late->ack(*item);
  // A group the bus was not told of starts at its first read: the event before it is not its job.
  auto other = bus->work_queue("not-told", "late", 300ms);
  EXPECT_FALSE(other->next(200ms));
}

TEST_F(RedisBusTest, WorkQueueSharesEntriesAndReclaimsAbandonedOnes) {
  auto bus = make();
  auto q1 = bus->work_queue("g", "c1", 300ms);
  auto q2 = bus->work_queue("g", "c2", 300ms);
  EXPECT_FALSE(q1->next(50ms));  // creates the group before anything is published
  for (int i = 0; i < 4; ++i) bus->publish(make_event("content.published", "s", {{"i", i}}));
  auto a = q1->next(1s);
  auto b = q2->next(1s);
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->event.data["i"], b->event.data["i"]);
  q2->ack(*b);
  // While c1 works on `a` (longer than claim_idle), its claim is renewed: c2 gets the other
  // entries, never `a`.
  std::vector<std::string> seen;
  for (auto until = std::chrono::steady_clock::now() + 1200ms; std::chrono::steady_clock::now() < until;) {
    if (auto other = q2->next(100ms)) {
      seen.push_back(other->event.id);
      q2->ack(*other);
    }
  }
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_EQ(std::count(seen.begin(), seen.end(), a->event.id), 0) << "taken from a consumer still working on it";
  // c1 "crashes" holding `a` (its queue is gone, nothing renews); after claim_idle c2 gets it.
  q1.reset();
  std::this_thread::sleep_for(400ms);
  auto reclaimed = q2->next(1s);
  ASSERT_TRUE(reclaimed);
  EXPECT_EQ(reclaimed->event.id, a->event.id);
  EXPECT_GE(reclaimed->deliveries, 2);
  q2->ack(*reclaimed);
}

TEST_F(RedisBusTest, DeadLetterStream) {
  auto bus = make();
  bus->dead_letter(make_event("content.published", "page/1", {{"id", "1"}}), {{"error", "rag 500"}, {"attempts", 5}});
  EXPECT_EQ(stream_len(kDeadStream), 1);
  EXPECT_EQ(stream_len(kEventsStream), 0);
}

TEST(Outbox, ATornLastLineIsCutOffAndTheNextRecordSurvives) {
  // A crash (or full disk) mid-write left half a record. Before the fix, the next accepted event
  // was appended to it, and the two read back as one broken line: both lost.
  TempDir d;
  auto a = make_event("a", "s", {});
  {
    Outbox o(d.file("o.ndjson"), 10);
    o.append({OutboxRecord{kEventsStream, a.to_string(), a.id}});
  }
  { std::ofstream(d.file("o.ndjson"), std::ios::app) << "{\"event\":{\"id\":\"torn"; }
  auto b = make_event("b", "s", {});
  {
    Outbox o(d.file("o.ndjson"), 10);
    EXPECT_EQ(o.depth(), 1u);
    EXPECT_EQ(o.skipped(), 1u);
    o.append({OutboxRecord{kEventsStream, b.to_string(), b.id}});
  }
  auto back = Outbox(d.file("o.ndjson"), 10).load();
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].event_id, a.id);
  EXPECT_EQ(back[1].event_id, b.id);
  EXPECT_EQ(read_file(d.file("o.ndjson")).back(), '\n');
}

TEST(Outbox, ATornRecordLongerThanTheTailReadIsCutOffAtTheLastWholeRecord) {
  // The torn last record (an event with a large payload) is longer than the 64 KiB the outbox reads
  // back on open: the whole file is searched for the last complete record.
  TempDir d;
  auto a = make_event("a", "s", {});
  {
    Outbox o(d.file("o.ndjson"), 10);
    o.append({OutboxRecord{kEventsStream, a.to_string(), a.id}});
  }
  const auto whole = read_file(d.file("o.ndjson"));
  { std::ofstream(d.file("o.ndjson"), std::ios::app) << "{\"event\":{\"id\":\"torn\",\"data\":\"" << std::string(100'000, 'x'); }
  auto b = make_event("b", "s", {});
  {
    Outbox o(d.file("o.ndjson"), 10);
    EXPECT_EQ(o.depth(), 1u);
    EXPECT_EQ(o.skipped(), 1u);
    EXPECT_EQ(read_file(d.file("o.ndjson")), whole) << "cut back to the end of the last whole record";
    o.append({OutboxRecord{kEventsStream, b.to_string(), b.id}});
  }
  auto back = Outbox(d.file("o.ndjson"), 10).load();
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].event_id, a.id);
  EXPECT_EQ(back[1].event_id, b.id);

  // Nothing whole at all: a lone torn record of more than 64 KiB leaves an empty outbox.
  { std::ofstream(d.file("p.ndjson")) << std::string(70'000, 'y'); }
  Outbox lone(d.file("p.ndjson"), 10);
  EXPECT_EQ(lone.depth(), 0u);
  EXPECT_EQ(lone.skipped(), 1u);
  EXPECT_TRUE(read_file(d.file("p.ndjson")).empty());
}

TEST(Outbox, AMemberOfTheWrongTypeNeitherStopsTheOutboxNorLosesTheEvent) {
  // A damaged line with a key, ttl, id or extra of another type threw json's type_error out of the
  // constructor: orch serve could not start, and no later record was read (tests/fuzz/outbox_fuzz.cpp).
  TempDir d;
  auto a = make_event("a", "s", {});
  {
    std::ofstream out(d.file("o.ndjson"));
    out << R"({"event":{"id":7},"stream":"orch:events","ttl":1e300,"key":[1],"publish":"yes","extra":[1,2]})"
        << "\n";
    out << outbox_line(OutboxRecord{kEventsStream, a.to_string(), a.id, "wh:1", 60, false, {{"type", "a"}}});
  }
  Outbox o(d.file("o.ndjson"), 10);
  auto back = o.load();
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].event_id, "");
  EXPECT_EQ(back[0].ttl_s, 0);
  EXPECT_TRUE(back[0].publish);
  EXPECT_TRUE(back[0].fields.empty());
  EXPECT_EQ(back[1].event_id, a.id);
  EXPECT_EQ(back[1].dedupe_key, "wh:1");
  EXPECT_FALSE(back[1].publish);
  EXPECT_FALSE(read_outbox_line(R"({"stream":5,"event":{}})"));
  EXPECT_FALSE(read_outbox_line("[1]"));
}

TEST(Outbox, AWriteThatFailsOnAFullDiskIsCutOffAndLaterRecordsSurvive) {
  // A real full disk: a 64 KiB tmpfs. Needs root (mount), as the Docker tests do.
  ORCH_REQUIRE(geteuid() == 0) << "mounting a tmpfs needs root";
  TempDir d;
  const std::string mnt = d.file("small");
  std::filesystem::create_directories(mnt);
  ASSERT_EQ(run({"mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt}).code, 0);
  struct Unmount {
    std::string at;
    ~Unmount() { run({"umount", at}); }
  } unmount{mnt};
  Outbox o(mnt + "/outbox.ndjson", 100000);
  const std::string filler = mnt + "/filler";
  // Leaves about 3 KiB free: a few records fit, then a write is cut short.
  write_file(filler, std::string(60 * 1024, 'f'));
  std::vector<std::string> acknowledged;
  bool refused = false;
  for (int i = 0; i < 50 && !refused; ++i) {
    auto e = make_event("content.published", "page/" + std::to_string(i), {{"blob", std::string(700, 'x')}});
    try {
      o.append({OutboxRecord{kEventsStream, e.to_string(), e.id, "k" + std::to_string(i), 3600, true, {}}});
      acknowledged.push_back(e.id);
    } catch (const BusError& err) {
      refused = true;
      EXPECT_NE(std::string(err.what()).find("No space"), std::string::npos) << err.what();
    }
  }
  ASSERT_TRUE(refused) << "the disk never filled";
  ASSERT_FALSE(acknowledged.empty());
  const auto content = read_file(mnt + "/outbox.ndjson");
  ASSERT_FALSE(content.empty());
  EXPECT_EQ(content.back(), '\n') << "a failed write left part of a record behind";
  std::filesystem::remove(filler);  // room again
  auto later = make_event("content.published", "page/later", {});
  o.append({OutboxRecord{kEventsStream, later.to_string(), later.id}});
  acknowledged.push_back(later.id);
  auto back = Outbox(mnt + "/outbox.ndjson", 100000).load();
  ASSERT_EQ(back.size(), acknowledged.size());
  for (size_t i = 0; i < back.size(); ++i) EXPECT_EQ(back[i].event_id, acknowledged[i]) << i;
  EXPECT_EQ(o.depth(), acknowledged.size());
}

TEST(Outbox, ACorruptLineInTheMiddleIsSkippedCountedAndTheRestKept) {
  TempDir d;
  auto a = make_event("a", "s", {}), b = make_event("b", "s", {});
  {
    std::ofstream out(d.file("o.ndjson"));
    out << "{\"event\":" << a.to_string() << ",\"stream\":\"orch:events\"}\n";
    out << "garbage that is not a record\n";
    out << "{\"event\":" << b.to_string() << ",\"stream\":\"orch:events\"}\n";
  }
  Outbox o(d.file("o.ndjson"), 10);
  EXPECT_EQ(o.depth(), 2u);
  EXPECT_EQ(o.skipped(), 1u);
}

TEST(Outbox, KeepsEveryPartOfARecord) {
  TempDir d;
  auto e = make_event("content.published", "page/\"x\"", {{"name", "naïve"}});
  {
    Outbox o(d.file("o.ndjson"), 10);
    o.append({OutboxRecord{kEventsStream, e.to_string(), e.id, "content:page:x:1", 3600, true, {{"type", e.type}}},
              OutboxRecord{kDeadStream, e.to_string(), e.id, "", 0, false, {{"reason", "{\"error\":\"boom\"}"}}}});
  }
  auto back = Outbox(d.file("o.ndjson"), 10).load();
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].stream, kEventsStream);
  EXPECT_EQ(back[0].event, e.to_string());
  EXPECT_EQ(back[0].event_id, e.id);
  EXPECT_EQ(back[0].dedupe_key, "content:page:x:1");
  EXPECT_EQ(back[0].ttl_s, 3600);
  EXPECT_TRUE(back[0].publish);
  EXPECT_EQ(back[0].fields, (std::vector<std::pair<std::string, std::string>>{{"type", "content.published"}}));
  EXPECT_EQ(back[1].stream, kDeadStream);
  EXPECT_FALSE(back[1].publish);
  EXPECT_EQ(back[1].fields, (std::vector<std::pair<std::string, std::string>>{{"reason", "{\"error\":\"boom\"}"}}));
}

TEST(Outbox, ReadsWhatAnEarlierVersionWrote) {
  // An outbox left by an orch that wrote its lines with nlohmann must still be flushed.
  TempDir d;
  std::ofstream(d.file("o.ndjson"))
      << R"({"event":{"data":{},"datacontenttype":"application/json","id":"e-1","source":"orch://h","specversion":"1.0",)"
      << R"("subject":"s","time":"2026-11-01T00:00:00.000Z","type":"a"},"extra":{"type":"a"},"key":"k","publish":true,)"
      << R"("stream":"orch:events","ttl":86400})" << "\n";
  auto back = Outbox(d.file("o.ndjson"), 10).load();
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].event_id, "e-1");
  EXPECT_EQ(Event::from_json(json::parse(back[0].event)).type, "a");
  EXPECT_EQ(back[0].dedupe_key, "k");
  EXPECT_EQ(back[0].fields.at(0).second, "a");
}

TEST(MemoryBus, SameContract) {
  auto bus = make_memory_bus();
  std::vector<std::string> seen;
  auto sub = bus->subscribe([&](const Event& e) { seen.push_back(e.type); });
  std::vector<std::string> only_b;
  auto typed = bus->subscribe([&](const Event& e) { only_b.push_back(e.type); }, {"b"});
  auto q = bus->work_queue("g", "c", 1s);
  auto r1 = bus->publish(make_event("a", "s", {}));
  EXPECT_TRUE(bus->publish_unique(make_event("b", "s", {}), "k", 1h));
  EXPECT_FALSE(bus->publish_unique(make_event("b", "s", {}), "k", 1h));
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(only_b, (std::vector<std::string>{"b"}));
  EXPECT_EQ(bus->read_after(r1.stream_id, 10).size(), 1u);
  EXPECT_EQ(bus->recent(10).size(), 2u);
  EXPECT_EQ(q->next(10ms)->event.type, "a");
  sub.reset();
  bus->publish(make_event("c", "s", {}));
  EXPECT_EQ(seen.size(), 2u);
}

}  // namespace
