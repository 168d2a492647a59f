#pragma once
// A unix-socket forwarder between orch and a real dockerd, so a test can cut orch's connection to
// the engine (every open connection and the listener) while the engine itself keeps running, and
// a benchmark can count the requests orch makes (bench/engine).
#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "support/process.hpp"

namespace orch::test {

class SocketProxy {
 public:
  explicit SocketProxy(std::string upstream_socket);  // listening at once
  ~SocketProxy();
  std::string socket() const { return dir_.file("proxy.sock"); }
  std::string host() const { return "unix://" + socket(); }
  void start();  // listen again
  void stop();   // close the listener and every forwarded connection
  // Called (on a forwarding thread) with each HTTP request line sent to the engine, e.g.
  // "GET /v1.47/containers/json?all=1 HTTP/1.1". Set before the traffic to count.
  void on_request(std::function<void(std::string_view line)> observer) { on_request_ = std::move(observer); }

 private:
  void accept_loop();
  void pump(int a, int b);
  std::function<void(std::string_view)> on_request_;
  std::string upstream_;
  TempDir dir_;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> pumps_;
};

}  // namespace orch::test
