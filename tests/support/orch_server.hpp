#pragma once
// A real `orch serve` process on a free port, with the environment a test gives it.
#include <map>
#include <string>

#include "http/client.hpp"
#include "support/process.hpp"

namespace orch::test {

class OrchServer {
 public:
  // Runs ORCH_BINARY_UNDER_TEST when set (a benchmark comparing builds), else the one built here.
  // `launcher`, when given, is a command put in front (unshare, setpriv) that ends by exec'ing
  // orch's, so the process the test holds and signals is orch itself.
  explicit OrchServer(std::map<std::string, std::string> env = {}, std::vector<std::string> extra_args = {},
                      std::vector<std::string> launcher = {});
  ~OrchServer();
  int port() const { return port_; }
  std::string url(const std::string& path = "") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  http::Response get(const std::string& path, std::vector<std::pair<std::string, std::string>> headers = {}) const;
  http::Response post(const std::string& path, const std::string& body,
                      std::vector<std::pair<std::string, std::string>> headers = {}) const;
  Process& process() { return proc_; }
  std::string log() const { return read_file(log_file_); }
  // SIGTERM and wait; returns the exit status.
  int stop();
  // SIGKILL (a crash: nothing is flushed, no destructor runs) and reap.
  void kill();
  // Starts it again with the same environment, port and state dir (after stop or kill).
  void restart();
  std::string state_dir() const { return dir_.path() + "/state"; }

 private:
  void start();
  std::map<std::string, std::string> env_;
  std::vector<std::string> argv_;
  int port_;
  TempDir dir_;
  std::string log_file_;
  Process proc_;
};

}  // namespace orch::test
