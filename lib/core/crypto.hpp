#pragma once
// Byte-level helpers every concern shares (webhook signatures, the WebSocket handshake, sync-test
// signing): HMAC-SHA256, SHA-1, hex and base64, and a constant-time comparison.
#include <optional>
#include <string>
#include <string_view>

namespace orch {

std::string hmac_sha256(std::string_view key, std::string_view data);  // raw 32 bytes
std::string sha1(std::string_view data);                               // raw 20 bytes
std::string to_hex(std::string_view bytes);                            // lower case
std::string base64_encode(std::string_view bytes);                     // standard alphabet, padded
// Standard alphabet; the padding may be left out (as Python's reference Standard Webhooks library
// accepts), but padding that is present must be right. nullopt for any other character or an
// impossible length.
std::optional<std::string> base64_decode(std::string_view text);
// Constant-time comparison of two byte strings (their length is not secret).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace orch
