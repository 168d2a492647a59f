#include "redis/connection.hpp"

#include <hiredis/hiredis.h>

#include <cstring>
#include <sys/time.h>

#include "core/number.hpp"

namespace orch::redis {

Url parse_url(const std::string& url) {
  constexpr std::string_view scheme = "redis://";
  if (url.rfind(scheme, 0) != 0) throw ConfigError("REDIS_URL must start with redis:// (rediss:// needs TLS, which hiredis 0.14 lacks)");
  Url u;
  std::string rest = url.substr(scheme.size());
  if (auto at = rest.rfind('@'); at != std::string::npos) {
    std::string cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (auto colon = cred.find(':'); colon != std::string::npos) {
      u.username = cred.substr(0, colon);
      u.password = cred.substr(colon + 1);
    } else {
      u.password = cred;
    }
  }
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    std::string db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty()) {
      try {
        u.db = static_cast<int>(parse_integer(db, 0, 2'147'483'647));
      } catch (const ConfigError& e) {
        throw ConfigError(std::string("REDIS_URL: database ") + e.what());
      }
    }
  }
  if (auto colon = rest.rfind(':'); colon != std::string::npos && rest.find(']') == std::string::npos) {
    try {
      u.port = static_cast<int>(parse_integer(rest.substr(colon + 1), 1, 65535));
    } catch (const ConfigError& e) {
      throw ConfigError(std::string("REDIS_URL: port ") + e.what());
    }
    rest = rest.substr(0, colon);
  }
  if (!rest.empty()) u.host = rest;
  return u;
}

static timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = ms.count() / 1000;
  tv.tv_usec = (ms.count() % 1000) * 1000;
  return tv;
}

static Reply convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING: out.type = Reply::Type::string; out.str.assign(r->str, r->len); break;
    case REDIS_REPLY_STATUS: out.type = Reply::Type::status; out.str.assign(r->str, r->len); break;
    case REDIS_REPLY_INTEGER: out.type = Reply::Type::integer; out.integer = r->integer; break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::array;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    case REDIS_REPLY_ERROR: throw ReplyError(std::string(r->str, r->len));
    default: break;
  }
  return out;
}

Connection::Connection(const Url& url, std::chrono::milliseconds timeout) {
  auto tv = to_timeval(timeout);
  ctx_ = redisConnectWithTimeout(url.host.c_str(), url.port, tv);
  if (!ctx_ || ctx_->err) {
    std::string why = ctx_ ? ctx_->errstr : "out of memory";
    if (ctx_) redisFree(ctx_);
    ctx_ = nullptr;
    throw UnreachableError("redis " + url.host + ":" + std::to_string(url.port) + ": " + why);
  }
  redisSetTimeout(ctx_, tv);
  redisEnableKeepAlive(ctx_);
  try {
    if (!url.password.empty()) {
      if (url.username.empty()) command({"AUTH", url.password});
      else command({"AUTH", url.username, url.password});
    }
    if (url.db != 0) command({"SELECT", std::to_string(url.db)});
  } catch (const ReplyError& e) {
    redisFree(ctx_);
    ctx_ = nullptr;
    throw UnreachableError(std::string("redis refused the connection: ") + e.what());
  }
}

Connection::~Connection() {
  if (ctx_) redisFree(ctx_);
}

void Connection::set_timeout(std::chrono::milliseconds timeout) { redisSetTimeout(ctx_, to_timeval(timeout)); }

RespCommands& RespCommands::command(size_t argc) {
  text_ += '*';
  text_ += std::to_string(argc);
  text_ += "\r\n";
  ++count_;
  return *this;
}

RespCommands& RespCommands::arg(std::string_view a) {
  text_ += '$';
  text_ += std::to_string(a.size());
  text_ += "\r\n";
  text_.append(a);
  text_ += "\r\n";
  return *this;
}

RespCommands& RespCommands::arg(long long n) { return arg(std::to_string(n)); }

std::vector<Reply> Connection::pipeline(const std::vector<std::vector<std::string>>& commands) {
  RespCommands resp;
  for (const auto& argv : commands) {
    resp.command(argv.size());
    for (const auto& a : argv) resp.arg(a);
  }
  return pipeline(resp);
}

std::vector<Reply> Connection::pipeline(const RespCommands& commands) {
  if (broken_) throw UnreachableError("redis connection is broken");
  if (redisAppendFormattedCommand(ctx_, commands.text().data(), commands.text().size()) != REDIS_OK) {
    broken_ = true;
    throw UnreachableError(std::string("redis: ") + ctx_->errstr);
  }
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  std::string first_error;
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || !raw) {
      broken_ = true;
      throw UnreachableError(std::string("redis: ") + (ctx_->errstr[0] ? ctx_->errstr : "connection lost"));
    }
    std::unique_ptr<redisReply, decltype(&freeReplyObject)> reply(static_cast<redisReply*>(raw), &freeReplyObject);
    // Read every reply before reporting an error so the connection stays in step.
    try {
      replies.push_back(convert(reply.get()));
    } catch (const ReplyError& e) {
      if (first_error.empty()) first_error = e.what();
      replies.emplace_back();
    }
  }
  if (!first_error.empty()) throw ReplyError(first_error.substr(7));
  return replies;
}

Reply Connection::command(const std::vector<std::string>& argv) { return pipeline({argv}).front(); }

}  // namespace orch::redis
