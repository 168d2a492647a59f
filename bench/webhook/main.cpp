// bench/webhook: webhook ingest on a real `orch serve` with a real redis-server: every request is
// a distinct Builder.io publish (no dedupe hits), HMAC-signed, so each one costs orch an HMAC
// verify + JSON parse + XADD + PUBLISH. Keep-alive connections, closed loop.
//
//   bench_webhook [--connections 32] [--seconds 10] [--no-redis] [--log-level info]
//
// Prints accepted requests, req/s and latency percentiles (send to complete response).
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>

#include "support/orch_server.hpp"
#include "support/redis_server.hpp"
#include "webhook_load.hpp"

using namespace orch;

int main(int argc, char** argv) {
  int connections = 32;
  double seconds = 10;
  bool use_redis = true;
  std::string log_level = "info";  // the default: one log line per accepted event
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--connections" && i + 1 < argc) connections = std::atoi(argv[++i]);
    else if (a == "--seconds" && i + 1 < argc) seconds = std::atof(argv[++i]);
    else if (a == "--no-redis") use_redis = false;
    else if (a == "--log-level" && i + 1 < argc) log_level = argv[++i];
    else {
      std::fprintf(stderr, "usage: bench_webhook [--connections N] [--seconds S] [--no-redis] [--log-level L]\n");
      return 64;
    }
  }

  std::unique_ptr<test::RedisServer> redis;
  if (use_redis) redis = std::make_unique<test::RedisServer>();
  test::OrchServer orch({{"REDIS_URL", redis ? redis->url() : ""},
                         {"TRUSTED_WEBHOOK_SECRET", bench::kWebhookSecret},
                         {"ORCH_LOG_LEVEL", log_level}});
  const auto r = bench::run_webhook_load(orch.port(), connections, seconds);

  std::printf("bench/webhook: %d connections, %.1f s, bus=%s, log level %s\n", connections, r.seconds,
              use_redis ? "redis" : "in-process", log_level.c_str());
  std::printf("  requests: %zu accepted (202), %lld errors", r.latencies_us.size(), r.errors);
  for (const auto& [status, n] : r.error_statuses) std::printf(" [%s: %lld]", status < 0 ? "closed" : std::to_string(status).c_str(), n);
  std::printf("\n  throughput: %.0f req/s\n", r.per_second());
  std::printf("  latency: p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms\n", bench::percentile(r.latencies_us, 0.50) / 1000,
              bench::percentile(r.latencies_us, 0.99) / 1000, bench::percentile(r.latencies_us, 0.999) / 1000);
  if (redis) {
    std::printf("  redis XLEN orch:events: %s", redis->cli({"XLEN", "orch:events"}).c_str());
    // Redis's own time per command: the part of each round trip orch cannot shorten.
    std::istringstream stats(redis->cli({"INFO", "commandstats"}));
    for (std::string line; std::getline(stats, line);)
      if (line.rfind("cmdstat_", 0) == 0) std::printf("  redis %s\n", line.substr(8).c_str());
  }
  return r.errors == 0 ? 0 : 1;
}
