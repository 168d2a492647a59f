#pragma once
// The alerting part of orch.yaml (docs/alerting.md; SPEC §7 notifications): the `notify:` list of
// providers and the `maintenance:` windows, read and checked when the configuration loads, so a bad
// provider or window stops `orch serve` and fails `orch config --check` (78) with its line. Provider
// URLs are secrets: only mask_url_beyond_host() of them is ever shown.
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "core/json.hpp"

namespace orch {

enum class Severity { info = 0, warning = 1, critical = 2 };
const char* to_string(Severity s);
// Throws ConfigError naming `where` for anything but info, warning, critical.
Severity parse_severity(const std::string& text, const std::string& where);

struct NotifyProvider {
  std::string name;                 // `name:`, else "<type>-<n>" (n from 1, in the file's order)
  std::string type;                 // webhook, slack, discord, teams, ntfy, email
  std::string url;                  // secret; smtp:// or smtps:// for email
  std::vector<std::string> events;  // type prefixes (`service.`, `heal.*`); empty = every alert
  Severity min_severity = Severity::info;
  // email only
  std::string from;
  std::vector<std::string> to;
  std::string username, password;  // password from password_file or password_env, never the file itself
  bool starttls = false;           // smtp:// upgraded with STARTTLS (required when true)
  int line = 0;                    // in the config file; 0 = from NOTIFY_WEBHOOK_URL

  // An alert of this type and severity goes to this provider.
  bool wants(const std::string& alert_type, Severity s) const;
  json to_json() const;  // as `orch config` shows it: url masked, no password
};

// A weekly window in UTC: `window: "Sun 02:00-04:00"`, days `Mon-Fri`, `Sat,Sun`, `daily`; an end
// at or before the start runs past midnight into the next day.
struct MaintenanceWindow {
  std::vector<std::string> services;  // empty = every service
  unsigned days = 0;                  // bit d set: weekday d (0 = Sunday) starts a window
  int start_min = 0, end_min = 0;     // minutes after 00:00 UTC
  std::string window, reason;
  int line = 0;

  bool active_at(std::chrono::system_clock::time_point t) const;
  // The end of the window that holds `t`; `t` itself when no window holds it.
  std::chrono::system_clock::time_point ends_after(std::chrono::system_clock::time_point t) const;
  json to_json() const;
};

// Reads one window spec such as "Sat,Sun 01:00-03:30"; throws ConfigError (without location).
MaintenanceWindow parse_window(const std::string& spec);

struct AlertingConfig {
  std::vector<NotifyProvider> providers;
  std::vector<MaintenanceWindow> maintenance;
};

// `notify:` entries as parsed YAML (json), each with its line. Throws ConfigError "line N: ...".
NotifyProvider parse_provider(const json& j, int line, size_t index);
MaintenanceWindow parse_maintenance(const json& j, int line);
// NOTIFY_WEBHOOK_URL as a generic webhook provider named "webhook"; throws ConfigError when it is
// set but not an http(s) URL (a secret fails closed).
NotifyProvider provider_from_env_url(const std::string& url);

}  // namespace orch
