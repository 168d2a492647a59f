#include "core/number.hpp"

#include <charconv>
#include <string>

#include "core/error.hpp"
#include "core/text.hpp"

namespace orch {

namespace {
std::string range_text(long long min, long long max) { return "(" + std::to_string(min) + " to " + std::to_string(max) + ")"; }
}  // namespace

long long parse_integer(std::string_view text, long long min, long long max) {
  const std::string quoted = "'" + std::string(text) + "'";
  const bool negative = !text.empty() && text.front() == '-';
  const auto digits = negative ? text.substr(1) : text;
  // from_chars alone would take "-0x1" apart differently and accept a '-' where none belongs.
  bool all_digits = !digits.empty();
  for (char c : digits) all_digits = all_digits && c >= '0' && c <= '9';
  if (!all_digits) throw ConfigError(quoted + " is not a whole number");
  if (negative && min >= 0) throw ConfigError(quoted + " is out of range " + range_text(min, max));
  long long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range || value < min || value > max)
    throw ConfigError(quoted + " is out of range " + range_text(min, max));
  if (ec != std::errc() || end != text.data() + text.size()) throw ConfigError(quoted + " is not a whole number");
  return value;
}

bool parse_boolean(std::string_view text) {
  for (const char* yes : {"1", "true", "yes", "on"})
    if (iequals(text, yes)) return true;
  for (const char* no : {"0", "false", "no", "off"})
    if (iequals(text, no)) return false;
  throw ConfigError("'" + std::string(text) + "' is not a boolean (true or false)");
}

}  // namespace orch
