#pragma once
#include <memory>
#include <string>
#include <vector>

#include "bus/bus.hpp"
#include "redis/connection.hpp"

namespace orch {

class Metrics;

struct RedisBusOptions {
  redis::Url url;
  std::string outbox_path;
  size_t outbox_max = 100'000;
  size_t stream_maxlen = 100'000;  // XADD MAXLEN ~
  std::chrono::milliseconds connect_timeout{500};
  Metrics* metrics = nullptr;
  // Consumer groups of orch:events made (at "$") on every connect, before this bus stores anything:
  // a work queue makes its group when it first reads, and an event stored before that (a webhook
  // in the first moment of a first start) would lie behind the group's start, never a job.
  std::vector<std::string> groups;
};

// Redis bus: XADD + PUBLISH per event (one round trip per batch: publishers are group-committed by a
// writer thread), the outbox while Redis is down, consumer groups for work queues.
std::unique_ptr<Bus> make_redis_bus(RedisBusOptions opts);

}  // namespace orch
