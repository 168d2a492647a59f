#include "mcp/arguments.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <regex>

#include "core/text.hpp"

namespace orch::mcp {

namespace {

// A value as the message quotes it; long ones are cut (an agent may send a whole document).
std::string shown(const json& v) {
  std::string s = to_text(v);
  return s.size() > 80 ? s.substr(0, 77) + "..." : s;
}

// A schema's pattern, compiled once. The patterns are orch's own tool schemas (a few, short,
// anchored), so the cache stays that small. Compiling under the lock also matters: libstdc++'s
// regex compiler fills the shared ctype<char>::narrow cache unsynchronized, and two tool calls
// compiling at once were a data race (TSan, `orch mcp` running calls in parallel).
const std::regex& compiled(const std::string& pattern) {
  static std::mutex mu;
  static std::map<std::string, std::regex> cache;
  std::lock_guard lock(mu);
  auto it = cache.find(pattern);
  if (it == cache.end()) it = cache.emplace(pattern, std::regex(pattern)).first;
  return it->second;
}

// JSON Schema counts 5.0 as an integer.
bool is_integer(const json& v) {
  if (v.is_number_integer()) return true;
  if (!v.is_number_float()) return false;
  const double d = v.get<double>();
  return std::isfinite(d) && d == std::floor(d);
}

// What a value must be, in words: "an integer between 1 and 1000", "one of "health", "logs"".
std::string expectation(const json& schema) {
  if (schema.contains("enum")) {
    std::string s = "one of ";
    for (size_t i = 0; i < schema["enum"].size(); ++i) s += (i ? ", " : "") + shown(schema["enum"][i]);
    return s;
  }
  const std::string type = schema.value("type", "");
  if (type == "boolean") return "true or false";
  if (type == "integer" || type == "number") {
    std::string s = type == "integer" ? "an integer" : "a number";
    const bool lo = schema.contains("minimum"), hi = schema.contains("maximum");
    if (lo && hi) s += " between " + to_text(schema["minimum"]) + " and " + to_text(schema["maximum"]);
    else if (lo) s += " of at least " + to_text(schema["minimum"]);
    else if (hi) s += " of at most " + to_text(schema["maximum"]);
    return s;
  }
  if (type == "string") {
    if (schema.contains("examples") && schema["examples"].is_array() && !schema["examples"].empty()) {
      std::string s = "a string like ";
      for (size_t i = 0; i < schema["examples"].size(); ++i) s += (i ? " or " : "") + shown(schema["examples"][i]);
      return s;
    }
    if (schema.contains("pattern")) return "a string matching " + schema["pattern"].get<std::string>();
    return schema.value("minLength", 0) > 0 ? "a non-empty string" : "a string";
  }
  if (type == "array") {
    const json items = schema.value("items", json::object());
    if (items.contains("enum")) return "an array of " + expectation(items);
    return items.value("type", "") == "string" ? "an array of strings" : "an array";
  }
  if (type == "object") return "an object";
  return type.empty() ? "a value" : "a " + type;
}

bool fits(const json& schema, const json& v) {
  const std::string type = schema.value("type", "");
  if (type == "string" && !v.is_string()) return false;
  if (type == "boolean" && !v.is_boolean()) return false;
  if (type == "integer" && !is_integer(v)) return false;
  if (type == "number" && !v.is_number()) return false;
  if (type == "array" && !v.is_array()) return false;
  if (type == "object" && !v.is_object()) return false;
  if (schema.contains("enum") && std::find(schema["enum"].begin(), schema["enum"].end(), v) == schema["enum"].end()) return false;
  if (v.is_number()) {
    if (schema.contains("minimum") && v.get<double>() < schema["minimum"].get<double>()) return false;
    if (schema.contains("maximum") && v.get<double>() > schema["maximum"].get<double>()) return false;
  }
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (schema.contains("minLength") && s.size() < schema["minLength"].get<size_t>()) return false;
    if (schema.contains("pattern") && !std::regex_search(s, compiled(schema["pattern"].get<std::string>()))) return false;
  }
  return true;
}

std::optional<std::string> value_error(const std::string& name, const json& schema, const json& v) {
  if (!fits(schema, v)) return "argument `" + name + "` must be " + expectation(schema) + "; got " + shown(v);
  if (v.is_array() && schema.contains("items")) {
    for (size_t i = 0; i < v.size(); ++i)
      if (!fits(schema["items"], v[i]))
        return "argument `" + name + "` item " + std::to_string(i) + " must be " + expectation(schema["items"]) + "; got " + shown(v[i]);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> argument_error(const std::string& tool, const json& schema, const json& args) {
  if (!args.is_object()) return "`arguments` must be an object of named arguments; got " + shown(args);
  const json properties = schema.value("properties", json::object());
  for (const auto& required : schema.value("required", json::array())) {
    const auto& name = required.get_ref<const std::string&>();
    if (!args.contains(name)) {
      const auto& p = properties.contains(name) ? properties[name] : json::object();
      return "missing required argument `" + name + "`: " + p.value("description", std::string("see the input schema")) + " (" +
             expectation(p) + ")";
    }
  }
  for (const auto& [name, v] : args.items()) {
    if (!properties.contains(name)) {
      std::string known;
      for (const auto& [k, _] : properties.items()) known += (known.empty() ? "`" : ", `") + k + "`";
      return "unknown argument `" + name + "`; " + tool + " takes " + (known.empty() ? "no arguments" : known);
    }
    if (auto e = value_error(name, properties[name], v)) return e;
  }
  return std::nullopt;
}

}  // namespace orch::mcp
