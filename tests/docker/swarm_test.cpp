// Swarm mode as orch reads it (docker/swarm.hpp) against a real dockerd put into swarm mode by the
// test (tests/support SwarmMode), and a second dockerd joined as a worker.
#include "docker/swarm.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <iostream>

#include "support/docker_engine.hpp"
#include "support/process.hpp"

// Its own namespace: the unity build compiles this file with the rest of its folder.
namespace swarm_test {

using namespace orch;
using namespace orch::docker;
using namespace std::chrono_literals;

namespace {

test::DockerEngine*& engine = test::share_engine();

Client client(const test::DockerEngine& e) { return Client(Endpoint{e.socket(), "http://localhost", std::nullopt}); }

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

const SwarmService* find_service(const std::vector<SwarmService>& v, const std::string& name) {
  auto it = std::find_if(v.begin(), v.end(), [&](const SwarmService& s) { return s.name == name; });
  return it == v.end() ? nullptr : &*it;
}

TEST(Swarm, AnEngineOutsideASwarmReadsAsInactive) {
  REQUIRE_ENGINE();
  auto c = client(*engine);
  auto info = swarm_info(c);
  EXPECT_EQ(info.local_node_state, "inactive");
  EXPECT_FALSE(info.active());
  EXPECT_FALSE(info.manager());
  // Listing services is a manager's call: outside a swarm the engine refuses it (503).
  EXPECT_THROW(list_services(c), DockerError);
}

TEST(Swarm, ServicesTasksAndNodesOfASingleNodeSwarm) {
  REQUIRE_ENGINE();
  auto c = client(*engine);
  auto t0 = std::chrono::steady_clock::now();
  test::SwarmMode swarm(*engine);
  std::cout << "[ measure  ] swarm init: " << seconds_since(t0) << " s\n";

  auto info = swarm_info(c);
  EXPECT_TRUE(info.active());
  EXPECT_TRUE(info.manager());
  EXPECT_EQ(info.node_id, swarm.manager_node_id());
  EXPECT_EQ(info.node_addr, "127.0.0.1");
  EXPECT_EQ(info.nodes, 1);

  t0 = std::chrono::steady_clock::now();
  auto web_id = swarm.create_service("web", {"--replicas", "2", "--label", "tier=front"}, {"sleep", "300"});
  ASSERT_TRUE(test::eventually([&] { return swarm.running_replicas("web") == 2; }, 60s));
  std::cout << "[ measure  ] service create to 2/2 running: " << seconds_since(t0) << " s\n";
  swarm.create_service("crash", {"--restart-delay", "1s"}, {"sh", "-c", "echo dying; exit 3"});

  // Both services, with the replica counts of ServiceStatus and what their spec says.
  std::vector<SwarmService> services;
  ASSERT_TRUE(test::eventually(
      [&] {
        services = list_services(c);
        const auto* w = find_service(services, "web");
        return w && w->running == 2 && find_service(services, "crash");
      },
      30s));
  const auto* web = find_service(services, "web");
  EXPECT_EQ(web->id, web_id);
  EXPECT_EQ(web->mode, "replicated");
  EXPECT_EQ(web->desired, 2);
  EXPECT_EQ(web->image, engine->image());
  EXPECT_EQ(web->labels.at("tier"), "front");
  EXPECT_GT(web->version, 0u);
  EXPECT_EQ(web->force_update, 0);
  EXPECT_FALSE(web->has_healthcheck);
  EXPECT_EQ(inspect_service(c, "web").id, web_id);
  EXPECT_THROW(inspect_service(c, "no-such-service"), docker::NotFoundError);

  // The crashing service's failed tasks carry the exit code and the engine's error.
  std::vector<SwarmTask> failed;
  ASSERT_TRUE(test::eventually(
      [&] {
        failed.clear();
        for (const auto& t : list_tasks(c, "crash"))
          if (t.failed()) failed.push_back(t);
        return !failed.empty();
      },
      30s));
  EXPECT_EQ(failed.front().state, "failed");
  EXPECT_EQ(failed.front().error, "task: non-zero exit (3)");
  ASSERT_TRUE(failed.front().exit_code.has_value());
  EXPECT_EQ(*failed.front().exit_code, 3);
  EXPECT_EQ(failed.front().node_id, swarm.manager_node_id());
  EXPECT_EQ(failed.front().slot, 1);
  EXPECT_EQ(list_services(c).size(), 2u);
  // Tasks of one service only (by name or id), newest first.
  auto web_tasks = list_tasks(c, web_id);
  EXPECT_EQ(web_tasks.size(), 2u);
  for (const auto& t : web_tasks) {
    EXPECT_EQ(t.service_id, web_id);
    EXPECT_EQ(t.state, "running");
    EXPECT_FALSE(t.container_id.empty());
  }

  auto nodes = list_nodes(c);
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].id, swarm.manager_node_id());
  EXPECT_EQ(nodes[0].role, "manager");
  EXPECT_EQ(nodes[0].state, "ready");
  EXPECT_TRUE(nodes[0].leader);

  swarm.remove_service("web");
  swarm.remove_service("crash");
  EXPECT_TRUE(test::eventually([&] { return list_services(c).empty(); }, 10s));
}

// Two daemons on one machine, manager and worker: the join works and tasks run on the worker;
// a worker whose dockerd stops is reported down by the manager after Swarm's heartbeat grace.
// `orch watch` on the manager shows the service, its task's container and the node going down.
TEST(Swarm, TwoDaemonsAsManagerAndWorkerAndWhatOrchWatchShows) {
  REQUIRE_ENGINE();
  auto c = client(*engine);
  test::DockerEngine worker;  // before the swarm: it leaves the swarm on the worker as it ends
  test::SwarmMode swarm(*engine);
  test::TempDir d;
  test::Process watch({ORCH_BINARY, "watch", "--no-bus", "-o", "ndjson"}, {{"DOCKER_HOST", engine->host()}, {"REDIS_URL", ""}},
                      d.file("watch.out"));
  auto watched = [&](const std::string& type, const std::string& key, const std::string& value) {
    auto text = test::read_file(d.file("watch.out"));
    size_t pos = 0;
    while (pos < text.size()) {
      auto nl = text.find('\n', pos);
      auto e = parse_json(text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
      if (e.is_object() && e.value("type", "") == type && e["data"].value(key, "") == value) return e;
      if (nl == std::string::npos) break;
      pos = nl + 1;
    }
    return json();
  };
  // The watcher is connected once it shows a container event of the engine.
  ASSERT_TRUE(test::eventually(
      [&] {
        engine->docker({"run", "--rm", "--network", "none", "--name", "watch-probe", engine->image(), "true"});
        return !watched("container.started", "container", "watch-probe").is_null();
      },
      30s));
  const auto worker_id = swarm.join_worker(worker);
  auto nodes = list_nodes(c);
  ASSERT_EQ(nodes.size(), 2u);
  auto w = std::find_if(nodes.begin(), nodes.end(), [&](const SwarmNode& n) { return n.id == worker_id; });
  ASSERT_NE(w, nodes.end());
  EXPECT_EQ(w->role, "worker");
  // Status.Addr is the address the manager sees the worker connect from (127.0.0.1 here), not its
  // advertised one.
  auto wc = client(worker);
  EXPECT_FALSE(swarm_info(wc).manager());
  EXPECT_TRUE(swarm_info(wc).active());

  swarm.create_service("onworker", {"--constraint", "node.id==" + worker_id}, {"sleep", "300"});
  ASSERT_TRUE(test::eventually([&] { return swarm.running_replicas("onworker") == 1; }, 60s));
  EXPECT_NE(worker.must({"ps", "-q", "--filter", "label=com.docker.swarm.service.name=onworker"}), "");
  // A task on the manager: its container's events name the service and the task.
  swarm.create_service("onmanager", {"--constraint", "node.role==manager"}, {"sleep", "300"});
  ASSERT_TRUE(test::eventually([&] { return !watched("container.started", "service", "onmanager").is_null(); }, 60s));
  EXPECT_EQ(watched("container.started", "service", "onmanager")["data"]["task"], "onmanager.1");
  EXPECT_FALSE(watched("swarm.service.create", "service", "onworker").is_null());
  EXPECT_EQ(watched("swarm.service.create", "service", "onmanager")["subject"], "onmanager");

  auto t0 = std::chrono::steady_clock::now();
  worker.stop();
  ASSERT_TRUE(test::eventually(
      [&] {
        for (const auto& n : list_nodes(c))
          if (n.id == worker_id) return n.state == "down";
        return false;
      },
      90s));
  std::cout << "[ measure  ] worker dockerd stopped to node down: " << seconds_since(t0) << " s\n";
  json down;
  EXPECT_TRUE(test::eventually([&] { return !(down = watched("swarm.node.down", "id", worker_id)).is_null(); }, 10s));
  EXPECT_EQ(down["data"]["state.old"], "ready");
  watch.stop();
  worker.start();
}

TEST(Swarm, ReadersNeverThrowOnOddDocuments) {
  for (const auto* text : {"null", "[]", "{}", "[1,\"x\",null]", "[{\"ID\":5,\"Spec\":[],\"ServiceStatus\":\"x\"}]",
                           "[{\"Status\":{\"ContainerStatus\":{\"ExitCode\":\"3\"}}}]", "{\"Swarm\":7}"}) {
    auto j = json::parse(text);
    EXPECT_NO_THROW(services_from_json(j)) << text;
    EXPECT_NO_THROW(tasks_from_json(j)) << text;
    EXPECT_NO_THROW(nodes_from_json(j)) << text;
    EXPECT_NO_THROW(swarm_from_info(j)) << text;
  }
  EXPECT_EQ(swarm_from_info(json::parse("{\"Swarm\":{\"LocalNodeState\":\"inactive\"}}")).active(), false);
  auto tasks = tasks_from_json(json::parse(R"([{"ID":"a","Status":{"State":"pending","Timestamp":"2026-01-01T00:00:01Z"}},
      {"ID":"b","Status":{"State":"failed","Timestamp":"2026-01-01T00:00:02Z","ContainerStatus":{"ContainerID":"c","ExitCode":3}}}])"));
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0].id, "b");  // newest first
  EXPECT_EQ(tasks[0].exit_code, 3);
  EXPECT_FALSE(tasks[1].exit_code.has_value());  // never ran: no exit code, though the engine says 0
}

}  // namespace

}  // namespace swarm_test
