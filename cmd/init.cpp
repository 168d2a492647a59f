// orch init: an orch.yaml from the running compose project (issue 23), for a person to review.
// The engine is read by docker/compose_project.hpp, the YAML written by config/init.hpp.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli.hpp"
#include "config/init.hpp"
#include "core/error.hpp"
#include "core/event.hpp"
#include "docker/client.hpp"
#include "docker/compose_project.hpp"

namespace orch::cli {
namespace {

struct InitOptions {
  std::string project;
  std::string output = "orch.yaml";
  bool force = false;
};

int run_init(const GlobalOptions& g, const InitOptions& o) {
  // Fail before asking the engine: an existing file is kept unless --force.
  if (o.output != "-" && std::filesystem::exists(o.output) && !o.force)
    throw OutputError(o.output +
                      " exists; orch init does not replace it without --force (or write elsewhere: --output FILE, - for stdout)");
  Config cfg = load(g, {}, false, /*default_file=*/false);
  docker::Client engine(docker::endpoint_from(cfg.settings));
  const auto containers = engine.list(true);
  const std::string project = docker::choose_project(containers, o.project);
  InitProject found = docker::describe_project(engine, containers, project);
  found.generated_at = rfc3339_now();
  const std::string text = render_init_yaml(found);
  if (o.output == "-") {
    std::cout << text;
    return 0;
  }
  // Beside the target, then renamed over it: never a half-written orch.yaml.
  const std::string tmp = o.output + ".orch-init." + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!(out.flush())) throw OutputError("cannot write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, o.output, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw OutputError("cannot write " + o.output);
  }
  if (!g.quiet)
    std::cerr << "orch init: wrote " << o.output << " with " << found.services.size() << " service"
              << (found.services.size() == 1 ? "" : "s") << " of compose project " << project
              << "; review it, then: orch config --check -c " << o.output << "\n";
  return 0;
}

Registrar register_init({"init", 75, [](CLI::App& root, GlobalOptions& g, CLI::App*& sub) {
                           auto o = std::make_shared<InitOptions>();
                           sub = root.add_subcommand(
                               "init", "Write an orch.yaml from the running compose project, for review (exit 73 if it exists)");
                           sub->add_option("--project", o->project, "Compose project (default: the only one running)");
                           sub->add_option("--output", o->output, "File to write, - for stdout (default ./orch.yaml)");
                           sub->add_flag("--force", o->force, "Replace the file if it exists");
                           return std::function<int()>([&g, o] { return run_init(g, *o); });
                         }});

}  // namespace
}  // namespace orch::cli
