#include "bus/bus.hpp"

namespace orch {

std::vector<std::optional<PublishReceipt>> Bus::publish_unique_batch(const std::vector<UniqueEvent>& events) {
  std::vector<std::optional<PublishReceipt>> out;
  out.reserve(events.size());
  for (const auto& e : events) out.push_back(publish_unique(e.event, e.dedupe_key, e.ttl));
  return out;
}

void Bus::publish_unique_batch_async(std::vector<UniqueEvent> events, BatchDone done) {
  std::vector<std::optional<PublishReceipt>> receipts;
  try {
    receipts = publish_unique_batch(events);
  } catch (const std::exception&) {
    return done({}, std::current_exception());  // handed to the caller, who answers for it
  }
  done(std::move(receipts), nullptr);
}

bool type_matches(const std::vector<std::string>& prefixes, std::string_view type) {
  if (prefixes.empty()) return true;
  for (const auto& p : prefixes)
    if (type.substr(0, p.size()) == p) return true;
  return false;
}

}  // namespace orch
