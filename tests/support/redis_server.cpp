#include "support/redis_server.hpp"

#include <stdexcept>

#include "redis/connection.hpp"

namespace orch::test {

RedisServer::RedisServer(int port) : port_(port ? port : free_port()) { start(); }
RedisServer::~RedisServer() { stop(); }

void RedisServer::start() {
  proc_ = Process(
      {"redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir_.path()},
      {}, dir_.file("redis.log"));
  bool up = eventually([&] {
    try {
      redis::Connection c(redis::Url{"127.0.0.1", port_}, std::chrono::milliseconds(200));
      return c.command({"PING"}).str == "PONG";
    } catch (const std::exception&) {
      return false;
    }
  });
  if (!up) throw std::runtime_error("redis-server did not start on port " + std::to_string(port_));
}

void RedisServer::stop() { proc_.stop(std::chrono::seconds(5)); }

std::string RedisServer::cli(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"redis-cli", "-p", std::to_string(port_)};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv).output;
}

}  // namespace orch::test
