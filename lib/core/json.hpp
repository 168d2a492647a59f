#pragma once
// JSON in orch: nlohmann::json, and the one way to read JSON that comes from outside orch.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <string_view>

namespace orch {
using json = nlohmann::json;

// Deeper nesting is refused in every JSON read from outside (HTTP bodies, MCP messages, Docker
// answers, bus entries). nlohmann parses iteratively but copies and dumps documents
// recursively: one 300 KB MCP request nested 150,000 deep overflowed a worker's stack.
inline constexpr std::size_t kMaxJsonDepth = 256;

// True when `text` opens more than `max_depth` arrays/objects inside one another (brackets in
// strings do not count). A linear scan, cheaper than the parse it guards.
bool json_too_deep(std::string_view text, std::size_t max_depth = kMaxJsonDepth);

// Parses text from outside: a discarded value (is_discarded()) when it is not JSON or nests
// deeper than `max_depth`. Never throws.
json parse_json(std::string_view text, std::size_t max_depth = kMaxJsonDepth);

}  // namespace orch
