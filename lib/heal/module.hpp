#pragma once
// The Docker watcher and healer inside `orch serve`, plus POST /heal.
#include <memory>

#include "docker/watcher.hpp"
#include "heal/healer.hpp"
#include "heal/leader.hpp"
#include "serve/module.hpp"

namespace orch::heal {

class Module final : public orch::Module {
 public:
  explicit Module(ServeContext& ctx);
  ~Module() override;
  const char* name() const override { return "healer"; }
  void start() override;
  void stop() override;

 private:
  void on_container_event(const docker::EventMessage& m);
  void on_connection(bool up, const std::string& why);
  ServeContext& ctx_;
  Healer healer_;
  docker::Watcher watcher_;
  std::unique_ptr<LeaderLease> lease_;
  Gauge& docker_connected_;
};

// container.* event type for an engine event, or "" for events that are not reported.
std::string container_event_type(const docker::EventMessage& m);

}  // namespace orch::heal
