#include "bus/bus.hpp"
#include "serve/daemon.hpp"

namespace orch {

std::unique_ptr<Bus> make_bus(const Config& config) {
  // Redis bus arrives with issue 2's outbox work; until then the in-process bus serves.
  return make_memory_bus();
}

}  // namespace orch
