#include "core/clock.hpp"

#include <thread>

namespace orch {

void SystemClock::sleep_for(duration d) { std::this_thread::sleep_for(d); }

SystemClock& SystemClock::instance() {
  static SystemClock clock;
  return clock;
}

}  // namespace orch
