// bench/pipeline: how long a published change takes to be converted and indexed, against a real
// `orch serve`, a real redis-server and the stand-ins (which answer at once, so this measures
// orch's own overhead: webhook → bus → consumer group → docling call → RAG call). Latency per job
// is the CloudEvents time of `content.published` to that of the job's `ingest.succeeded` (rag);
// throughput is jobs over first publish to last success. Then `orch sync-test` rounds, per stage.
//
//   bench_pipeline [--jobs 200] [--rounds 5]
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <string>

#include "redis/connection.hpp"
#include "http/client.hpp"
#include "core/json.hpp"
#include "webhook_load.hpp"
#include "support/orch_server.hpp"
#include "support/redis_server.hpp"
#include "support/standins.hpp"
#include "core/crypto.hpp"

using namespace orch;
using namespace orch::test;
using namespace std::chrono_literals;

namespace {

// "2026-11-24T19:41:27.929Z" (or more fraction digits) -> unix ms
double parse_ms(const std::string& t) {
  std::tm tm{};
  int sec = 0;
  double frac = 0;
  std::sscanf(t.c_str(), "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &sec);
  if (auto dot = t.find('.'); dot != std::string::npos) frac = std::atof(("0" + t.substr(dot, t.find_first_not_of("0123456789", dot + 1) - dot)).c_str());
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_sec = sec;
  return static_cast<double>(timegm(&tm)) * 1000 + frac * 1000;
}

}  // namespace

int main(int argc, char** argv) {
  int jobs = 200, rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--jobs") jobs = std::atoi(argv[i + 1]);
    else if (a == "--rounds") rounds = std::atoi(argv[i + 1]);
  }
  const std::string secret = "bench-secret-0123456789";
  RedisServer redis;
  StandinServers standins({"--web-synctest-route"});
  const int docling = standins.docling, rag = standins.rag, web = standins.web, builder = standins.builder;
  auto url = [](int port) { return "http://127.0.0.1:" + std::to_string(port); };
  // Each page exists in the Builder stand-in first, so the frontend renders it and docling (which
  // fetches the page) converts it.
  auto page = [&](const std::string& id, const std::string& path) {
    json e = {{"id", id}, {"name", id}, {"published", "published"}, {"lastUpdated", 1}, {"modelName", "page"},
              {"query", json::array({{{"property", "urlPath"}, {"operator", "is"}, {"value", path}}})},
              {"data", {{"blocks", json::array({{{"@type", "@builder.io/sdk:Element"},
                                                 {"component", {{"name", "Text"}, {"options", {{"text", "text of " + id}}}}}}})}}}};
    http::Request r;
    r.method = "POST";
    r.url = url(builder) + "/_entries";
    r.body = e.dump();
    http::send(r);
    e.erase("modelName");
    return e;
  };
  eventually([&] {
    try {
      http::Request q;
      q.url = url(builder) + "/_calls";
      return http::send(q).status == 200;
    } catch (const std::exception&) {
      return false;
    }
  });
  std::map<std::string, std::string> env = {{"REDIS_URL", redis.url()}, {"DOCLING_API_URL", url(docling)}, {"RAG_API_URL", url(rag)},
                                            {"WEB_API_URL", url(web)}, {"TRUSTED_WEBHOOK_SECRET", secret},
                                            {"DOCKER_HOST", "\x01unset"}, {"HEALTH_INTERVAL", "1h"}, {"ORCH_LOG_LEVEL", "warn"}};
  OrchServer orch(env);

  for (int i = 0; i < jobs; ++i) {
    json body = {{"modelName", "page"}, {"operation", "publish"}, {"newValue", page("b" + std::to_string(i), "/b/" + std::to_string(i))}};
    auto b = body.dump();
    auto r = orch.post("/webhook/builder", b, {{"x-builder-signature", "sha256=" + to_hex(hmac_sha256(secret, b))}});
    if (r.status != 202) {
      std::fprintf(stderr, "webhook answered %ld\n", r.status);
      return 1;
    }
  }
  redis::Connection c(redis::Url{"127.0.0.1", redis.port()}, 2s);
  std::map<std::string, double> published, done;
  bool all = eventually([&] {
    published.clear();
    done.clear();
    for (const auto& e : c.command({"XRANGE", "orch:events", "-", "+"}).elements) {
      const auto& f = e.elements[1].elements;
      for (size_t i = 0; i + 1 < f.size(); i += 2) {
        if (f[i].str != "event") continue;
        auto ev = json::parse(f[i + 1].str);
        const std::string id = ev["data"].value("id", "");
        if (ev["type"] == "content.published") published[id] = parse_ms(ev["time"]);
        if (ev["type"] == "ingest.succeeded" && ev["data"].value("stage", "") == "rag") done[id] = parse_ms(ev["time"]);
      }
    }
    return static_cast<int>(done.size()) == jobs;
  }, 120s);
  if (!all) {
    std::fprintf(stderr, "only %zu of %d jobs finished\n", done.size(), jobs);
    return 1;
  }
  std::vector<double> lat;
  double first = 1e300, last = 0;
  for (const auto& [id, t] : done) {
    lat.push_back(t - published[id]);
    first = std::min(first, published[id]);
    last = std::max(last, t);
  }
  std::printf("pipeline: %d jobs (webhook -> docling -> rag, stand-ins answer at once, 2 workers)\n", jobs);
  std::printf("  latency ms  p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n", bench::percentile(lat, 0.5), bench::percentile(lat, 0.9),
              bench::percentile(lat, 0.99), bench::percentile(lat, 1.0));
  std::printf("  throughput  %.0f jobs/s\n", jobs / std::max(1.0, last - first) * 1000);

  // One at a time: the latency of a single change with nothing queued before it.
  std::vector<double> single;
  for (int i = 0; i < 20; ++i) {
    const std::string id = "s" + std::to_string(i);
    json body = {{"modelName", "page"}, {"operation", "publish"}, {"newValue", page(id, "/s/" + id)}};
    auto b = body.dump();
    const auto t0 = std::chrono::steady_clock::now();
    orch.post("/webhook/builder", b, {{"x-builder-signature", "sha256=" + to_hex(hmac_sha256(secret, b))}});
    // The frontend renders Builder's content at once; what takes time is the index.
    bool ok = eventually([&] {
      http::Request q;
      q.url = url(rag) + "/_calls";
      return json::parse(http::send(q).body)["index"].contains(id);
    }, 10s);
    if (!ok) return 1;
    single.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::printf("single change, webhook sent -> page indexed (20, sequential): p50 %.1f ms  max %.1f ms\n", bench::percentile(single, 0.5),
              bench::percentile(single, 1.0));

  env["ORCH_URL"] = orch.url();
  std::map<std::string, std::vector<double>> stage_ms;
  for (int i = 0; i < rounds; ++i) {
    auto r = run({ORCH_BINARY, "sync-test", "-o", "json", "--timeout", "30s"}, env);
    if (r.code != 0) {
      std::fprintf(stderr, "sync-test exited %d: %s\n", r.code, r.output.c_str());
      return 1;
    }
    const auto report = json::parse(r.output);
    for (const auto& st : report["stages"]) stage_ms[st["name"].get<std::string>()].push_back(st["ms"].get<double>());
  }
  std::printf("sync-test: %d rounds, ms per stage (p50 / max)\n", rounds);
  for (const char* name : {"webhook", "bus", "docling", "rag", "frontend"})
    std::printf("  %-9s %6.0f / %.0f\n", name, bench::percentile(stage_ms[name], 0.5), bench::percentile(stage_ms[name], 1.0));
  return 0;
}
