// orch logs SERVICE [-f]: the log of a service's containers (by configured service, compose
// service or container name), as `docker compose logs` shows it.
#include <atomic>
#include <csignal>
#include <iostream>
#include <mutex>
#include <thread>

#include "cli.hpp"
#include "core/text.hpp"
#include "docker/client.hpp"
#include "docker/identity.hpp"

namespace orch::cli {
namespace {

struct LogsOptions {
  std::string service;
  bool follow = false;
  int tail = 100;
};

std::atomic<bool> g_interrupted{false};

int run_logs(const GlobalOptions& g, const LogsOptions& o) {
  Config cfg = load(g);
  docker::Client docker(docker::endpoint_from(cfg.settings));
  std::vector<docker::ContainerSummary> chosen;
  std::set<std::string> known;
  const auto all = docker.containers();  // held: a range-for over *docker.containers() would dangle
  for (const auto& c : *all) {
    const auto service = docker::service_of(cfg, c.name, c.labels);
    if (docker::in_orch_scope(cfg, c.name, c.labels) || docker::configured_service(cfg, c.name, c.labels)) known.insert(service);
    if (service == o.service || c.name == o.service) chosen.push_back(c);
  }
  if (chosen.empty()) {
    std::vector<std::string> names(known.begin(), known.end());
    throw NotFoundError("no container of a service or with a name '" + o.service + "'" +
                        (names.empty() ? std::string() : "; services orch looks after: " + join(names, ", ")));
  }
  std::mutex out_mu;
  const bool prefix = chosen.size() > 1;
  auto print = [&](const std::string& container, const docker::LogLine& l) {
    std::lock_guard lock(out_mu);
    if (structured(g)) print_document(g, {{"container", container}, {"stream", l.stream}, {"text", l.text}});
    else std::cout << (prefix ? container + " | " : "") << l.text << "\n" << std::flush;
  };
  if (!o.follow) {
    for (const auto& c : chosen) {
      const auto info = docker.inspect(c.id);
      for (const auto& l : docker.logs(c.id, o.tail, info.tty)) print(c.name, l);
    }
    return 0;
  }
  // -f: one stream per container until Ctrl-C (or every container stops).
  std::signal(SIGINT, [](int) { g_interrupted = true; });
  std::signal(SIGTERM, [](int) { g_interrupted = true; });
  std::vector<std::thread> followers;
  std::atomic<int> failed{0};
  for (const auto& c : chosen) {
    followers.emplace_back([&, c] {
      try {
        docker::Client own(docker::endpoint_from(cfg.settings));
        const bool tty = own.inspect(c.id).tty;
        own.follow_logs(
            c.id, o.tail, tty, [&](const docker::LogLine& l) { print(c.name, l); }, [] { return g_interrupted.load(); });
      } catch (const Error& e) {
        std::lock_guard lock(out_mu);
        std::cerr << "orch: " << c.name << ": " << e.what() << "\n";
        ++failed;
      }
    });
  }
  for (auto& t : followers) t.join();
  return failed > 0 ? static_cast<int>(ExitCode::unknown) : 0;
}

Registrar register_logs(
    {"logs", 17, [](CLI::App& root, GlobalOptions& g, CLI::App*& sub) {
       auto o = std::make_shared<LogsOptions>();
       sub = root.add_subcommand("logs", "The log of a service's containers (configured service, compose service or container name)");
       sub->add_option("service", o->service, "Service or container")->required();
       sub->add_flag("-f,--follow", o->follow, "Keep printing new lines until Ctrl-C");
       sub->add_option("--tail", o->tail, "Lines from the end to start with (default 100)")->check(CLI::Range(0, 1000000));
       return std::function<int()>([&g, o] { return run_logs(g, *o); });
     }});

}  // namespace
}  // namespace orch::cli
