#pragma once
// Inside `orch serve`: fills the history store (history/store.hpp) with what the health loop does
// not record itself. The timeline from the bus (heal.* and rollback.* events, from every instance:
// the store keeps each once); the hourly counters of webhooks and pipeline jobs from this
// instance's metrics (the one owner of those counts, refused webhooks included, which have no
// event), added as deltas every `period` and at stop, so instances sharing a Redis add up.
#include <map>
#include <string>
#include <thread>

#include "bus/bus.hpp"
#include "core/stop_token.hpp"
#include "history/store.hpp"
#include "metrics/metrics.hpp"

namespace orch::history {

class Recorder {
 public:
  Recorder(Store& store, Bus& bus, const Metrics& metrics, Millis period = Millis(60'000));
  ~Recorder();
  void start();
  void stop();  // samples once more, so counts since the last period are kept
  // Adds the metrics' growth since the last sample to the current hour.
  void sample();

 private:
  // Current totals: webhooks.accepted, webhooks.refused, jobs.succeeded, jobs.dead_lettered,
  // jobs.seconds, jobs.timed.
  std::map<std::string, double> totals() const;
  Store& store_;
  Bus& bus_;
  const Metrics& metrics_;
  Millis period_;
  Subscription sub_;
  std::mutex mu_;
  std::map<std::string, double> last_;  // under mu_
  StopSignal stop_;
  std::thread thread_;
};

}  // namespace orch::history
