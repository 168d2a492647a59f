#include "bus/bus.hpp"

namespace orch {

std::vector<std::optional<PublishReceipt>> Bus::publish_unique_batch(const std::vector<UniqueEvent>& events) {
  std::vector<std::optional<PublishReceipt>> out;
  out.reserve(events.size());
  for (const auto& e : events) out.push_back(publish_unique(e.event, e.dedupe_key, e.ttl));
  return out;
}

bool type_matches(const std::vector<std::string>& prefixes, std::string_view type) {
  if (prefixes.empty()) return true;
  for (const auto& p : prefixes)
    if (type.substr(0, p.size()) == p) return true;
  return false;
}

}  // namespace orch
