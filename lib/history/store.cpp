#include "history/store.hpp"
#include "core/clock.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <mutex>

#include "config/settings.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "redis/client.hpp"

namespace orch::history {

namespace {

// An event's own time (RFC 3339 as make_event writes it), so every instance files it at the same
// instant; now when it does not parse.
long long event_time_ms(const Event& e) {
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(e.time.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) <
      6)
    return unix_ms();
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<long long>(timegm(&tm)) * 1000 + ms;
}

json timeline_entry(const Event& e, long long time_ms) {
  return {{"time_ms", time_ms}, {"type", e.type}, {"subject", e.subject}, {"id", e.id}, {"data", e.data}};
}

void count_probe(std::map<std::string, double>& hour, const std::string& service, const Probe& p) {
  hour["probes." + service] += 1;
  if (p.state == "up") hour["up." + service] += 1;
  hour["response_ms." + service] += static_cast<double>(p.response_ms);
}

// ---------------------------------------------------------------------------------------------
// In memory: a deque per service, capped by count and age.

class MemoryStore final : public Store {
 public:
  explicit MemoryStore(Limits l) : limits_(l) {}

  void record_probe(const std::string& service, const Probe& p) override {
    std::lock_guard lock(mu_);
    auto& q = probes_[service];
    q.push_back(p);
    const long long cutoff = p.time_ms - limits_.retention.count();
    while (!q.empty() && (q.size() > limits_.max_probes || q.front().time_ms < cutoff)) q.pop_front();
    count_probe(hours_[hour_of(p.time_ms)], service, p);
    trim_hours(p.time_ms);
  }

  std::vector<Probe> probes(const std::string& service, long long since_ms) override {
    std::lock_guard lock(mu_);
    std::vector<Probe> out;
    auto it = probes_.find(service);
    if (it == probes_.end()) return out;
    for (const auto& p : it->second)
      if (p.time_ms >= since_ms) out.push_back(p);
    return out;
  }

  void add(long long time_ms, const std::map<std::string, double>& counters) override {
    std::lock_guard lock(mu_);
    auto& h = hours_[hour_of(time_ms)];
    for (const auto& [k, v] : counters)
      if (v != 0) h[k] += v;
    trim_hours(time_ms);
  }

  std::vector<Hour> hours(long long since_ms) override {
    std::lock_guard lock(mu_);
    std::vector<Hour> out;
    for (auto it = hours_.lower_bound(hour_of(since_ms)); it != hours_.end(); ++it) out.push_back({it->first, it->second});
    return out;
  }

  void record_event(const Event& e) override {
    std::lock_guard lock(mu_);
    if (std::any_of(timeline_.begin(), timeline_.end(), [&](const json& j) { return j["id"] == e.id; })) return;
    const long long t = event_time_ms(e);
    timeline_.push_back(timeline_entry(e, t));
    std::stable_sort(timeline_.begin(), timeline_.end(), [](const json& a, const json& b) { return a["time_ms"] < b["time_ms"]; });
    const long long cutoff = t - limits_.retention.count();
    while (!timeline_.empty() && (timeline_.size() > limits_.max_timeline || timeline_.front()["time_ms"].get<long long>() < cutoff))
      timeline_.pop_front();
  }

  std::vector<json> timeline(long long since_ms) override {
    std::lock_guard lock(mu_);
    std::vector<json> out;
    for (const auto& j : timeline_)
      if (j["time_ms"].get<long long>() >= since_ms) out.push_back(j);
    return out;
  }

  const char* kind() const override { return "memory"; }

 private:
  void trim_hours(long long now) {
    const long long cutoff = hour_of(now - limits_.retention.count());
    while (!hours_.empty() && hours_.begin()->first < cutoff) hours_.erase(hours_.begin());
  }
  Limits limits_;
  std::mutex mu_;
  std::map<std::string, std::deque<Probe>> probes_;
  std::map<long long, std::map<std::string, double>> hours_;
  std::deque<json> timeline_;
};

// ---------------------------------------------------------------------------------------------
// In Redis: a stream per service (orch:history:probes:<service>, id = the probe's time), a hash
// per hour (orch:history:hour:<hour start ms>, expiring after the retention) and a sorted set for
// the timeline (orch:history:timeline, scored by time; the member is the entry itself, so the
// same event added by several instances is kept once).

constexpr const char* kProbesKey = "orch:history:probes:";
constexpr const char* kHourKey = "orch:history:hour:";
constexpr const char* kTimelineKey = "orch:history:timeline";

std::string number_text(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

class RedisStore final : public Store {
 public:
  RedisStore(const std::string& url, Limits l) : limits_(l), client_(redis::parse_url(url)) {}

  void record_probe(const std::string& service, const Probe& p) override {
    const std::string key = kProbesKey + service;
    const std::string hour = kHourKey + std::to_string(hour_of(p.time_ms));
    const std::string cutoff = std::to_string(p.time_ms - limits_.retention.count());
    std::lock_guard lock(mu_);
    // The probe's own time as the entry id; `<ms>-*` lets Redis number probes of the same
    // millisecond. A probe older than the stream's last entry (another instance's clock runs
    // ahead) takes the server's time instead.
    auto add = [&](const std::string& id) {
      return std::vector<std::string>{"XADD",
                                      key,
                                      "MAXLEN",
                                      std::to_string(limits_.max_probes),
                                      id,
                                      "s",
                                      p.state,
                                      "c",
                                      std::to_string(p.code),
                                      "r",
                                      std::to_string(p.response_ms)};
    };
    try {
      client_.command(add(std::to_string(p.time_ms) + "-*"));
    } catch (const redis::ReplyError&) {
      client_.command(add("*"));
    }
    redis::RespCommands c;
    c.command(4).arg("XTRIM").arg(key).arg("MINID").arg(cutoff);  // exact: at most a probe or two go each time
    c.command(4).arg("HINCRBY").arg(hour).arg("probes." + service).arg(1LL);
    c.command(4).arg("HINCRBY").arg(hour).arg("up." + service).arg(p.state == "up" ? 1LL : 0LL);
    c.command(4).arg("HINCRBY").arg(hour).arg("response_ms." + service).arg(p.response_ms);
    c.command(3).arg("PEXPIRE").arg(hour).arg(limits_.retention.count() + kHourMs);
    client_.pipeline(c);
  }

  std::vector<Probe> probes(const std::string& service, long long since_ms) override {
    std::lock_guard lock(mu_);
    auto r = client_.command({"XRANGE", kProbesKey + service, std::to_string(std::max(0LL, since_ms)), "+"});
    std::vector<Probe> out;
    out.reserve(r.elements.size());
    for (const auto& entry : r.elements) {
      if (entry.elements.size() != 2) continue;
      Probe p;
      p.time_ms = std::atoll(entry.elements[0].str.c_str());  // "<ms>-<seq>"
      const auto& f = entry.elements[1].elements;
      for (size_t i = 0; i + 1 < f.size(); i += 2) {
        if (f[i].str == "s") p.state = f[i + 1].str;
        else if (f[i].str == "c") p.code = std::atoi(f[i + 1].str.c_str());
        else if (f[i].str == "r") p.response_ms = std::atoll(f[i + 1].str.c_str());
      }
      out.push_back(std::move(p));
    }
    return out;
  }

  void add(long long time_ms, const std::map<std::string, double>& counters) override {
    const std::string hour = kHourKey + std::to_string(hour_of(time_ms));
    redis::RespCommands c;
    for (const auto& [k, v] : counters)
      if (v != 0) c.command(4).arg("HINCRBYFLOAT").arg(hour).arg(k).arg(number_text(v));
    if (c.size() == 0) return;
    c.command(3).arg("PEXPIRE").arg(hour).arg(limits_.retention.count() + kHourMs);
    std::lock_guard lock(mu_);
    client_.pipeline(c);
  }

  std::vector<Hour> hours(long long since_ms) override {
    const long long first = hour_of(since_ms), last = hour_of(unix_ms());
    std::vector<long long> starts;
    redis::RespCommands c;
    for (long long h = first; h <= last && starts.size() < 24 * 400; h += kHourMs) {
      starts.push_back(h);
      c.command(2).arg("HGETALL").arg(kHourKey + std::to_string(h));
    }
    std::vector<redis::Reply> replies;
    {
      std::lock_guard lock(mu_);
      replies = client_.pipeline(c);
    }
    std::vector<Hour> out;
    for (size_t i = 0; i < replies.size() && i < starts.size(); ++i) {
      const auto& f = replies[i].elements;
      if (f.empty()) continue;
      Hour h{starts[i], {}};
      for (size_t k = 0; k + 1 < f.size(); k += 2) h.counters[f[k].str] = std::atof(f[k + 1].str.c_str());
      out.push_back(std::move(h));
    }
    return out;
  }

  void record_event(const Event& e) override {
    const long long t = event_time_ms(e);
    redis::RespCommands c;
    c.command(4).arg("ZADD").arg(kTimelineKey).arg(t).arg(to_text(timeline_entry(e, t)));
    c.command(4).arg("ZREMRANGEBYSCORE").arg(kTimelineKey).arg("-inf").arg("(" + std::to_string(t - limits_.retention.count()));
    c.command(4).arg("ZREMRANGEBYRANK").arg(kTimelineKey).arg(0LL).arg(-static_cast<long long>(limits_.max_timeline) - 1);
    std::lock_guard lock(mu_);
    client_.pipeline(c);
  }

  std::vector<json> timeline(long long since_ms) override {
    redis::Reply r;
    {
      std::lock_guard lock(mu_);
      r = client_.command({"ZRANGE", kTimelineKey, std::to_string(since_ms), "+inf", "BYSCORE"});
    }
    std::vector<json> out;
    for (const auto& m : r.elements) {
      auto j = parse_json(m.str);
      if (j.is_object()) out.push_back(std::move(j));
    }
    return out;
  }

  const char* kind() const override { return "redis"; }

 private:
  Limits limits_;
  std::mutex mu_;
  redis::Client client_;  // under mu_
};

}  // namespace

Limits limits_from(const Settings& s) {
  Limits l;
  l.retention = s.duration("HISTORY_RETENTION");
  l.max_probes = static_cast<size_t>(s.integer("HISTORY_MAX_PROBES"));
  return l;
}

std::unique_ptr<Store> make_memory_store(Limits limits) { return std::make_unique<MemoryStore>(limits); }
std::unique_ptr<Store> make_redis_store(const std::string& redis_url, Limits limits) {
  return std::make_unique<RedisStore>(redis_url, limits);
}
std::unique_ptr<Store> make_store(const Settings& s) {
  if (s.has("REDIS_URL")) return make_redis_store(s.str("REDIS_URL"), limits_from(s));
  return make_memory_store(limits_from(s));
}

std::optional<double> uptime(const std::vector<Hour>& hours, const std::string& service, long long since_ms) {
  double probes = 0, up = 0;
  for (const auto& h : hours) {
    if (h.start_ms < hour_of(since_ms)) continue;
    auto p = h.counters.find("probes." + service);
    auto u = h.counters.find("up." + service);
    if (p != h.counters.end()) probes += p->second;
    if (u != h.counters.end()) up += u->second;
  }
  if (probes <= 0) return std::nullopt;
  return 100.0 * up / probes;
}

json series(const std::vector<Probe>& probes, long long since_ms, long long until_ms, size_t buckets) {
  json out = json::array();
  if (buckets == 0 || until_ms <= since_ms) return out;
  const long long width =
      std::max<long long>(1, (until_ms - since_ms + static_cast<long long>(buckets) - 1) / static_cast<long long>(buckets));
  struct Acc {
    double sum = 0, max = 0, up = 0, n = 0;
  };
  std::map<long long, Acc> acc;
  for (const auto& p : probes) {
    if (p.time_ms < since_ms || p.time_ms > until_ms) continue;
    auto& a = acc[since_ms + (p.time_ms - since_ms) / width * width];
    a.sum += static_cast<double>(p.response_ms);
    a.max = std::max(a.max, static_cast<double>(p.response_ms));
    a.up += p.state == "up" ? 1 : 0;
    a.n += 1;
  }
  for (const auto& [t, a] : acc)
    out.push_back({{"t", t}, {"ms", std::llround(a.sum / a.n)}, {"max_ms", std::llround(a.max)}, {"up", a.up / a.n}, {"n", a.n}});
  return out;
}

json summary(Store& store, const std::vector<std::string>& services, long long now_ms, Millis window) {
  const long long day = 24 * kHourMs, week = 7 * day;
  const auto hours = store.hours(now_ms - week);
  json doc = {{"store", store.kind()}, {"window_ms", window.count()}, {"now_ms", now_ms}};
  json svc = json::object();
  for (const auto& name : services) {
    auto probes = store.probes(name, now_ms - window.count());
    auto u24 = uptime(hours, name, now_ms - day), u7 = uptime(hours, name, now_ms - week);
    json s = {{"uptime_24h", u24 ? json(*u24) : json(nullptr)}, {"uptime_7d", u7 ? json(*u7) : json(nullptr)}, {"probes", probes.size()}};
    // The series spans the window, or less when the history is younger: a fresh orch serve
    // shows what it has in detail rather than one slot at the end of an empty day.
    const long long from = probes.empty() ? now_ms - window.count() : std::max(now_ms - window.count(), probes.front().time_ms);
    s["series_from_ms"] = from;
    s["series"] = series(probes, from, now_ms, 96);
    if (!probes.empty()) {
      const auto& last = probes.back();
      s["last"] = {{"time_ms", last.time_ms}, {"state", last.state}, {"code", last.code}, {"response_ms", last.response_ms}};
    }
    svc[name] = std::move(s);
  }
  doc["services"] = std::move(svc);
  // Hourly counters without the per-service ones (those are in uptime and the series), plus the
  // heals, quarantines and rollbacks of the timeline: events every instance sees, counted once.
  const long long from = hour_of(now_ms - window.count());
  std::map<long long, json> by_hour;
  for (const auto& h : hours) {
    if (h.start_ms < from) continue;
    json& c = by_hour[h.start_ms];
    if (!c.is_object()) c = json::object();
    for (const auto& [k, v] : h.counters)
      if (k.rfind("probes.", 0) != 0 && k.rfind("up.", 0) != 0 && k.rfind("response_ms.", 0) != 0) c[k] = v;
  }
  auto timeline = store.timeline(now_ms - window.count());
  for (const auto& e : timeline) {
    const auto type = e.value("type", "");
    const char* counter = type == "heal.restarted"     ? "heals"
                          : type == "heal.quarantined" ? "quarantines"
                          : type == "rollback.started" ? "rollbacks"
                                                       : nullptr;
    if (!counter) continue;
    json& c = by_hour[hour_of(e.value("time_ms", 0LL))];
    if (!c.is_object()) c = json::object();
    c[counter] = c.value(counter, 0.0) + 1;
  }
  json hourly = json::array();
  for (auto& [start, c] : by_hour) hourly.push_back({{"hour_ms", start}, {"counters", std::move(c)}});
  doc["hourly"] = std::move(hourly);
  doc["timeline"] = std::move(timeline);
  return doc;
}

}  // namespace orch::history
