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

#include "bus/dedupe_cache.hpp"
#include "bus/follow.hpp"
#include "bus/outbox.hpp"
#include "core/stop_token.hpp"
#include "core/text.hpp"
#include "metrics/metrics.hpp"

namespace orch {
namespace {

using namespace std::chrono_literals;

// SET NX on the dedupe key, then XADD (+ PUBLISH) only for a first delivery: one atomic round trip,
// shared by every instance on this Redis.
constexpr const char* kPublishOnce = R"lua(
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) == false then return false end
local args = {KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'event', ARGV[3]}
for i = 5, #ARGV, 2 do args[#args + 1] = ARGV[i]; args[#args + 1] = ARGV[i + 1] end
local id = redis.call('XADD', unpack(args))
if ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[4], ARGV[3]) end
return id
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

Event event_from_fields(const RedisReply& entry) {
  // entry = [id, [field, value, ...]]
  Event e;
  if (entry.elements.size() < 2) return e;
  const auto& fields = entry.elements[1].elements;
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    if (fields[i].str == "event") {
      auto j = json::parse(fields[i + 1].str, nullptr, false);
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

std::vector<Event> events_from_entries(const RedisReply& entries) {
  std::vector<Event> out;
  for (const auto& entry : entries.elements) {
    auto e = event_from_fields(entry);
    if (!e.type.empty()) out.push_back(std::move(e));
  }
  return out;
}

class RedisWorkQueue final : public WorkQueue {
 public:
  RedisWorkQueue(RedisUrl url, std::string group, std::string consumer, Millis claim_idle, Millis timeout)
      : url_(std::move(url)), group_(std::move(group)), consumer_(std::move(consumer)), claim_idle_(claim_idle), timeout_(timeout) {}

  std::optional<WorkItem> next(Millis wait) override {
    try {
      auto& c = connection();
      // Entries another consumer took and left unacknowledged too long come first.
      auto claimed = c.command({"XAUTOCLAIM", kEventsStream, group_, consumer_, std::to_string(claim_idle_.count()),
                                claim_cursor_, "COUNT", "1"});
      if (claimed.elements.size() >= 2) {
        claim_cursor_ = claimed.elements[0].str;
        auto events = events_from_entries(claimed.elements[1]);
        if (!events.empty()) return WorkItem{events.front(), 2};
      }
      c.set_timeout(wait + timeout_);
      auto reply = c.command({"XREADGROUP", "GROUP", group_, consumer_, "COUNT", "1", "BLOCK",
                              std::to_string(std::max<long long>(1, wait.count())), "STREAMS", kEventsStream, ">"});
      c.set_timeout(timeout_);
      if (reply.is_nil() || reply.elements.empty()) return std::nullopt;
      auto events = events_from_entries(reply.elements[0].elements[1]);
      if (events.empty()) {
        // Entries that are not events (foreign writers) are acknowledged so they do not linger.
        for (const auto& entry : reply.elements[0].elements[1].elements)
          c.command({"XACK", kEventsStream, group_, entry.elements[0].str});
        return std::nullopt;
      }
      return WorkItem{events.front(), 1};
    } catch (const UnreachableError& e) {
      conn_.reset();
      spdlog::warn("work queue {}: {}", group_, e.what());
      std::this_thread::sleep_for(std::min<Millis>(wait, 1000ms));
      return std::nullopt;
    }
  }

  void ack(const WorkItem& item) override { connection().command({"XACK", kEventsStream, group_, item.event.stream_id}); }

 private:
  RedisConnection& connection() {
    if (!conn_ || conn_->broken()) {
      conn_ = std::make_unique<RedisConnection>(url_, timeout_);
      try {
        conn_->command({"XGROUP", "CREATE", kEventsStream, group_, "$", "MKSTREAM"});
      } catch (const RedisReplyError& e) {
        if (std::string(e.what()).find("BUSYGROUP") == std::string::npos) throw;
      }
    }
    return *conn_;
  }
  RedisUrl url_;
  std::string group_, consumer_;
  Millis claim_idle_, timeout_;
  std::string claim_cursor_ = "0-0";
  std::unique_ptr<RedisConnection> conn_;
};

class RedisBus final : public Bus {
 public:
  explicit RedisBus(RedisBusOptions opts) : opts_(std::move(opts)), outbox_(opts_.outbox_path, opts_.outbox_max) {
    if (opts_.metrics) {
      published_ = &opts_.metrics->counter("orch_events_published_total", "Events published on the bus", {"type"});
      outboxed_ = &opts_.metrics->counter("orch_events_outboxed_total", "Events written to the outbox while Redis was down").get();
    }
    if (outbox_.depth() > 0)
      spdlog::warn("outbox {} holds {} events from a previous run; they are sent when Redis is reachable", outbox_.path(),
                   outbox_.depth());
    // Reconnects and flushes the outbox even when nobody publishes.
    maintenance_ = std::thread([this] {
      while (!maintenance_stop_.wait_for(500ms)) {
        Pending tick;
        tick.tick = true;
        commit(tick);
      }
    });
  }

  ~RedisBus() override { close(); }

  PublishReceipt publish(const Event& e) override { return *submit(e, "", 0); }

  std::optional<PublishReceipt> publish_unique(const Event& e, const std::string& key, Millis ttl) override {
    return submit(e, key, std::chrono::duration_cast<std::chrono::seconds>(ttl).count());
  }

  void dead_letter(const Event& e, const json& reason) override {
    Pending p;
    p.record = OutboxRecord{kDeadStream, e.to_json(), "", 0, false, {{"reason", to_text(reason)}}};
    commit(p);
  }

  using Bus::subscribe;
  Subscription subscribe(Handler h, std::vector<std::string> type_prefixes) override {
    std::lock_guard lock(sub_mu_);
    auto id = ++next_sub_;
    handlers_[id] = Subscriber{std::move(h), std::move(type_prefixes)};
    if (!reader_.joinable()) reader_ = std::thread([this] { reader_loop(); });
    return Subscription([this, id] {
      std::lock_guard lock(sub_mu_);
      handlers_.erase(id);
    });
  }

  std::vector<Event> read_after(const std::string& after, size_t count) override {
    std::lock_guard lock(query_mu_);
    auto& c = query_connection();
    std::string start = after.empty() ? "-" : "(" + after;
    return guarded([&] { return events_from_entries(c.command({"XRANGE", kEventsStream, start, "+", "COUNT", std::to_string(count)})); });
  }

  std::vector<Event> recent(size_t count) override {
    std::lock_guard lock(query_mu_);
    auto& c = query_connection();
    auto events = guarded([&] {
      return events_from_entries(c.command({"XREVRANGE", kEventsStream, "+", "-", "COUNT", std::to_string(count)}));
    });
    std::reverse(events.begin(), events.end());
    return events;
  }

  std::unique_ptr<WorkQueue> work_queue(const std::string& group, const std::string& consumer, Millis claim_idle) override {
    return std::make_unique<RedisWorkQueue>(opts_.url, group, consumer, claim_idle, 2000ms);
  }

  BusHealth health() override {
    std::lock_guard lock(state_mu_);
    return {"redis", connected_, outbox_.depth(), last_error_};
  }

  void close() override {
    {
      std::lock_guard lock(mu_);
      if (closing_) return;
      closing_ = true;
    }
    maintenance_stop_.request_stop();
    if (maintenance_.joinable()) maintenance_.join();
    Pending last;  // a last chance for what the outbox holds
    last.tick = true;
    commit(last, /*even_if_closing=*/true);
    reader_stop_ = true;
    if (reader_.joinable()) reader_.join();
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
    std::condition_variable cv;
  };

  std::optional<PublishReceipt> commit(Pending& p, bool even_if_closing = false) {
    std::unique_lock lock(mu_);
    if (closing_ && !even_if_closing) throw BusError("the bus is shutting down");
    line_.push_back(&p);
    while (!p.done && line_.front() != &p) p.cv.wait(lock);
    if (!p.done) {
      std::vector<Pending*> batch(line_.begin(), line_.begin() + static_cast<long>(std::min<size_t>(line_.size(), 1024)));
      lock.unlock();
      process(batch);
      lock.lock();
      for (auto* q : batch) {
        line_.pop_front();
        q->done = true;
        if (q != &p) q->cv.notify_one();
      }
      if (!line_.empty()) line_.front()->cv.notify_one();
    }
    if (p.error) std::rethrow_exception(p.error);
    return p.result;
  }

  std::optional<PublishReceipt> submit(const Event& e, const std::string& key, long long ttl_s) {
    Pending p;
    // The type as a field of its own lets readers skip entries without parsing the event.
    p.record = OutboxRecord{kEventsStream, e.to_json(), key, ttl_s, true, json{{"type", e.type}}};
    // Serialised here, before joining the line, so the leader's batch is only I/O.
    p.record.wire = to_text(p.record.event);
    auto receipt = commit(p);
    if (receipt && published_) published_->labels({e.type}).inc();
    return receipt;
  }

  // Runs on the leader only: the one user of the publishing connection at any time.
  void process(const std::vector<Pending*>& batch) {
    ensure_connected();
    std::vector<Pending*> items;
    for (auto* p : batch)
      if (!p->tick) items.push_back(p);
    if (items.empty()) return;
    if (conn_ && outbox_.depth() == 0 && send(items)) return;
    to_outbox(items);
  }

  void ensure_connected() {
    if (conn_ && !conn_->broken()) {
      if (outbox_.depth() > 0) flush_outbox();
      return;
    }
    conn_.reset();
    auto now = std::chrono::steady_clock::now();
    if (now < next_attempt_) return;
    try {
      conn_ = std::make_unique<RedisConnection>(opts_.url, opts_.connect_timeout);
      // Loaded on every (re)connect: a restarted Redis has forgotten it.
      conn_->command({"SCRIPT", "LOAD", kPublishOnce});
      set_state(true, "");
      backoff_ = 100ms;
      spdlog::info("redis bus connected to {}:{}", opts_.url.host, opts_.url.port);
      if (outbox_.depth() > 0) flush_outbox();
    } catch (const Error& e) {
      conn_.reset();
      if (connected_ || last_error_.empty()) spdlog::warn("redis bus unreachable ({}); events go to the outbox", e.what());
      set_state(false, e.what());
      next_attempt_ = now + backoff_;
      backoff_ = std::min<Millis>(backoff_ * 2, 5000ms);
    }
  }

  void set_state(bool connected, const std::string& error) {
    std::lock_guard lock(state_mu_);
    connected_ = connected;
    last_error_ = error;
  }

  std::vector<std::vector<std::string>> commands_for(const OutboxRecord& r, const std::string& forced_key = "") const {
    std::string event = r.wire.empty() ? to_text(r.event) : r.wire;
    const std::string& key = r.dedupe_key.empty() ? forced_key : r.dedupe_key;
    std::string maxlen = std::to_string(r.stream == kEventsStream ? opts_.stream_maxlen : 10'000);
    auto with_extra_fields = [&](std::vector<std::string> cmd) {
      for (const auto& [k, v] : r.extra.items()) {
        cmd.push_back(k);
        cmd.push_back(as_text(v));
      }
      return cmd;
    };
    if (!key.empty())
      return {with_extra_fields({"EVALSHA", kPublishOnceSha, "2", r.stream, kDedupePrefix + key,
                                 std::to_string(r.ttl_s > 0 ? r.ttl_s : 86'400), maxlen, event, r.publish ? kEventsStream : ""})};
    auto xadd = with_extra_fields({"XADD", r.stream, "MAXLEN", "~", maxlen, "*", "event", event});
    if (!r.publish) return {xadd};
    return {xadd, {"PUBLISH", kEventsStream, event}};
  }

  // Sends a batch in one pipeline. False (nothing answered) when Redis failed under it.
  bool send(const std::vector<Pending*>& batch) {
    std::vector<std::vector<std::string>> commands;
    std::vector<size_t> first_reply;
    for (auto* p : batch) {
      // A key this instance saw recently is a duplicate without asking Redis.
      if (!p->record.dedupe_key.empty() && !local_seen_.insert(p->record.dedupe_key, std::chrono::seconds(p->record.ttl_s))) {
        first_reply.push_back(SIZE_MAX);
        continue;
      }
      first_reply.push_back(commands.size());
      for (auto& c : commands_for(p->record)) commands.push_back(std::move(c));
    }
    std::vector<RedisReply> replies;
    try {
      if (!commands.empty()) replies = conn_->pipeline(commands);
    } catch (const Error& e) {
      spdlog::warn("redis bus: publish failed ({}); using the outbox", e.what());
      for (auto* p : batch)
        if (!p->record.dedupe_key.empty()) local_seen_.erase(p->record.dedupe_key);
      conn_.reset();
      set_state(false, e.what());
      next_attempt_ = std::chrono::steady_clock::now() + backoff_;
      return false;
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      if (first_reply[i] == SIZE_MAX) continue;  // duplicate: result stays empty
      const auto& r = replies[first_reply[i]];
      if (!r.is_nil()) batch[i]->result = PublishReceipt{r.str, false};  // nil: duplicate per Redis
    }
    return true;
  }

  void to_outbox(const std::vector<Pending*>& batch) {
    std::vector<OutboxRecord> records;
    std::vector<bool> duplicate;
    for (auto* p : batch) {
      bool dup = !p->record.dedupe_key.empty() && !local_seen_.insert(p->record.dedupe_key, std::chrono::seconds(p->record.ttl_s));
      duplicate.push_back(dup);
      if (!dup) records.push_back(p->record);
    }
    try {
      outbox_.append(records);
      if (outboxed_) outboxed_->inc(static_cast<double>(records.size()));
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
        std::vector<std::vector<std::string>> commands;
        size_t end = std::min(records.size(), sent + chunk);
        for (size_t i = sent; i < end; ++i)
          for (auto& c : commands_for(records[i], "event:" + records[i].event.value("id", ""))) commands.push_back(std::move(c));
        conn_->pipeline(commands);
        sent = end;
      }
      outbox_.replace({});
      spdlog::info("outbox flushed: {} events delivered in order", records.size());
    } catch (const Error& e) {
      spdlog::warn("outbox flush interrupted after {} of {} events: {}", sent, records.size(), e.what());
      outbox_.replace({records.begin() + static_cast<long>(sent), records.end()});
      conn_.reset();
      set_state(false, e.what());
    }
  }

  // --- reader thread: live delivery to subscribers ---

  void reader_loop() {
    follow_events(
        opts_.url, "$",
        [this](const Event& e) {
          std::vector<Handler> handlers;
          {
            std::lock_guard lock(sub_mu_);
            for (auto& [id, sub] : handlers_)
              if (type_matches(sub.type_prefixes, e.type)) handlers.push_back(sub.handler);
          }
          for (auto& h : handlers) h(e);
        },
        [this] { return reader_stop_.load(); }, {},
        [this](std::string_view type) {
          std::lock_guard lock(sub_mu_);
          for (auto& [id, sub] : handlers_)
            if (type_matches(sub.type_prefixes, type)) return true;
          return false;
        });
  }

  RedisConnection& query_connection() {
    if (!query_ || query_->broken()) query_ = std::make_unique<RedisConnection>(opts_.url, opts_.connect_timeout);
    return *query_;
  }

  template <class F>
  std::vector<Event> guarded(F f) {
    try {
      return f();
    } catch (const UnreachableError&) {
      query_.reset();
      throw;
    }
  }

  RedisBusOptions opts_;
  Outbox outbox_;
  DedupeCache local_seen_;
  Family<Counter>* published_ = nullptr;
  Counter* outboxed_ = nullptr;

  std::mutex mu_;
  std::deque<Pending*> line_;
  bool closing_ = false;
  std::thread maintenance_;
  StopSignal maintenance_stop_;
  std::unique_ptr<RedisConnection> conn_;
  std::chrono::steady_clock::time_point next_attempt_{};
  Millis backoff_{100};

  std::mutex state_mu_;
  bool connected_ = false;
  std::string last_error_;

  std::mutex sub_mu_;
  struct Subscriber {
    Handler handler;
    std::vector<std::string> type_prefixes;
  };
  std::map<unsigned long long, Subscriber> handlers_;
  unsigned long long next_sub_ = 0;
  std::thread reader_;
  std::atomic<bool> reader_stop_{false};

  std::mutex query_mu_;
  std::unique_ptr<RedisConnection> query_;
};

}  // namespace

std::unique_ptr<Bus> make_redis_bus(RedisBusOptions opts) { return std::make_unique<RedisBus>(std::move(opts)); }

}  // namespace orch
