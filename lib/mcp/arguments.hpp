#pragma once
// MCP tool arguments checked against the tool's input schema (SPEC §9), in words an agent can act
// on. MCP 2025-11-25 makes such failures tool results with isError rather than JSON-RPC errors,
// because the model sees a tool result and can correct its call; a protocol error it never sees.
// Only the part of JSON Schema that orch's tools use is understood: type, enum, minimum, maximum,
// minLength, pattern, examples (used in messages), items, required, additionalProperties:false.
#include <optional>
#include <string>

#include "core/json.hpp"

namespace orch::mcp {

// Why `args` does not fit `schema` (an object schema), or nullopt when it does. `tool` names the
// tool in the message about unknown arguments.
std::optional<std::string> argument_error(const std::string& tool, const json& schema, const json& args);

}  // namespace orch::mcp
