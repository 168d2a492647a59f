#pragma once
// Typed reads of the engine's JSON, and its list filters, for the docker readers (client.cpp, swarm.cpp): what is missing
// or of another type reads as empty or zero (nlohmann's value() throws on a type it does not
// expect), so an odd engine, or a proxy in front of it, cannot take a reader down.
#include <algorithm>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "core/text.hpp"
#include "docker/client.hpp"

namespace orch::docker::engine_json {

inline const json& member(const json& o, const char* key) {
  static const json kNone;
  if (!o.is_object()) return kNone;
  const auto it = o.find(key);
  return it == o.end() ? kNone : *it;
}

inline std::string text_of(const json& o, const char* key) {
  const auto& v = member(o, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

inline long long whole_of(const json& o, const char* key) {
  const auto& v = member(o, key);
  return v.is_number_integer() ? v.get<long long>() : 0;
}

inline int int_of(const json& o, const char* key) {
  return static_cast<int>(std::clamp<long long>(whole_of(o, key), std::numeric_limits<int>::min(), std::numeric_limits<int>::max()));
}

inline bool flag_of(const json& o, const char* key) {
  const auto& v = member(o, key);
  return v.is_boolean() && v.get<bool>();
}

inline Labels labels_of(const json& j) {
  Labels out;
  if (j.is_object())
    for (const auto& [k, v] : j.items())
      if (v.is_string()) out[k] = v.get<std::string>();
  return out;
}

// The `filters` query parameter of the engine's list calls: {"type":["container"],...}, URL-encoded.
inline std::string filters_param(const std::map<std::string, std::vector<std::string>>& filters) {
  json f = json::object();
  for (const auto& [k, v] : filters) f[k] = v;
  return http::url_encode(to_text(f));
}

}  // namespace orch::docker::engine_json
