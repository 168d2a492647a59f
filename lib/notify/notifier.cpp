#include "notify/notifier.hpp"

#include <spdlog/spdlog.h>

#include "config/settings.hpp"
#include "core/text.hpp"
#include "http/client.hpp"

namespace orch {

Notifier::Notifier(std::string url) : url_(std::move(url)) {
  if (!url_.empty()) worker_ = std::thread([this] { run(); });
}

Notifier::~Notifier() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void Notifier::send(const Event& e, const std::string& summary) {
  if (url_.empty()) return;
  json body = {{"text", summary}, {"event", e.to_json()}};
  std::lock_guard lock(mu_);
  if (queue_.size() >= 1000) queue_.pop_front();  // a dead receiver must not grow memory without bound
  queue_.push_back(to_text(body));
  cv_.notify_all();
}

void Notifier::drain() {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, std::chrono::seconds(15), [&] { return queue_.empty() && in_flight_ == 0; });
}

void Notifier::run() {
  for (;;) {
    std::string body;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      body = std::move(queue_.front());
      queue_.pop_front();
      ++in_flight_;
    }
    http::Request req;
    req.method = "POST";
    req.url = url_;
    req.body = body;
    req.timeout = std::chrono::seconds(5);
    req.headers.emplace_back("Content-Type", "application/json");
    try {
      auto res = http::send(req);
      if (res.status >= 300) spdlog::warn("notification to {} answered {}", mask_url_beyond_host(url_), res.status);
    } catch (const http::TransportError& e) {
      spdlog::warn("notification to {} failed: {}", mask_url_beyond_host(url_), e.what());
    }
    {
      std::lock_guard lock(mu_);
      --in_flight_;
    }
    cv_.notify_all();
  }
}

}  // namespace orch
