#include "core/duration.hpp"

#include <cctype>
#include <string>

#include "core/error.hpp"

namespace orch {

Millis parse_duration(std::string_view text) {
  if (text.empty()) throw ConfigError("empty duration");
  bool bare = true;
  for (char c : text)
    if (!std::isdigit(static_cast<unsigned char>(c))) bare = false;
  if (bare) return Millis(std::stoll(std::string(text)) * 1000);

  long long total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    if (start == i) throw ConfigError("bad duration '" + std::string(text) + "'");
    double value = std::stod(std::string(text.substr(start, i - start)));
    size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    double ms;
    if (unit == "ms") ms = value;
    else if (unit == "s") ms = value * 1000;
    else if (unit == "m") ms = value * 60'000;
    else if (unit == "h") ms = value * 3'600'000;
    else if (unit == "d") ms = value * 86'400'000;
    else throw ConfigError("bad duration unit in '" + std::string(text) + "' (use ms, s, m, h, d)");
    total += static_cast<long long>(ms);
  }
  return Millis(total);
}

std::string format_duration(Millis d) {
  auto ms = d.count();
  if (ms == 0) return "0s";
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

BackoffRange parse_backoff(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) throw ConfigError("backoff must be MIN:MAX, got '" + std::string(text) + "'");
  BackoffRange r{parse_duration(text.substr(0, colon)), parse_duration(text.substr(colon + 1))};
  if (r.min > r.max) throw ConfigError("backoff MIN is larger than MAX in '" + std::string(text) + "'");
  return r;
}

}  // namespace orch
