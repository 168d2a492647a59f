#pragma once
// The one way orch talks to Redis: a connection that keeps itself connected. It connects on first
// use; after a failure (a lost connection, a refused connect) the next use reconnects at once,
// and while attempts keep failing they are spaced by a backoff (100 ms doubling to max_backoff),
// during which a use fails at once without touching the network. So a Redis that is down costs
// each client at most one connect attempt per backoff, whatever its callers do.
//
// Not thread-safe: one user at a time (its owner's lock, or its owner's thread). The calls are
// thin wrappers over Connection: the bus's publishing pipeline goes through them unchanged.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/duration.hpp"
#include "redis/connection.hpp"

namespace orch::redis {

struct ClientOptions {
  Millis connect_timeout{2000};
  Millis timeout{2000};  // each command's reads and writes (set_timeout changes it for a while)
  Millis min_backoff{100};
  Millis max_backoff{5000};
  // Runs on every new connection before it is used (SCRIPT LOAD, XGROUP CREATE, ...); throwing
  // fails the connect.
  std::function<void(Connection&)> on_connect;
};

class Client {
 public:
  explicit Client(Url url, ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // The live connection, connecting now if there is none and no backoff is running. Throws
  // UnreachableError (the last failure, and when the next attempt is due).
  Connection& connection();
  // command/pipeline on connection(); a lost connection is dropped (and UnreachableError thrown),
  // an error reply (ReplyError) leaves it in use.
  Reply command(const std::vector<std::string>& argv);
  std::vector<Reply> pipeline(const RespCommands& commands);
  // Drops the connection after a failure its user saw (a reply it cannot use, say).
  void reset(const std::string& why);

  bool connected() const { return conn_ && !conn_->broken(); }
  const std::string& last_error() const { return last_error_; }
  // How long until the next connect attempt may run (0 when one may run now).
  Millis retry_in() const;
  const Url& url() const { return url_; }
  std::string describe() const { return url_.host + ":" + std::to_string(url_.port); }

 private:
  void failed(const std::string& why);
  Url url_;
  ClientOptions opts_;
  std::unique_ptr<Connection> conn_;
  std::string last_error_;
  std::chrono::steady_clock::time_point next_attempt_{};
  Millis backoff_;
};

}  // namespace orch::redis
