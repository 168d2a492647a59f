#include "config/alerting.hpp"

#include <cctype>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>

#include "config/settings.hpp"
#include "core/error.hpp"

namespace orch {

const char* to_string(Severity s) {
  switch (s) {
    case Severity::info: return "info";
    case Severity::warning: return "warning";
    case Severity::critical: return "critical";
  }
  return "info";
}

Severity parse_severity(const std::string& text, const std::string& where) {
  if (text == "info") return Severity::info;
  if (text == "warning") return Severity::warning;
  if (text == "critical") return Severity::critical;
  throw ConfigError(where + ": must be info, warning or critical, got '" + text + "'");
}

bool NotifyProvider::wants(const std::string& alert_type, Severity s) const {
  if (static_cast<int>(s) < static_cast<int>(min_severity)) return false;
  if (events.empty()) return true;
  for (const auto& prefix : events)
    if (alert_type.rfind(prefix, 0) == 0) return true;
  return false;
}

json NotifyProvider::to_json() const {
  json j = {{"name", name},
            {"type", type},
            {"url", mask_url_beyond_host(url)},
            {"events", events},
            {"min_severity", orch::to_string(min_severity)}};
  if (type == "email") {
    j["from"] = from;
    j["to"] = to;
    j["starttls"] = starttls;
    if (!username.empty()) j["username"] = username;
    j["password"] = password.empty() ? "" : "***";
  }
  return j;
}

// ---------------------------------------------------------------------------------------------
// Providers

static std::string text_of(const json& v, const std::string& where) {
  if (!v.is_string()) throw ConfigError(where + ": expected a single value");
  return v.get<std::string>();
}

static std::vector<std::string> list_of(const json& v, const std::string& where) {
  if (v.is_string()) return {v.get<std::string>()};
  if (!v.is_array()) throw ConfigError(where + ": expected a list");
  std::vector<std::string> out;
  for (const auto& x : v) out.push_back(text_of(x, where));
  return out;
}

static std::string trimmed(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// A secret given as `<key>_file` (a Docker secret) or `<key>_env` (the name of a variable).
static std::string secret_from(const json& j, const std::string& key, const std::string& where) {
  if (j.contains(key + "_file")) {
    const auto path = text_of(j[key + "_file"], where + "." + key + "_file");
    std::ifstream in(path);
    if (!in) throw ConfigError(where + "." + key + "_file: cannot read '" + path + "'");
    std::stringstream ss;
    ss << in.rdbuf();
    return trimmed(ss.str());
  }
  if (j.contains(key + "_env")) {
    const auto name = text_of(j[key + "_env"], where + "." + key + "_env");
    const char* v = std::getenv(name.c_str());
    if (!v || !*v) throw ConfigError(where + "." + key + "_env: " + name + " is not set");
    return v;
  }
  if (j.contains(key)) return text_of(j[key], where + "." + key);
  return "";
}

static std::string scheme_of(const std::string& url) {
  auto p = url.find("://");
  if (p == std::string::npos || p == 0) return "";
  std::string s = url.substr(0, p);
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

static void check_url(const NotifyProvider& p, const std::string& where) {
  // The URL is never quoted in an error: it is the secret.
  if (p.url.empty()) throw ConfigError(where + ".url: empty (a provider without a URL would drop every alert)");
  const auto scheme = scheme_of(p.url);
  const bool mail = p.type == "email";
  if (scheme.empty())
    throw ConfigError(where + ".url: no scheme (expected " + std::string(mail ? "smtp:// or smtps://" : "http:// or https://") + ")");
  if (mail ? (scheme != "smtp" && scheme != "smtps") : (scheme != "http" && scheme != "https"))
    throw ConfigError(where + ".url: scheme " + scheme + ":// is not " + (mail ? "smtp:// or smtps://" : "http:// or https://"));
  if (p.url.size() <= scheme.size() + 3) throw ConfigError(where + ".url: no host");
}

NotifyProvider parse_provider(const json& j, int line, size_t index) {
  const std::string where = "line " + std::to_string(line) + ": notify[" + std::to_string(index) + "]";
  if (!j.is_object()) throw ConfigError(where + ": expected a mapping (type, url, ...)");
  NotifyProvider p;
  p.line = line;
  static const char* kTypes[] = {"webhook", "slack", "discord", "teams", "ntfy", "email"};
  for (const auto& [key, value] : j.items()) {
    if (key == "type") p.type = text_of(value, where + ".type");
    else if (key == "name") p.name = text_of(value, where + ".name");
    else if (key == "events") p.events = list_of(value, where + ".events");
    else if (key == "min_severity") p.min_severity = parse_severity(text_of(value, where + ".min_severity"), where + ".min_severity");
    else if (key == "from") p.from = text_of(value, where + ".from");
    else if (key == "to") p.to = list_of(value, where + ".to");
    else if (key == "username") p.username = text_of(value, where + ".username");
    else if (key == "starttls") {
      const auto v = text_of(value, where + ".starttls");
      if (v != "true" && v != "false") throw ConfigError(where + ".starttls: must be true or false");
      p.starttls = v == "true";
    } else if (key == "url" || key == "url_file" || key == "url_env" || key == "password" || key == "password_file" ||
               key == "password_env") {
      continue;  // below
    } else throw ConfigError(where + ": unknown key '" + key + "'");
  }
  bool known = false;
  for (const char* t : kTypes) known = known || p.type == t;
  if (!known) throw ConfigError(where + ".type: must be webhook, slack, discord, teams, ntfy or email, got '" + p.type + "'");
  // `service.*` and `service.` mean the same prefix.
  for (auto& e : p.events)
    if (e.ends_with("*")) e.pop_back();
  p.url = secret_from(j, "url", where);
  check_url(p, where);
  p.password = secret_from(j, "password", where);
  if (p.type == "email") {
    if (p.from.empty()) throw ConfigError(where + ".from: an email provider needs a sender");
    if (p.to.empty()) throw ConfigError(where + ".to: an email provider needs at least one recipient");
  } else if (!p.from.empty() || !p.to.empty() || !p.password.empty() || p.starttls) {
    throw ConfigError(where + ": from, to, password and starttls are for type email only");
  }
  if (p.name.empty()) p.name = p.type + "-" + std::to_string(index + 1);
  return p;
}

NotifyProvider provider_from_env_url(const std::string& url) {
  NotifyProvider p;
  p.name = "webhook";
  p.type = "webhook";
  p.url = url;
  check_url(p, "NOTIFY_WEBHOOK_URL");
  return p;
}

// ---------------------------------------------------------------------------------------------
// Maintenance windows

static int weekday_of(const std::string& d) {
  static const char* kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
  std::string l;
  for (char c : d) l += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (int i = 0; i < 7; ++i)
    if (l == kDays[i]) return i;
  return -1;
}

static int minutes_of(const std::string& hhmm) {
  if (hhmm.size() != 5 || hhmm[2] != ':' || !std::isdigit(static_cast<unsigned char>(hhmm[0])) ||
      !std::isdigit(static_cast<unsigned char>(hhmm[1])) || !std::isdigit(static_cast<unsigned char>(hhmm[3])) ||
      !std::isdigit(static_cast<unsigned char>(hhmm[4])))
    return -1;
  int h = (hhmm[0] - '0') * 10 + (hhmm[1] - '0'), m = (hhmm[3] - '0') * 10 + (hhmm[4] - '0');
  if (h == 24 && m == 0) return 24 * 60;
  if (h > 23 || m > 59) return -1;
  return h * 60 + m;
}

MaintenanceWindow parse_window(const std::string& spec) {
  MaintenanceWindow w;
  w.window = spec;
  const auto bad = [&](const std::string& why) {
    return ConfigError("window '" + spec + "': " + why +
                       " (expected e.g. \"Sun 02:00-04:00\", \"Mon-Fri 22:00-23:30\", \"daily 03:00-03:15\"; UTC)");
  };
  std::istringstream in(spec);
  std::string days, times, rest;
  if (!(in >> days >> times) || (in >> rest)) throw bad("two parts: days and HH:MM-HH:MM");
  if (days == "daily" || days == "*") w.days = 0x7f;
  else {
    std::stringstream list(days);
    std::string item;
    while (std::getline(list, item, ',')) {
      auto dash = item.find('-');
      if (dash == std::string::npos) {
        int d = weekday_of(item);
        if (d < 0) throw bad("unknown day '" + item + "'");
        w.days |= 1u << d;
      } else {
        int a = weekday_of(item.substr(0, dash)), b = weekday_of(item.substr(dash + 1));
        if (a < 0 || b < 0) throw bad("unknown day range '" + item + "'");
        for (int d = a;; d = (d + 1) % 7) {
          w.days |= 1u << d;
          if (d == b) break;
        }
      }
    }
    if (w.days == 0) throw bad("no day");
  }
  auto dash = times.find('-');
  if (dash == std::string::npos) throw bad("no time range");
  w.start_min = minutes_of(times.substr(0, dash));
  w.end_min = minutes_of(times.substr(dash + 1));
  if (w.start_min < 0 || w.end_min < 0 || w.start_min == 24 * 60) throw bad("times are HH:MM, 00:00 to 24:00");
  if (w.start_min == w.end_min) throw bad("the window is empty");
  return w;
}

MaintenanceWindow parse_maintenance(const json& j, int line) {
  const std::string where = "line " + std::to_string(line) + ": maintenance";
  if (!j.is_object()) throw ConfigError(where + ": expected a mapping (window, services, reason)");
  if (!j.contains("window")) throw ConfigError(where + ": no window (e.g. window: \"Sun 02:00-04:00\")");
  MaintenanceWindow w;
  try {
    w = parse_window(text_of(j["window"], "window"));
  } catch (const ConfigError& e) {
    throw ConfigError(where + ": " + e.what());
  }
  w.line = line;
  for (const auto& [key, value] : j.items()) {
    if (key == "window") continue;
    if (key == "services") w.services = list_of(value, where + ".services");
    else if (key == "reason") w.reason = text_of(value, where + ".reason");
    else throw ConfigError(where + ": unknown key '" + key + "'");
  }
  return w;
}

// Minutes since Sunday 00:00 UTC, and the start of that week.
static std::pair<long long, std::chrono::system_clock::time_point> week_position(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto days = floor<std::chrono::days>(t);
  const weekday wd{days};
  const auto week_start = days - std::chrono::days(wd.c_encoding());
  return {duration_cast<minutes>(t - week_start).count(), week_start};
}

// Inside a window, its end lies ahead; outside, ends_after answers `t` itself.
bool MaintenanceWindow::active_at(std::chrono::system_clock::time_point t) const { return ends_after(t) > t; }

std::chrono::system_clock::time_point MaintenanceWindow::ends_after(std::chrono::system_clock::time_point t) const {
  const auto [m, week_start] = week_position(t);
  const long long kWeek = 7 * 24 * 60;
  const long long len = end_min > start_min ? end_min - start_min : 24 * 60 - start_min + end_min;
  for (int d = 0; d < 7; ++d) {
    if (!(days & (1u << d))) continue;
    const long long start = d * 24 * 60 + start_min;
    // A window that started late last week may still run at the start of this one.
    for (long long s : {start, start - kWeek})
      if (m >= s && m < s + len) return week_start + std::chrono::minutes(s + len);
  }
  return t;
}

json MaintenanceWindow::to_json() const { return {{"window", window}, {"services", services}, {"reason", reason}}; }

}  // namespace orch
