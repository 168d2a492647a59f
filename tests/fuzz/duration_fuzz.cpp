// Durations, backoff ranges, whole numbers and booleans as operators write them (core/duration.hpp,
// core/number.hpp): every setting, the config file's heal overrides, container labels
// (orch.heal.window, orch.heal.backoff, orch.stop.timeout) and request fields go through them.
// Beyond "no crash": only ConfigError is ever thrown, and what orch prints reads back the same.
#include <charconv>

#include "core/duration.hpp"
#include "core/error.hpp"
#include "core/number.hpp"
#include "support/fuzz.hpp"

using namespace orch;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto d = parse_duration(text);
    FUZZ_CHECK(d.count() >= 0 && d.count() <= 1'000'000'000'000'000LL, std::to_string(d.count()));
    // `orch config` shows durations with format_duration: they must read back as the same value.
    FUZZ_CHECK(parse_duration(format_duration(d)) == d, format_duration(d));
  } catch (const ConfigError&) {}
  try {
    const auto b = parse_backoff(text);
    FUZZ_CHECK(b.min <= b.max);
    const auto shown = format_duration(b.min) + ":" + format_duration(b.max);
    const auto again = parse_backoff(shown);
    FUZZ_CHECK(again.min == b.min && again.max == b.max, shown);
  } catch (const ConfigError&) {}
  try {
    const long long n = parse_integer(text, -1'000'000, 1'000'000'000);
    FUZZ_CHECK(n >= -1'000'000 && n <= 1'000'000'000);
    // Strict: the whole text is an optional '-' and digits, and means n.
    const auto digits = !text.empty() && text.front() == '-' ? text.substr(1) : text;
    FUZZ_CHECK(!digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos, std::string(text));
    long long m = 0;
    std::from_chars(text.data(), text.data() + text.size(), m);
    FUZZ_CHECK(m == n);
  } catch (const ConfigError&) {}
  try {
    const long long n = parse_integer(text, 0, 65535);  // a port: no sign at all
    FUZZ_CHECK(n >= 0 && n <= 65535 && text.front() != '-');
  } catch (const ConfigError&) {}
  try {
    const bool b = parse_boolean(text);
    FUZZ_CHECK(parse_boolean(b ? "true" : "false") == b);
    FUZZ_CHECK(text.size() <= 5);
  } catch (const ConfigError&) {}
  return 0;
}
