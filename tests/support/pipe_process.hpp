#pragma once
// A child process whose stdin and stdout are pipes to the test (stderr goes to a file): for line
// protocols such as `orch mcp`, driven one message at a time while the test watches the child.
#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace orch::test {

class PipeProcess {
 public:
  // env entries are added to (or override) the current environment, as for Process.
  PipeProcess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
              const std::string& stderr_file = "");
  ~PipeProcess();  // closes stdin, waits a little, then SIGKILL
  PipeProcess(const PipeProcess&) = delete;
  PipeProcess& operator=(const PipeProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool write_line(const std::string& line);  // adds the newline
  // The next line of stdout (without its newline); nullopt at EOF or when `timeout` passes first.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  void close_stdin();
  // Exit status (or 128+signal); -1 when it is still running after `timeout`.
  int wait(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1;
  std::string buffer_;
  int status_ = -1;
};

// A field of /proc/<pid>/status in its unit (kB for VmSize/VmRSS, a count for Threads); -1 if absent.
long long proc_status(pid_t pid, const std::string& field);
// How many file descriptors the process has open (entries of /proc/<pid>/fd); -1 if unreadable.
long long open_fds(pid_t pid);

}  // namespace orch::test
