#pragma once
// A small synchronous Redis client over hiredis: parse REDIS_URL, connect with timeouts,
// AUTH/SELECT, run commands given as argument vectors (binary safe, no format strings).
// A lost connection is an UnreachableError; an error reply is a RedisReplyError.
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

struct redisContext;

namespace orch {

struct RedisUrl {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;
  std::string username;
  int db = 0;
};
// Throws ConfigError for anything that is not redis://[[user]:password@]host[:port][/db].
RedisUrl parse_redis_url(const std::string& url);

struct RedisReply {
  enum class Type { nil, string, integer, array, status } type = Type::nil;
  std::string str;
  long long integer = 0;
  std::vector<RedisReply> elements;
  bool is_nil() const { return type == Type::nil; }
};

struct RedisReplyError : Error {
  explicit RedisReplyError(const std::string& m) : Error(ExitCode::critical, "redis: " + m) {}
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

class RedisConnection {
 public:
  // Throws UnreachableError when Redis cannot be reached or refuses AUTH.
  RedisConnection(const RedisUrl& url, std::chrono::milliseconds timeout);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  RedisReply command(const std::vector<std::string>& argv);
  // Sends several commands in one round trip; returns their replies in order.
  std::vector<RedisReply> pipeline(const std::vector<std::vector<std::string>>& commands);
  std::vector<RedisReply> pipeline(const RespCommands& commands);
  // Changes the read timeout (blocking reads such as XREAD BLOCK need a longer one).
  void set_timeout(std::chrono::milliseconds timeout);
  bool broken() const { return broken_; }

 private:
  redisContext* ctx_ = nullptr;
  bool broken_ = false;
};

}  // namespace orch
