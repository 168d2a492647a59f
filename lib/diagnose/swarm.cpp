#include "diagnose/swarm.hpp"
#include "core/clock.hpp"

#include <future>
#include <map>

namespace orch::diagnose {

json SwarmTaskReport::to_json() const {
  return {{"id", id},       {"slot", slot},   {"node", node},
          {"state", state}, {"error", error}, {"exit_code", exit_code ? json(*exit_code) : json(nullptr)},
          {"at", at}};
}

json SwarmServiceReport::to_json() const {
  json tasks = json::array();
  for (const auto& t : failing_tasks) tasks.push_back(t.to_json());
  return {{"id", id},
          {"name", name},
          {"mode", mode},
          {"image", image},
          {"state", state},
          {"desired", desired},
          {"running", running},
          {"health", health},
          {"last_health_output", last_health_output},
          {"failed_recently", failed_recently},
          {"failing_tasks", tasks}};
}

json SwarmSection::to_json() const {
  json j = info.to_json();
  json n = json::array();
  for (const auto& x : nodes)
    n.push_back({{"id", x.id},
                 {"hostname", x.hostname},
                 {"role", x.role},
                 {"availability", x.availability},
                 {"state", x.state},
                 {"addr", x.addr},
                 {"leader", x.leader}});
  j["nodes"] = n;
  if (!error.empty()) j["error"] = error;
  return j;
}

// The worst health among the service's running task containers on this node (unhealthy, starting,
// healthy), else the newest failed one's (Swarm kills an unhealthy task: its last output says why).
static void read_health(docker::Client& docker, const docker::SwarmInfo& info, const std::vector<docker::SwarmTask>& tasks,
                        SwarmServiceReport& r) {
  static const std::map<std::string, int> rank = {{"healthy", 0}, {"starting", 1}, {"unhealthy", 2}};
  int worst = -1;
  auto look = [&](const docker::SwarmTask& t) {
    try {
      auto c = docker.inspect(t.container_id);
      if (!c.health) return false;
      auto it = rank.find(c.health->status);
      int rk = it == rank.end() ? 1 : it->second;
      if (rk > worst) {
        worst = rk;
        r.health = c.health->status;
        r.last_health_output = c.health->last_output;
      }
      return true;
    } catch (const NotFoundError&) {
      return false;  // removed since (task history outlives containers)
    }
  };
  for (const auto& t : tasks)
    if (t.state == "running" && t.node_id == info.node_id && !t.container_id.empty()) look(t);
  if (worst >= 0) return;
  for (const auto& t : tasks)
    if (t.failed() && t.node_id == info.node_id && !t.container_id.empty() && look(t)) return;
}

SwarmSection diagnose_swarm(docker::Client& docker, const docker::SwarmInfo& info, const std::function<bool(const std::string&)>& wanted) {
  SwarmSection out;
  out.info = info;
  if (!info.manager()) {
    out.error = "this node is a swarm worker: services, tasks and nodes are read on a manager";
    return out;
  }
  std::vector<docker::SwarmService> services;
  try {
    services = docker::list_services(docker);
    out.nodes = docker::list_nodes(docker);
  } catch (const docker::DockerError& e) {
    out.error = e.what();
    return out;
  }
  std::map<std::string, std::string> hostnames;
  for (const auto& n : out.nodes) hostnames[n.id] = n.hostname.empty() ? n.id : n.hostname;
  const long long now_ns = unix_ns();
  const long long recent_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(kRecentFailure).count();

  std::vector<std::future<SwarmServiceReport>> futures;
  for (const auto& s : services) {
    if (!wanted(s.name)) continue;
    futures.push_back(std::async(std::launch::async, [&, s] {
      SwarmServiceReport r;
      r.id = s.id;
      r.name = s.name;
      r.mode = s.mode;
      r.image = s.image;
      r.desired = s.desired;
      r.running = s.running;
      r.health = s.has_healthcheck ? "" : "none";
      r.state = r.desired == 0 || r.running >= r.desired ? "up" : r.running == 0 ? "down" : "degraded";
      auto tasks = docker::list_tasks(docker, s.id);
      for (const auto& t : tasks) {
        if (!t.failed()) continue;
        if (auto at = docker::engine_time_ns(t.timestamp); at && now_ns - *at < recent_ns) r.failed_recently = true;
        if (r.failing_tasks.size() >= kFailingTasksShown) continue;
        auto node = hostnames.find(t.node_id);
        r.failing_tasks.push_back({t.id, node == hostnames.end() ? t.node_id : node->second, t.state, t.error.empty() ? t.message : t.error,
                                   t.timestamp, t.slot, t.exit_code});
      }
      if (s.has_healthcheck) read_health(docker, info, tasks, r);
      if (r.health.empty()) r.health = "unknown";  // a health check, and no container of it on this node
      return r;
    }));
  }
  for (auto& f : futures) out.services.push_back(f.get());
  return out;
}

}  // namespace orch::diagnose
