#include "docker/swarm_events.hpp"

namespace orch::docker {

std::string swarm_event_type(const EventMessage& m) {
  if (m.type == "service") return "swarm.service." + m.action;
  if (m.type == "node") {
    if (const auto state = m.attribute("state.new"); !state.empty() && m.action == "update") return "swarm.node." + state;
    return "swarm.node." + m.action;
  }
  return "";
}

Event swarm_event(const std::string& type, const EventMessage& m) {
  const auto name = m.attribute("name");
  json data = {{m.type == "node" ? "node" : "service", name.empty() ? m.id : name}, {"id", m.id}};
  for (const auto& [k, v] : m.attributes)
    if (k != "name") data[k] = v;
  return make_event(type, name.empty() ? m.id : name, std::move(data));
}

Event node_state_event(const SwarmNode& n, const std::string& old_state) {
  const auto name = n.hostname.empty() ? n.id : n.hostname;
  json data = {{"node", name}, {"id", n.id}, {"state.new", n.state}, {"state.old", old_state}};
  return make_event("swarm.node." + n.state, name, std::move(data));
}

std::string task_of(const Labels& attributes) {
  auto it = attributes.find("com.docker.swarm.task.name");
  if (it == attributes.end() || it->second.empty()) return "";
  // "<service>.<slot>.<task id>" (a global service's: "<service>.<node id>.<task id>")
  const auto dot = it->second.rfind('.');
  return dot == std::string::npos ? it->second : it->second.substr(0, dot);
}

}  // namespace orch::docker
