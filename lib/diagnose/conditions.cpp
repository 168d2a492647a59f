#include "diagnose/conditions.hpp"

#include <cstdlib>

#include "core/error.hpp"
#include "core/text.hpp"

namespace orch::diagnose {

static std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(0, 1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

static bool as_number(const std::string& s, double& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end && *end == '\0';
}

Condition parse_condition(const std::string& text) {
  auto bad = [&](const std::string& why) { return ConfigError("condition '" + text + "': " + why); };
  static const char* ops[] = {"==", "!=", "<=", ">=", "<", ">"};
  Condition c;
  c.text = text;
  size_t at = std::string::npos;
  for (const char* op : ops) {
    auto pos = text.find(std::string(" ") + op + " ");
    if (pos != std::string::npos && (at == std::string::npos || pos < at)) {
      at = pos;
      c.op = op;
    }
  }
  if (at == std::string::npos) throw bad("expected '<subject> <op> <value>' with op one of == != < <= > >= (spaces around the op)");
  std::string lhs = trim(text.substr(0, at));
  c.value = trim(text.substr(at + c.op.size() + 2));
  if (c.value.empty()) throw bad("missing value");
  if (lhs == "[STATUS]") c.subject = Condition::Subject::status;
  else if (lhs == "[RESPONSE_TIME]") c.subject = Condition::Subject::response_time;
  else if (lhs.rfind("[BODY]", 0) == 0) {
    c.subject = Condition::Subject::body;
    std::string rest = lhs.substr(6);
    while (!rest.empty()) {
      if (rest[0] != '.') throw bad("after [BODY] expected .field");
      rest.erase(0, 1);
      auto dot = rest.find('.');
      std::string part = rest.substr(0, dot);
      if (part.empty()) throw bad("empty field name");
      c.path.push_back(part);
      rest = dot == std::string::npos ? "" : rest.substr(dot);
    }
  } else {
    throw bad("subject must be [STATUS], [RESPONSE_TIME] or [BODY].path");
  }
  double n;
  if (c.subject != Condition::Subject::body && !as_number(c.value, n)) throw bad("value must be a number");
  if ((c.op != "==" && c.op != "!=") && !as_number(c.value, n)) throw bad("'" + c.op + "' needs a number");
  return c;
}

std::vector<Condition> parse_conditions(const std::vector<std::string>& texts) {
  std::vector<Condition> out;
  for (const auto& t : texts) out.push_back(parse_condition(t));
  return out;
}

static bool compare(const std::string& actual, const std::string& op, const std::string& expected) {
  double a, b;
  if (as_number(actual, a) && as_number(expected, b)) {
    if (op == "==") return a == b;
    if (op == "!=") return a != b;
    if (op == "<") return a < b;
    if (op == "<=") return a <= b;
    if (op == ">") return a > b;
    return a >= b;
  }
  if (op == "==") return actual == expected;
  if (op == "!=") return actual != expected;
  return false;  // ordering needs numbers
}

std::string Condition::observed(const Probe& p, const json& body) const {
  switch (subject) {
    case Subject::status: return std::to_string(p.status);
    case Subject::response_time: return std::to_string(p.response_ms);
    case Subject::body: {
      if (body.is_null()) return "(no JSON body)";
      const json* node = &body;
      for (const auto& key : path) {
        if (!node->is_object() || !node->contains(key)) return "(absent)";
        node = &(*node)[key];
      }
      std::string text = as_text(*node);
      return text.size() > 80 ? text.substr(0, 77) + "..." : text;
    }
  }
  return "";
}

bool Condition::holds(const Probe& p, const json& body) const {
  switch (subject) {
    case Subject::status: return compare(std::to_string(p.status), op, value);
    case Subject::response_time: return compare(std::to_string(p.response_ms), op, value);
    case Subject::body: {
      const json* node = &body;
      for (const auto& key : path) {
        if (!node->is_object() || !node->contains(key)) return op == "!=";  // absent differs from anything
        node = &(*node)[key];
      }
      return compare(as_text(*node), op, value);
    }
  }
  return false;
}

}  // namespace orch::diagnose
