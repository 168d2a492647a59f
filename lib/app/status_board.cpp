#include "app/status_board.hpp"

namespace orch {

const char* to_string(Health h) {
  switch (h) {
    case Health::ok: return "ok";
    case Health::degraded: return "degraded";
    case Health::down: return "down";
    case Health::off: return "off";
  }
  return "?";
}

void StatusBoard::set_component(const std::string& name, Health health, json detail, bool gates_readiness) {
  std::lock_guard lock(mu_);
  components_[name] = {health, std::move(detail), gates_readiness};
}

void StatusBoard::set_service(const std::string& name, Health health, json detail) {
  std::lock_guard lock(mu_);
  services_[name] = {health, std::move(detail), false};
}

bool StatusBoard::ready() const {
  std::lock_guard lock(mu_);
  for (const auto& [name, e] : components_)
    if (e.gates_readiness && e.health != Health::ok) return false;
  return true;
}

json StatusBoard::snapshot() const {
  std::lock_guard lock(mu_);
  Health worst = Health::ok;
  auto fold = [&](Health h) {
    if (h == Health::down) worst = Health::down;
    else if (h == Health::degraded && worst != Health::down) worst = Health::degraded;
  };
  json components = json::object();
  for (const auto& [name, e] : components_) {
    json c = e.detail.is_object() ? e.detail : json::object();
    c["status"] = to_string(e.health);
    components[name] = c;
    // A component that is down degrades orch; it does not make orch itself down.
    if (e.health == Health::down || e.health == Health::degraded) fold(Health::degraded);
  }
  json services = json::object();
  for (const auto& [name, e] : services_) {
    json s = e.detail.is_object() ? e.detail : json::object();
    s["status"] = to_string(e.health);
    services[name] = s;
    fold(e.health);
  }
  components["services"] = services;
  return {{"status", to_string(worst)}, {"components", components}};
}

}  // namespace orch
