#pragma once
// The effective configuration: settings plus the services orch looks after (SPEC §2).
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/alerting.hpp"
#include "config/settings.hpp"
#include "core/error.hpp"
#include "core/json.hpp"

namespace orch {

// One mistake in the configuration and where it is: the file with the line and column (1-based) of
// the offending node, or no file (and line 0) for the environment and flags.
struct ConfigProblem {
  std::string file;
  int line = 0;
  int column = 0;
  std::string message;
  std::string text() const;  // "orch.yaml:12:5: unknown key ...", or the message alone
  json to_json() const;      // {file, line, column, message}
};

// Every mistake one load found (exit 78), so that a file is fixed in one go; what() has them one
// per line, as text() gives them.
struct ConfigProblems : ConfigError {
  explicit ConfigProblems(std::vector<ConfigProblem> all);
  std::vector<ConfigProblem> problems;
};

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
  json extra = json::object();                          // further keys from the file, for modules to read (`ready`)
};

struct Config {
  Settings settings;
  std::vector<ServiceSpec> services;
  std::string file;  // the config file read, empty if none
  // `notify:` providers (NOTIFY_WEBHOOK_URL last, as a generic webhook) and `maintenance:` windows.
  AlertingConfig alerting;
  // Top-level sections owned elsewhere (notify, maintenance), as the file wrote them.
  std::map<std::string, json> sections;

  const ServiceSpec* service(const std::string& name) const;
  // Same output as `orch config -o json`: every setting with value and source; secrets masked.
  json to_json() const;
};

struct ConfigInputs {
  std::optional<std::string> file;                  // --config; else ORCH_CONFIG; else ./orch.yaml
  std::map<std::string, std::string> flags;         // setting env name -> value, from the command line
  std::optional<std::map<std::string, std::string>> env;  // for tests; default: the process environment
  // Throws ConfigError for a bad `expect:` entry: diagnose's parser, which config cannot include
  // (the CLI sets it, so a bad condition is reported at its line with the rest).
  std::function<void(const std::string&)> check_condition;
};

// Throws ConfigProblems (a ConfigError, exit 78) with every mistake of the file, the environment
// and the flags: unknown keys (with the nearest known one), values of the wrong kind or shape,
// URLs without their scheme, an unreadable file.
Config load_config(const ConfigInputs& in);

// The keys the config file knows, one table per section (config.cpp): besides the settings (their
// lowercase names, and x_file for a secret x), the top-level sections, a service's keys and those
// of its `heal:` block. For suggestions, and for the test that keeps orch.example.yaml complete.
std::vector<std::string> top_level_sections();
std::vector<std::string> service_keys();
std::vector<std::string> heal_keys();

}  // namespace orch
