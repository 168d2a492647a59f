// bench/webhook: webhook ingest on a real `orch serve` with a real redis-server: every request is
// a distinct Builder.io publish (no dedupe hits), HMAC-signed, so each one costs orch an HMAC
// verify + JSON parse + XADD + PUBLISH. Keep-alive connections, closed loop.
//
//   bench_webhook [--connections 32] [--seconds 10] [--runs 1] [--no-redis] [--log-level info]
//
// Prints accepted requests, req/s and latency percentiles (send to complete response). With
// --runs N the load runs N times against the same server (new events each time) and the run with
// the median throughput is reported too: on a shared VM one run can be 15 % off the next.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "support/orch_server.hpp"
#include "support/redis_server.hpp"
#include "webhook_load.hpp"

using namespace orch;

int main(int argc, char** argv) {
  int connections = 32;
  double seconds = 10;
  int runs = 1;
  bool use_redis = true;
  std::string log_level = "info";  // the default: one log line per accepted event
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--connections" && i + 1 < argc) connections = std::atoi(argv[++i]);
    else if (a == "--seconds" && i + 1 < argc) seconds = std::atof(argv[++i]);
    else if (a == "--runs" && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
    else if (a == "--no-redis") use_redis = false;
    else if (a == "--log-level" && i + 1 < argc) log_level = argv[++i];
    else {
      std::fprintf(stderr, "usage: bench_webhook [--connections N] [--seconds S] [--runs N] [--no-redis] [--log-level L]\n");
      return 64;
    }
  }

  std::unique_ptr<test::RedisServer> redis;
  if (use_redis) redis = std::make_unique<test::RedisServer>();
  test::OrchServer orch({{"REDIS_URL", redis ? redis->url() : ""},
                         {"TRUSTED_WEBHOOK_SECRET", bench::kWebhookSecret},
                         {"ORCH_LOG_LEVEL", log_level}});
  std::printf("bench/webhook: %d connections, %.1f s x %d, bus=%s, log level %s\n", connections, seconds, runs,
              use_redis ? "redis" : "in-process", log_level.c_str());
  std::vector<bench::LoadResult> results;
  long long errors = 0;
  for (int run = 0; run < runs; ++run) {
    results.push_back(bench::run_webhook_load(orch.port(), connections, seconds, run * 10'000'000LL));
    const auto& r = results.back();
    errors += r.errors;
    if (runs > 1)
      std::printf("  run %d: %.0f req/s, p50 %.2f ms, p99 %.2f ms, %lld errors\n", run + 1, r.per_second(),
                  bench::percentile(r.latencies_us, 0.50) / 1000, bench::percentile(r.latencies_us, 0.99) / 1000, r.errors);
  }
  std::vector<const bench::LoadResult*> by_rate;
  for (const auto& r : results) by_rate.push_back(&r);
  std::sort(by_rate.begin(), by_rate.end(), [](auto* a, auto* b) { return a->per_second() < b->per_second(); });
  const auto& r = *by_rate[by_rate.size() / 2];
  if (runs > 1) std::printf("  the median run (by throughput):\n");
  std::printf("  requests: %zu accepted (202) in %.1f s, %lld errors", r.latencies_us.size(), r.seconds, r.errors);
  for (const auto& [status, n] : r.error_statuses) std::printf(" [%s: %lld]", status < 0 ? "closed" : std::to_string(status).c_str(), n);
  std::printf("\n  throughput: %.0f req/s\n", r.per_second());
  std::printf("  latency: p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms\n", bench::percentile(r.latencies_us, 0.50) / 1000,
              bench::percentile(r.latencies_us, 0.99) / 1000, bench::percentile(r.latencies_us, 0.999) / 1000);
  if (redis) {
    std::printf("  redis XLEN orch:events: %s", redis->cli({"XLEN", "orch:events"}).c_str());
    // Redis's own time per command (all runs): the part of each round trip orch cannot shorten.
    std::istringstream stats(redis->cli({"INFO", "commandstats"}));
    for (std::string line; std::getline(stats, line);)
      if (line.rfind("cmdstat_", 0) == 0) std::printf("  redis %s\n", line.substr(8).c_str());
  }
  return errors == 0 ? 0 : 1;
}
