// orch watch: live container and bus events in the terminal.
#include <iostream>
#include <optional>
#include <mutex>
#include <thread>

#include "bus/follow.hpp"
#include "cli.hpp"
#include "core/duration.hpp"
#include "core/stop_token.hpp"
#include "docker/client.hpp"
#include "docker/watcher.hpp"
#include "live/sse_client.hpp"
#include "serve/signals.hpp"
#include "watch/format.hpp"

namespace orch::cli {
namespace {

struct WatchOptions {
  std::vector<std::string> services, types;
  std::string remote, since;
  bool no_docker = false, no_bus = false;
};

int run_watch(const GlobalOptions& g, const WatchOptions& o) {
  block_termination_signals();
  Config cfg = load(g);
  StopSignal stop;
  auto waiter = spawn_signal_waiter([&](int) { stop.request_stop(); });
  watch::Filter filter{o.services, o.types};
  const bool ndjson = structured(g);
  std::optional<long long> since_ms;
  if (!o.since.empty()) {
    try {
      since_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count() -
                 parse_duration(o.since).count();
    } catch (const std::exception&) {
      throw UsageError("--since takes a duration such as 10m or 2h");
    }
  }
  std::mutex out_mu;
  watch::Dedupe dedupe;
  auto print = [&](const Event& e) {
    if (!filter.matches(e)) return;
    std::lock_guard lock(out_mu);
    if (!dedupe.first_time(e)) return;
    std::cout << (ndjson ? e.to_string() : watch::human_line(e, use_colour())) << std::endl;
  };
  watch::ConnectionLine redis_line("redis", std::cerr), docker_line("docker", std::cerr);
  auto cancelled = [&] { return stop.stop_requested(); };
  std::vector<std::thread> sources;
  int code = 0;

  if (!o.remote.empty()) {
    sources.emplace_back([&] {
      try {
        live::follow_sse({o.remote + "/events", cfg.settings.str("ORCH_API_TOKEN")}, print, cancelled);
      } catch (const Error& e) {
        std::cerr << "orch: " << e.what() << "\n";
        code = 3;
        stop.request_stop();
      }
    });
  } else {
    if (!o.no_bus && cfg.settings.has("REDIS_URL")) {
      sources.emplace_back([&] {
        // --since: the stream's entries from then on (ids are milliseconds), then live.
        const std::string after = since_ms ? std::to_string(*since_ms) + "-0" : "$";
        follow_events(redis::parse_url(cfg.settings.str("REDIS_URL")), after, print, cancelled, std::ref(redis_line));
      });
    }
    if (!o.no_docker) {
      sources.emplace_back([&] {
        docker::Client docker(docker::endpoint_from(cfg.settings));
        if (since_ms) {
          // The engine keeps a bounded log of its recent events: those since then, first.
          try {
            for (const auto& m : docker.past_events(*since_ms * 1'000'000, {{"type", {"container", "service", "node"}}}))
              print(watch::from_engine(m, cfg));
          } catch (const Error& e) {
            docker_line(false, std::string("unreachable at ") + docker.endpoint().describe() + ": " + e.what());
          }
        }
        docker::Watcher watcher(docker,
                                {[&](const docker::EventMessage& m) { print(watch::from_engine(m, cfg)); }, nullptr,
                                 [&](bool up, const std::string& why) {
                                   docker_line(up, up ? why : "unreachable at " + docker.endpoint().describe() + ": " + why);
                                 }},
                                {"container", "service", "node"});  // service and node: swarm mode
        watcher.start();
        while (!stop.wait_for(std::chrono::milliseconds(200))) {
        }
        watcher.stop();
      });
    }
    if (sources.empty()) {
      std::cerr << "orch: nothing to watch (no Redis configured and --no-docker)\n";
      release_signal_waiter(waiter);
      return 64;
    }
    if (stderr_is_tty() && !g.quiet) std::cerr << "watching (Ctrl-C to stop)...\n";
  }
  for (auto& t : sources) t.join();
  release_signal_waiter(waiter);
  return code;
}

Registrar register_watch(
    {"watch", 20, [](CLI::App& root, GlobalOptions& g, CLI::App*& sub) {
       auto o = std::make_shared<WatchOptions>();
       sub = root.add_subcommand("watch", "Follow container and bus events live");
       sub->add_option("--service", o->services, "Only events of this service or container (repeatable)");
       sub->add_option("--type", o->types, "Only these event types; a trailing * matches a prefix, e.g. heal.* (repeatable)");
       sub->add_option("--since", o->since,
                       "First the events of this long ago (e.g. 10m), from the bus and the engine's own log, then live");
       sub->add_option("--remote", o->remote, "Follow GET /events of a remote orch serve (e.g. http://orch:9000), with ORCH_API_TOKEN");
       sub->add_flag("--no-docker", o->no_docker, "Do not read the local Docker engine's events");
       sub->add_flag("--no-bus", o->no_bus, "Do not read the Redis event bus");
       return std::function<int()>([&g, o] { return run_watch(g, *o); });
     }});

}  // namespace
}  // namespace orch::cli
