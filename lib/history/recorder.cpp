#include "history/recorder.hpp"
#include "core/clock.hpp"

#include <spdlog/spdlog.h>

namespace orch::history {

Recorder::Recorder(Store& store, Bus& bus, const Metrics& metrics, Millis period)
    : store_(store), bus_(bus), metrics_(metrics), period_(period) {}

Recorder::~Recorder() { stop(); }

std::map<std::string, double> Recorder::totals() const {
  std::map<std::string, double> t{{"webhooks.accepted", 0},  {"webhooks.refused", 0}, {"jobs.succeeded", 0},
                                  {"jobs.dead_lettered", 0}, {"jobs.seconds", 0},     {"jobs.timed", 0}};
  if (const auto* f = metrics_.find_counter("orch_webhooks_received_total")) {
    for (const auto& [labels, c] : f->series()) {
      const auto& result = labels.empty() ? std::string() : labels[0];
      if (result == "accepted") t["webhooks.accepted"] += c->value();
      else if (result != "duplicate") t["webhooks.refused"] += c->value();  // answered 200 as seen before: neither
    }
  }
  if (const auto* f = metrics_.find_counter("orch_pipeline_jobs_total")) {
    for (const auto& [labels, c] : f->series()) {
      const auto& result = labels.empty() ? std::string() : labels[0];
      if (result == "succeeded") t["jobs.succeeded"] += c->value();
      else if (result == "dead_lettered") t["jobs.dead_lettered"] += c->value();
    }
  }
  if (const auto* f = metrics_.find_histogram("orch_pipeline_job_seconds")) {
    for (const auto& [labels, h] : f->series()) {
      t["jobs.seconds"] += h->sum();
      auto counts = h->cumulative();
      if (!counts.empty()) t["jobs.timed"] += static_cast<double>(counts.back());
    }
  }
  return t;
}

void Recorder::sample() {
  std::lock_guard lock(mu_);
  auto now = totals();
  std::map<std::string, double> delta;
  for (const auto& [k, v] : now) delta[k] = v - last_[k];
  try {
    store_.add(unix_ms(), delta);
    last_ = std::move(now);  // only once stored: a Redis outage delays the counts, it does not lose them
  } catch (const Error& e) {
    spdlog::warn("history: hourly counters not stored: {}", e.what());
  }
}

void Recorder::start() {
  sub_ = bus_.subscribe(
      [this](const Event& e) {
        // What orch did, not what it chose not to do: a container crash-looping under Docker's own
        // restart policy would otherwise push the real heals out of the bounded timeline.
        if (e.type == "heal.left_alone") return;
        try {
          store_.record_event(e);
        } catch (const Error& err) {
          spdlog::warn("history: {} not kept on the timeline: {}", e.type, err.what());
        }
      },
      {"heal.", "rollback."});
  thread_ = std::thread([this] {
    while (!stop_.wait_for(period_)) sample();
  });
}

void Recorder::stop() {
  sub_.reset();
  stop_.request_stop();
  if (!thread_.joinable()) return;
  thread_.join();
  sample();
}

}  // namespace orch::history
