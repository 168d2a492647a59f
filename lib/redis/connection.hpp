#pragma once
// One synchronous Redis connection over hiredis: parse REDIS_URL, connect with timeouts,
// AUTH/SELECT, run commands given as argument vectors (binary safe, no format strings) or as
// pipelines. A lost connection is an UnreachableError (and the connection is broken() from then
// on); an error reply is a ReplyError. What reconnects, and when, is redis::Client (client.hpp).
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

struct redisContext;

namespace orch::redis {

struct Url {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;
  std::string username;
  int db = 0;
};
// Throws ConfigError for anything that is not redis://[[user]:password@]host[:port][/db].
Url parse_url(const std::string& url);

struct Reply {
  enum class Type { nil, string, integer, array, status } type = Type::nil;
  std::string str;
  long long integer = 0;
  std::vector<Reply> elements;
  bool is_nil() const { return type == Type::nil; }
};

struct ReplyError : Error {
  explicit ReplyError(const std::string& m) : Error(ExitCode::critical, "redis: " + m) {}
};

// Commands written in the Redis protocol as they are built: no argument vectors and no copies in
// between, for batches of large arguments (events).
class RespCommands {
 public:
  // Starts a command of `argc` arguments; exactly that many arg() calls must follow.
  RespCommands& command(size_t argc);
  RespCommands& arg(std::string_view a);
  RespCommands& arg(long long n);
  size_t size() const { return count_; }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  size_t count_ = 0;
};

class Connection {
 public:
  // Throws UnreachableError when Redis cannot be reached or refuses AUTH.
  Connection(const Url& url, std::chrono::milliseconds timeout);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Reply command(const std::vector<std::string>& argv);
  // Sends several commands in one round trip; returns their replies in order.
  std::vector<Reply> pipeline(const std::vector<std::vector<std::string>>& commands);
  std::vector<Reply> pipeline(const RespCommands& commands);
  // Changes the read timeout (blocking reads such as XREAD BLOCK need a longer one).
  void set_timeout(std::chrono::milliseconds timeout);
  bool broken() const { return broken_; }

 private:
  redisContext* ctx_ = nullptr;
  bool broken_ = false;
};

}  // namespace orch::redis
