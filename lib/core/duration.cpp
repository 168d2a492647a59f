#include "core/duration.hpp"

#include <cctype>
#include <charconv>
#include <string>

#include "core/error.hpp"

namespace orch {

namespace {

// Longer than any sensible interval (about 31,700 years), and far from long long's limit.
constexpr double kMaxMillis = 1e15;

// The whole of `digits` as a number of `T`; ConfigError when it is not one (".", "1.2.3", too big).
template <class T>
T number_in(std::string_view digits, std::string_view text) {
  T value{};
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec == std::errc::result_out_of_range) throw ConfigError("duration '" + std::string(text) + "' is too long");
  if (ec != std::errc() || end != digits.data() + digits.size())
    throw ConfigError("bad duration '" + std::string(text) + "'");
  return value;
}

}  // namespace

Millis parse_duration(std::string_view text) {
  if (text.empty()) throw ConfigError("empty duration");
  bool bare = true;
  for (char c : text)
    if (!std::isdigit(static_cast<unsigned char>(c))) bare = false;
  if (bare) {
    const auto seconds = number_in<long long>(text, text);
    if (static_cast<double>(seconds) * 1000 > kMaxMillis) throw ConfigError("duration '" + std::string(text) + "' is too long");
    return Millis(seconds * 1000);
  }

  double total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    if (start == i) throw ConfigError("bad duration '" + std::string(text) + "'");
    const double value = number_in<double>(text.substr(start, i - start), text);
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
    total += ms;
    if (total > kMaxMillis) throw ConfigError("duration '" + std::string(text) + "' is too long");
  }
  return Millis(static_cast<long long>(total));
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

std::string human_duration(long long s) {
  if (s >= 86400) return std::to_string(s / 86400) + "d" + std::to_string(s % 86400 / 3600) + "h";
  if (s >= 3600) return std::to_string(s / 3600) + "h" + std::to_string(s % 3600 / 60) + "m";
  if (s >= 60) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

}  // namespace orch
