#pragma once
// The deploy step after a git rollback (ROLLBACK_DEPLOY_COMMAND). The command is configuration and
// may be a shell line; it runs as `/bin/sh -c <command>` with the repository as its working
// directory, so no request data (a repo path) is ever part of shell text. It gets no stdin, its
// output is captured line by line (to the log in orch serve, to stderr for `orch rollback`), and
// it is stopped (SIGTERM, then SIGKILL to its process group) after ROLLBACK_DEPLOY_TIMEOUT.
#include <functional>
#include <map>
#include <string>

#include "core/json.hpp"
#include "rollback/git.hpp"

namespace orch {
class Settings;
}

namespace orch::rollback {

struct DeployResult {
  bool ran = false;        // false: no ROLLBACK_DEPLOY_COMMAND configured
  int exit_code = 0;       // the command's; 128+N for signal N; 124 timed out; 127 could not start
  bool timed_out = false;
  std::string error;       // why it could not start
};

// Receives each line of the command's output (stdout and stderr); default: the log, at info.
using OutputLine = std::function<void(const std::string&)>;

// `env` is added to orch's environment for the command (ORCH_ROLLBACK_REPO, ORCH_ROLLBACK_TO).
DeployResult run_deploy_command(const Settings& s, const std::string& repo_dir, const std::map<std::string, std::string>& env = {},
                                const OutputLine& on_line = {});

// A git rollback of `o.repo`, then (unless a dry run) the deploy command there. Returns the JSON
// of POST /rollback and `orch rollback --repo -o json` (with deploy_exit_code); `deploy` receives
// the deploy step's result. Throws as rollback_repo does.
json rollback_and_deploy(const Settings& s, const GitOptions& o, DeployResult* deploy = nullptr, const OutputLine& on_line = {});

}  // namespace orch::rollback
