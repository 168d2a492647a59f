#include "notify/incidents.hpp"

#include "core/duration.hpp"

namespace orch::notify {

std::optional<Alert> IncidentTracker::observe(const Signal& s, long long now_ms) {
  std::lock_guard lock(mu_);
  auto& st = states_[s.key];
  if (s.bad) {
    st.good = 0;
    ++st.bad;
    if (st.open || st.bad < s.failures) return std::nullopt;
    st.open = true;
    Alert a;
    a.type = s.type;
    a.status = "firing";
    a.severity = s.severity;
    a.subject = s.subject;
    a.service = s.service;
    a.summary = s.what + (s.detail.empty() ? "" : " (" + s.detail + ")");
    a.description = std::to_string(st.bad) + " failed check(s) in a row";
    // The time of the first bad signal is not kept: the incident starts when it is declared.
    a.starts_at = rfc3339_ms(now_ms);
    a.incident_id = s.key + "@" + std::to_string(now_ms);
    st.firing = a;
    return a;
  }
  st.bad = 0;
  ++st.good;
  if (!st.open || st.good < s.recoveries) return std::nullopt;
  return resolve(st, s.what, now_ms);
}

Alert IncidentTracker::resolve(State& st, const std::string& why, long long now_ms) {
  st.open = false;
  st.good = 0;
  Alert a = st.firing;
  a.status = "resolved";
  a.ends_at = rfc3339_ms(now_ms);
  const long long started = std::stoll(a.incident_id.substr(a.incident_id.rfind('@') + 1));
  a.description = why + " after " + format_duration(Millis((now_ms - started) / 1000 * 1000)) + " (was: " + a.summary + ")";
  return a;
}

std::vector<Alert> IncidentTracker::close_missing(const std::string& prefix, const std::vector<std::string>& present, long long now_ms) {
  std::lock_guard lock(mu_);
  std::vector<Alert> out;
  for (auto it = states_.begin(); it != states_.end();) {
    bool here = false;
    for (const auto& k : present) here = here || k == it->first;
    if (it->first.rfind(prefix, 0) != 0 || here) {
      ++it;
      continue;
    }
    if (it->second.open) out.push_back(resolve(it->second, it->second.firing.subject + " is gone", now_ms));
    it = states_.erase(it);
  }
  return out;
}

json IncidentTracker::open_json() const {
  std::lock_guard lock(mu_);
  json out = json::array();
  for (const auto& [key, st] : states_)
    if (st.open)
      out.push_back({{"id", st.firing.incident_id},
                     {"type", st.firing.type},
                     {"subject", st.firing.subject},
                     {"severity", to_string(st.firing.severity)},
                     {"since", st.firing.starts_at},
                     {"summary", st.firing.summary}});
  return out;
}

bool IncidentTracker::is_open(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = states_.find(key);
  return it != states_.end() && it->second.open;
}

std::map<std::string, Alert> IncidentTracker::open_alerts() const {
  std::lock_guard lock(mu_);
  std::map<std::string, Alert> out;
  for (const auto& [key, st] : states_)
    if (st.open) out.emplace(key, st.firing);
  return out;
}

void IncidentTracker::restore(const std::map<std::string, Alert>& open) {
  std::lock_guard lock(mu_);
  for (const auto& [key, firing] : open) {
    auto& st = states_[key];
    if (st.open) continue;  // seen since: this process's own view wins
    st.open = true;
    st.bad = 1;  // open: the count only matters again once it has resolved
    st.good = 0;
    st.firing = firing;
  }
}

}  // namespace orch::notify
