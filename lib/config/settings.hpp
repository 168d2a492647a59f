#pragma once
// Effective configuration (SPEC §2): flag > environment > config file > default, with the source of
// every value kept for `orch config`. Every setting is declared once in settings_table.cpp; the
// file spells a setting as the lowercase of its environment name (`health_interval: 10s`).
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/duration.hpp"
#include "core/json.hpp"

namespace orch {

enum class SettingSource { default_value, file, env, flag };
const char* to_string(SettingSource s);

// secret: a key others issue (masked). credential: a secret orch checks requests against (masked,
// and config/secrets.hpp's rules apply). url_with_secret: a URL whose password is secret.
// secret_url: a URL that is itself a secret beyond scheme and host (Slack/Teams webhook URLs,
// `?token=`). url: an http(s) base URL, shown as it is. Every URL kind must have its scheme
// (url_schemes): "web:3000" is refused where it is read, not failed on later.
enum class SettingKind { string, integer, boolean, duration, secret, credential, url, url_with_secret, secret_url };
// Any kind whose value must not be shown, logged or sent in clear.
bool is_secret(SettingKind k);

struct SettingSpec {
  std::string env;  // e.g. "HEALTH_INTERVAL"; also the key
  SettingKind kind;
  std::string default_value;
  std::string help;
  // integer only: the values allowed (core/number.hpp reads them; outside is a ConfigError, 78).
  long long min = 0;
  long long max = 1'000'000'000;
};

// All settings orch knows, in the order `orch config` prints them.
const std::vector<SettingSpec>& setting_specs();
const SettingSpec* find_setting(const std::string& env);

// The schemes a URL setting accepts ("http", "https"; "redis" for REDIS_URL); empty for a
// setting that is not a URL.
std::vector<std::string> url_schemes(SettingKind kind);
// Why `url` is not `scheme://host...` with one of `schemes`, or nullopt. The URL itself is quoted
// in the message only when `show` (never for a secret).
std::optional<std::string> url_problem(const std::string& url, const std::vector<std::string>& schemes, bool show = true);
// Why `value` cannot be the setting's value, or nullopt: its kind read strictly (a whole number in
// the table's range, a boolean, a duration, a credential's rules, a URL's scheme) and the few
// settings with a fixed set of words. The message names the setting and never shows a secret.
std::optional<std::string> setting_problem(const SettingSpec& spec, const std::string& value);

struct SettingValue {
  std::string value;
  SettingSource source = SettingSource::default_value;
};

class Settings {
 public:
  // Applies defaults for every declared setting.
  Settings();

  void set(const std::string& env, std::string value, SettingSource source);

  // Reads every declared setting (and X_FILE for secrets) from `environ`-style lookups.
  void load_env(const std::map<std::string, std::string>& env);
  void load_process_env();

  std::string str(const std::string& env) const;
  bool has(const std::string& env) const;  // set and non-empty
  // Strictly, by the setting's kind (core/number.hpp, core/duration.hpp): "5x", "-1" or a value
  // beyond the table's range is a ConfigError naming the setting (exit 78).
  long long integer(const std::string& env) const;
  bool boolean(const std::string& env) const;
  Millis duration(const std::string& env) const;
  SettingSource source(const std::string& env) const;

  // Value as shown to people: secrets as "***", passwords inside URLs masked.
  std::string display(const std::string& env) const;

  // Throws ConfigError for values of the wrong kind (a bad duration, a port that is not a number).
  void validate() const;
  // Every setting whose value is not valid (setting_problem), in the table's order: {env, message}.
  std::vector<std::pair<std::string, std::string>> problems() const;

 private:
  const SettingValue& get(const std::string& env) const;
  std::map<std::string, SettingValue> values_;
};

// Where orch keeps state (outbox, quarantine, release history): ORCH_STATE_DIR, else
// $XDG_STATE_HOME/orch, else ~/.local/state/orch, else ./.orch-state.
std::string state_dir(const Settings& s);

// Masks the password of scheme://user:password@host URLs.
std::string mask_url_secret(const std::string& url);
// Keeps only scheme://host[:port] of a URL and masks the rest: "https://hooks.slack.com/***".
std::string mask_url_beyond_host(const std::string& url);

}  // namespace orch
