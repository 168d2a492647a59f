#include "redis/client.hpp"

#include <algorithm>

namespace orch::redis {

Client::Client(Url url, ClientOptions options) : url_(std::move(url)), opts_(std::move(options)), backoff_(opts_.min_backoff) {}

Client::~Client() = default;

Millis Client::retry_in() const {
  const auto now = std::chrono::steady_clock::now();
  return next_attempt_ > now ? std::chrono::duration_cast<Millis>(next_attempt_ - now) : Millis(0);
}

void Client::failed(const std::string& why) {
  conn_.reset();
  last_error_ = why;
  next_attempt_ = std::chrono::steady_clock::now() + backoff_;
  backoff_ = std::min(backoff_ * 2, opts_.max_backoff);
}

Connection& Client::connection() {
  if (conn_ && !conn_->broken()) return *conn_;
  if (conn_) reset("redis " + describe() + ": connection lost");
  if (const auto wait = retry_in(); wait.count() > 0)
    throw UnreachableError(last_error_ + " (next attempt in " + format_duration(wait) + ")");
  try {
    conn_ = std::make_unique<Connection>(url_, opts_.connect_timeout);
    if (opts_.timeout != opts_.connect_timeout) conn_->set_timeout(opts_.timeout);
    if (opts_.on_connect) opts_.on_connect(*conn_);
  } catch (const Error& e) {
    failed(e.what());
    throw UnreachableError(e.what());
  }
  backoff_ = opts_.min_backoff;
  last_error_.clear();
  return *conn_;
}

void Client::reset(const std::string& why) {
  // A connection that worked and then failed is tried again at once: only a failed connect
  // starts the backoff.
  conn_.reset();
  last_error_ = why;
}

Reply Client::command(const std::vector<std::string>& argv) {
  auto& c = connection();
  try {
    return c.command(argv);
  } catch (const UnreachableError& e) {
    reset(e.what());
    throw;
  }
}

std::vector<Reply> Client::pipeline(const RespCommands& commands) {
  auto& c = connection();
  try {
    return c.pipeline(commands);
  } catch (const UnreachableError& e) {
    reset(e.what());
    throw;
  }
}

}  // namespace orch::redis
