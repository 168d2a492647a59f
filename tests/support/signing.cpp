#include "support/signing.hpp"

#include <chrono>

#include "core/crypto.hpp"
#include "webhook/signature.hpp"

namespace orch::test {

std::string builder_signature(const std::string& body, const std::string& secret) { return "sha256=" + to_hex(hmac_sha256(secret, body)); }

Headers builder_signed(const std::string& body, const std::string& secret) {
  return {{"x-builder-signature", builder_signature(body, secret)}};
}

Headers standard_webhooks_signed(const std::string& key, const std::string& id, const std::string& body, std::string timestamp) {
  if (timestamp.empty())
    timestamp =
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  auto signature = webhook::standard_webhooks_signature(key, id, timestamp, body);
  return {{"webhook-id", id}, {"webhook-timestamp", timestamp}, {"webhook-signature", signature}};
}

}  // namespace orch::test
