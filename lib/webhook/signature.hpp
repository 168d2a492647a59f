#pragma once
// Webhook authenticity (SPEC §6): any one of the shared-secret header, an HMAC-SHA256 of the raw
// body (`x-builder-signature`), or Standard Webhooks signatures. Every comparison is constant time
// and both the current and the previous secret (rotation) are tried.
#include <chrono>
#include <string>
#include <string_view>

namespace orch::webhook {

struct Secrets {
  std::string current;
  std::string previous;  // accepted during rotation; may be empty
};

// The headers that can carry credentials; empty = absent.
struct Credentials {
  std::string builder_secret;     // x-builder-secret
  std::string builder_signature;  // x-builder-signature: sha256=<hex> | <hex>
  std::string webhook_id;         // Standard Webhooks
  std::string webhook_timestamp;
  std::string webhook_signature;  // "v1,<base64> v1,<base64>"
};

enum class Verdict { ok, missing, invalid, stale };
const char* to_string(Verdict v);

constexpr std::chrono::seconds kTimestampTolerance{300};

Verdict verify(const Credentials& c, std::string_view body, const Secrets& secrets,
               std::chrono::system_clock::time_point now);

// Building blocks, exposed for the signing side (sync-test, tests, bench).
std::string hmac_sha256(std::string_view key, std::string_view data);  // raw bytes
std::string to_hex(std::string_view bytes);
std::string base64_encode(std::string_view bytes);
std::string base64_decode(std::string_view text);  // empty on invalid input
// The key bytes of a Standard Webhooks secret: "whsec_<base64>" decodes; anything else is raw.
std::string standard_webhooks_key(const std::string& secret);
// "v1,<base64>" for id.timestamp.body.
std::string standard_webhooks_signature(const std::string& secret, std::string_view id, std::string_view timestamp,
                                        std::string_view body);

}  // namespace orch::webhook
