#pragma once
// Inside `orch serve`: the periodic health loop (every HEALTH_INTERVAL; state for /health, and
// service.up / service.down / service.degraded events only when a service changes) and POST /diagnose.
#include <map>
#include <thread>

#include "diagnose/report.hpp"
#include "app/module.hpp"

namespace orch::diagnose {

// Remembers each service's last state; returns the event type to emit, or "" when unchanged.
class ChangeDetector {
 public:
  std::string observe(const ServiceReport& r);

 private:
  std::map<std::string, ServiceState> last_;
};

class Module final : public orch::Module {
 public:
  explicit Module(ServeContext& ctx);
  ~Module() override;
  const char* name() const override { return "health-loop"; }
  void start() override;
  void stop() override;
  // One round of the loop (exposed so tests need not wait for the interval).
  void probe_once();

 private:
  void record(const ServiceReport& r, Health h);
  ServeContext& ctx_;
  ChangeDetector changes_;
  Family<Gauge>& up_;
  Family<Gauge>& response_ms_;
  StopSignal stop_;
  std::thread thread_;
};

}  // namespace orch::diagnose
