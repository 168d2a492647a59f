#include "core/json.hpp"

namespace orch {

bool json_too_deep(std::string_view text, std::size_t max_depth) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;  // the escaped character cannot end the string
      else if (c == '"') in_string = false;
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '[':
      case '{':
        if (++depth > max_depth) return true;
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default: break;
    }
  }
  return false;
}

json parse_json(std::string_view text, std::size_t max_depth) {
  if (json_too_deep(text, max_depth)) return json(json::value_t::discarded);
  return json::parse(text, nullptr, false);
}

}  // namespace orch
