#pragma once
// A real redis-server on a free loopback port, private to one test (or suite).
#include <memory>
#include <string>

#include "support/process.hpp"

namespace orch::test {

class RedisServer {
 public:
  // Starts and waits until it answers PING. `port` 0 picks a free one.
  explicit RedisServer(int port = 0);
  ~RedisServer();
  void stop();   // kill it (simulates Redis going down)
  void start();  // start again on the same port
  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  // Runs a command through redis-cli and returns its raw output.
  std::string cli(const std::vector<std::string>& args) const;

 private:
  int port_;
  TempDir dir_;
  Process proc_;
};

}  // namespace orch::test
