#include "history/report.hpp"
#include "core/clock.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "config/orch_url.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "history/store.hpp"
#include "http/client.hpp"

namespace orch::history {

namespace {

std::string fit(std::string s, size_t n) {
  if (s.size() > n) s = s.substr(0, n - 1) + "~";
  s.resize(n, ' ');
  return s;
}

std::string percent(const json& v) {
  if (!v.is_number()) return "-";
  char buf[16];
  const double shown = std::floor(v.get<double>() * 100) / 100;  // 99.996 is not 100%
  std::snprintf(buf, sizeof buf, "%.2f%%", shown);
  return buf;
}

std::string utc_time(long long ms) {
  std::time_t secs = ms / 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%m-%d %H:%M", &tm);
  return buf;
}

}  // namespace

json load_summary(const Config& cfg, Millis window) {
  const auto& s = cfg.settings;
  if (window <= Millis(0) || window > s.duration("HISTORY_RETENTION"))
    throw UsageError("--history must be above 0 and at most HISTORY_RETENTION (" + format_duration(s.duration("HISTORY_RETENTION")) + ")");
  if (s.has("REDIS_URL")) {
    std::vector<std::string> names;
    for (const auto& svc : cfg.services) names.push_back(svc.name);
    auto store = make_store(s);
    return summary(*store, names, unix_ms(), window);
  }
  // Without Redis the history is in orch serve's memory.
  http::Request req;
  req.url = orch_url(s) + "/status?history=" + format_duration(window);
  if (s.has("ORCH_API_TOKEN")) req.headers.push_back({"Authorization", "Bearer " + s.str("ORCH_API_TOKEN")});
  http::Response res;
  try {
    res = http::send(req);
  } catch (const http::TransportError& e) {
    throw UnreachableError("without REDIS_URL the history is kept by orch serve, which did not answer at " + orch_url(s) + ": " + e.what());
  }
  auto doc = parse_json(res.body);
  if (res.status != 200 || !doc.is_object())
    throw UnreachableError("orch serve answered " + std::to_string(res.status) + " to GET /status");
  if (!doc.contains("history") || !doc["history"].is_object())
    throw UnreachableError("orch serve has no history: " + doc.value("history_error", std::string("an older orch serve?")));
  json out = doc["history"];
  if (doc.contains("pipeline")) out["pipeline"] = doc["pipeline"];
  return out;
}

std::string sparkline(const json& series, long long since_ms, long long until_ms, size_t width) {
  static const char* kLevels[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  if (width == 0 || until_ms <= since_ms) return "";
  std::vector<double> ms(width, -1), up(width, -1);
  double slowest = 0;
  for (const auto& p : series) {
    const long long t = p.value("t", 0LL);
    if (t < since_ms || t > until_ms) continue;
    auto slot = std::min(width - 1, static_cast<size_t>((t - since_ms) * static_cast<long long>(width) / (until_ms - since_ms)));
    ms[slot] = std::max(ms[slot], p.value("ms", 0.0));
    up[slot] = std::max(up[slot], p.value("up", 0.0));
    slowest = std::max(slowest, ms[slot]);
  }
  std::string out;
  for (size_t i = 0; i < width; ++i) {
    if (ms[i] < 0) out += " ";
    else if (up[i] <= 0) out += "×";
    else out += kLevels[slowest <= 0 ? 0 : std::min(7, static_cast<int>(ms[i] / slowest * 7.999))];
  }
  return out;
}

std::string render_table(const json& doc, bool colour) {
  auto paint = [&](const char* c, const std::string& text) { return colour ? std::string(c) + text + "\033[0m" : text; };
  const long long until = doc.value("now_ms", 0LL), window = doc.value("window_ms", 0LL);
  std::string out = fit("SERVICE", 18) + fit("UP 24H", 9) + fit("UP 7D", 9) + fit("LAST", 14) + "RESPONSE TIME, LAST " +
                    format_duration(Millis(window)) + " (× down)\n";
  const json services = doc.value("services", json::object());
  for (const auto& [name, s] : services.items()) {
    std::string last = "-";
    const char* c = "\033[0m";
    if (s.contains("last")) {
      const auto state = s["last"].value("state", "");
      last = state + " " + std::to_string(s["last"].value("response_ms", 0LL)) + "ms";
      c = state == "up" ? "\033[32m" : state == "degraded" ? "\033[33m" : "\033[31m";
    }
    out += fit(name, 18) + fit(percent(s.contains("uptime_24h") ? s["uptime_24h"] : json()), 9) +
           fit(percent(s.contains("uptime_7d") ? s["uptime_7d"] : json()), 9) + paint(c, fit(last, 14)) +
           sparkline(s.value("series", json::array()), s.value("series_from_ms", until - window), until, 48) + "\n";
  }
  std::map<std::string, double> total;
  const json hourly = doc.value("hourly", json::array());
  for (const auto& h : hourly) {
    const json counters = h.value("counters", json::object());
    for (const auto& [k, v] : counters.items()) total[k] += v.get<double>();
  }
  auto n = [&](const char* k) { return std::to_string(std::llround(total[k])); };
  out += "\nwebhooks " + n("webhooks.accepted") + " accepted, " + n("webhooks.refused") + " refused · pipeline jobs " +
         n("jobs.succeeded") + " succeeded, " + n("jobs.dead_lettered") + " dead-lettered";
  if (total["jobs.timed"] > 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f s", total["jobs.seconds"] / total["jobs.timed"]);
    out += ", mean " + std::string(buf);
  }
  out += " · heals " + n("heals") + ", quarantines " + n("quarantines") + ", rollbacks " + n("rollbacks") + "\n";
  if (doc.contains("pipeline") && doc["pipeline"].is_object()) {
    const auto& p = doc["pipeline"];
    out += "pipeline queue " + (p["queue_depth"].is_number() ? std::to_string(p["queue_depth"].get<long long>()) : std::string("-")) +
           ", dead letters " + std::to_string(p.value("dead_letters", 0LL)) + "\n";
  }
  const auto timeline = doc.value("timeline", json::array());
  if (!timeline.empty()) {
    out += "\n";
    const size_t from = timeline.size() > 10 ? timeline.size() - 10 : 0;
    for (size_t i = from; i < timeline.size(); ++i)
      out += utc_time(timeline[i].value("time_ms", 0LL)) + "  " + fit(timeline[i].value("type", ""), 20) +
             timeline[i].value("subject", "") + "\n";
  }
  return out;
}

}  // namespace orch::history
