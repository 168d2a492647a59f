#pragma once
// The event bus (SPEC §4). One interface, two implementations: Redis (stream + pub/sub, with an
// on-disk outbox while Redis is down) and in-process (REDIS_URL unset, single instance).
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/duration.hpp"
#include "core/error.hpp"
#include "core/event.hpp"
#include "core/json.hpp"

namespace orch {

inline constexpr const char* kEventsStream = "orch:events";
inline constexpr const char* kDeadStream = "orch:dead";
inline constexpr const char* kPipelineGroup = "orch-pipeline";  // the pipeline's consumer group

// The bus could not store an event anywhere (Redis down and the outbox full or unwritable).
struct BusError : Error {
  explicit BusError(const std::string& m) : Error(ExitCode::unknown, m) {}
};

struct PublishReceipt {
  std::string stream_id;  // empty while the event waits in the outbox
  bool queued = false;    // true: in the on-disk outbox, to be flushed when Redis returns
};

struct BusHealth {
  std::string kind;  // "redis" | "memory"
  bool connected = false;
  size_t outbox_depth = 0;
  std::string error;  // last connection error, if any
};

// Unsubscribes when reset or destroyed; returns once its handler is not running on another thread
// (bus/subscribers.hpp), so what the handler uses may go right after.
class Subscription {
 public:
  Subscription() = default;
  explicit Subscription(std::function<void()> cancel) : cancel_(std::move(cancel)) {}
  Subscription(Subscription&& o) noexcept : cancel_(std::move(o.cancel_)) { o.cancel_ = nullptr; }
  Subscription& operator=(Subscription&& o) noexcept {
    reset();
    cancel_ = std::move(o.cancel_);
    o.cancel_ = nullptr;
    return *this;
  }
  ~Subscription() { reset(); }
  void reset() {
    if (cancel_) cancel_();
    cancel_ = nullptr;
  }

 private:
  std::function<void()> cancel_;
};

struct WorkItem {
  Event event;          // event.stream_id is the entry's id
  int deliveries = 1;   // how often the group has handed this entry out
};

// A share of the event stream for one consumer of a group (Redis consumer group on orch:events;
// in process: a queue fed by publish). The entry a consumer took last stays its own while it
// works on it, however long that takes (a docling conversion may take minutes): the queue renews
// its claim every claim_idle / 3 until ack() or the next next(). An entry left unacknowledged (the
// consumer moved on, or its process died and stopped renewing) is handed to another consumer
// after `claim_idle`, so a crash mid-job is retried and a slow job is not run twice.
class WorkQueue {
 public:
  virtual ~WorkQueue() = default;
  // Waits up to `wait` for the next entry; nullopt when there is none.
  virtual std::optional<WorkItem> next(Millis wait) = 0;
  virtual void ack(const WorkItem& item) = 0;
};

class Bus {
 public:
  using Handler = std::function<void(const Event&)>;
  virtual ~Bus() = default;

  // Returns once the event is durable (stream or outbox) and has been handed to live subscribers
  // of this process. Throws BusError when it cannot be stored.
  virtual PublishReceipt publish(const Event& e) = 0;

  // publish(), unless an event with the same `dedupe_key` was published within `ttl` (by any
  // instance sharing the Redis): then nothing is stored and nullopt is returned. An empty key
  // never deduplicates.
  virtual std::optional<PublishReceipt> publish_unique(const Event& e, const std::string& dedupe_key, Millis ttl) = 0;

  // publish_unique() for each event, in order, written together where the bus can (one Redis
  // round trip): one result per event. Throws BusError when they cannot be stored.
  struct UniqueEvent {
    Event event;
    std::string dedupe_key;
    Millis ttl;
  };
  virtual std::vector<std::optional<PublishReceipt>> publish_unique_batch(const std::vector<UniqueEvent>& events);

  // publish_unique_batch() without waiting: `done` gets the receipts, or the exception that stopped
  // them (a BusError when they could not be stored), exactly once, on a bus thread (or before this
  // returns, for a bus that stores at once). Lets an event loop go on serving while Redis works.
  using BatchDone = std::function<void(std::vector<std::optional<PublishReceipt>> receipts, std::exception_ptr error)>;
  virtual void publish_unique_batch_async(std::vector<UniqueEvent> events, BatchDone done);

  // Live delivery of events published from now on (from every instance, with Redis) whose type
  // starts with one of `type_prefixes` (none: every event). Handlers run on a bus thread and must
  // return quickly. With Redis, entries no subscriber asked for are skipped before being parsed.
  // Once the Subscription is reset, its handler is not called again nor still running elsewhere.
  virtual Subscription subscribe(Handler h, std::vector<std::string> type_prefixes) = 0;
  Subscription subscribe(Handler h) { return subscribe(std::move(h), {}); }

  // Stored events after stream id `after` (exclusive; empty = the oldest kept), oldest first.
  // These two throw UnreachableError when the store cannot be read (Redis down).
  virtual std::vector<Event> read_after(const std::string& after, size_t count) = 0;
  // The newest `count` stored events, oldest first.
  virtual std::vector<Event> recent(size_t count) = 0;

  virtual std::unique_ptr<WorkQueue> work_queue(const std::string& group, const std::string& consumer,
                                                Millis claim_idle) = 0;

  // Appends to the dead-letter stream orch:dead (the failed event plus why).
  virtual void dead_letter(const Event& e, const json& reason) = 0;

  // How far the consumer group `group` is behind: entries not yet handed out (`waiting`; -1 when
  // Redis cannot tell) and handed out but not yet acknowledged (`pending`), with `group_exists`
  // false before its first consumer; and the length of the dead-letter stream. For /status.
  // Throws UnreachableError when Redis is down.
  struct QueueStats {
    bool group_exists = false;
    long long waiting = 0;
    long long pending = 0;
    long long dead = 0;
  };
  virtual QueueStats queue_stats(const std::string& group) = 0;

  virtual BusHealth health() = 0;
  // Stops background threads; flushes what can be flushed.
  virtual void close() = 0;
};

// Whether `type` starts with one of `prefixes`; an empty list matches every type.
bool type_matches(const std::vector<std::string>& prefixes, std::string_view type);

class Metrics;
std::unique_ptr<Bus> make_memory_bus(size_t keep = 10'000, Metrics* metrics = nullptr);

}  // namespace orch
