#pragma once
// Health conditions (SPEC §2, gatus-style): "[STATUS] == 200", "[RESPONSE_TIME] < 500",
// "[BODY].status == ok", "[BODY].checks.db != down", "[BODY].queue.depth <= 100".
// Operators: == != < <= > >=. Numbers compare as numbers, anything else as text.
#include <string>
#include <vector>

#include "core/json.hpp"

namespace orch::diagnose {

struct Probe {
  long status = 0;
  long long response_ms = 0;
  std::string body;
};

struct Condition {
  enum class Subject { status, response_time, body } subject;
  std::vector<std::string> path;  // for [BODY].a.b
  std::string op;
  std::string value;
  std::string text;  // as written

  bool holds(const Probe& p, const json& body) const;
  // What the subject was in this probe ("503", "812", the body field as text, "(absent)"): shown
  // beside a failed condition, as Gatus does.
  std::string observed(const Probe& p, const json& body) const;
};

// Throws ConfigError naming the condition and what is wrong with it.
Condition parse_condition(const std::string& text);
std::vector<Condition> parse_conditions(const std::vector<std::string>& texts);

}  // namespace orch::diagnose
