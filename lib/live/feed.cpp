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

Feed::Feed(Hub& hub, Bus& bus, FeedOptions opts) : hub_(hub), opts_(std::move(opts)), cursor_(hub.attach()) {
  if (!opts_.type_prefix.empty() && opts_.type_prefix.back() == '*') opts_.type_prefix.pop_back();
  if (opts_.resume_after.empty()) return;
  last_sent_ = opts_.resume_after;
  try {
    for (const auto& e : bus.read_after(opts_.resume_after, 10'000)) backlog_.push_back(LiveEvent::from(e));
  } catch (const UnreachableError&) {
    // Redis down: live events still flow; the viewer resumes again on its next reconnect.
  }
}

Hub::Status Feed::collect(std::vector<LiveEventPtr>& out) {
  std::vector<LiveEventPtr> batch;
  batch.swap(backlog_);
  if (hub_.collect(cursor_, batch) == Hub::Status::overflow) return Hub::Status::overflow;
  for (auto& e : batch) {
    if (!last_sent_.empty() && !e->stream_id.empty() && !stream_id_after(e->stream_id, last_sent_)) continue;
    if (!e->stream_id.empty()) last_sent_ = e->stream_id;
    if (!opts_.type_prefix.empty() && e->type.rfind(opts_.type_prefix, 0) != 0) continue;
    out.push_back(std::move(e));
  }
  return Hub::Status::ready;
}

}  // namespace orch::live
