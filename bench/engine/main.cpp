// bench/engine: what `orch serve` costs the Docker engine. A real `orch serve` talks to the test
// dockerd through a counting unix-socket proxy (tests/support/socket_proxy); with 0, 20 and 500
// containers (each its own service in the release history; up to 20 of them running, the rest
// exited after running once), idle and under churn (containers created, restarted and removed
// continuously, straight at the engine so that only orch's requests are counted), it prints the
// engine requests orch made per minute, by kind: list (GET /containers/json), inspect
// (GET /containers/{id}/json), events (GET /events), other.
//
//   bench_engine [--seconds 60] [--containers 0,20,500] [--viewer]
//
// --viewer keeps GET /status polled every 5 s, as an open status page does. ORCH_BINARY_UNDER_TEST
// runs another orch binary (e.g. an older build, to compare); LD_LIBRARY_PATH is passed through.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "docker/client.hpp"
#include "support/docker_engine.hpp"
#include "support/orch_server.hpp"
#include "support/socket_proxy.hpp"

using namespace orch;
using namespace std::chrono_literals;

namespace {

// What kind of engine request a request line is ("GET /v1.47/containers/json?all=1 HTTP/1.1").
std::string kind_of(std::string_view line) {
  auto sp = line.find(' ');
  if (sp == std::string_view::npos) return "other";
  auto method = line.substr(0, sp);
  auto path = line.substr(sp + 1, line.find(' ', sp + 1) - sp - 1);
  if (path.rfind("/v", 0) == 0) path.remove_prefix(std::min(path.size(), path.find('/', 1)));
  path = path.substr(0, path.find('?'));
  if (method == "GET" && path == "/containers/json") return "list";
  if (method == "GET" && path.rfind("/containers/", 0) == 0 && path.size() > 17 && path.substr(path.size() - 5) == "/json")
    return "inspect";
  if (method == "GET" && path == "/events") return "events";
  return "other";
}

class Counts {
 public:
  void add(std::string_view line) {
    std::lock_guard lock(mu_);
    ++counts_[kind_of(line)];
  }
  std::map<std::string, long> take() {
    std::lock_guard lock(mu_);
    auto out = counts_;
    counts_.clear();
    return out;
  }

 private:
  std::mutex mu_;
  std::map<std::string, long> counts_;
};

std::vector<int> parse_list(const std::string& s) {
  std::vector<int> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(std::atoi(item.c_str()));
  return out;
}

// `n` containers named bench-<i>, labelled for healing; the first 20 keep running, the others ran
// once and exited 0 (a clean exit: nothing to heal, but each is a service with a release).
void make_containers(docker::Client& engine, const std::string& image, int n) {
  for (int i = 0; i < n; ++i) {
    json body = {{"Image", image},
                 {"Cmd", i < 20 ? json{"sleep", "3600"} : json{"true"}},
                 {"Labels", {{"orch.heal", "true"}}},
                 {"HostConfig", {{"NetworkMode", "none"}}}};
    auto id = engine.create("bench-" + std::to_string(i), body);
    engine.start(id);
  }
}

void remove_all(docker::Client& engine) {
  for (const auto& c : engine.list(true)) engine.remove(c.id, true);
}

// Creates, restarts and removes containers continuously until `stop`.
void churn(docker::Client& engine, const std::string& image, const std::atomic<bool>& stop) {
  std::vector<std::string> mine;
  for (int k = 0; !stop; ++k) {
    try {
      json body = {{"Image", image}, {"Cmd", {"sleep", "3600"}}, {"HostConfig", {{"NetworkMode", "none"}}}};
      auto id = engine.create("churn-" + std::to_string(k), body);
      engine.start(id);
      mine.push_back(id);
      if (mine.size() > 1) engine.restart(mine[mine.size() / 2], 0);
      if (mine.size() > 5) {
        engine.remove(mine.front(), true);
        mine.erase(mine.begin());
      }
    } catch (const Error& e) {
      std::fprintf(stderr, "churn: %s\n", e.what());
    }
    std::this_thread::sleep_for(250ms);
  }
  for (const auto& id : mine) engine.remove(id, true);
}

}  // namespace

int main(int argc, char** argv) {
  int seconds = 60;
  std::vector<int> sizes = {0, 20, 500};
  bool viewer = false;
  const char* under_test = std::getenv("ORCH_BINARY_UNDER_TEST");
  const std::string binary = under_test && *under_test ? under_test : ORCH_BINARY;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) seconds = std::atoi(argv[++i]);
    else if (a == "--containers" && i + 1 < argc) sizes = parse_list(argv[++i]);
    else if (a == "--viewer") viewer = true;
    else {
      std::fprintf(stderr, "usage: bench_engine [--seconds 60] [--containers 0,20,500] [--viewer]\n");
      return 64;
    }
  }
  if (!test::DockerEngine::available()) {
    std::fprintf(stderr, "bench_engine needs dockerd and busybox-static (run as root)\n");
    return 3;
  }
  test::DockerEngine dockerd;
  docker::Client engine(docker::Endpoint{dockerd.socket(), "http://localhost", std::nullopt});
  Counts counts;
  test::SocketProxy proxy(dockerd.socket());
  proxy.on_request([&counts](std::string_view line) { counts.add(line); });

  std::printf("bench/engine: engine requests per minute made by %s (engine API %s, %d s per row%s)\n", binary.c_str(),
              engine.api_version().c_str(), seconds, viewer ? ", GET /status every 5 s" : "");
  std::printf("%-11s %-6s %8s %8s %8s %8s\n", "containers", "load", "list", "inspect", "events", "other");
  for (int n : sizes) {
    remove_all(engine);
    make_containers(engine, dockerd.image(), n);
    std::map<std::string, std::string> env = {{"DOCKER_HOST", proxy.host()}, {"REDIS_URL", ""}};
    if (const char* ld = std::getenv("LD_LIBRARY_PATH")) env["LD_LIBRARY_PATH"] = ld;
    test::OrchServer orch(env);
    test::eventually([&] { return orch.get("/readyz").status == 200; }, 30s);
    std::this_thread::sleep_for(5s);  // past the first reconcile
    for (const bool busy : {false, true}) {
      std::atomic<bool> stop{false};
      std::thread load;
      if (busy) load = std::thread([&] { churn(engine, dockerd.image(), stop); });
      std::thread page;
      if (viewer)
        page = std::thread([&] {
          while (!stop) {
            orch.get("/status");
            for (int i = 0; i < 50 && !stop; ++i) std::this_thread::sleep_for(100ms);
          }
        });
      counts.take();
      std::this_thread::sleep_for(std::chrono::seconds(seconds));
      auto c = counts.take();
      stop = true;
      if (load.joinable()) load.join();
      if (page.joinable()) page.join();
      auto per_minute = [&](const char* k) { return static_cast<double>(c[k]) * 60.0 / seconds; };
      std::printf("%-11d %-6s %8.1f %8.1f %8.1f %8.1f\n", n, busy ? "churn" : "idle", per_minute("list"), per_minute("inspect"),
                  per_minute("events"), per_minute("other"));
      std::fflush(stdout);
    }
  }
  remove_all(engine);
  return 0;
}
