#include "log/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "config/settings.hpp"
#include "core/error.hpp"
#include "core/json.hpp"
#include "core/text.hpp"

namespace orch {
namespace {

std::shared_mutex secrets_mu;
std::vector<std::string> secrets;

// Formats a line as text or JSON and applies redaction to the message.
class RedactingFormatter final : public spdlog::formatter {
 public:
  explicit RedactingFormatter(bool json) : json_(json), text_("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v") {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string text = redacted(std::string(msg.payload.data(), msg.payload.size()));
    if (!json_) {
      spdlog::details::log_msg copy(msg.time, msg.source, msg.logger_name, msg.level, text);
      text_.format(copy, dest);
      return;
    }
    auto secs = std::chrono::system_clock::to_time_t(msg.time);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char ts[64];
    std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    json line = {{"time", ts},
                 {"level", spdlog::level::to_string_view(msg.level).data()},
                 {"msg", text}};
    auto s = to_text(line);
    dest.append(s.data(), s.data() + s.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<RedactingFormatter>(json_); }

 private:
  bool json_;
  spdlog::pattern_formatter text_;
};

// Standard error when it is not a terminal (a container's or a unit's log): lines are collected and
// written together every 100 ms, or at once for warnings and errors (the logger's flush_on), so a
// busy webhook path does not cost a write(2) per line. A terminal gets the colour sink, unbuffered.
class BufferedStderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  BufferedStderrSink() : flusher_([this] { run(); }) {}
  ~BufferedStderrSink() override {
    {
      std::lock_guard lock(stop_mu_);
      stop_ = true;
    }
    stop_cv_.notify_one();
    flusher_.join();
    flush();
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    buffer_.append(formatted.data(), formatted.size());
    if (buffer_.size() >= 64 * 1024) flush_();
  }

  void flush_() override {
    std::string_view left = buffer_;
    while (!left.empty()) {
      const ssize_t n = ::write(STDERR_FILENO, left.data(), left.size());
      if (n > 0) left.remove_prefix(static_cast<size_t>(n));
      else if (n < 0 && errno == EINTR) continue;
      else break;  // stderr is gone: nobody can read these lines
    }
    buffer_.clear();
  }

 private:
  void run() {
    std::unique_lock lock(stop_mu_);
    while (!stop_cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_; })) {
      lock.unlock();
      flush();
      lock.lock();
    }
  }

  std::string buffer_;  // guarded by base_sink's mutex
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread flusher_;  // last: starts once the rest exists
};

}  // namespace

void redact(const std::string& secret) {
  if (secret.size() < 4) return;  // too short to redact without mangling ordinary text
  std::unique_lock lock(secrets_mu);
  secrets.push_back(secret);
}

std::string redacted(std::string text) {
  std::shared_lock lock(secrets_mu);
  for (const auto& s : secrets) {
    for (size_t pos = text.find(s); pos != std::string::npos; pos = text.find(s, pos + 3)) text.replace(pos, s.size(), "***");
  }
  return text;
}

LogOptions log_options_from(const Settings& s) {
  LogOptions o;
  o.format = s.str("ORCH_LOG_FORMAT");
  o.level = s.str("ORCH_LOG_LEVEL");
  o.file = s.str("ORCH_LOG_FILE");
  for (const auto& spec : setting_specs())
    if (!s.has(spec.env)) continue;
    else if (spec.kind == SettingKind::secret || spec.kind == SettingKind::credential) redact(s.str(spec.env));
    else if (spec.kind == SettingKind::secret_url) {
      // The whole URL, and its secret part (path and query) when a library echoes only that.
      const auto url = s.str(spec.env);
      redact(url);
      if (auto scheme = url.find("://"); scheme != std::string::npos)
        if (auto path = url.find_first_of("/?#", scheme + 3); path != std::string::npos && url.size() - path >= 8) redact(url.substr(path));
    }
  return o;
}

void setup_logging(const LogOptions& opts) {
  auto level = spdlog::level::from_str(opts.level);
  if (level == spdlog::level::off && opts.level != "off")
    throw ConfigError("ORCH_LOG_LEVEL: unknown level '" + opts.level + "'");
  std::vector<spdlog::sink_ptr> sinks;
  if (opts.to_stderr) {
    if (::isatty(STDERR_FILENO)) sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    else sinks.push_back(std::make_shared<BufferedStderrSink>());
  }
  if (!opts.file.empty())
    sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(opts.file, 10 * 1024 * 1024, 5));
  auto logger = std::make_shared<spdlog::logger>("orch", sinks.begin(), sinks.end());
  logger->set_formatter(std::make_unique<RedactingFormatter>(opts.format == "json"));
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

}  // namespace orch
