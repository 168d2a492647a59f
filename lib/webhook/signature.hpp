#pragma once
// Webhook authenticity (SPEC §6): any one of the shared secret (in the configured header,
// WEBHOOK_SECRET_HEADER, or as `Authorization: Bearer`: what Builder's custom headers send, since
// Builder signs nothing), an HMAC-SHA256 of the raw body (`x-builder-signature`: relays, sync-test),
// or Standard Webhooks signatures (`webhook-*`, or Svix's `svix-*` names). Every comparison is
// constant time and every accepted secret (the current one and, during rotation, the previous one)
// is tried.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace orch::webhook {

// One configured secret, ready for each scheme.
struct Secret {
  std::string text;  // compared with the secret header and the bearer token; the HMAC key of x-builder-signature
  // The Standard Webhooks key (config/secrets.hpp: whsec_ or plain base64 of 24-64 bytes, as the
  // reference libraries read it); nullopt: this secret cannot check Standard Webhooks signatures.
  std::optional<std::string> standard_key;
};

struct Secrets {
  std::vector<Secret> accepted;  // current first, then the previous one during rotation
  // Empty strings are left out; without a current secret nothing is accepted. Values were checked
  // (check_credential) when the configuration was loaded.
  static Secrets from(const std::string& current, const std::string& previous);
  bool empty() const { return accepted.empty(); }
  bool any_standard_key() const;
};

// The headers that can carry credentials; empty = absent.
struct Credentials {
  std::string builder_secret;     // the WEBHOOK_SECRET_HEADER header (x-builder-secret)
  std::string bearer;             // the token of `Authorization: Bearer <token>`
  std::string builder_signature;  // x-builder-signature: sha256=<hex> | <hex>
  std::string webhook_id;         // Standard Webhooks (or svix-id)
  std::string webhook_timestamp;
  std::string webhook_signature;  // "v1,<base64> v1,<base64>"
};

// The header the shared secret comes in (WEBHOOK_SECRET_HEADER), lower-cased. ConfigError for a
// name that is not an HTTP token or that another credential or orch itself already reads.
std::string secret_header_name(const std::string& configured);

enum class Verdict { ok, missing, invalid, stale };
const char* to_string(Verdict v);

constexpr std::chrono::seconds kTimestampTolerance{300};

Verdict verify(const Credentials& c, std::string_view body, const Secrets& secrets,
               std::chrono::system_clock::time_point now);

// "v1,<base64>" over id.timestamp.body with a Standard Webhooks key (raw bytes), for the signing
// side (tests, benchmarks).
std::string standard_webhooks_signature(std::string_view key, std::string_view id, std::string_view timestamp,
                                        std::string_view body);

}  // namespace orch::webhook
