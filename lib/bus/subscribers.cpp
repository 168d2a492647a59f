#include "bus/subscribers.hpp"

#include <algorithm>

namespace orch {

Subscription Subscribers::add(Bus::Handler handler, std::vector<std::string> type_prefixes) {
  std::lock_guard lock(mu_);
  const auto id = ++next_id_;
  entries_[id] = std::make_shared<Entry>(Entry{std::move(handler), std::move(type_prefixes)});
  return Subscription([this, id] { remove(id); });
}

void Subscribers::remove(unsigned long long id) {
  std::unique_lock lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  auto entry = std::move(it->second);
  entries_.erase(it);
  entry->removed = true;  // no call starts from now on
  const auto self = std::this_thread::get_id();
  ++waiting_;
  call_ended_.wait(lock, [&] { return std::all_of(entry->in_call.begin(), entry->in_call.end(), [&](auto t) { return t == self; }); });
  --waiting_;
}

void Subscribers::deliver(const Event& e) {
  std::vector<std::shared_ptr<Entry>> wanted;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, entry] : entries_)
      if (type_matches(entry->type_prefixes, e.type)) wanted.push_back(entry);
  }
  const auto self = std::this_thread::get_id();
  for (const auto& entry : wanted) {
    {
      std::lock_guard lock(mu_);
      if (entry->removed) continue;  // unsubscribed by an earlier handler of this event, or meanwhile
      entry->in_call.push_back(self);
    }
    // The call ends (and a waiting remover is told) even when the handler throws.
    struct Ended {
      Subscribers& subs;
      Entry& entry;
      std::thread::id self;
      ~Ended() {
        std::lock_guard lock(subs.mu_);
        entry.in_call.erase(std::find(entry.in_call.begin(), entry.in_call.end(), self));
        if (subs.waiting_ > 0) subs.call_ended_.notify_all();
      }
    } ended{*this, *entry, self};
    entry->handler(e);
  }
}

bool Subscribers::wants(std::string_view type) const {
  std::lock_guard lock(mu_);
  for (const auto& [id, entry] : entries_)
    if (type_matches(entry->type_prefixes, type)) return true;
  return false;
}

}  // namespace orch
