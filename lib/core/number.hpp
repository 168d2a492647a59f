#pragma once
// Whole numbers and booleans as operators write them, read strictly and in one way for settings,
// the config file's keys, labels and URLs: the whole text or nothing ("5x", " 5", "1e3" are not
// numbers), within the range the value allows.
#include <string_view>

namespace orch {

// Digits, with a leading '-' only where `min` is negative. Throws ConfigError: "'5x' is not a
// whole number", or "'-1' is out of range (0 to 65535)".
long long parse_integer(std::string_view text, long long min, long long max);

// true/false, yes/no, on/off, 1/0, in any case. Throws ConfigError: "'maybe' is not a boolean
// (true or false)".
bool parse_boolean(std::string_view text);

}  // namespace orch
