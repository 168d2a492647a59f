#include "support/redis_server.hpp"

#include <signal.h>

#include <stdexcept>

#include "redis/connection.hpp"

namespace orch::test {

RedisServer::RedisServer(int port, bool durable) : port_(port ? port : free_port()), durable_(durable) { start(); }
RedisServer::~RedisServer() { stop(); }

void RedisServer::start() {
  proc_ = Process({"redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                   durable_ ? "yes" : "no", "--appendfsync", "always", "--dir", dir_.path()},
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

void RedisServer::kill() {
  proc_.signal(SIGKILL);
  proc_.wait(std::chrono::seconds(5));
}

std::string RedisServer::cli(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"redis-cli", "-p", std::to_string(port_)};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv).output;
}

std::vector<RedisServer::StreamEntry> RedisServer::entries(const std::string& stream) const {
  redis::Connection c(redis::Url{"127.0.0.1", port_}, std::chrono::seconds(5));
  std::vector<StreamEntry> out;
  std::string from = "-";
  for (;;) {
    auto page = c.command({"XRANGE", stream, from, "+", "COUNT", "5000"});
    if (page.elements.empty()) break;
    for (const auto& entry : page.elements) {
      StreamEntry e{entry.elements[0].str, nullptr};
      const auto& f = entry.elements[1].elements;
      for (size_t i = 0; i + 1 < f.size(); i += 2)
        if (f[i].str == "event") e.event = json::parse(f[i + 1].str, nullptr, false);
      if (e.event.is_discarded()) e.event = nullptr;
      out.push_back(std::move(e));
    }
    from = "(" + page.elements.back().elements[0].str;
  }
  return out;
}

std::vector<json> RedisServer::events(const std::string& type_prefix, const std::string& stream) const {
  std::vector<json> out;
  for (auto& e : entries(stream))
    if (e.event.is_object() && e.event.value("type", "").rfind(type_prefix, 0) == 0) out.push_back(std::move(e.event));
  return out;
}

int RedisServer::count(const std::string& type, const std::string& stage, const std::string& stream) const {
  int n = 0;
  for (const auto& e : events(type, stream))
    if (e["type"] == type && (stage.empty() || (e.contains("data") && e["data"].value("stage", "") == stage))) ++n;
  return n;
}

}  // namespace orch::test
