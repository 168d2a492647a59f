#pragma once
// The one signer of webhooks for tests (SPEC §6, docs/webhook.md): the x-builder-signature header
// (HMAC-SHA256 of the raw body with the secret's text) and the Standard Webhooks headers for a key
// (raw bytes). Checked against the Standard Webhooks reference test vector in
// tests/webhook/signature_test.cpp; the reference libraries themselves sign in tests/node.
#include <string>
#include <utility>
#include <vector>

namespace orch::test {

using Headers = std::vector<std::pair<std::string, std::string>>;

// "sha256=<hex>".
std::string builder_signature(const std::string& body, const std::string& secret);
// {{"x-builder-signature", builder_signature(body, secret)}}.
Headers builder_signed(const std::string& body, const std::string& secret);
// webhook-id, webhook-timestamp (now when empty) and webhook-signature ("v1,<base64>").
Headers standard_webhooks_signed(const std::string& key, const std::string& id, const std::string& body, std::string timestamp = "");

}  // namespace orch::test
