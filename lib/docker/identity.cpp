#include "docker/identity.hpp"

#include <algorithm>

namespace orch::docker {

static std::string label_of(const Labels& labels, const char* key) {
  auto it = labels.find(key);
  return it == labels.end() ? std::string() : it->second;
}

const ServiceSpec* configured_service(const Config& cfg, std::string_view name, const Labels& labels) {
  const std::string compose = label_of(labels, kComposeServiceLabel);
  for (const auto& s : cfg.services)
    if (s.container == name || (!compose.empty() && s.container == compose)) return &s;
  return nullptr;
}

std::string service_of(const Config& cfg, std::string_view name, const Labels& labels) {
  if (const auto* s = configured_service(cfg, name, labels)) return s->name;
  if (auto compose = label_of(labels, kComposeServiceLabel); !compose.empty()) return compose;
  if (auto swarm = label_of(labels, kSwarmServiceLabel); !swarm.empty()) return swarm;
  return std::string(name);
}

bool swarm_service_matches(const ServiceSpec& spec, std::string_view name) {
  const std::string& c = spec.container.empty() ? spec.name : spec.container;
  if (name == c || name == spec.name) return true;
  // docker stack deploy names a stack's services <stack>_<service>.
  return name.size() > c.size() + 1 && name.substr(name.size() - c.size()) == c && name[name.size() - c.size() - 1] == '_';
}

const ServiceSpec* configured_swarm_service(const Config& cfg, std::string_view name) {
  for (const auto& s : cfg.services)
    if (swarm_service_matches(s, name)) return &s;
  return nullptr;
}

bool swarm_task(const Labels& labels) { return labels.count("com.docker.swarm.task.id") > 0; }

bool heal_labelled(const Labels& labels) {
  return label_of(labels, "orch.heal") == "true" || label_of(labels, "autoheal") == "true";
}

bool monitor_only(const Labels& labels) { return label_of(labels, "orch.monitor-only") == "true"; }

bool in_orch_scope(const Config& cfg, std::string_view name, const Labels& labels) {
  return heal_labelled(labels) || monitor_only(labels) || configured_service(cfg, name, labels) != nullptr;
}

bool matches_names(const std::vector<std::string>& names, const Config& cfg, std::string_view name, const Labels& labels) {
  const std::string service = service_of(cfg, name, labels), compose = label_of(labels, kComposeServiceLabel);
  return std::any_of(names.begin(), names.end(), [&](const std::string& n) {
    return n == name || n == service || (!compose.empty() && n == compose);
  });
}

}  // namespace orch::docker
