// Health conditions (diagnose/conditions.hpp): written by operators in the config file's
// `expect:`, and checked against what a service answers (its status, time and body, from outside).
// Input: the condition, 0x1e, the service's answer body, 0x1e, its status code as text. Beyond "no
// crash": only ConfigError for a bad condition, and `==` and `!=` always disagree.
#include "core/error.hpp"
#include "diagnose/conditions.hpp"
#include "support/fuzz.hpp"

using namespace orch;
using namespace orch::diagnose;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  const std::string text(in.field());
  const std::string body_text(in.field());
  const std::string status_text(in.field());
  Condition c;
  try {
    c = parse_condition(text);
  } catch (const ConfigError&) {
    return 0;
  }
  FUZZ_CHECK(c.text == text);
  FUZZ_CHECK(!c.value.empty());
  FUZZ_CHECK(c.subject != Condition::Subject::body || !c.path.empty() || text.find("[BODY]") != std::string::npos);
  Probe p;
  p.status = static_cast<long>(std::strtol(status_text.c_str(), nullptr, 10));
  p.response_ms = static_cast<long long>(body_text.size());
  p.body = body_text;
  const json body = parse_json(body_text);  // as the health loop reads the answer (discarded if not JSON)
  const bool holds = c.holds(p, body);
  if (c.op == "==" || c.op == "!=") {
    Condition flipped = c;
    flipped.op = c.op == "==" ? "!=" : "==";
    FUZZ_CHECK(flipped.holds(p, body) != holds, text);
  }
  // The whole list as the config gives it.
  try {
    FUZZ_CHECK(parse_conditions({text, text}).size() == 2);
  } catch (const ConfigError&) {
    FUZZ_CHECK(false, "a condition that parses alone fails in a list: " + text);
  }
  return 0;
}
