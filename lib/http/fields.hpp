#pragma once
// Typed fields of a control request's JSON body (POST /diagnose, /heal, /rollback, /sync-test).
// A field of the wrong type throws UsageError naming the field and the type it needs
// ("dry_run must be true or false"); the endpoints answer that with 400.
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.hpp"
#include "core/json.hpp"

namespace orch::http {

template <class T>
T field(const json& body, const char* name, T fallback) {
  if (!body.is_object() || !body.contains(name) || body[name].is_null()) return fallback;
  const json& v = body[name];
  auto wrong = [&](const char* needs) { return UsageError(std::string(name) + " must be " + needs); };
  if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean()) throw wrong("true or false");
  } else if constexpr (std::is_integral_v<T>) {
    if (!v.is_number_integer()) throw wrong("an integer");
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string()) throw wrong("a string");
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    if (!v.is_array()) throw wrong("an array of strings");
    for (const auto& item : v)
      if (!item.is_string()) throw wrong("an array of strings");
  } else {
    static_assert(sizeof(T) == 0, "no JSON field reader for this type");
  }
  return v.get<T>();
}

// String literals as the fallback read as std::string.
inline std::string field(const json& body, const char* name, const char* fallback) {
  return field<std::string>(body, name, fallback);
}

}  // namespace orch::http
