#include "bus/bus.hpp"

namespace orch {

bool type_matches(const std::vector<std::string>& prefixes, std::string_view type) {
  if (prefixes.empty()) return true;
  for (const auto& p : prefixes)
    if (type.substr(0, p.size()) == p) return true;
  return false;
}

}  // namespace orch
