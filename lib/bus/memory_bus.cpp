// In-process bus: one process, no Redis. Keeps the newest events in memory, sequence ids
// "<n>-0" shaped like Redis stream ids so that SSE resume works the same way.
#include <condition_variable>
#include <deque>
#include <list>
#include <map>
#include <mutex>

#include "bus/bus.hpp"
#include "bus/dedupe_cache.hpp"
#include "bus/subscribers.hpp"
#include "metrics/metrics.hpp"

namespace orch {
namespace {

unsigned long long seq_of(const std::string& id) {
  if (id.empty()) return 0;
  try {
    return std::stoull(id.substr(0, id.find('-')));
  } catch (const std::exception&) {
    return 0;
  }
}

class MemoryWorkQueue final : public WorkQueue {
 public:
  void push(const Event& e) {
    std::lock_guard lock(mu_);
    pending_.push_back({e, 1});
    cv_.notify_one();
  }
  std::optional<WorkItem> next(Millis wait) override {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, wait, [&] { return !pending_.empty(); })) return std::nullopt;
    auto item = std::move(pending_.front());
    pending_.pop_front();
    return item;
  }
  void ack(const WorkItem&) override {}
  size_t waiting() {
    std::lock_guard lock(mu_);
    return pending_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WorkItem> pending_;
};

class MemoryBus final : public Bus {
 public:
  MemoryBus(size_t keep, Metrics* metrics) : keep_(keep) {
    if (metrics) published_ = &metrics->counter("orch_events_published_total", "Events published on the bus", {"type"});
  }

  PublishReceipt publish(const Event& in) override {
    Event e = in;
    std::vector<std::shared_ptr<MemoryWorkQueue>> groups;
    {
      std::lock_guard lock(mu_);
      e.stream_id = std::to_string(++seq_) + "-0";
      log_.push_back(e);
      if (log_.size() > keep_) log_.pop_front();
      for (auto& [name, g] : groups_) groups.push_back(g);
    }
    if (published_) published_->labels({e.type}).inc();
    // Live subscribers first: a consumer of a work queue (the pipeline) publishes what the event
    // caused (ingest.*) on its own thread, and had it been handed the event first, that later event
    // (a higher id) could reach the live feed before this one, which then drops this one as
    // already seen (status page test: content.published missing behind its ingest.started).
    subscribers_.deliver(e);
    for (auto& g : groups) g->push(e);
    return {e.stream_id, false};
  }

  std::optional<PublishReceipt> publish_unique(const Event& e, const std::string& key, Millis ttl) override {
    if (!key.empty() && !seen_.insert(key, ttl)) return std::nullopt;
    return publish(e);
  }

  using Bus::subscribe;
  Subscription subscribe(Handler h, std::vector<std::string> type_prefixes) override {
    return subscribers_.add(std::move(h), std::move(type_prefixes));
  }

  std::vector<Event> read_after(const std::string& after, size_t count) override {
    std::lock_guard lock(mu_);
    auto from = seq_of(after);
    std::vector<Event> out;
    for (const auto& e : log_) {
      if (seq_of(e.stream_id) <= from) continue;
      out.push_back(e);
      if (out.size() >= count) break;
    }
    return out;
  }

  std::vector<Event> recent(size_t count) override {
    std::lock_guard lock(mu_);
    size_t n = std::min(count, log_.size());
    return {log_.end() - static_cast<long>(n), log_.end()};
  }

  std::unique_ptr<WorkQueue> work_queue(const std::string& group, const std::string&, Millis) override {
    std::lock_guard lock(mu_);
    auto& g = groups_[group];
    if (!g) g = std::make_shared<MemoryWorkQueue>();
    // Consumers of one group share its queue, as Redis consumer groups share a stream.
    struct Handle final : WorkQueue {
      std::shared_ptr<MemoryWorkQueue> q;
      std::optional<WorkItem> next(Millis wait) override { return q->next(wait); }
      void ack(const WorkItem& i) override { q->ack(i); }
    };
    auto h = std::make_unique<Handle>();
    h->q = g;
    return h;
  }

  void dead_letter(const Event& e, const json& reason) override {
    std::lock_guard lock(mu_);
    dead_.push_back({e, reason});
  }

  QueueStats queue_stats(const std::string& group) override {
    std::shared_ptr<MemoryWorkQueue> g;
    QueueStats s;
    {
      std::lock_guard lock(mu_);
      s.dead = static_cast<long long>(dead_.size());
      auto it = groups_.find(group);
      if (it == groups_.end()) return s;
      g = it->second;
    }
    s.group_exists = true;
    s.waiting = static_cast<long long>(g->waiting());  // in process an entry taken is done with: nothing pending
    return s;
  }

  BusHealth health() override { return {"memory", true, 0, ""}; }
  void close() override {}

 private:
  size_t keep_;
  std::mutex mu_;
  unsigned long long seq_ = 0;
  std::deque<Event> log_;
  std::map<std::string, std::shared_ptr<MemoryWorkQueue>> groups_;
  std::vector<std::pair<Event, json>> dead_;
  DedupeCache seen_;
  Family<Counter>* published_ = nullptr;
  Subscribers subscribers_;  // called on the publisher's thread
};

}  // namespace

std::unique_ptr<Bus> make_memory_bus(size_t keep, Metrics* metrics) { return std::make_unique<MemoryBus>(keep, metrics); }

}  // namespace orch
