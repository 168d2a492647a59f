#include "config/settings.hpp"

#include <algorithm>
#include <cstdlib>
#include <cctype>
#include <fstream>
#include <sstream>

#include "config/secrets.hpp"
#include "core/error.hpp"
#include "core/number.hpp"

extern char** environ;

namespace orch {

const char* to_string(SettingSource s) {
  switch (s) {
    case SettingSource::default_value: return "default";
    case SettingSource::file: return "file";
    case SettingSource::env: return "env";
    case SettingSource::flag: return "flag";
  }
  return "?";
}

bool is_secret(SettingKind k) {
  return k == SettingKind::secret || k == SettingKind::credential || k == SettingKind::url_with_secret ||
         k == SettingKind::secret_url;
}

const SettingSpec* find_setting(const std::string& env) {
  for (const auto& s : setting_specs())
    if (s.env == env) return &s;
  return nullptr;
}

Settings::Settings() {
  for (const auto& s : setting_specs()) values_[s.env] = {s.default_value, SettingSource::default_value};
}

void Settings::set(const std::string& env, std::string value, SettingSource source) {
  if (!find_setting(env)) throw ConfigError("unknown setting '" + env + "'");
  auto& v = values_[env];
  // Lower-precedence sources never override higher ones, whatever order they are loaded in.
  if (static_cast<int>(source) < static_cast<int>(v.source)) return;
  v = {std::move(value), source};
}

static std::string read_secret_file(const std::string& var, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(var + "_FILE: cannot read '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

void Settings::load_env(const std::map<std::string, std::string>& env) {
  for (const auto& spec : setting_specs()) {
    if (auto it = env.find(spec.env); it != env.end()) {
      set(spec.env, it->second, SettingSource::env);
    } else if (is_secret(spec.kind)) {
      if (auto f = env.find(spec.env + "_FILE"); f != env.end())
        set(spec.env, read_secret_file(spec.env, f->second), SettingSource::env);
    }
  }
}

void Settings::load_process_env() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  load_env(env);
}

const SettingValue& Settings::get(const std::string& env) const {
  auto it = values_.find(env);
  if (it == values_.end()) throw std::logic_error("undeclared setting '" + env + "'");
  return it->second;
}

std::string Settings::str(const std::string& env) const { return get(env).value; }
bool Settings::has(const std::string& env) const { return !get(env).value.empty(); }
SettingSource Settings::source(const std::string& env) const { return get(env).source; }

long long Settings::integer(const std::string& env) const {
  const auto* spec = find_setting(env);
  try {
    return parse_integer(get(env).value, spec->min, spec->max);
  } catch (const ConfigError& e) {
    throw ConfigError(env + ": " + e.what());
  }
}

bool Settings::boolean(const std::string& env) const {
  const auto& v = get(env).value;
  if (v.empty()) return false;
  try {
    return parse_boolean(v);
  } catch (const ConfigError& e) {
    throw ConfigError(env + ": " + e.what());
  }
}

Millis Settings::duration(const std::string& env) const {
  try {
    return parse_duration(get(env).value);
  } catch (const ConfigError& e) {
    throw ConfigError(env + ": " + e.what());
  }
}

std::string state_dir(const Settings& s) {
  if (s.has("ORCH_STATE_DIR")) return s.str("ORCH_STATE_DIR");
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg) return std::string(xdg) + "/orch";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.local/state/orch";
  return ".orch-state";
}

std::string mask_url_secret(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  // Up to the last '@', as the Redis client reads its credentials (redis/connection.cpp): a
  // password may hold an '@' of its own, and `redis://secret@host` is a password without a user.
  auto at = url.rfind('@');
  if (at == std::string::npos || at < scheme + 3) return url;
  auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url.substr(0, scheme + 3) + "***" + url.substr(at);
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

std::string mask_url_beyond_host(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return url.empty() ? "" : "***";
  auto host_start = scheme + 3;
  auto host_end = url.find_first_of("/?#", host_start);
  std::string authority = url.substr(host_start, host_end == std::string::npos ? std::string::npos : host_end - host_start);
  if (auto at = authority.rfind('@'); at != std::string::npos) authority = "***@" + authority.substr(at + 1);
  std::string out = url.substr(0, host_start) + authority;
  if (host_end != std::string::npos && url.size() > host_end + 1) out += "/***";
  return out;
}

std::string Settings::display(const std::string& env) const {
  const auto* spec = find_setting(env);
  const auto& v = get(env).value;
  switch (spec->kind) {
    case SettingKind::secret:
    case SettingKind::credential: return v.empty() ? "" : "***";
    case SettingKind::url_with_secret: return mask_url_secret(v);
    case SettingKind::secret_url: return mask_url_beyond_host(v);
    default: return v;
  }
}

std::vector<std::string> url_schemes(SettingKind kind) {
  switch (kind) {
    case SettingKind::url:
    case SettingKind::secret_url: return {"http", "https"};
    case SettingKind::url_with_secret: return {"redis"};  // REDIS_URL: hiredis 0.14 has no TLS (rediss)
    default: return {};
  }
}

std::optional<std::string> url_problem(const std::string& url, const std::vector<std::string>& schemes, bool show) {
  const auto sep = url.find("://");
  const std::string quoted = show ? "\"" + url + "\" " : "";
  std::string choices;
  for (const auto& s : schemes) choices += (choices.empty() ? "" : " or ") + s + "://";
  if (sep == std::string::npos || sep == 0 || url.find_first_of("/?#@") < sep) {
    std::string fix = show && !schemes.empty() ? "; write \"" + schemes.front() + "://" + url + "\"" : "";
    return "URL " + quoted + "has no scheme (" + choices + ")" + fix;
  }
  std::string scheme = url.substr(0, sep);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
  if (!schemes.empty() && std::find(schemes.begin(), schemes.end(), scheme) == schemes.end())
    return "URL " + quoted + "has the scheme " + scheme + "://, expected " + choices;
  if (url.size() == sep + 3 || url.find_first_of("/?#", sep + 3) == sep + 3) return "URL " + quoted + "has no host";
  return std::nullopt;
}

std::optional<std::string> setting_problem(const SettingSpec& spec, const std::string& value) {
  if (value.empty()) return std::nullopt;  // unset: the default's meaning
  try {
    switch (spec.kind) {
      case SettingKind::integer: parse_integer(value, spec.min, spec.max); break;
      case SettingKind::boolean: parse_boolean(value); break;
      case SettingKind::duration: parse_duration(value); break;
      case SettingKind::credential: check_credential(spec.env, value); break;
      default: break;
    }
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    return what.starts_with(spec.env + ":") ? what : spec.env + ": " + what;
  }
  if (auto schemes = url_schemes(spec.kind); !schemes.empty())
    if (auto p = url_problem(value, schemes, !is_secret(spec.kind))) return spec.env + ": " + *p;
  if (spec.env == "ORCH_LOG_FORMAT" && value != "text" && value != "json")
    return "ORCH_LOG_FORMAT: must be text or json, got '" + value + "'";
  return std::nullopt;
}

std::vector<std::pair<std::string, std::string>> Settings::problems() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& spec : setting_specs())
    if (auto p = setting_problem(spec, str(spec.env))) out.emplace_back(spec.env, *p);
  return out;
}

void Settings::validate() const {
  if (auto all = problems(); !all.empty()) throw ConfigError(all.front().second);
}

}  // namespace orch
