#include "heal/policy.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "config/config.hpp"
#include "core/error.hpp"
#include "core/number.hpp"

namespace orch::heal {

Policy policy_for(const Settings& s, const ServiceSpec* service, const std::map<std::string, std::string>& labels,
                  std::vector<std::string>* warnings) {
  Policy p;
  p.max_restarts = static_cast<int>(s.integer("ORCH_HEAL_MAX_RESTARTS"));
  p.window = s.duration("ORCH_HEAL_WINDOW");
  p.backoff = parse_backoff(s.str("ORCH_HEAL_BACKOFF"));
  p.reset_after = s.duration("ORCH_HEAL_RESET_AFTER");
  if (service) {
    if (service->heal.max_restarts) p.max_restarts = *service->heal.max_restarts;
    if (service->heal.window) p.window = *service->heal.window;
    if (service->heal.backoff) p.backoff = *service->heal.backoff;
  }
  auto label = [&](const char* key, auto apply) {
    auto it = labels.find(key);
    if (it == labels.end()) return;
    try {
      apply(it->second);
    } catch (const std::exception& e) {
      if (warnings) warnings->push_back(std::string("label ") + key + "=" + it->second + " ignored: " + e.what());
    }
  };
  label("orch.heal.max-restarts", [&](const std::string& v) { p.max_restarts = static_cast<int>(parse_integer(v, 0, 1'000'000)); });
  label("orch.heal.window", [&](const std::string& v) { p.window = parse_duration(v); });
  label("orch.heal.backoff", [&](const std::string& v) { p.backoff = parse_backoff(v); });
  label("orch.stop.timeout", [&](const std::string& v) {
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(parse_duration(v)).count();
    // The engine takes an int of seconds: a longer one would wrap to a negative timeout.
    if (seconds > std::numeric_limits<int>::max()) throw ConfigError("longer than the engine's stop timeout can be");
    p.stop_timeout_s = static_cast<int>(seconds);
  });
  return p;
}

Millis Tracker::backoff_delay(const Policy& p, int streak) {
  if (streak <= 0) return Millis(0);
  double base = static_cast<double>(p.backoff.min.count()) * std::pow(2.0, streak - 1);
  base = std::min(base, static_cast<double>(p.backoff.max.count()));
  std::uniform_real_distribution<double> spread(1.0 - p.jitter, 1.0 + p.jitter);
  return Millis(static_cast<long long>(base * spread(rng_)));
}

Decision Tracker::on_failure(const std::string& container, const Policy& p, Clock::time_point now) {
  Decision d;
  if (quarantined(container)) {
    d.reason = "quarantined";
    return d;
  }
  auto& st = states_[container];
  if (st.healthy_since && now - *st.healthy_since >= p.reset_after) st.streak = 0;
  st.healthy_since.reset();
  st.heals.erase(std::remove_if(st.heals.begin(), st.heals.end(), [&](auto t) { return now - t >= p.window; }), st.heals.end());
  if (static_cast<int>(st.heals.size()) >= p.max_restarts) {
    d.verdict = Verdict::quarantine;
    d.reason = std::to_string(st.heals.size()) + " heals within " + format_duration(p.window);
    return d;
  }
  d.verdict = Verdict::restart;
  d.attempt = st.streak + 1;
  Millis wait = backoff_delay(p, st.streak);
  if (st.last_heal && *st.last_heal + wait > now) d.delay = std::chrono::duration_cast<Millis>(*st.last_heal + wait - now);
  else if (!st.last_heal) d.delay = Millis(0);
  d.next_delay = backoff_delay(p, st.streak + 1);
  return d;
}

int Tracker::on_restarted(const std::string& container, Clock::time_point now) {
  auto& st = states_[container];
  st.heals.push_back(now);
  st.last_heal = now;
  return ++st.streak;
}

Millis Tracker::delay_after(const std::string& container, const Policy& p) {
  auto it = states_.find(container);
  return backoff_delay(p, it == states_.end() ? 0 : it->second.streak);
}

void Tracker::on_healthy(const std::string& container, Clock::time_point now) {
  auto& st = states_[container];
  if (!st.healthy_since) st.healthy_since = now;
}

bool Tracker::quarantined(const std::string& container) const { return quarantined_.count(container) > 0; }

void Tracker::quarantine(const std::string& container, Clock::time_point now, const std::string& reason) {
  quarantined_[container] = {{"since_ms", now.time_since_epoch().count()}, {"reason", reason}};
}

void Tracker::reset(const std::string& container) {
  quarantined_.erase(container);
  states_.erase(container);
}

json Tracker::quarantine_list() const {
  json out = json::object();
  for (const auto& [k, v] : quarantined_) out[k] = v;
  return out;
}

void Tracker::load_quarantine(const json& doc) {
  decltype(quarantined_) next;
  if (doc.is_object())
    for (const auto& [k, v] : doc.items()) next[k] = v;
  // A quarantine lifted elsewhere (`orch heal --reset` in another process, a rollback) also
  // forgets the restarts that led to it: kept, they would quarantine the container again at its
  // next failure instead of letting healing resume.
  for (const auto& [k, v] : quarantined_)
    if (!next.count(k)) states_.erase(k);
  quarantined_ = std::move(next);
}

}  // namespace orch::heal
