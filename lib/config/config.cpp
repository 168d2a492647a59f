#include "config/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "core/error.hpp"
#include "core/number.hpp"
#include "core/suggest.hpp"
#include "core/text.hpp"

namespace orch {

const ServiceSpec* Config::service(const std::string& name) const {
  for (const auto& s : services)
    if (s.name == name) return &s;
  return nullptr;
}

std::string ConfigProblem::text() const {
  if (file.empty()) return message;
  return file + (line > 0 ? ":" + std::to_string(line) + ":" + std::to_string(column) : "") + ": " + message;
}

json ConfigProblem::to_json() const { return {{"file", file}, {"line", line}, {"column", column}, {"message", message}}; }

static std::string all_lines(const std::vector<ConfigProblem>& all) {
  std::string out;
  for (const auto& p : all) out += (out.empty() ? "" : "\n") + p.text();
  return out;
}

ConfigProblems::ConfigProblems(std::vector<ConfigProblem> all) : ConfigError(all_lines(all)), problems(std::move(all)) {}

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

// Throws ConfigError when the document has more values, or nests deeper, than a config file can.
static void check_bounds(const YAML::Node& n, size_t& budget, size_t depth = 0) {
  if (budget == 0) throw ConfigError("more than " + std::to_string(kMaxConfigValues) + " values (aliases expanding?)");
  if (depth > kMaxConfigDepth)
    throw ConfigError("nested deeper than " + std::to_string(kMaxConfigDepth) + " levels (an alias inside its own anchor?)");
  --budget;
  if (n.IsMap())
    for (const auto& kv : n) {
      check_bounds(kv.first, budget, depth + 1);
      check_bounds(kv.second, budget, depth + 1);
    }
  else if (n.IsSequence())
    for (const auto& v : n) check_bounds(v, budget, depth + 1);
}

static std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

static std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// ---------------------------------------------------------------------------------------------
// Reading the file: every mistake is kept with the line and column of its node, and reading goes
// on, so that one run reports them all.

namespace {

class FileReader {
 public:
  FileReader(std::string path, const ConfigInputs& in) : path_(std::move(path)), in_(in) {}

  void problem(const YAML::Node& at, const std::string& message) {
    const auto m = at.Mark();
    if (m.is_null()) problems.push_back({path_, 0, 0, message});
    else problems.push_back({path_, m.line + 1, m.column + 1, message});
  }

  // A mapping's entries in the file's order; a key that is not a single value, or one written
  // twice, is a mistake and skipped.
  template <class F>
  void each_entry(const YAML::Node& map, const std::string& where, F&& f) {
    std::map<std::string, int> seen;  // key -> its line
    for (const auto& kv : map) {
      if (!kv.first.IsScalar()) {
        problem(kv.first, "a key must be a single value, not a list or mapping" + under(where));
        continue;
      }
      const std::string key = kv.first.Scalar();
      const int line = kv.first.Mark().is_null() ? 0 : kv.first.Mark().line + 1;
      if (auto [it, fresh] = seen.emplace(key, line); !fresh) {
        problem(kv.first, "duplicate key \"" + key + "\"" + under(where) + " (first at line " + std::to_string(it->second) + ")");
        continue;
      }
      f(kv.first, key, kv.second);
    }
  }

  void unknown(const YAML::Node& key_node, const std::string& key, const std::string& where, const std::vector<std::string>& known) {
    std::string m = "unknown key \"" + key + "\"" + under(where);
    if (auto near = nearest(key, known)) m += "; did you mean \"" + *near + "\"?";
    problem(key_node, m);
  }

  // A single value: null reads as "" (unset), a list or mapping is a mistake (nullopt).
  std::optional<std::string> scalar(const YAML::Node& n, const std::string& where) {
    if (n.IsNull()) return std::string();
    if (n.IsScalar()) return n.Scalar();
    problem(n, where + ": expected a single value, not a " + std::string(n.IsMap() ? "mapping" : "list"));
    return std::nullopt;
  }

  // A list or mapping as JSON, for values read as JSON text or kept for another owner.
  std::optional<json> as_json(const YAML::Node& n, const std::string& where) {
    try {
      return yaml_to_json(n);
    } catch (const ConfigError& e) {
      problem(n, where + ": " + e.what());
      return std::nullopt;
    }
  }

  // One value or a list of them.
  std::vector<std::pair<std::string, YAML::Node>> list(const YAML::Node& n, const std::string& where) {
    std::vector<std::pair<std::string, YAML::Node>> out;
    if (n.IsNull()) return out;
    if (n.IsScalar()) return {{n.Scalar(), n}};
    if (!n.IsSequence()) {
      problem(n, where + ": expected a list");
      return out;
    }
    for (const auto& v : n)
      if (auto s = scalar(v, where)) out.emplace_back(*s, v);
    return out;
  }

  void read(Config& cfg, const YAML::Node& root);
  void read_services(Config& cfg, const YAML::Node& value);
  void read_service(Config& cfg, const std::string& name, const YAML::Node& node);
  void read_heal(ServiceSpec& s, const YAML::Node& node, const std::string& at);
  void read_setting(Config& cfg, const YAML::Node& key_node, const std::string& key, const YAML::Node& value);

  const ConfigInputs& inputs() const { return in_; }
  std::vector<ConfigProblem> problems;

 private:
  static std::string under(const std::string& where) { return where.empty() ? "" : " under " + where; }
  std::string path_;
  const ConfigInputs& in_;
};

// ---- the tables: one per section; a new key is a row here (and a line in orch.example.yaml) ----

using ServiceKeyReader = void (*)(FileReader&, ServiceSpec&, const YAML::Node& value, const std::string& at);

// A path on the service's URL ("/health"), not a URL of its own.
std::optional<std::string> path_problem(const std::string& p) {
  if (p.empty() || p.front() == '/') return std::nullopt;
  if (p.find("://") != std::string::npos) return "a path on the service's url (\"/health\"), not a URL: put the base in url:";
  return "a path starting with /, as \"/" + p + "\"";
}

struct ServiceKey {
  const char* name;
  ServiceKeyReader read;
};

const ServiceKey kServiceKeys[] = {
    {"url",
     [](FileReader& r, ServiceSpec& s, const YAML::Node& v, const std::string& at) {
       auto url = r.scalar(v, at);
       if (!url) return;
       s.url = *url;
       // A URL's credentials stay out of the message (mask_url_secret would show a scheme-less one as it is).
       if (!url->empty())
         if (auto p = url_problem(*url, {"http", "https"}, url->find('@') == std::string::npos)) r.problem(v, at + ": " + *p);
     }},
    {"health",
     [](FileReader& r, ServiceSpec& s, const YAML::Node& v, const std::string& at) {
       if (auto p = r.scalar(v, at)) {
         s.health = *p;
         if (auto bad = path_problem(*p)) r.problem(v, at + ": " + *bad);
       }
     }},
    // docling-serve's /ready: probed after health answers (docs/diagnose.md); diagnose reads it from `extra`.
    {"ready",
     [](FileReader& r, ServiceSpec& s, const YAML::Node& v, const std::string& at) {
       if (auto p = r.scalar(v, at)) {
         if (!p->empty()) s.extra["ready"] = *p;
         if (auto bad = path_problem(*p)) r.problem(v, at + ": " + *bad);
       }
     }},
    {"expect",
     [](FileReader& r, ServiceSpec& s, const YAML::Node& v, const std::string& at) {
       for (const auto& [condition, node] : r.list(v, at)) {
         s.expect.push_back(condition);
         if (!r.inputs().check_condition) continue;
         try {
           r.inputs().check_condition(condition);
         } catch (const ConfigError& e) {
           r.problem(node, at + ": " + e.what());
         }
       }
     }},
    {"container",
     [](FileReader& r, ServiceSpec& s, const YAML::Node& v, const std::string& at) {
       if (auto c = r.scalar(v, at)) {
         if (c->empty()) r.problem(v, at + ": empty (leave the key out: the service's name is the default)");
         else s.container = *c;
       }
     }},
    {"heal", [](FileReader& r, ServiceSpec& s, const YAML::Node& v, const std::string& at) { r.read_heal(s, v, at); }},
    {"depends_on",
     [](FileReader& r, ServiceSpec& s, const YAML::Node& v, const std::string& at) {
       for (const auto& [name, node] : r.list(v, at)) s.depends_on.push_back(name);
     }},
    // This service's alert thresholds (docs/alerting.md).
    {"alert",
     [](FileReader& r, ServiceSpec& s, const YAML::Node& v, const std::string& at) {
       if (v.IsNull()) return;
       if (!v.IsMap()) return r.problem(v, at + ": expected a mapping (failures:, recoveries:)");
       r.each_entry(v, at, [&](const YAML::Node& key_node, const std::string& key, const YAML::Node& value) {
         if (key != "failures" && key != "recoveries") return r.unknown(key_node, key, at, {"failures", "recoveries"});
         auto text = r.scalar(value, at + "." + key);
         if (!text || text->empty()) return;
         try {
           const int n = static_cast<int>(parse_integer(*text, 1, 1000));
           (key == "failures" ? s.alert_failures : s.alert_recoveries) = n;
         } catch (const ConfigError& e) {
           r.problem(value, at + "." + key + ": " + e.what());
         }
       });
     }},
};

using HealKeyReader = void (*)(HealOverrides&, const std::string& value);  // throws ConfigError

struct HealKey {
  const char* name;
  HealKeyReader read;
};

const HealKey kHealKeys[] = {
    {"max_restarts", [](HealOverrides& h, const std::string& v) { h.max_restarts = static_cast<int>(parse_integer(v, 0, 1'000'000)); }},
    {"window", [](HealOverrides& h, const std::string& v) { h.window = parse_duration(v); }},
    {"backoff", [](HealOverrides& h, const std::string& v) { h.backoff = parse_backoff(v); }},
};

using SectionReader = void (*)(FileReader&, Config&, const YAML::Node& value);

// Top-level sections besides the settings. One without a reader is known here (so not an unknown
// key) but owned elsewhere: kept as written in Config::sections, its owner checks its inside.
struct Section {
  const char* name;
  SectionReader read;
};

// `notify:` and `maintenance:` (config/alerting.hpp: the alert providers and maintenance windows;
// lib/notify acts on them): each entry checked at its line.
void read_alerting(FileReader& r, Config& cfg, const YAML::Node& list, bool notify) {
  const char* key = notify ? "notify" : "maintenance";
  if (list.IsNull()) return;
  if (auto raw = r.as_json(list, key)) cfg.sections[key] = *raw;  // as written, too
  if (!list.IsSequence()) return r.problem(list, std::string(key) + ": expected a list");
  size_t i = 0;
  for (const auto& item : list) {
    auto j = r.as_json(item, key);
    if (!j) continue;
    const int line = item.Mark().is_null() ? 0 : item.Mark().line + 1;
    try {
      if (notify) cfg.alerting.providers.push_back(parse_provider(*j, line, i++));
      else cfg.alerting.maintenance.push_back(parse_maintenance(*j, line));
    } catch (const ConfigError& e) {
      // The problem carries the line already: not "line N:" twice.
      std::string why = e.what();
      if (why.rfind("line ", 0) == 0 && why.find(": ") != std::string::npos) why = why.substr(why.find(": ") + 2);
      r.problem(item, why);
    }
  }
}

const Section kSections[] = {
    {"services", [](FileReader& r, Config& cfg, const YAML::Node& v) { r.read_services(cfg, v); }},
    {"notify", [](FileReader& r, Config& cfg, const YAML::Node& v) { read_alerting(r, cfg, v, true); }},
    {"maintenance", [](FileReader& r, Config& cfg, const YAML::Node& v) { read_alerting(r, cfg, v, false); }},
};

template <class Table>
std::vector<std::string> names_of(const Table& table) {
  std::vector<std::string> out;
  for (const auto& row : table) out.emplace_back(row.name);
  return out;
}

// Every key the top level knows: the sections, each setting's lowercase name, x_file for a secret x.
std::vector<std::string> top_level_keys() {
  auto out = names_of(kSections);
  for (const auto& spec : setting_specs()) out.push_back(lower(spec.env));
  for (const auto& spec : setting_specs())
    if (is_secret(spec.kind)) out.push_back(lower(spec.env) + "_file");
  return out;
}

// ---- the readers ----

void FileReader::read(Config& cfg, const YAML::Node& root) {
  each_entry(root, "", [&](const YAML::Node& key_node, const std::string& key, const YAML::Node& value) {
    for (const auto& section : kSections) {
      if (key != section.name) continue;
      if (section.read) section.read(*this, cfg, value);
      else if (auto j = as_json(value, key)) cfg.sections[key] = *j;
      return;
    }
    read_setting(cfg, key_node, key, value);
  });
}

void FileReader::read_setting(Config& cfg, const YAML::Node& key_node, const std::string& key, const YAML::Node& value) {
  const std::string env = upper(key);
  const std::string base = env.ends_with("_FILE") ? env.substr(0, env.size() - 5) : "";
  if (const auto* spec = base.empty() ? nullptr : find_setting(base); spec && is_secret(spec->kind)) {
    // Secrets may name a file in the config too; the environment still wins.
    auto file = scalar(value, key);
    if (!file || file->empty()) return;
    try {
      Settings tmp;
      tmp.load_env({{env, *file}});
      cfg.settings.set(base, tmp.str(base), SettingSource::file);
      if (auto p = setting_problem(*spec, tmp.str(base))) problem(value, *p);
    } catch (const ConfigError& e) {
      problem(value, e.what());
    }
    return;
  }
  const auto* spec = find_setting(env);
  if (!spec) return unknown(key_node, key, "", top_level_keys());
  std::string text;
  if (value.IsScalar()) text = value.Scalar();
  else if (!value.IsNull()) {
    auto j = as_json(value, key);  // a list or mapping as JSON text: ROLLBACK_REPOS reads both
    if (!j) return;
    text = as_text(*j);
  }
  if (auto p = setting_problem(*spec, text)) problem(value, *p);
  cfg.settings.set(env, text, SettingSource::file);
}

void FileReader::read_services(Config& cfg, const YAML::Node& value) {
  if (value.IsNull()) return;
  if (!value.IsMap()) return problem(value, "services: expected a mapping of name -> service");
  each_entry(value, "services", [&](const YAML::Node&, const std::string& name, const YAML::Node& node) { read_service(cfg, name, node); });
}

void FileReader::read_service(Config& cfg, const std::string& name, const YAML::Node& node) {
  ServiceSpec s;
  s.name = name;
  s.container = name;
  s.source = SettingSource::file;
  const std::string at = "services." + name;
  if (!node.IsNull() && !node.IsMap()) {
    problem(node, at + ": expected a mapping (url:, health:, container:, ...)");
  } else if (node.IsMap()) {
    each_entry(node, at, [&](const YAML::Node& key_node, const std::string& key, const YAML::Node& value) {
      for (const auto& k : kServiceKeys) {
        if (key != k.name) continue;
        k.read(*this, s, value, at + "." + key);
        return;
      }
      unknown(key_node, key, at, names_of(kServiceKeys));
    });
  }
  cfg.services.push_back(std::move(s));
}

void FileReader::read_heal(ServiceSpec& s, const YAML::Node& node, const std::string& at) {
  if (node.IsNull()) return;
  if (!node.IsMap()) return problem(node, at + ": expected a mapping (max_restarts:, window:, backoff:)");
  each_entry(node, at, [&](const YAML::Node& key_node, const std::string& key, const YAML::Node& value) {
    for (const auto& k : kHealKeys) {
      if (key != k.name) continue;
      const std::string where = at + "." + key;
      auto text = scalar(value, where);
      if (!text || text->empty()) return;
      try {
        k.read(s.heal, *text);
      } catch (const ConfigError& e) {
        problem(value, where + ": " + e.what());
      }
      return;
    }
    unknown(key_node, key, at, names_of(kHealKeys));
  });
}

}  // namespace

std::vector<std::string> top_level_sections() { return names_of(kSections); }
std::vector<std::string> service_keys() { return names_of(kServiceKeys); }
std::vector<std::string> heal_keys() { return names_of(kHealKeys); }

static void load_file(Config& cfg, const std::string& path, const ConfigInputs& in, std::vector<ConfigProblem>& problems) {
  cfg.file = path;
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::ParserException& e) {
    problems.push_back({path, e.mark.is_null() ? 0 : e.mark.line + 1, e.mark.is_null() ? 0 : e.mark.column + 1, "YAML: " + e.msg});
    return;
  } catch (const YAML::Exception& e) {
    problems.push_back({path, 0, 0, e.what()});
    return;
  }
  FileReader reader(path, in);
  if (root.IsNull()) return;
  if (!root.IsMap()) {
    reader.problem(root, "the top level must be a mapping of key: value");
    problems.insert(problems.end(), reader.problems.begin(), reader.problems.end());
    return;
  }
  // Once over the whole document first, bounded: aliases expanding without end or into themselves
  // stop here, before the readers walk it.
  try {
    size_t budget = kMaxConfigValues;
    check_bounds(root, budget);
  } catch (const ConfigError& e) {
    problems.push_back({path, 0, 0, e.what()});
    return;
  }
  reader.read(cfg, root);
  problems.insert(problems.end(), reader.problems.begin(), reader.problems.end());
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
  std::vector<ConfigProblem> problems;
  try {
    if (in.env) cfg.settings.load_env(*in.env);
    else cfg.settings.load_process_env();
  } catch (const ConfigError& e) {  // an unreadable X_FILE
    problems.push_back({"", 0, 0, e.what()});
  }
  for (const auto& [k, v] : in.flags) cfg.settings.set(k, v, SettingSource::flag);

  std::string path;
  if (in.file) path = *in.file;
  else if (cfg.settings.has("ORCH_CONFIG")) path = cfg.settings.str("ORCH_CONFIG");
  else if (std::filesystem::exists("orch.yaml")) path = "orch.yaml";
  if (!path.empty()) {
    if (!std::filesystem::exists(path)) throw ConfigError("config file '" + path + "' does not exist");
    load_file(cfg, path, in, problems);
  }
  derive_services(cfg);
  // What the file set was checked at its line; the rest came from the environment or a flag.
  for (const auto& [env, message] : cfg.settings.problems())
    if (cfg.settings.source(env) != SettingSource::file) problems.push_back({"", 0, 0, message});
  const auto setting_problems = cfg.settings.problems();
  const bool notify_url_bad =
      std::any_of(setting_problems.begin(), setting_problems.end(), [](const auto& p) { return p.first == "NOTIFY_WEBHOOK_URL"; });
  if (cfg.settings.has("NOTIFY_WEBHOOK_URL") && !notify_url_bad) {  // a bad one is reported once, above
    try {
      cfg.alerting.providers.push_back(provider_from_env_url(cfg.settings.str("NOTIFY_WEBHOOK_URL")));
    } catch (const ConfigError& e) {
      problems.push_back({"", 0, 0, e.what()});
    }
  }
  if (!problems.empty()) throw ConfigProblems(std::move(problems));
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
