#include "rollback/deploy.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <vector>

#include "config/settings.hpp"
#include "core/text.hpp"

extern char** environ;

namespace orch::rollback {

namespace {

using Steady = std::chrono::steady_clock;

constexpr size_t kMaxLoggedBytes = 256 * 1024;  // a chatty deploy must not flood the log

struct Spawned {
  pid_t pid = -1;
  int out = -1;  // read end of the command's stdout+stderr
  int error = 0;
};

Spawned spawn_shell(const std::string& command, const std::string& dir, const std::map<std::string, std::string>& extra) {
  Spawned sp;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    sp.error = errno;
    return sp;
  }
  // Environment: orch's own, with `extra` added or replaced.
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    if (!extra.count(kv.substr(0, kv.find('=')))) env.push_back(std::move(kv));
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& kv : env) envp.push_back(kv.data());
  envp.push_back(nullptr);
  std::string sh = "/bin/sh", dash_c = "-c", cmd = command;
  char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  posix_spawn_file_actions_addchdir_np(&fa, dir.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group (the timeout stops the whole pipeline), no signals blocked, default
  // dispositions: orch serve blocks SIGTERM/SIGINT in its threads and ignores SIGPIPE.
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  sp.error = posix_spawn(&sp.pid, "/bin/sh", &fa, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(fds[1]);
  if (sp.error != 0) {
    close(fds[0]);
    sp.pid = -1;
    return sp;
  }
  sp.out = fds[0];
  return sp;
}

// Hands on complete lines of `buf` (and the rest when `flush`), within the byte budget.
void emit_lines(std::string& buf, size_t& logged, bool flush, const OutputLine& on_line) {
  size_t nl;
  while ((nl = buf.find('\n')) != std::string::npos || (flush && !buf.empty())) {
    std::string line = buf.substr(0, nl);
    buf.erase(0, nl == std::string::npos ? buf.size() : nl + 1);
    if (logged < kMaxLoggedBytes) on_line(valid_utf8(line));
    else if (logged - line.size() - 1 < kMaxLoggedBytes) on_line("(further output not shown)");
    logged += line.size() + 1;
  }
}

int status_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 128;
}

}  // namespace

DeployResult run_deploy_command(const Settings& s, const std::string& repo_dir, const std::map<std::string, std::string>& env,
                                const OutputLine& on_line_given) {
  DeployResult r;
  if (!s.has("ROLLBACK_DEPLOY_COMMAND")) return r;
  const OutputLine on_line = on_line_given ? on_line_given : [](const std::string& line) { spdlog::info("rollback deploy: {}", line); };
  r.ran = true;
  const auto timeout = s.duration("ROLLBACK_DEPLOY_TIMEOUT");
  spdlog::info("rollback deploy: running ROLLBACK_DEPLOY_COMMAND in {}", repo_dir);
  auto sp = spawn_shell(s.str("ROLLBACK_DEPLOY_COMMAND"), repo_dir, env);
  if (sp.pid < 0) {
    r.exit_code = 127;
    r.error = std::string("cannot run the deploy command in ") + repo_dir + ": " + std::strerror(sp.error);
    spdlog::error("rollback deploy: {}", r.error);
    return r;
  }
  const auto deadline = Steady::now() + timeout;
  std::optional<Steady::time_point> kill_at;  // SIGKILL after the grace of a timed-out command
  std::optional<Steady::time_point> exited_at;
  std::string buf;
  size_t logged = 0;
  int status = 0;
  bool reaped = false, eof = false;
  while (!reaped || !eof) {
    if (!reaped && waitpid(sp.pid, &status, WNOHANG) == sp.pid) {
      reaped = true;
      exited_at = Steady::now();
    }
    // A background child of the command may keep the pipe open: stop reading soon after sh ended.
    if (reaped && Steady::now() - *exited_at > std::chrono::seconds(1)) break;
    const auto now = Steady::now();
    if (!reaped && !r.timed_out && now >= deadline) {
      r.timed_out = true;
      spdlog::error("rollback deploy: still running after {}: stopping it", format_duration(timeout));
      kill(-sp.pid, SIGTERM);
      kill_at = now + std::chrono::seconds(5);
    }
    if (kill_at && now >= *kill_at) {
      kill(-sp.pid, SIGKILL);
      kill_at.reset();
    }
    if (eof) {
      usleep(20'000);
      continue;
    }
    pollfd p{sp.out, POLLIN, 0};
    if (poll(&p, 1, 100) > 0) {
      char chunk[4096];
      ssize_t n = read(sp.out, chunk, sizeof chunk);
      if (n > 0) {
        buf.append(chunk, static_cast<size_t>(n));
        emit_lines(buf, logged, false, on_line);
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        eof = true;
      }
    }
  }
  emit_lines(buf, logged, true, on_line);
  close(sp.out);
  if (r.timed_out) kill(-sp.pid, SIGKILL);  // what is left of its process group
  if (!reaped) {
    kill(-sp.pid, SIGKILL);
    waitpid(sp.pid, &status, 0);
  }
  r.exit_code = r.timed_out ? 124 : status_code(status);
  if (r.exit_code != 0) spdlog::warn("rollback deploy: the deploy command ended with {}", r.exit_code);
  else spdlog::info("rollback deploy: done");
  return r;
}

json rollback_and_deploy(const Settings& s, const GitOptions& o, DeployResult* deploy, const OutputLine& on_line) {
  auto r = rollback_repo(o);
  json j = r.to_json();
  if (o.dry_run) return j;
  // The command learns what happened from its environment, never from its text.
  auto d = run_deploy_command(s, o.repo, {{"ORCH_ROLLBACK_REPO", o.repo}, {"ORCH_ROLLBACK_FROM", r.from}, {"ORCH_ROLLBACK_TO", r.to}}, on_line);
  j["deploy_exit_code"] = d.exit_code;
  if (d.timed_out) j["deploy_timed_out"] = true;
  if (!d.error.empty()) j["deploy_error"] = d.error;
  if (deploy) *deploy = d;
  return j;
}

}  // namespace orch::rollback
