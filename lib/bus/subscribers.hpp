#pragma once
// The live subscribers of a bus (SPEC §4), shared by both buses: who wants which event types, and
// the rule that makes unsubscribing safe. A Subscription's reset() returns only once no call of its
// handler is in flight on another thread, so its owner may stop or be destroyed right after:
// handlers run outside any lock, and without this wait `orch serve` stopped the healer while the
// bus thread was still in the rollback module's handler asking it for its lease (ThreadSanitizer,
// docs/reliability.md).
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bus/bus.hpp"

namespace orch {

class Subscribers {
 public:
  Subscribers() = default;
  Subscribers(const Subscribers&) = delete;
  Subscribers& operator=(const Subscribers&) = delete;

  // Adds a handler for the types starting with one of `type_prefixes` (none: every type). The
  // Subscription removes it, waiting for its calls on other threads to return; a handler may
  // unsubscribe itself (the call on the remover's own thread is not waited for).
  Subscription add(Bus::Handler handler, std::vector<std::string> type_prefixes);
  // Calls every handler that wants `e`, in the order they subscribed, on the calling thread and
  // outside the lock (a handler may publish, or unsubscribe).
  void deliver(const Event& e);
  // Whether any handler wants this type (the Redis reader skips the other entries unparsed).
  bool wants(std::string_view type) const;

 private:
  struct Entry {
    Bus::Handler handler;
    std::vector<std::string> type_prefixes;
    bool removed = false;
    std::vector<std::thread::id> in_call;  // one element per call in flight (a thread may be in it twice)
  };
  void remove(unsigned long long id);

  mutable std::mutex mu_;
  std::condition_variable call_ended_;
  size_t waiting_ = 0;  // removers waiting on call_ended_
  std::map<unsigned long long, std::shared_ptr<Entry>> entries_;
  unsigned long long next_id_ = 0;
};

}  // namespace orch
