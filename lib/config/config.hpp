#pragma once
// The effective configuration: settings plus the services orch looks after (SPEC §2).
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/alerting.hpp"
#include "config/settings.hpp"
#include "core/json.hpp"

namespace orch {

struct HealOverrides {
  std::optional<int> max_restarts;
  std::optional<Millis> window;
  std::optional<BackoffRange> backoff;
};

struct ServiceSpec {
  std::string name;
  std::string url;                  // base URL; empty = not probed
  std::string health = "/health";   // path probed by the health loop
  std::vector<std::string> expect;  // conditions, all must hold (diagnose parses them)
  std::string container;            // container name or compose service; default = name
  HealOverrides heal;
  std::vector<std::string> depends_on;
  // `alert: {failures: N, recoveries: N}`: this service's thresholds (docs/alerting.md).
  std::optional<int> alert_failures, alert_recoveries;
  SettingSource source = SettingSource::default_value;  // file, or derived from env
  json extra = json::object();      // further keys from the file, for modules to read
};

struct Config {
  Settings settings;
  std::vector<ServiceSpec> services;
  std::string file;  // the config file read, empty if none
  // `notify:` providers (NOTIFY_WEBHOOK_URL last, as a generic webhook) and `maintenance:` windows.
  AlertingConfig alerting;

  const ServiceSpec* service(const std::string& name) const;
  // Same output as `orch config -o json`: every setting with value and source; secrets masked.
  json to_json() const;
};

struct ConfigInputs {
  std::optional<std::string> file;                  // --config; else ORCH_CONFIG; else ./orch.yaml
  std::map<std::string, std::string> flags;         // setting env name -> value, from the command line
  std::optional<std::map<std::string, std::string>> env;  // for tests; default: the process environment
};

// Throws ConfigError on an unreadable or invalid file or value.
Config load_config(const ConfigInputs& in);

}  // namespace orch
