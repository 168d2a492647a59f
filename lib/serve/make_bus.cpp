#include "bus/bus.hpp"
#include "bus/redis_bus.hpp"
#include "serve/daemon.hpp"

namespace orch {

std::unique_ptr<Bus> make_bus(const Config& config, Metrics* metrics, std::vector<std::string> groups) {
  const auto& s = config.settings;
  if (!s.has("REDIS_URL")) return make_memory_bus(10'000, metrics);
  RedisBusOptions o;
  o.url = redis::parse_url(s.str("REDIS_URL"));
  o.outbox_path = state_dir(s) + "/outbox.ndjson";
  o.outbox_max = static_cast<size_t>(s.integer("ORCH_OUTBOX_MAX"));
  o.metrics = metrics;
  o.groups = std::move(groups);
  return make_redis_bus(std::move(o));
}

}  // namespace orch
