#include "live/feed.hpp"

#include <cstdio>

namespace orch::live {

bool stream_id_after(const std::string& a, const std::string& b) {
  auto parse = [](const std::string& id) {
    unsigned long long ms = 0, seq = 0;
    std::sscanf(id.c_str(), "%llu-%llu", &ms, &seq);
    return std::make_pair(ms, seq);
  };
  return parse(a) > parse(b);
}

Feed::Feed(Bus& bus, FeedOptions opts) : opts_(std::move(opts)) {
  if (!opts_.type_prefix.empty() && opts_.type_prefix.back() == '*') opts_.type_prefix.pop_back();
  const size_t limit = opts_.max_queued;
  sub_ = bus.subscribe([shared = shared_, limit](const Event& e) {
    std::lock_guard lock(shared->mu);
    if (shared->queue.size() >= limit) {
      shared->overflow = true;
      return;
    }
    shared->queue.push_back(e);
    shared->cv.notify_all();
  });
  if (opts_.resume_after.empty()) return;
  last_sent_ = opts_.resume_after;
  std::vector<Event> backlog;
  try {
    backlog = bus.read_after(opts_.resume_after, limit);
  } catch (const UnreachableError&) {
    // Redis down: live events still flow; the viewer resumes again on its next reconnect.
  }
  std::lock_guard lock(shared_->mu);
  shared_->queue.insert(shared_->queue.begin(), std::make_move_iterator(backlog.begin()), std::make_move_iterator(backlog.end()));
}

Feed::Status Feed::next(std::vector<Event>& out, std::chrono::milliseconds wait, const std::function<bool()>& stopped) {
  std::unique_lock lock(shared_->mu);
  shared_->cv.wait_for(lock, wait, [&] { return !shared_->queue.empty() || shared_->overflow || stopped(); });
  if (stopped()) return Status::stopped;
  if (shared_->overflow) return Status::overflow;
  std::deque<Event> batch;
  batch.swap(shared_->queue);
  lock.unlock();
  for (auto& e : batch) {
    if (!last_sent_.empty() && !e.stream_id.empty() && !stream_id_after(e.stream_id, last_sent_)) continue;
    if (!e.stream_id.empty()) last_sent_ = e.stream_id;
    if (!opts_.type_prefix.empty() && e.type.rfind(opts_.type_prefix, 0) != 0) continue;
    out.push_back(std::move(e));
  }
  return Status::ready;
}

}  // namespace orch::live
