#pragma once
// Text from outside orch (container logs, git, files) is bytes; JSON needs UTF-8. nlohmann::json
// throws on invalid UTF-8 when dumping, so such text is made valid where it enters, and every
// document orch prints or sends is dumped with to_text, which replaces rather than throws.
#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"

namespace orch {

// `bytes` with every ill-formed UTF-8 sequence (stray or truncated bytes, overlong forms,
// surrogates, > U+10FFFF) replaced by U+FFFD, one per maximal ill-formed subpart (Unicode §3.9).
std::string valid_utf8(std::string_view bytes);

// Compact (indent < 0) or indented JSON text; invalid UTF-8 in strings becomes U+FFFD.
std::string to_text(const json& j, int indent = -1);

// A JSON string's own text (no quotes); any other value as compact JSON text (to_text).
std::string as_text(const json& v);

// The items with `separator` between them.
std::string join(const std::vector<std::string>& items, std::string_view separator);

// `text` broken into lines of at most `width` characters at spaces, never inside a word (a word
// longer than the width gets a line of its own): terminal tables that must not cut a reason.
std::vector<std::string> wrap_words(std::string_view text, size_t width);

// ASCII case-insensitive equality (HTTP header names and tokens; no locale involved).
bool iequals(std::string_view a, std::string_view b);

// Appends `s` as a quoted JSON string, exactly as to_text(json(s)) writes it, without building a
// json value: for documents written field by field on hot paths.
void append_json_string(std::string& out, std::string_view s);

}  // namespace orch
