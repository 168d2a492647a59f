#pragma once
// Child processes for tests: real servers (redis-server, dockerd, orch serve) that the test
// starts and always stops (the destructor sends SIGTERM, then SIGKILL).
#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace orch::test {

class Process {
 public:
  Process() = default;
  // Starts argv[0] with argv; env entries are added to (or override) the current environment.
  // stdout/stderr go to `log_file` (appended) when given, else are discarded.
  Process(std::vector<std::string> argv, std::map<std::string, std::string> env = {}, std::string log_file = "");
  Process(Process&& o) noexcept;
  Process& operator=(Process&& o) noexcept;
  ~Process();

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit status (or 128+signal).
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  // Waits for exit; -1 on timeout.
  int wait(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

// Runs a command to completion; returns {exit code, stdout+stderr}.
struct RunResult {
  int code;
  std::string output;
};
RunResult run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
              std::chrono::milliseconds timeout = std::chrono::seconds(120), const std::string& stdin_data = "");

// A port nothing listens on now, for a server the test starts later. Not reserved: another
// process may take it meanwhile, so a server that can choose its own port (bind to 0) should.
// Never the same port twice in one test process.
int free_port();
// A loopback port that refuses every connection until the test process ends: bound, never
// listening, so no other process can take it (a "nobody listens" port from free_port() may be
// another test's server by the time orch connects).
int refused_port();
// http://127.0.0.1:<refused_port()>: a service URL that refuses every connection.
std::string refused_url();
// A fresh directory under /tmp removed (recursively) by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void write_file(const std::string& path, const std::string& content);
std::string read_file(const std::string& path);

// Polls `pred` every 20 ms until it is true or `timeout` passes.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    struct timespec ts {0, 20'000'000};
    nanosleep(&ts, nullptr);
  }
  return pred();
}

}  // namespace orch::test
