// bench/heal: how fast a crashed container is restarted by a real `orch serve` against a real
// dockerd. Each round makes the container crash by itself (exit 1, not through the API), then
// measures from the engine's `die` event to orch's restart request (its log) and to the engine's
// next `start` event (running again).
//
//   bench_heal [--rounds 20]
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/json.hpp"
#include "docker/client.hpp"
#include "webhook_load.hpp"
#include "support/docker_engine.hpp"
#include "support/orch_server.hpp"

using namespace orch;
using namespace std::chrono_literals;

namespace {

// "2026-11-24T19:41:27.929Z" -> unix ms
long long parse_ms(const std::string& t) {
  std::tm tm{};
  int ms = 0;
  std::sscanf(t.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<long long>(timegm(&tm)) * 1000 + ms;
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 20;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--rounds" && i + 1 < argc) rounds = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: bench_heal [--rounds N]\n");
      return 64;
    }
  }
  if (!test::DockerEngine::available()) {
    std::fprintf(stderr, "bench_heal needs dockerd and busybox-static (run as root)\n");
    return 3;
  }
  test::DockerEngine engine;
  test::OrchServer orch({{"DOCKER_HOST", engine.host()},
                         {"REDIS_URL", ""},
                         {"ORCH_LOG_LEVEL", "debug"},
                         {"ORCH_LOG_FORMAT", "json"},
                         {"ORCH_HEAL_BACKOFF", "0s:0s"},  // measure reaction, not backoff
                         {"ORCH_HEAL_MAX_RESTARTS", "1000"}});
  test::eventually([&] { return orch.get("/readyz").status == 200; }, 30s);
  engine.must({"run", "-d", "--network", "none", "--name", "crashy", "--label", "orch.heal=true", "--stop-timeout", "1",
               engine.image(), "sh", "-c", "while [ ! -f /tmp/die ]; do sleep 0.02; done; rm /tmp/die; exit 1"});

  docker::Client client(docker::Endpoint{engine.socket(), "http://localhost", std::nullopt});
  std::mutex mu;
  std::vector<long long> die_ns, start_ns;
  std::atomic<bool> stop{false};
  std::thread follower([&] {
    client.events({}, [&](const docker::EventMessage& m) {
      if (m.attribute("name") != "crashy") return;
      std::lock_guard lock(mu);
      if (m.action == "die") die_ns.push_back(m.time_nano);
      if (m.action == "start") start_ns.push_back(m.time_nano);
    }, [&] { return stop.load(); });
  });
  std::this_thread::sleep_for(500ms);

  for (int r = 0; r < rounds; ++r) {
    size_t starts_before;
    {
      std::lock_guard lock(mu);
      starts_before = start_ns.size();
    }
    engine.must({"exec", "crashy", "touch", "/tmp/die"});
    bool ok = test::eventually([&] {
      std::lock_guard lock(mu);
      return start_ns.size() > starts_before;
    }, 30s);
    if (!ok) {
      std::fprintf(stderr, "round %d: container was not restarted\n%s\n", r, orch.log().c_str());
      return 2;
    }
    std::this_thread::sleep_for(200ms);
  }
  stop = true;
  follower.join();

  // orch's restart requests, from its JSON log.
  std::vector<long long> requested_ms;
  std::istringstream log(orch.log());
  for (std::string line; std::getline(log, line);) {
    auto j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    if (j.value("msg", "").find("restart requested for crashy") != std::string::npos) requested_ms.push_back(parse_ms(j["time"]));
  }
  std::vector<double> to_request, to_running;
  for (size_t i = 0; i < die_ns.size() && i < static_cast<size_t>(rounds); ++i) {
    double die_ms = static_cast<double>(die_ns[i]) / 1e6;
    if (i < requested_ms.size()) to_request.push_back(static_cast<double>(requested_ms[i]) - die_ms);
    // The container's first start came before the follower: start i is the restart after die i.
    if (i < start_ns.size()) to_running.push_back(static_cast<double>(start_ns[i]) / 1e6 - die_ms);
  }
  std::printf("bench/heal: %d crashes of a labelled container (exit 1), engine %s\n", rounds, client.api_version().c_str());
  std::printf("  die -> restart requested: p50 %.1f ms, p99 %.1f ms (n=%zu; log timestamps, 1 ms resolution)\n",
              bench::percentile(to_request, 0.5), bench::percentile(to_request, 0.99), to_request.size());
  std::printf("  die -> running again:     p50 %.1f ms, p99 %.1f ms (n=%zu)\n", bench::percentile(to_running, 0.5),
              bench::percentile(to_running, 0.99), to_running.size());
  engine.docker({"rm", "-f", "crashy"});
  return 0;
}
