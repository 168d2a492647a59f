// bench/live: does watching starve the API? Webhook throughput on a real `orch serve` + real
// redis-server, first with no live viewers, then with N viewers on GET /events (SSE), then with N
// on GET /ws (WebSocket). Every viewer receives every event; one epoll thread reads them all.
//
//   bench_live [--viewers 200] [--connections 32] [--seconds 8]
//
// Prints req/s and p99 for each run, the ratio to the run without viewers, and what the viewers got.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "support/orch_server.hpp"
#include "support/redis_server.hpp"
#include "viewers.hpp"
#include "webhook_load.hpp"

using namespace orch;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  int viewers = 200, connections = 32;
  double seconds = 8;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--viewers" && i + 1 < argc) viewers = std::atoi(argv[++i]);
    else if (a == "--connections" && i + 1 < argc) connections = std::atoi(argv[++i]);
    else if (a == "--seconds" && i + 1 < argc) seconds = std::atof(argv[++i]);
    else {
      std::fprintf(stderr, "usage: bench_live [--viewers N] [--connections N] [--seconds S]\n");
      return 64;
    }
  }
  test::RedisServer redis;
  test::OrchServer orch({{"REDIS_URL", redis.url()}, {"TRUSTED_WEBHOOK_SECRET", bench::kWebhookSecret}, {"ORCH_LOG_LEVEL", "warn"}});
  bench::run_webhook_load(orch.port(), connections, 1.0, 900'000'000);  // warm-up

  std::printf("bench/live: %d webhook connections, %.0f s per run, %d viewers\n", connections, seconds, viewers);
  long long next_id = 0;
  auto run = [&](const char* label) {
    auto r = bench::run_webhook_load(orch.port(), connections, seconds, next_id);
    next_id += 1'000'000;
    std::printf("  %-16s %7.0f req/s  p99 %5.2f ms  errors %lld", label, r.per_second(), bench::percentile(r.latencies_us, 0.99) / 1000,
                r.errors);
    for (const auto& [status, n] : r.error_statuses) std::printf(" [%s: %lld]", status < 0 ? "closed" : std::to_string(status).c_str(), n);
    std::printf("\n");
    return r.per_second();
  };
  // Runs without viewers before and after each run with them: the machine's drift between runs
  // is of the same order as the effect measured.
  double before = run("no viewers");
  double ratio[2] = {0, 0};
  for (int kind = 0; kind < 2; ++kind) {
    const bool ws = kind == 1;
    double with = 0;
    {
      bench::Viewers v(orch.port(), viewers, ws);
      const char* metric = ws ? "orch_live_ws_viewers" : "orch_live_viewers";
      for (int i = 0; i < 100 && bench::gauge(orch, metric) < viewers; ++i) std::this_thread::sleep_for(50ms);
      with = run(ws ? "/ws viewers" : "SSE viewers");
      std::printf("  %-16s %zu of %d still connected, %.1f MB received in all\n", "", v.connected(), viewers,
                  static_cast<double>(v.bytes()) / 1e6);
    }
    const double after = run("no viewers");
    ratio[kind] = with / ((before + after) / 2);
    before = after;
  }
  std::printf("  with viewers / without (mean of the runs around it): SSE %.0f %%, WebSocket %.0f %% (target: >= 90 %%)\n",
              100 * ratio[0], 100 * ratio[1]);
  const auto log = orch.log();
  size_t dropped = 0;
  for (size_t at = 0; (at = log.find("live: dropping", at)) != std::string::npos; ++at) ++dropped;
  std::printf("  viewers dropped for lagging: %zu\n", dropped);
  if (std::getenv("BENCH_SHOW_LOG")) std::printf("%s\n", log.c_str());
  return 0;
}
