#pragma once
// docs/heal.md's table of heal.* events, read for the tests that hold events to it.
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "core/json.hpp"

namespace orch::test {

// type -> the names of its data fields, from the rows "| `heal.x` | ... | `{a, b, c}` |".
inline std::map<std::string, std::set<std::string>> documented_heal_fields() {
  std::ifstream in(std::string(ORCH_TESTS_DIR) + "/../docs/heal.md");
  std::map<std::string, std::set<std::string>> out;
  const std::regex row(R"re(^\| `(heal\.[a-z_]+)` \|.*\| `\{([a-z_, ]+)\}` \|\s*$)re");
  std::smatch m;
  for (std::string line; std::getline(in, line);) {
    if (!std::regex_match(line, m, row)) continue;
    std::stringstream fields(m[2].str());
    for (std::string f; std::getline(fields, f, ',');) out[m[1]].insert(f.substr(f.find_first_not_of(' ')));
  }
  return out;
}

inline std::set<std::string> field_names(const json& data) {
  std::set<std::string> names;
  for (const auto& [k, v] : data.items()) names.insert(k);
  return names;
}

}  // namespace orch::test
