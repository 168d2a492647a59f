#include "notify/notifier.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "config/settings.hpp"
#include "http/client.hpp"
#include "http/smtp.hpp"
#include "notify/format.hpp"

namespace orch {

NotifierOptions notifier_options(const Settings& s) {
  NotifierOptions o;
  o.timeout = s.duration("ORCH_ALERT_TIMEOUT");
  o.attempts = static_cast<int>(s.integer("ORCH_ALERT_ATTEMPTS"));
  o.retry_delay = s.duration("ORCH_ALERT_RETRY_DELAY");
  o.queue_max = static_cast<size_t>(s.integer("ORCH_ALERT_QUEUE"));
  return o;
}

static std::vector<NotifyProvider> from_url(const std::string& url) {
  if (url.empty()) return {};
  return {provider_from_env_url(url)};
}

Notifier::Notifier(std::string url) : Notifier(from_url(url), NotifierOptions{}, nullptr) {}

Notifier::Notifier(std::vector<NotifyProvider> providers, NotifierOptions options, Metrics* metrics)
    : providers_(std::move(providers)), options_(options) {
  if (metrics)
    counter_ = &metrics->counter("orch_notifications_total", "Alert notifications by provider and result (sent, failed, dropped, silenced)",
                                 {"provider", "result"});
  if (!providers_.empty()) worker_ = std::thread([this] { run(); });
}

Notifier::~Notifier() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (!queue_.empty()) spdlog::warn("alerts: {} notification(s) not sent at stop", queue_.size());
    queue_.clear();
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void Notifier::count(size_t provider, const char* result) {
  if (counter_) counter_->labels({providers_[provider].name, result}).inc();
}

void Notifier::send(const Event& e, const std::string& summary) {
  if (!direct_ || providers_.empty()) return;
  auto a = one_shot_alert(e);
  if (!a) {  // an event the alerter does not know: still sent, as a warning
    a = Alert{};
    a->type = e.type;
    a->status = "firing";
    a->one_shot = true;
    a->subject = e.subject;
    a->starts_at = a->ends_at = e.time;
    a->incident_id = e.id;
    a->event = e.to_json();
  }
  a->summary = summary;  // the caller's words
  dispatch(*a);
}

void Notifier::dispatch(const Alert& a, bool silenced) {
  for (size_t i = 0; i < providers_.size(); ++i) {
    if (!providers_[i].wants(a.type, a.severity)) continue;
    if (silenced) {
      count(i, "silenced");
      continue;
    }
    std::lock_guard lock(mu_);
    if (queue_.size() >= options_.queue_max) {  // a dead receiver must not grow memory without bound
      count(queue_.front().provider, "dropped");
      spdlog::warn("alerts: queue full ({}), dropped the oldest ({} to {})", options_.queue_max, queue_.front().alert.type,
                   providers_[queue_.front().provider].name);
      queue_.pop_front();
    }
    queue_.push_back(Job{i, a, 1, std::chrono::steady_clock::now()});
    cv_.notify_all();
  }
}

void Notifier::drain(std::chrono::milliseconds limit) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, limit, [&] { return queue_.empty() && in_flight_ == 0; });
}

size_t Notifier::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size() + static_cast<size_t>(in_flight_);
}

void Notifier::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (stopping_) return;
    // The first job that is due; a job waiting for its retry does not hold the others back.
    const auto now = std::chrono::steady_clock::now();
    auto due = std::find_if(queue_.begin(), queue_.end(), [&](const Job& j) { return j.not_before <= now; });
    if (due == queue_.end()) {
      if (queue_.empty()) cv_.wait(lock);
      else {
        auto next = std::min_element(queue_.begin(), queue_.end(), [](const Job& a, const Job& b) { return a.not_before < b.not_before; });
        cv_.wait_until(lock, next->not_before);
      }
      continue;
    }
    Job job = std::move(*due);
    queue_.erase(due);
    ++in_flight_;
    lock.unlock();
    std::chrono::milliseconds retry_after{0};
    Outcome outcome = deliver(job, retry_after);
    const auto& p = providers_[job.provider];
    lock.lock();
    --in_flight_;
    if (outcome == Outcome::sent) count(job.provider, "sent");
    else if (outcome == Outcome::retry && job.attempt < options_.attempts && !stopping_ && queue_.size() >= options_.queue_max) {
      count(job.provider, "dropped");  // the bound holds for retries too
    } else if (outcome == Outcome::retry && job.attempt < options_.attempts && !stopping_) {
      auto delay = options_.retry_delay * (1LL << std::min(job.attempt - 1, 16));
      if (retry_after.count() > 0) delay = retry_after;
      ++job.attempt;
      job.not_before = std::chrono::steady_clock::now() + delay;
      queue_.push_back(std::move(job));
    } else {
      count(job.provider, "failed");
      spdlog::error("alerts: gave up on {} ({}) to {} ({}) after {} attempt(s)", job.alert.type, job.alert.status, p.name,
                    mask_url_beyond_host(p.url), job.attempt);
    }
    cv_.notify_all();
  }
}

Notifier::Outcome Notifier::deliver(const Job& job, std::chrono::milliseconds& retry_after) {
  const auto& p = providers_[job.provider];
  const std::string where = p.name + " (" + mask_url_beyond_host(p.url) + ")";
  try {
    if (p.type == "email") {
      http::Mail m{p.url, p.from, p.to, p.username, p.password, p.starttls, notify::mail_message(p, job.alert), options_.timeout};
      auto r = http::send_mail(m);
      if (r.ok) return Outcome::sent;
      spdlog::warn("alerts: {} refused {} (SMTP {}): {}", where, job.alert.type, r.smtp_code, r.error);
      return r.smtp_code >= 400 && r.smtp_code < 500 ? Outcome::retry : Outcome::failed;
    }
    auto req = notify::http_request(p, job.alert);
    req.timeout = options_.timeout;
    auto res = http::send(req);
    if (res.status >= 200 && res.status < 300) return Outcome::sent;
    spdlog::warn("alerts: {} answered {} to {} (attempt {})", where, res.status, job.alert.type, job.attempt);
    if (res.status == 429) {
      retry_after = res.retry_after();  // capped at 5 min
      return Outcome::retry;
    }
    return res.status >= 500 ? Outcome::retry : Outcome::failed;
  } catch (const http::TransportError& e) {
    spdlog::warn("alerts: {} unreachable for {} (attempt {}): {}", where, job.alert.type, job.attempt, e.what());
    return Outcome::retry;
  }
}

}  // namespace orch
