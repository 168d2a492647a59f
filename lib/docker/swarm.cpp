#include "docker/swarm.hpp"

#include <algorithm>

#include "docker/engine_json.hpp"

namespace orch::docker {

using namespace engine_json;

json SwarmInfo::to_json() const {
  json j = {{"local_node_state", local_node_state},
            {"control_available", control_available},
            {"node_id", node_id},
            {"node_addr", node_addr},
            {"node_count", nodes},
            {"manager_count", managers}};
  if (!error.empty()) j["error"] = error;
  return j;
}

SwarmInfo swarm_from_info(const json& info) {
  const auto& s = member(info, "Swarm");
  SwarmInfo out;
  out.local_node_state = text_of(s, "LocalNodeState");
  out.control_available = flag_of(s, "ControlAvailable");
  out.node_id = text_of(s, "NodeID");
  out.node_addr = text_of(s, "NodeAddr");
  out.error = text_of(s, "Error");
  out.nodes = whole_of(s, "Nodes");
  out.managers = whole_of(s, "Managers");
  return out;
}

// The CLI records the image's digest after an `@` when it could resolve one: the name is shown.
static std::string without_digest(std::string image) {
  if (auto at = image.find('@'); at != std::string::npos) image.erase(at);
  return image;
}

std::vector<SwarmService> services_from_json(const json& j) {
  std::vector<SwarmService> out;
  if (!j.is_array()) return out;
  for (const auto& s : j) {
    if (!s.is_object()) continue;
    SwarmService v;
    v.id = text_of(s, "ID");
    v.version = static_cast<unsigned long long>(std::max<long long>(0, whole_of(member(s, "Version"), "Index")));
    const auto& spec = member(s, "Spec");
    v.spec = spec.is_object() ? spec : json::object();
    v.name = text_of(spec, "Name");
    v.labels = labels_of(member(spec, "Labels"));
    const auto& tt = member(spec, "TaskTemplate");
    const auto& cs = member(tt, "ContainerSpec");
    v.spec_image = text_of(cs, "Image");
    v.image = without_digest(v.spec_image);
    v.container_labels = labels_of(member(cs, "Labels"));
    v.force_update = whole_of(tt, "ForceUpdate");
    const auto& test = member(member(cs, "Healthcheck"), "Test");
    v.has_healthcheck = test.is_array() && !test.empty() && !(test.size() == 1 && test[0] == "NONE");
    const auto& mode = member(spec, "Mode");
    if (mode.is_object() && !mode.empty()) {
      const std::string m = mode.begin().key();
      v.mode = m == "Replicated"      ? "replicated"
               : m == "Global"        ? "global"
               : m == "ReplicatedJob" ? "replicated-job"
               : m == "GlobalJob"     ? "global-job"
                                      : m;
    }
    const auto& st = member(s, "ServiceStatus");
    v.desired = whole_of(st, "DesiredTasks");
    v.running = whole_of(st, "RunningTasks");
    // Without ServiceStatus (an engine older than v1.41), the spec still says what was asked for.
    if (!st.is_object() && v.mode == "replicated") v.desired = whole_of(member(mode, "Replicated"), "Replicas");
    v.update_state = text_of(member(s, "UpdateStatus"), "State");
    v.updated_at = text_of(s, "UpdatedAt");
    if (const auto& prev = member(s, "PreviousSpec"); prev.is_object())
      v.previous_image = without_digest(text_of(member(member(prev, "TaskTemplate"), "ContainerSpec"), "Image"));
    out.push_back(std::move(v));
  }
  return out;
}

std::vector<SwarmTask> tasks_from_json(const json& j) {
  std::vector<SwarmTask> out;
  if (!j.is_array()) return out;
  for (const auto& t : j) {
    if (!t.is_object()) continue;
    SwarmTask v;
    v.id = text_of(t, "ID");
    v.service_id = text_of(t, "ServiceID");
    v.node_id = text_of(t, "NodeID");
    v.slot = whole_of(t, "Slot");
    v.desired_state = text_of(t, "DesiredState");
    const auto& st = member(t, "Status");
    v.state = text_of(st, "State");
    v.message = text_of(st, "Message");
    v.error = text_of(st, "Err");
    v.timestamp = text_of(st, "Timestamp");
    const auto& cs = member(st, "ContainerStatus");
    v.container_id = text_of(cs, "ContainerID");
    // The engine says ExitCode 0 for a task that never ran: only a container that ran has one.
    if (const auto& code = member(cs, "ExitCode"); code.is_number_integer() && !v.container_id.empty())
      v.exit_code = int_of(cs, "ExitCode");
    out.push_back(std::move(v));
  }
  // Newest first: what a reader of "the last failures" wants on top (RFC 3339 UTC sorts as text).
  std::stable_sort(out.begin(), out.end(), [](const SwarmTask& a, const SwarmTask& b) { return a.timestamp > b.timestamp; });
  return out;
}

std::vector<SwarmNode> nodes_from_json(const json& j) {
  std::vector<SwarmNode> out;
  if (!j.is_array()) return out;
  for (const auto& n : j) {
    if (!n.is_object()) continue;
    SwarmNode v;
    v.id = text_of(n, "ID");
    v.hostname = text_of(member(n, "Description"), "Hostname");
    v.role = text_of(member(n, "Spec"), "Role");
    v.availability = text_of(member(n, "Spec"), "Availability");
    v.state = text_of(member(n, "Status"), "State");
    v.addr = text_of(member(n, "Status"), "Addr");
    v.message = text_of(member(n, "Status"), "Message");
    v.leader = flag_of(member(n, "ManagerStatus"), "Leader");
    out.push_back(std::move(v));
  }
  return out;
}

SwarmInfo swarm_info(Client& c) { return swarm_from_info(Client::checked(c.request("GET", "/info"), "info")); }

std::vector<SwarmService> list_services(Client& c) {
  return services_from_json(Client::checked(c.request("GET", "/services?status=true"), "list services"));
}

SwarmService inspect_service(Client& c, const std::string& id_or_name) {
  auto j = Client::checked(c.request("GET", "/services/" + http::url_encode(id_or_name)), "inspect service " + id_or_name);
  auto v = services_from_json(json::array({j}));
  if (v.empty()) throw DockerError(200, "inspect service " + id_or_name + ": not a service document");
  return v.front();
}

std::vector<SwarmTask> list_tasks(Client& c, const std::string& service) {
  std::string path = "/tasks";
  if (!service.empty()) path += "?filters=" + filters_param({{"service", {service}}});
  return tasks_from_json(Client::checked(c.request("GET", path), "list tasks"));
}

std::vector<SwarmNode> list_nodes(Client& c) { return nodes_from_json(Client::checked(c.request("GET", "/nodes"), "list nodes")); }

}  // namespace orch::docker
