#pragma once
// A real redis-server on a free loopback port, private to one test (or suite).
#include <memory>
#include <string>

#include "core/json.hpp"
#include "support/process.hpp"

namespace orch::test {

class RedisServer {
 public:
  // Starts and waits until it answers PING. `port` 0 picks a free one. Without persistence (the
  // default) a restart starts empty; `durable` keeps an append-only file fsynced before every
  // reply (appendfsync always), so whatever Redis acknowledged survives a SIGKILL and a restart.
  explicit RedisServer(int port = 0, bool durable = false);
  ~RedisServer();
  void stop();   // SIGTERM it (simulates Redis going down)
  void kill();   // SIGKILL it (a crash)
  void start();  // start again on the same port and data dir
  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  // Runs a command through redis-cli and returns its raw output.
  std::string cli(const std::vector<std::string>& args) const;
  // The one reader of orch's streams for tests (orch:events, orch:dead). Every entry of `stream`,
  // oldest first, read in pages: its stream id and its `event` field parsed (null when the entry has
  // none or it is not JSON).
  struct StreamEntry {
    std::string id;
    json event;
  };
  std::vector<StreamEntry> entries(const std::string& stream = "orch:events") const;
  // The events stored in `stream` whose type starts with `type_prefix`, oldest first: what orch
  // published, read back as a consumer sees it.
  std::vector<json> events(const std::string& type_prefix = "", const std::string& stream = "orch:events") const;
  // How many of them have exactly this type (and, when given, this data.stage).
  int count(const std::string& type, const std::string& stage = "", const std::string& stream = "orch:events") const;

 private:
  int port_;
  bool durable_;
  TempDir dir_;
  Process proc_;
};

}  // namespace orch::test
