// orch rollback: a service to its previous (last-known-good) image, or a repo to a previous release.
#include <iostream>

#include "cli.hpp"
#include "core/text.hpp"
#include "docker/client.hpp"
#include "rollback/deploy.hpp"
#include "rollback/git.hpp"
#include "rollback/image.hpp"
#include "rollback/repos.hpp"
#include "state/store.hpp"

namespace orch::cli {
namespace {

struct RollbackOptions {
  std::string service, repo, to, mode = "checkout", clear;
  int steps = 0;
  bool dry_run = false, force = false;
};

int run_rollback(const GlobalOptions& g, const RollbackOptions& o) {
  int chosen = !o.service.empty() + !o.repo.empty() + !o.clear.empty();
  if (chosen != 1) throw UsageError("give exactly one of --service NAME, --repo PATH, --clear NAME");
  if (!o.to.empty() && o.steps > 0) throw UsageError("--to and --steps exclude each other");
  Config cfg = load(g);
  const auto& s = cfg.settings;
  const bool as_json = structured(g);
  auto state = make_state_store(s);
  rollback::Releases releases(*state);
  if (!o.clear.empty()) {
    bool was = releases.clear(o.clear);
    if (as_json) print_document(g, json{{"cleared", o.clear}, {"was_pinned", was}});
    else if (!g.quiet) std::cout << o.clear << (was ? ": unpinned\n" : ": was not pinned\n");
    return 0;
  }
  if (!o.repo.empty()) {
    rollback::GitOptions go;
    // With ROLLBACK_REPOS set only its repositories (by name or path), as for POST /rollback;
    // without it any path: the person running this can run git on the host anyway.
    go.repo = rollback::configured_repos(s).empty() ? o.repo : rollback::resolve_repo(s, o.repo);
    go.to = o.to;
    go.steps = o.steps > 0 ? o.steps : 1;
    go.mode = o.mode;
    go.dry_run = o.dry_run;
    go.force = o.force;
    go.tag_pattern = s.str("ROLLBACK_TAG_PATTERN");
    auto author = s.str("ROLLBACK_GIT_AUTHOR");
    if (auto lt = author.find('<'); lt != std::string::npos) {
      go.author_name = author.substr(0, lt > 0 ? lt - 1 : 0);
      go.author_email = author.substr(lt + 1, author.find('>') - lt - 1);
    }
    rollback::DeployResult deploy;
    // The deploy command's output is for the person running this: stderr (stdout may be JSON).
    auto j = rollback::rollback_and_deploy(s, go, &deploy, [&g](const std::string& line) {
      if (!g.quiet) std::cerr << "deploy: " << line << "\n";
    });
    auto bus = make_cli_bus(cfg);
    if (!o.dry_run)
      bus->publish(make_event(deploy.exit_code == 0 ? "rollback.succeeded" : "rollback.failed", go.repo,
                              {{"repo", go.repo}, {"from", j["from"]}, {"to", j["to"]}, {"reason", "requested"}}));
    bus->close();
    if (as_json) {
      print_document(g, j);
    } else if (!g.quiet) {
      std::cout << (o.dry_run ? "would roll " : "rolled ") << go.repo << " back from " << j["from"].get<std::string>() << " to "
                << j["to"].get<std::string>() << " (" << o.mode << ")"
                << (j.contains("new_commit") ? ", commit " + j["new_commit"].get<std::string>().substr(0, 12) : "") << "\n";
      if (deploy.timed_out) std::cout << "deploy command timed out\n";
      else if (deploy.exit_code != 0) std::cout << "deploy command failed with exit code " << deploy.exit_code << "\n";
    }
    return deploy.exit_code == 0 ? 0 : 2;
  }
  docker::Client docker(docker::endpoint_from(s));
  rollback::ServiceOptions so;
  so.service = o.service;
  so.to = o.to;
  so.dry_run = o.dry_run;
  so.health_timeout = s.duration("ROLLBACK_HEALTH_TIMEOUT");
  auto bus = make_cli_bus(cfg);
  if (stderr_is_tty() && !g.quiet && !o.dry_run) std::cerr << "rolling back " << o.service << "...\n";
  rollback::ServiceResult r;
  try {
    r = rollback::rollback_service(docker, docker, releases, cfg, &*bus, so);
  } catch (const docker::NotFoundError& e) {
    throw UsageError(e.what());
  }
  bus->close();
  if (as_json) print_document(g, r.to_json());
  else if (!g.quiet) {
    if (r.ok) std::cout << (o.dry_run ? "would roll " : "rolled ") << o.service << " back from " << r.from << " to " << r.to << "\n";
    else std::cout << "rollback of " << o.service << " failed, the previous container was restored: " << r.error << "\n";
  }
  return r.ok ? 0 : 2;
}

Registrar register_rollback(
    {"rollback", 40, [](CLI::App& root, GlobalOptions& g, CLI::App*& sub) {
       auto o = std::make_shared<RollbackOptions>();
       sub = root.add_subcommand("rollback", "Roll a service back to its previous image, or a repo to a previous revision");
       sub->add_option("--service", o->service, "Service whose container is replaced from its last-known-good image");
       sub->add_option("--repo", o->repo, "Deploy repository to roll back (libgit2): a path, or a name from ROLLBACK_REPOS");
       sub->add_option("--to", o->to, "Image (with --service) or ref (with --repo) to roll back to");
       sub->add_option("--steps", o->steps, "With --repo: this many releases back (default 1)");
       sub->add_option("--mode", o->mode, "With --repo: checkout (move the worktree) or revert (add a commit)")
           ->check(CLI::IsMember({"checkout", "revert"}));
       sub->add_flag("--dry-run", o->dry_run, "Show what would happen; change nothing");
       sub->add_flag("--force", o->force, "With --repo: proceed over uncommitted changes (they are lost)");
       sub->add_option("--clear", o->clear, "Unpin a service pinned after an automatic rollback");
       return std::function<int()>([&g, o] { return run_rollback(g, *o); });
     }});

}  // namespace
}  // namespace orch::cli
