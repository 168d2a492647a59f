#include "config/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "core/error.hpp"
#include "core/number.hpp"
#include "core/text.hpp"

namespace orch {

const ServiceSpec* Config::service(const std::string& name) const {
  for (const auto& s : services)
    if (s.name == name) return &s;
  return nullptr;
}

// A config file is small: more values than this are aliases expanding without end (YAML's
// "billion laughs": ten anchors of ten aliases each are 10^10 values).
constexpr size_t kMaxConfigValues = 100'000;

// Nor does it nest deeper than this: an alias inside its own anchor (`&a [x, *a]`) is a node
// graph with a cycle, which the config fuzz harness found overflowing the stack here.
constexpr size_t kMaxConfigDepth = 100;

static json yaml_to_json(const YAML::Node& n, size_t& budget, size_t depth = 0) {
  if (budget == 0) throw ConfigError("more than " + std::to_string(kMaxConfigValues) + " values (aliases expanding?)");
  if (depth > kMaxConfigDepth)
    throw ConfigError("nested deeper than " + std::to_string(kMaxConfigDepth) + " levels (an alias inside its own anchor?)");
  --budget;
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      json j = json::object();
      for (const auto& kv : n) {
        if (!kv.first.IsScalar()) throw ConfigError("a key must be a single value, not a list or mapping");
        j[kv.first.Scalar()] = yaml_to_json(kv.second, budget, depth + 1);
      }
      return j;
    }
    case YAML::NodeType::Sequence: {
      json j = json::array();
      for (const auto& v : n) j.push_back(yaml_to_json(v, budget, depth + 1));
      return j;
    }
    case YAML::NodeType::Scalar: return n.Scalar();
    default: return nullptr;
  }
}

static json yaml_to_json(const YAML::Node& n) {
  size_t budget = kMaxConfigValues;
  return yaml_to_json(n, budget);
}

static std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

static std::string scalar(const json& j, const std::string& where) {
  if (!j.is_string()) throw ConfigError(where + ": expected a single value");
  return j.get<std::string>();
}

static std::vector<std::string> string_list(const json& j, const std::string& where) {
  std::vector<std::string> out;
  if (j.is_string()) return {j.get<std::string>()};
  if (!j.is_array()) throw ConfigError(where + ": expected a list");
  for (const auto& v : j) out.push_back(scalar(v, where));
  return out;
}

static ServiceSpec parse_service(const std::string& name, const json& j) {
  if (!j.is_object()) throw ConfigError("services." + name + ": expected a mapping");
  ServiceSpec s;
  s.name = name;
  s.container = name;
  s.source = SettingSource::file;
  const std::string at = "services." + name;
  for (const auto& [key, value] : j.items()) {
    if (key == "url") s.url = scalar(value, at + ".url");
    else if (key == "health") s.health = scalar(value, at + ".health");
    else if (key == "expect") s.expect = string_list(value, at + ".expect");
    else if (key == "container") s.container = scalar(value, at + ".container");
    else if (key == "depends_on") s.depends_on = string_list(value, at + ".depends_on");
    else if (key == "heal") {
      if (!value.is_object()) throw ConfigError(at + ".heal: expected a mapping");
      for (const auto& [hk, hv] : value.items()) {
        const std::string where = at + ".heal." + hk;
        if (hk == "max_restarts") {
          try {
            s.heal.max_restarts = static_cast<int>(parse_integer(scalar(hv, where), 0, 1'000'000));
          } catch (const ConfigError& e) {
            throw ConfigError(where + ": " + e.what());
          }
        } else if (hk == "window") s.heal.window = parse_duration(scalar(hv, where));
        else if (hk == "backoff") s.heal.backoff = parse_backoff(scalar(hv, where));
        else throw ConfigError(where + ": unknown key");
      }
    } else if (key == "alert") {
      if (!value.is_object()) throw ConfigError(at + ".alert: expected a mapping (failures, recoveries)");
      for (const auto& [ak, av] : value.items()) {
        const std::string where = at + ".alert." + ak;
        int n;
        try {
          n = static_cast<int>(parse_integer(scalar(av, where), 1, 1000));
        } catch (const ConfigError& e) {
          throw ConfigError(where + ": " + e.what());
        }
        if (ak == "failures") s.alert_failures = n;
        else if (ak == "recoveries") s.alert_recoveries = n;
        else throw ConfigError(where + ": unknown key");
      }
    } else s.extra[key] = value;
  }
  return s;
}

static void load_file(Config& cfg, const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw ConfigError("config file '" + path + "': " + e.what());
  }
  cfg.file = path;
  if (root.IsNull()) return;
  if (!root.IsMap()) throw ConfigError("config file '" + path + "': top level must be a mapping");
  json doc;
  try {
    doc = yaml_to_json(root);
  } catch (const ConfigError& e) {
    throw ConfigError("config file '" + path + "': " + e.what());
  }
  for (const auto& [key, value] : doc.items()) {
    if (key == "services") {
      if (!value.is_object()) throw ConfigError("services: expected a mapping of name -> service");
      // In the file's order (the JSON object above is sorted).
      for (const auto& kv : root["services"]) cfg.services.push_back(parse_service(kv.first.Scalar(), yaml_to_json(kv.second)));
      continue;
    }
    if (key == "notify" || key == "maintenance") {
      // Each entry with its line (YAML marks count from 0), so an operator finds the bad one.
      const auto list = root[key];
      if (!list.IsSequence()) throw ConfigError("config file '" + path + "': " + key + ": expected a list");
      size_t i = 0;
      try {
        for (const auto& item : list) {
          const int line = item.Mark().line + 1;
          if (key == "notify") cfg.alerting.providers.push_back(parse_provider(yaml_to_json(item), line, i++));
          else cfg.alerting.maintenance.push_back(parse_maintenance(yaml_to_json(item), line));
        }
      } catch (const ConfigError& e) {
        throw ConfigError("config file '" + path + "' " + e.what());
      }
      continue;
    }
    std::string env = upper(key);
    bool is_file_ref = env.size() > 5 && env.ends_with("_FILE") && find_setting(env.substr(0, env.size() - 5));
    if (is_file_ref) {
      // Secrets may name a file in the config too; the environment still wins.
      std::map<std::string, std::string> one{{env, scalar(value, key)}};
      Settings tmp;
      tmp.load_env(one);
      cfg.settings.set(env.substr(0, env.size() - 5), tmp.str(env.substr(0, env.size() - 5)), SettingSource::file);
      continue;
    }
    if (!find_setting(env)) throw ConfigError("config file '" + path + "': unknown key '" + key + "'");
    cfg.settings.set(env, as_text(value), SettingSource::file);
  }
}

static void derive_services(Config& cfg) {
  const std::pair<const char*, const char*> derived[] = {
      {"web", "WEB_API_URL"}, {"rag_service", "RAG_API_URL"}, {"docling_service", "DOCLING_API_URL"}};
  for (const auto& [name, env] : derived) {
    if (cfg.service(name)) continue;
    ServiceSpec s;
    s.name = name;
    s.container = name;
    s.url = cfg.settings.str(env);
    s.source = cfg.settings.source(env);
    if (s.url.empty()) continue;
    // docling-serve answers /health as soon as it runs, /ready only once its models are loaded.
    if (s.name == "docling_service") s.extra["ready"] = "/ready";
    cfg.services.push_back(std::move(s));
  }
}

Config load_config(const ConfigInputs& in) {
  Config cfg;
  if (in.env) cfg.settings.load_env(*in.env);
  else cfg.settings.load_process_env();
  for (const auto& [k, v] : in.flags) cfg.settings.set(k, v, SettingSource::flag);

  std::string path;
  if (in.file) path = *in.file;
  else if (cfg.settings.has("ORCH_CONFIG")) path = cfg.settings.str("ORCH_CONFIG");
  else if (std::filesystem::exists("orch.yaml")) path = "orch.yaml";
  if (!path.empty()) {
    if (!std::filesystem::exists(path)) throw ConfigError("config file '" + path + "' does not exist");
    load_file(cfg, path);
  }
  derive_services(cfg);
  cfg.settings.validate();
  if (cfg.settings.has("NOTIFY_WEBHOOK_URL"))
    cfg.alerting.providers.push_back(provider_from_env_url(cfg.settings.str("NOTIFY_WEBHOOK_URL")));
  return cfg;
}

json Config::to_json() const {
  json settings_json = json::object();
  for (const auto& spec : setting_specs()) {
    settings_json[spec.env] = {{"value", settings.display(spec.env)},
                               {"source", to_string(settings.source(spec.env))}};
  }
  json services_json = json::array();
  for (const auto& s : services) {
    json h = json::object();
    if (s.heal.max_restarts) h["max_restarts"] = *s.heal.max_restarts;
    if (s.heal.window) h["window"] = format_duration(*s.heal.window);
    if (s.heal.backoff)
      h["backoff"] = format_duration(s.heal.backoff->min) + ":" + format_duration(s.heal.backoff->max);
    json alert = json::object();
    if (s.alert_failures) alert["failures"] = *s.alert_failures;
    if (s.alert_recoveries) alert["recoveries"] = *s.alert_recoveries;
    services_json.push_back({{"name", s.name},
                             {"url", mask_url_secret(s.url)},
                             {"health", s.health},
                             {"expect", s.expect},
                             {"container", s.container},
                             {"heal", h},
                             {"depends_on", s.depends_on},
                             {"alert", alert},
                             {"source", to_string(s.source)}});
  }
  json notify = json::array(), maintenance = json::array();
  for (const auto& p : alerting.providers) notify.push_back(p.to_json());
  for (const auto& w : alerting.maintenance) maintenance.push_back(w.to_json());
  return {{"file", file}, {"settings", settings_json}, {"services", services_json}, {"notify", notify}, {"maintenance", maintenance}};
}

}  // namespace orch
