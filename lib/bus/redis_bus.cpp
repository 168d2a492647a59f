#include "bus/redis_bus.hpp"

#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "bus/dedupe_cache.hpp"
#include "bus/follow.hpp"
#include "bus/outbox.hpp"
#include "bus/subscribers.hpp"
#include "core/stop_token.hpp"
#include "core/text.hpp"
#include "metrics/metrics.hpp"
#include "redis/client.hpp"

namespace orch {
namespace {

using namespace std::chrono_literals;

// For each event of a batch: SET NX on its dedupe key, then XADD (+ PUBLISH) only for a first
// delivery; one atomic round trip for the whole batch, shared by every instance on this Redis.
// KEYS[1] is the stream, KEYS[1 + i] event i's dedupe key. What the events share comes once:
// ARGV[1] the stream's MAXLEN, ARGV[2] the dedupe ttl, ARGV[3] the channel ('' = no PUBLISH),
// ARGV[4] the number n of further stream fields and ARGV[5 .. 4 + n] their names; then per event
// its text and its n field values. (Redis copies every argument into Lua: the fewer, the faster.)
// Returns per event its stream id, or nil when it was a duplicate.
constexpr const char* kPublishOnce = R"lua(
local stream, maxlen, ttl, channel, n = KEYS[1], ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local out = {}
local a = 5 + n
for i = 2, #KEYS do
  local event = ARGV[a]
  if redis.call('SET', KEYS[i], '1', 'NX', 'EX', ttl) then
    if n == 1 then
      out[i - 1] = redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', 'event', event, ARGV[5], ARGV[a + 1])
    else
      local args = {stream, 'MAXLEN', '~', maxlen, '*', 'event', event}
      for j = 1, n do
        args[#args + 1] = ARGV[4 + j]
        args[#args + 1] = ARGV[a + j]
      end
      out[i - 1] = redis.call('XADD', unpack(args))
    end
    if channel ~= '' then redis.call('PUBLISH', channel, event) end
  else
    out[i - 1] = false
  end
  a = a + 1 + n
end
return out
)lua";

const std::string kDedupePrefix = "orch:dedupe:";

std::string sha1_hex(const std::string& text) {
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), md);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : md) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}
const std::string kPublishOnceSha = sha1_hex(kPublishOnce);

Event event_from_fields(const redis::Reply& entry) {
  // entry = [id, [field, value, ...]]
  Event e;
  if (entry.elements.size() < 2) return e;
  const auto& fields = entry.elements[1].elements;
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    if (fields[i].str == "event") {
      auto j = parse_json(fields[i + 1].str);
      if (!j.is_discarded()) {
        try {
          e = Event::from_json(j);
        } catch (const std::invalid_argument&) {
        }
      }
    }
  }
  e.stream_id = entry.elements[0].str;
  return e;
}

std::vector<Event> events_from_entries(const redis::Reply& entries) {
  std::vector<Event> out;
  for (const auto& entry : entries.elements) {
    auto e = event_from_fields(entry);
    if (!e.type.empty()) out.push_back(std::move(e));
  }
  return out;
}

// Makes the consumer group (from new entries on) unless it exists.
void create_group(redis::Connection& c, const std::string& group) {
  try {
    c.command({"XGROUP", "CREATE", kEventsStream, group, "$", "MKSTREAM"});
  } catch (const redis::ReplyError& e) {
    if (std::string(e.what()).find("BUSYGROUP") == std::string::npos) throw;
  }
}

class RedisWorkQueue final : public WorkQueue {
 public:
  RedisWorkQueue(redis::Url url, std::string group, std::string consumer, Millis claim_idle, Millis timeout)
      : group_(std::move(group)),
        consumer_(std::move(consumer)),
        claim_idle_(claim_idle),
        timeout_(timeout),
        client_(url,
                {.connect_timeout = timeout, .timeout = timeout, .on_connect = [this](redis::Connection& c) { create_group(c, group_); }}),
        renewer_client_(std::move(url), {.connect_timeout = timeout, .timeout = timeout}) {}
  ~RedisWorkQueue() override {
    {
      std::lock_guard lock(held_mu_);
      closing_ = true;
    }
    held_cv_.notify_all();
    if (renewer_.joinable()) renewer_.join();
  }

  std::optional<WorkItem> next(Millis wait) override {
    hold("");  // moving on: an entry taken before and not acknowledged is left to the group
    auto item = take(wait);
    if (item) hold(item->event.stream_id);
    return item;
  }

  void ack(const WorkItem& item) override {
    client_.command({"XACK", kEventsStream, group_, item.event.stream_id});
    std::lock_guard lock(held_mu_);
    if (held_ == item.event.stream_id) held_.clear();
  }

 private:
  std::optional<WorkItem> take(Millis wait) {
    try {
      forget_dead_consumers();
      // Entries another consumer took and left unacknowledged too long come first.
      auto claimed = client_.command(
          {"XAUTOCLAIM", kEventsStream, group_, consumer_, std::to_string(claim_idle_.count()), claim_cursor_, "COUNT", "1"});
      if (claimed.elements.size() >= 2) {
        claim_cursor_ = claimed.elements[0].str;
        auto events = events_from_entries(claimed.elements[1]);
        if (!events.empty()) return WorkItem{events.front(), 2};
      }
      client_.connection().set_timeout(wait + timeout_);
      auto reply = client_.command({"XREADGROUP", "GROUP", group_, consumer_, "COUNT", "1", "BLOCK",
                                    std::to_string(std::max<long long>(1, wait.count())), "STREAMS", kEventsStream, ">"});
      client_.connection().set_timeout(timeout_);
      if (reply.is_nil() || reply.elements.empty()) return std::nullopt;
      auto events = events_from_entries(reply.elements[0].elements[1]);
      if (events.empty()) {
        // Entries that are not events (foreign writers) are acknowledged so they do not linger.
        for (const auto& entry : reply.elements[0].elements[1].elements)
          client_.command({"XACK", kEventsStream, group_, entry.elements[0].str});
        return std::nullopt;
      }
      return WorkItem{events.front(), 1};
    } catch (const UnreachableError& e) {
      spdlog::warn("work queue {}: {}", group_, e.what());
      std::this_thread::sleep_for(std::min<Millis>(wait, 1000ms));
      return std::nullopt;
    }
  }

  // Every instance id (hostname-pid) is a consumer of the group, and Redis keeps a consumer until
  // it is deleted: without this, each restart or crash of an instance would leave one behind for
  // good. A consumer with nothing pending and silent for 60 x claim_idle (an hour by default) is
  // gone: a live one reads every half second. Checked and deleted in one script, so a consumer
  // cannot take an entry in between (deleting a consumer drops what it holds). Entries a dead one
  // still holds are claimed first (XAUTOCLAIM), and it goes at a later round.
  void forget_dead_consumers() {
    const auto now = std::chrono::steady_clock::now();
    if (now < next_prune_) return;
    next_prune_ = now + std::max<Millis>(claim_idle_, Millis(1000));
    try {
      auto forgotten =
          client_.command({"EVAL", kForgetDeadConsumers, "1", kEventsStream, group_, consumer_, std::to_string(claim_idle_.count() * 60)});
      if (forgotten.integer > 0) spdlog::info("work queue {}: forgot {} consumers gone silent", group_, forgotten.integer);
    } catch (const redis::ReplyError& e) {
      spdlog::debug("work queue {}: forgetting silent consumers: {}", group_, e.what());  // the work goes on
    }
  }

  static constexpr const char* kForgetDeadConsumers = R"lua(
local n = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local f = {}
  for i = 1, #c, 2 do f[c[i]] = c[i + 1] end
  if f['name'] ~= ARGV[2] and f['pending'] == 0 and f['idle'] >= tonumber(ARGV[3]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f['name'])
    n = n + 1
  end
end
return n)lua";

  // The entry being worked on (empty: none); its claim is renewed until it is released.
  void hold(const std::string& id) {
    std::lock_guard lock(held_mu_);
    held_ = id;
    if (!id.empty() && !renewer_.joinable()) renewer_ = std::thread([this] { renew_loop(); });
  }

  // XCLAIM with min-idle 0 and JUSTID resets the entry's idle time without counting a delivery,
  // so XAUTOCLAIM elsewhere (min-idle claim_idle) leaves it alone. Its own connection: the worker's
  // may be busy.
  void renew_loop() {
    const Millis every = std::max<Millis>(claim_idle_ / 3, Millis(10));
    std::unique_lock lock(held_mu_);
    while (!closing_) {
      held_cv_.wait_for(lock, every, [&] { return closing_; });
      if (closing_ || held_.empty()) continue;
      const std::string id = held_;
      lock.unlock();
      try {
        renewer_client_.command({"XCLAIM", kEventsStream, group_, consumer_, "0", id, "JUSTID"});
      } catch (const std::exception& e) {
        spdlog::debug("work queue {}: renewing the claim on {}: {}", group_, id, e.what());
      }
      lock.lock();
    }
  }

  std::string group_, consumer_;
  Millis claim_idle_, timeout_;
  std::string claim_cursor_ = "0-0";
  std::chrono::steady_clock::time_point next_prune_{};
  redis::Client client_;          // the worker's; after group_: its on_connect creates the group
  redis::Client renewer_client_;  // the renewer thread's
  std::mutex held_mu_;
  std::condition_variable held_cv_;
  std::string held_;
  bool closing_ = false;
  std::thread renewer_;  // started with the first entry taken; joined by the destructor
};

class RedisBus final : public Bus {
 public:
  explicit RedisBus(RedisBusOptions opts)
      : opts_(std::move(opts)),
        outbox_(opts_.outbox_path, opts_.outbox_max),
        // Loaded on every (re)connect: a restarted Redis has forgotten it.
        conn_(opts_.url, {.connect_timeout = opts_.connect_timeout,
                          .timeout = opts_.connect_timeout,
                          .on_connect =
                              [this](redis::Connection& c) {
                                c.command({"SCRIPT", "LOAD", kPublishOnce});
                                for (const auto& group : opts_.groups) create_group(c, group);
                              }}),
        query_(opts_.url, {.connect_timeout = opts_.connect_timeout, .timeout = opts_.connect_timeout}) {
    if (opts_.metrics) {
      published_ = &opts_.metrics->counter("orch_events_published_total", "Events published on the bus", {"type"});
      outboxed_ = &opts_.metrics->counter("orch_events_outboxed_total", "Events written to the outbox while Redis was down").get();
    }
    if (outbox_.depth() > 0) {
      spdlog::warn("outbox {} holds {} events from a previous run; they are sent when Redis is reachable", outbox_.path(),
                   outbox_.depth());
      // Their dedupe records are as durable as they are: a redelivery after a restart, while Redis
      // is still down, is a duplicate (200), not a new event.
      for (const auto& r : outbox_.load())
        if (!r.dedupe_key.empty()) outbox_keys_.insert(r.dedupe_key);
    }
    if (opts_.metrics && outbox_.skipped() > 0)
      opts_.metrics->counter("orch_outbox_skipped_total", "Outbox records found unreadable (torn or corrupt) and skipped")
          .get()
          .inc(static_cast<double>(outbox_.skipped()));
    // Reconnects and flushes the outbox even when nobody publishes.
    maintenance_ = std::thread([this] {
      while (!maintenance_stop_.wait_for(500ms)) {
        Pending tick;
        tick.tick = true;
        commit({&tick});
      }
    });
  }

  ~RedisBus() override { close(); }

  PublishReceipt publish(const Event& e) override { return *submit({{e, "", Millis(0)}}).front(); }

  std::optional<PublishReceipt> publish_unique(const Event& e, const std::string& key, Millis ttl) override {
    return submit({{e, key, ttl}}).front();
  }

  std::vector<std::optional<PublishReceipt>> publish_unique_batch(const std::vector<UniqueEvent>& events) override {
    return submit(events);
  }

  void publish_unique_batch_async(std::vector<UniqueEvent> events, BatchDone done) override {
    auto pending = prepare(events);
    std::lock_guard lock(async_mu_);
    if (closing_async_) throw BusError("the bus is shutting down");
    if (!committer_.joinable()) committer_ = std::thread([this] { committer_loop(); });
    async_jobs_.push_back({std::move(pending), std::move(done)});
    async_cv_.notify_one();
  }

  void dead_letter(const Event& e, const json& reason) override {
    Pending p;
    p.record = OutboxRecord{kDeadStream, e.to_string(), e.id, "", 0, false, {{"reason", to_text(reason)}}};
    commit({&p});
  }

  using Bus::subscribe;
  Subscription subscribe(Handler h, std::vector<std::string> type_prefixes) override {
    auto sub = subscribers_.add(std::move(h), std::move(type_prefixes));
    std::lock_guard lock(reader_mu_);
    if (!reader_.joinable()) reader_ = std::thread([this] { reader_loop(); });
    return sub;
  }

  std::vector<Event> read_after(const std::string& after, size_t count) override {
    std::lock_guard lock(query_mu_);
    std::string start = after.empty() ? "-" : "(" + after;
    return events_from_entries(query_.command({"XRANGE", kEventsStream, start, "+", "COUNT", std::to_string(count)}));
  }

  std::vector<Event> recent(size_t count) override {
    std::lock_guard lock(query_mu_);
    auto events = events_from_entries(query_.command({"XREVRANGE", kEventsStream, "+", "-", "COUNT", std::to_string(count)}));
    std::reverse(events.begin(), events.end());
    return events;
  }

  std::unique_ptr<WorkQueue> work_queue(const std::string& group, const std::string& consumer, Millis claim_idle) override {
    return std::make_unique<RedisWorkQueue>(opts_.url, group, consumer, claim_idle, 2000ms);
  }

  QueueStats queue_stats(const std::string& group) override {
    QueueStats s;
    redis::Reply groups;
    {
      std::lock_guard lock(query_mu_);
      s.dead = query_.command({"XLEN", kDeadStream}).integer;
      try {
        groups = query_.command({"XINFO", "GROUPS", kEventsStream});
      } catch (const redis::ReplyError&) {
        return s;  // no stream yet: no group either
      }
    }
    // XINFO GROUPS: one array of field/value pairs per group.
    for (const auto& g : groups.elements) {
      std::map<std::string, const redis::Reply*> f;
      for (size_t i = 0; i + 1 < g.elements.size(); i += 2) f[g.elements[i].str] = &g.elements[i + 1];
      if (!f.count("name") || f["name"]->str != group) continue;
      s.group_exists = true;
      if (f.count("pending")) s.pending = f["pending"]->integer;
      // lag (Redis 7): entries the group has not read yet; nil when Redis cannot tell.
      s.waiting = f.count("lag") && !f["lag"]->is_nil() ? f["lag"]->integer : -1;
    }
    return s;
  }

  BusHealth health() override {
    std::lock_guard lock(state_mu_);
    return {"redis", connected_, outbox_.depth(), last_error_};
  }

  void close() override {
    {
      // Batches already handed over are still written, before the line closes.
      std::lock_guard lock(async_mu_);
      closing_async_ = true;
      async_cv_.notify_one();
    }
    if (committer_.joinable()) committer_.join();
    {
      std::lock_guard lock(mu_);
      if (closing_) return;
      closing_ = true;
    }
    maintenance_stop_.request_stop();
    if (maintenance_.joinable()) maintenance_.join();
    Pending last;  // a last chance for what the outbox holds
    last.tick = true;
    commit({&last}, /*even_if_closing=*/true);
    reader_stop_ = true;
    std::thread reader;
    {
      std::lock_guard lock(reader_mu_);
      reader.swap(reader_);
    }
    if (reader.joinable()) reader.join();
  }

 private:
  // A publisher waiting in the group commit. The first one in line is the leader: it takes everyone
  // queued behind it as one batch, does the I/O, and wakes them (LevelDB's write path). No extra
  // thread sits between a request and Redis, and a busy bus sends one pipeline per batch.
  struct Pending {
    OutboxRecord record;
    bool tick = false;  // no event: only reconnect / flush
    bool done = false;
    std::optional<PublishReceipt> result;
    std::exception_ptr error;
    std::condition_variable* owner = nullptr;  // its publisher waits here
  };

  // Queues `mine` (in order, together) and returns once all of them are written. A publisher whose
  // first record reaches the front of the line leads; a batch of the line's front always takes the
  // rest of the leader's records along, so one leadership finishes them.
  void commit(const std::vector<Pending*>& mine, bool even_if_closing = false) {
    std::condition_variable cv;
    std::unique_lock lock(mu_);
    if (closing_ && !even_if_closing) throw BusError("the bus is shutting down");
    for (auto* p : mine) {
      p->owner = &cv;
      line_.push_back(p);
    }
    while (!mine.back()->done) {
      if (line_.front()->owner != &cv) {
        cv.wait(lock);
        continue;
      }
      const size_t take = std::min(line_.size(), std::max<size_t>(1024, mine.size()));
      std::vector<Pending*> batch(line_.begin(), line_.begin() + static_cast<long>(take));
      lock.unlock();
      process(batch);
      lock.lock();
      for (auto* q : batch) {
        line_.pop_front();
        q->done = true;
        if (q->owner != &cv) q->owner->notify_one();
      }
      if (!line_.empty()) line_.front()->owner->notify_one();
    }
    for (auto* p : mine)
      if (p->error) std::rethrow_exception(p->error);
  }

  // Events made ready to join the line, on the publisher's own thread: serialised, so that the
  // leader's (or the committer's) part is only I/O. The type as a field of its own lets readers
  // skip entries without parsing the event.
  static std::vector<Pending> prepare(const std::vector<UniqueEvent>& events) {
    std::vector<Pending> pending(events.size());
    for (size_t i = 0; i < events.size(); ++i) {
      const auto& e = events[i];
      const long long ttl_s = std::chrono::duration_cast<std::chrono::seconds>(e.ttl).count();
      pending[i].record = OutboxRecord{kEventsStream, e.event.to_string(), e.event.id, e.dedupe_key, ttl_s, true, {{"type", e.event.type}}};
    }
    return pending;
  }

  std::vector<std::optional<PublishReceipt>> submit(const std::vector<UniqueEvent>& events) {
    auto pending = prepare(events);
    return submit(pending);
  }

  std::vector<std::optional<PublishReceipt>> submit(std::vector<Pending>& pending) {
    if (pending.empty()) return {};
    std::vector<Pending*> mine;
    for (auto& p : pending) mine.push_back(&p);
    commit(mine);
    std::vector<std::optional<PublishReceipt>> out;
    Counter* counter = nullptr;  // looked up once per run of one type (a batch is mostly one)
    const std::string* counted = nullptr;
    for (auto& p : pending) {
      if (p.result && published_) {
        const auto& type = p.record.fields.front().second;
        if (!counted || *counted != type) counter = &published_->labels({type}), counted = &type;
        counter->inc();
      }
      out.push_back(std::move(p.result));
    }
    return out;
  }

  // The asynchronous publishers' thread: takes every batch queued since its last round trip, joins
  // the group commit with all of them at once, and hands each its receipts.
  struct AsyncJob {
    std::vector<Pending> events;
    BatchDone done;
  };

  void committer_loop() {
    for (;;) {
      std::vector<AsyncJob> jobs;
      {
        std::unique_lock lock(async_mu_);
        async_cv_.wait(lock, [this] { return !async_jobs_.empty() || closing_async_; });
        if (async_jobs_.empty()) return;
        jobs.swap(async_jobs_);
      }
      std::vector<Pending> all;
      for (auto& job : jobs)
        for (auto& p : job.events) all.push_back(std::move(p));
      std::vector<std::optional<PublishReceipt>> receipts;
      std::exception_ptr error;
      try {
        receipts = submit(all);
      } catch (const std::exception&) {
        error = std::current_exception();  // every job of this round is told
      }
      size_t at = 0;
      for (auto& job : jobs) {
        const size_t n = job.events.size();
        if (error) {
          job.done({}, error);
        } else {
          job.done({std::make_move_iterator(receipts.begin() + static_cast<long>(at)),
                    std::make_move_iterator(receipts.begin() + static_cast<long>(at + n))},
                   nullptr);
        }
        at += n;
      }
    }
  }

  // Runs on the leader only: the one user of the publishing connection at any time.
  void process(const std::vector<Pending*>& batch) {
    ensure_connected();
    std::vector<Pending*> items;
    for (auto* p : batch)
      if (!p->tick) items.push_back(p);
    if (items.empty()) return;
    if (conn_.connected() && outbox_.depth() == 0 && send(items)) return;
    to_outbox(items);
  }

  // The publishing connection's policy is redis::Client's: reconnect on the next batch or tick,
  // attempts spaced by its backoff while Redis stays away.
  void ensure_connected() {
    if (!conn_.connected()) {
      if (conn_.retry_in().count() > 0) return;
      try {
        conn_.connection();
      } catch (const Error& e) {
        if (connected_ || last_error_.empty()) spdlog::warn("redis bus unreachable ({}); events go to the outbox", e.what());
        set_state(false, e.what());
        return;
      }
      set_state(true, "");
      spdlog::info("redis bus connected to {}", conn_.describe());
    }
    if (outbox_.depth() > 0) flush_outbox();
  }

  void set_state(bool connected, const std::string& error) {
    std::lock_guard lock(state_mu_);
    connected_ = connected;
    last_error_ = error;
  }

  // Where the stream id of a record comes back: the reply of `command`, or its element `element`.
  struct ReplyAt {
    size_t command;
    long element = -1;
  };

  // Appends the commands that store `records` in order (keys[i]: record i's dedupe key, or empty).
  // A run of keyed records for one stream is one EVALSHA of kPublishOnce; the rest XADD (+ PUBLISH).
  void append_commands(const std::vector<const OutboxRecord*>& records, const std::vector<std::string>& keys, redis::RespCommands& commands,
                       std::vector<ReplyAt>& at) const {
    auto maxlen = [this](const OutboxRecord& r) { return r.stream == kEventsStream ? static_cast<long long>(opts_.stream_maxlen) : 10'000LL; };
    for (size_t i = 0; i < records.size();) {
      const auto& first = *records[i];
      if (keys[i].empty()) {
        at.push_back({commands.size()});
        commands.command(8 + 2 * first.fields.size())
            .arg("XADD").arg(first.stream).arg("MAXLEN").arg("~").arg(maxlen(first)).arg("*").arg("event").arg(first.event);
        for (const auto& [k, v] : first.fields) commands.arg(k).arg(v);
        if (first.publish) commands.command(3).arg("PUBLISH").arg(kEventsStream).arg(first.event);
        ++i;
        continue;
      }
      // One script call per run of records that share what the script takes once.
      auto same_shape = [&](const OutboxRecord& r) {
        if (r.stream != first.stream || r.ttl_s != first.ttl_s || r.publish != first.publish) return false;
        if (r.fields.size() != first.fields.size()) return false;
        for (size_t f = 0; f < r.fields.size(); ++f)
          if (r.fields[f].first != first.fields[f].first) return false;
        return true;
      };
      size_t end = i;
      while (end < records.size() && !keys[end].empty() && same_shape(*records[end])) ++end;
      const size_t n = first.fields.size();
      commands.command(8 + n + (end - i) * (2 + n))  // EVALSHA sha numkeys stream keys... maxlen ttl channel n names... per event
          .arg("EVALSHA").arg(kPublishOnceSha).arg(static_cast<long long>(1 + end - i)).arg(first.stream);
      for (size_t k = i; k < end; ++k) {
        std::string key = kDedupePrefix;
        commands.arg(key.append(keys[k]));
      }
      commands.arg(maxlen(first)).arg(first.ttl_s > 0 ? first.ttl_s : 86'400LL).arg(first.publish ? kEventsStream : "");
      commands.arg(static_cast<long long>(n));
      for (const auto& field : first.fields) commands.arg(field.first);
      for (size_t k = i; k < end; ++k) {
        commands.arg(records[k]->event);
        for (const auto& field : records[k]->fields) commands.arg(field.second);
        at.push_back({commands.size() - 1, static_cast<long>(k - i)});
      }
      i = end;
    }
  }

  static const redis::Reply& reply_at(const std::vector<redis::Reply>& replies, const ReplyAt& at) {
    const auto& r = replies.at(at.command);
    return at.element < 0 ? r : r.elements.at(static_cast<size_t>(at.element));
  }

  // Sends a batch in one pipeline. False (nothing answered) when Redis failed under it.
  bool send(const std::vector<Pending*>& batch) {
    std::vector<const OutboxRecord*> records;
    std::vector<std::string> keys;
    std::vector<Pending*> sent;
    for (auto* p : batch) {
      // A key this instance saw recently is a duplicate without asking Redis.
      if (!p->record.dedupe_key.empty() && !local_seen_.insert(p->record.dedupe_key, std::chrono::seconds(p->record.ttl_s)))
        continue;
      records.push_back(&p->record);
      keys.push_back(p->record.dedupe_key);
      sent.push_back(p);
    }
    redis::RespCommands commands;
    std::vector<ReplyAt> at;
    append_commands(records, keys, commands, at);
    std::vector<redis::Reply> replies;
    try {
      if (commands.size() > 0) replies = conn_.pipeline(commands);
      for (size_t i = 0; i < sent.size(); ++i) {
        const auto& r = reply_at(replies, at[i]);
        if (!r.is_nil()) sent[i]->result = PublishReceipt{r.str, false};  // nil: duplicate per Redis
      }
    } catch (const Error& e) {
      spdlog::warn("redis bus: publish failed ({}); using the outbox", e.what());
      for (auto* p : batch) p->result.reset();
      // Only the keys this attempt added are forgotten: a redelivery of an event stored before
      // (left out above) stays a duplicate, or the outbox would take it as new and answer 202
      // for an event that is never stored.
      for (auto* p : sent)
        if (!p->record.dedupe_key.empty()) local_seen_.erase(p->record.dedupe_key);
      if (conn_.connected()) conn_.reset(e.what());  // an error reply: the next batch starts afresh
      set_state(false, e.what());
      return false;
    }
    return true;
  }

  void to_outbox(const std::vector<Pending*>& batch) {
    std::vector<OutboxRecord> records;
    std::vector<bool> duplicate;
    for (auto* p : batch) {
      const auto& key = p->record.dedupe_key;
      bool dup = !key.empty() && (outbox_keys_.count(key) > 0 || !local_seen_.insert(key, std::chrono::seconds(p->record.ttl_s)));
      duplicate.push_back(dup);
      if (!dup) records.push_back(p->record);
    }
    try {
      outbox_.append(records);
      if (outboxed_) outboxed_->inc(static_cast<double>(records.size()));
      for (const auto& r : records)
        if (!r.dedupe_key.empty()) outbox_keys_.insert(r.dedupe_key);
    } catch (const BusError& e) {
      spdlog::error("event not stored: {}", e.what());
      for (auto* p : batch) {
        if (!p->record.dedupe_key.empty()) local_seen_.erase(p->record.dedupe_key);
        p->error = std::make_exception_ptr(e);
      }
      return;
    }
    for (size_t i = 0; i < batch.size(); ++i)
      if (!duplicate[i]) batch[i]->result = PublishReceipt{"", true};
  }

  // Sends what the outbox holds, oldest first, in chunks. Each record goes with a dedupe key (its
  // own, or its event id) so a flush interrupted and repeated does not store an event twice.
  void flush_outbox() {
    auto records = outbox_.load();
    size_t sent = 0;
    const size_t chunk = 500;
    try {
      while (sent < records.size()) {
        redis::RespCommands commands;
        std::vector<ReplyAt> at;
        size_t end = std::min(records.size(), sent + chunk);
        std::vector<const OutboxRecord*> part;
        std::vector<std::string> keys;
        for (size_t i = sent; i < end; ++i) {
          part.push_back(&records[i]);
          keys.push_back(records[i].dedupe_key.empty() ? "event:" + records[i].event_id : records[i].dedupe_key);
        }
        append_commands(part, keys, commands, at);
        conn_.pipeline(commands);
        sent = end;
      }
      outbox_.replace({});
      outbox_keys_.clear();  // Redis holds their dedupe records now
      spdlog::info("outbox flushed: {} events delivered in order", records.size());
    } catch (const Error& e) {
      spdlog::warn("outbox flush interrupted after {} of {} events: {}", sent, records.size(), e.what());
      outbox_.replace({records.begin() + static_cast<long>(sent), records.end()});
      outbox_keys_.clear();
      for (size_t i = sent; i < records.size(); ++i)
        if (!records[i].dedupe_key.empty()) outbox_keys_.insert(records[i].dedupe_key);
      if (conn_.connected()) conn_.reset(e.what());
      set_state(false, e.what());
    }
  }

  // --- reader thread: live delivery to subscribers ---

  void reader_loop() {
    follow_events(
        opts_.url, "$", [this](const Event& e) { subscribers_.deliver(e); }, [this] { return reader_stop_.load(); }, {},
        [this](std::string_view type) { return subscribers_.wants(type); });
  }

  RedisBusOptions opts_;
  Outbox outbox_;
  // Redis decides what is a duplicate; this only spares it the redeliveries of the last moments
  // (and answers them while Redis is down). Small, so it stays in cache on the publishing path.
  DedupeCache local_seen_{1 << 16};
  // Dedupe keys of the events waiting in the outbox (at most ORCH_OUTBOX_MAX), read back on start.
  // Only the leader of the group commit touches it, like the outbox.
  std::unordered_set<std::string> outbox_keys_;
  Family<Counter>* published_ = nullptr;
  Counter* outboxed_ = nullptr;

  std::mutex mu_;
  std::deque<Pending*> line_;
  bool closing_ = false;
  std::thread maintenance_;
  StopSignal maintenance_stop_;
  redis::Client conn_;  // the publishing connection: used by the group commit's leader only

  std::mutex async_mu_;
  std::condition_variable async_cv_;
  std::vector<AsyncJob> async_jobs_;
  bool closing_async_ = false;
  std::thread committer_;

  std::mutex state_mu_;
  bool connected_ = false;
  std::string last_error_;

  Subscribers subscribers_;  // called on the reader thread
  std::mutex reader_mu_;
  std::thread reader_;  // started by the first subscriber
  std::atomic<bool> reader_stop_{false};

  std::mutex query_mu_;
  redis::Client query_;  // read_after, recent
};

}  // namespace

std::unique_ptr<Bus> make_redis_bus(RedisBusOptions opts) { return std::make_unique<RedisBus>(std::move(opts)); }

}  // namespace orch
